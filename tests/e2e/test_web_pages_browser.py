"""Notifications, preferences (by keyboard alone), a heartbeat round and a review's analytics in
Chromium against the real local stack, at 375 px with JavaScript off: every page passes axe-core
(no serious or critical violation), has no sideways scrolling and weighs at most 150 KB
decoded. The demo data holds a prepared heartbeat (its approval notification) and a sent review.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest
from e2e.browser import assert_phone_page, phone_context, tab_until
from playwright.sync_api import expect

if TYPE_CHECKING:
    from e2e.conftest import LocalStack

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def _signed_in(stack: LocalStack, browser: Any, who: str) -> tuple[Any, Any, dict[str, int]]:
    context = phone_context(browser)
    page = context.new_page()
    weights: dict[str, int] = {}

    def weigh(response: Any) -> None:
        if response.url.startswith(stack.base_url) and response.status in (200, 422):
            path = urlsplit(response.url).path
            weights[path] = len(response.body())

    page.on("response", weigh)
    page.goto(stack.base_url + "/app/login")
    page.get_by_label("Email").fill(stack.demo_logins[who])
    page.get_by_label("Password").fill(stack.demo_password)
    page.get_by_role("button", name="Sign in").click()
    assert urlsplit(page.url).path == "/app", page.content()
    return context, page, weights


def test_notifications_and_heartbeat_round_pages(stack: LocalStack, browser: Any) -> None:
    context, page, weights = _signed_in(stack, browser, "admin")
    try:
        page.get_by_role("link", name="Notifications", exact=True).click()
        expect(page.get_by_role("heading", name="Notifications", level=1)).to_be_visible()
        assert_phone_page(page, "notifications", weights)
        approval = page.get_by_role("link", name="Your heartbeat is ready for approval").first
        href = approval.get_attribute("href") or ""
        assert href.startswith("/app/heartbeats/hb_"), href
        approval.click()
        assert urlsplit(page.url).path == href
        expect(page.get_by_role("button", name="Approve")).to_be_visible()
        assert_phone_page(page, "heartbeat round", weights)

        page.get_by_role("link", name="Heartbeat", exact=True).first.click()
        expect(page.get_by_role("heading", name="Heartbeat", level=1)).to_be_visible()
        assert page.locator(f'a[href="{href}"]').count() == 1
        assert_phone_page(page, "heartbeat", weights)

        page.goto(stack.base_url + "/app/no/such/page")
        expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    finally:
        context.close()


def test_review_analytics_page(stack: LocalStack, browser: Any) -> None:
    admin = stack.http.login(stack.demo_logins["admin"], stack.demo_password)
    review_id = ""
    for account in admin.get("/accounts?limit=200").json["items"]:
        reviews = admin.get(f"/accounts/{account['id']}/reviews").json["items"]
        if reviews:
            review_id = reviews[0]["id"]
            break
    assert review_id, "the demo data has a sent review"
    context, page, weights = _signed_in(stack, browser, "admin")
    try:
        page.goto(stack.base_url + f"/app/reviews/{review_id}/analytics")
        expect(page.get_by_role("heading", name="Recipients")).to_be_visible()
        assert page.locator("h1").inner_text().startswith("Analytics:")
        assert_phone_page(page, "review analytics", weights)
    finally:
        context.close()


def test_preferences_by_keyboard(stack: LocalStack, browser: Any) -> None:
    context, page, weights = _signed_in(stack, browser, "sam")
    try:
        page.goto(stack.base_url + "/app/preferences")
        assert_phone_page(page, "preferences", weights)
        box = page.get_by_label("A heartbeat waits for approval").first
        was = box.is_checked()

        # A wrong value first: the form comes back with the error summary, nothing saved.
        tab_until(page, "e.name === 'stale_days'", "Stale after (days)")
        page.keyboard.press("Control+A")
        page.keyboard.type("0")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        expect(page.get_by_role("heading", name="There is a problem")).to_be_visible()
        assert page.get_by_label("Stale after (days)").get_attribute("aria-invalid") == "true"
        assert_phone_page(page, "preferences with an error", weights)

        tab_until(page, "e.name === 'stale_days'", "Stale after (days)")
        page.keyboard.press("Control+A")
        page.keyboard.type("30")
        tab_until(page, "e.name === 'email_heartbeat_approval'", "the approval mail checkbox")
        page.keyboard.press("Space")
        tab_until(page, "e.textContent.trim() === 'Save preferences'", "Save preferences")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        expect(page.get_by_text("Your preferences are saved.")).to_be_visible()
        assert page.get_by_label("Stale after (days)").input_value() == "30"
        assert page.get_by_label("A heartbeat waits for approval").first.is_checked() != was
        assert_phone_page(page, "preferences saved", weights)
    finally:
        context.close()
