"""Property tests for the SuccessScore: each required property from the spec has a test here."""

import importlib.util
import itertools
import json
import math
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from chalicelib.domain import success_score as ss
from chalicelib.domain.success_score import DEFAULT_PARAMS, PulseEvent, ScoreParams, ScoreState

DAY0 = date(2024, 1, 1)
levels = st.integers(min_value=1, max_value=6)


@st.composite
def params_st(draw: st.DrawFn) -> ScoreParams:
    base = draw(st.floats(min_value=0, max_value=10))
    gaps = draw(st.lists(st.floats(min_value=1, max_value=18), min_size=5, max_size=5))
    targets = [base]
    for gap in gaps:
        targets.append(targets[-1] + gap)
    t1, t2, t3, t4, t5, t6 = targets
    params = ScoreParams(
        targets=(t1, t2, t3, t4, t5, t6),
        growth_half_life_days=draw(st.floats(min_value=1, max_value=365)),
        decay_half_life_days=draw(st.floats(min_value=1, max_value=365)),
        jump_per_level=draw(st.floats(min_value=0.05, max_value=0.9)),
        first_pulse_jump=draw(st.floats(min_value=0, max_value=1)),
        initial_score=draw(st.floats(min_value=0, max_value=100)),
    )
    assert params.errors() == {}
    return params


any_params = st.one_of(st.just(DEFAULT_PARAMS), params_st())
# (day offset, level), sorted by offset: several pulses on one day are allowed.
events_st = st.lists(
    st.tuples(st.integers(min_value=0, max_value=300), levels), min_size=0, max_size=12
).map(lambda xs: sorted(xs, key=lambda x: x[0]))


def d(offset: int) -> date:
    return DAY0 + timedelta(days=offset)


def run_events(events: list[tuple[int, int]], params: ScoreParams) -> ScoreState:
    state = ss.initial_state(DAY0, params)
    for offset, level in events:
        state = ss.apply_pulse(state, level, d(offset), params)
    return state


# ------------------------------------------------------------------------------------- params


def test_default_params() -> None:
    assert DEFAULT_PARAMS.errors() == {}
    assert DEFAULT_PARAMS.to_dict() == {
        "targets": {"1": 8.0, "2": 25.0, "3": 45.0, "4": 65.0, "5": 82.0, "6": 95.0},
        "growth_half_life_days": 21.0,
        "decay_half_life_days": 14.0,
        "jump_per_level": 0.25,
        "first_pulse_jump": 0.5,
        "initial_score": 50.0,
    }


@given(any_params)
def test_params_round_trip(params: ScoreParams) -> None:
    parsed, errors = ss.params_from_dict(json.loads(json.dumps(params.to_dict())))
    assert errors == {}
    assert parsed == params


def test_partial_params_override_only_what_is_given() -> None:
    parsed, errors = ss.params_from_dict({"targets": {"6": 97}, "decay_half_life_days": 10})
    assert errors == {}
    assert parsed is not None
    assert parsed.target(6) == 97 and parsed.target(5) == 82
    assert parsed.decay_half_life_days == 10 and parsed.growth_half_life_days == 21


BOUNDS = {
    "growth_half_life_days": (1, 365),
    "decay_half_life_days": (1, 365),
    "jump_per_level": (0.05, 0.9),
    "first_pulse_jump": (0, 1),
    "initial_score": (0, 100),
}


@given(
    st.sampled_from(sorted(BOUNDS)),
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6),
)
def test_scalar_bounds(name: str, value: float) -> None:
    low, high = BOUNDS[name]
    parsed, errors = ss.params_from_dict({name: value})
    if low <= value <= high:
        assert errors == {} and parsed is not None
    else:
        assert parsed is None and set(errors) == {name}


@given(levels, st.floats(allow_nan=False, min_value=-50, max_value=150))
def test_target_bounds_and_order(level: int, value: float) -> None:
    parsed, errors = ss.params_from_dict({"targets": {str(level): value}})
    lower = DEFAULT_PARAMS.target(level - 1) + 1 if level > 1 else 0
    upper = DEFAULT_PARAMS.target(level + 1) - 1 if level < 6 else 100
    if lower <= value <= upper:
        assert errors == {} and parsed is not None
    else:
        assert parsed is None
        assert set(errors) <= {f"targets.{level}", f"targets.{level + 1}"} and errors


@pytest.mark.parametrize(
    "bad",
    [
        {"nonsense": 1},
        {"jump_per_level": "0.3"},
        {"jump_per_level": True},
        {"decay_half_life_days": float("nan")},
        {"targets": [1, 2]},
        {"targets": {"7": 50}},
    ],
)
def test_malformed_params(bad: dict[str, object]) -> None:
    parsed, errors = ss.params_from_dict(bad)
    assert parsed is None and errors


# ------------------------------------------------------------------------------ the properties


@given(any_params, events_st, st.integers(min_value=0, max_value=2000))
def test_score_is_bounded(params: ScoreParams, events: list[tuple[int, int]], later: int) -> None:
    state = run_events(events, params)
    on = state.anchor_date + timedelta(days=later)
    assert 0.0 <= ss.score_on(state, on, params) <= 100.0
    assert 0 <= ss.display_score(ss.score_on(state, on, params)) <= 100


@given(
    any_params,
    events_st.filter(bool),
    st.integers(min_value=0, max_value=1000),
    st.integers(min_value=0, max_value=1000),
)
def test_nightly_moves_toward_target_without_overshoot(
    params: ScoreParams, events: list[tuple[int, int]], a: int, b: int
) -> None:
    state = run_events(events, params)
    assert state.level is not None
    target = params.target(state.level)
    early, late = sorted((a, b))
    s_early = ss.score_on(state, state.anchor_date + timedelta(days=early), params)
    s_late = ss.score_on(state, state.anchor_date + timedelta(days=late), params)
    # Never crosses the target: stays on the anchor's side of it (or reaches it).
    for s in (s_early, s_late):
        assert min(state.anchor_score, target) <= s <= max(state.anchor_score, target)
    # The longer at the level, the closer.
    assert abs(s_late - target) <= abs(s_early - target)


@given(any_params, events_st.filter(bool), st.integers(min_value=0, max_value=30))
def test_each_night_gets_strictly_closer(
    params: ScoreParams, events: list[tuple[int, int]], night: int
) -> None:
    state = run_events(events, params)
    assert state.level is not None
    target = params.target(state.level)
    assume(abs(state.anchor_score - target) >= 0.01)
    today = ss.score_on(state, state.anchor_date + timedelta(days=night), params)
    tomorrow = ss.score_on(state, state.anchor_date + timedelta(days=night + 1), params)
    assert abs(tomorrow - target) < abs(today - target)
    # Growth below the target, decay above it.
    assert (tomorrow > today) == (state.anchor_score < target)
    # The nightly step is one fixed share of the gap (the recurrence the closed form solves).
    rate = ss.nightly_rate(ss.half_life(state.anchor_score, target, params))
    assert math.isclose(tomorrow, target + (today - target) * (1 - rate), abs_tol=1e-9)


@pytest.mark.parametrize(("start", "level", "half_life"), [(20.0, 6, 21), (90.0, 1, 14)])
def test_gap_halves_after_one_half_life(start: float, level: int, half_life: int) -> None:
    state = ss.apply_pulse(ss.initial_state(DAY0, score=start), level, DAY0)
    target = DEFAULT_PARAMS.target(level)
    gap0 = state.anchor_score - target
    later = ss.score_on(state, DAY0 + timedelta(days=half_life))
    assert math.isclose(later - target, gap0 / 2, rel_tol=1e-12)


@given(any_params, events_st, levels, st.integers(min_value=0, max_value=200))
def test_pulse_jumps_toward_new_target_at_once(
    params: ScoreParams, events: list[tuple[int, int]], new_level: int, after: int
) -> None:
    state = run_events(events, params)
    assume(state.level != new_level)
    on = state.anchor_date + timedelta(days=after)
    before = ss.score_on(state, on, params)
    target = params.target(new_level)
    new = ss.apply_pulse(state, new_level, on, params)
    jumped = ss.score_on(new, on, params)
    assert min(before, target) <= jumped <= max(before, target)
    if abs(before - target) > 1e-6 and (state.level is not None or params.first_pulse_jump > 1e-6):
        assert abs(jumped - target) < abs(before - target)
    change = new.last_change
    assert change is not None
    assert (change.from_level, change.to_level, change.on_date) == (state.level, new_level, on)
    assert change.score_before == before and change.score_after == jumped


@given(
    any_params,
    st.lists(levels, min_size=3, max_size=3, unique=True).map(sorted),
    st.floats(min_value=0, max_value=1),
    st.booleans(),
)
def test_bigger_change_moves_further(
    params: ScoreParams, trio: list[int], where: float, up: bool
) -> None:
    low, mid, high = trio
    level, near, far = (low, mid, high) if up else (high, mid, low)
    # The share of the gap closed always grows with the size of the change.
    assert ss.jump_fraction(far - level, params) > ss.jump_fraction(near - level, params)
    # Compare from a score that is not already past the nearer target in the direction of change
    # (from there, "toward the nearer target" is the other way and the comparison is meaningless).
    near_target = params.target(near)
    score = near_target * where if up else near_target + (100 - near_target) * where
    state = ScoreState(level=level, anchor_score=score, anchor_date=DAY0)
    move_near = ss.apply_pulse(state, near, DAY0, params).anchor_score - score
    move_far = ss.apply_pulse(state, far, DAY0, params).anchor_score - score
    assert abs(move_far) > abs(move_near)
    assert move_far > 0 if up else move_far < 0


@given(any_params, levels)
def test_bigger_change_from_a_settled_account(params: ScoreParams, level: int) -> None:
    # A settled account sits at its level's target; from there every other level is a change,
    # and in each direction the farther level moves the score strictly further.
    state = ScoreState(level=level, anchor_score=params.target(level), anchor_date=DAY0)

    def move(to: int) -> float:
        return ss.apply_pulse(state, to, DAY0, params).anchor_score - state.anchor_score

    ups = [move(to) for to in range(level + 1, 7)]
    downs = [move(to) for to in range(level - 1, 0, -1)]
    assert len(ups) + len(downs) == 5
    assert all(m > 0 for m in ups) and all(m < 0 for m in downs)
    assert all(a < b for a, b in itertools.pairwise(ups))
    assert all(a > b for a, b in itertools.pairwise(downs))


@given(any_params, st.integers(min_value=1, max_value=5))
def test_jump_share_grows_with_the_change_and_never_reaches_one(
    params: ScoreParams, steps: int
) -> None:
    share = ss.jump_fraction(steps, params)
    assert 0 < share < 1
    assert ss.jump_fraction(-steps, params) == share
    if steps < 5:
        assert ss.jump_fraction(steps + 1, params) > share


@given(any_params, events_st.filter(bool), levels, st.integers(min_value=0, max_value=200))
def test_a_level_change_never_lands_on_the_target(
    params: ScoreParams, events: list[tuple[int, int]], new_level: int, after: int
) -> None:
    state = run_events(events, params)
    assume(state.level is not None and state.level != new_level)
    on = state.anchor_date + timedelta(days=after)
    before = ss.score_on(state, on, params)
    target = params.target(new_level)
    assume(abs(before - target) > 1e-6)
    jumped = ss.apply_pulse(state, new_level, on, params).anchor_score
    assert jumped != target
    assert min(before, target) < jumped < max(before, target)


@given(
    any_params,
    levels,
    levels,
    st.floats(min_value=0, max_value=100),
)
def test_a_change_of_several_levels_is_that_many_jumps_toward_the_new_target(
    params: ScoreParams, level: int, new_level: int, score: float
) -> None:
    """What the docs promise instead of "the same as single-level steps": a change of d levels
    closes `jump_per_level` of the remaining gap to the new target d times over."""
    assume(level != new_level)
    state = ScoreState(level=level, anchor_score=score, anchor_date=DAY0)
    jumped = ss.apply_pulse(state, new_level, DAY0, params).anchor_score
    target = params.target(new_level)
    stepped = score
    for _ in range(abs(new_level - level)):
        stepped += (target - stepped) * params.jump_per_level
    assert math.isclose(jumped, stepped, rel_tol=1e-9, abs_tol=1e-9)


def test_single_level_steps_move_less_than_one_change() -> None:
    # The example the docs give: step by step, the score first heads for the middle target.
    state = ScoreState(level=4, anchor_score=65.0, anchor_date=DAY0)
    direct = ss.apply_pulse(state, 6, DAY0).anchor_score
    via_five = ss.apply_pulse(ss.apply_pulse(state, 5, DAY0), 6, DAY0).anchor_score
    assert direct == pytest.approx(78.125)
    assert via_five == pytest.approx(75.6875)


@given(any_params, events_st, st.lists(st.integers(min_value=0, max_value=400), max_size=15))
@settings(max_examples=150)
def test_catch_up_equals_nightly(
    params: ScoreParams, events: list[tuple[int, int]], run_days: list[int]
) -> None:
    last = max([0, *(o for o, _ in events), *run_days]) + 5
    by_day: dict[int, list[int]] = {}
    for offset, level in events:
        by_day.setdefault(offset, []).append(level)

    def simulate(runs: set[int]) -> ScoreState:
        state = ss.initial_state(DAY0, params)
        for day in range(last + 1):
            for level in by_day.get(day, []):
                state = ss.apply_pulse(state, level, d(day), params)
            if day in runs:
                state = ss.advance(state, d(day), params)
        return state

    every_night = simulate(set(range(last + 1)))
    some_nights = simulate({r for r in run_days if r <= last} | {last})
    only_last = simulate({last})
    assert every_night == some_nights == only_last
    assert every_night.score is not None
    assert every_night.scored_on == d(last)
    assert every_night.score == ss.score_on(every_night, d(last), params)
    assert only_last.score is not None
    assert math.isclose(every_night.score, only_last.score, abs_tol=1e-9)


@given(any_params, events_st, st.integers(min_value=0, max_value=500), st.integers(0, 500))
def test_advance_is_idempotent_and_never_goes_back(
    params: ScoreParams, events: list[tuple[int, int]], a: int, b: int
) -> None:
    state = run_events(events, params)
    on = state.anchor_date + timedelta(days=a)
    once = ss.advance(state, on, params)
    assert ss.advance(once, on, params) == once
    assert once.score == ss.score_on(state, on, params)
    other = state.anchor_date + timedelta(days=b)
    again = ss.advance(once, other, params)
    if other < on:
        assert again == once  # a replayed older night leaves the newer result alone
    # Advancing never changes what determines the curve.
    assert (again.level, again.anchor_score, again.anchor_date) == (
        state.level,
        state.anchor_score,
        state.anchor_date,
    )


def test_advance_before_the_last_pulse_is_ignored() -> None:
    state = ss.apply_pulse(None, 5, d(10))
    assert ss.advance(state, d(9)) == state
    with pytest.raises(ValueError):
        ss.score_on(state, d(9))
    with pytest.raises(ValueError):
        ss.apply_pulse(state, 2, d(9))


@given(any_params, events_st.filter(bool), st.integers(min_value=0, max_value=300))
def test_same_update_does_not_restart_the_curve(
    params: ScoreParams, events: list[tuple[int, int]], later: int
) -> None:
    state = run_events(events, params)
    assert state.level is not None
    on = state.anchor_date + timedelta(days=later)
    assert ss.apply_pulse(state, state.level, on, params) == state


@given(any_params, events_st, st.integers(min_value=0, max_value=300))
def test_explanation_adds_up(
    params: ScoreParams, events: list[tuple[int, int]], later: int
) -> None:
    state = run_events(events, params)
    on = state.anchor_date + timedelta(days=later)
    why = ss.explain(state, on, params)
    assert why.score == ss.score_on(state, on, params)
    assert why.days_at_level == later
    json.dumps(why.to_dict())
    assert why.summary
    if state.level is None:
        assert why.direction == "no_pulse" and why.target is None
        return
    assert why.target == params.target(state.level)
    assert why.remaining_gap == pytest.approx(why.target - why.score, abs=1e-9)
    change = why.last_change
    assert change is not None and change.to_level == state.level
    assert change.score_after + why.nightly_effect == pytest.approx(why.score, abs=1e-9)
    assert change.score_before + change.jump == pytest.approx(change.score_after, abs=1e-9)


@given(any_params, events_st, st.integers(min_value=0, max_value=300))
def test_state_round_trips_through_json_exactly(
    params: ScoreParams, events: list[tuple[int, int]], later: int
) -> None:
    state = ss.advance(run_events(events, params), d(300 + later), params)
    restored = ScoreState.from_dict(json.loads(json.dumps(state.to_dict())))
    assert restored == state


def test_worked_example_from_the_docs() -> None:
    state = ss.apply_pulse(ss.initial_state(DAY0), 4, DAY0)
    assert state.anchor_score == 57.5
    assert ss.score_on(state, d(21)) == pytest.approx(61.25, abs=1e-12)
    state = ss.apply_pulse(state, 2, d(21))
    assert state.score_before == pytest.approx(61.25, abs=1e-12)
    assert state.anchor_score == pytest.approx(45.390625, abs=1e-12)
    assert ss.score_on(state, d(35)) == pytest.approx(35.1953125, abs=1e-12)
    assert ss.display_score(ss.score_on(state, d(35))) == 35


def test_history_and_timeline_agree() -> None:
    events = [PulseEvent(d(0), 6), PulseEvent(d(40), 2)]
    start = ss.initial_state(DAY0)
    points = ss.timeline(events, start, d(0), d(80))
    assert len(points) == 81
    final = ss.replay(events, start)
    tail = ss.history(final, d(0), d(80))
    assert [p.on_date for p in tail] == [d(i) for i in range(40, 81)]
    assert points[40:] == tail
    assert points[39].level == 6 and points[40].level == 2


def test_display_rounds_half_up() -> None:
    assert ss.display_score(42.5) == 43
    assert ss.display_score(42.49) == 42
    assert ss.display_score(-3) == 0 and ss.display_score(101) == 100


def test_params_that_break_the_order_are_rejected() -> None:
    bad = replace(DEFAULT_PARAMS, targets=(8.0, 25.0, 70.0, 65.0, 82.0, 95.0))
    assert set(bad.errors()) == {"targets.4"}


def test_committed_chart_matches_the_code() -> None:
    root = Path(__file__).resolve().parents[2]
    spec = importlib.util.spec_from_file_location(
        "success_score_chart", root / "tools/success_score_chart.py"
    )
    assert spec is not None and spec.loader is not None
    chart = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(chart)
    committed = (root / "docs/charts/success_score_curves.svg").read_text(encoding="utf-8")
    assert chart.render() == committed, "run: python tools/success_score_chart.py"
