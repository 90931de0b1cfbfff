"""Helpers that put report data in place: pulses set on given days, level changes by date.

Reports read what the pulse area keeps on the account item (level, set-at, score, current
factors) and the per-tenant level-change log. Tests that need a pulse "set 40 days ago" write
those facts directly, since no route can set a pulse in the past.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any


def iso_days_ago(days: float) -> str:
    moment = datetime.now(UTC) - timedelta(days=days)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def set_pulse(
    tenant_id: str,
    account_id: str,
    level: int,
    *,
    days_ago: float = 0,
    score: float | None = None,
    previous: int | None = None,
    risk: list[str] | None = None,
    success: list[str] | None = None,
    log_change: bool = True,
) -> None:
    from chalicelib.store import accounts, level_changes
    from chalicelib.store.base import new_id

    set_at = iso_days_ago(days_ago)
    changes: dict[str, Any] = {"pulse_level": level, "pulse_set_at": set_at}
    if score is not None:
        changes["success_score"] = score
    if hasattr(accounts.AccountModel, "risk_factors"):
        changes["risk_factors"] = list(risk or [])
        changes["success_factors"] = list(success or [])
    accounts.update_account(tenant_id, account_id, changes)
    if log_change:
        level_changes.record(
            tenant_id,
            account_id,
            pulse_id=new_id("pul"),
            set_at=set_at,
            from_level=previous,
            to_level=level,
        )
