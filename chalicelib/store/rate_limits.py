"""Fixed-window counters for abuse limits: bad survey links per source IP, bulk sends per tenant
and minute, and each tenant's daily send quota.

One item per ``(scope, subject, window)``: ``ADD hits 1`` is atomic, so concurrent requests in
different Lambda containers count once each. The window start is part of the key, so a new window
starts at zero without a reset; DynamoDB TTL deletes old windows. moto never expires TTL items and
DynamoDB may keep them up to a couple of days past ``ttl``, so reads also check ``ttl`` in code.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.models import Model

from chalicelib.store.base import BaseMeta, is_condition_failure, table_name

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


def take(scope: str, subject: str, window_start: int, window_seconds: int, limit: int) -> bool:
    """Take one unit of the window's ``limit``: ``ADD hits 1`` on the condition that fewer than
    ``limit`` were taken, so concurrent takers never pass the limit together. False (and
    nothing counted) once the window is full."""
    if limit <= 0:
        return False  # an empty window has no "hits" yet, which the condition would let pass
    item = RateLimitModel(key(scope, subject, window_start))
    expires = datetime.fromtimestamp(window_start + window_seconds, UTC) + KEEP
    try:
        item.update(
            actions=[RateLimitModel.hits.add(1), RateLimitModel.ttl.set(expires)],
            condition=RateLimitModel.hits.does_not_exist() | (RateLimitModel.hits < limit),
        )
    except Exception as exc:
        if is_condition_failure(exc):
            return False
        raise
    return True


def give_back(scope: str, subject: str, window_start: int) -> None:
    """Return a unit taken for something that did not happen (never below zero)."""
    try:
        RateLimitModel(key(scope, subject, window_start)).update(
            actions=[RateLimitModel.hits.add(-1)], condition=RateLimitModel.hits > 0
        )
    except Exception as exc:
        if not is_condition_failure(exc):
            raise


# Operator-set limits per subject (e.g. one tenant's daily send quota), stored beside the counters
# under ``override#<scope>#<subject>`` with the limit in ``hits`` and no TTL.
def _override_key(scope: str, subject: str) -> str:
    return f"override#{scope}#{subject}"


def get_override(scope: str, subject: str) -> int | None:
    try:
        item = RateLimitModel.get(_override_key(scope, subject))
    except RateLimitModel.DoesNotExist:
        return None
    return None if item.hits is None else int(item.hits)


def set_override(scope: str, subject: str, limit: int | None) -> None:
    """Set (or, with None, remove) the subject's own limit for ``scope``."""
    item = RateLimitModel(_override_key(scope, subject))
    if limit is None:
        item.delete()
    else:
        item.hits = limit
        item.save()
