"""Count DynamoDB requests and capacity: ``with count_dynamodb() as meter: ...``.

For tests and ``make bench``; request paths never import it. While a meter is open, every
DynamoDB call made by any botocore client in the process (PynamoDB's connections, and boto3
clients such as Powertools' idempotency layer) is recorded with its operation, table and the
capacity DynamoDB reports. Data-plane calls are asked for ``ReturnConsumedCapacity=TOTAL`` when
the caller did not ask (PynamoDB always does).

Two kinds of capacity are kept, because a local endpoint reports what it likes (moto answers a
flat 0.5 or 1 unit per call whatever the item size):

- ``read_units`` / ``write_units``: what the endpoint reported (on AWS: what you pay for);
- ``estimated_read_units``: DynamoDB's read pricing applied to the items that came back — 4 KB
  units, half for eventually consistent reads, minimum one unit per request (or per key for
  BatchGetItem). It assumes no filter expression dropped items after they were read.

A failed conditional write is recorded with its error code; DynamoDB charges for it but does not
report the units in the error.
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

READ_OPERATIONS = frozenset(
    {"GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems", "ExecuteStatement"}
)
WRITE_OPERATIONS = frozenset(
    {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}
)
DATA_PLANE = READ_OPERATIONS | WRITE_OPERATIONS


@dataclass(frozen=True)
class Call:
    operation: str
    table: str | None
    read_units: float
    write_units: float
    estimated_read_units: float
    items_read: int
    bytes_read: int
    error: str | None = None


@dataclass
class Meter:
    records: list[Call] = field(default_factory=list)

    @property
    def calls(self) -> int:
        return len(self.records)

    @property
    def by_operation(self) -> Counter[str]:
        return Counter(call.operation for call in self.records)

    @property
    def by_table(self) -> Counter[str]:
        return Counter(call.table or "-" for call in self.records)

    def count(self, operation: str, table_suffix: str = "") -> int:
        """Calls of one operation, optionally only on tables whose name ends with the suffix."""
        return sum(
            1
            for call in self.records
            if call.operation == operation and (call.table or "").endswith(table_suffix)
        )

    @property
    def read_units(self) -> float:
        return sum(call.read_units for call in self.records)

    @property
    def write_units(self) -> float:
        return sum(call.write_units for call in self.records)

    @property
    def estimated_read_units(self) -> float:
        return sum(call.estimated_read_units for call in self.records)

    @property
    def items_read(self) -> int:
        return sum(call.items_read for call in self.records)

    @property
    def errors(self) -> Counter[str]:
        return Counter(call.error for call in self.records if call.error)

    def summary(self) -> str:
        ops = ", ".join(f"{op} {n}" for op, n in sorted(self.by_operation.items()))
        return f"{self.calls} calls ({ops or 'none'})"


_lock = threading.Lock()
_active: list[Meter] = []
_original: Any = None


@contextmanager
def count_dynamodb() -> Iterator[Meter]:
    """Record every DynamoDB call made while the block runs (meters may nest)."""
    meter = Meter()
    _install()
    with _lock:
        _active.append(meter)
    try:
        yield meter
    finally:
        with _lock:
            _active.remove(meter)


def _install() -> None:
    """Wrap botocore's single entry point for API calls, once per process."""
    global _original
    from botocore.client import BaseClient

    with _lock:
        if _original is not None:
            return
        _original = BaseClient._make_api_call

        def _make_api_call(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
            if not _active or self.meta.service_model.service_name != "dynamodb":
                return _original(self, operation_name, api_params)
            if operation_name in DATA_PLANE and "ReturnConsumedCapacity" not in api_params:
                api_params = {**api_params, "ReturnConsumedCapacity": "TOTAL"}
            try:
                response = _original(self, operation_name, api_params)
            except Exception as exc:
                answer = getattr(exc, "response", None)
                code = answer.get("Error", {}).get("Code") if isinstance(answer, dict) else None
                _record(operation_name, api_params, {}, str(code or type(exc).__name__))
                raise
            _record(operation_name, api_params, response, None)
            return response

        BaseClient._make_api_call = _make_api_call


def _record(
    operation: str, params: dict[str, Any], response: dict[str, Any], error: str | None
) -> None:
    reported = response.get("ConsumedCapacity") or []
    if isinstance(reported, dict):
        reported = [reported]
    units = sum(float(c.get("CapacityUnits", 0) or 0) for c in reported)
    items, size = _items_read(operation, response)
    call = Call(
        operation=operation,
        table=_table(params),
        read_units=units if operation in READ_OPERATIONS else 0.0,
        write_units=units if operation in WRITE_OPERATIONS else 0.0,
        estimated_read_units=_estimate_read_units(operation, params, response)
        if operation in READ_OPERATIONS and error is None
        else 0.0,
        items_read=items,
        bytes_read=size,
        error=error,
    )
    with _lock:
        for meter in _active:
            meter.records.append(call)


def _table(params: dict[str, Any]) -> str | None:
    if "TableName" in params:
        return str(params["TableName"])
    if "RequestItems" in params:
        return ",".join(sorted(params["RequestItems"]))
    if "TransactItems" in params:
        names = {
            str(body.get("TableName"))
            for item in params["TransactItems"]
            for body in item.values()
            if isinstance(body, dict)
        }
        return ",".join(sorted(names))
    return None


def _returned_items(operation: str, response: dict[str, Any]) -> list[dict[str, Any]]:
    if operation == "GetItem":
        return [response["Item"]] if response.get("Item") else []
    if operation in ("Query", "Scan", "ExecuteStatement"):
        return list(response.get("Items") or [])
    if operation == "BatchGetItem":
        return [item for items in (response.get("Responses") or {}).values() for item in items]
    if operation == "TransactGetItems":
        return [r["Item"] for r in response.get("Responses") or [] if r.get("Item")]
    return []


def _items_read(operation: str, response: dict[str, Any]) -> tuple[int, int]:
    items = _returned_items(operation, response)
    return len(items), sum(item_size(item) for item in items)


def _estimate_read_units(operation: str, params: dict[str, Any], response: dict[str, Any]) -> float:
    items = _returned_items(operation, response)
    factor = 1.0 if params.get("ConsistentRead") else 0.5
    if operation == "TransactGetItems":
        factor = 2.0
    if operation in ("GetItem", "TransactGetItems"):
        per_item = [max(1, math.ceil(item_size(i) / 4096)) for i in items] or [1]
        return factor * sum(per_item)
    if operation == "BatchGetItem":
        keys = sum(len(v.get("Keys", [])) for v in (params.get("RequestItems") or {}).values())
        found = [max(1, math.ceil(item_size(i) / 4096)) for i in items]
        return factor * (sum(found) + max(0, keys - len(found)))
    total = sum(item_size(i) for i in items)
    return factor * max(1, math.ceil(total / 4096))


def item_size(item: dict[str, Any]) -> int:
    """An item's size as DynamoDB counts it: attribute names plus values (UTF-8 bytes)."""
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


def _value_size(value: dict[str, Any]) -> int:
    ((kind, data),) = value.items()
    if kind == "S":
        return len(str(data).encode())
    if kind == "N":
        digits = str(data).lstrip("-").replace(".", "").lstrip("0") or "0"
        return 1 + math.ceil(len(digits) / 2)
    if kind == "B":
        return len(data) if isinstance(data, bytes | bytearray) else len(str(data))
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "NS", "BS"):
        return sum(_value_size({kind[0]: element}) for element in data)
    if kind == "L":
        return 3 + sum(1 + _value_size(element) for element in data)
    if kind == "M":
        return 3 + sum(len(k.encode()) + 1 + _value_size(v) for k, v in data.items())
    return len(str(data).encode())
