"""The six-level Pulse scale, best (6) to worst (1).

The numeric value is what gets stored and compared (a higher number is always healthier); the slug
is what APIs, CSV exports and templates use so that a relabelled scale never breaks a report.
"""

from __future__ import annotations

from enum import IntEnum


class Level(IntEnum):
    SEVERE_RISK = 1
    HIGH_RISK = 2
    SOME_RISK = 3
    FAIRLY_SATISFIED = 4
    VERY_SATISFIED = 5
    EXTREMELY_SATISFIED = 6

    @property
    def label(self) -> str:
        return _LABELS[self]

    @property
    def slug(self) -> str:
        # Derived from the member name, which is part of the public contract: renaming a member
        # would silently change every exported slug, so the test suite pins them.
        return self.name.lower()


_LABELS: dict[Level, str] = {
    Level.EXTREMELY_SATISFIED: "Extremely Satisfied",
    Level.VERY_SATISFIED: "Very Satisfied",
    Level.FAIRLY_SATISFIED: "Fairly Satisfied",
    Level.SOME_RISK: "Some Risk",
    Level.HIGH_RISK: "High Risk",
    Level.SEVERE_RISK: "Severe Risk",
}

# Best to worst, the order every picker and report shows them in.
LEVELS: tuple[Level, ...] = tuple(sorted(Level, reverse=True))
MIN_LEVEL: int = min(LEVELS)
MAX_LEVEL: int = max(LEVELS)

# "Some Risk or below" is where the seeds draw the line for executive attention; alerts and the
# risk reports share this one definition.
RISK_THRESHOLD: Level = Level.SOME_RISK

_BY_SLUG: dict[str, Level] = {level.slug: level for level in LEVELS}


def is_valid_level(value: object) -> bool:
    # bool is an int subclass; True must not sneak in as level 1.
    return (
        isinstance(value, int) and not isinstance(value, bool) and MIN_LEVEL <= value <= MAX_LEVEL
    )


def to_level(value: object) -> Level:
    """The Level for an int 1..6 or a slug; ValueError otherwise."""
    if isinstance(value, str) and value in _BY_SLUG:
        return _BY_SLUG[value]
    if is_valid_level(value):
        assert isinstance(value, int)
        return Level(value)
    raise ValueError(f"not a pulse level: {value!r}")


def label(level: int) -> str:
    return to_level(level).label


def slug(level: int) -> str:
    return to_level(level).slug


def from_slug(value: str) -> Level:
    try:
        return _BY_SLUG[value]
    except KeyError:
        raise ValueError(f"unknown pulse level slug: {value!r}") from None


def is_at_risk(level: int) -> bool:
    return to_level(level) <= RISK_THRESHOLD
