"""Pulse Index, NPS and trends, computed from mergeable count aggregates.

Everything here is pure and works on counts rather than raw responses, so the store can keep one
small histogram per (account, question, period) item, update it in place when a response arrives or
is edited, and merge histograms to answer any period or roll-up without re-reading every response.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

# Scales. Pulse Index questions are 1-5 (spec); NPS is the classic 0-10.
PULSE_INDEX_MIN = 1
PULSE_INDEX_MAX = 5
NPS_MIN = 0
NPS_MAX = 10
# NPS buckets: the standard definition, fixed by the spec.
NPS_PROMOTER_MIN = 9
NPS_DETRACTOR_MAX = 6

# Trend constants.
# Fewer than this many responses in either period makes a trend noise, so we say so instead.
TREND_MIN_RESPONSES = 5
# A Pulse Index move smaller than 0.1 on a 1-5 scale (2.5% of the range) is within the wobble one
# extra lukewarm answer causes in a small account, so it reads as "stable".
PULSE_INDEX_STABLE_BAND = 0.1
# NPS jumps in steps of 100/n; below 5 points a single changed answer in a 20-response period could
# flip the direction, so smaller moves read as "stable".
NPS_STABLE_BAND = 5.0
NOT_ENOUGH_RESPONSES = "not enough responses"

Direction = Literal["improving", "stable", "declining"]


class AggregateError(ValueError):
    """A value outside the aggregate's scale, or a removal of something never added."""


@dataclass
class Aggregate:
    """Counts per integer value on a closed scale; the unit a store persists and updates.

    Kept as a full histogram (not just count and sum) because NPS needs the distribution and because
    a histogram lets an edited response be removed exactly.
    """

    low: int
    high: int
    counts: dict[int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.low > self.high:
            raise AggregateError(f"empty scale {self.low}..{self.high}")
        for value, n in self.counts.items():
            self._check(value)
            if n < 0:
                raise AggregateError(f"negative count for {value}")
        # Zero buckets carry no information; dropping them keeps equality and storage canonical.
        self.counts = {v: n for v, n in sorted(self.counts.items()) if n}

    def _check(self, value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            raise AggregateError(f"value must be an integer, got {value!r}")
        if not self.low <= value <= self.high:
            raise AggregateError(f"value {value} outside {self.low}..{self.high}")

    @classmethod
    def pulse_index(cls) -> Aggregate:
        return cls(PULSE_INDEX_MIN, PULSE_INDEX_MAX)

    @classmethod
    def nps(cls) -> Aggregate:
        return cls(NPS_MIN, NPS_MAX)

    @classmethod
    def of(cls, low: int, high: int, values: Iterable[int]) -> Aggregate:
        agg = cls(low, high)
        for v in values:
            agg.add(v)
        return agg

    @property
    def count(self) -> int:
        return sum(self.counts.values())

    @property
    def total(self) -> int:
        return sum(v * n for v, n in self.counts.items())

    @property
    def mean(self) -> float | None:
        n = self.count
        return self.total / n if n else None

    def add(self, value: int) -> None:
        self._check(value)
        self.counts[value] = self.counts.get(value, 0) + 1

    def remove(self, value: int) -> None:
        """Undo one earlier `add`, e.g. when a client re-submits and changes an answer."""
        self._check(value)
        n = self.counts.get(value, 0)
        if n <= 0:
            raise AggregateError(f"no recorded {value} to remove")
        if n == 1:
            del self.counts[value]
        else:
            self.counts[value] = n - 1

    def replace(self, old: int | None, new: int | None) -> None:
        """Apply an updated answer: either side may be None (answer added or withdrawn)."""
        if old is not None:
            self.remove(old)
        if new is not None:
            self.add(new)

    def merge(self, other: Aggregate) -> Aggregate:
        if (self.low, self.high) != (other.low, other.high):
            raise AggregateError("cannot merge aggregates on different scales")
        merged = dict(self.counts)
        for v, n in other.counts.items():
            merged[v] = merged.get(v, 0) + n
        return Aggregate(self.low, self.high, merged)

    def __add__(self, other: Aggregate) -> Aggregate:
        return self.merge(other)

    def to_dict(self) -> dict[str, Any]:
        # JSON object keys must be strings; values stay ints so DynamoDB stores them as numbers.
        return {
            "low": self.low,
            "high": self.high,
            "counts": {str(v): n for v, n in sorted(self.counts.items())},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Aggregate:
        raw = data.get("counts") or {}
        return cls(int(data["low"]), int(data["high"]), {int(k): int(n) for k, n in raw.items()})


def merge_all(aggregates: Iterable[Aggregate], low: int, high: int) -> Aggregate:
    out = Aggregate(low, high)
    for agg in aggregates:
        out = out.merge(agg)
    return out


# --------------------------------------------------------------------------------------------- NPS


@dataclass(frozen=True)
class NpsResult:
    score: float | None
    promoters: int
    passives: int
    detractors: int
    responses: int

    @classmethod
    def from_counts(cls, counts: Mapping[int, int]) -> NpsResult:
        """NPS from a 0..10 histogram, e.g. a stored `Aggregate.counts`."""
        promoters = passives = detractors = 0
        for value, n in counts.items():
            if isinstance(value, bool) or not NPS_MIN <= value <= NPS_MAX:
                raise AggregateError(f"NPS value {value!r} outside {NPS_MIN}..{NPS_MAX}")
            if n < 0:
                raise AggregateError(f"negative count for {value}")
            if value >= NPS_PROMOTER_MIN:
                promoters += n
            elif value <= NPS_DETRACTOR_MAX:
                detractors += n
            else:
                passives += n
        return cls._build(promoters, passives, detractors)

    @classmethod
    def from_aggregate(cls, agg: Aggregate) -> NpsResult:
        return cls.from_counts(agg.counts)

    @classmethod
    def _build(cls, promoters: int, passives: int, detractors: int) -> NpsResult:
        total = promoters + passives + detractors
        # No responses means no score at all, not zero: a zero NPS is a real (middling) result.
        score = None if total == 0 else 100.0 * (promoters - detractors) / total
        return cls(score, promoters, passives, detractors, total)

    def merge(self, other: NpsResult) -> NpsResult:
        return self._build(
            self.promoters + other.promoters,
            self.passives + other.passives,
            self.detractors + other.detractors,
        )


def nps(values: Iterable[int]) -> NpsResult:
    counts: dict[int, int] = {}
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int):
            raise AggregateError(f"NPS value must be an integer, got {v!r}")
        counts[v] = counts.get(v, 0) + 1
    return NpsResult.from_counts(counts)


# ------------------------------------------------------------------------------------- Pulse Index


@dataclass(frozen=True)
class PulseIndexQuestion:
    id: str
    text: str


# Stable ids: stored aggregates are keyed by them, so renaming a question's text never loses
# history.
DEFAULT_PULSE_INDEX_QUESTIONS: tuple[PulseIndexQuestion, ...] = (
    PulseIndexQuestion("service", "Service"),
    PulseIndexQuestion("relationship", "Relationship and support"),
    PulseIndexQuestion("value", "Value"),
    PulseIndexQuestion("quality", "Quality"),
)


@dataclass(frozen=True)
class QuestionScore:
    question_id: str
    score: float | None
    responses: int


@dataclass(frozen=True)
class PulseIndexResult:
    score: float | None
    responses: int
    questions: tuple[QuestionScore, ...]

    def question(self, question_id: str) -> QuestionScore | None:
        return next((q for q in self.questions if q.question_id == question_id), None)


def question_score(question_id: str, agg: Aggregate) -> QuestionScore:
    return QuestionScore(question_id, agg.mean, agg.count)


def pulse_index(
    aggregates: Mapping[str, Aggregate], question_ids: Sequence[str] | None = None
) -> PulseIndexResult:
    """Mean of the question averages (spec), over questions that received any answer.

    Averaging averages (rather than pooling every answer) keeps each question's weight equal even
    when clients skip some questions. `question_ids` fixes the order and lists questions with no
    data too. `responses` is the largest per-question count: a response answers each question at
    most once, so that is the number of responses that scored anything, without storing response
    ids.
    """
    ids = list(question_ids) if question_ids is not None else sorted(aggregates)
    scores = tuple(
        question_score(qid, aggregates.get(qid) or Aggregate.pulse_index()) for qid in ids
    )
    answered = [q.score for q in scores if q.score is not None]
    score = sum(answered) / len(answered) if answered else None
    responses = max((q.responses for q in scores), default=0)
    return PulseIndexResult(score, responses, scores)


# ------------------------------------------------------------------------------------------- Trend


class Scored(Protocol):
    @property
    def score(self) -> float | None: ...

    @property
    def responses(self) -> int: ...


@dataclass(frozen=True)
class Trend:
    direction: Direction | None
    reason: str | None = None
    delta: float | None = None


def trend(
    current: Scored,
    previous: Scored,
    min_responses: int = TREND_MIN_RESPONSES,
    stable_band: float | None = None,
) -> Trend:
    """Direction versus the previous period, or no direction with the reason when data is thin.

    The band defaults by kind: NPS results use NPS_STABLE_BAND (points), anything else is taken to
    be on the 1-5 Pulse Index scale and uses PULSE_INDEX_STABLE_BAND.
    """
    if (
        current.responses < min_responses
        or previous.responses < min_responses
        or current.score is None
        or previous.score is None
    ):
        return Trend(None, NOT_ENOUGH_RESPONSES)
    if stable_band is None:
        stable_band = NPS_STABLE_BAND if isinstance(current, NpsResult) else PULSE_INDEX_STABLE_BAND
    delta = current.score - previous.score
    # Rounded so a move of exactly the band (4.1 - 4.0 = 0.0999...) counts as a move, as documented.
    if round(abs(delta), 9) < stable_band:
        return Trend("stable", None, delta)
    return Trend("improving" if delta > 0 else "declining", None, delta)
