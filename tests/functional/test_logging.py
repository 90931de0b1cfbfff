"""Structured logs: one JSON access line per request with the tenant, never a secret.

What Powertools prints to stdout is what reaches CloudWatch, so the tests read exactly that: the
logger's own handler is pointed at a buffer for the duration of a request.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from support.api import PASSWORD, Api, TenantHandle, new_tenant


@pytest.fixture(scope="module")
def tenant(client: Any) -> TenantHandle:
    return new_tenant(client, company="Logbook Inc")


class Captured:
    def __init__(self) -> None:
        self.buffer = io.StringIO()

    @property
    def text(self) -> str:
        return self.buffer.getvalue()

    @property
    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.text.splitlines() if line.strip()]

    @property
    def access(self) -> list[dict[str, Any]]:
        return [r for r in self.records if r.get("message") == "request"]


@contextmanager
def captured_log() -> Iterator[Captured]:
    from chalicelib.observability import logger

    captured = Captured()
    previous = logger.registered_handler.setStream(captured.buffer)
    try:
        yield captured
    finally:
        logger.registered_handler.setStream(previous)


def assert_free_of(text: str, *secrets: str) -> None:
    for secret in secrets:
        assert secret and secret not in text, f"{secret[:12]}… found in the logs"


def token_parts(token: str) -> list[str]:
    # The whole token and its signature; the header segment is the same for every token.
    return [token, token.split(".")[2]]


def test_staff_request_logs_one_access_line_with_the_tenant(tenant: TenantHandle) -> None:
    with captured_log() as log:
        reply = tenant.api.get("/me")
    assert reply.status == 200
    (line,) = log.access
    assert line["level"] == "INFO" and line["service"] == "pulse"
    assert line["http_method"] == "GET" and line["route"] == "/me" and line["status"] == 200
    assert line["tenant_id"] == tenant.tenant_id
    assert line["user_id"] == tenant.admin.user_id
    assert isinstance(line["duration_ms"], int | float) and line["duration_ms"] >= 0
    assert line.get("function_request_id"), "the Lambda request id is missing"
    assert_free_of(log.text, *token_parts(tenant.admin.token), "Bearer", PASSWORD)


def test_keys_of_one_request_do_not_leak_into_the_next(tenant: TenantHandle, client: Any) -> None:
    with captured_log() as log:
        tenant.api.get("/me")
        Api(client).get("/health")
    first, second = log.access
    assert first["tenant_id"] == tenant.tenant_id
    assert "tenant_id" not in second and "user_id" not in second
    assert second["route"] == "/health" and second["status"] == 200


def test_access_line_names_the_route_template_not_the_path(tenant: TenantHandle) -> None:
    account = tenant.account()
    with captured_log() as log:
        assert tenant.api.get(f"/accounts/{account['id']}?limit=3").status == 200
    (line,) = log.access
    assert line["route"] == "/accounts/{account_id}"
    assert "?limit" not in log.text


def test_refused_token_is_logged_without_the_token(tenant: TenantHandle, client: Any) -> None:
    forged = tenant.admin.token[:-10] + "A" * 10
    with captured_log() as log:
        assert Api(client, forged).get("/accounts").status == 401
        assert (
            Api(client).get("/accounts", headers={"Authorization": "Basic c2VjcmV0"}).status == 401
        )
    assert [line["status"] for line in log.access] == [401, 401]
    assert all("tenant_id" not in line for line in log.access)
    assert_free_of(log.text, *token_parts(forged), "c2VjcmV0", "Bearer")


def test_login_logs_neither_the_password_nor_the_tokens(tenant: TenantHandle, client: Any) -> None:
    with captured_log() as log:
        reply = Api(client).post("/auth/login", {"email": tenant.admin.email, "password": PASSWORD})
        wrong = Api(client).post(
            "/auth/login", {"email": tenant.admin.email, "password": "wrong-horse-9"}
        )
    assert reply.status == 200 and wrong.status == 401
    tokens = reply.json
    assert [line["status"] for line in log.access] == [200, 401]
    assert_free_of(
        log.text,
        PASSWORD,
        "wrong-horse-9",
        *token_parts(tokens["id_token"]),
        *token_parts(tokens["access_token"]),
        tokens["refresh_token"],
    )


def test_unhandled_error_is_logged_with_the_tenant_but_not_the_token(
    tenant: TenantHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.store import tenants

    def broken(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("store is down")

    monkeypatch.setattr(tenants, "get_user", broken)
    with captured_log() as log:
        assert tenant.api.get("/me").status == 500
    failure = next(r for r in log.records if r["message"] == "unhandled error")
    assert failure["level"] == "ERROR" and "store is down" in failure["exception"]
    assert failure["tenant_id"] == tenant.tenant_id
    assert [line["status"] for line in log.access] == [500]
    assert_free_of(log.text, *token_parts(tenant.admin.token))


def _token_routes() -> list[tuple[str, str]]:
    import app  # noqa: F401  (registers every blueprint)
    from chalicelib.api.routing import ROUTES

    return [(s.method, s.path) for s in ROUTES if re.search(r"{\w*token\w*}", s.path)]


@pytest.mark.parametrize(("method", "path"), _token_routes(), ids=lambda v: str(v))
def test_survey_tokens_in_paths_are_never_logged(client: Any, method: str, path: str) -> None:
    secret = "SurveyTokenNeverLogged0123456789"
    concrete = re.sub(r"{\w+}", secret, path)
    with captured_log() as log:
        Api(client).call(method, concrete, {})
    assert [line["route"] for line in log.access] == [path]
    assert_free_of(log.text, secret)


def test_path_tokens_are_never_logged_on_a_throwaway_route() -> None:
    """The same rule, on a route declared here, so it holds before any survey route exists."""
    from chalice import Chalice
    from chalice.app import Blueprint
    from chalice.test import Client

    from chalicelib.api.routing import ROUTES, public_route

    saved = list(ROUTES)
    fresh = Chalice(app_name="logging-check", configure_logs=False)
    fresh.experimental_feature_flags.update(["BLUEPRINTS"])
    bp = Blueprint("logging_check")
    try:

        @public_route(bp, "/r/{token}", methods=["GET", "POST"])
        def survey(token: str) -> dict[str, Any]:
            """A survey page."""
            return {"ok": True}

        fresh.register_blueprint(bp)
    finally:
        ROUTES[:] = saved
    secret = "SurveyTokenNeverLogged9876543210"
    with Client(fresh, stage_name="test") as test_client, captured_log() as log:
        assert Api(test_client).get(f"/r/{secret}").status == 200
        assert Api(test_client).post(f"/r/{secret}", {"nps": 9}).status == 200
    assert [line["route"] for line in log.access] == ["/r/{token}", "/r/{token}"]
    assert [line["http_method"] for line in log.access] == ["GET", "POST"]
    assert_free_of(log.text, secret)
