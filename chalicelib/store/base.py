"""What every table shares: naming from settings, pagination cursors, id generation.

Every table's partition key starts with the tenant id, so a request can only ever read its own
tenant's partition; lists are Queries, never Scans.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from pynamodb.connection import Connection
from pynamodb.models import Model

from chalicelib.errors import BadRequest
from chalicelib.settings import get_settings

MAX_PAGE = 200
DEFAULT_PAGE = 50

T = TypeVar("T")
M = TypeVar("M", bound=Model)


# Every DynamoDB call fails fast enough for a request to answer inside API Gateway's 29 s:
# botocore's standard retry mode with 3 attempts in all (PynamoDB's default builds it from
# max_retry_attempts as 1 + retries), 2 s to connect and the settings' read timeout, 5 s when
# deployed (PynamoDB's defaults are 15 s and 30 s). A batch write resends unprocessed items
# max_retry_attempts - 1 times.
CONNECT_TIMEOUT_SECONDS = 2
READ_TIMEOUT_SECONDS = get_settings().aws_read_timeout_seconds
TOTAL_ATTEMPTS = 3


class BaseMeta:
    """Model Meta for every table: name and region from settings, on-demand billing, the
    timeouts and retries above.

    ``host`` is left unset on purpose: botocore honours AWS_ENDPOINT_URL, which is how the local
    stack and tests reach moto while a deployed stage reaches DynamoDB.
    """

    region = get_settings().region
    billing_mode = "PAY_PER_REQUEST"
    connect_timeout_seconds = CONNECT_TIMEOUT_SECONDS
    read_timeout_seconds = READ_TIMEOUT_SECONDS
    max_retry_attempts = TOTAL_ATTEMPTS - 1


def connection() -> Connection:
    """A connection for transactions across tables, with the models' timeouts and retries."""
    return Connection(
        region=BaseMeta.region,
        connect_timeout_seconds=CONNECT_TIMEOUT_SECONDS,
        read_timeout_seconds=READ_TIMEOUT_SECONDS,
        retry_configuration={"mode": "standard", "total_max_attempts": TOTAL_ATTEMPTS},
    )


def table_name(short: str) -> str:
    return get_settings().table_name(short)


def new_id(prefix: str) -> str:
    """Sortable by creation time (ms, base36) with 80 random bits; opaque to clients."""
    millis = int(time.time() * 1000)
    stamp = _base36(millis).rjust(9, "0")
    return f"{prefix}_{stamp}{secrets.token_hex(10)}"


def _base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while n:
        n, r = divmod(n, 36)
        out = digits[r] + out
    return out or "0"


@dataclass
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


def _sign(payload: bytes, scope: str) -> str:
    key = get_settings().signing_secret.encode()
    mac = hmac.new(key, scope.encode() + b"|" + payload, hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def encode_cursor(last_key: dict[str, Any] | None, scope: str) -> str | None:
    """Opaque, tamper-proof cursor: the last evaluated key, signed for one tenant and list."""
    if not last_key:
        return None
    raw = json.dumps(last_key, separators=(",", ":"), sort_keys=True).encode()
    body = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    return f"{body}.{_sign(raw, scope)}"


def decode_cursor(cursor: str | None, scope: str) -> dict[str, Any] | None:
    if not cursor:
        return None
    try:
        body, mac = cursor.split(".", 1)
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        if not hmac.compare_digest(mac, _sign(raw, scope)):
            raise ValueError("signature")
        value = json.loads(raw)
        if not isinstance(value, dict):
            raise ValueError("shape")
        return value
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(
            "the cursor is not valid", {"cursor": "not a cursor from this list"}
        ) from exc


def query_page(
    model: type[M],
    hash_key: str,
    *,
    scope: str,
    limit: int,
    cursor: str | None,
    index: Any = None,
    convert: Callable[[M], T],
    **kwargs: Any,
) -> Page[T]:
    """One page of a Query on ``hash_key``; ``scope`` binds the cursor to this list and tenant."""
    source = index if index is not None else model
    result = source.query(
        hash_key,
        limit=limit,
        last_evaluated_key=decode_cursor(cursor, scope),
        page_size=limit,
        **kwargs,
    )
    items = [convert(item) for item in _take(result, limit)]
    return Page(items, encode_cursor(result.last_evaluated_key, scope))


def _take(result: Iterator[M], limit: int) -> Iterator[M]:
    for count, item in enumerate(result):
        if count >= limit:
            break
        yield item


def is_condition_failure(exc: Exception) -> bool:
    """True when a PynamoDB write failed its condition (not any other storage error)."""
    return getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
