"""Fault injection where AWS really fails (docs/reliability.md): SES throttling and transient
errors, DynamoDB throttling, a Lambda that dies after SES accepted a mail (or after any other
call), an SQS message delivered twice, a scheduled run delivered twice or late.

Every test drives the real handlers (the chalice test client's Lambda invoke, real SQS in moto
with the dead-letter redrive of the local stack) and asserts: everything due is done after
retries; duplicates only in the documented window (a notification mail whose "emailed" mark was
lost with the Lambda, docs/surveys.md "Sending"); failures wait in ``<queue>-dlq`` and are replayed
with ``pulse jobs replay-dlq``. The figures go to test-output/reliability.json.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

import boto3
import pytest
from injector import Injector, LambdaDied, injected
from queue_driver import dlq_depth, drive
from support.api import TenantHandle
from survey_support import mails_to, make_review, send_review

from chalicelib.jobs import pulse_jobs
from chalicelib.services import surveys

SEED = 20261123
TRANSIENT = ("InternalFailure", 500)


def _record(figures: dict[str, Any], name: str, inj: Injector, **extra: Any) -> None:
    figures[f"faults.{name}"] = {
        "injected": inj.total,
        "by_operation": dict(sorted(inj.injected.items())),
        **extra,
    }


@pytest.fixture(autouse=True)
def _no_lease(monkeypatch: pytest.MonkeyPatch) -> None:
    # The send lease (5 minutes) has passed by the time a message is redelivered: SQS visibility
    # is six function timeouts. Here redelivery is immediate, so the lease is made to match.
    monkeypatch.setattr(surveys, "SEND_LEASE_SECONDS", 0)


@pytest.fixture(autouse=True)
def _empty_queues(aws: dict[str, str]) -> None:
    """Each test starts with empty queues (a failed test may leave messages behind)."""
    from chalicelib.queues import queue_url

    sqs = boto3.client("sqs")
    for short in ("mail", "score"):
        url = queue_url(short)
        for target in (url, url + "-dlq"):
            while got := sqs.receive_message(QueueUrl=target, MaxNumberOfMessages=10).get(
                "Messages"
            ):
                for m in got:
                    sqs.delete_message(QueueUrl=target, ReceiptHandle=m["ReceiptHandle"])


def _delivery(tenant: TenantHandle, review_id: str) -> dict[str, str]:
    rows = tenant.api.get(f"/reviews/{review_id}/analytics").json["recipients"]
    return {r["contact_id"]: r["delivery"] for r in rows}


# ------------------------------------------------------------------------------ review sends


def test_review_sends_under_ses_and_dynamodb_faults(
    client: Any, tenant: TenantHandle, figures: dict[str, Any]
) -> None:
    review = make_review(tenant, recipients=20)
    assert tenant.api.post(f"/reviews/{review.review_id}/send").status == 202
    inj = (
        Injector(SEED)
        .add("ses", ["SendRawEmail"], rate=0.25)  # throttled: surely not sent
        .add("ses", ["SendRawEmail"], rate=0.08, code=TRANSIENT[0], status=TRANSIENT[1])
        .add("ses", ["SendRawEmail"], rate=0.08, when="after")  # accepted, then died
        .add("dynamodb", rate=0.03)  # throttled, any table, any operation
    )
    with injected(inj):
        run = drive(client, "mail", "survey_mail_queue", injector=inj)
    assert dlq_depth("mail") == 0

    mails = {c["id"]: len(mails_to(c["email"])) for c in review.contacts}
    delivery = _delivery(tenant, review.review_id)
    duplicates = sum(max(0, n - 1) for n in mails.values())
    # Lost: no mail and not flagged. A claim that died with its Lambda before SES answered is
    # "unknown" (shown to staff, who can resend): never retried, so never sent twice.
    lost = [c for c, n in mails.items() if n == 0 and delivery[c] != "unknown"]
    flagged_unsent = [c for c, n in mails.items() if n == 0 and delivery[c] == "unknown"]
    assert duplicates == 0
    assert lost == []
    # Every "unknown" here is a mail SES has: the only deaths injected come after SES accepted.
    assert flagged_unsent == []
    assert all(delivery[c] in {"sent", "unknown"} for c in mails)
    _record(
        figures,
        "review_sends",
        inj,
        recipients=len(mails),
        mails=sum(mails.values()),
        duplicates=duplicates,
        lost=len(lost),
        unknown_not_sent=len(flagged_unsent),
        unknown_total=sum(1 for d in delivery.values() if d == "unknown"),
        lambda_deaths=run.died,
        item_failures=run.item_failures,
        replayed_from_dlq=run.replayed_from_dlq,
    )
    assert inj.total >= 10


def test_a_message_delivered_twice_concurrently_in_two_batches_sends_once(
    client: Any, tenant: TenantHandle
) -> None:
    """SQS at-least-once: the same message in two batches (two Lambdas)."""
    review = make_review(tenant, recipients=3)
    assert tenant.api.post(f"/reviews/{review.review_id}/send").status == 202
    sqs = boto3.client("sqs")
    from chalicelib.queues import queue_url

    got = sqs.receive_message(QueueUrl=queue_url("mail"), MaxNumberOfMessages=10)["Messages"]
    for m in got:
        sqs.send_message(QueueUrl=queue_url("mail"), MessageBody=m["Body"])  # the redelivery
        sqs.change_message_visibility(
            QueueUrl=queue_url("mail"), ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0
        )
    drive(client, "mail", "survey_mail_queue")
    assert all(len(mails_to(c["email"])) == 1 for c in review.contacts)


def test_fault_storm_on_the_mail_handler(
    client: Any, tenant: TenantHandle, figures: dict[str, Any]
) -> None:
    """The bulk of the faults: the same mail messages delivered again and again (SQS at least
    once) to the mail handler while SES and DynamoDB fail often. Each recipient ends with
    exactly one mail."""
    from survey_jobs_support import handle

    review = make_review(tenant, recipients=8)
    assert tenant.api.post(f"/reviews/{review.review_id}/send").status == 202
    from survey_support import receive_all

    bodies = [json.loads(m["Body"]) for m in receive_all()]
    inj = (
        Injector(SEED + 5)
        .add("ses", ["SendRawEmail"], rate=0.3)
        .add("ses", ["SendRawEmail"], rate=0.05, when="after")
        .add("dynamodb", rate=0.3)
    )
    outcomes: Counter[str] = Counter()
    with injected(inj):
        for _ in range(400):
            if inj.total >= 900:
                break
            for body in bodies:
                outcomes[handle(body)] += 1
    for body in bodies:  # AWS is well again: the last redelivery
        handle(body)
    mails = {c["id"]: len(mails_to(c["email"])) for c in review.contacts}
    duplicates = sum(max(0, n - 1) for n in mails.values())
    lost = sum(1 for n in mails.values() if n == 0)
    assert duplicates == 0 and lost == 0, mails
    _record(
        figures,
        "mail_storm",
        inj,
        recipients=len(mails),
        deliveries=sum(outcomes.values()),
        outcomes=dict(outcomes),
        duplicates=duplicates,
        lost=lost,
    )
    assert inj.total >= 900


# ----------------------------------------------------------------------------------- reminders


def _until_done(run: Any, tries: int = 200) -> tuple[int, int]:
    """Run a job until one run completes; returns (deaths, failed runs) before that."""
    crashes = errors = 0
    for _ in range(tries):
        try:
            run()
            return crashes, errors
        except LambdaDied:
            crashes += 1
        except Exception:
            errors += 1
    raise AssertionError("the job never completed")


def test_reminders_job_crashing_halfway_then_rerun(
    client: Any, tenant: TenantHandle, figures: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    review = make_review(tenant, recipients=6)
    send_review(client, review)
    # Only the last few due days are read (the crash semantics do not depend on how many).
    monkeypatch.setattr(surveys, "REMINDER_LOOKBACK_DAYS", 2)
    day7 = datetime.now(UTC).date() + timedelta(days=7)
    inj = (
        Injector(SEED + 1)
        .add("sqs", ["SendMessage", "SendMessageBatch"], rate=0.1, when="after")
        .add("sqs", ["SendMessage", "SendMessageBatch"], rate=0.1)
        .add("dynamodb", ["UpdateItem"], rate=0.15, when="after")  # step moved, then died
        .add("dynamodb", ["GetItem", "UpdateItem"], rate=0.03)
        .add("dynamodb", ["Query"], rate=0.01)
    )
    with injected(inj):
        # The schedule fires, dies, fires again (EventBridge retries; an operator reruns): until
        # one run gets through. Then a second, late delivery of the next day's event.
        crashes, errors = _until_done(lambda: surveys.run_reminders(day7))
        late = _until_done(lambda: surveys.run_reminders(day7 + timedelta(days=1)))
        crashes, errors = crashes + late[0], errors + late[1]
        ses_inj = drive(client, "mail", "survey_mail_queue", injector=inj)
    assert crashes + errors > 0
    reminders = {
        c["id"]: sum(str(m["Subject"]).startswith("Reminder:") for m in mails_to(c["email"]))
        for c in review.contacts
    }
    assert all(n == 1 for n in reminders.values()), reminders
    _record(
        figures,
        "reminders",
        inj,
        recipients=len(reminders),
        reminders=sum(reminders.values()),
        duplicates=0,
        lost=0,
        job_crashes=crashes,
        job_errors=errors,
        lambda_deaths=ses_inj.died,
    )


# ---------------------------------------------------------------------------- stale digests


def _stale_accounts(tenant: TenantHandle, owner_count: int) -> list[str]:
    from test_alerts import _age

    owners = [tenant.add_staff("account_manager") for _ in range(owner_count)]
    for owner in owners:
        account = tenant.account(owner=owner, name=f"Stale {owner.user_id[-4:]}")
        tenant.api.post(f"/accounts/{account['id']}/pulses", {"level": 4})
        _age(tenant.tenant_id, account["id"], created_days=90, pulse_days=30)
    return [o.email for o in owners]


def test_stale_digests_with_faults_and_repeated_delivery(
    client: Any, tenant: TenantHandle, figures: dict[str, Any]
) -> None:
    """The ``stale-alerts`` message for one tenant: delivered repeatedly with SES, SQS and
    DynamoDB faults and Lambda deaths. Each owner gets the digest; a second copy only when the
    Lambda died between SES accepting it and the "emailed" mark (the documented window)."""
    owners = _stale_accounts(tenant, 4)
    from test_alerts import sent_mail

    start = len(sent_mail())
    today = datetime.now(UTC).date()
    body = {"job": "stale-alerts", "tenant_id": tenant.tenant_id, "date": today.isoformat()}
    inj = (
        Injector(SEED + 2)
        .add("ses", ["SendRawEmail"], rate=0.2)
        .add("ses", ["SendRawEmail"], rate=0.1, when="after")
        .add("dynamodb", rate=0.04)
    )
    with injected(inj):
        # SQS redelivers until the handler succeeds, and once more after (at least once).
        died, failed = _until_done(lambda: pulse_jobs.handle_message(body))
        again = _until_done(lambda: pulse_jobs.handle_message(body))
    attempts = died + failed + again[0] + again[1] + 2
    from test_alerts import mails_to as alert_mails

    got = alert_mails(set(owners), start, "without a pulse")
    digests = {a: len(m) for a, m in got.items() if m}
    assert set(digests) == set(owners)  # nothing lost
    duplicates = sum(n - 1 for n in digests.values())
    # The window: at most one extra copy per death after SES accepted a digest (a throttled
    # "emailed" mark is retried: notify.MARK_ATTEMPTS).
    assert duplicates <= inj.injected["ses.SendRawEmail.after"]
    _record(
        figures,
        "stale_digests",
        inj,
        recipients=len(owners),
        mails=sum(digests.values()),
        duplicates=duplicates,
        duplicate_window_faults=inj.injected["ses.SendRawEmail.after"],
        lost=0,
        attempts=attempts,
        lambda_deaths=died,
    )


# ------------------------------------------------------------------------- nightly SuccessScore


def test_success_score_twice_delivered_and_throttled_mid_batch(
    client: Any, aws: dict[str, str], figures: dict[str, Any]
) -> None:
    from test_success_score_job import ON, _clear_records, _make_tenant

    from chalicelib.domain import success_score as score
    from chalicelib.store import directory
    from chalicelib.store.accounts import AccountModel
    from chalicelib.store.pulses import recorded_scores

    rng = random.Random(SEED)
    tenants = dict(_make_tenant(rng, n, {}) for n in (120, 40, 7))
    inj = (
        Injector(SEED + 3)
        .add("dynamodb", ["BatchWriteItem"], rate=0.3)  # throttled mid-batch
        .add("dynamodb", ["Query", "GetItem"], rate=0.05)
        .add("dynamodb", ["BatchWriteItem"], rate=0.05, when="after")
        .add("sqs", ["SendMessage", "SendMessageBatch"], rate=0.1)
    )
    sqs = boto3.client("sqs")
    from chalicelib.queues import queue_url

    try:
        with injected(inj):
            messages = [pulse_jobs._message("success-score", t, ON) for t in tenants]
            for body in messages + messages:  # every message delivered twice
                sqs.send_message(QueueUrl=queue_url("score"), MessageBody=json.dumps(body))
            run = drive(client, "score", "score_queue", injector=inj)
        wrong = {}
        for tenant_id, expected in tenants.items():
            got = recorded_scores(tenant_id, list(expected), ON)
            for account_id, value in expected.items():
                if got.get(account_id) != pytest.approx(value):
                    wrong[account_id] = (got.get(account_id), value)
        assert wrong == {}
        assert inj.total > 20
        _record(
            figures,
            "success_score",
            inj,
            accounts=sum(len(e) for e in tenants.values()),
            wrong_or_missing_scores=len(wrong),
            duplicates=0,
            lost=0,
            lambda_deaths=run.died,
            item_failures=run.item_failures,
            replayed_from_dlq=run.replayed_from_dlq,
        )
    finally:
        for tenant_id, expected in tenants.items():
            with AccountModel.batch_write() as batch:
                for account_id in expected:
                    batch.delete(AccountModel(tenant_id, account_id))
            _clear_records(tenant_id, list(expected))
            directory.remove(tenant_id)
    assert score is not None


# ------------------------------------------------------------------------------ dead letters


def test_a_poison_message_is_dead_lettered_and_replayed(client: Any, tenant: TenantHandle) -> None:
    """SES refuses every attempt: after five receives the message waits in ``mail-dlq`` (the
    ``DeadLetterAlarm`` fires on AWS); once SES recovers, ``pulse jobs replay-dlq mail`` moves it
    back and it is sent, once."""
    from pulse_local.cli import main

    review = make_review(tenant, recipients=1)
    assert tenant.api.post(f"/reviews/{review.review_id}/send").status == 202
    inj = Injector(SEED + 4).add("ses", ["SendRawEmail"], rate=1.0)
    with injected(inj):
        drive(client, "mail", "survey_mail_queue", replay=False)
    assert inj.total == 5 and dlq_depth("mail") == 1
    assert mails_to(review.contacts[0]["email"]) == []
    assert main(["jobs", "replay-dlq", "mail"]) == 0
    assert dlq_depth("mail") == 0
    drive(client, "mail", "survey_mail_queue", replay=False)
    assert len(mails_to(review.contacts[0]["email"])) == 1


def test_replay_dlq_rejects_an_unknown_queue(capsys: pytest.CaptureFixture[str]) -> None:
    from pulse_local.cli import main

    assert main(["jobs", "replay-dlq", "nope"]) == 2
    assert "unknown queue" in capsys.readouterr().err


def test_total_faults_reach_a_thousand(figures: dict[str, Any]) -> None:
    """Runs last in this module: the sum over the tests above."""
    runs = {k: v for k, v in figures.items() if k.startswith("faults.")}
    total = sum(v["injected"] for v in runs.values())
    duplicates = sum(v.get("duplicates", 0) for v in runs.values())
    lost = sum(v.get("lost", 0) for v in runs.values())
    figures["faults.total"] = {
        "injected": total,
        "lost": lost,
        "duplicates": duplicates,
        "duplicate_rate_per_fault": round(duplicates / total, 4) if total else None,
    }
    assert lost == 0
    assert total >= 1000, runs
    assert date.today() is not None
