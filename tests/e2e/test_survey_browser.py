"""A client answers a review in Chromium, against the real local stack (``pulse local``).

Staff send a review over the API; the local event runner hands the mail queue to the real
handler; the raw mail moto recorded is read back and parsed; its link is opened at phone width
(375 px), scored by keyboard only, and submitted; the thank-you page shows; axe-core finds no
serious or critical violation on either page; and the answer is in the review's analytics and the
account's dashboard data. A screenshot is saved under
``test-output/``.

Without ``/usr/bin/chromium`` the test is skipped — unless ``PULSE_REQUIRE_BROWSER=1`` (set by
``.ci/run``), when a missing browser fails the run.
"""

from __future__ import annotations

import re
import secrets
import time
from email import message_from_string, policy
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from e2e.browser import WIDTH, assert_accessible, phone_context, tab_to

if TYPE_CHECKING:
    from e2e.conftest import Http, LocalStack

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

OUTPUT = Path(__file__).resolve().parents[2] / "test-output"
LINK = re.compile(r"https?://[^\s<>\"]+/r/[A-Za-z0-9_-]{43}")
# Keyboard answers: question id -> score (1-5), and NPS.
SCORES = {"service": 4, "relationship": 5, "value": 3, "quality": 4}
NPS = 9


def _raw_mails_to(stack: LocalStack, address: str) -> list[EmailMessage]:
    """The raw MIME messages moto's SES accepted for ``address``, oldest first."""
    import json
    import urllib.request

    with urllib.request.urlopen(stack.moto_url + "/moto-api/data.json", timeout=10) as reply:
        data = json.loads(reply.read())
    out = []
    for item in (data.get("ses") or {}).get("RawMessage") or []:
        if address in (item.get("destinations") or []):
            out.append(message_from_string(str(item["raw_data"]), policy=policy.default))
    return out


def _wait_for_mail(stack: LocalStack, address: str, timeout: float = 30.0) -> EmailMessage:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        mails = _raw_mails_to(stack, address)
        if mails:
            return mails[-1]
        time.sleep(0.5)
    raise AssertionError(f"no mail to {address} within {timeout}s:\n{stack.log()[-3000:]}")


def _staff(stack: LocalStack) -> Http:
    return stack.http.login(stack.demo_logins["admin"], stack.demo_password)


def _choose(page: Any, name: str, value: int, first: int) -> None:
    """Select ``value`` in a radio group by keyboard: Tab into the group, Space checks the
    first option, arrows move the choice."""
    tab_to(page, name)
    page.keyboard.press("Space")
    for _ in range(value - first):
        page.keyboard.press("ArrowRight")
    checked = page.evaluate(f"document.querySelector('input[name=\"{name}\"]:checked').value")
    assert checked == str(value), (name, checked)


def test_client_scores_a_review_by_keyboard_on_a_phone(stack: LocalStack, browser: Any) -> None:
    api = _staff(stack)
    account = api.post("/accounts", {"name": f"Browser Co {secrets.token_hex(3)}"})
    assert account.status == 201, account.body
    account_id = account.json["id"]
    email = f"browser-{secrets.token_hex(4)}@client.example"
    contact = api.post(f"/accounts/{account_id}/contacts", {"name": "Robin Client", "email": email})
    assert contact.status == 201, contact.body
    review = api.post(
        f"/accounts/{account_id}/reviews",
        {
            "title": "Q3 business review",
            "review_date": "2030-01-15",
            "intro_message": "Thank you for a strong quarter.\nHere is where we stand.",
            "sections": [{"heading": "Delivery", "body": "Every milestone met."}],
            "scoring_required": True,
        },
    ).json
    review_id = review["id"]
    api.post(f"/reviews/{review_id}/actions", {"title": "Roadmap call", "due_date": "2030-02-01"})
    assert (
        api.call(
            "PUT", f"/reviews/{review_id}/recipients", {"contact_ids": [contact.json["id"]]}
        ).status
        == 200
    )
    assert api.post(f"/reviews/{review_id}/send").status == 202

    mail = _wait_for_mail(stack, email)
    assert mail.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in mail.iter_parts()] == ["text/plain", "text/html"]
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = mail.get_body(preferencelist=("plain",))
    assert text is not None
    match = LINK.search(str(text.get_content()))
    assert match, text.get_content()
    link = match.group(0)

    OUTPUT.mkdir(exist_ok=True)
    context = phone_context(browser, device_scale_factor=2)  # the page must work without JavaScript
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text))
    response = page.goto(link)
    assert response is not None and response.status == 200
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert page.get_by_role("heading", name="Q3 business review").is_visible()
    # No sideways scrolling at phone width (JavaScript is off for the page, not for
    # the test's own probe, which runs in an isolated world).
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= WIDTH, f"page is {width}px wide at {WIDTH}px"

    for qid, score in SCORES.items():
        _choose(page, f"scores.{qid}", score, first=1)
    _choose(page, "nps", NPS, first=0)
    tab_to(page, "comment")
    page.keyboard.type("Clear report, thank you.")
    tab_to(page, "follow_up")
    page.keyboard.press("Space")
    assert_accessible(page, "the survey page", scripts_off=True)
    page.screenshot(path=str(OUTPUT / "survey-375-filled.png"), full_page=True)
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.tagName + ':' + document.activeElement.type")
    assert focused == "BUTTON:submit", focused
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.get_by_role("heading", name=re.compile("Thank you")).is_visible()
    assert_accessible(page, "the thank-you page", scripts_off=True)
    page.screenshot(path=str(OUTPUT / "survey-375-thanks.png"), full_page=True)
    assert not [c for c in console if "Content Security Policy" in c], console
    context.close()

    analytics = api.get(f"/reviews/{review_id}/analytics").json
    (row,) = analytics["recipients"]
    assert row["opened_at"] and row["scored_at"] and row["follow_up"] is True
    assert row["response"]["scores"] == SCORES and row["response"]["nps"] == NPS
    assert row["response"]["comment"] == "Clear report, thank you."

    dashboard = api.get(f"/accounts/{account_id}/dashboard")
    assert dashboard.status == 200, dashboard.body
    data = dashboard.json
    assert data["nps"]["responses"] == 1 and data["nps"]["promoters"] == 1
    assert any(r.get("review_id") == review_id for r in data["reviews"])
    assert any("Clear report" in c.get("text", "") for c in data["comments"])
    assert data["tasks"]["pending_follow_ups"] == 1
    assert (OUTPUT / "survey-375-thanks.png").stat().st_size > 1000
