"""The error shape: ``{"error": {"code", "message", "fields"?}}`` for every refusal, and no
stack trace or exception text ever reaching a caller."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from support.api import Api, TenantHandle, new_tenant

from chalicelib.settings import get_settings


@pytest.fixture(scope="module")
def tenant(client: Any) -> TenantHandle:
    return new_tenant(client, company="Errata Ltd")


def error_of(reply: Any) -> dict[str, Any]:
    assert reply.headers.get("Content-Type", "").startswith("application/json"), reply.headers
    body = reply.json
    assert set(body) == {"error"}, body
    assert {"code", "message"} <= set(body["error"]) <= {"code", "message", "fields"}, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return dict(body["error"])


@contextmanager
def throwaway_app() -> Iterator[tuple[Any, Any]]:
    """A fresh Chalice app and blueprint; routes declared on it leave ROUTES as it was."""
    from chalice import Chalice
    from chalice.app import Blueprint

    from chalicelib.api.routing import ROUTES

    saved = list(ROUTES)
    fresh = Chalice(app_name="errors-check", configure_logs=False)
    fresh.experimental_feature_flags.update(["BLUEPRINTS"])
    try:
        yield fresh, Blueprint("errors_check")
    finally:
        ROUTES[:] = saved


@contextmanager
def captured_log() -> Iterator[io.StringIO]:
    from chalicelib.observability import logger

    buffer = io.StringIO()
    previous = logger.registered_handler.setStream(buffer)
    try:
        yield buffer
    finally:
        logger.registered_handler.setStream(previous)


# ------------------------------------------------------------------------------ 400 / 413 / 422


def test_unknown_field_is_422_naming_it(tenant: TenantHandle) -> None:
    reply = tenant.api.post("/accounts", {"name": "Acme", "colour": "red"})
    assert reply.status == 422
    error = error_of(reply)
    assert error["code"] == "validation_error"
    assert error["fields"] == {"colour": "unknown field"}


def test_invalid_values_are_422_naming_each_field(tenant: TenantHandle) -> None:
    reply = tenant.api.post("/accounts", {"name": "", "arr": -1, "currency": "euro"})
    assert reply.status == 422
    assert {"name", "arr", "currency"} <= set(error_of(reply)["fields"])


def test_body_over_the_limit_is_413(tenant: TenantHandle) -> None:
    limit = get_settings().max_body_bytes
    assert limit == 256 * 1024
    prefix, suffix = b'{"name": "', b'"}'

    def body(size: int) -> bytes:
        return prefix + b"x" * (size - len(prefix) - len(suffix)) + suffix

    at_limit = tenant.api.post("/accounts", raw=body(limit))
    assert at_limit.status == 422  # read and validated (the name is too long), not refused
    over = tenant.api.post("/accounts", raw=body(limit + 1))
    assert over.status == 413
    assert error_of(over)["code"] == "payload_too_large"
    # Routes without a body model refuse it too.
    assert tenant.api.call("DELETE", "/accounts/acc_nope", raw=body(limit + 1)).status == 413


def test_token_is_checked_before_the_body_size(api_anonymous: Api) -> None:
    reply = api_anonymous.post("/accounts", raw=b"x" * (get_settings().max_body_bytes + 1))
    assert reply.status == 401


@pytest.fixture
def api_anonymous(client: Any) -> Api:
    return Api(client)


def test_deep_json_is_400(tenant: TenantHandle) -> None:
    deep = "[" * 100 + "]" * 100
    reply = tenant.api.post("/accounts", raw=deep)
    assert reply.status == 400
    error = error_of(reply)
    assert error["code"] == "bad_request" and error["fields"] == {"body": "nested too deeply"}
    nested: Any = "x"
    for _ in range(100):
        nested = {"a": nested}
    assert tenant.api.post("/accounts", {"name": nested}).status == 400


def test_json_deep_enough_to_exhaust_the_parser_is_400(tenant: TenantHandle) -> None:
    # 100 000 levels fit well under the size limit and blow Python's recursion limit.
    reply = tenant.api.post("/accounts", raw="[" * 100_000 + "]" * 100_000)
    assert reply.status == 400
    assert error_of(reply)["code"] == "bad_request"


@pytest.mark.parametrize("raw", [b"{not json", b'{"name": "A",}', b"\xff\xfe", b"[1, 2"])
def test_invalid_json_is_400(tenant: TenantHandle, raw: bytes) -> None:
    reply = tenant.api.post("/accounts", raw=raw)
    assert reply.status == 400
    error = error_of(reply)
    assert error["code"] == "bad_request" and error["fields"] == {"body": "not valid JSON"}


@pytest.mark.parametrize("raw", ["[]", '"a string"', "42", "null"])
def test_json_that_is_not_an_object_is_400(tenant: TenantHandle, raw: str) -> None:
    reply = tenant.api.post("/accounts", raw=raw)
    assert reply.status == 400
    assert error_of(reply)["code"] == "bad_request"


# ------------------------------------------------------------------------------------------ 500


def _assert_no_internals(reply: Any, *secrets: str) -> None:
    assert reply.status == 500
    assert reply.json == {
        "error": {
            "code": "internal_error",
            "message": "something went wrong on our side; it has been logged",
        }
    }
    text = reply.body.decode()
    for leak in ("Traceback", 'File "', "Error:", *secrets):
        assert leak not in text


def test_unexpected_exception_in_a_view_is_a_bare_500() -> None:
    from chalice.test import Client

    from chalicelib.api.routing import public_route

    with throwaway_app() as (fresh, bp):

        @public_route(bp, "/boom")
        def boom() -> None:
            """Fails as code does."""
            raise RuntimeError("db password is hunter2 at /srv/pulse/chalicelib/secret.py")

        fresh.register_blueprint(bp)

    with Client(fresh, stage_name="test") as test_client, captured_log() as log:
        reply = Api(test_client).get("/boom")
    _assert_no_internals(reply, "hunter2", "RuntimeError", "secret.py")
    # The trace is kept where operators look: the structured log.
    records = [json.loads(line) for line in log.getvalue().splitlines() if line.strip()]
    failures = [r for r in records if r.get("message") == "unhandled error"]
    assert failures and "hunter2" in failures[0].get("exception", "")


def test_store_failure_behind_a_staff_route_is_a_bare_500(
    tenant: TenantHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.store import tenants

    def broken(*_args: Any, **_kwargs: Any) -> None:
        raise KeyError("internal-table-pulse-test-users")

    monkeypatch.setattr(tenants, "get_user", broken)
    with captured_log():
        reply = tenant.api.get("/me")
    _assert_no_internals(reply, "internal-table", "KeyError")


# ------------------------------------------------------------------------- 429, 404, 405, codes


def test_rate_limited_login_is_429_with_retry_after(
    api_anonymous: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.exceptions import ClientError

    from chalicelib.auth import cognito

    class Throttled:
        def initiate_auth(self, **_kwargs: Any) -> None:
            raise ClientError(
                {"Error": {"Code": "TooManyRequestsException", "Message": "slow down"}},
                "InitiateAuth",
            )

    monkeypatch.setattr(cognito, "_idp", Throttled)
    reply = api_anonymous.post("/auth/login", {"email": "a@b.example", "password": "whatever1"})
    assert reply.status == 429
    assert error_of(reply)["code"] == "rate_limited"
    assert int(reply.headers["Retry-After"]) > 0


def test_every_domain_error_maps_to_its_status_and_code() -> None:
    from chalicelib import errors
    from chalicelib.api.responses import error_response

    expected = {
        errors.BadRequest: (400, "bad_request"),
        errors.Unauthorized: (401, "unauthorized"),
        errors.Forbidden: (403, "forbidden"),
        errors.NotFound: (404, "not_found"),
        errors.Conflict: (409, "conflict"),
        errors.Gone: (410, "gone"),
        errors.PayloadTooLarge: (413, "payload_too_large"),
        errors.RateLimited: (429, "rate_limited"),
    }
    for cls, (status, code) in expected.items():
        response = error_response(cls("why", {"field": "what"}))
        assert response.status_code == status
        assert json.loads(response.body) == {
            "error": {"code": code, "message": "why", "fields": {"field": "what"}}
        }
        assert ("Retry-After" in (response.headers or {})) == (status == 429)
    invalid = error_response(errors.ValidationFailed({"name": "required"}))
    assert invalid.status_code == 422
    assert json.loads(invalid.body)["error"]["fields"] == {"name": "required"}


def test_unknown_id_is_404_with_the_error_shape(tenant: TenantHandle) -> None:
    reply = tenant.api.get("/accounts/acc_does_not_exist")
    assert reply.status == 404
    assert error_of(reply)["code"] == "not_found"


def test_unknown_route_answers_404_in_the_error_shape(
    api_anonymous: Api, tenant: TenantHandle
) -> None:
    """Routing misses are answered by the gateway before the app runs; with the template's
    GatewayResponses (and locally, pulse_local/gateway.py) they carry Pulse's error shape:
    404 for an unknown path, with or without a token, never the token echoed back."""
    unknown = api_anonymous.get("/no-such-route")
    assert unknown.status == 404
    assert unknown.json == {"error": {"code": "not_found", "message": "no such route"}}
    assert unknown.headers["Access-Control-Allow-Origin"] == "*"
    with_token = tenant.api.get("/no-such-route/deeper?x=1")
    assert with_token.status == 404
    assert with_token.json["error"]["code"] == "not_found"
    assert tenant.api.token is not None and tenant.api.token not in with_token.text
    # A known path with a trailing slash is the same resource, as on API Gateway.
    assert api_anonymous.get("/health/").status == 200


def test_known_path_with_another_method_answers_405_in_the_error_shape(
    api_anonymous: Api, tenant: TenantHandle
) -> None:
    wrong_method = api_anonymous.call("PUT", "/health")
    assert wrong_method.status == 405
    assert wrong_method.json["error"]["code"] == "method_not_allowed"
    assert wrong_method.headers["Allow"] == "GET"
    # Refused before the app runs: a staff path answers 405 whoever asks.
    for api in (api_anonymous, tenant.api):
        reply = api.call("PUT", "/accounts")
        assert reply.status == 405
        assert set(reply.headers["Allow"].split(", ")) >= {"GET", "POST"}
