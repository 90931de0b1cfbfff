"""DynamoDB requests per report at 5,000 accounts: ``python -m pulse_local.bench_reports``.

Starts moto in-process, seeds one tenant with 5,000 accounts (pulses, factors, renewals, stages,
workspace summaries, a month of level changes, one account's full dashboard partition), then runs
each report, segment and dashboard call under the DynamoDB meter and checks it against its
budget. Through moto only request counts and sizes mean anything: timings
are not reported.

``benches()`` lists them (name, budget = the most DynamoDB requests the operation may make, and
a function run against the seeded context). Each is metered as its route runs it: the caller's
stored user is read first (``services.principals.current``, one GetItem on every staff request;
it is in every budget), then the report; ``make bench`` collects them through the ``reports``
case in ``pulse_local/bench.py`` (``measure()``).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

ACCOUNTS = 5000
OWNERS = 10


@dataclass
class Context:
    tenant_id: str
    admin: Any  # Principal
    manager: Any  # Principal (owns ACCOUNTS / OWNERS accounts)
    account_id: str  # the account with a full dashboard partition
    segment_id: str
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Bench:
    name: str
    budget: int
    run: Callable[[Context], Any]
    note: str = ""
    caller: str = "admin"  # "admin" or "manager": whose stored user the request reads


def _dashboard(ctx: Context) -> Any:
    from chalicelib.api.access import account_for
    from chalicelib.services import reports

    return reports.dashboard(account_for(ctx.admin, ctx.account_id), reports.parse_period("12m"))


def _account_page(ctx: Context) -> Any:
    """The staff web app's account page (/app/accounts/{id}): the dashboard's reads."""
    from chalicelib.api.access import account_for
    from chalicelib.services import reports

    return reports.account_view(account_for(ctx.admin, ctx.account_id), reports.parse_period("12m"))


def _export(ctx: Context) -> Any:
    from chalicelib.api.reports import csv_response
    from chalicelib.domain.reports import SEGMENT_COLUMNS
    from chalicelib.services import reports

    name, rows = reports.segment_export(ctx.admin, ctx.segment_id)
    response = csv_response(name, SEGMENT_COLUMNS, rows)
    ctx.extra["export_bytes"] = len(response.body.encode())
    ctx.extra["export_rows"] = response.body.count("\r\n") - 1
    return response


def benches() -> list[Bench]:
    """The report benches (built on call: importing chalicelib needs the environment set)."""
    from chalicelib.services import reports as s

    return [
        Bench("GET /reports/pulse-summary", 7, lambda c: s.pulse_summary(c.admin)),
        Bench(
            "GET /reports/pulse-summary (account manager)",
            3,
            lambda c: s.pulse_summary(c.manager),
            caller="manager",
        ),
        Bench("GET /reports/recent-changes?days=7", 8, lambda c: s.recent_changes(c.admin, 7)),
        Bench(
            "GET /reports/risk-factors",
            8,
            lambda c: s.factor_report(c.admin, "risk", [], []),
        ),
        Bench(
            "GET /reports/success-factors?levels=5,6",
            8,
            lambda c: s.factor_report(c.admin, "success", [5, 6], []),
        ),
        Bench("GET /reports/success-cycle", 8, lambda c: s.success_cycle(c.admin)),
        Bench("GET /reports/renewal-health", 7, lambda c: s.renewal_health(c.admin, None)),
        Bench("GET /reports/workspace", 9, lambda c: s.workspace(c.admin)),
        Bench(
            "GET /reports/workspace (account manager)",
            8,
            lambda c: s.workspace(c.manager),
            caller="manager",
        ),
        Bench(
            "GET /segments/{id}/accounts",
            8,
            lambda c: s.segment_page(c.admin, c.segment_id, 50, None),
        ),
        Bench("GET /segments/{id}/export.csv", 10, _export),
        Bench("GET /reports/pulse-summary.svg", 7, lambda c: s.pulse_summary_svg(c.admin)),
        Bench("GET /accounts/{id}/dashboard", 4, _dashboard),
        Bench("GET /app/accounts/{id} (account page)", 4, _account_page),
    ]


def seed(accounts: int = ACCOUNTS) -> Context:
    from chalicelib.auth.tokens import Principal
    from chalicelib.domain.entities import Tenant, User
    from chalicelib.store import insights, reason_codes, tenants
    from chalicelib.store.accounts import AccountModel, owner_key
    from chalicelib.store.base import new_id, now_iso
    from chalicelib.store.insights import InsightModel, Scores
    from chalicelib.store.level_changes import LevelChangeModel
    from chalicelib.store.segments import Segment, create

    rng = random.Random(6)
    tenant_id = new_id("t")
    tenants.create_tenant(
        Tenant(tenant_id, "Bench Co", "IT Services", "US", "WA", "Seattle", 50, now_iso(), {})
    )
    reason_codes.seed_defaults(tenant_id)
    codes = [c for c in reason_codes.all_codes(tenant_id) if c.tab == "pulse"]
    risk = [c.code_id for c in codes if c.type in ("risk", "both")]
    success = [c.code_id for c in codes if c.type in ("success", "both")]
    owners = [f"owner-{i}" for i in range(OWNERS)]
    today = datetime.now(UTC)
    stages = ["onboarding", "adoption", "value", "renewal", "expansion"]
    ids = []
    with (
        AccountModel.batch_write() as batch,
        InsightModel.batch_write() as ws,
        LevelChangeModel.batch_write() as changes,
    ):
        for index in range(accounts):
            account_id = new_id("acc")
            ids.append(account_id)
            owner = owners[index % OWNERS]
            level = rng.choice([6, 5, 5, 4, 4, 4, 3, 3, 2, 1, None])
            set_at = (today - timedelta(days=rng.randint(0, 120))).isoformat(timespec="seconds")
            batch.save(
                AccountModel(
                    tenant_id,
                    account_id,
                    name=f"Client {index:05d} {rng.choice(['Ltd', 'GmbH', 'Inc', 'LLC'])}",
                    owner_id=owner,
                    owner_key=owner_key(tenant_id, owner),
                    arr=rng.randint(10_000, 2_000_000) * 100,
                    currency=rng.choice(["USD", "USD", "EUR", "GBP"]),
                    renewal_date=(today.date() + timedelta(days=rng.randint(-60, 540))).isoformat(),
                    stage=rng.choice(stages),
                    created_at=now_iso(),
                    pulse_level=level,
                    pulse_set_at=None if level is None else set_at.replace("+00:00", "Z"),
                    success_score=None if level is None else rng.uniform(5, 95),
                    pulse_seq=None if level is None else rng.randint(1, 20),
                    risk_factors=rng.sample(risk, rng.randint(0, 3)) if level else None,
                    success_factors=rng.sample(success, rng.randint(0, 3)) if level else None,
                    score_state=None
                    if level is None
                    else {
                        "level": level,
                        "anchor_score": 52.123456789,
                        "anchor_date": set_at[:10],
                        "previous_level": 4,
                        "score_before": 48.98765432,
                        "scored_on": set_at[:10],
                        "score": 52.123456789,
                    },
                )
            )
            hist = insights.Histograms()
            for _ in range(rng.randint(0, 12)):
                hist.apply(
                    None,
                    Scores(
                        {
                            q: rng.randint(1, 5)
                            for q in ("service", "relationship", "value", "quality")
                        },
                        rng.randint(0, 10),
                    ),
                )
            ws.save(
                InsightModel(
                    insights.workspace_pk(tenant_id),
                    account_id,
                    kind=insights.WORKSPACE,
                    data={
                        **hist.to_dict(),
                        "reviews_sent": rng.randint(0, 8),
                        "last_review_at": (today - timedelta(days=rng.randint(1, 400)))
                        .isoformat(timespec="seconds")
                        .replace("+00:00", "Z"),
                    },
                    rev=1,
                )
            )
            if level is not None and rng.random() < 0.08:
                at = (today - timedelta(days=rng.uniform(0, 30))).isoformat(timespec="seconds")
                at = at.replace("+00:00", "Z")
                changes.save(
                    LevelChangeModel(
                        tenant_id,
                        f"{at}#{account_id}#{new_id('pul')}",
                        account_id=account_id,
                        from_level=rng.choice([None, 1, 2, 3, 4, 5, 6]),
                        to_level=level,
                        set_at=at,
                        expires_at=int(today.timestamp()) + 86400 * 400,
                    )
                )
    # One account with a busy dashboard: 24 months of responses, 40 reviews, 300 comments.
    target = ids[0]
    for month_back in range(24):
        year, month = divmod(today.year * 12 + today.month - 1 - month_back, 12)
        for _ in range(6):
            insights.apply_response(
                tenant_id,
                target,
                month=f"{year:04d}-{month + 1:02d}",
                old=None,
                new=Scores(
                    {"service": rng.randint(1, 5), "value": rng.randint(1, 5)}, rng.randint(0, 10)
                ),
            )
    with InsightModel.batch_write() as batch:
        for index in range(40):
            batch.save(
                InsightModel(
                    insights.account_pk(tenant_id, target),
                    f"review#rev_{index:03d}",
                    kind="review",
                    data={
                        "review_id": f"rev_{index:03d}",
                        "title": f"Review {index}",
                        "status": "sent",
                        "review_date": (date.today() - timedelta(days=30 * index)).isoformat(),
                    },
                )
            )
        for index in range(300):
            at = (
                (today - timedelta(days=index)).isoformat(timespec="seconds").replace("+00:00", "Z")
            )
            batch.save(
                InsightModel(
                    insights.account_pk(tenant_id, target),
                    f"comment#{at}#cmt_{index:04d}",
                    kind="comment",
                    data={
                        "comment_id": f"cmt_{index:04d}",
                        "created_at": at,
                        "text": "A considered comment from a client stakeholder. " * 8,
                    },
                )
            )
    insights.adjust_tasks(tenant_id, target, open_actions=3, pending_follow_ups=2)
    segment = create(
        Segment(
            tenant_id,
            new_id("seg"),
            "At risk, renewing within 90 days",
            {"levels": [1, 2, 3], "renewal_within_days": 90},
            "admin",
            now_iso(),
        )
    )
    everyone = create(Segment(tenant_id, new_id("seg"), "Everyone", {}, "admin", now_iso()))
    admin = Principal(tenant_id, "admin", "admin", "admin@bench.example")
    manager = Principal(tenant_id, owners[0], "account_manager", "am@bench.example")
    for who in (admin, manager):
        tenants.create_user(
            User(tenant_id, who.user_id, who.email, who.user_id, who.role, None, True, now_iso())
        )
    ctx = Context(tenant_id, admin, manager, target, segment.segment_id)
    ctx.extra["everyone_segment"] = everyone.segment_id
    return ctx


@dataclass
class Measured:
    name: str
    budget: int
    meter: Any
    detail: str = ""  # sizes that vary from run to run (the export's bytes), kept out of the name

    @property
    def ok(self) -> bool:
        return bool(self.meter.calls <= self.budget)


def measure(accounts: int = ACCOUNTS) -> list[Measured]:
    """Seed one tenant of ``accounts`` accounts and meter every report (moto must be running)."""
    from chalicelib.services import principals
    from chalicelib.store.metering import count_dynamodb

    ctx = seed(accounts)
    out = []
    for case in benches():
        with count_dynamodb() as meter:
            principals.current(ctx.manager if case.caller == "manager" else ctx.admin)
            case.run(ctx)
        out.append(Measured(case.name, case.budget, meter))
    # The full export (every account): what "at 5,000 accounts without timing out" means.
    ctx.segment_id = ctx.extra["everyone_segment"]
    with count_dynamodb() as meter:
        principals.current(ctx.admin)
        _export(ctx)
    name = f"GET /segments/{{id}}/export.csv (all {ctx.extra['export_rows']} accounts)"
    out.append(Measured(name, 10, meter, f"{ctx.extra['export_bytes'] // 1024} KiB of CSV"))
    return out


def run(ctx_accounts: int) -> list[dict[str, Any]]:
    return [
        {
            "name": m.name,
            "budget": m.budget,
            "calls": m.meter.calls,
            "ops": m.meter.summary(),
            "rcu": m.meter.estimated_read_units,
            "items": m.meter.items_read,
            "ok": m.ok,
        }
        for m in measure(ctx_accounts)
    ]


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| operation | budget | requests | est. RCU | items read | detail |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        flag = "" if row["ok"] else " **over budget**"
        lines.append(
            f"| {row['name']} | {row['budget']} | {row['calls']}{flag} | {row['rcu']:.1f} "
            f"| {row['items']} | {row['ops']} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=ACCOUNTS)
    args = parser.parse_args(argv)
    from pulse_local.stack import base_environment, free_port

    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    os.environ.update(base_environment(endpoint, prefix="pulse-bench", stage="bench"))
    from pulse_local.stack import provision, start_moto

    server = start_moto(port)
    try:
        provision(endpoint, prefix="pulse-bench", stage="bench")
        rows = run(args.accounts)
    finally:
        server.stop()
    print(f"Reports at {args.accounts} accounts\n")
    print(table(rows))
    return 0 if all(row["ok"] for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
