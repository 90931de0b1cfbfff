"""The staff web app's session, CSRF and headers, over the Chalice test client: sign-in and its
errors, cookie flags, ``next=``, refresh of an expired ID token, deactivated users, sign-out,
refused forms, the strict headers and the shell's navigation."""

from __future__ import annotations

import json
import time
from typing import Any

import jwt
import pytest
from support.api import Api, TenantHandle, new_tenant
from support.web import Web, location, set_cookies, text_of

from chalicelib.web.routing import PAGES

NAV = ("Accounts", "Reports", "Follow-ups", "Heartbeat", "Notifications")
ADMIN_NAV = ("Reason codes", "Users", "Settings")


def _expired(token: str) -> str:
    """The same claims, signed with the key moto signs with, expired an hour ago."""
    from moto.utilities.utils import load_resource

    key = jwt.algorithms.RSAAlgorithm.from_jwk(
        json.dumps(load_resource("cognitoidp/resources/jwks-private.json"))
    )
    claims = dict(jwt.decode(token, options={"verify_signature": False}))
    now = int(time.time())
    claims.update(iat=now - 7200, auth_time=now - 7200, exp=now - 3600)
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": "dummy"})


def _accounts(tenant: TenantHandle) -> list[dict[str, Any]]:
    reply = tenant.api.get("/accounts")
    assert reply.status == 200, reply.body
    return list(reply.json["items"])


def test_root_redirects_to_the_workspace(client: Any) -> None:
    reply = Web(client).get("/")
    assert reply.status in (302, 303) and location(reply) == "/app"


def test_signed_out_visit_goes_to_login_and_comes_back(client: Any, tenant: TenantHandle) -> None:
    web = Web(client)
    reply = web.get("/app/accounts?level=3")
    assert reply.status == 303
    assert location(reply) == "/app/login?next=%2Fapp%2Faccounts%3Flevel%3D3"
    login = web.get(location(reply))
    assert 'name="next" value="/app/accounts?level=3"' in login.text
    reply = web.post(
        "/app/login",
        {
            "email": tenant.admin.email,
            "password": "correct-horse-battery",
            "next": "/app/accounts?level=3",
        },
    )
    assert reply.status == 303 and location(reply) == "/app/accounts?level=3"
    assert web.get("/app/accounts?level=3").status == 200


def test_wrong_password_shows_the_error_on_the_form(client: Any, tenant: TenantHandle) -> None:
    web = Web(client)
    web.get("/app/login")
    reply = web.post("/app/login", {"email": tenant.admin.email, "password": "not-the-password"})
    assert reply.status == 401
    assert reply.headers["Content-Type"].startswith("text/html")
    assert "There is a problem" in reply.text
    assert '<a href="#f-password">Password: Wrong email or password</a>' in reply.text
    assert 'aria-invalid="true"' in reply.text and 'id="f-password-error"' in reply.text
    assert f'value="{tenant.admin.email}"' in reply.text  # the email is kept, the password not
    assert "Traceback" not in reply.text
    assert not any("pulse_session" in c for c in set_cookies(reply))
    assert web.get("/app").status == 303  # still signed out


def test_invalid_login_fields_answer_422_with_each_error(client: Any) -> None:
    web = Web(client)
    web.get("/app/login")
    reply = web.post("/app/login", {"email": "not-an-email", "password": ""})
    assert reply.status == 422
    assert 'href="#f-email"' in reply.text and 'href="#f-password"' in reply.text


def test_session_cookies_are_host_only_secure_httponly_lax(
    client: Any, tenant: TenantHandle
) -> None:
    reply = Web(client).sign_in(tenant.admin.email)
    cookies = {c.split("=", 1)[0]: c for c in set_cookies(reply)}
    assert {"__Host-pulse_session", "__Host-pulse_refresh"} <= set(cookies)
    for name in ("__Host-pulse_session", "__Host-pulse_refresh"):
        attributes = {a.strip().lower() for a in cookies[name].split(";")[1:]}
        assert {"path=/", "secure", "httponly", "samesite=lax"} <= attributes
        assert not any(a.startswith("domain") for a in attributes)


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/app",
        "https://evil.example/app",
        "http:/app",
        "/\\evil.example/app",
        "\\\\evil.example",
        "/api/accounts",
        "/application",
        "/app/../health",
        "javascript:alert(1)",
        "/app\r\nSet-Cookie: x=1",
    ],
)
def test_next_only_returns_to_app_pages(client: Any, tenant: TenantHandle, target: str) -> None:
    reply = Web(client).sign_in(tenant.admin.email, next_path=target)
    assert location(reply) == "/app"


def test_next_keeps_an_app_page(client: Any, tenant: TenantHandle) -> None:
    reply = Web(client).sign_in(tenant.admin.email, next_path="/app/accounts/new")
    assert location(reply) == "/app/accounts/new"


def test_post_without_csrf_token_is_refused_and_writes_nothing(
    client: Any, tenant: TenantHandle
) -> None:
    web = Web(client)
    web.sign_in(tenant.admin.email)
    web.get("/app/accounts/new")
    fields = {"name": "No Token Ltd", "arr": "100", "currency": "USD", "stage": "onboarding"}
    for token in ("", "0" * 64):
        reply = web.post("/app/accounts/new", fields, csrf=token)
        assert reply.status == 403 and "nothing was changed" in reply.text
    assert not [a for a in _accounts(tenant) if a["name"] == "No Token Ltd"]


def test_csrf_token_of_another_session_is_refused(client: Any, tenant: TenantHandle) -> None:
    first, second = Web(client), Web(client)
    first.sign_in(tenant.admin.email)
    second.sign_in(tenant.admin.email)
    first.get("/app/accounts/new")
    second.get("/app/accounts/new")
    fields = {"name": "Other Session Ltd", "arr": "1", "currency": "USD", "stage": "onboarding"}
    assert first.post("/app/accounts/new", fields, csrf=second.csrf()).status == 403
    assert not [a for a in _accounts(tenant) if a["name"] == "Other Session Ltd"]


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example", "Sec-Fetch-Site": ""},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
    ],
)
def test_cross_site_post_is_refused_even_with_a_token(
    client: Any, tenant: TenantHandle, headers: dict[str, str]
) -> None:
    web = Web(client)
    web.sign_in(tenant.admin.email)
    web.get("/app/accounts/new")
    fields = {"name": "Cross Site Ltd", "arr": "1", "currency": "USD", "stage": "onboarding"}
    reply = web.post("/app/accounts/new", fields, headers=headers)
    assert reply.status == 403 and "another site" in reply.text
    assert not [a for a in _accounts(tenant) if a["name"] == "Cross Site Ltd"]


def test_login_form_needs_its_csrf_token(client: Any, tenant: TenantHandle) -> None:
    web = Web(client)
    web.get("/app/login")
    reply = web.post(
        "/app/login", {"email": tenant.admin.email, "password": "correct-horse-battery"}, csrf=""
    )
    assert reply.status == 403
    assert not any("pulse_session" in c for c in set_cookies(reply))


def test_deactivated_user_is_signed_out_at_once(client: Any, tenant: TenantHandle) -> None:
    manager = tenant.add_staff("account_manager")
    web = Web(client)
    web.sign_in(manager.email)
    assert web.get("/app").status == 200
    assert tenant.api.patch(f"/users/{manager.user_id}", {"active": False}).status == 200
    reply = web.get("/app/accounts")
    assert reply.status == 303 and location(reply).startswith("/app/login?next=")
    cleared = [c for c in set_cookies(reply) if "Max-Age=0" in c]
    assert any(c.startswith("__Host-pulse_session=") for c in cleared)
    assert "__Host-pulse_session" not in web.cookies


def test_expired_id_token_is_refreshed_transparently(client: Any, tenant: TenantHandle) -> None:
    web = Web(client)
    web.sign_in(tenant.admin.email)
    web.cookies["__Host-pulse_session"] = _expired(web.cookies["__Host-pulse_session"])
    reply = web.get("/app/accounts")
    assert reply.status == 200 and "<h1>Accounts</h1>" in reply.text
    renewed = [c for c in set_cookies(reply) if c.startswith("__Host-pulse_session=")]
    assert renewed and "HttpOnly" in renewed[0] and "Secure" in renewed[0]
    fresh = web.cookies["__Host-pulse_session"]
    assert jwt.decode(fresh, options={"verify_signature": False})["exp"] > time.time()


def test_expired_id_token_with_a_revoked_refresh_token_goes_to_login(
    client: Any, tenant: TenantHandle
) -> None:
    web = Web(client)
    web.sign_in(tenant.admin.email)
    web.cookies["__Host-pulse_session"] = _expired(web.cookies["__Host-pulse_session"])
    web.cookies["__Host-pulse_refresh"] = "not-a-refresh-token"
    reply = web.get("/app/accounts")
    assert reply.status == 303 and location(reply) == "/app/login?next=%2Fapp%2Faccounts"


def test_tampered_session_cookie_is_not_accepted(client: Any, tenant: TenantHandle) -> None:
    other = new_tenant(client, company="Tamper Targets")
    web = Web(client)
    web.sign_in(tenant.admin.email)
    header, _payload, signature = web.cookies["__Host-pulse_session"].split(".")
    claims = jwt.decode(web.cookies["__Host-pulse_session"], options={"verify_signature": False})
    claims["custom:tenant_id"] = other.tenant_id
    forged = jwt.utils.base64url_encode(json.dumps(claims).encode()).decode()
    web.cookies["__Host-pulse_session"] = f"{header}.{forged}.{signature}"
    reply = web.get("/app")
    assert reply.status == 303 and location(reply).startswith("/app/login")


def test_sign_out_revokes_the_refresh_token_and_clears_cookies(
    client: Any, tenant: TenantHandle
) -> None:
    web = Web(client)
    web.sign_in(tenant.admin.email)
    refresh = web.cookies["__Host-pulse_refresh"]
    page = web.get("/app/logout")  # a GET only shows the button
    assert page.status == 200 and "Sign out now" in page.text
    assert web.get("/app").status == 200
    reply = web.post("/app/logout", {})
    assert reply.status == 303 and location(reply) == "/app/login?notice=signed-out"
    cleared = {c.split("=", 1)[0] for c in set_cookies(reply) if "Max-Age=0" in c}
    assert {"__Host-pulse_session", "__Host-pulse_refresh"} <= cleared
    assert Api(client).post("/auth/refresh", {"refresh_token": refresh}, token="").status == 401
    assert web.get("/app").status == 303


def test_sign_out_needs_the_csrf_token(client: Any, tenant: TenantHandle) -> None:
    web = Web(client)
    web.sign_in(tenant.admin.email)
    web.get("/app")
    assert web.post("/app/logout", {}, csrf="").status == 403
    assert web.get("/app").status == 200  # still signed in


def test_every_page_sends_the_strict_headers(client: Any, tenant: TenantHandle) -> None:
    web = Web(client)
    pages = [web.get("/app/login"), web.get("/app/forgot-password")]
    web.sign_in(tenant.admin.email)
    pages += [web.get("/app"), web.get("/app/accounts"), web.get("/app/reports")]
    for reply in pages:
        csp = reply.headers["Content-Security-Policy"]
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
        assert "script-src" not in csp and "unsafe-inline" not in csp
        assert reply.headers["Referrer-Policy"] == "no-referrer"
        assert reply.headers["X-Content-Type-Options"] == "nosniff"
        assert reply.headers["Cache-Control"] == "no-store"
        assert "<script" not in reply.text
        assert len(reply.body) <= 150 * 1024


def test_navigation_names_and_sign_out_on_every_page(client: Any, tenant: TenantHandle) -> None:
    manager = tenant.add_staff("account_manager")
    admin, am = Web(client), Web(client)
    admin.sign_in(tenant.admin.email)
    am.sign_in(manager.email)
    for path in ("/app", "/app/accounts", "/app/accounts/new"):
        shown = text_of(admin.get(path))
        assert all(name in shown for name in (*NAV, *ADMIN_NAV, "Sign out"))
        page = am.get(path)
        assert page.text.count("<h1") == 1 and 'lang="en"' in page.text
        assert 'href="#main"' in page.text
        shown = text_of(page)
        assert all(name in shown for name in (*NAV, "Sign out"))
        assert not any(f">{name}</a>" in page.text for name in ADMIN_NAV)


def test_admin_pages_answer_the_404_page_to_other_roles(client: Any, tenant: TenantHandle) -> None:
    manager = tenant.add_staff("senior_manager")
    web = Web(client)
    web.sign_in(manager.email)
    reply = web.get("/app/admin/users")
    assert reply.status == 404 and reply.headers["Content-Type"].startswith("text/html")
    assert "Page not found" in reply.text


# ------------------------------------------------------------------ every page, generated

PROTECTED = [spec for spec in PAGES if not spec.public]


def _url(path: str) -> str:
    for name in ("account_id", "contact_id", "heartbeat_id", "review_id", "notification_id"):
        path = path.replace("{" + name + "}", name.split("_")[0][:3] + "_x")
    return path.replace("{proxy+}", "no/such/page")


@pytest.mark.parametrize("spec", PROTECTED, ids=lambda s: f"{s.method} {s.path}")
def test_every_page_needs_a_session(client: Any, spec: Any) -> None:
    web = Web(client)
    if spec.method == "GET":
        reply = web.get(_url(spec.path))
        assert reply.status == 303 and location(reply).startswith("/app/login?next=%2Fapp")
    else:
        web.get("/app/login")
        reply = web.post(_url(spec.path), {"name": "x"})
        assert reply.status == 303 and location(reply) == "/app/login"


@pytest.fixture(scope="module")
def signed_in(client: Any) -> Web:
    tenant = new_tenant(client, company="Walker Pages")
    web = Web(client)
    web.sign_in(tenant.admin.email)
    web.get("/app")
    return web


POSTS = [spec for spec in PAGES if spec.method == "POST"]


@pytest.mark.parametrize("spec", POSTS, ids=lambda s: f"{s.method} {s.path}")
def test_every_form_refuses_a_missing_csrf_token(signed_in: Web, spec: Any) -> None:
    reply = signed_in.post(_url(spec.path), {"name": "x", "email": "x@example.com"}, csrf="")
    assert reply.status == 403, (spec, reply.status)
