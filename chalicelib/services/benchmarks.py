"""The nightly benchmark job and what ``GET /benchmarks`` shows.

The job reads each period's aggregates (one partition, a few Query pages), the tenants'
profiles (BatchGetItem) and the question counters (one Query), runs the rules in
``chalicelib/domain/benchmarks.py`` and writes one result item per tenant and period
(BatchWriteItem). Its DynamoDB cost grows with companies × questions, never with responses.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from typing import Any

from chalicelib.domain import benchmarks as bm
from chalicelib.domain import heartbeat as hb
from chalicelib.domain.entities import Tenant
from chalicelib.store import heartbeat as store
from chalicelib.store import tenants as tenant_store

CUSTOMER_SENTIMENT_ID = hb.CUSTOMER_SENTIMENT.id

LEVEL_TEXT = {
    "city": "your city",
    "state": "your state or region",
    "country": "your country",
    "global": "your industry worldwide",
}


def periods_for(on_date: date) -> list[str]:
    """The quarter holding the date, and the previous one while answers to its last rounds can
    still arrive (a 28-day window that opened at the end of the quarter)."""
    current = hb.period_of(on_date)
    quarter_start = date(on_date.year, 3 * ((on_date.month - 1) // 3) + 1, 1)
    if (on_date - quarter_start).days <= 28 + 1:
        return [current, hb.previous_period(current)]
    return [current]


def _stats(agg: store.Aggregate) -> bm.QuestionStats:
    responses = max(0, agg.responses)
    return bm.QuestionStats(
        customers=min(max(0, agg.customers), responses),
        responses=responses,
        value_sum=agg.value_sum,
        invited=max(0, agg.invited),
        free_email_responses=min(max(0, agg.free_email_responses), responses),
        honeymoon_responses=min(max(0, agg.honeymoon_responses), responses),
        honeymoon_sum=agg.honeymoon_sum,
    )


def companies_for(period: str) -> list[bm.Company]:
    by_tenant: dict[str, dict[str, bm.QuestionStats]] = defaultdict(dict)
    for agg in store.period_aggregates(period):
        if agg.question_id == CUSTOMER_SENTIMENT_ID:
            continue
        by_tenant[agg.tenant_id][agg.question_id] = _stats(agg)
    tenants = tenant_store.get_tenants(by_tenant)
    return [_company(t, by_tenant[t.tenant_id]) for t in tenants]


def _company(tenant: Tenant, questions: dict[str, bm.QuestionStats]) -> bm.Company:
    return bm.Company(
        tenant_id=tenant.tenant_id,
        industry=tenant.industry,
        country=tenant.country,
        region=tenant.region,
        city=tenant.city,
        questions=questions,
    )


def _norm(text: str) -> str:
    return " ".join((text or "").split()).casefold()


def _location(c: bm.Company) -> tuple[str, ...]:
    return (_norm(c.industry), _norm(c.country), _norm(c.region), _norm(c.city))


def compute_period(period: str, on_date: date) -> dict[str, Any]:
    companies = companies_for(period)
    question_ids = sorted({qid for c in companies for qid in c.questions})
    adopted = {
        qid
        for qid in question_ids
        if qid not in bm.BENCHMARKED_QUESTION_IDS
        and bm.custom_question_users(companies, qid) >= bm.MIN_CUSTOM_QUESTION_USERS
    }
    if adopted:
        store.mark_adopted(adopted)
    library_ids = bm.BENCHMARKED_QUESTION_IDS | adopted
    texts = _question_texts()

    by_industry: dict[str, list[bm.Company]] = defaultdict(list)
    for c in companies:
        by_industry[_norm(c.industry)].append(c)

    results: dict[str, list[dict[str, Any]]] = defaultdict(list)
    awards_of: dict[str, list[dict[str, Any]]] = defaultdict(list)
    ranked_count = 0
    for group in by_industry.values():
        for qid in question_ids:
            users = [c for c in group if c.stats(qid) is not None]
            if not users:
                continue
            # The raw benchmark depends only on where a company is, not on which it is: compute
            # it once per distinct location.
            cache: dict[tuple[str, ...], bm.Benchmark] = {}
            ranked = {r.tenant_id: r for r in bm.rank(group, qid)} if qid in library_ids else {}
            ranked_count += len(ranked)
            won = {a.tenant_id: a for a in bm.awards(ranked.values())}
            for c in users:
                key = _location(c)
                if key not in cache:
                    cache[key] = bm.benchmark(c, group, qid, library_ids)
                results[c.tenant_id].append(
                    question_result(c, qid, cache[key], ranked.get(c.tenant_id), texts, period)
                )
                if c.tenant_id in won:
                    awards_of[c.tenant_id].append(award_view(won[c.tenant_id], texts, period))

    saved = store.save_results(
        store.BenchmarkResult(
            tenant_id=c.tenant_id,
            period=period,
            computed_on=on_date.isoformat(),
            questions=results[c.tenant_id],
            awards=awards_of[c.tenant_id],
        )
        for c in companies
    )
    return {
        "period": period,
        "companies": len(companies),
        "questions": len(question_ids),
        "ranked": ranked_count,
        "awards": sum(len(a) for a in awards_of.values()),
        "results": saved,
        "adopted_custom_questions": len(adopted),
    }


def run(on_date: date) -> dict[str, Any]:
    return {"periods": [compute_period(p, on_date) for p in periods_for(on_date)]}


def _question_texts() -> dict[str, str]:
    texts = {q.id: q.text for q in (*hb.FIXED_QUESTIONS, *hb.LIBRARY)}
    texts.update({u.question_id: u.text for u in store.question_usage() if u.text})
    return texts


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def question_result(
    company: bm.Company,
    qid: str,
    bench: bm.Benchmark,
    ranked: bm.RankedCompany | None,
    texts: dict[str, str],
    period: str,
) -> dict[str, Any]:
    stats = company.stats(qid)
    assert stats is not None
    qualifies = bm.qualifies(company, qid)
    group = (
        {
            "level": bench.level,
            "region": bench.region,
            "companies": bench.companies,
            "description": f"{company.industry} companies in {LEVEL_TEXT[bench.level]}"
            f" ({bench.region})",
        }
        if bench.level
        else None
    )
    return {
        "question_id": qid,
        "text": texts.get(qid, qid),
        "period": period,
        "yours": {
            "average": _r(stats.raw_mean),
            "customers": stats.customers,
            "responses": stats.responses,
            "invited": stats.invited,
            "participation": _r(stats.participation),
            "qualifies": qualifies,
        },
        "peer_average": _r(bench.average),
        "top_performers": _r(bench.top_performers),
        "peer_group": group,
        "companies": bench.companies if bench.level else None,
        "status": "ok" if bench.level else "not_enough_data",
        "message": message_for(bench, qualifies, period),
        "rank": rank_view(ranked) if ranked else None,
    }


def message_for(bench: bm.Benchmark, qualifies: bool, period: str) -> str | None:
    if bench.reason == bm.CUSTOM_NOT_ADOPTED:
        return (
            "Not benchmarked yet: this is a custom question, and it is compared once at least "
            f"{bm.MIN_CUSTOM_QUESTION_USERS} companies with {bm.MIN_CUSTOMERS} or more answering "
            "customers use it."
        )
    if bench.reason:
        return (
            f"Not enough data: fewer than {bm.MIN_PEER_COMPANIES} companies in your industry had "
            f"at least {bm.MIN_CUSTOMERS} customers answer this question in {period}, even "
            "worldwide. Your own average is shown."
        )
    if not qualifies:
        return (
            f"Your own average is shown; you are compared and ranked once at least "
            f"{bm.MIN_CUSTOMERS} of your customers answer this question in a period."
        )
    return None


def rank_view(r: bm.RankedCompany) -> dict[str, Any]:
    return {
        "rank": r.rank,
        "out_of": r.out_of,
        "level": r.level,
        "region": r.region,
        "score": _r(r.weighted.score),
        "raw_mean": _r(r.weighted.raw_mean),
        "adjustments": {a.name: round(a.effect, 3) for a in r.weighted.adjustments},
        "factors": {k: round(v, 4) for k, v in r.weighted.factors.items()},
    }


def award_view(a: bm.Award, texts: dict[str, str], period: str) -> dict[str, Any]:
    return {
        "question_id": a.question_id,
        "text": texts.get(a.question_id, a.question_id),
        "period": period,
        "level": a.level,
        "region": a.region,
        "rank": a.rank,
        "out_of": a.out_of,
        "score": _r(a.score),
        "title": f"Top performer {period}: {texts.get(a.question_id, a.question_id)}"
        f" — rank {a.rank} of {a.out_of} in {a.region}",
    }


def view(tenant_id: str, period: str | None, chosen: Iterable[str]) -> dict[str, Any]:
    """GET /benchmarks: the stored result (one read), with chosen questions that have no data."""
    result = store.latest_result(tenant_id, period)
    questions = list(result.questions) if result else []
    seen = {q["question_id"] for q in questions}
    texts = {q.id: q.text for q in (*hb.FIXED_QUESTIONS, *hb.LIBRARY)}
    shown_period = result.period if result else period
    for qid in chosen:
        if qid in seen or qid == CUSTOMER_SENTIMENT_ID:
            continue
        questions.append(
            {
                "question_id": qid,
                "text": texts.get(qid, qid),
                "period": shown_period,
                "yours": None,
                "peer_average": None,
                "top_performers": None,
                "peer_group": None,
                "companies": None,
                "status": "not_enough_data",
                "message": "Not enough data: none of your customers answered this question "
                "in this period yet.",
                "rank": None,
            }
        )
    return {
        "period": shown_period,
        "computed_on": result.computed_on if result else None,
        "questions": questions,
        "awards": result.awards if result else [],
        "message": None
        if result
        else "Not enough data yet: benchmarks appear the night after your clients first answer "
        "a heartbeat.",
    }
