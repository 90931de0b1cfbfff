"""Heartbeat: configuration, the ranked library, rounds (prepare → approve → send → answer)."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from mail_links import assert_staff_page_links, pulse_links
from support.api import TenantHandle

CUSTOM = {"text": "How well do we document our work?"}


def _config(tenant: TenantHandle, questions: list[Any], **extra: Any) -> Any:
    return tenant.api.put("/heartbeat/config", {"questions": questions, **extra})


def test_new_tenant_starts_with_defaults_fixed_questions_first(tenant: TenantHandle) -> None:
    config = tenant.api.get("/heartbeat/config").json
    ids = [q["id"] for q in config["questions"]]
    assert ids[:2] == ["overall_satisfaction", "customer_sentiment"]
    assert ids[2:] == ["responsiveness", "quality_of_work", "value_for_money", "communication"]
    sentiment = config["questions"][1]
    assert [o["id"] for o in sentiment["options"]] == ["love", "like", "not_satisfied"]
    assert "Northwind Services" in sentiment["options"][0]["text"]
    assert config["interval_days"] == 90


def test_config_validation(tenant: TenantHandle) -> None:
    three = _config(tenant, ["responsiveness", "expertise", "trust"])
    assert three.status == 422 and "questions" in three.json["error"]["fields"]
    two_custom = _config(
        tenant, ["responsiveness", "expertise", CUSTOM, {"text": "Another question?"}]
    )
    assert two_custom.status == 422
    unknown = _config(tenant, ["responsiveness", "expertise", "trust", "nope"])
    assert unknown.status == 422 and "questions[3]" in unknown.json["error"]["fields"]
    dup = _config(tenant, ["responsiveness", "responsiveness", "trust", "results"])
    assert dup.status == 422 and "questions[1]" in dup.json["error"]["fields"]
    fixed = _config(tenant, ["overall_satisfaction", "expertise", "trust", "results"])
    assert fixed.status == 422
    scale = _config(tenant, ["responsiveness", "expertise", "trust", {**CUSTOM, "scale_max": 5}])
    assert scale.status == 422 and "questions[3].scale" in scale.json["error"]["fields"]
    interval = _config(tenant, ["responsiveness", "expertise", "trust", "results"], interval_days=7)
    assert interval.status == 422 and "interval_days" in interval.json["error"]["fields"]
    # Not an admin: 403 before anything else.
    manager = tenant.add_staff("senior_manager")
    forbidden = tenant.as_(manager).put(
        "/heartbeat/config", {"questions": ["responsiveness", "expertise", "trust", "results"]}
    )
    assert forbidden.status == 403

    ok = _config(tenant, ["expertise", {"id": "trust"}, CUSTOM, "results"], interval_days=60)
    assert ok.status == 200, ok.body
    ids = [q["id"] for q in ok.json["questions"]]
    assert ids[2:4] == ["expertise", "trust"] and ids[4].startswith("custom_")
    assert ok.json["questions"][4]["custom"] is True
    assert ok.json["questions"][4]["scale"] == {"min": 0, "max": 10}
    assert ok.json["interval_days"] == 60
    assert tenant.api.get("/settings").json["heartbeat_interval_days"] == 60


def _usage(tenant: TenantHandle) -> dict[str, dict[str, Any]]:
    reply = tenant.api.get("/heartbeat/questions")
    assert reply.status == 200, reply.body
    return {q["id"]: q for q in reply.json["items"]}


def test_library_ranked_by_tenants_using_without_naming_them(
    tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    before = _usage(tenant)
    rare = ["billing_clarity", "innovation", "onboarding", "reporting"]
    _config(tenant, rare)
    _config(other_tenant, rare)
    after = _usage(tenant)
    for qid in rare:
        assert after[qid]["tenants_using"] == before[qid]["tenants_using"] + 2
    # The defaults both tenants left lost two users each.
    assert after["responsiveness"]["tenants_using"] == before["responsiveness"]["tenants_using"] - 2
    # Ranked: most used first, and each row says nothing about which tenants.
    items = tenant.api.get("/heartbeat/questions").json["items"]
    counts = [q["tenants_using"] for q in items]
    assert counts == sorted(counts, reverse=True)
    assert [q["rank"] for q in items] == list(range(1, len(items) + 1))
    assert all(set(q) >= {"id", "text", "rank", "tenants_using", "chosen"} for q in items)
    flat = repr(items)
    assert tenant.tenant_id not in flat and other_tenant.tenant_id not in flat
    assert {q["id"] for q in items if q["chosen"]} == set(rare)
    # Saving the same choice again counts nobody twice.
    _config(tenant, rare)
    assert _usage(tenant)["reporting"]["tenants_using"] == after["reporting"]["tenants_using"]
    # An unadopted custom question is not listed (its wording would point at one tenant).
    custom = _config(tenant, ["billing_clarity", "innovation", "onboarding", CUSTOM])
    assert custom.status == 200
    assert all(not q["custom"] for q in tenant.api.get("/heartbeat/questions").json["items"])


# ------------------------------------------------------------------------------ rounds


def _run(name: str, on: date) -> dict[str, Any]:
    from chalicelib.jobs.registry import run

    return run(name, on)


def _prepare(tenant: TenantHandle, on: date) -> dict[str, Any]:
    """The daily job for this test's tenant only: other tests' admins get no approval mail."""
    from chalicelib.services import heartbeat

    return heartbeat.prepare_due_rounds(on, tenant_ids=[tenant.tenant_id])


def _admin_mail(tenant: TenantHandle) -> list[Any]:
    from chalicelib.store import notifications

    page = notifications.list_for(tenant.tenant_id, tenant.admin.user_id, limit=50, cursor=None)
    return [n for n in page.items if n.kind == "heartbeat_approval"]


def test_prepare_once_and_approval_email(tenant: TenantHandle) -> None:
    today = datetime.now(UTC).date()
    # The registered job (over every tenant): on a day before any configuration, nothing is due.
    assert _run("heartbeat-prepare", date(2000, 1, 3))["prepared"] == 0
    _prepare(tenant, today)
    first = tenant.api.get("/heartbeats").json["items"]
    assert [r["status"] for r in first] == ["prepared"]
    assert [q["id"] for q in first[0]["questions"]][:2] == [
        "overall_satisfaction",
        "customer_sentiment",
    ]
    # Again the same day, and on the following days: still one round, one email.
    _prepare(tenant, today)
    _prepare(tenant, today + timedelta(days=3))
    assert len(tenant.api.get("/heartbeats").json["items"]) == 1
    notes = _admin_mail(tenant)
    assert len(notes) == 1 and first[0]["id"] in (notes[0].link or "")
    # Only admins list and approve rounds.
    manager = tenant.add_staff("senior_manager")
    assert tenant.as_(manager).get("/heartbeats").status == 403
    assert tenant.as_(manager).post(f"/heartbeats/{first[0]['id']}/approve").status == 403


def test_approval_email_is_multipart_with_link(tenant: TenantHandle) -> None:
    from chalicelib.mail import message

    sent: list[Any] = []
    original = message.send
    message.send = lambda mail, smtp=None: sent.append(mail) or "id"  # type: ignore[assignment]
    try:
        _prepare(tenant, datetime.now(UTC).date())
    finally:
        message.send = original  # type: ignore[assignment]
    mine = [m for m in sent if m.to == tenant.admin.email]
    assert len(mine) == 1
    mail = mine[0]
    assert "approval" in mail.subject.lower()
    (round_id,) = {link.rsplit("/", 1)[1] for link in pulse_links(mail.text)}
    assert round_id.startswith("hb_")
    for part in (mail.text, mail.html):
        # The staff web app's approval page, not the JSON route.
        assert_staff_page_links(part, f"/app/heartbeats/{round_id}")
    assert "Overall satisfaction" in mail.text


# ------------------------------------------------------------------------- the round flow


class Outbox:
    """Mail handed to the provider during a test (patched ``message.send``)."""

    def __init__(self) -> None:
        self.sent: list[Any] = []

    def send(self, mail: Any, smtp: Any = None) -> str:
        self.sent.append(mail)
        return f"msg-{secrets.token_hex(6)}"

    def to(self, address: str) -> list[Any]:
        return [m for m in self.sent if m.to == address]

    def link(self, address: str) -> str:
        mail = self.to(address)[-1]
        start = mail.text.index("/r/")
        return str(mail.text[start:].split()[0])


@pytest.fixture
def outbox(monkeypatch: pytest.MonkeyPatch) -> Outbox:
    from chalicelib.mail import message

    box = Outbox()
    monkeypatch.setattr(message, "send", box.send)
    return box


def drain() -> dict[str, int]:
    """Run what the queue handlers would: heartbeat fan-out, then survey mail, until empty."""
    import json

    from chalicelib import queues
    from chalicelib.clients import client
    from chalicelib.services import heartbeat, surveys

    handled = {"heartbeat": 0, "mail": 0}
    sqs = client("sqs")
    busy = True
    while busy:
        busy = False
        for short in ("heartbeat", "mail"):
            reply = sqs.receive_message(
                QueueUrl=queues.queue_url(short), MaxNumberOfMessages=10, WaitTimeSeconds=0
            )
            for msg in reply.get("Messages", []):
                body = json.loads(msg["Body"])
                if short == "heartbeat":
                    heartbeat.handle_message(body)
                elif body.get("type") == "survey_mail":
                    surveys.deliver(body)
                elif body.get("type") == "survey_event":
                    surveys.handle_event(body)
                sqs.delete_message(
                    QueueUrl=queues.queue_url(short), ReceiptHandle=msg["ReceiptHandle"]
                )
                handled[short] += 1
                busy = True
    return handled


def _prepared(tenant: TenantHandle) -> str:
    from chalicelib.services import heartbeat
    from chalicelib.store import tenants

    record = tenants.get_tenant(tenant.tenant_id)
    _, round_id = heartbeat.prepare_for(
        record, heartbeat.config_of(tenant.tenant_id), datetime.now(UTC).date()
    )
    assert round_id
    return round_id


def test_unapproved_round_is_never_sent(tenant: TenantHandle, outbox: Outbox) -> None:
    from chalicelib.errors import Conflict
    from chalicelib.services import heartbeat

    account = tenant.account()
    contact = tenant.contact(account["id"])
    round_id = _prepared(tenant)
    drain()
    with pytest.raises(Conflict):
        heartbeat.send_round(tenant.tenant_id, round_id)
    assert not outbox.to(contact["email"])
    # No open round: sending to one contact is refused plainly.
    reply = tenant.api.post(f"/contacts/{contact['id']}/heartbeat")
    assert reply.status == 409


def test_approve_sends_to_active_subscribed_contacts_and_answers_count(
    tenant: TenantHandle, outbox: Outbox
) -> None:
    acme, globex = tenant.account(), tenant.account()
    dana = tenant.contact(acme["id"])
    lee = tenant.contact(acme["id"], email=f"lee-{secrets.token_hex(3)}@gmail.com")
    gone = tenant.contact(globex["id"])
    tenant.api.patch(f"/contacts/{gone['id']}", {"unsubscribed": True})
    sam = tenant.contact(globex["id"])
    round_id = _prepared(tenant)

    approved = tenant.api.post(f"/heartbeats/{round_id}/approve")
    assert approved.status == 202, approved.body
    assert approved.json["status"] == "approved"
    assert tenant.api.post(f"/heartbeats/{round_id}/approve").status == 409
    drain()
    for person in (dana, lee, sam):
        assert len(outbox.to(person["email"])) == 1, person
    assert not outbox.to(gone["email"])
    listed = tenant.api.get("/heartbeats").json["items"][0]
    assert listed["status"] == "sent" and listed["invited"] == 3
    assert listed["period"] and listed["closes_at"]

    # A contact added after the round went out is not in it ...
    late = tenant.contact(globex["id"])
    drain()
    assert not outbox.to(late["email"])
    # ... until an admin sends it the current round by hand.
    manual = tenant.api.post(f"/contacts/{late['id']}/heartbeat")
    assert manual.status == 202 and manual.json["status"] == "queued"
    drain()
    assert len(outbox.to(late["email"])) == 1

    # Answers go through the shared survey page, and fill the aggregates once.
    answers = {
        "overall_satisfaction": 9,
        "customer_sentiment": "love",
        "responsiveness": 8,
        "quality_of_work": 9,
        "value_for_money": 7,
        "communication": 10,
    }
    _answer(tenant, outbox.link(dana["email"]), answers)
    _answer(tenant, outbox.link(lee["email"]), {**answers, "overall_satisfaction": 5})
    # Dana changes her mind: replaced, not added.
    _answer(tenant, outbox.link(dana["email"]), {**answers, "overall_satisfaction": 7})
    from chalicelib.store import heartbeat as store

    period = listed["period"]
    aggs = {a.question_id: a for a in store.tenant_aggregates(tenant.tenant_id, period)}
    overall = aggs["overall_satisfaction"]
    assert overall.responses == 2 and overall.customers == 1  # two contacts, one account
    assert overall.value_sum == 12  # 7 + 5
    assert overall.free_email_responses == 1  # lee@gmail.com
    assert overall.honeymoon_responses == 2  # both accounts were created today
    assert overall.invited == 4
    assert "customer_sentiment" not in aggs
    assert tenant.api.get("/heartbeats").json["items"][0]["responded"] == 2

    bad = _answer(tenant, outbox.link(sam["email"]), {**answers, "responsiveness": 11}, 422)
    assert "answers.responsiveness" in bad


def _answer(tenant: TenantHandle, link: str, answers: dict[str, Any], status: int = 200) -> Any:
    """POST /r/{token} as JSON, the way an API client (or a test) answers."""
    path = link[link.index("/r/") :]
    reply = tenant.api.post(path, {"answers": answers}, token="")
    assert reply.status == status, reply.body
    return reply.json["error"]["fields"] if status == 422 else reply.json


def test_heartbeat_page_and_form_answer(tenant: TenantHandle, outbox: Outbox) -> None:
    account = tenant.account()
    contact = tenant.contact(account["id"])
    round_id = _prepared(tenant)
    assert tenant.api.post(f"/heartbeats/{round_id}/approve").status == 202
    drain()
    mail = outbox.to(contact["email"])[0]
    assert "Northwind Services" in mail.subject and mail.unsubscribe_url
    path = outbox.link(contact["email"])
    page = tenant.api.get(path, token="")
    assert page.status == 200 and page.headers["Content-Type"].startswith("text/html")
    for text in (
        "Overall satisfaction",
        "I would go out of my way to recommend Northwind Services",
        'name="answers.responsiveness"',
    ):
        assert text in page.text, text
    form = {
        "answers.overall_satisfaction": "8",
        "answers.customer_sentiment": "like",
        "answers.responsiveness": "7",
        "answers.quality_of_work": "8",
        "answers.value_for_money": "6",
    }
    encoded = "&".join(f"{k}={v}" for k, v in form.items())
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    missing = tenant.api.call("POST", path, token="", headers=headers, raw=encoded)
    assert missing.status == 422 and 'id="e-answers-communication"' in missing.text
    done = tenant.api.call(
        "POST", path, token="", headers=headers, raw=encoded + "&answers.communication=9"
    )
    assert done.status == 200, done.text
    listed = tenant.api.get("/heartbeats").json["items"][0]
    assert listed["responded"] == 1


def test_reminders_close_and_next_round(tenant: TenantHandle, outbox: Outbox) -> None:
    """Reminders at 7 and 14 days through the shared reminders job, then closed, then the next
    round is due one interval after sending and includes contacts added since."""
    from chalicelib.services import surveys

    account = tenant.account()
    quiet = tenant.contact(account["id"])
    keen = tenant.contact(account["id"])
    round_id = _prepared(tenant)
    tenant.api.post(f"/heartbeats/{round_id}/approve")
    drain()
    answers = {
        "overall_satisfaction": 9,
        "customer_sentiment": "love",
        "responsiveness": 8,
        "quality_of_work": 9,
        "value_for_money": 7,
        "communication": 10,
    }
    _answer(tenant, outbox.link(keen["email"]), answers)
    sent_on = datetime.now(UTC).date()
    late = tenant.contact(account["id"])  # joins the next round
    original_clock = surveys.clock
    try:
        for day in (7, 14, 21):
            moment = datetime.now(UTC) + timedelta(days=day)
            surveys.clock = lambda moment=moment: moment
            _run("reminders", sent_on + timedelta(days=day))
            drain()
    finally:
        surveys.clock = original_clock
    assert len(outbox.to(quiet["email"])) == 3  # the invite and two reminders, never a third
    assert len(outbox.to(keen["email"])) == 1  # answered: no reminders
    assert not outbox.to(late["email"])

    _prepare(tenant, sent_on + timedelta(days=28))
    rounds = tenant.api.get("/heartbeats").json["items"]
    assert rounds[0]["id"] == round_id and rounds[0]["status"] == "closed"

    # Default interval 90 days: not due at 89, due at 90.
    _prepare(tenant, sent_on + timedelta(days=89))
    assert len(tenant.api.get("/heartbeats").json["items"]) == 1
    _prepare(tenant, sent_on + timedelta(days=90))
    rounds = tenant.api.get("/heartbeats").json["items"]
    assert [r["status"] for r in rounds] == ["prepared", "closed"]
    assert rounds[0]["due_on"] == (sent_on + timedelta(days=90)).isoformat()
    assert tenant.api.post(f"/heartbeats/{rounds[0]['id']}/approve").status == 202
    drain()
    assert len(outbox.to(late["email"])) == 1
