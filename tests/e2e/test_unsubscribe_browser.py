"""A client opens the "Stop these emails" link of a real mail in Chromium, at phone width and
without JavaScript, against the real local stack (``pulse local``).

Opening the page changes nothing; the Unsubscribe button (reached by keyboard) unsubscribes;
"Subscribe again" clears it; axe-core finds no serious or critical violation on any of the
three pages; and a form posted from another site is refused with the contact left as it was.
"""

from __future__ import annotations

import json
import re
import secrets
import time
import urllib.request
from email import message_from_string, policy
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any

import pytest
from e2e.browser import assert_accessible

if TYPE_CHECKING:
    from e2e.conftest import Http, LocalStack

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

WIDTH, HEIGHT = 375, 812
UNSUBSCRIBE = re.compile(r"https?://[^\s<>\"]+/unsubscribe/([A-Za-z0-9_-]{43})")


def _wait_for_mail(stack: LocalStack, address: str, timeout: float = 30.0) -> EmailMessage:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with urllib.request.urlopen(stack.moto_url + "/moto-api/data.json", timeout=10) as reply:
            data = json.loads(reply.read())
        for item in reversed((data.get("ses") or {}).get("RawMessage") or []):
            if address in (item.get("destinations") or []):
                return message_from_string(str(item["raw_data"]), policy=policy.default)
        time.sleep(0.5)
    raise AssertionError(f"no mail to {address} within {timeout}s:\n{stack.log()[-3000:]}")


def _sent_review(api: Http) -> tuple[str, str, str]:
    """(account id, contact id, contact email) of a review sent to one new contact."""
    account = api.post("/accounts", {"name": f"Opt-out Co {secrets.token_hex(3)}"})
    assert account.status == 201, account.body
    account_id = account.json["id"]
    email = f"optout-{secrets.token_hex(4)}@client.example"
    contact = api.post(f"/accounts/{account_id}/contacts", {"name": "Kim Client", "email": email})
    assert contact.status == 201, contact.body
    review = api.post(
        f"/accounts/{account_id}/reviews",
        {"title": "Q4 business review", "review_date": "2030-01-15", "scoring_required": False},
    )
    assert review.status == 201, review.body
    review_id = review.json["id"]
    recipients = api.call(
        "PUT", f"/reviews/{review_id}/recipients", {"contact_ids": [contact.json["id"]]}
    )
    assert recipients.status == 200, recipients.body
    assert api.post(f"/reviews/{review_id}/send").status == 202
    return account_id, contact.json["id"], email


def _unsubscribed(api: Http, account_id: str, contact_id: str) -> bool:
    items = api.get(f"/accounts/{account_id}/contacts").json["items"]
    return bool(next(c for c in items if c["id"] == contact_id)["unsubscribed"])


def _press_button(page: Any, name: str, limit: int = 20) -> None:
    """Tab to the button named ``name`` and press Enter, as a keyboard user does."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        text = page.evaluate(
            "document.activeElement && document.activeElement.tagName === 'BUTTON'"
            " ? document.activeElement.textContent.trim() : ''"
        )
        if text == name:
            with page.expect_navigation():
                page.keyboard.press("Enter")
            return
    raise AssertionError(f"keyboard focus never reached the button {name!r}")


def test_client_unsubscribes_and_subscribes_again_by_keyboard(
    stack: LocalStack, browser: Any
) -> None:
    api = stack.http.login(stack.demo_logins["admin"], stack.demo_password)
    account_id, contact_id, email = _sent_review(api)
    mail = _wait_for_mail(stack, email)
    text = mail.get_body(preferencelist=("plain",))
    assert text is not None
    match = UNSUBSCRIBE.search(str(text.get_content()))
    assert match, text.get_content()
    link, token = match.group(0), match.group(1)
    assert mail["List-Unsubscribe"].strip("<>") == link  # the one-click target is the same URL

    context = browser.new_context(
        viewport={"width": WIDTH, "height": HEIGHT},
        is_mobile=True,
        has_touch=True,
        java_script_enabled=False,  # the page must work without it
    )
    page = context.new_page()
    console: list[str] = []
    posts: list[Any] = []
    page.on("console", lambda m: console.append(m.text))
    page.on("request", lambda r: posts.append(r) if r.method == "POST" else None)

    # Opening the link (twice, as a mail scanner and then the person would) changes nothing.
    for _ in range(2):
        response = page.goto(link)
        assert response is not None and response.status == 200
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert not _unsubscribed(api, account_id, contact_id)
    assert page.evaluate("document.documentElement.lang") == "en"
    assert page.get_by_role("heading", level=1, name="Stop these emails?").is_visible()
    assert page.get_by_role("button", name="Unsubscribe").is_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= WIDTH, f"page is {width}px wide at {WIDTH}px"
    assert_accessible(page, "the unsubscribe page", scripts_off=True)

    _press_button(page, "Unsubscribe")
    assert page.get_by_role("heading", level=1, name="You are unsubscribed").is_visible()
    assert _unsubscribed(api, account_id, contact_id)
    assert_accessible(page, "the unsubscribed page", scripts_off=True)
    # Chromium marks the form post as same-origin (and, as our pages send no referrer, its
    # Origin as "null"): that is what lets it through.
    sent = posts[-1].all_headers()
    assert sent.get("sec-fetch-site") == "same-origin" and sent.get("origin") == "null", sent

    _press_button(page, "Subscribe again")
    assert page.get_by_role("heading", level=1, name="You are subscribed again").is_visible()
    assert not _unsubscribed(api, account_id, contact_id)
    assert_accessible(page, "the subscribed-again page", scripts_off=True)
    assert not [c for c in console if "Content Security Policy" in c], console

    # Another site's page carrying the same form: Chromium says cross-site, nothing changes.
    assert page.get_by_role("button", name="Unsubscribe").is_visible()
    evil = "https://elsewhere.example/"
    form = (
        '<!doctype html><html lang="en"><title>Win a prize</title>'
        f'<form method="post" action="{stack.base_url}/unsubscribe/{token}">'
        '<input type="hidden" name="List-Unsubscribe" value="One-Click">'
        "<button>Claim</button></form></html>"
    )
    page.route(evil, lambda route: route.fulfill(body=form, content_type="text/html"))
    page.goto(evil)
    with page.expect_navigation():
        page.get_by_role("button", name="Claim").click()
    assert page.get_by_role("heading", name="This form was sent from another site").is_visible()
    assert not _unsubscribed(api, account_id, contact_id)
    context.close()
