"""Helpers for the survey tests: a sent review, the mail queue drained through the real handler,
and the raw mail moto recorded."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from support.api import Api, TenantHandle

ACCOUNT = "123456789012"
REGION = "us-east-1"
LINK = re.compile(r"https?://[^\s<>\"]+/r/([A-Za-z0-9_-]{43})")


def queue_url() -> str:
    from chalicelib.queues import queue_url as url

    return url("mail")


def sqs_event(messages: list[dict[str, Any]]) -> dict[str, Any]:
    """An SQS event as the event source mapping delivers it, with unique message ids."""
    return {
        "Records": [
            {
                "messageId": m.get("MessageId") or str(uuid.uuid4()),
                "receiptHandle": m.get("ReceiptHandle", "rh"),
                "body": m["Body"],
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1700000000000",
                    "SenderId": ACCOUNT,
                    "ApproximateFirstReceiveTimestamp": "1700000000000",
                },
                "messageAttributes": {},
                "md5OfBody": "0",
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT}:pulse-test-mail",
                "awsRegion": REGION,
            }
            for m in messages
        ]
    }


def receive_all() -> list[dict[str, Any]]:
    """Take every message off the mail queue (and delete it)."""
    import boto3

    sqs = boto3.client("sqs")
    taken: list[dict[str, Any]] = []
    while True:
        got = sqs.receive_message(QueueUrl=queue_url(), MaxNumberOfMessages=10, WaitTimeSeconds=0)
        messages = got.get("Messages") or []
        if not messages:
            return taken
        for m in messages:
            sqs.delete_message(QueueUrl=queue_url(), ReceiptHandle=m["ReceiptHandle"])
        taken.extend(messages)


def invoke_mail_handler(client: Any, messages: list[dict[str, Any]]) -> dict[str, Any]:
    reply = client.lambda_.invoke("survey_mail_queue", sqs_event(messages))
    return dict(reply.payload or {})


def drain(client: Any, rounds: int = 5) -> list[dict[str, Any]]:
    """Run the real queue handler over everything queued until the queue stays empty (events
    queued by handled messages run in the next round). Returns the message bodies handled."""
    handled: list[dict[str, Any]] = []
    for _ in range(rounds):
        messages = receive_all()
        if not messages:
            break
        for start in range(0, len(messages), 10):
            batch = messages[start : start + 10]
            result = invoke_mail_handler(client, batch)
            assert not result.get("batchItemFailures"), result
        handled.extend(json.loads(m["Body"]) for m in messages)
    return handled


def ses_raw_messages() -> list[Any]:
    from moto.ses.models import ses_backends

    return [m for m in ses_backends[ACCOUNT][REGION].sent_messages if hasattr(m, "raw_data")]


def mails_to(address: str) -> list[EmailMessage]:
    out = []
    for m in ses_raw_messages():
        if address in m.destinations:
            raw = m.raw_data.encode() if isinstance(m.raw_data, str) else m.raw_data
            out.append(message_from_bytes(raw, policy=policy.default))
    return out


def text_of(mail: EmailMessage) -> str:
    part = mail.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def token_in(mail: EmailMessage) -> str:
    match = LINK.search(text_of(mail))
    assert match, text_of(mail)
    return match.group(1)


@dataclass
class SentReview:
    tenant: TenantHandle
    account_id: str
    review_id: str
    contacts: list[dict[str, Any]]

    @property
    def api(self) -> Api:
        return self.tenant.api


def make_review(
    tenant: TenantHandle,
    *,
    recipients: int = 1,
    scoring_required: bool = True,
    owner: Any = None,
    **fields: Any,
) -> SentReview:
    account = tenant.account(owner=owner)
    contacts = [tenant.contact(account["id"], name=f"Client {i}") for i in range(recipients)]
    body = {
        "title": "Q3 business review",
        "review_date": "2030-01-15",
        "intro_message": "Thanks for a great quarter.\nHere is where we stand.",
        "sections": [{"heading": "Delivery", "body": "All milestones met."}],
        "scoring_required": scoring_required,
        **fields,
    }
    reply = tenant.api.post(f"/accounts/{account['id']}/reviews", body)
    assert reply.status == 201, reply.body
    review_id = reply.json["id"]
    reply = tenant.api.put(
        f"/reviews/{review_id}/recipients", {"contact_ids": [c["id"] for c in contacts]}
    )
    assert reply.status == 200, reply.body
    return SentReview(tenant, account["id"], review_id, contacts)


def send_review(client: Any, review: SentReview) -> dict[str, str]:
    """Send and deliver; returns each contact's link token (from the mail moto recorded)."""
    reply = review.api.post(f"/reviews/{review.review_id}/send")
    assert reply.status == 202, reply.body
    drain(client)
    tokens = {}
    for contact in review.contacts:
        mails = mails_to(contact["email"])
        assert mails, f"no mail to {contact['email']}"
        tokens[contact["id"]] = token_in(mails[-1])
    return tokens


FULL_ANSWER = {
    "scores": {"service": 5, "relationship": 4, "value": 4, "quality": 5},
    "nps": 9,
    "comment": "Great quarter",
    "follow_up": False,
}
