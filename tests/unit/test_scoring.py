"""Pulse Index, NPS, trends and the stored aggregates they are built from."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.scoring import (
    DEFAULT_PULSE_INDEX_QUESTIONS,
    NOT_ENOUGH_RESPONSES,
    Aggregate,
    AggregateError,
    NpsResult,
    nps,
    pulse_index,
    trend,
)

nps_values = st.lists(st.integers(0, 10), max_size=60)


def test_nps_no_responses_has_no_score() -> None:
    assert nps([]) == NpsResult(None, 0, 0, 0, 0)


def test_nps_bucket_boundaries() -> None:
    r = nps([0, 6, 7, 8, 9, 10])
    assert (r.promoters, r.passives, r.detractors, r.responses) == (2, 2, 2, 6)
    assert r.score == 0.0


@pytest.mark.parametrize(
    ("values", "expected"),
    [([10, 10, 9], 100.0), ([0, 3, 6], -100.0), ([7, 8], 0.0), ([9, 7, 0, 10], 25.0)],
)
def test_nps_extremes_and_mixed(values: list[int], expected: float) -> None:
    assert nps(values).score == pytest.approx(expected)


@pytest.mark.parametrize("bad", [11, -1, True, 9.5])
def test_nps_rejects_out_of_scale(bad: object) -> None:
    with pytest.raises(AggregateError):
        nps([bad])  # type: ignore[list-item]


@given(nps_values, nps_values)
def test_nps_merge_equals_nps_of_union(a: list[int], b: list[int]) -> None:
    assert nps(a).merge(nps(b)) == nps(a + b)


@given(nps_values)
def test_nps_from_aggregate_matches_raw(values: list[int]) -> None:
    agg = Aggregate.of(0, 10, values)
    assert NpsResult.from_aggregate(agg) == nps(values)
    restored = Aggregate.from_dict(json.loads(json.dumps(agg.to_dict())))
    assert restored == agg


@given(nps_values)
def test_nps_score_bounds(values: list[int]) -> None:
    r = nps(values)
    assert r.promoters + r.passives + r.detractors == r.responses == len(values)
    if r.score is not None:
        assert -100.0 <= r.score <= 100.0


def test_aggregate_add_remove_update() -> None:
    agg = Aggregate.pulse_index()
    for v in (5, 4, 4):
        agg.add(v)
    assert (agg.count, agg.total) == (3, 13)
    assert agg.mean == pytest.approx(13 / 3)
    agg.replace(4, 2)  # a client edits an answer
    assert agg.counts == {2: 1, 4: 1, 5: 1}
    agg.remove(2)
    agg.remove(4)
    agg.remove(5)
    assert agg.count == 0 and agg.mean is None and agg.to_dict()["counts"] == {}
    with pytest.raises(AggregateError):
        agg.remove(5)
    with pytest.raises(AggregateError):
        agg.add(6)


def test_aggregate_merge_requires_same_scale() -> None:
    with pytest.raises(AggregateError):
        Aggregate.pulse_index().merge(Aggregate.nps())


@given(st.lists(st.integers(1, 5)), st.lists(st.integers(1, 5)))
def test_aggregate_merge_is_additive(a: list[int], b: list[int]) -> None:
    merged = Aggregate.of(1, 5, a).merge(Aggregate.of(1, 5, b))
    assert merged == Aggregate.of(1, 5, a + b)
    assert merged.count == len(a) + len(b) and merged.total == sum(a) + sum(b)


def test_default_questions_have_stable_ids() -> None:
    assert [q.id for q in DEFAULT_PULSE_INDEX_QUESTIONS] == [
        "service",
        "relationship",
        "value",
        "quality",
    ]
    assert DEFAULT_PULSE_INDEX_QUESTIONS[1].text == "Relationship and support"


def test_pulse_index_is_mean_of_question_averages() -> None:
    ids = [q.id for q in DEFAULT_PULSE_INDEX_QUESTIONS]
    aggs = {
        "service": Aggregate.of(1, 5, [5, 5, 5, 5]),  # average 5, many answers
        "relationship": Aggregate.of(1, 5, [3]),  # average 3, one answer
    }
    r = pulse_index(aggs, ids)
    # Pooled mean would be 4.6; the spec wants the mean of averages.
    assert r.score == pytest.approx(4.0)
    assert r.responses == 4
    assert [q.question_id for q in r.questions] == ids
    value = r.question("value")
    assert value is not None and value.score is None and value.responses == 0
    service = r.question("service")
    assert service is not None and service.score == 5.0


def test_pulse_index_empty() -> None:
    r = pulse_index({})
    assert r.score is None and r.responses == 0


def test_trend_needs_enough_responses_in_both_periods() -> None:
    good = nps([10] * 5)
    thin = nps([0] * 4)
    for cur, prev in ((good, thin), (thin, good), (nps([]), good)):
        t = trend(cur, prev)
        assert t.direction is None and t.reason == NOT_ENOUGH_RESPONSES
    assert trend(good, thin, min_responses=4).direction == "improving"


def test_trend_nps_band() -> None:
    prev = nps([9] * 10 + [7] * 10)  # 50
    assert trend(nps([9] * 11 + [7] * 9), prev).direction == "improving"  # +5 is not < 5
    assert trend(nps([9] * 11 + [7] * 9), prev, stable_band=6).direction == "stable"
    assert trend(nps([9] * 10 + [7] * 9 + [8]), prev).direction == "stable"
    assert trend(nps([7] * 20), prev).direction == "declining"


def test_trend_pulse_index_band() -> None:
    prev = pulse_index({"service": Aggregate.of(1, 5, [4] * 10)})
    same = pulse_index({"service": Aggregate.of(1, 5, [4] * 9 + [5])})  # +0.1 -> not stable
    tiny = pulse_index({"service": Aggregate.of(1, 5, [4] * 19 + [5])})  # +0.05
    worse = pulse_index({"service": Aggregate.of(1, 5, [3] * 10)})
    assert trend(tiny, prev).direction == "stable"
    assert trend(same, prev).direction == "improving"
    t = trend(worse, prev)
    assert t.direction == "declining" and t.delta == pytest.approx(-1.0) and t.reason is None
