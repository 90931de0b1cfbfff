"""A member of staff uses the web app in Chromium against the real local stack
(``pulse local``), at phone width (375 px) with JavaScript off: a signed-out visit goes to the
sign-in page, the sign-in form is used by keyboard alone, the session cookies are kept
(``__Host-``, ``Secure`` on http://127.0.0.1: loopback is a secure context), then workspace →
accounts → new account → its page → sign out. Every page passes axe-core (no serious or
critical violation), has no sideways scrolling and weighs at most 150 KB decoded.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest
from e2e.browser import MAX_PAGE_BYTES, assert_phone_page, phone_context, tab_to
from playwright.sync_api import expect

if TYPE_CHECKING:
    from e2e.conftest import LocalStack

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

OUTPUT = Path(__file__).resolve().parents[2] / "test-output"


def _tab_to(page: Any, name: str) -> None:
    tab_to(page, name, limit=30)


def _check(page: Any, what: str, weights: dict[str, int]) -> None:
    # Only the 200 answers are weighed here (a 422 form again is not).
    assert_phone_page(page, what, weights, weighed=False)


def test_staff_sign_in_by_keyboard_create_an_account_and_sign_out(
    stack: LocalStack, browser: Any
) -> None:
    OUTPUT.mkdir(exist_ok=True)
    context = phone_context(browser, device_scale_factor=2)  # plain forms and full page loads
    page = context.new_page()
    weights: dict[str, int] = {}

    def weigh(response: Any) -> None:
        if response.url.startswith(stack.base_url) and response.status == 200:
            path = urlsplit(response.url).path
            weights[path] = weights.get(path, 0) + len(response.body())

    page.on("response", weigh)
    try:
        response = page.goto(stack.base_url + "/app/accounts")
        assert response is not None and response.status == 200
        assert urlsplit(page.url).path == "/app/login"
        assert "next=%2Fapp%2Faccounts" in page.url
        assert "default-src 'none'" in response.headers["content-security-policy"]
        _check(page, "sign-in page", weights)

        # A wrong password first: the error is shown on the form, still accessible.
        _tab_to(page, "email")
        page.keyboard.type(stack.demo_logins["admin"])
        _tab_to(page, "password")
        page.keyboard.type("not-the-password")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        expect(page.get_by_role("heading", name="There is a problem")).to_be_visible()
        assert page.get_by_label("Password").get_attribute("aria-invalid") == "true"
        _check(page, "sign-in page with an error", weights)

        # Then by keyboard alone: Tab to each field, type, Enter submits.
        _tab_to(page, "password")
        page.keyboard.type(stack.demo_password)
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert page.url == stack.base_url + "/app/accounts", page.content()
        cookies = {c["name"]: c for c in context.cookies()}
        assert "__Host-pulse_session" in cookies, "Chromium dropped the __Host- session cookie"
        for name in ("__Host-pulse_session", "__Host-pulse_refresh"):
            assert cookies[name]["secure"] and cookies[name]["httpOnly"], cookies[name]
            assert cookies[name]["sameSite"] == "Lax" and cookies[name]["path"] == "/"
        _check(page, "accounts", weights)

        page.get_by_role("link", name="Pulse", exact=True).click()
        expect(page.get_by_role("heading", name="Workspace")).to_be_visible()
        for name in ("Accounts", "Reports", "Follow-ups", "Heartbeat", "Notifications"):
            assert page.get_by_role("link", name=name, exact=True).count() == 1, name
        for name in ("Reason codes", "Users", "Settings"):  # the demo admin
            assert page.get_by_role("link", name=name, exact=True).count() == 1, name
        expect(page.get_by_role("button", name="Sign out")).to_be_visible()
        _check(page, "workspace", weights)

        page.get_by_role("link", name="Accounts", exact=True).click()
        page.get_by_role("link", name="New account").click()
        _check(page, "new account form", weights)
        page.get_by_role("button", name="Create account").click()  # empty: errors shown
        expect(page.get_by_role("heading", name="There is a problem")).to_be_visible()
        _check(page, "new account form with errors", weights)
        name = f"Browser Account {secrets.token_hex(3)}"
        page.get_by_label("Name", exact=True).fill(name)
        page.get_by_label("Annual revenue (ARR)").fill("48000")
        page.get_by_label("Renewal date").fill("2031-03-31")
        page.get_by_role("button", name="Create account").click()
        expect(page.get_by_role("heading", name=name)).to_be_visible()
        expect(page.get_by_text("USD 48,000.00")).to_be_visible()
        expect(page.get_by_role("link", name=f"Edit {name}")).to_be_visible()
        _check(page, "account page", weights)
        page.screenshot(path=str(OUTPUT / "web-account-375.png"), full_page=True)

        page.get_by_role("button", name="Sign out").click()
        assert urlsplit(page.url).path == "/app/login"
        expect(page.get_by_text("You are signed out.")).to_be_visible()
        assert "__Host-pulse_session" not in {c["name"] for c in context.cookies()}
        page.goto(stack.base_url + "/app")
        assert urlsplit(page.url).path == "/app/login"
    finally:
        context.close()
    assert weights and max(weights.values()) <= MAX_PAGE_BYTES, weights
