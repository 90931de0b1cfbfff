"""The nightly SuccessScore job against its floor: ``python -m pulse_local.bench_pulse``.

Seeds several tenants with accounts shaped like real ones (name, owner, factors, a SuccessScore
state), then runs the job's own per-tenant work (tenant settings, then slices: Query pages and
batch writes) under the DynamoDB meter. The floor is what the data needs at the least:
``ceil(N/25)`` batch writes per tenant plus ``ceil(bytes/1 MB)`` Query pages per tenant. Through
moto only counts and sizes mean anything, so no timings are reported.

``make bench`` collects it through the ``success_score_nightly`` case in ``pulse_local/bench.py``.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import sys
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

ON = date(2026, 3, 1)
TENANTS = (2000, 1500, 1000, 500)  # 5,000 accounts across four tenants
PAGE_BYTES = 1024 * 1024


@dataclass
class Measured:
    meter: Any
    accounts: int
    tenants: int
    slices: int
    floor_writes: int
    floor_pages: int
    account_bytes: int  # average account item, as DynamoDB sizes it (approximately)
    record_bytes: int  # average score record written

    @property
    def floor(self) -> int:
        return self.floor_writes + self.floor_pages

    @property
    def ceiling(self) -> int:
        """What the job may spend: the floor plus the one read of each tenant's settings."""
        return self.floor + self.tenants

    def per_thousand(self, value: float) -> float:
        return value * 1000 / self.accounts

    @property
    def estimated_write_units(self) -> int:
        return self.accounts * max(1, math.ceil(self.record_bytes / 1024))


def _item_bytes(item: Any) -> int:
    """DynamoDB's item size: attribute names plus values (close enough for S, N, L, M)."""
    import json

    data = item.serialize()
    return sum(
        len(name) + len(json.dumps(value, separators=(",", ":"))) for name, value in data.items()
    )


def seed(sizes: tuple[int, ...] = TENANTS) -> list[tuple[str, int]]:
    from chalicelib.domain import success_score as score
    from chalicelib.domain.reason_codes import default_codes
    from chalicelib.store import directory
    from chalicelib.store.accounts import AccountModel, owner_key
    from chalicelib.store.base import new_id
    from chalicelib.store.tenants import TenantModel

    rng = random.Random(7)
    codes = [f"rc_{i:04d}{'0' * 24}" for i in range(len(default_codes("pulse")))]
    made: list[tuple[str, int]] = []
    for size in sizes:
        tenant_id = new_id("t")
        TenantModel(
            tenant_id,
            name="Bench Tenant",
            industry="IT Services",
            country="US",
            region="WA",
            city="Seattle",
            staff_size=50,
            created_at="2025-01-01T00:00:00Z",
            settings={},
        ).save()
        directory.add(tenant_id)
        with AccountModel.batch_write() as batch:
            for _ in range(size):
                owner = f"owner-{rng.randint(1, 20):02d}-0000-0000-0000-000000000000"
                state = None
                day = ON - timedelta(days=rng.randint(60, 400))
                pulses = rng.randint(0, 4)
                for _ in range(pulses):
                    state = score.apply_pulse(state, rng.randint(1, 6), day)
                    day += timedelta(days=rng.randint(1, 30))
                batch.save(
                    AccountModel(
                        tenant_id,
                        new_id("acc"),
                        name=f"Client Company {rng.randint(1, 99999)} Holdings",
                        owner_id=owner,
                        owner_key=owner_key(tenant_id, owner),
                        arr=rng.randint(1000_00, 900000_00),
                        currency="USD",
                        renewal_date="2026-09-30",
                        stage="adoption",
                        created_at="2025-01-01T00:00:00Z",
                        pulse_level=None if state is None else state.level,
                        pulse_set_at=None
                        if state is None
                        else f"{state.anchor_date}T10:00:00.000Z",
                        pulse_id=None if state is None else new_id("pul"),
                        pulse_seq=pulses or None,
                        risk_factors=rng.sample(codes, rng.randint(0, 3)) if state else None,
                        success_factors=rng.sample(codes, rng.randint(0, 2)) if state else None,
                        score_state=None if state is None else state.to_dict(),
                        success_score=None if state is None else state.anchor_score,
                    )
                )
        made.append((tenant_id, size))
    return made


def measure(sizes: tuple[int, ...] = TENANTS) -> Measured:
    from chalicelib.jobs import pulse_jobs
    from chalicelib.services import pulses as service
    from chalicelib.store.accounts import AccountModel
    from chalicelib.store.accounts import account_key as key_of
    from chalicelib.store.metering import count_dynamodb
    from chalicelib.store.pulses import ScoreHistoryModel

    tenants = seed(sizes)
    slices = 0
    with count_dynamodb() as meter:
        # Exactly what the queue handler does per tenant, slice after slice.
        for tenant_id, _ in tenants:
            params = service.tenant_params(tenant_id)
            start = None
            while True:
                result = pulse_jobs.score_tenant_slice(tenant_id, ON, start, params)
                slices += 1
                if not result.next_key:
                    break
                start = result.next_key
    accounts = sum(size for _, size in tenants)
    sizes_seen: list[int] = []
    pages = 0
    for tenant_id, _ in tenants:
        tenant_bytes = 0
        for item in AccountModel.query(tenant_id):
            size = _item_bytes(item)
            sizes_seen.append(size)
            tenant_bytes += size
        pages += max(1, math.ceil(tenant_bytes / PAGE_BYTES))
    first_tenant, _ = tenants[0]
    sample = next(iter(AccountModel.query(first_tenant, limit=1)))
    record = ScoreHistoryModel.get(key_of(first_tenant, sample.account_id), ON.isoformat())
    return Measured(
        meter=meter,
        accounts=accounts,
        tenants=len(tenants),
        slices=slices,
        floor_writes=sum(math.ceil(size / 25) for _, size in tenants),
        floor_pages=pages,
        account_bytes=sum(sizes_seen) // max(1, len(sizes_seen)),
        record_bytes=_item_bytes(record),
    )


def report(measured: Measured) -> str:
    meter = measured.meter
    ops = ", ".join(f"{op} {n}" for op, n in sorted(meter.by_operation.items()))
    k = measured.per_thousand
    return "\n".join(
        [
            f"accounts {measured.accounts} in {measured.tenants} tenants, {measured.slices} slices",
            f"requests {meter.calls} ({ops}); floor {measured.floor} "
            f"({measured.floor_writes} batch writes + {measured.floor_pages} Query pages); "
            f"ratio {meter.calls / measured.floor:.3f}",
            f"per 1,000 accounts: {k(meter.calls):.1f} requests (floor {k(measured.floor):.1f}), "
            f"{k(measured.estimated_write_units):.0f} WCU written "
            f"({measured.record_bytes} B per record), "
            f"{k(meter.estimated_read_units):.1f} RCU read (estimated from items returned; "
            f"full items ~{measured.account_bytes} B: "
            f"{k(measured.accounts * measured.account_bytes / 4096 / 2):.1f} RCU)",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args(argv)
    from pulse_local.stack import base_environment, free_port, provision, start_moto

    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    os.environ.update(base_environment(endpoint, prefix="pulse-bench-score", stage="bench"))
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    server = start_moto(port)
    try:
        provision(endpoint, prefix="pulse-bench-score", stage="bench")
        print(report(measure()))
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
