"""Survey costs for ``make bench``: DynamoDB requests per survey open and per submit, per mail
sent by the queue handler, and the survey page's size in bytes.

``rows(ctx)`` builds a review with one recipient through the API, lets the real ``mail`` queue
handler send it (moto records the mail; the link is read from it), then meters each step with
``chalicelib.store.metering``. ``tests/functional/test_bench_surveys.py`` holds the figures to
their budgets.
"""

from __future__ import annotations

import json
import re
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

# Budgets (DynamoDB requests). Open: token, contact (is the link revoked?), invitation, review,
# its actions; +1 write the first time. Submit, the response itself: token, contact, invitation,
# review, one transaction, the owner-mail claim (a conditional write on the invitation), and one
# read back (SUBMIT_CORE_BUDGET). On top come the dashboard's read model (``insights``: a read and
# a conditional write per item it keeps: the month's histograms, the workspace row, and on a
# first response or a new comment the review and comment entries, plus one Query counting
# responses).
OPEN_BUDGET = 6
SUBMIT_CORE_BUDGET = 7
SUBMIT_BUDGET = 16
READ_MODEL_TABLE = "insights"
# A survey page with a short review must stay small: no scripts, one embedded stylesheet.
PAGE_BYTES_BUDGET = 16_000

LINK = re.compile(r"/r/([A-Za-z0-9_-]{43})")
ANSWER = {
    "scores": {"service": 5, "relationship": 4, "value": 4, "quality": 5},
    "nps": 9,
    "comment": "Good quarter",
    "follow_up": False,
}


@dataclass
class Measured:
    label: str
    meter: Any
    status: int
    note: str = ""
    budget: int | None = None  # the most DynamoDB requests it may make (None: not budgeted)

    @property
    def read_model_calls(self) -> int:
        """Requests made for the dashboard's read model: its own table, plus the Query counting
        a review's responses and the read of the comment it copies."""
        return sum(1 for r in self.meter.records if for_read_model(r))


def for_read_model(call: Any) -> bool:
    return (
        call.table.endswith(f"-{READ_MODEL_TABLE}")
        or (call.operation == "Query" and call.table.endswith("-invitations"))
        or (call.operation == "GetItem" and call.table.endswith("-survey-comments"))
    )


def _request(client: Any, method: str, path: str, body: Any = None, token: str = "") -> Any:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    payload = json.dumps(body) if body is not None else None
    return client.http.request(method, path, headers=headers, body=payload)


def _ok(response: Any, status: int = 200) -> Any:
    if response.status_code != status:
        raise RuntimeError(
            f"expected {status}, got {response.status_code}: {response.body[:300]!r}"
        )
    return json.loads(response.body) if response.body else None


def _drain(client: Any, tenant_id: str) -> None:
    """Deliver what the mail queue holds for ``tenant_id`` through the real handler. Messages of
    other tenants (the test suite shares one queue) are left alone, so they are never counted."""
    from chalicelib.clients import client as aws
    from chalicelib.queues import queue_url

    sqs = aws("sqs")
    while True:
        got = sqs.receive_message(QueueUrl=queue_url("mail"), MaxNumberOfMessages=10)
        received = got.get("Messages") or []
        if not received:
            return
        messages = [m for m in received if tenant_id in m["Body"]]
        if not messages:
            continue
        records = [
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:mail",
                "awsRegion": "us-east-1",
            }
            for m in messages
        ]
        client.lambda_.invoke("survey_mail_queue", {"Records": records})
        for m in messages:
            sqs.delete_message(QueueUrl=queue_url("mail"), ReceiptHandle=m["ReceiptHandle"])


def _token_for(email: str) -> str:
    from moto.ses.models import ses_backends

    for message in reversed(ses_backends["123456789012"]["us-east-1"].sent_messages):
        if email in getattr(message, "destinations", []):
            match = LINK.search(str(message.raw_data))
            if match:
                return match.group(1)
    raise RuntimeError(f"no survey mail to {email}")


def measure(client: Any, admin_token: str) -> tuple[list[Measured], int]:
    """Meter one review's life; returns the measurements and the page size in bytes."""
    from chalicelib.store.metering import count_dynamodb

    tenant_id = _ok(_request(client, "GET", "/me", token=admin_token))["tenant"]["id"]
    account = _ok(
        _request(client, "POST", "/accounts", {"name": "Bench Survey Co"}, admin_token), 201
    )
    email = f"client-{secrets.token_hex(4)}@client.example"
    contact = _ok(
        _request(
            client,
            "POST",
            f"/accounts/{account['id']}/contacts",
            {"name": "Dana Client", "email": email},
            admin_token,
        ),
        201,
    )
    review = _ok(
        _request(
            client,
            "POST",
            f"/accounts/{account['id']}/reviews",
            {
                "title": "Q3 business review",
                "review_date": "2030-01-15",
                "intro_message": "Thank you for a strong quarter. Here is where we stand.",
                "sections": [
                    {"heading": "Delivery", "body": "Every milestone met; two ahead of plan."},
                    {"heading": "Next quarter", "body": "Roll-out to the second region."},
                ],
            },
            admin_token,
        ),
        201,
    )
    path = f"/reviews/{review['id']}"
    _ok(
        _request(client, "PUT", f"{path}/recipients", {"contact_ids": [contact["id"]]}, admin_token)
    )
    _ok(_request(client, "POST", f"{path}/actions", {"title": "Roadmap call"}, admin_token), 201)

    out: list[Measured] = []
    with count_dynamodb() as meter:
        response = _request(client, "POST", f"{path}/send", token=admin_token)
    out.append(Measured("POST /reviews/{id}/send (1 recipient)", meter, response.status_code))
    with count_dynamodb() as meter:
        _drain(client, tenant_id)
    out.append(
        Measured("mail handler: send one invitation", meter, 0, "ledger claim + token + mark")
    )
    token = _token_for(email)

    with count_dynamodb() as meter:
        page = _request(client, "GET", f"/r/{token}")
    size = len(page.body)
    out.append(
        Measured(
            "GET /r/{token} (first open)", meter, page.status_code, f"page {size} B", OPEN_BUDGET
        )
    )
    with count_dynamodb() as meter:
        again = _request(client, "GET", f"/r/{token}")
    out.append(
        Measured("GET /r/{token} (opened before)", meter, again.status_code, "", OPEN_BUDGET - 1)
    )
    with count_dynamodb() as meter:
        first = _request(client, "POST", f"/r/{token}", ANSWER)
    out.append(
        Measured("POST /r/{token} (first submit)", meter, first.status_code, "", SUBMIT_BUDGET)
    )
    with count_dynamodb() as meter:
        update = _request(client, "POST", f"/r/{token}", {**ANSWER, "nps": 10})
    out.append(Measured("POST /r/{token} (update)", meter, update.status_code, "", SUBMIT_BUDGET))
    for m in out[-2:]:
        m.note = (
            f"1 transaction; {m.read_model_calls} of {m.meter.calls} requests keep the "
            "dashboard's read model"
        )
    with count_dynamodb() as meter:
        _drain(client, tenant_id)
    out.append(
        Measured("mail handler: owner notifications (3)", meter, 0, "opened, scored, commented")
    )
    return out, size
