"""Bounds on the mail one tenant can cause: a daily send quota and a bulk-send rate.

* **Daily send quota**: every mail Pulse sends for a tenant (survey invitations and reminders of
  every kind, and staff notifications) takes one unit of the tenant's counter for the UTC day, a
  conditional ``ADD`` that never passes the quota (``chalicelib/store/rate_limits.py``). The
  quota is ``PULSE_TENANT_DAILY_SEND_QUOTA`` unless an operator set the tenant its own
  (``pulse tenants set-quota``). A unit taken for a mail the provider surely refused is given
  back. What happens to a refused mail is decided by the sender: an invitation is held for the
  next day, a reminder is dropped, a notification stays in-app only.
* **Bulk sends**: the routes that mail many recipients at once (review send and resend,
  heartbeat approve and send-to-contact) are counted per tenant and minute; over the limit they
  answer 429 with ``Retry-After``, and so they do when the tenant's quota for the day is used up.
  One tenant's clicks no longer spend a throttle every tenant shares.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from chalicelib.errors import RateLimited
from chalicelib.observability import logger
from chalicelib.settings import get_settings
from chalicelib.store import rate_limits

# How the bulk-send routes describe their 429 in the OpenAPI document.
BULK_SEND_429 = "Too many bulk sends this minute, or today's send quota is used up (Retry-After)"

QUOTA_SCOPE = "send-quota"
BULK_SCOPE = "bulk-send"
DAY_SECONDS = 86400
BULK_WINDOW_SECONDS = 60


class QuotaExceeded(RateLimited):
    """The tenant's mail for this UTC day is used up."""

    def __init__(self, quota: int, at: datetime) -> None:
        start, left = _window(at, DAY_SECONDS)
        resets = datetime.fromtimestamp(start + DAY_SECONDS, UTC)
        hours = max(1, round(left / 3600))
        super().__init__(
            f"the daily send quota of {quota} mails is used up; it resets at "
            f"{resets.isoformat(timespec='minutes').replace('+00:00', 'Z')} "
            f"(in about {hours} h)"
        )
        self.retry_after = left
        self.resets_at = resets


class BulkSendLimited(RateLimited):
    def __init__(self, limit: int, retry_after: int) -> None:
        super().__init__(f"at most {limit} bulk sends a minute; try again in {retry_after} s")
        self.retry_after = retry_after


@dataclass(frozen=True)
class Unit:
    """One unit of a tenant's quota, taken for one mail (kept to give it back)."""

    tenant_id: str
    day_start: int
    counted: bool = True  # False: the counter could not be written and the mail went uncounted


def _window(at: datetime, seconds: int) -> tuple[int, int]:
    """(start of the window holding ``at``, seconds until it ends)."""
    epoch = int(at.timestamp())
    start = epoch - epoch % seconds
    return start, max(1, start + seconds - epoch)


def quota_of(tenant_id: str) -> int:
    override = rate_limits.get_override(QUOTA_SCOPE, tenant_id)
    return get_settings().tenant_daily_send_quota if override is None else override


def _quota_or_default(tenant_id: str) -> int:
    try:
        return quota_of(tenant_id)
    except Exception:
        logger.exception("send quota override not read; the default applies")
        return get_settings().tenant_daily_send_quota


def set_quota(tenant_id: str, quota: int | None) -> None:
    """An operator's per-tenant quota (None: back to the deployment's default)."""
    if quota is not None and quota < 0:
        raise ValueError("a quota is 0 or more")
    rate_limits.set_override(QUOTA_SCOPE, tenant_id, quota)


def take(tenant_id: str, at: datetime) -> Unit:
    """Take one unit of today's quota for one mail; QuotaExceeded when none is left.

    Fails open, like the other abuse limits: when the counter cannot be read or written the
    mail goes uncounted rather than failing a send whose claim is already held (a give-back
    that failed too would leave the mail "unknown", never sent)."""
    quota = _quota_or_default(tenant_id)
    start, _ = _window(at, DAY_SECONDS)
    try:
        taken = rate_limits.take(QUOTA_SCOPE, tenant_id, start, DAY_SECONDS, quota)
    except Exception:
        logger.exception("send quota counter not updated; this mail goes uncounted")
        return Unit(tenant_id, start, counted=False)
    if not taken:
        raise QuotaExceeded(quota, at)
    return Unit(tenant_id, start)


def give_back(unit: Unit) -> None:
    """Best effort: a unit not given back only makes the day's quota one mail smaller."""
    if not unit.counted:
        return
    try:
        rate_limits.give_back(QUOTA_SCOPE, unit.tenant_id, unit.day_start)
    except Exception:
        logger.exception("send quota unit not given back")


def sent_today(tenant_id: str, at: datetime) -> int:
    start, _ = _window(at, DAY_SECONDS)
    return rate_limits.count(QUOTA_SCOPE, tenant_id, start, at)


def check_bulk_send(tenant_id: str, at: datetime) -> None:
    """Count one bulk send of the tenant: BulkSendLimited over the per-minute limit,
    QuotaExceeded when nothing is left of today's quota."""
    limit = get_settings().tenant_bulk_sends_per_minute
    start, left = _window(at, BULK_WINDOW_SECONDS)
    try:
        hits = rate_limits.hit(BULK_SCOPE, tenant_id, start, BULK_WINDOW_SECONDS)
        quota, used = quota_of(tenant_id), sent_today(tenant_id, at)
    except Exception:
        logger.exception("bulk-send counters not read; the send is let through")
        return
    if hits > limit:
        raise BulkSendLimited(limit, left)
    if used >= quota:
        raise QuotaExceeded(quota, at)
