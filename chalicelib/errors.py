"""Domain exceptions. The API layer maps each to one HTTP answer (chalicelib/api/responses.py)."""

from __future__ import annotations

from collections.abc import Mapping


class PulseError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, fields: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = dict(fields or {})


class BadRequest(PulseError):
    status, code = 400, "bad_request"


class Unauthorized(PulseError):
    status, code = 401, "unauthorized"


class Forbidden(PulseError):
    status, code = 403, "forbidden"


class NotFound(PulseError):
    status, code = 404, "not_found"


class Conflict(PulseError):
    status, code = 409, "conflict"


class Gone(PulseError):
    status, code = 410, "gone"


class PayloadTooLarge(PulseError):
    status, code = 413, "payload_too_large"


class ValidationFailed(PulseError):
    status, code = 422, "validation_error"

    def __init__(
        self, fields: Mapping[str, str], message: str = "the request is not valid"
    ) -> None:
        super().__init__(message, fields)


class RateLimited(PulseError):
    status, code = 429, "rate_limited"
