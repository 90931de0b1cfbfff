"""Sending through SES: the raw multipart mail moto recorded, exactly one mail per recipient and
purpose across retried messages and failures, and bounces/complaints suppressing contacts."""

from __future__ import annotations

import json
import secrets
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from support.api import TenantHandle
from survey_support import (
    drain,
    invoke_mail_handler,
    mails_to,
    make_review,
    receive_all,
    send_review,
    text_of,
)


def _queued(tenant: TenantHandle, review_id: str) -> list[dict[str, Any]]:
    reply = tenant.api.post(f"/reviews/{review_id}/send")
    assert reply.status == 202, reply.body
    messages = receive_all()
    assert messages
    return messages


def test_mail_is_multipart_with_both_parts_and_one_click_unsubscribe(
    client: Any, tenant: TenantHandle
) -> None:
    review = make_review(tenant)
    contact = review.contacts[0]
    send_review(client, review)
    (mail,) = mails_to(contact["email"])

    assert mail.get_content_type() == "multipart/alternative"
    parts = [p.get_content_type() for p in mail.iter_parts()]
    assert parts == ["text/plain", "text/html"]
    text = text_of(mail)
    html_part = mail.get_body(preferencelist=("html",))
    assert html_part is not None
    html = str(html_part.get_content())
    link = next(line for line in text.splitlines() if "/r/" in line).strip()
    assert link in html  # the same link in both parts
    assert "Q3 business review" in mail["Subject"]
    assert "Northwind Services" in mail["From"] and "pulse@pulse.example" in mail["From"]
    unsubscribe = mail["List-Unsubscribe"]
    assert unsubscribe.startswith("<http") and "/unsubscribe/" in unsubscribe
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mail["Message-ID"]
    # The unsubscribe link in the header works.
    path = unsubscribe.strip("<>").split("://", 1)[1].split("/", 1)[1]
    reply = tenant.api.call(
        "POST",
        "/" + path,
        raw="List-Unsubscribe=One-Click",
        token="",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert reply.status == 200


def test_the_tenants_verified_sender_is_used(client: Any, tenant: TenantHandle) -> None:
    domain = f"northwind-{secrets.token_hex(4)}.example"
    added = tenant.api.post("/settings/sender-identities", {"domain": domain})
    assert added.status == 201 and added.json["verified"] is True, added.body
    reply = tenant.api.put(
        "/settings", {"email_from": f"success@{domain}", "email_from_name": "Northwind CS"}
    )
    assert reply.status == 200, reply.body
    review = make_review(tenant)
    send_review(client, review)
    (mail,) = mails_to(review.contacts[0]["email"])
    assert mail["From"] == f"Northwind CS <success@{domain}>"


def test_a_stored_sender_the_tenant_does_not_own_is_not_used(
    client: Any, tenant: TenantHandle
) -> None:
    # A value written before sender identities existed, naming an address SES has verified for
    # the deployment but that is no identity of this tenant: mail goes from the platform.
    from chalicelib.settings import get_settings
    from chalicelib.store import tenants as tenant_store

    address = f"ceo@bank-{secrets.token_hex(4)}.example"
    boto3.client("ses").verify_email_identity(EmailAddress=address)
    stored = tenant_store.get_tenant(tenant.tenant_id).settings
    tenant_store.update_tenant_settings(tenant.tenant_id, {**stored, "email_from": address})
    review = make_review(tenant)
    send_review(client, review)
    (mail,) = mails_to(review.contacts[0]["email"])
    assert address not in mail["From"]
    assert mail["From"].addresses[0].addr_spec == get_settings().mail_from
    boto3.client("ses").delete_identity(Identity=address)


def test_a_redelivered_message_sends_nothing_twice(client: Any, tenant: TenantHandle) -> None:
    review = make_review(tenant, recipients=2)
    messages = _queued(tenant, review.review_id)
    # The same message twice in a batch, then the whole batch again (new message ids).
    assert invoke_mail_handler(client, [messages[0], messages[0], messages[1]]) == {
        "batchItemFailures": []
    }
    again = [{**m, "MessageId": None} for m in messages]
    assert invoke_mail_handler(client, again) == {"batchItemFailures": []}
    for contact in review.contacts:
        assert len(mails_to(contact["email"])) == 1
    rows = tenant.api.get(f"/reviews/{review.review_id}/analytics").json["recipients"]
    assert all(r["delivery"] == "sent" and r["sent_at"] for r in rows)


def test_a_refused_send_is_retried_and_then_sent_once(
    client: Any, tenant: TenantHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.mail import message

    review = make_review(tenant)
    messages = _queued(tenant, review.review_id)
    real_send = message.send
    calls = {"n": 0}

    def flaky(mail: Any, smtp: Any = None) -> str:
        calls["n"] += 1
        if calls["n"] == 1:
            raise ClientError(
                {"Error": {"Code": "Throttling", "Message": "slow down"}}, "SendRawEmail"
            )
        return real_send(mail, smtp=smtp)

    monkeypatch.setattr(message, "send", flaky)
    first = invoke_mail_handler(client, messages)
    assert len(first["batchItemFailures"]) == 1  # SES refused: the queue will retry it
    assert mails_to(review.contacts[0]["email"]) == []
    assert invoke_mail_handler(client, messages) == {"batchItemFailures": []}
    assert invoke_mail_handler(client, messages) == {"batchItemFailures": []}
    assert len(mails_to(review.contacts[0]["email"])) == 1


def test_an_ambiguous_failure_never_risks_a_second_mail(
    client: Any, tenant: TenantHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A timeout after the request left: SES may have the mail. It is not sent again."""
    from chalicelib.mail import message

    review = make_review(tenant)
    messages = _queued(tenant, review.review_id)

    def timeout(mail: Any, smtp: Any = None) -> str:
        raise TimeoutError("read timed out")

    monkeypatch.setattr(message, "send", timeout)
    assert invoke_mail_handler(client, messages) == {"batchItemFailures": []}
    monkeypatch.undo()
    assert invoke_mail_handler(client, messages) == {"batchItemFailures": []}
    assert mails_to(review.contacts[0]["email"]) == []
    row = tenant.api.get(f"/reviews/{review.review_id}/analytics").json["recipients"][0]
    assert row["delivery"] == "unknown"


def test_a_crash_after_ses_accepted_the_mail_sends_no_second_copy(
    client: Any, tenant: TenantHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The handler dies between SES accepting the mail and recording it: the redelivered
    message first waits for the lease (another sender may be busy), then gives up."""
    from chalicelib.services import surveys
    from chalicelib.store import invitations

    review = make_review(tenant)
    messages = _queued(tenant, review.review_id)

    def crash(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("Lambda killed")

    monkeypatch.setattr(invitations, "mark_sent", crash)
    assert len(invoke_mail_handler(client, messages)["batchItemFailures"]) == 1
    monkeypatch.undo()
    assert len(mails_to(review.contacts[0]["email"])) == 1
    # Redelivered within the lease: "busy", retried later.
    assert len(invoke_mail_handler(client, messages)["batchItemFailures"]) == 1
    monkeypatch.setattr(surveys, "SEND_LEASE_SECONDS", 0)
    assert invoke_mail_handler(client, messages) == {"batchItemFailures": []}
    assert len(mails_to(review.contacts[0]["email"])) == 1


def _ses_message_id(tenant: TenantHandle, contact_id: str) -> str:
    from chalicelib.store.invitations import SendLedgerModel

    entries = [e for e in SendLedgerModel.query(tenant.tenant_id) if e.contact_id == contact_id]
    assert entries and entries[0].message_id
    return str(entries[0].message_id)


def _sns(client: Any, notification: dict[str, Any]) -> dict[str, Any]:
    event = client.events.generate_sns_event(message=json.dumps(notification))
    return dict(client.lambda_.invoke("ses_events", event).payload)


def test_bounces_and_complaints_suppress_the_contact(client: Any, tenant: TenantHandle) -> None:
    review = make_review(tenant, recipients=3)
    send_review(client, review)
    bounced, complained, transient = review.contacts

    def notification(kind: str, contact: dict[str, Any], **extra: Any) -> dict[str, Any]:
        return {
            "notificationType": kind,
            "mail": {
                "messageId": _ses_message_id(tenant, contact["id"]),
                "destination": [contact["email"]],
            },
            **extra,
        }

    permanent = {
        "bounceType": "Permanent",
        "bouncedRecipients": [{"emailAddress": bounced["email"]}],
    }
    assert _sns(client, notification("Bounce", bounced, bounce=permanent)) == {"suppressed": 1}
    complaint = {"complainedRecipients": [{"emailAddress": complained["email"]}]}
    assert _sns(client, notification("Complaint", complained, complaint=complaint)) == {
        "suppressed": 1
    }
    soft = {"bounceType": "Transient", "bouncedRecipients": [{"emailAddress": transient["email"]}]}
    assert _sns(client, notification("Bounce", transient, bounce=soft)) == {"suppressed": 0}
    assert _sns(
        client,
        {"notificationType": "Bounce", "mail": {"messageId": "unknown"}, "bounce": permanent},
    ) == {"suppressed": 0}

    contacts = {
        c["id"]: c for c in tenant.api.get(f"/accounts/{review.account_id}/contacts").json["items"]
    }
    assert contacts[bounced["id"]]["suppressed"] and contacts[complained["id"]]["suppressed"]
    assert not contacts[transient["id"]]["suppressed"]

    reply = tenant.api.post(
        f"/reviews/{review.review_id}/resend", {"contact_ids": [c["id"] for c in review.contacts]}
    )
    assert sorted(reply.json["skipped_contact_ids"]) == sorted([bounced["id"], complained["id"]])
    drain(client)
    assert len(mails_to(bounced["email"])) == 1 and len(mails_to(transient["email"])) == 2


def test_an_unknown_message_type_is_dropped_not_retried(client: Any) -> None:
    result = invoke_mail_handler(client, [{"Body": json.dumps({"type": "mystery"})}])
    assert result == {"batchItemFailures": []}
