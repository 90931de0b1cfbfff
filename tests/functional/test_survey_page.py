"""The client's side: the emailed link's page, submitting and updating answers, closed windows,
unknown links, one-click unsubscribe, and the aggregates a response moves."""

from __future__ import annotations

import re
import secrets
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlencode

import pytest
from mail_links import assert_staff_page_links
from support.api import Api, TenantHandle
from survey_support import FULL_ANSWER, SentReview, drain, mails_to, make_review, send_review

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _form(data: dict[str, Any]) -> str:
    return urlencode(data)


def _full_form(**overrides: Any) -> dict[str, Any]:
    data = {
        "scores.service": "5",
        "scores.relationship": "4",
        "scores.value": "3",
        "scores.quality": "4",
        "nps": "8",
        "comment": "Solid work",
    }
    data.update(overrides)
    return data


@pytest.fixture
def sent(client: Any, tenant: TenantHandle) -> tuple[SentReview, str]:
    review = make_review(tenant)
    tokens = send_review(client, review)
    return review, tokens[review.contacts[0]["id"]]


def _public(tenant: TenantHandle) -> Api:
    return tenant.api.as_("")


def _invitation(review: SentReview) -> Any:
    from chalicelib.store import invitations

    return invitations.get(
        review.tenant.tenant_id, "review", review.review_id, review.contacts[0]["id"]
    )


class _Audit(HTMLParser):
    """Collects what the CSP and accessibility checks need from a page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.styled: list[str] = []
        self.ids: set[str] = set()
        self.label_for: set[str] = set()
        self.inputs: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        self.tags.append(tag)
        if "style" in values:
            self.styled.append(tag)
        if any(name.startswith("on") for name in values):
            self.styled.append(f"{tag}[on*]")
        if values.get("id"):
            self.ids.add(str(values["id"]))
        if tag == "label" and values.get("for"):
            self.label_for.add(str(values["for"]))
        if tag in ("input", "textarea") and values.get("type") != "hidden":
            self.inputs.append(values)


def test_page_renders_with_strict_headers_and_records_opened(
    sent: tuple[SentReview, str], tenant: TenantHandle
) -> None:
    review, token = sent
    public = _public(tenant)
    assert _invitation(review).opened_at is None
    reply = public.get(f"/r/{token}")
    assert reply.status == 200, reply.body
    headers = reply.headers
    assert headers["Content-Type"].startswith("text/html")
    assert headers["Referrer-Policy"] == "no-referrer"
    csp = headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "unsafe-inline" not in csp and "script-src" not in csp
    assert re.search(r"style-src 'sha256-[A-Za-z0-9+/=]+'", csp)
    assert "form-action 'self'" in csp and "frame-ancestors 'none'" in csp

    page = reply.text
    audit = _Audit()
    audit.feed(page)
    assert "script" not in audit.tags and not audit.styled  # nothing the CSP would block
    assert audit.tags.count("style") == 1
    # Every visible control has a label; every score group is a fieldset with a legend.
    for control in audit.inputs:
        assert control.get("id") in audit.label_for, control
    assert audit.tags.count("fieldset") == 5 and audit.tags.count("legend") == 5
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    assert "Q3 business review" in page and "All milestones met." in page
    assert len(reply.body) < 20_000

    first = _invitation(review).opened_at
    assert first
    assert public.get(f"/r/{token}").status == 200  # a second open (a scanner, say) changes nothing
    assert _invitation(review).opened_at == first


def test_the_style_hash_in_the_policy_matches_the_page(
    sent: tuple[SentReview, str], tenant: TenantHandle
) -> None:
    import base64
    import hashlib

    _, token = sent
    reply = _public(tenant).get(f"/r/{token}")
    css = re.search(r"<style>(.*?)</style>", reply.text, re.S)
    assert css
    digest = base64.b64encode(hashlib.sha256(css.group(1).encode()).digest()).decode()
    assert f"'sha256-{digest}'" in reply.headers["Content-Security-Policy"]


def test_unknown_and_malformed_links_get_a_404_page(tenant: TenantHandle) -> None:
    public = _public(tenant)
    for token in (secrets.token_urlsafe(32), "short", "x" * 200, "bad%20token"):
        reply = public.get(f"/r/{token}")
        assert reply.status == 404, token
        assert reply.headers["Content-Type"].startswith("text/html")
        assert "This link does not work" in reply.text
    reply = public.call(
        "POST", f"/r/{secrets.token_urlsafe(32)}", raw=_form(_full_form()), headers=FORM
    )
    assert reply.status == 404
    reply = public.post(f"/r/{secrets.token_urlsafe(32)}", FULL_ANSWER)
    assert reply.status == 404 and reply.json["error"]["code"] == "not_found"


def test_form_submit_then_update_never_duplicates(
    sent: tuple[SentReview, str], tenant: TenantHandle
) -> None:
    from chalicelib.store import score_aggregates

    review, token = sent
    public = _public(tenant)
    reply = public.call("POST", f"/r/{token}", raw=_form(_full_form()), headers=FORM)
    assert reply.status == 200, reply.body
    assert "Thank you" in reply.text
    assert reply.headers["Referrer-Policy"] == "no-referrer"
    inv = _invitation(review)
    assert inv.response["scores"] == {"service": 5, "relationship": 4, "value": 3, "quality": 4}
    assert inv.scored_at and inv.response_version == 1

    period = inv.period
    aggs = score_aggregates.account_aggregates(
        review.tenant.tenant_id, review.account_id, period, period
    )
    assert aggs[period]["pi.value"].counts == {3: 1}
    assert aggs[period]["nps"].counts == {8: 1}

    # The page now shows the answers; a second submit replaces them.
    page = public.get(f"/r/{token}").text
    assert 'id="s-value-3" name="scores.value" value="3" checked' in page
    reply = public.call(
        "POST",
        f"/r/{token}",
        raw=_form(_full_form(**{"scores.value": "5", "nps": "10"})),
        headers=FORM,
    )
    assert reply.status == 200 and "replace the ones you sent before" in reply.text
    inv = _invitation(review)
    assert inv.response_version == 2 and inv.response["scores"]["value"] == 5
    aggs = score_aggregates.account_aggregates(
        review.tenant.tenant_id, review.account_id, period, period
    )
    assert aggs[period]["pi.value"].counts == {5: 1}
    assert aggs[period]["nps"].counts == {10: 1}
    assert aggs[period]["pi.service"].counts == {5: 1}
    tenant_wide = score_aggregates.account_aggregates(
        review.tenant.tenant_id, score_aggregates.ALL_ACCOUNTS, period, period
    )
    assert tenant_wide[period]["nps"].counts == {10: 1}

    comments = tenant.api.get(f"/accounts/{review.account_id}/comments").json["items"]
    assert len(comments) == 1 and comments[0]["text"] == "Solid work"


def test_invalid_form_is_rendered_again_with_errors_beside_fields(
    sent: tuple[SentReview, str], tenant: TenantHandle
) -> None:
    review, token = sent
    public = _public(tenant)
    data = _full_form(**{"scores.value": "9", "comment": "Keep this text"})
    del data["nps"]
    reply = public.call("POST", f"/r/{token}", raw=_form(data), headers=FORM)
    assert reply.status == 422
    assert reply.headers["Content-Type"].startswith("text/html")
    page = reply.text
    assert 'role="alert"' in page
    assert 'id="e-scores-value"' in page and 'aria-describedby="e-scores-value"' in page
    assert 'id="e-nps"' in page and 'href="#f-nps"' in page
    assert "Keep this text" in page  # what was typed survives
    assert 'value="4" checked' in page  # so do the valid choices
    assert _invitation(review).response is None  # nothing stored

    reply = public.post(f"/r/{token}", {"scores": {"service": 0, "nope": 3}, "nps": 11, "extra": 1})
    assert reply.status == 422
    fields = reply.json["error"]["fields"]
    assert {"scores.service", "scores.nope", "nps", "extra", "scores.quality"} <= set(fields)


def test_json_submit_gets_json(sent: tuple[SentReview, str], tenant: TenantHandle) -> None:
    _, token = sent
    reply = _public(tenant).post(f"/r/{token}", FULL_ANSWER)
    assert reply.status == 200, reply.body
    assert reply.json["status"] == "recorded"
    assert reply.json["response"]["nps"] == 9
    again = _public(tenant).post(f"/r/{token}", {**FULL_ANSWER, "nps": 7})
    assert again.json["status"] == "updated"


def test_optional_scoring_takes_a_comment_alone(client: Any, tenant: TenantHandle) -> None:
    review = make_review(tenant, scoring_required=False)
    token = send_review(client, review)[review.contacts[0]["id"]]
    public = _public(tenant)
    empty = public.post(f"/r/{token}", {})
    assert empty.status == 422 and "form" in empty.json["error"]["fields"]
    reply = public.post(f"/r/{token}", {"comment": "No scores this time"})
    assert reply.status == 200, reply.body
    inv = _invitation(review)
    assert inv.responded_at and inv.scored_at is None
    assert tenant.api.get("/trees").json["trees"] == 0


def test_the_21st_submit_is_refused_and_changes_nothing(
    sent: tuple[SentReview, str], tenant: TenantHandle
) -> None:
    from chalicelib.store import score_aggregates

    review, token = sent
    public = _public(tenant)
    for n in range(20):
        reply = public.post(f"/r/{token}", {**FULL_ANSWER, "nps": n % 11, "comment": f"take {n}"})
        assert reply.status == 200, (n, reply.body)
    before = _invitation(review)
    assert before.response_version == 20 and before.response["comment"] == "take 19"

    refused = public.post(f"/r/{token}", {**FULL_ANSWER, "nps": 0, "comment": "rewritten"})
    assert refused.status == 422
    assert refused.json["error"]["code"] == "response_locked"
    assert "no longer be changed" in refused.json["error"]["fields"]["form"]
    page = public.call(
        "POST", f"/r/{token}", raw=_form(_full_form(comment="rewritten")), headers=FORM
    )
    assert page.status == 422 and page.headers["Content-Type"].startswith("text/html")
    assert "can no longer be changed" in page.text and 'role="alert"' in page.text
    assert "take 19" in page.text  # the stored answers, unchanged

    after = _invitation(review)
    assert after.response == before.response and after.response_version == 20
    period = after.period
    aggs = score_aggregates.account_aggregates(
        review.tenant.tenant_id, review.account_id, period, period
    )
    assert aggs[period]["nps"].counts == {19 % 11: 1}
    comments = tenant.api.get(f"/accounts/{review.account_id}/comments").json["items"]
    assert [c["text"] for c in comments] == ["take 19"]


def test_quick_updates_mail_the_owner_once(client: Any, tenant: TenantHandle) -> None:
    owner = tenant.add_staff("account_manager")
    review = make_review(tenant, owner=owner, scoring_required=False)
    token = send_review(client, review)[review.contacts[0]["id"]]
    public = _public(tenant)
    for n in range(5):
        reply = public.post(f"/r/{token}", {"comment": f"Thoughts, version {n}"})
        assert reply.status == 200, reply.body
    drain(client)

    mails = mails_to(owner.email)
    assert len(mails) == 1, [m["Subject"] for m in mails]
    assert "commented" in str(mails[0]["Subject"])
    analytics = f"/app/reviews/{review.review_id}/analytics"
    for kind in ("plain", "html"):
        part = mails[0].get_body(preferencelist=(kind,))
        assert part is not None
        assert_staff_page_links(part.get_content(), analytics)
    # In-app, every change is still there.
    inbox = tenant.as_(owner).get("/notifications").json["items"]
    assert sum(1 for n in inbox if n["kind"] == "commented") == 5


def test_concurrent_submits_take_the_owner_mail_once(sent: tuple[SentReview, str]) -> None:
    import threading
    from datetime import UTC, datetime, timedelta

    from chalicelib.services.surveys import iso
    from chalicelib.store import invitations

    review, _ = sent
    inv = _invitation(review)
    at = datetime.now(UTC)
    start = threading.Barrier(4)
    results: list[bool] = []

    def claim() -> None:
        start.wait()
        results.append(invitations.claim_owner_mail(inv, iso(at), iso(at + timedelta(hours=1))))

    threads = [threading.Thread(target=claim) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False, False, False, True]
    # Once the window has passed, the next change mails again.
    later = at + timedelta(hours=1, seconds=1)
    assert invitations.claim_owner_mail(inv, iso(later), iso(later + timedelta(hours=1)))


def test_closed_window_and_closed_review_get_410(
    sent: tuple[SentReview, str], tenant: TenantHandle
) -> None:
    from chalicelib.store.invitations import InvitationModel

    review, token = sent
    public = _public(tenant)
    inv = _invitation(review)
    InvitationModel(inv.key, inv.contact_id).update(
        actions=[InvitationModel.window_closes_at.set("2020-01-01T00:00:00Z")]
    )
    reply = public.get(f"/r/{token}")
    assert reply.status == 410 and "This survey has closed" in reply.text
    assert public.call("POST", f"/r/{token}", raw=_form(_full_form()), headers=FORM).status == 410
    assert public.post(f"/r/{token}", FULL_ANSWER).json["error"]["code"] == "gone"
    # One-click unsubscribe keeps working after the window.
    assert (
        public.call(
            "POST", f"/unsubscribe/{token}", raw="List-Unsubscribe=One-Click", headers=FORM
        ).status
        == 200
    )


def test_closing_the_review_closes_every_link(client: Any, tenant: TenantHandle) -> None:
    review = make_review(tenant)
    token = send_review(client, review)[review.contacts[0]["id"]]
    assert tenant.api.patch(f"/reviews/{review.review_id}", {"status": "closed"}).status == 200
    assert _public(tenant).get(f"/r/{token}").status == 410


def test_one_click_unsubscribe(
    client: Any, sent: tuple[SentReview, str], tenant: TenantHandle
) -> None:
    review, token = sent
    public = _public(tenant)
    reply = public.call(
        "POST",
        f"/unsubscribe/{token}",
        raw="List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert reply.status == 200 and "unsubscribed" in reply.text
    contact_id = review.contacts[0]["id"]
    contacts = tenant.api.get(f"/accounts/{review.account_id}/contacts").json["items"]
    assert next(c for c in contacts if c["id"] == contact_id)["unsubscribed"] is True
    # Multipart (RFC 8058's preferred form) is accepted too.
    boundary = "xyz"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="List-Unsubscribe"\r\n\r\n'
        f"One-Click\r\n--{boundary}--\r\n"
    )
    reply = public.call(
        "POST",
        f"/unsubscribe/{token}",
        raw=body,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert reply.status == 200
    assert (
        public.call(
            "POST", f"/unsubscribe/{secrets.token_urlsafe(32)}", raw="", headers=FORM
        ).status
        == 404
    )
    # An unsubscribed contact gets nothing more, not even when resent.
    reply = tenant.api.post(f"/reviews/{review.review_id}/resend", {"contact_ids": [contact_id]})
    assert reply.status == 202 and reply.json["skipped_contact_ids"] == [contact_id]
    drain(client)
