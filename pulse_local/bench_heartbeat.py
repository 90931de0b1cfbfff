"""The nightly benchmark job at 500 companies, in DynamoDB requests.

``seed`` stores 500 companies (three industries, four cities) with five questions of aggregates
in one quarter, as the heartbeat answers would have left them; ``measure`` runs the
``benchmarks`` job for a day of that quarter under the DynamoDB meter. ``make bench`` reports it
(``pulse_local/bench.py``) and ``tests/functional/test_benchmarks_job.py`` holds it to budget.

The job's cost is companies × questions, never responses: one partition of aggregates per
period (Query pages of up to 1 MB), the tenants' profiles by BatchGetItem (100 keys a request),
the question counters (one Query) and one result item per company (BatchWriteItem, 25 a
request).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date
from typing import Any

COMPANIES = 500
QUESTIONS = (
    "overall_satisfaction",
    "responsiveness",
    "quality_of_work",
    "value_for_money",
    "communication",
)
# A quarter no other code writes to, and a day far enough into it that only it is computed.
PERIOD = "2018-Q2"
DAY = date(2018, 5, 20)
# What the job may spend for 500 companies: 1-2 aggregate pages + 5 BatchGets + 1 library Query
# + 20 BatchWrites, with room for a third aggregate page.
BUDGET = 30


def seed(companies: int = COMPANIES, period: str = PERIOD) -> list[str]:
    from chalicelib.domain.entities import Tenant
    from chalicelib.store.base import new_id, now_iso
    from chalicelib.store.heartbeat import AggregateModel, period_key
    from chalicelib.store.tenants import TenantModel

    industries = [f"Bench {secrets.token_hex(4)}" for _ in range(3)]
    cities = [("Austin", "TX"), ("Dallas", "TX"), ("Seattle", "WA"), ("Denver", "CO")]
    tenants: list[Tenant] = []
    for i in range(companies):
        city, region = cities[i % len(cities)]
        tenants.append(
            Tenant(
                tenant_id=new_id("t"),
                name=f"Bench Co {i}",
                industry=industries[i % len(industries)],
                country="US",
                region=region,
                city=city,
                staff_size=10 + i % 90,
                created_at=now_iso(),
            )
        )
    with TenantModel.batch_write() as batch:
        for t in tenants:
            batch.save(
                TenantModel(
                    t.tenant_id,
                    name=t.name,
                    industry=t.industry,
                    country=t.country,
                    region=t.region,
                    city=t.city,
                    staff_size=t.staff_size,
                    created_at=t.created_at,
                    settings={},
                )
            )
    with AggregateModel.batch_write() as batch:
        for i, t in enumerate(tenants):
            for qid in QUESTIONS:
                responses = 10 + i % 13
                batch.save(
                    AggregateModel(
                        period_key(period),
                        f"{t.tenant_id}#{qid}",
                        tenant_id=t.tenant_id,
                        question_id=qid,
                        customers=5 + i % 7,
                        responses=responses,
                        value_sum=(6.0 + (i % 40) / 10) * responses,
                        invited=responses * 2,
                        free_email_responses=i % 3,
                        honeymoon_responses=i % 4,
                        honeymoon_sum=9.0 * (i % 4),
                    )
                )
    return [t.tenant_id for t in tenants]


@dataclass
class Measured:
    meter: Any  # chalicelib.store.metering.Meter
    summary: dict[str, Any]
    tenant_ids: list[str]


def measure(companies: int = COMPANIES) -> Measured:
    from chalicelib.jobs.registry import run
    from chalicelib.store.metering import count_dynamodb

    ids = seed(companies)
    with count_dynamodb() as meter:
        summary = run("benchmarks", DAY)
    return Measured(meter, summary, ids)
