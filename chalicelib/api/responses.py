"""The one place that turns domain outcomes and exceptions into HTTP answers."""

from __future__ import annotations

import json
from typing import Any

from chalice.app import Response

from chalicelib.errors import PulseError
from chalicelib.observability import logger

JSON = "application/json"


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        body=json.dumps(body, default=str, ensure_ascii=False),
        status_code=status,
        headers={"Content-Type": JSON, **(headers or {})},
    )


def error_body(code: str, message: str, fields: dict[str, str] | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if fields:
        error["fields"] = fields
    return {"error": error}


def error_response(exc: PulseError) -> Response:
    # A limit that knows when it ends says so; others ask for half a minute.
    headers = {"Retry-After": str(getattr(exc, "retry_after", 30))} if exc.status == 429 else None
    return json_response(error_body(exc.code, exc.message, exc.fields), exc.status, headers)


def internal_error() -> Response:
    # The stack trace goes to the log with the request id; the caller gets neither.
    logger.exception("unhandled error")
    return json_response(
        error_body("internal_error", "something went wrong on our side; it has been logged"), 500
    )
