"""The account page and set pulse in Chromium against the real local stack, at phone width
(375 px) with JavaScript off: sign in by keyboard → an account with a sent review, answers, a
follow-up request, an action and pulses → Set pulse by keyboard (a level, two risk factors,
Move up, Save pulse) → the new pulse on the account page → sign out. Both pages pass axe-core,
have no sideways scrolling and weigh at most 150 KB. The account page at 1280 px is saved as
``docs/images/account-page.png``, the screenshot the README opens with.
"""

from __future__ import annotations

import re
import secrets
import time
from email import message_from_string, policy
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest
from e2e.browser import MAX_PAGE_BYTES, assert_phone_page, phone_context, tab_until
from playwright.sync_api import expect

if TYPE_CHECKING:
    from e2e.conftest import Http, LocalStack

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "docs" / "images" / "account-page.png"
LINK = re.compile(r"https?://[^\s<>\"]+/r/([A-Za-z0-9_-]{43})")


def _mail_to(stack: LocalStack, address: str, timeout: float = 30.0) -> EmailMessage:
    import json
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with urllib.request.urlopen(stack.moto_url + "/moto-api/data.json", timeout=10) as reply:
            data = json.loads(reply.read())
        for item in (data.get("ses") or {}).get("RawMessage") or []:
            if address in (item.get("destinations") or []):
                return message_from_string(str(item["raw_data"]), policy=policy.default)
        time.sleep(0.5)
    raise AssertionError(f"no mail to {address} within {timeout}s")


def _token(stack: LocalStack, address: str) -> str:
    body = _mail_to(stack, address).get_body(preferencelist=("plain",))
    assert body is not None
    match = LINK.search(str(body.get_content()))
    assert match, body.get_content()
    return match.group(1)


def _account_with_history(stack: LocalStack, api: Http) -> tuple[str, str]:
    """An account with a sent review, two answers (a promoter; a detractor asking for a
    follow-up), an open action and two pulses. Returns (account id, name)."""
    name = f"Northwind Logistics {secrets.token_hex(2)}"
    account_id = api.post("/accounts", {"name": name, "arr": 12000000}).json["id"]
    people = [("Robin Client", "robin"), ("Kim Client", "kim")]
    contacts = []
    for person, handle in people:
        email = f"{handle}-{secrets.token_hex(4)}@client.example"
        reply = api.post(f"/accounts/{account_id}/contacts", {"name": person, "email": email})
        assert reply.status == 201, reply.body
        contacts.append(reply.json)
    review = api.post(
        f"/accounts/{account_id}/reviews",
        {"title": "Spring business review", "review_date": "2030-04-15", "scoring_required": True},
    ).json
    api.post(f"/reviews/{review['id']}/actions", {"title": "Share the 2031 roadmap"})
    ids = [c["id"] for c in contacts]
    assert (
        api.call("PUT", f"/reviews/{review['id']}/recipients", {"contact_ids": ids}).status == 200
    )
    assert api.post(f"/reviews/{review['id']}/send").status == 202
    scores = {"service": 5, "relationship": 4, "value": 4, "quality": 5}
    answers = [
        {"scores": scores, "nps": 10, "comment": "A great quarter, thank you.", "follow_up": False},
        {
            "scores": {"service": 3, "relationship": 4, "value": 2, "quality": 3},
            "nps": 5,
            "comment": "Support tickets take too long to close.",
            "follow_up": True,
        },
    ]
    for contact, answer in zip(contacts, answers, strict=True):
        reply = api.post(f"/r/{_token(stack, contact['email'])}", answer, token="")
        assert reply.status == 200, reply.body
    codes = api.get("/reason-codes?tab=pulse&active=true&limit=200").json["items"]
    risk = next(c for c in codes if c["type"] == "risk")
    for body in (
        {"level": 5, "note": "Kick-off went well.", "next_steps": "Plan the QBR."},
        {"level": 4, "risk_factors": [risk["id"]], "note": "Support backlog is growing."},
    ):
        assert api.post(f"/accounts/{account_id}/pulses", body).status == 201
    return account_id, name


def _tab_until(page: Any, test: str, what: str) -> None:
    tab_until(page, test, what, limit=120)


def _add_factor(page: Any, kind: str) -> str:
    """Choose the first offered factor in the "Add a … factor" select and press Add."""
    _tab_until(page, f"e.name === '{kind}_add'", f"the {kind} factor select")
    page.keyboard.press("ArrowDown")
    chosen = page.evaluate("document.activeElement.selectedOptions[0].textContent")
    _tab_until(page, f"e.value === 'add:{kind}'", "Add")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    return str(chosen).split(": ", 1)[-1].strip()


def test_account_page_and_set_pulse_by_keyboard(stack: LocalStack, browser: Any) -> None:
    api = stack.http.login(stack.demo_logins["admin"], stack.demo_password)
    account_id, name = _account_with_history(stack, api)
    context = phone_context(browser, device_scale_factor=2)
    page = context.new_page()
    weights: dict[str, int] = {}

    def weigh(response: Any) -> None:
        if response.url.startswith(stack.base_url) and response.status == 200:
            path = urlsplit(response.url).path
            weights[path] = max(weights.get(path, 0), len(response.body()))

    page.on("response", weigh)
    account_path = f"/app/accounts/{account_id}"
    try:
        page.goto(stack.base_url + account_path)
        assert urlsplit(page.url).path == "/app/login"
        _tab_until(page, "e.name === 'email'", "Email")
        page.keyboard.type(stack.demo_logins["admin"])
        _tab_until(page, "e.name === 'password'", "Password")
        page.keyboard.type(stack.demo_password)
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert urlsplit(page.url).path == account_path, page.url

        # The dashboard: scorecards, the task banner, comments, reviews, pulse and history.
        expect(page.get_by_role("heading", name=name, level=1)).to_be_visible()
        for heading in ("Tasks", "Scores", "Pulse", "Pulse history", "Reviews", "Comments"):
            assert page.get_by_role("heading", name=heading, exact=True).count() == 1, heading
        assert page.get_by_role("button", name="Mark as acknowledged").count() == 1
        assert page.get_by_role("button", name="Mark completed").count() >= 1
        expect(page.get_by_text("Kim Client").first).to_be_visible()
        expect(page.get_by_role("img", name=re.compile("Pulse history"))).to_be_visible()
        for link in ("Set pulse", "Same update", "New review"):
            assert page.get_by_role("link", name=link, exact=True).count() == 1, link
        assert_phone_page(page, "account page", weights)

        # The README's screenshot: the account page at 1280 px.
        wide = browser.new_context(viewport={"width": 1280, "height": 900})
        try:
            wide.add_cookies(context.cookies())
            shot = wide.new_page()
            shot.goto(stack.base_url + account_path)
            expect(shot.get_by_role("heading", name=name, level=1)).to_be_visible()
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            shot.screenshot(path=str(SCREENSHOT), full_page=True)
        finally:
            wide.close()

        # Set pulse by keyboard: a level, two risk factors, Move up the second, Save pulse.
        _tab_until(page, "e.textContent.trim() === 'Set pulse'", "Set pulse")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert urlsplit(page.url).path == account_path + "/pulse"
        expect(page.get_by_role("heading", name="Previous pulse")).to_be_visible()
        assert_phone_page(page, "set-pulse page", weights)
        _tab_until(page, "e.name === 'level'", "Level")
        page.keyboard.press("Space")  # the first level, Extremely Satisfied
        for _ in range(4):
            page.keyboard.press("ArrowDown")  # ... down to High Risk
        level = page.evaluate("document.querySelector('input[name=level]:checked').value")
        assert level == "2", level
        first = _add_factor(page, "risk")
        second = _add_factor(page, "risk")
        assert page.locator("input[name=level]:checked").get_attribute("value") == "2"
        _tab_until(page, "e.value === 'move:risk:1:up'", "Move up")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        order = page.locator(".chosen .factor").all_text_contents()
        assert order[:2] == [second, first], order
        assert_phone_page(page, "set-pulse page with factors", weights)
        _tab_until(page, "e.name === 'note'", "Note")
        page.keyboard.type("Two escalations this week.")
        _tab_until(page, "e.textContent.trim() === 'Save pulse'", "Save pulse")
        with page.expect_navigation():
            page.keyboard.press("Enter")

        assert urlsplit(page.url).path == account_path
        expect(page.get_by_text("The pulse is saved.")).to_be_visible()
        assert page.get_by_text("Very Satisfied → High Risk").count() == 0  # previous is 4
        expect(page.get_by_text("Fairly Satisfied → High Risk").first).to_be_visible()
        expect(page.get_by_text("Two escalations this week.")).to_be_visible()
        factors = page.locator("dd", has_text=second).first.text_content() or ""
        assert factors.index(second) < factors.index(first), factors
        assert_phone_page(page, "account page after the pulse", weights)

        page.get_by_role("button", name="Sign out").click()
        assert urlsplit(page.url).path == "/app/login"
    finally:
        context.close()
    assert max(weights.values()) <= MAX_PAGE_BYTES, weights
