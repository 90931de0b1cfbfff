"""Peer groups, raw benchmarks and the anti-gaming weighted score."""

from __future__ import annotations

import math

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from chalicelib.domain.benchmarks import (
    CUSTOM_NOT_ADOPTED,
    NOT_ENOUGH_DATA,
    Company,
    QuestionStats,
    awards,
    benchmark,
    is_benchmarkable,
    peer_group,
    qualifies,
    rank,
    top_performers,
    weighted_score,
)

Q = "responsiveness"


def stats(
    mean: float,
    n: int,
    *,
    customers: int | None = None,
    invited: int | None = None,
    free: int = 0,
    honeymoon: int = 0,
) -> QuestionStats:
    return QuestionStats(
        customers=min(n, 5) if customers is None else customers,
        responses=n,
        value_sum=mean * n,
        invited=n * 2 if invited is None else invited,
        free_email_responses=free,
        honeymoon_responses=honeymoon,
        honeymoon_sum=mean * honeymoon,
    )


def co(
    tid: str,
    mean: float = 8.0,
    n: int = 10,
    *,
    city: str = "Austin",
    region: str = "TX",
    country: str = "US",
    industry: str = "Accounting",
    qid: str = Q,
    **kw: int,
) -> Company:
    return Company(tid, industry, country, region, city, {qid: stats(mean, n, **kw)})


# ------------------------------------------------------------------------------- qualification


def test_five_customer_rule() -> None:
    assert qualifies(co("a", customers=5), Q)
    assert not qualifies(co("a", customers=4), Q)
    assert not qualifies(co("a"), "other_question")


def test_non_qualifying_companies_do_not_count_towards_peer_group() -> None:
    me = co("me")
    others = [co(f"c{i}") for i in range(3)] + [co(f"small{i}", customers=4) for i in range(5)]
    g = peer_group(me, [*others, co("x")], Q)
    assert g.level == "city" and len(g.members) == 5
    assert peer_group(me, others, Q).level is None  # me + 3 qualifying = 4 < 5


# ------------------------------------------------------------------------------- region fallback


def test_region_fallback_city_state_country_global() -> None:
    me = co("me", city="Austin", region="TX", country="US")
    same_city = [co(f"city{i}") for i in range(4)]
    same_state = [co(f"st{i}", city="Dallas") for i in range(4)]
    same_country = [co(f"ctry{i}", city="Boise", region="ID") for i in range(4)]
    abroad = [co(f"gl{i}", city="Lyon", region="ARA", country="FR") for i in range(4)]
    other_industry = [co(f"law{i}", industry="Law") for i in range(10)]

    def level(pool: list[Company]) -> str | None:
        return peer_group(me, [*pool, *other_industry], Q).level

    assert level(same_city) == "city"
    assert level(same_city[:3] + same_state[:1]) == "state"
    assert level(same_city[:1] + same_state[:2] + same_country[:1]) == "country"
    assert level(same_city[:1] + same_state[:1] + same_country[:1] + abroad[:1]) == "global"
    g = peer_group(me, same_city[:1] + same_state[:1] + same_country[:1], Q)
    assert g.level is None and g.reason == NOT_ENOUGH_DATA and g.members == ()


def test_city_is_matched_within_its_state() -> None:
    me = co("me", city="Springfield", region="IL")
    namesakes = [co(f"mo{i}", city="Springfield", region="MO") for i in range(4)]
    assert peer_group(me, namesakes, Q).level == "country"
    spaced = [co(f"il{i}", city=" springfield ", region="il") for i in range(4)]
    g = peer_group(me, spaced, Q)
    assert g.level == "city" and g.region == "Springfield, IL, US"


def test_company_that_does_not_qualify_still_sees_a_group_without_itself() -> None:
    me = co("me", customers=2)
    g = peer_group(me, [co(f"c{i}") for i in range(5)], Q)
    assert g.level == "city" and "me" not in {m.tenant_id for m in g.members}


# ---------------------------------------------------------------------------- raw benchmarks


def test_benchmark_is_pooled_raw_average() -> None:
    me = co("me", mean=6.0, n=10)
    peers = [co("a", mean=9.0, n=30), *(co(f"c{i}", mean=8.0, n=10) for i in range(3))]
    b = benchmark(me, peers, Q)
    assert b.level == "city" and b.reason is None
    assert b.average == pytest.approx((60 + 270 + 240) / 70)
    assert b.top_performers == pytest.approx(9.0)


@pytest.mark.parametrize(("n", "top"), [(5, 1), (20, 1), (21, 2), (40, 2), (41, 3)])
def test_top_performers_is_top_five_percent_at_least_one(n: int, top: int) -> None:
    members = [co(f"c{i:03}", mean=float(i % 11)) for i in range(n)]
    means = sorted((float(i % 11) for i in range(n)), reverse=True)
    assert top == max(1, math.ceil(0.05 * n))
    assert top_performers(members, Q) == pytest.approx(sum(means[:top]) / top)


def test_top_performers_empty() -> None:
    assert top_performers([], Q) is None


def test_custom_question_needs_five_qualifying_users() -> None:
    cq = "custom_abc"
    users = [co(f"u{i}", qid=cq, industry="Law" if i else "Accounting") for i in range(4)]
    me = co("me", qid=cq)
    assert not is_benchmarkable(cq, [*users, co("x", qid=cq, customers=1)])
    assert benchmark(me, users[:3], cq).reason == CUSTOM_NOT_ADOPTED
    # me + 4 users = 5 qualifying users, but only 2 are in Accounting: adopted, not enough peers.
    assert is_benchmarkable(cq, [me, *users])
    assert benchmark(me, users, cq).reason == NOT_ENOUGH_DATA
    peers = [co(f"p{i}", qid=cq) for i in range(4)]
    assert benchmark(me, [*users, *peers], cq).level == "city"


# ---------------------------------------------------------------------------- weighted score


def test_two_perfect_answers_do_not_outrank_forty_strong_ones() -> None:
    perfect = co("perfect", mean=10.0, n=2, customers=2, invited=10)
    strong = co("strong", mean=8.5, n=40, customers=25, invited=60)
    peers = [co(f"p{i}", mean=7.5, n=20, customers=10) for i in range(5)]
    for peer_mean in (7.0, 7.5, 8.0):
        ws_perfect = weighted_score(perfect.questions[Q], peer_mean)
        ws_strong = weighted_score(strong.questions[Q], peer_mean)
        assert ws_perfect.raw_mean > ws_strong.raw_mean
        assert ws_perfect.score < ws_strong.score
    # Five perfect answers squeezed out of fifty invitations (10% participation) rank below too.
    perfect5 = co("perfect", mean=10.0, n=5, customers=5, invited=50)
    ranked = {r.tenant_id: r for r in rank([perfect5, strong, *peers], Q)}
    assert ranked["strong"].rank == 1 and ranked["perfect"].rank > 1
    # And with two customers it is not ranked at all.
    assert "perfect" not in {r.tenant_id for r in rank([perfect, strong, *peers], Q)}


def test_weighted_score_explains_itself() -> None:
    s = stats(9.0, 20, invited=100, free=10, honeymoon=4)
    ws = weighted_score(s, 7.0)
    assert [a.name for a in ws.adjustments] == [
        "honeymoon",
        "shrinkage",
        "participation",
        "free_email",
    ]
    assert ws.raw_mean == pytest.approx(9.0)
    assert ws.score == pytest.approx(ws.raw_mean + sum(a.effect for a in ws.adjustments))
    assert all(a.effect <= 1e-12 for a in ws.adjustments)
    assert ws.factors["effective_responses"] == pytest.approx(18.0)
    assert ws.factors["participation"] == pytest.approx(0.2)
    assert 7.0 < ws.score < 9.0


def test_honeymoon_answers_count_half() -> None:
    # 10 mature answers of 6 and 10 honeymoon answers of 10: weighted mean (60 + 50) / 15.
    s = QuestionStats(10, 20, 160.0, invited=20, honeymoon_responses=10, honeymoon_sum=100.0)
    ws = weighted_score(s, 7.0)
    assert ws.adjustments[0].effect == pytest.approx(110 / 15 - 8.0)


def test_discounts_never_raise_a_below_peer_score() -> None:
    low = stats(5.0, 30, invited=300, free=30)
    ws = weighted_score(low, 8.0)
    assert ws.adjustments[2].effect == 0 and ws.adjustments[3].effect == 0
    assert ws.score == pytest.approx((30 * 5 + 10 * 8) / 40)


def test_no_responses_cannot_be_scored() -> None:
    with pytest.raises(ValueError):
        weighted_score(QuestionStats(0, 0, 0.0), 7.0)


def test_invalid_stats_rejected() -> None:
    with pytest.raises(ValueError):
        QuestionStats(1, 2, 10.0, free_email_responses=3)
    with pytest.raises(ValueError):
        QuestionStats(3, 2, 10.0)


means = st.floats(0.0, 10.0, allow_nan=False)


@given(means, means, st.integers(1, 200), st.integers(1, 200), st.integers(0, 400))
def test_more_responses_at_same_mean_above_peer_never_lower(
    mean: float, peer: float, n1: int, n2: int, extra_invited: int
) -> None:
    assume(mean >= peer)
    lo, hi = sorted((n1, n2))
    invited = hi + extra_invited  # same invitation list, more of it answered
    a = weighted_score(stats(mean, lo, invited=invited), peer)
    b = weighted_score(stats(mean, hi, invited=invited), peer)
    assert b.score >= a.score - 1e-9


@given(means, means, st.integers(1, 100), st.integers(0, 500), st.integers(0, 500))
def test_higher_participation_never_lower(
    mean: float, peer: float, n: int, extra1: int, extra2: int
) -> None:
    fewer_invited, more_invited = n + min(extra1, extra2), n + max(extra1, extra2)
    high_p = weighted_score(stats(mean, n, invited=fewer_invited), peer)
    low_p = weighted_score(stats(mean, n, invited=more_invited), peer)
    assert high_p.score >= low_p.score - 1e-9


@given(means, means, st.integers(1, 100), st.data(), st.floats(0.0, 1.0))
def test_higher_free_email_share_never_higher(
    mean: float, peer: float, n: int, data: st.DataObject, peer_share: float
) -> None:
    f1 = data.draw(st.integers(0, n))
    f2 = data.draw(st.integers(0, n))
    lo, hi = sorted((f1, f2))
    a = weighted_score(stats(mean, n, free=lo), peer, peer_free_email_share=peer_share)
    b = weighted_score(stats(mean, n, free=hi), peer, peer_free_email_share=peer_share)
    assert b.score <= a.score + 1e-9


@given(means, means, st.integers(1, 100), st.data(), st.integers(0, 300))
def test_more_honeymoon_share_never_more_extreme(
    mean: float, peer: float, n: int, data: st.DataObject, extra_invited: int
) -> None:
    h1 = data.draw(st.integers(0, n))
    h2 = data.draw(st.integers(0, n))
    lo, hi = sorted((h1, h2))
    invited = n + extra_invited
    a = weighted_score(stats(mean, n, invited=invited, honeymoon=lo), peer)
    b = weighted_score(stats(mean, n, invited=invited, honeymoon=hi), peer)
    assert abs(b.score - peer) <= abs(a.score - peer) + 1e-9


@given(means, means, st.integers(1, 100), st.integers(0, 300), st.integers(0, 100))
def test_weighted_score_stays_between_peer_and_raw(
    mean: float, peer: float, n: int, extra_invited: int, free: int
) -> None:
    ws = weighted_score(stats(mean, n, invited=n + extra_invited, free=min(free, n)), peer)
    assert min(mean, peer) - 1e-9 <= ws.score <= max(mean, peer) + 1e-9


# ----------------------------------------------------------------------------- ranks and awards


def test_rank_within_each_peer_group_and_awards() -> None:
    austin = [co(f"a{i}", mean=6.0 + i * 0.5, n=30, invited=60) for i in range(5)]
    paris = [
        co(f"f{i}", mean=7.0 + i * 0.2, n=30, invited=60, city="Paris", region="IDF", country="FR")
        for i in range(6)
    ]
    ranked = rank([*austin, *paris], Q)
    by_id = {r.tenant_id: r for r in ranked}
    assert len(ranked) == 11
    assert by_id["a4"].rank == 1 and by_id["a4"].out_of == 5 and by_id["a4"].level == "city"
    assert by_id["a0"].rank == 5
    assert (
        by_id["f5"].rank == 1 and by_id["f5"].out_of == 6 and by_id["f5"].region.startswith("Paris")
    )
    won = awards(ranked)
    assert {w.tenant_id for w in won} == {"a4", "f5"}  # ceil(10% of 5 or 6) = 1 per group
    assert {w.tenant_id for w in awards(ranked, top_n=2)} == {"a4", "a3", "f5", "f4"}
    assert {w.tenant_id for w in awards(ranked, top_share=0.4)} == {"a4", "a3", "f5", "f4", "f3"}
    with pytest.raises(ValueError):
        awards(ranked, top_n=1, top_share=0.1)


def test_ties_share_a_rank_and_equal_group_gets_no_award() -> None:
    same = [co(f"c{i}", mean=8.0, n=20) for i in range(5)]
    ranked = rank(same, Q)
    assert {r.rank for r in ranked} == {1}
    assert awards(ranked) == []


def test_companies_without_peer_group_are_not_ranked() -> None:
    assert rank([co(f"c{i}") for i in range(4)], Q) == []
