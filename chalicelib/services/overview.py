"""The workspace at a glance (the staff web app's ``/app``): accounts per pulse level, revenue at
risk, open tasks and recent level changes, over the accounts the caller may see.

One read of the caller's accounts (``reports.scoped_accounts``: a Query, the by-owner index for
account managers) feeds every figure; tasks come from the per-account counters (BatchGets).
"""

from __future__ import annotations

from typing import Any

from chalicelib.auth.tokens import Principal
from chalicelib.domain import reports as domain
from chalicelib.domain.pulse_scale import RISK_THRESHOLD
from chalicelib.services import reports
from chalicelib.store import insights as insight_store
from chalicelib.store import level_changes

RECENT_DAYS = 30
RECENT_ROWS = 10


def workspace(principal: Principal) -> dict[str, Any]:
    accounts = reports.scoped_accounts(principal)
    day = reports.today()
    summary = domain.pulse_summary(accounts, day)
    at_risk: dict[str, int] = {}
    at_risk_count = 0
    for account in accounts:
        if account.pulse_level is not None and account.pulse_level <= RISK_THRESHOLD:
            domain.add_money(at_risk, account)
            at_risk_count += 1
    tasks = insight_store.tasks_for(principal.tenant_id, [a.account_id for a in accounts])
    moment = reports.now()
    changes = level_changes.since(principal.tenant_id, moment, RECENT_DAYS)
    recent = domain.recent_changes(accounts, changes, RECENT_DAYS, moment)
    moved = sorted(
        (row for bucket in recent["levels"] for row in bucket["moved_in"]),
        key=lambda row: row["changed_at"],
        reverse=True,
    )
    return {
        "total_accounts": summary["total_accounts"],
        "levels": [
            {k: bucket[k] for k in ("level", "slug", "label", "count", "revenue")}
            for bucket in summary["levels"]
        ],
        "at_risk_accounts": at_risk_count,
        "at_risk_revenue": at_risk,
        "open_actions": sum(t[0] for t in tasks.values()),
        "pending_follow_ups": sum(t[1] for t in tasks.values()),
        "recent_days": RECENT_DAYS,
        "recent_changes": moved[:RECENT_ROWS],
        "recent_total": len(moved),
    }
