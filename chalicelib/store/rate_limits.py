"""Fixed-window counters for abuse limits (bad survey links per source IP, for now).

One item per ``(scope, subject, window)``: ``ADD hits 1`` is atomic, so concurrent requests in
different Lambda containers count once each. The window start is part of the key, so a new window
starts at zero without a reset; DynamoDB TTL deletes old windows. moto never expires TTL items and
DynamoDB may keep them up to a couple of days past ``ttl``, so reads also check ``ttl`` in code.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.models import Model

from chalicelib.store.base import BaseMeta, table_name

# A window's item outlives the window by this much, then TTL removes it.
KEEP = timedelta(hours=1)


class RateLimitModel(Model):
    class Meta(BaseMeta):
        table_name = table_name("rate-limits")

    limit_key = UnicodeAttribute(hash_key=True)  # <scope>#<subject>#<window start, epoch s>
    hits = NumberAttribute(default=0)
    ttl = TTLAttribute(null=True)


def key(scope: str, subject: str, window_start: int) -> str:
    return f"{scope}#{subject}#{window_start}"


def hit(scope: str, subject: str, window_start: int, window_seconds: int) -> int:
    """Count one event in the window; returns the window's count including it."""
    item = RateLimitModel(key(scope, subject, window_start))
    expires = datetime.fromtimestamp(window_start + window_seconds, UTC) + KEEP
    item.update(actions=[RateLimitModel.hits.add(1), RateLimitModel.ttl.set(expires)])
    return int(item.hits or 0)


def count(scope: str, subject: str, window_start: int, at: datetime) -> int:
    """The window's count so far (0 for an unknown or expired window)."""
    try:
        item = RateLimitModel.get(key(scope, subject, window_start), consistent_read=True)
    except RateLimitModel.DoesNotExist:
        return 0
    if item.ttl is not None and item.ttl <= at:
        return 0
    return int(item.hits or 0)
