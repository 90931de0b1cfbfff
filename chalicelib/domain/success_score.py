"""SuccessScore: a 0..100 health number per account, driven by its pulse and by time at that pulse.

Model (see docs/success-score.md for the reasoning and a worked example):

* every level L has a target T(L);
* setting a new pulse jumps the score part of the way to the new target, the share of the gap closed
  being j(d) = 1 - (1 - jump_per_level) ** d for a change of d levels;
* after that, the score approaches T(L) exponentially with a half-life in days (one for growth, one
  for decay):  s(D) = T + (s0 - T) * 0.5 ** (days / half_life).

The state only remembers the last jump (its date and the score right after it). Every later score is
computed from that anchor in closed form, never from yesterday's score, which is what makes the
nightly job idempotent and a caught-up night bit-for-bit equal to one that ran on time.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any, Final, Literal

from chalicelib.domain.pulse_scale import LEVELS, MAX_LEVEL, MIN_LEVEL, is_valid_level, label

SCORE_MIN: Final = 0.0
SCORE_MAX: Final = 100.0

# Bounds a tenant may configure within. Half-lives under a day would make the nightly curve a step;
# over a year the score would barely react to anything a CSM does. Targets must keep the scale's
# order with a visible gap, otherwise "further for a bigger change of level" stops being true.
HALF_LIFE_MIN: Final = 1.0
HALF_LIFE_MAX: Final = 365.0
JUMP_MIN: Final = 0.05
JUMP_MAX: Final = 0.9
FIRST_JUMP_MIN: Final = 0.0
FIRST_JUMP_MAX: Final = 1.0
MIN_TARGET_GAP: Final = 1.0

Direction = Literal["growing", "decaying", "at_target", "no_pulse"]


def _finite_number(value: object) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


@dataclass(frozen=True, slots=True)
class ScoreParams:
    # Indexed by level - 1 so that a tuple (hashable, immutable) can hold them.
    targets: tuple[float, float, float, float, float, float] = (8.0, 25.0, 45.0, 65.0, 82.0, 95.0)
    # Trust is lost faster than it is earned: decay defaults to a shorter half-life than growth.
    growth_half_life_days: float = 21.0
    decay_half_life_days: float = 14.0
    jump_per_level: float = 0.25
    # The very first pulse has no previous level to measure a change from.
    first_pulse_jump: float = 0.5
    initial_score: float = 50.0

    def target(self, level: int) -> float:
        if not is_valid_level(level):
            raise ValueError(f"not a pulse level: {level!r}")
        return self.targets[level - 1]

    def errors(self) -> dict[str, str]:
        """Field errors, empty when every parameter is within bounds."""
        errors: dict[str, str] = {}
        if len(self.targets) != len(LEVELS):
            return {"targets": f"must give a target for each of the {len(LEVELS)} levels"}
        for level in range(MIN_LEVEL, MAX_LEVEL + 1):
            value = self.targets[level - 1]
            key = f"targets.{level}"
            if not _finite_number(value):
                errors[key] = "must be a number"
            elif not SCORE_MIN <= value <= SCORE_MAX:
                errors[key] = f"must be between {SCORE_MIN:g} and {SCORE_MAX:g}"
            elif level > MIN_LEVEL and _finite_number(self.targets[level - 2]):
                below = self.targets[level - 2]
                if value < below + MIN_TARGET_GAP:
                    errors[key] = (
                        f"must be at least {MIN_TARGET_GAP:g} above the target of level {level - 1}"
                    )
        ranged = (
            ("growth_half_life_days", self.growth_half_life_days, HALF_LIFE_MIN, HALF_LIFE_MAX),
            ("decay_half_life_days", self.decay_half_life_days, HALF_LIFE_MIN, HALF_LIFE_MAX),
            ("jump_per_level", self.jump_per_level, JUMP_MIN, JUMP_MAX),
            ("first_pulse_jump", self.first_pulse_jump, FIRST_JUMP_MIN, FIRST_JUMP_MAX),
            ("initial_score", self.initial_score, SCORE_MIN, SCORE_MAX),
        )
        for name, value, low, high in ranged:
            if not _finite_number(value):
                errors[name] = "must be a number"
            elif not low <= value <= high:
                errors[name] = f"must be between {low:g} and {high:g}"
        return errors

    def to_dict(self) -> dict[str, Any]:
        return {
            "targets": {str(level): self.targets[level - 1] for level in range(1, 7)},
            "growth_half_life_days": self.growth_half_life_days,
            "decay_half_life_days": self.decay_half_life_days,
            "jump_per_level": self.jump_per_level,
            "first_pulse_jump": self.first_pulse_jump,
            "initial_score": self.initial_score,
        }


DEFAULT_PARAMS: Final = ScoreParams()

_SCALAR_FIELDS: Final = (
    "growth_half_life_days",
    "decay_half_life_days",
    "jump_per_level",
    "first_pulse_jump",
    "initial_score",
)


def params_from_dict(
    data: Mapping[str, Any], base: ScoreParams = DEFAULT_PARAMS
) -> tuple[ScoreParams | None, dict[str, str]]:
    """Params from a (possibly partial) dict laid over `base`; (None, field errors) if invalid.

    Partial input is the normal case: a tenant setting that only overrides one target must not have
    to restate the rest.
    """
    errors: dict[str, str] = {}
    if not isinstance(data, Mapping):
        return None, {"success_score": "must be an object"}
    for key in data:
        if key != "targets" and key not in _SCALAR_FIELDS:
            errors[str(key)] = "unknown field"
    targets = list(base.targets)
    raw_targets = data.get("targets")
    if raw_targets is not None:
        if not isinstance(raw_targets, Mapping):
            errors["targets"] = "must be an object keyed by level 1..6"
        else:
            for raw_level, value in raw_targets.items():
                level = _parse_level_key(raw_level)
                if level is None:
                    errors[f"targets.{raw_level}"] = "unknown level"
                elif not _finite_number(value):
                    errors[f"targets.{level}"] = "must be a number"
                else:
                    targets[level - 1] = float(value)
    scalars: dict[str, float] = {}
    for name in _SCALAR_FIELDS:
        if name in data:
            value = data[name]
            if _finite_number(value):
                scalars[name] = float(value)
            else:
                errors[name] = "must be a number"
    if errors:
        return None, errors
    t1, t2, t3, t4, t5, t6 = targets
    params = replace(base, targets=(t1, t2, t3, t4, t5, t6), **scalars)
    errors = params.errors()
    return (None, errors) if errors else (params, {})


def _parse_level_key(raw: object) -> int | None:
    if isinstance(raw, str) and raw.isdigit():
        raw = int(raw)
    return raw if is_valid_level(raw) and isinstance(raw, int) else None


# --------------------------------------------------------------------------------------- state


@dataclass(frozen=True, slots=True)
class LevelChange:
    from_level: int | None  # None for an account's first pulse
    to_level: int
    on_date: date
    score_before: float
    score_after: float

    @property
    def jump(self) -> float:
        return self.score_after - self.score_before


@dataclass(frozen=True, slots=True)
class ScoreState:
    """What a store persists per account.

    `level`, `anchor_score`, `anchor_date`, `previous_level` and `score_before` fully determine
    every future score. `scored_on`/`score` are a cache of the last computed value for display and
    queries; nothing ever reads them back into the formula.
    """

    level: int | None
    anchor_score: float
    anchor_date: date
    previous_level: int | None = None
    score_before: float | None = None
    scored_on: date | None = None
    score: float | None = None

    @property
    def last_change(self) -> LevelChange | None:
        if self.level is None or self.score_before is None:
            return None
        return LevelChange(
            from_level=self.previous_level,
            to_level=self.level,
            on_date=self.anchor_date,
            score_before=self.score_before,
            score_after=self.anchor_score,
        )

    def to_dict(self) -> dict[str, Any]:
        # Floats go out as-is: json (repr) round-trips a float exactly. A store writing DynamoDB
        # Numbers should convert with str()/Decimal(repr(x)) for the same guarantee.
        return {
            "level": self.level,
            "anchor_score": self.anchor_score,
            "anchor_date": self.anchor_date.isoformat(),
            "previous_level": self.previous_level,
            "score_before": self.score_before,
            "scored_on": None if self.scored_on is None else self.scored_on.isoformat(),
            "score": self.score,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ScoreState:
        def opt_float(value: Any) -> float | None:
            return None if value is None else float(value)

        def opt_level(value: Any) -> int | None:
            if value is None:
                return None
            level = int(value)
            if not is_valid_level(level):
                raise ValueError(f"not a pulse level: {value!r}")
            return level

        scored_on = data.get("scored_on")
        return cls(
            level=opt_level(data.get("level")),
            anchor_score=float(data["anchor_score"]),
            anchor_date=date.fromisoformat(str(data["anchor_date"])),
            previous_level=opt_level(data.get("previous_level")),
            score_before=opt_float(data.get("score_before")),
            scored_on=None if scored_on is None else date.fromisoformat(str(scored_on)),
            score=opt_float(data.get("score")),
        )


def initial_state(
    on_date: date, params: ScoreParams = DEFAULT_PARAMS, score: float | None = None
) -> ScoreState:
    """An account that has never had a pulse: its score holds still at the starting value."""
    start = params.initial_score if score is None else _clamp(score, SCORE_MIN, SCORE_MAX)
    return ScoreState(level=None, anchor_score=start, anchor_date=on_date)


# ------------------------------------------------------------------------------------- formula


def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def _between(value: float, a: float, b: float) -> float:
    # Guards the "never overshoot" promise against the last ulp of floating-point rounding.
    return _clamp(value, min(a, b), max(a, b))


def jump_fraction(level_change: int, params: ScoreParams = DEFAULT_PARAMS) -> float:
    """Share of the gap to the new target closed at once by a change of `level_change` levels.

    Each level of change closes `jump_per_level` of what is left of the gap to the new target, so
    a change of d levels is d such jumps toward that target: the share grows with the size of the
    change but never reaches 1. (It is not the same as d single-level changes, whose first jumps
    head for the intermediate targets; see docs/success-score.md.)
    """
    steps = abs(level_change)
    if steps == 0:
        return 0.0
    return 1.0 - math.pow(1.0 - params.jump_per_level, steps)


def half_life(anchor_score: float, target: float, params: ScoreParams) -> float:
    return params.growth_half_life_days if anchor_score < target else params.decay_half_life_days


def nightly_rate(half_life_days: float) -> float:
    """Share of the remaining gap closed each night for a given half-life."""
    return 1.0 - math.pow(0.5, 1.0 / half_life_days)


def score_on(state: ScoreState, on_date: date, params: ScoreParams = DEFAULT_PARAMS) -> float:
    """The unrounded score for `on_date` (on or after the last pulse)."""
    days = (on_date - state.anchor_date).days
    if days < 0:
        raise ValueError(
            f"{on_date.isoformat()} is before the last pulse ({state.anchor_date.isoformat()})"
        )
    if state.level is None or days == 0:
        # Exactly the stored anchor on its own day: T + (s0 - T) * 1.0 can differ from s0 by an ulp.
        return state.anchor_score
    target = params.target(state.level)
    start = state.anchor_score
    remaining = math.pow(0.5, days / half_life(start, target, params))
    return _between(target + (start - target) * remaining, start, target)


def apply_pulse(
    state: ScoreState | None,
    new_level: int,
    on_date: date,
    params: ScoreParams = DEFAULT_PARAMS,
) -> ScoreState:
    """The state after setting `new_level` on `on_date`.

    A pulse at the same level ("same update") leaves the state untouched: the curve carries on and
    days-at-level keep counting, rather than restarting the approach and stalling the score.
    """
    if not is_valid_level(new_level):
        raise ValueError(f"not a pulse level: {new_level!r}")
    if state is None:
        state = initial_state(on_date, params)
    if state.level == new_level:
        return state
    before = score_on(state, on_date, params)  # raises for a date before the last pulse
    target = params.target(new_level)
    if state.level is None:
        share = params.first_pulse_jump
    else:
        share = jump_fraction(new_level - state.level, params)
    after = _between(before + (target - before) * share, before, target)
    return ScoreState(
        level=new_level,
        anchor_score=after,
        anchor_date=on_date,
        previous_level=state.level,
        score_before=before,
        scored_on=on_date,
        score=after,
    )


def advance(state: ScoreState, on_date: date, params: ScoreParams = DEFAULT_PARAMS) -> ScoreState:
    """The nightly job's step: record the score for `on_date`.

    Idempotent for a date. A run for a date before the last pulse or before the last recorded run
    (a late or replayed job) is ignored, so a cached score never moves backwards in time.
    """
    if on_date < state.anchor_date:
        return state
    if state.scored_on is not None and on_date < state.scored_on:
        return state
    return replace(state, scored_on=on_date, score=score_on(state, on_date, params))


def _one_decimal(value: float) -> str:
    # Same half-up rule as display_score, so the summary never disagrees with the shown number.
    return f"{math.floor(value * 10 + 0.5) / 10:.1f}"


def display_score(score: float) -> int:
    """Whole number for people; half rounds up (Python's round() would send 42.5 to 42)."""
    return math.floor(_clamp(score, SCORE_MIN, SCORE_MAX) + 0.5)


# ---------------------------------------------------------------------------------- explanation


@dataclass(frozen=True, slots=True)
class Explanation:
    on_date: date
    score: float
    level: int | None
    level_label: str | None
    target: float | None
    days_at_level: int
    direction: Direction
    half_life_days: float | None
    last_change: LevelChange | None
    nightly_effect: float  # movement since the last jump, from the nightly approach alone
    remaining_gap: float | None  # target - score

    @property
    def summary(self) -> str:
        score = _one_decimal(self.score)
        if self.level is None or self.target is None:
            return f"No pulse set yet; the score holds at {score}."
        plural = "" if self.days_at_level == 1 else "s"
        text = (
            f"{self.level_label} (target {self.target:g}) for {self.days_at_level} day{plural};"
            f" score {score}, {self.direction}."
        )
        change = self.last_change
        if change is not None:
            origin = "no pulse" if change.from_level is None else label(change.from_level)
            sign = "+" if self.nightly_effect >= 0 else "-"
            before, after = _one_decimal(change.score_before), _one_decimal(change.score_after)
            nightly = _one_decimal(abs(self.nightly_effect))
            text += (
                f" Last change {origin} -> {label(change.to_level)} on"
                f" {change.on_date.isoformat()} moved it {before} -> {after};"
                f" nights since then {sign}{nightly}."
            )
        return text

    def to_dict(self) -> dict[str, Any]:
        change = self.last_change
        return {
            "on_date": self.on_date.isoformat(),
            "score": self.score,
            "display_score": display_score(self.score),
            "level": self.level,
            "level_label": self.level_label,
            "target": self.target,
            "days_at_level": self.days_at_level,
            "direction": self.direction,
            "half_life_days": self.half_life_days,
            "last_change": None
            if change is None
            else {
                "from_level": change.from_level,
                "to_level": change.to_level,
                "on_date": change.on_date.isoformat(),
                "score_before": change.score_before,
                "score_after": change.score_after,
                "jump": change.jump,
            },
            "nightly_effect": self.nightly_effect,
            "remaining_gap": self.remaining_gap,
            "summary": self.summary,
        }


def explain(state: ScoreState, on_date: date, params: ScoreParams = DEFAULT_PARAMS) -> Explanation:
    score = score_on(state, on_date, params)
    days = (on_date - state.anchor_date).days
    if state.level is None:
        return Explanation(
            on_date=on_date,
            score=score,
            level=None,
            level_label=None,
            target=None,
            days_at_level=days,
            direction="no_pulse",
            half_life_days=None,
            last_change=None,
            nightly_effect=0.0,
            remaining_gap=None,
        )
    target = params.target(state.level)
    direction: Direction
    if state.anchor_score < target:
        direction = "growing"
    elif state.anchor_score > target:
        direction = "decaying"
    else:
        direction = "at_target"
    return Explanation(
        on_date=on_date,
        score=score,
        level=state.level,
        level_label=label(state.level),
        target=target,
        days_at_level=days,
        direction=direction,
        half_life_days=half_life(state.anchor_score, target, params),
        last_change=state.last_change,
        nightly_effect=score - state.anchor_score,
        remaining_gap=target - score,
    )


# ------------------------------------------------------------------------------------ history


@dataclass(frozen=True, slots=True)
class ScorePoint:
    on_date: date
    score: float
    level: int | None


@dataclass(frozen=True, slots=True)
class PulseEvent:
    on_date: date
    level: int
    # Free for callers (e.g. the pulse id); ignored by the formula.
    ref: str | None = field(default=None, compare=False)


def _days(from_date: date, to_date: date) -> Iterable[date]:
    for offset in range((to_date - from_date).days + 1):
        yield from_date + timedelta(days=offset)


def history(
    state: ScoreState, from_date: date, to_date: date, params: ScoreParams = DEFAULT_PARAMS
) -> list[ScorePoint]:
    """Daily scores since the last pulse. Dates before it are not derivable from one state (use
    `timeline` with the pulse events for a full history) and are left out."""
    start = max(from_date, state.anchor_date)
    return [
        ScorePoint(day, score_on(state, day, params), state.level) for day in _days(start, to_date)
    ]


def replay(
    events: Iterable[PulseEvent],
    start: ScoreState,
    params: ScoreParams = DEFAULT_PARAMS,
) -> ScoreState:
    """The state after applying pulse events (stable-sorted by date) to `start`."""
    state = start
    for event in sorted(events, key=lambda e: e.on_date):
        state = apply_pulse(state, event.level, event.on_date, params)
    return state


def timeline(
    events: Iterable[PulseEvent],
    start: ScoreState,
    from_date: date,
    to_date: date,
    params: ScoreParams = DEFAULT_PARAMS,
) -> list[ScorePoint]:
    """Daily scores across several pulses, for charts; a pulse day shows the post-jump score."""
    pending = sorted(events, key=lambda e: e.on_date)
    state = start
    points: list[ScorePoint] = []
    index = 0
    for day in _days(min(from_date, start.anchor_date), to_date):
        while index < len(pending) and pending[index].on_date <= day:
            state = apply_pulse(state, pending[index].level, pending[index].on_date, params)
            index += 1
        if day >= from_date and day >= state.anchor_date:
            points.append(ScorePoint(day, score_on(state, day, params), state.level))
    return points
