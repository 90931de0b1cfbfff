"""The nightly benchmark job over stored aggregates, and what GET /benchmarks shows.

Each test uses its own industry and its own (past) quarter, so tests sharing the local AWS never
see each other's companies: a period's partition holds only what the test wrote.
"""

from __future__ import annotations

import secrets
from datetime import date
from typing import Any

import pytest
from support.api import TenantHandle, new_tenant

pytestmark = pytest.mark.usefixtures("chalice_app")
Q = "responsiveness"
OVERALL = "overall_satisfaction"


def _industry() -> str:
    return f"Bench {secrets.token_hex(4)}"


def _tenant(industry: str, city: str, region: str, country: str = "US") -> str:
    from chalicelib.domain.entities import Tenant
    from chalicelib.store import tenants
    from chalicelib.store.base import new_id, now_iso

    tenant = Tenant(
        tenant_id=new_id("t"),
        name=f"Co {secrets.token_hex(3)}",
        industry=industry,
        country=country,
        region=region,
        city=city,
        staff_size=10,
        created_at=now_iso(),
    )
    tenants.create_tenant(tenant)
    return tenant.tenant_id


def _aggregates(period: str, rows: list[tuple[str, str, int, int, float]]) -> None:
    """rows: (tenant_id, question_id, customers, responses, mean)."""
    from chalicelib.store.heartbeat import AggregateModel, period_key

    with AggregateModel.batch_write() as batch:
        for tenant_id, qid, customers, responses, mean in rows:
            batch.save(
                AggregateModel(
                    period_key(period),
                    f"{tenant_id}#{qid}",
                    tenant_id=tenant_id,
                    question_id=qid,
                    customers=customers,
                    responses=responses,
                    value_sum=mean * responses,
                    invited=responses * 2,
                )
            )


def _run(on: date) -> dict[str, Any]:
    from chalicelib.jobs.registry import run

    return run("benchmarks", on)


def _result(tenant_id: str, period: str, qid: str = Q) -> dict[str, Any]:
    from chalicelib.store import heartbeat

    result = heartbeat.latest_result(tenant_id, period)
    assert result is not None
    return next(q for q in result.questions if q["question_id"] == qid)


def test_region_fallback_city_state_country_global() -> None:
    industry, period, on = _industry(), "2019-Q1", date(2019, 2, 20)
    austin = [_tenant(industry, "Austin", "TX") for _ in range(5)]
    dallas = [_tenant(industry, "Dallas", "TX") for _ in range(2)]
    portland = _tenant(industry, "Portland", "OR")
    berlin = _tenant(industry, "Berlin", "BE", "DE")
    everyone = [*austin, *dallas, portland, berlin]
    _aggregates(period, [(t, Q, 6, 8, 7.0) for t in everyone])
    _run(on)
    assert _result(austin[0], period)["peer_group"]["level"] == "city"
    assert _result(austin[0], period)["peer_group"]["region"] == "Austin, TX, US"
    assert _result(austin[0], period)["companies"] == 5
    assert _result(dallas[0], period)["peer_group"]["level"] == "state"
    assert _result(dallas[0], period)["companies"] == 7
    assert _result(portland, period)["peer_group"]["level"] == "country"
    berlin_result = _result(berlin, period)
    assert berlin_result["peer_group"]["level"] == "global"
    assert berlin_result["companies"] == 9
    assert berlin_result["peer_average"] == 7.0


def test_five_customer_rule_and_not_enough_data() -> None:
    industry, period, on = _industry(), "2019-Q2", date(2019, 5, 20)
    ok = [_tenant(industry, "Austin", "TX") for _ in range(4)]
    small = _tenant(industry, "Austin", "TX")
    _aggregates(period, [*((t, Q, 5, 5, 8.0) for t in ok), (small, Q, 4, 20, 10.0)])
    _run(on)
    # Four qualifying companies are not a peer group, even worldwide: say so plainly.
    result = _result(ok[0], period)
    assert result["status"] == "not_enough_data"
    assert result["peer_average"] is None and result["peer_group"] is None
    assert result["message"].startswith("Not enough data")
    assert result["yours"]["average"] == 8.0 and result["rank"] is None
    # The company with four customers does not qualify and is not ranked.
    assert _result(small, period)["yours"]["qualifies"] is False

    # One more qualifying company: now there is a group, and the small one is not in it.
    fifth = _tenant(industry, "Austin", "TX")
    _aggregates(period, [(fifth, Q, 5, 5, 6.0)])
    _run(on)
    result = _result(ok[0], period)
    assert result["status"] == "ok" and result["companies"] == 5
    assert result["peer_average"] == round((8.0 * 20 + 6.0 * 5) / 25, 2)  # 10s excluded
    small_result = _result(small, period)
    assert small_result["peer_average"] == result["peer_average"]
    assert small_result["rank"] is None and small_result["message"]


def test_top_performers_are_the_top_five_percent() -> None:
    industry, period, on = _industry(), "2019-Q3", date(2019, 8, 20)
    means = [5.0 + 0.2 * i for i in range(21)]  # 21 companies → ceil(5% of 21) = 2
    ids = [_tenant(industry, "Austin", "TX") for _ in means]
    _aggregates(period, [(t, Q, 5, 10, m) for t, m in zip(ids, means, strict=True)])
    _run(on)
    result = _result(ids[0], period)
    assert result["companies"] == 21
    assert result["top_performers"] == round((means[-1] + means[-2]) / 2, 2)
    # Rankings use the weighted score and explain it; the best company gets an award.
    best = _result(ids[-1], period)
    assert best["rank"]["rank"] == 1 and best["rank"]["out_of"] == 21
    assert set(best["rank"]["adjustments"]) == {
        "honeymoon",
        "shrinkage",
        "participation",
        "free_email",
    }
    from chalicelib.store import heartbeat

    stored = heartbeat.latest_result(ids[-1], period)
    assert stored is not None and stored.awards and stored.awards[0]["rank"] == 1


def test_get_benchmarks_for_a_tenant(client: Any) -> None:
    industry, period, on = _industry(), "2019-Q4", date(2019, 11, 20)
    handle: TenantHandle = new_tenant(client, industry=industry, city="Austin", region="TX")
    peers = [_tenant(industry, "Austin", "TX") for _ in range(5)]
    _aggregates(
        period,
        [
            (handle.tenant_id, Q, 6, 12, 9.0),
            (handle.tenant_id, OVERALL, 6, 12, 8.0),
            *((t, Q, 5, 10, 7.0) for t in peers),
        ],
    )
    # Nothing computed yet: a plain message, no error.
    empty = handle.api.get(f"/benchmarks?period={period}")
    assert empty.status == 200 and empty.json["message"]
    _run(on)
    reply = handle.api.get(f"/benchmarks?period={period}")
    assert reply.status == 200, reply.body
    by_id = {q["question_id"]: q for q in reply.json["questions"]}
    mine = by_id[Q]
    assert mine["yours"]["average"] == 9.0
    assert mine["peer_group"]["level"] == "city" and mine["companies"] == 6
    assert mine["rank"]["rank"] == 1
    assert by_id[OVERALL]["status"] == "not_enough_data"
    assert handle.api.get("/benchmarks?period=2019-13").status == 422
    manager = handle.add_staff("account_manager")
    assert handle.as_(manager).get(f"/benchmarks?period={period}").status == 200


def test_bench_500_companies_request_count() -> None:
    """Bench case: the nightly job for 500 companies × 5 questions, in DynamoDB requests."""
    from pulse_local import bench_heartbeat

    measured = bench_heartbeat.measure(500)
    meter, summary = measured.meter, measured.summary
    print(f"\nbenchmarks job, 500 companies x 5 questions: {meter.summary()}")
    assert summary["periods"][0]["companies"] == 500
    # Aggregates: Query pages of one partition; tenants: BatchGet of 100; results: BatchWrite of
    # 25; never a Scan, never a read per response.
    assert meter.count("Scan") == 0
    assert meter.count("BatchGetItem") == 5
    assert meter.count("BatchWriteItem") == 20
    assert meter.calls <= bench_heartbeat.BUDGET, meter.summary()
    assert _result(measured.tenant_ids[0], bench_heartbeat.PERIOD)["status"] == "ok"
