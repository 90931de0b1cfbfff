"""Opt-out integrity: the unsubscribe link's page, its buttons, one-click unsubscribe, who may
clear an opt-out, and which links stop working when a contact's address changes."""

from __future__ import annotations

import json
import re
import secrets
from datetime import timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
from support.api import Api, Reply, TenantHandle
from survey_support import (
    SentReview,
    drain,
    invoke_mail_handler,
    mails_to,
    make_review,
    receive_all,
    send_review,
    token_in,
)

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
ONE_CLICK = "List-Unsubscribe=One-Click"


@pytest.fixture
def sent(client: Any, tenant: TenantHandle) -> tuple[SentReview, str]:
    review = make_review(tenant)
    tokens = send_review(client, review)
    return review, tokens[review.contacts[0]["id"]]


def _public(tenant: TenantHandle) -> Api:
    return tenant.api.as_("")


def _contact(review: SentReview) -> dict[str, Any]:
    """The contact as staff read it back over the API."""
    contact_id = review.contacts[0]["id"]
    items = review.api.get(f"/accounts/{review.account_id}/contacts").json["items"]
    return dict(next(c for c in items if c["id"] == contact_id))


def _own_origin() -> str:
    from chalicelib.settings import get_settings

    url = get_settings().public_url
    scheme, rest = url.split("://", 1)
    return f"{scheme}://{rest.split('/', 1)[0]}"


class _Forms(HTMLParser):
    """The page's forms (action and the buttons' text), headings and the html lang."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []
        self.headings: list[str] = []
        self.lang: str | None = None
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "html":
            self.lang = values.get("lang")
        if tag == "form":
            self.forms.append({"action": values.get("action"), "method": values.get("method")})
            self.forms[-1]["buttons"] = []
        if tag in ("h1", "button", "script"):
            self._in = tag
            if tag == "h1":
                self.headings.append("")
            if tag == "button":
                self.forms[-1]["buttons"].append("")
            if tag == "script":
                raise AssertionError("the page carries a script")

    def handle_endtag(self, tag: str) -> None:
        if tag == self._in:
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "h1":
            self.headings[-1] += data.strip()
        elif self._in == "button":
            self.forms[-1]["buttons"][-1] += data.strip()


def _parse(reply: Reply) -> _Forms:
    parsed = _Forms()
    parsed.feed(reply.text)
    return parsed


def _strict(reply: Reply) -> None:
    headers = reply.headers
    assert headers["Content-Type"].startswith("text/html")
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["Cache-Control"] == "no-store"
    csp = headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "form-action 'self'" in csp and "script-src" not in csp


# --------------------------------------------------------------------------- the page (GET)


def test_get_shows_a_confirm_page_and_changes_nothing(
    sent: tuple[SentReview, str], tenant: TenantHandle
) -> None:
    review, token = sent
    public = _public(tenant)
    for _ in range(3):  # a mail scanner prefetching the link, then the person
        reply = public.get(f"/unsubscribe/{token}")
        assert reply.status == 200, reply.body
        assert _contact(review)["unsubscribed"] is False
    _strict(reply)
    page = _parse(reply)
    assert page.lang == "en"
    assert page.headings == ["Stop these emails?"]
    (form,) = page.forms
    assert form["method"] == "post" and form["buttons"] == ["Unsubscribe"]
    # The button posts back to the link itself (relative, so a stage prefix keeps working).
    assert form["action"] == token
    assert "Northwind Services" in reply.text  # whose mails these are


def test_unknown_and_malformed_links_get_the_404_page(tenant: TenantHandle) -> None:
    public = _public(tenant)
    for token in (secrets.token_urlsafe(32), "short"):
        reply = public.get(f"/unsubscribe/{token}")
        assert reply.status == 404 and "This link does not work" in reply.text
        _strict(reply)
        resubscribed = public.call(
            "POST", f"/unsubscribe/{token}/resubscribe", raw="", headers=FORM
        )
        assert resubscribed.status == 404


# ----------------------------------------------------------------- unsubscribe, subscribe again


def test_the_pages_button_unsubscribes_and_subscribe_again_clears_it(
    sent: tuple[SentReview, str], tenant: TenantHandle
) -> None:
    review, token = sent
    public = _public(tenant)
    # The confirm page's form, as a browser sends it from our own page.
    browser = FORM | {"Origin": _own_origin(), "Sec-Fetch-Site": "same-origin"}
    reply = public.call("POST", f"/unsubscribe/{token}", raw=ONE_CLICK, headers=browser)
    assert reply.status == 200, reply.body
    _strict(reply)
    page = _parse(reply)
    assert page.headings == ["You are unsubscribed"]
    (form,) = page.forms
    assert form["buttons"] == ["Subscribe again"] and form["action"] == f"{token}/resubscribe"
    assert _contact(review)["unsubscribed"] is True
    # Opening the link again shows the unsubscribed state, still without changing anything.
    again = _parse(public.get(f"/unsubscribe/{token}"))
    assert again.headings == ["You are unsubscribed"]
    assert _contact(review)["unsubscribed"] is True

    # "Subscribe again" (relative action resolved against /unsubscribe/<token>).
    reply = public.call("POST", f"/unsubscribe/{token}/resubscribe", raw="", headers=browser)
    assert reply.status == 200, reply.body
    page = _parse(reply)
    assert page.headings == ["You are subscribed again"]
    (form,) = page.forms
    assert form["buttons"] == ["Unsubscribe"] and form["action"] == f"../{token}"
    assert _contact(review)["unsubscribed"] is False


def test_one_click_post_from_a_mail_provider_still_answers_200(
    sent: tuple[SentReview, str], tenant: TenantHandle
) -> None:
    review, token = sent
    # RFC 8058: no Origin, no Fetch Metadata, no cookies; just the body.
    reply = _public(tenant).call("POST", f"/unsubscribe/{token}", raw=ONE_CLICK, headers=FORM)
    assert reply.status == 200 and "You are unsubscribed" in reply.text
    assert _contact(review)["unsubscribed"] is True


@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
        {"Origin": "https://evil.example"},
        {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
    ],
    ids=["fetch-metadata", "sibling-site", "origin", "both"],
)
def test_forms_posted_from_another_site_are_refused(
    sent: tuple[SentReview, str], tenant: TenantHandle, headers: dict[str, str]
) -> None:
    review, token = sent
    public = _public(tenant)
    reply = public.call("POST", f"/unsubscribe/{token}", raw=ONE_CLICK, headers=FORM | headers)
    assert reply.status == 403 and "another site" in reply.text
    assert _contact(review)["unsubscribed"] is False
    # Unsubscribed from the page, then another site tries to subscribe the contact again.
    assert public.call("POST", f"/unsubscribe/{token}", raw=ONE_CLICK, headers=FORM).status == 200
    reply = public.call("POST", f"/unsubscribe/{token}/resubscribe", raw="", headers=FORM | headers)
    assert reply.status == 403
    assert _contact(review)["unsubscribed"] is True


def test_resubscribe_needs_the_contacts_own_link(client: Any, tenant: TenantHandle) -> None:
    review = make_review(tenant, recipients=2)
    tokens = send_review(client, review)
    first, second = (c["id"] for c in review.contacts)
    public = _public(tenant)
    for token in tokens.values():
        assert (
            public.call("POST", f"/unsubscribe/{token}", raw=ONE_CLICK, headers=FORM).status == 200
        )
    assert public.call("POST", f"/unsubscribe/{tokens[first]}/resubscribe", raw="").status == 200
    items = tenant.api.get(f"/accounts/{review.account_id}/contacts").json["items"]
    flags = {c["id"]: c["unsubscribed"] for c in items}
    assert flags == {first: False, second: True}


# ------------------------------------------------------------------------- staff cannot undo


def test_staff_cannot_clear_an_opt_out(sent: tuple[SentReview, str], tenant: TenantHandle) -> None:
    review, token = sent
    contact_id = review.contacts[0]["id"]
    assert (
        _public(tenant).call("POST", f"/unsubscribe/{token}", raw=ONE_CLICK, headers=FORM).status
        == 200
    )
    for who in ("admin", "senior_manager"):
        api = tenant.api if who == "admin" else tenant.as_(tenant.add_staff(who))
        reply = api.patch(f"/contacts/{contact_id}", {"unsubscribed": False})
        assert reply.status == 422, reply.body
        error = reply.json["error"]
        assert error["code"] == "validation_error" and "unsubscribed" in error["fields"]
        assert _contact(review)["unsubscribed"] is True
    # Nothing else in the same PATCH was applied either.
    reply = tenant.api.patch(f"/contacts/{contact_id}", {"name": "Renamed", "unsubscribed": False})
    assert reply.status == 422
    assert _contact(review)["name"] != "Renamed"


def test_staff_may_record_an_opt_out_asked_for_by_phone(
    sent: tuple[SentReview, str], tenant: TenantHandle
) -> None:
    review, _ = sent
    contact_id = review.contacts[0]["id"]
    reply = tenant.api.patch(f"/contacts/{contact_id}", {"unsubscribed": True})
    assert reply.status == 200 and reply.json["unsubscribed"] is True
    assert _contact(review)["unsubscribed"] is True


def test_the_routes_are_in_the_document(tenant: TenantHandle) -> None:
    document = _public(tenant).get("/openapi.json").json
    paths = document["paths"]
    assert set(paths["/unsubscribe/{token}"]) >= {"get", "post"}
    assert "post" in paths["/unsubscribe/{token}/resubscribe"]
    assert "text/html" in str(paths["/unsubscribe/{token}"]["get"]["responses"]["200"])
    assert re.search(r"403", str(paths["/unsubscribe/{token}/resubscribe"]["post"]["responses"]))


def _one_click(tenant: TenantHandle, token: str) -> None:
    reply = _public(tenant).call("POST", f"/unsubscribe/{token}", raw=ONE_CLICK, headers=FORM)
    assert reply.status == 200, reply.body


def test_an_opt_out_outlives_deleting_and_adding_the_contact_again(
    sent: tuple[SentReview, str], tenant: TenantHandle
) -> None:
    review, token = sent
    contact = _contact(review)
    _one_click(tenant, token)
    assert tenant.api.delete(f"/contacts/{contact['id']}").status == 204
    again = tenant.contact(review.account_id, name="Same Person", email=contact["email"])
    assert again["unsubscribed"] is True
    # Another account of the same tenant: the same person, still opted out.
    other = tenant.account()
    elsewhere = tenant.contact(other["id"], name="Same Person", email=contact["email"])
    assert elsewhere["unsubscribed"] is True


def test_an_opt_out_follows_the_address_not_the_record(
    sent: tuple[SentReview, str], tenant: TenantHandle
) -> None:
    review, token = sent
    contact = _contact(review)
    _one_click(tenant, token)
    # A new address is another person's mailbox; moving back brings the opt-out back.
    new_email = f"new-{secrets.token_hex(3)}@client.example"
    moved = tenant.api.patch(f"/contacts/{contact['id']}", {"email": new_email})
    assert moved.status == 200 and moved.json["unsubscribed"] is False, moved.body
    back = tenant.api.patch(f"/contacts/{contact['id']}", {"email": contact["email"]})
    assert back.status == 200 and back.json["unsubscribed"] is True, back.body


def test_subscribing_again_clears_the_remembered_opt_out(
    sent: tuple[SentReview, str], tenant: TenantHandle
) -> None:
    review, token = sent
    contact = _contact(review)
    _one_click(tenant, token)
    browser = FORM | {"Origin": _own_origin(), "Sec-Fetch-Site": "same-origin"}
    reply = _public(tenant).call(
        "POST", f"/unsubscribe/{token}/resubscribe", raw="", headers=browser
    )
    assert reply.status == 200, reply.body
    assert tenant.api.delete(f"/contacts/{contact['id']}").status == 204
    again = tenant.contact(review.account_id, name="Same Person", email=contact["email"])
    assert again["unsubscribed"] is False


def test_an_opt_out_staff_recorded_is_kept_by_address(
    sent: tuple[SentReview, str], tenant: TenantHandle
) -> None:
    review, _ = sent
    contact = _contact(review)
    assert tenant.api.patch(f"/contacts/{contact['id']}", {"unsubscribed": True}).status == 200
    assert tenant.api.delete(f"/contacts/{contact['id']}").status == 204
    again = tenant.contact(review.account_id, name="Same Person", email=contact["email"])
    assert again["unsubscribed"] is True


def test_another_tenants_opt_out_is_its_own(
    sent: tuple[SentReview, str], tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    review, token = sent
    _one_click(tenant, token)
    account = other_tenant.account()
    theirs = other_tenant.contact(
        account["id"], name="Same Person", email=_contact(review)["email"]
    )
    assert theirs["unsubscribed"] is False


# ----------------------------------------------------------------- links and the mail address


def test_a_new_email_revokes_the_links_sent_to_the_old_one(
    client: Any, sent: tuple[SentReview, str], tenant: TenantHandle
) -> None:
    review, token = sent
    public = _public(tenant)
    contact_id = review.contacts[0]["id"]
    assert public.get(f"/r/{token}").status == 200
    new_address = f"moved-{secrets.token_hex(4)}@client.example"
    reply = tenant.api.patch(f"/contacts/{contact_id}", {"email": new_address})
    assert reply.status == 200 and reply.json["email"] == new_address
    assert "links_version" not in reply.json

    # Whoever reads the old mailbox now holds dead links: the survey, its form and the opt-out.
    opened = public.get(f"/r/{token}")
    assert opened.status == 404 and "This link does not work" in opened.text
    assert public.post(f"/r/{token}", {"comment": "from the old mailbox"}).status == 404
    assert public.get(f"/unsubscribe/{token}").status == 404
    assert public.call("POST", f"/unsubscribe/{token}", raw=ONE_CLICK, headers=FORM).status == 404
    assert _contact(review)["unsubscribed"] is False

    # A resend mails the new address a new link, which works.
    reply = tenant.api.post(f"/reviews/{review.review_id}/resend", {"contact_ids": [contact_id]})
    assert reply.status == 202, reply.body
    drain(client)
    (mail,) = mails_to(new_address)
    fresh = token_in(mail)
    assert fresh != token
    assert public.get(f"/r/{fresh}").status == 200
    assert public.get(f"/r/{token}").status == 404


def test_saving_the_same_email_keeps_the_links(
    sent: tuple[SentReview, str], tenant: TenantHandle
) -> None:
    review, token = sent
    contact = review.contacts[0]
    reply = tenant.api.patch(
        f"/contacts/{contact['id']}", {"email": contact["email"], "title": "CTO"}
    )
    assert reply.status == 200 and reply.json["title"] == "CTO"
    assert _public(tenant).get(f"/r/{token}").status == 200


def test_a_resend_after_the_window_mails_a_new_link_and_never_reopens_the_old(
    client: Any,
    sent: tuple[SentReview, str],
    tenant: TenantHandle,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from chalicelib.services import surveys

    review, token = sent
    public = _public(tenant)
    contact = review.contacts[0]
    later = surveys.now() + timedelta(days=surveys.WINDOW_DAYS + 1)
    monkeypatch.setattr(surveys, "clock", lambda: later)
    assert public.get(f"/r/{token}").status == 410

    reply = tenant.api.post(f"/reviews/{review.review_id}/resend", {"contact_ids": [contact["id"]]})
    assert reply.status == 202, reply.body
    drain(client)
    mails = mails_to(contact["email"])
    assert len(mails) == 2
    fresh = token_in(mails[-1])
    assert fresh != token
    assert public.get(f"/r/{fresh}").status == 200
    # The resend opened a new window on the invitation; the old link stays closed.
    old = public.get(f"/r/{token}")
    assert old.status == 410 and "This survey has closed" in old.text
    assert public.post(f"/r/{token}", {"comment": "late"}).status == 410


def test_a_link_whose_delivery_ended_unknown_still_expires(
    client: Any, tenant: TenantHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The provider timed out after the request left: the mail may have arrived, with its link,
    but no send was recorded, so the invitation never got a window. The link still closes."""
    from chalicelib.mail import message
    from chalicelib.services import surveys

    review = make_review(tenant)
    reply = tenant.api.post(f"/reviews/{review.review_id}/send")
    assert reply.status == 202, reply.body
    issued: list[str] = []
    real_issue = surveys.issue_token

    def recording(*args: Any, **kwargs: Any) -> str:
        issued.append(real_issue(*args, **kwargs))
        return issued[-1]

    def timeout(mail: Any, smtp: Any = None) -> str:
        raise TimeoutError("read timed out")

    real_send = message.send
    monkeypatch.setattr(surveys, "issue_token", recording)
    monkeypatch.setattr(message, "send", timeout)
    queued = receive_all()  # the queue is shared: other tests' events may be on it too
    ours = [m for m in queued if json.loads(m["Body"]).get("survey_id") == review.review_id]
    assert invoke_mail_handler(client, ours) == {"batchItemFailures": []}
    monkeypatch.setattr(message, "send", real_send)
    assert invoke_mail_handler(client, [m for m in queued if m not in ours]) == {
        "batchItemFailures": []
    }
    row = tenant.api.get(f"/reviews/{review.review_id}/analytics").json["recipients"][0]
    assert row["delivery"] == "unknown" and row["window_closes_at"] is None
    (token,) = issued  # the link that may be in the client's inbox

    public = _public(tenant)
    assert public.get(f"/r/{token}").status == 200
    later = surveys.now() + timedelta(days=surveys.WINDOW_DAYS, seconds=1)
    monkeypatch.setattr(surveys, "clock", lambda: later)
    assert public.get(f"/r/{token}").status == 410
    assert public.post(f"/r/{token}", {"comment": "late"}).status == 410
    # Its opt-out keeps working for the token's whole life.
    assert public.call("POST", f"/unsubscribe/{token}", raw=ONE_CLICK, headers=FORM).status == 200
