"""The local outbox: parsing of what SES (moto) accepted, and that it exists only locally."""

from __future__ import annotations

import json
import secrets
from email.message import EmailMessage
from typing import Any

import boto3
from chalice import Chalice
from chalice.test import Client

from chalicelib.api import local_outbox
from chalicelib.mail.outbox import fetch_sent, find_links, parse_dump, select


def test_not_served_outside_the_local_stage(client: Any) -> None:
    # Not registered at all in this stage: the gateway's answer for any unknown path.
    outbox = client.http.get("/_local/outbox")
    unknown = client.http.get(f"/no-such-path-{secrets.token_hex(3)}")
    assert outbox.status_code == unknown.status_code != 200
    assert "/_local/outbox" not in json.loads(client.http.get("/openapi.json").body)["paths"]


def test_views_answer_404_when_registered_outside_the_local_stage(aws: dict[str, str]) -> None:
    app = Chalice("outbox-guard-test")
    app.experimental_feature_flags.update(["BLUEPRINTS"])
    app.register_blueprint(local_outbox.bp)
    with Client(app, stage_name="test") as test_client:
        for path in ("/_local/outbox", "/_local/outbox.json"):
            reply = test_client.http.get(path)
            assert reply.status_code == 404
            assert json.loads(reply.body)["error"]["code"] == "not_found"


def test_raw_mail_is_parsed_with_both_parts_and_links(aws: dict[str, str]) -> None:
    marker = secrets.token_hex(5)
    message = EmailMessage()
    message["From"] = "Pulse <pulse@pulse.example>"
    message["To"] = f"dana-{marker}@client.example"
    message["Subject"] = "Quarterly review ✓"
    message["Date"] = "Tue, 05 Mar 2024 10:00:00 +0000"
    message.set_content(
        f"Score it: https://pulse.example/r/{marker}.\n(or https://pulse.example/u/{marker})\n"
    )
    message.add_alternative(
        f'<p><a href="https://pulse.example/r/{marker}">Score</a>'
        f' <a href="https://pulse.example/help">help</a></p>',
        subtype="html",
    )
    boto3.client("ses").send_raw_email(
        Source="pulse@pulse.example",
        Destinations=[str(message["To"])],
        RawMessage={"Data": message.as_bytes()},
    )

    mails = select(fetch_sent(aws["AWS_ENDPOINT_URL"]), to=f"DANA-{marker}@client.example")

    assert len(mails) == 1
    mail = mails[0]
    assert mail.subject == "Quarterly review ✓"
    assert mail.to == [f"dana-{marker}@client.example"]
    assert mail.date == "2024-03-05T10:00:00+00:00"
    assert mail.links == [
        f"https://pulse.example/r/{marker}",
        f"https://pulse.example/u/{marker}",
        "https://pulse.example/help",
    ]
    assert "Score it" in mail.text and "<a href" in mail.html


def test_simple_send_email_is_listed_too() -> None:
    dump = {
        "ses": {
            "Message": [
                {
                    "id": "m1",
                    "source": "a@x.example",
                    "subject": "Hello",
                    "body": "<p>see <a href='http://h.example/x'>x</a></p>",
                    "destinations": {"ToAddresses": ["b@y.example"], "CcAddresses": []},
                }
            ]
        }
    }
    (mail,) = parse_dump(dump)
    assert (mail.subject, mail.to, mail.links) == ("Hello", ["b@y.example"], ["http://h.example/x"])
    assert mail.html and not mail.text


def test_find_links_trims_punctuation_and_ignores_other_schemes() -> None:
    text = "Go to <https://a.example/x?y=1>, then http://b.example/z. mailto:c@d.example"
    assert find_links(text) == ["https://a.example/x?y=1", "http://b.example/z"]


def test_page_escapes_mail_content() -> None:
    (mail,) = parse_dump(
        {
            "ses": {
                "Message": [
                    {
                        "id": "m2",
                        "source": "a@x.example",
                        "subject": "<script>alert(1)</script>",
                        "body": "plain",
                        "destinations": {"ToAddresses": ["b@y.example"]},
                    }
                ]
            }
        }
    )
    page = local_outbox.render_page([mail])
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page
