"""Pulse level changes by date, one partition per tenant: what the recent-changes report reads.

Pulse history is kept per account; "which accounts moved in the last 7 days" over a whole tenant
would otherwise read every account's history. Each new pulse therefore also appends one small item
here (``record``), sorted by time, so the report is one Query over the window. Items carry a TTL
(`expires_at`, 400 days: the report looks back at most 365) so the partition stays small.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.models import Model

from chalicelib.domain.reports import LevelChange
from chalicelib.store.base import BaseMeta, table_name

KEEP_DAYS = 400


class LevelChangeModel(Model):
    class Meta(BaseMeta):
        table_name = table_name("level-changes")

    tenant_id = UnicodeAttribute(hash_key=True)
    change_key = UnicodeAttribute(range_key=True)  # "<set_at>#<account_id>#<pulse_id>"
    account_id = UnicodeAttribute()
    from_level = NumberAttribute(null=True)
    to_level = NumberAttribute()
    set_at = UnicodeAttribute()
    expires_at = NumberAttribute()


def record(
    tenant_id: str,
    account_id: str,
    *,
    pulse_id: str,
    set_at: str,
    from_level: int | None,
    to_level: int,
) -> None:
    """Idempotent per pulse: the key names the pulse, so a retried write replaces itself."""
    LevelChangeModel(
        tenant_id,
        f"{set_at}#{account_id}#{pulse_id}",
        account_id=account_id,
        from_level=from_level,
        to_level=to_level,
        set_at=set_at,
        expires_at=int(time.time()) + KEEP_DAYS * 86400,
    ).save()


def since(tenant_id: str, moment: datetime, days: int) -> list[LevelChange]:
    start = (moment - timedelta(days=days)).astimezone(UTC)
    start_iso = start.isoformat(timespec="seconds").replace("+00:00", "Z")
    now = int(time.time())
    return [
        LevelChange(
            account_id=item.account_id,
            at=item.set_at,
            from_level=None if item.from_level is None else int(item.from_level),
            to_level=int(item.to_level),
        )
        for item in LevelChangeModel.query(tenant_id, LevelChangeModel.change_key >= start_iso)
        # DynamoDB deletes expired items within days, not at once (and moto never does).
        if int(item.expires_at or 0) > now
    ]
