"""Heartbeat benchmarks: peer groups, raw dashboard averages, and the anti-gaming weighted score.

Inputs are per-company, per-question, per-period aggregates (no raw responses, no client
identities), so a nightly job can feed this from stored counts. The method and every constant are
explained in docs/industry-benchmarks.md; keep the two in step.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

from chalicelib.domain.heartbeat import LIBRARY, OVERALL_SATISFACTION

# A company's numbers count only with at least this many customers (accounts with a response in the
# period): one or two happy clients say nothing about an industry (spec, seed 003).
MIN_CUSTOMERS = 5
# A peer group must hold this many qualifying companies, or an average would expose one company's
# results and be too noisy to compare against (spec).
MIN_PEER_COMPANIES = 5
# Custom questions join benchmarks once this many qualifying companies (any industry) use them.
MIN_CUSTOM_QUESTION_USERS = 5
TOP_PERFORMER_SHARE = 0.05  # "top performers" = top 5% of qualifying companies (seed 003)
AWARD_TOP_SHARE = 0.10
NOT_ENOUGH_DATA = "not enough data"
CUSTOM_NOT_ADOPTED = "custom question not yet used by enough companies"

Level = Literal["city", "state", "country", "global"]
LEVELS: tuple[Level, ...] = ("city", "state", "country", "global")

# Questions benchmarked without an adoption threshold: the shared library plus the fixed 0-10
# question. ("Customer sentiment" is multiple choice, so it has no average to benchmark.)
BENCHMARKED_QUESTION_IDS: frozenset[str] = frozenset(
    [OVERALL_SATISFACTION.id, *(q.id for q in LIBRARY)]
)


@dataclass(frozen=True)
class QuestionStats:
    """One company's answers to one question over one period, as counts.

    A client answers a question at most once per period, so "responses" and "respondents" coincide:
    `free_email_responses` and `honeymoon_responses` count respondents with a free-mail address and
    respondents whose account is in its first 90 days.
    """

    customers: int
    responses: int
    value_sum: float
    invited: int = 0
    free_email_responses: int = 0
    honeymoon_responses: int = 0
    honeymoon_sum: float = 0.0

    def __post_init__(self) -> None:
        counts = (self.customers, self.responses, self.invited)
        if min(counts) < 0 or self.free_email_responses < 0 or self.honeymoon_responses < 0:
            raise ValueError("counts cannot be negative")
        if self.free_email_responses > self.responses or self.honeymoon_responses > self.responses:
            raise ValueError("sub-counts cannot exceed responses")
        if self.customers > self.responses:
            raise ValueError("every answering customer gave at least one response")

    @property
    def raw_mean(self) -> float | None:
        return self.value_sum / self.responses if self.responses else None

    @property
    def participation(self) -> float | None:
        # Unknown (None) when nobody was recorded as invited; clamped at 1 against stray counts.
        return min(1.0, self.responses / self.invited) if self.invited else None

    @property
    def free_email_share(self) -> float:
        return self.free_email_responses / self.responses if self.responses else 0.0

    @property
    def honeymoon_share(self) -> float:
        return self.honeymoon_responses / self.responses if self.responses else 0.0


@dataclass(frozen=True)
class Company:
    tenant_id: str
    industry: str
    country: str
    region: str  # state / region
    city: str
    questions: Mapping[str, QuestionStats] = field(default_factory=dict)

    def stats(self, question_id: str) -> QuestionStats | None:
        return self.questions.get(question_id)


def _norm(text: str | None) -> str:
    return " ".join((text or "").split()).casefold()


def qualifies(company: Company, question_id: str) -> bool:
    stats = company.stats(question_id)
    return stats is not None and stats.customers >= MIN_CUSTOMERS and stats.responses > 0


def _region_key(company: Company, level: Level) -> tuple[str, ...] | None:
    # A city is only meaningful inside its state and country (Springfield, Perth); a level whose
    # location field is blank cannot be matched and is skipped.
    parts = {
        "city": (company.country, company.region, company.city),
        "state": (company.country, company.region),
        "country": (company.country,),
        "global": (),
    }[level]
    key = tuple(_norm(p) for p in parts)
    return None if any(not p for p in key) else key


def region_label(company: Company, level: Level | None) -> str | None:
    if level is None:
        return None
    if level == "global":
        return "global"
    parts = {
        "city": (company.city, company.region, company.country),
        "state": (company.region, company.country),
        "country": (company.country,),
    }[level]
    return ", ".join(p.strip() for p in parts)


@dataclass(frozen=True)
class PeerGroup:
    question_id: str
    level: Level | None
    region: str | None
    members: tuple[Company, ...]
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.level is not None


def peer_group(company: Company, companies: Iterable[Company], question_id: str) -> PeerGroup:
    """Narrowest region (city, state, country, global) of the industry with 5 qualifying companies.

    The company itself counts towards the five when it qualifies: its answers are as real as
    anyone's, and excluding it would push small markets to a wider region for no gain in accuracy. A
    company that does not qualify still gets a group (to see the benchmark) but is never in
    `members`.
    """
    industry = _norm(company.industry)
    pool: dict[str, Company] = {}
    for c in (*companies, company):
        if _norm(c.industry) == industry and qualifies(c, question_id):
            pool[c.tenant_id] = c
    ordered = sorted(pool.values(), key=lambda c: c.tenant_id)
    for level in LEVELS:
        key = _region_key(company, level)
        if key is None:
            continue
        members = tuple(c for c in ordered if _region_key(c, level) == key)
        if len(members) >= MIN_PEER_COMPANIES:
            return PeerGroup(question_id, level, region_label(company, level), members)
    return PeerGroup(question_id, None, None, (), NOT_ENOUGH_DATA)


def custom_question_users(companies: Iterable[Company], question_id: str) -> int:
    return sum(1 for c in companies if qualifies(c, question_id))


def is_benchmarkable(
    question_id: str,
    companies: Iterable[Company],
    library_ids: Collection[str] = BENCHMARKED_QUESTION_IDS,
) -> bool:
    """Library questions always are; a custom one only once enough qualifying companies use it."""
    if question_id in library_ids:
        return True
    return custom_question_users(companies, question_id) >= MIN_CUSTOM_QUESTION_USERS


# ------------------------------------------------------------------------------- raw benchmarks


def top_performers(members: Sequence[Company], question_id: str) -> float | None:
    """Mean of the raw averages of the top 5% of companies by raw average (ceil, at least one)."""
    means = sorted(
        (m for c in members if (s := c.stats(question_id)) and (m := s.raw_mean) is not None),
        reverse=True,
    )
    if not means:
        return None
    n = max(1, math.ceil(TOP_PERFORMER_SHARE * len(means)))
    return sum(means[:n]) / n


def pooled_mean(members: Iterable[Company], question_id: str) -> float | None:
    """Sum of submitted values over number of submitted values: exactly what people answered."""
    total = 0.0
    count = 0
    for c in members:
        s = c.stats(question_id)
        if s is not None:
            total += s.value_sum
            count += s.responses
    return total / count if count else None


@dataclass(frozen=True)
class Benchmark:
    question_id: str
    level: Level | None
    region: str | None
    average: float | None
    top_performers: float | None
    reason: str | None = None
    companies: int = 0  # qualifying companies in the peer group (always >= 5 when shown)


def benchmark(
    company: Company,
    companies: Sequence[Company],
    question_id: str,
    library_ids: Collection[str] = BENCHMARKED_QUESTION_IDS,
) -> Benchmark:
    """Dashboard values: raw, unweighted (seed 003: "we believe it is better to see this raw")."""
    if not is_benchmarkable(question_id, [*companies, company], library_ids):
        return Benchmark(question_id, None, None, None, None, CUSTOM_NOT_ADOPTED)
    group = peer_group(company, companies, question_id)
    if not group.ok:
        return Benchmark(question_id, None, None, None, None, group.reason)
    return Benchmark(
        question_id,
        group.level,
        group.region,
        pooled_mean(group.members, question_id),
        top_performers(group.members, question_id),
        companies=len(group.members),
    )


# ----------------------------------------------------------------------------- weighted score


@dataclass(frozen=True)
class WeightingParams:
    # Empirical-Bayes prior strength, in responses. On a 0-10 scale answers within a company spread
    # with variance ~4 while true company means spread with variance ~0.4; their ratio (~10) is how
    # many answers it takes before a company's own mean deserves as much trust as its peers' mean.
    prior_strength: float = 10.0
    # Response rate at or above which participation costs nothing; typical B2B surveys get 20-40%.
    target_participation: float = 0.4
    # Square root: halving participation below target removes ~29% of the lead, not half of it,
    # since low participation is a hint of unhappy silent clients, not proof.
    participation_alpha: float = 0.5
    # Free-mail share tolerated before any discount (small clients do use free mail). The peer
    # group's own share is used when higher, capped so a whole group cannot normalise it.
    free_email_allowance: float = 0.10
    free_email_allowance_cap: float = 0.50
    # Lead removed per unit of excess free-mail share (1.0: 100% free mail keeps ~10% of the lead).
    free_email_penalty: float = 1.0
    # Answers from clients in their first 90 days count half: new clients are reliably happier.
    honeymoon_weight: float = 0.5


DEFAULT_WEIGHTING = WeightingParams()


class Adjustment(NamedTuple):
    name: str
    effect: float  # points added to (negative: removed from) the score by this step


@dataclass(frozen=True)
class WeightedScore:
    score: float
    raw_mean: float
    adjustments: tuple[Adjustment, ...]
    factors: Mapping[str, float] = field(default_factory=dict)


def weighted_score(
    stats: QuestionStats,
    peer_mean: float,
    *,
    peer_free_email_share: float = 0.0,
    params: WeightingParams = DEFAULT_WEIGHTING,
) -> WeightedScore:
    """Score used for ranking and awards; each step's effect is reported so it can explain itself.

    1. honeymoon: re-average with first-90-day answers at half weight (this also lowers the
       effective sample size used in step 2);
    2. shrinkage: (n_eff * mean + k * peer_mean) / (n_eff + k);
    3. participation: multiply the lead over the peer mean by min(1, p / target) ** alpha;
    4. free email: multiply the lead by 1 - penalty * max(0, share - allowance).
    Steps 3 and 4 only ever shrink a lead above the peer mean: they exist to stop inflated scores,
    and pulling a below-peer score *up* for low participation would itself reward not surveying.
    """
    if stats.responses <= 0:
        raise ValueError("no responses to score")
    raw = stats.value_sum / stats.responses
    w = params.honeymoon_weight
    mature_n = stats.responses - stats.honeymoon_responses
    mature_sum = stats.value_sum - stats.honeymoon_sum
    n_eff = mature_n + w * stats.honeymoon_responses
    m1 = (mature_sum + w * stats.honeymoon_sum) / n_eff if n_eff > 0 else raw

    k = params.prior_strength
    m2 = (n_eff * m1 + k * peer_mean) / (n_eff + k)

    p = stats.participation
    if p is None or params.target_participation <= 0:
        p_factor = 1.0
    else:
        p_factor = min(1.0, p / params.target_participation) ** params.participation_alpha
    lead = m2 - peer_mean
    m3 = peer_mean + lead * p_factor if lead > 0 else m2

    allowance = min(
        max(params.free_email_allowance, peer_free_email_share), params.free_email_allowance_cap
    )
    excess = max(0.0, stats.free_email_share - allowance)
    f_factor = max(0.0, 1.0 - params.free_email_penalty * excess)
    m4 = peer_mean + (m3 - peer_mean) * f_factor if m3 > peer_mean else m3

    return WeightedScore(
        score=m4,
        raw_mean=raw,
        adjustments=(
            Adjustment("honeymoon", m1 - raw),
            Adjustment("shrinkage", m2 - m1),
            Adjustment("participation", m3 - m2),
            Adjustment("free_email", m4 - m3),
        ),
        factors={
            "peer_mean": peer_mean,
            "effective_responses": n_eff,
            "prior_strength": k,
            "participation": -1.0 if p is None else p,
            "participation_factor": p_factor,
            "free_email_share": stats.free_email_share,
            "free_email_allowance": allowance,
            "free_email_factor": f_factor,
            "honeymoon_share": stats.honeymoon_share,
        },
    )


@dataclass(frozen=True)
class PeerStats:
    mean: float
    free_email_share: float


def peer_stats(members: Iterable[Company], question_id: str) -> PeerStats | None:
    members = list(members)
    mean = pooled_mean(members, question_id)
    if mean is None:
        return None
    free = sum(s.free_email_responses for c in members if (s := c.stats(question_id)))
    total = sum(s.responses for c in members if (s := c.stats(question_id)))
    return PeerStats(mean, free / total if total else 0.0)


@dataclass(frozen=True)
class RankedCompany:
    tenant_id: str
    question_id: str
    level: Level
    region: str
    rank: int
    out_of: int
    weighted: WeightedScore


def rank(
    companies: Sequence[Company],
    question_id: str,
    params: WeightingParams = DEFAULT_WEIGHTING,
) -> list[RankedCompany]:
    """Each qualifying company's rank inside its own peer group (competition ranking: 1, 2, 2, 4).

    Peer groups differ per company (one may have a city group, another only a country one), so each
    company is ranked among the members of its own group, all scored against that group's mean.
    Companies without a peer group are not ranked.
    """
    out: list[RankedCompany] = []
    for company in sorted(companies, key=lambda c: c.tenant_id):
        if not qualifies(company, question_id):
            continue
        group = peer_group(company, companies, question_id)
        peers = peer_stats(group.members, question_id) if group.ok else None
        if peers is None or group.level is None or group.region is None:
            continue
        scores = {
            m.tenant_id: weighted_score(
                s, peers.mean, peer_free_email_share=peers.free_email_share, params=params
            )
            for m in group.members
            if (s := m.stats(question_id)) is not None
        }
        mine = scores[company.tenant_id]
        position = 1 + sum(1 for ws in scores.values() if ws.score > mine.score + 1e-12)
        out.append(
            RankedCompany(
                company.tenant_id,
                question_id,
                group.level,
                group.region,
                position,
                len(scores),
                mine,
            )
        )
    out.sort(key=lambda r: (r.level, r.region, r.rank, r.tenant_id))
    return out


@dataclass(frozen=True)
class Award:
    tenant_id: str
    question_id: str
    level: Level
    region: str
    rank: int
    out_of: int
    score: float


def awards(
    ranked: Iterable[RankedCompany],
    *,
    top_n: int | None = None,
    top_share: float | None = None,
) -> list[Award]:
    """Awards for the top of each peer group: the top `top_n` ranks, or the top share (ceil, >= 1).

    Defaults to the top 10%. A winner must also beat its peer mean on the weighted score, so a
    group where everyone is middling gives no award rather than crowning whoever is least bad.
    """
    if top_n is not None and top_share is not None:
        raise ValueError("give top_n or top_share, not both")
    if top_n is not None and top_n < 1:
        raise ValueError("top_n must be at least 1")
    share = AWARD_TOP_SHARE if top_share is None else top_share
    if not 0 < share <= 1:
        raise ValueError("top_share must be in (0, 1]")
    result: list[Award] = []
    for r in ranked:
        cutoff = top_n if top_n is not None else max(1, math.ceil(share * r.out_of))
        if r.rank <= cutoff and r.weighted.score > r.weighted.factors.get("peer_mean", math.inf):
            result.append(
                Award(
                    r.tenant_id,
                    r.question_id,
                    r.level,
                    r.region,
                    r.rank,
                    r.out_of,
                    r.weighted.score,
                )
            )
    return result
