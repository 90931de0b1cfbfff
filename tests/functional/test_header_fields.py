"""Names and titles that reach a mail header (the From display name, the Subject) are one line:
every request field that feeds one refuses line breaks and control characters with a 422 naming
the field and writes nothing; ordinary names (accents, apostrophes, emoji, right-to-left script)
still pass; and a name stored before the rule existed cannot break sending."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from support.api import PASSWORD, Reply, TenantHandle, new_tenant
from survey_support import drain, mails_to, make_review

CHARS = {
    "CR": "\r",
    "LF": "\n",
    "CRLF": "\r\n",
    "VT": "\x0b",
    "NEL": "\x85",
    "LS": "\u2028",
    "PS": "\u2029",
}
MARK = "evil.example"
FIXED = {
    "account": "Fixed Account",
    "contact": "Fixed Contact",
    "review": "Fixed Review",
    "sender": "Northwind CS",
}
GOOD_NAME = "Zoë O'Brien-Müller 🎉 شركة"


@dataclass
class Shop:
    """One tenant for the whole module: every refused change must leave it as it was."""

    tenant: TenantHandle
    account_id: str
    contact_id: str
    review_id: str

    @property
    def api(self) -> Any:
        return self.tenant.api


@pytest.fixture(scope="module")
def shop(client: Any) -> Shop:
    tenant = new_tenant(client)
    account = tenant.account(name=FIXED["account"])
    contact = tenant.contact(account["id"], name=FIXED["contact"])
    review = tenant.api.post(
        f"/accounts/{account['id']}/reviews",
        {"title": FIXED["review"], "review_date": "2030-01-15"},
    )
    assert review.status == 201, review.body
    settings = tenant.api.put("/settings", {"email_from_name": FIXED["sender"]})
    assert settings.status == 200, settings.body
    return Shop(tenant, account["id"], contact["id"], review.json["id"])


def _unique_email(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}@client.example"


def _signup(shop: Shop, **fields: str) -> tuple[Reply, str]:
    email = _unique_email("admin")
    body = {
        "company": "Contoso Partners",
        "industry": "IT Services",
        "country": "US",
        "staff_size": 12,
        "admin_email": email,
        "admin_name": "Avery Admin",
        "password": PASSWORD,
        **fields,
    }
    return shop.api.post("/signup", body, token=""), email


def _nothing_signed_up(shop: Shop, email: str) -> None:
    reply = shop.api.post("/auth/login", {"email": email, "password": PASSWORD}, token="")
    assert reply.status == 401, reply.body


def _names(reply: Reply, key: str = "name") -> list[str]:
    assert reply.status == 200, reply.body
    return [str(item[key]) for item in reply.json["items"]]


@dataclass
class Case:
    field: str
    send: Callable[[Shop, str], Any]
    check_unchanged: Callable[[Shop, Any], None]


def _post_account(shop: Shop, value: str) -> Reply:
    return shop.api.post("/accounts", {"name": value})


def _no_new_account(shop: Shop, _: Any) -> None:
    assert not [n for n in _names(shop.api.get("/accounts?limit=200")) if MARK in n]


def _patch_account(shop: Shop, value: str) -> Reply:
    return shop.api.patch(f"/accounts/{shop.account_id}", {"name": value})


def _account_kept(shop: Shop, _: Any) -> None:
    assert shop.api.get(f"/accounts/{shop.account_id}").json["name"] == FIXED["account"]


def _post_contact(shop: Shop, value: str) -> tuple[Reply, str]:
    email = _unique_email("contact")
    body = {"name": value, "email": email}
    return shop.api.post(f"/accounts/{shop.account_id}/contacts", body), email


def _no_new_contact(shop: Shop, sent: Any) -> None:
    contacts = shop.api.get(f"/accounts/{shop.account_id}/contacts?limit=200")
    assert _names(contacts) == [FIXED["contact"]]
    assert sent[1] not in _names(contacts, "email")


def _patch_contact(shop: Shop, value: str) -> Reply:
    return shop.api.patch(f"/contacts/{shop.contact_id}", {"name": value})


def _contact_kept(shop: Shop, _: Any) -> None:
    contacts = shop.api.get(f"/accounts/{shop.account_id}/contacts?limit=200")
    assert _names(contacts) == [FIXED["contact"]]


def _invite_user(shop: Shop, value: str) -> tuple[Reply, str]:
    email = _unique_email("staff")
    body = {"email": email, "name": value, "role": "account_manager"}
    return shop.api.post("/users", body), email


def _no_new_user(shop: Shop, sent: Any) -> None:
    users = shop.api.get("/users?limit=200")
    assert sent[1] not in _names(users, "email")
    assert not [n for n in _names(users) if MARK in n]


def _put_sender(shop: Shop, value: str) -> Reply:
    return shop.api.put("/settings", {"email_from_name": value})


def _sender_kept(shop: Shop, _: Any) -> None:
    assert shop.api.get("/settings").json["email_from_name"] == FIXED["sender"]


def _post_review(shop: Shop, value: str) -> Reply:
    body = {"title": value, "review_date": "2030-01-15"}
    return shop.api.post(f"/accounts/{shop.account_id}/reviews", body)


def _no_new_review(shop: Shop, _: Any) -> None:
    reviews = shop.api.get(f"/accounts/{shop.account_id}/reviews?limit=200")
    assert _names(reviews, "title") == [FIXED["review"]]


def _patch_review(shop: Shop, value: str) -> Reply:
    return shop.api.patch(f"/reviews/{shop.review_id}", {"title": value})


def _review_kept(shop: Shop, _: Any) -> None:
    assert shop.api.get(f"/reviews/{shop.review_id}").json["title"] == FIXED["review"]


def _signup_company(shop: Shop, value: str) -> tuple[Reply, str]:
    return _signup(shop, company=value)


def _signup_admin_name(shop: Shop, value: str) -> tuple[Reply, str]:
    return _signup(shop, admin_name=value)


def _no_signup(shop: Shop, sent: Any) -> None:
    _nothing_signed_up(shop, sent[1])


CASES = {
    "account-create": Case("name", _post_account, _no_new_account),
    "account-patch": Case("name", _patch_account, _account_kept),
    "contact-create": Case("name", _post_contact, _no_new_contact),
    "contact-patch": Case("name", _patch_contact, _contact_kept),
    "user-invite": Case("name", _invite_user, _no_new_user),
    "settings-sender-name": Case("email_from_name", _put_sender, _sender_kept),
    "review-create": Case("title", _post_review, _no_new_review),
    "review-patch": Case("title", _patch_review, _review_kept),
    "signup-company": Case("company", _signup_company, _no_signup),
    "signup-admin-name": Case("admin_name", _signup_admin_name, _no_signup),
}


def _reply(sent: Any) -> Reply:
    return sent[0] if isinstance(sent, tuple) else sent


@pytest.mark.parametrize("char", CHARS.values(), ids=CHARS.keys())
@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_a_line_break_is_refused_naming_the_field_and_nothing_is_written(
    shop: Shop, case: Case, char: str
) -> None:
    sent = case.send(shop, f"Acme{char}Bcc: x@{MARK}")
    reply = _reply(sent)

    assert reply.status == 422, reply.body
    error = reply.json["error"]
    assert error["code"] == "validation_error", error
    assert case.field in error["fields"], error
    assert "line breaks" in error["fields"][case.field]
    case.check_unchanged(shop, sent)


@pytest.mark.parametrize(
    "value",
    ["Acme\tCorp", "Acme\x0cCorp", "Acme\x00Corp", "Acme\x7fCorp", "Acme\x9bCorp"],
    ids=["TAB", "FF", "NUL", "DEL", "CSI"],
)
@pytest.mark.parametrize("case", ["account-create", "settings-sender-name"])
def test_other_control_characters_are_refused(shop: Shop, case: str, value: str) -> None:
    sent = CASES[case].send(shop, value.replace("Corp", f"Corp {MARK}"))
    reply = _reply(sent)

    assert reply.status == 422, reply.body
    assert CASES[case].field in reply.json["error"]["fields"]
    CASES[case].check_unchanged(shop, sent)


@pytest.mark.parametrize("control", ["\u202e", "\u2067"], ids=["RLO", "RLI"])
def test_a_bidirectional_override_in_the_sender_name_is_refused(shop: Shop, control: str) -> None:
    reply = _put_sender(shop, f"Bank{control}{MARK}")

    assert reply.status == 422, reply.body
    assert "bidirectional" in reply.json["error"]["fields"]["email_from_name"]
    _sender_kept(shop, None)


def test_an_email_with_a_line_separator_is_refused(shop: Shop) -> None:
    reply = shop.api.post(
        f"/accounts/{shop.account_id}/contacts",
        {"name": "Dana", "email": "dana\u2028@client.example"},
    )

    assert reply.status == 422, reply.body
    assert "email" in reply.json["error"]["fields"]
    _contact_kept(shop, None)


def test_multi_line_text_keeps_its_newlines(shop: Shop) -> None:
    intro = "Thanks for a great quarter.\r\nHere is where we stand.\n\n- Delivery\tdone"
    reply = shop.api.post(
        f"/accounts/{shop.account_id}/reviews",
        {"title": "Multi-line intro", "review_date": "2030-01-15", "intro_message": intro},
    )

    assert reply.status == 201, reply.body
    assert shop.api.get(f"/reviews/{reply.json['id']}").json["intro_message"] == intro


def test_ordinary_names_are_accepted_in_every_field(client: Any) -> None:
    tenant = new_tenant(client, company=f"Société {GOOD_NAME}", admin_name=GOOD_NAME)
    assert tenant.api.get("/me").json["tenant"]["name"] == f"Société {GOOD_NAME}"
    assert tenant.api.get("/me").json["user"]["name"] == GOOD_NAME

    account = tenant.account(name=GOOD_NAME)
    assert tenant.api.get(f"/accounts/{account['id']}").json["name"] == GOOD_NAME
    renamed = tenant.api.patch(f"/accounts/{account['id']}", {"name": f"{GOOD_NAME} 2"})
    assert renamed.status == 200 and renamed.json["name"] == f"{GOOD_NAME} 2"

    contact = tenant.contact(account["id"], name=GOOD_NAME)
    assert contact["name"] == GOOD_NAME
    patched = tenant.api.patch(f"/contacts/{contact['id']}", {"name": "D'Arcy Ñúñez 👩\u200d💻"})
    assert patched.status == 200 and patched.json["name"] == "D'Arcy Ñúñez 👩\u200d💻"

    staff = tenant.api.post(
        "/users", {"email": _unique_email("staff"), "name": GOOD_NAME, "role": "account_manager"}
    )
    assert staff.status == 201 and staff.json["name"] == GOOD_NAME

    settings = tenant.api.put("/settings", {"email_from_name": GOOD_NAME})
    assert settings.status == 200 and settings.json["email_from_name"] == GOOD_NAME

    review = tenant.api.post(
        f"/accounts/{account['id']}/reviews", {"title": GOOD_NAME, "review_date": "2030-01-15"}
    )
    assert review.status == 201 and review.json["title"] == GOOD_NAME


def test_an_ordinary_sender_name_and_title_reach_the_mail_headers_intact(
    client: Any, tenant: TenantHandle
) -> None:
    assert tenant.api.put("/settings", {"email_from_name": "Zoë O'Brien 🎉"}).status == 200
    review = make_review(tenant, title="Q3 “Überblick” ✓")
    assert tenant.api.post(f"/reviews/{review.review_id}/send").status == 202
    drain(client)

    (mail,) = mails_to(review.contacts[0]["email"])
    assert mail["From"].addresses[0].display_name == "Zoë O'Brien 🎉"
    assert mail["Subject"] == "Northwind Services: Q3 “Überblick” ✓"


def test_names_stored_before_the_rule_cannot_break_sending(
    client: Any, tenant: TenantHandle
) -> None:
    """A company, review title and contact name saved with line breaks (before validation
    refused them) still send: one mail, no added header, delivery "sent" (not "unknown")."""
    from chalicelib.store import accounts as account_store
    from chalicelib.store import reviews as review_store
    from chalicelib.store.tenants import TenantModel

    review = make_review(tenant)
    contact = review.contacts[0]
    TenantModel(tenant.tenant_id).update(
        actions=[TenantModel.name.set(f"Northwind\r\nBcc: x@{MARK}")]
    )
    review_store.update_review(tenant.tenant_id, review.review_id, {"title": "Q3\u2028review"})
    account_store.update_contact(tenant.tenant_id, contact["id"], {"name": f"Dana\nBcc: y@{MARK}"})

    assert tenant.api.post(f"/reviews/{review.review_id}/send").status == 202
    drain(client)

    (mail,) = mails_to(contact["email"])
    assert "Bcc" not in mail
    assert mail.get_all("To") == [contact["email"]]
    assert mail["From"].addresses[0].display_name == f"Northwind Bcc: x@{MARK}"
    assert mail["Subject"] == f"Northwind Bcc: x@{MARK}: Q3 review"
    rows = tenant.api.get(f"/reviews/{review.review_id}/analytics").json["recipients"]
    assert [r["delivery"] for r in rows] == ["sent"]
