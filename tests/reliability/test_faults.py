"""Fault injection where AWS really fails (docs/reliability.md): SES throttling, transient errors
and lost connections before SES has a mail, a timeout or a Lambda death after SES accepted it,
DynamoDB throttling, an SQS message delivered twice (also at once, by two Lambdas), a scheduled
run delivered twice or late.

Every test drives the real handlers (the chalice test client's Lambda invoke, real SQS in moto
with the dead-letter redrive of the local stack) and counts what happened: the calls the app made
to SES and what SES accepted (the injector's hooks), the faults injected per kind, the mails moto's
SES holds per recipient (duplicates and losses as the recipient sees them). Only the injector's
faults are retried: any other exception fails the test. Duplicates are allowed only in the
documented window (a notification mail whose "emailed" mark was lost with the Lambda or the
answer, docs/surveys.md "Sending"). The figures go to test-output/reliability.json, and
``test_fault_totals`` writes the table docs/reliability.md quotes (test-output/reliability-faults.md).
"""

from __future__ import annotations

import json
import random
import threading
import time
import types
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from injector import Injector, LambdaDied, injected
from queue_driver import UnexpectedFailure, check, dlq_depth, drive
from support.api import TenantHandle
from survey_jobs_support import handle
from survey_support import mails_to, make_review, receive_all, send_review, token_in

from chalicelib.jobs import pulse_jobs
from chalicelib.services import notify, surveys
from chalicelib.store import invitations as ledger

SEED = 20261123
TRANSIENT = ("InternalFailure", 500)
SES = "ses.SendRawEmail"
SUMMARY = Path(__file__).resolve().parents[2] / "test-output" / "reliability-faults.md"


def _record(figures: dict[str, Any], name: str, inj: Injector, **extra: Any) -> None:
    figures[f"faults.{name}"] = {**inj.figures(), **extra}


def _ses(inj: Injector) -> dict[str, int]:
    """SES as the app saw it: calls attempted, refused before SES had the mail, accepted."""
    refused = inj.injected[f"{SES}.before"]
    return {
        "ses_attempted": inj.calls[SES],
        "ses_refused": refused,
        "ses_accepted": inj.accepted[SES],
        "ses_faults_after_accept": inj.injected[f"{SES}.after"],
    }


def _ses_faults(inj: Injector) -> int:
    return inj.injected[f"{SES}.before"] + inj.injected[f"{SES}.after"]


@pytest.fixture
def expired_lease(monkeypatch: pytest.MonkeyPatch) -> None:
    """Sequential redelivery: on AWS a message comes back after its visibility timeout (six
    function timeouts), past the send lease; here it comes back at once, so the lease is made to
    match. The concurrent and lease tests keep the real lease."""
    monkeypatch.setattr(surveys, "SEND_LEASE_SECONDS", 0)


@pytest.fixture
def lease_clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    """The send ledger's clock; calling the fixture moves it past the (real) lease."""
    offset = [0.0]
    real = time.time
    monkeypatch.setattr(ledger, "time", types.SimpleNamespace(time=lambda: real() + offset[0]))

    def lease_passes() -> None:
        offset[0] += surveys.SEND_LEASE_SECONDS + 1

    return lease_passes


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


def _purposes(mails: list[Any]) -> list[str]:
    """The send each mail belongs to (its link's token record): invite#1, invite#2, …"""
    return [surveys.lookup(token_in(m)).purpose for m in mails]


# ------------------------------------------------------------------------------ review sends


@pytest.mark.usefixtures("expired_lease")
def test_review_sends_under_ses_and_dynamodb_faults(
    client: Any, tenant: TenantHandle, figures: dict[str, Any]
) -> None:
    review = make_review(tenant, recipients=20)
    assert tenant.api.post(f"/reviews/{review.review_id}/send").status == 202
    inj = (
        Injector(SEED)
        .add("ses", ["SendRawEmail"], rate=0.25)  # throttled: surely not sent
        .add("ses", ["SendRawEmail"], rate=0.08, code=TRANSIENT[0], status=TRANSIENT[1])
        .add("ses", ["SendRawEmail"], rate=0.05, fault="connection")
        .add("ses", ["SendRawEmail"], rate=0.05, when="after", fault="timeout")
        .add("ses", ["SendRawEmail"], rate=0.05, when="after")  # accepted, then died
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
    # Every "unknown" here is a mail SES has: the only faults after the claim that can leave
    # its outcome open come after SES accepted.
    assert flagged_unsent == []
    assert all(delivery[c] in {"sent", "unknown"} for c in mails)
    assert inj.accepted[SES] == sum(mails.values()) == len(mails)
    assert inj.calls[SES] == inj.accepted[SES] + inj.injected[f"{SES}.before"]
    unknown = sum(1 for d in delivery.values() if d == "unknown")
    # Each fault after SES accepted leaves one "unknown" (so does a throttled "sent" mark).
    assert unknown >= inj.injected[f"{SES}.after"]
    _record(
        figures,
        "review_sends",
        inj,
        recipients=len(mails),
        mails=sum(mails.values()),
        duplicates=duplicates,
        lost=len(lost),
        unknown_not_sent=len(flagged_unsent),
        unknown_total=unknown,
        lambda_deaths=run.died,
        item_failures=run.item_failures,
        replayed_from_dlq=run.replayed_from_dlq,
        **_ses(inj),
    )


# --------------------------------------------------------------- the same message, at once


def test_a_message_delivered_twice_concurrently_in_two_batches_sends_once(
    client: Any, tenant: TenantHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQS at least once: the same three messages in two batches, run by two Lambdas (threads)
    at the same time, with the real send lease. Whoever claims a mail holds it until the other
    Lambda has tried to claim it too, so the overlap happens every run: the other finds the send
    busy, the message comes back (RetryLater) and is then a duplicate — one mail each."""
    review = make_review(tenant, recipients=3)
    assert tenant.api.post(f"/reviews/{review.review_id}/send").status == 202
    bodies = [json.loads(m["Body"]) for m in receive_all()]
    assert len(bodies) == 3

    states: dict[str, list[str]] = defaultdict(list)
    changed = threading.Condition()
    waits_timed_out: list[str] = []
    original = ledger.claim

    def claim(tenant_id: str, key: str, contact_id: str, lease_seconds: int) -> Any:
        got = original(tenant_id, key, contact_id, lease_seconds)
        with changed:
            states[key].append(got.state)
            changed.notify_all()
            if got.state == "claimed" and not changed.wait_for(
                lambda: len(states[key]) >= 2, timeout=30
            ):
                waits_timed_out.append(key)
        return got

    monkeypatch.setattr(ledger, "claim", claim)
    start = threading.Barrier(2)
    outcomes: Counter[str] = Counter()
    again: list[dict[str, Any]] = []
    errors: list[BaseException] = []

    def one_lambda() -> None:
        start.wait(timeout=30)
        for body in bodies:
            try:
                outcome = handle(body, expected=(surveys.RetryLater,))
            except BaseException as exc:  # reported below, in the test's thread
                errors.append(exc)
                return
            if outcome == "failed:RetryLater":
                outcome = "busy"
                again.append(body)
            with changed:
                outcomes[outcome] += 1

    threads = [threading.Thread(target=one_lambda) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == [] and waits_timed_out == []
    assert outcomes == {"sent": 3, "busy": 3}  # every message overlapped its twin
    for body in again:  # SQS delivers what came back busy
        outcomes[handle(body)] += 1
    assert outcomes["duplicate"] == 3
    assert all(len(mails_to(c["email"])) == 1 for c in review.contacts)
    assert set(_delivery(tenant, review.review_id).values()) == {"sent"}


def test_a_send_left_by_a_lambda_that_died_is_busy_until_the_lease_passes_then_unknown(
    client: Any, tenant: TenantHandle, lease_clock: Callable[[], None]
) -> None:
    """The real lease: the Lambda dies after SES accepted the mail; SQS delivers the message again
    at once (another Lambda) — the send is busy, not sent twice. Once the lease has passed, the
    claim nobody finished reads as "unknown" (staff see it and can resend), still one mail."""
    review = make_review(tenant, recipients=1)
    assert tenant.api.post(f"/reviews/{review.review_id}/send").status == 202
    (body,) = [json.loads(m["Body"]) for m in receive_all()]
    inj = Injector(SEED + 6).fail_next("ses", "SendRawEmail", when="after")
    with injected(inj):
        assert handle(body, inj) == "died"
        assert handle(body, inj, expected=(surveys.RetryLater,)) == "failed:RetryLater"
        lease_clock()
        assert handle(body, inj) == "unknown"
        assert handle(body, inj) == "unknown"  # never retried: a second copy is never risked
    assert inj.injected == {f"{SES}.after": 1} and inj.accepted[SES] == 1
    assert len(mails_to(review.contacts[0]["email"])) == 1
    assert _delivery(tenant, review.review_id) == {review.contacts[0]["id"]: "unknown"}


# -------------------------------------------------------------------- the documented fixes


def test_a_throttled_claim_release_does_not_turn_a_refused_send_into_never_sent(
    client: Any, tenant: TenantHandle, lease_clock: Callable[[], None], monkeypatch: Any
) -> None:
    """SES refuses the mail (throttled: surely not sent) and giving the claim back is throttled
    too, three times. The claim is still given back (surveys._give_back), so the
    redelivery — even after the lease, when a claim left behind would read "unknown" and the mail
    would never go — sends the mail, once."""
    review = make_review(tenant, recipients=1)
    assert tenant.api.post(f"/reviews/{review.review_id}/send").status == 202
    (body,) = [json.loads(m["Body"]) for m in receive_all()]
    inj = Injector(SEED + 7).fail_next("ses", "SendRawEmail")
    throttled = 3  # docs/reliability.md: the claim is given back with up to 4 attempts
    original = ledger.release
    armed: list[bool] = []

    def release(tenant_id: str, key: str, claim_id: str) -> None:
        if not armed:  # the first release of this claim: DynamoDB throttles it, and the next
            armed.append(True)
            inj.fail_next("dynamodb", "DeleteItem", throttled)
        original(tenant_id, key, claim_id)

    monkeypatch.setattr(ledger, "release", release)
    with injected(inj):
        assert handle(body, inj).startswith("failed:")  # SES's refusal: the queue retries
        lease_clock()
        assert handle(body, inj) == "sent"
    assert inj.injected == {f"{SES}.before": 1, "dynamodb.DeleteItem.before": throttled}
    assert len(mails_to(review.contacts[0]["email"])) == 1
    assert _delivery(tenant, review.review_id) == {review.contacts[0]["id"]: "sent"}


def test_a_throttled_sent_mark_does_not_send_the_survey_mail_twice(
    client: Any, tenant: TenantHandle, lease_clock: Callable[[], None], monkeypatch: Any
) -> None:
    """SES accepted the mail and the ledger's "sent" mark is throttled: the message fails and
    comes back. The claim is still held (busy, RetryLater) and after the lease reads "unknown":
    the mail is never sent again."""
    review = make_review(tenant, recipients=1)
    assert tenant.api.post(f"/reviews/{review.review_id}/send").status == 202
    (body,) = [json.loads(m["Body"]) for m in receive_all()]
    inj = Injector(SEED + 8)
    original = ledger.mark_sent

    def mark_sent(*args: Any, **kwargs: Any) -> None:
        if not inj.rules:  # the first mark: DynamoDB throttles it
            inj.fail_next("dynamodb", "UpdateItem")
        original(*args, **kwargs)

    monkeypatch.setattr(ledger, "mark_sent", mark_sent)
    with injected(inj):
        assert handle(body, inj) == "failed:UpdateError"
        assert handle(body, inj, expected=(surveys.RetryLater,)) == "failed:RetryLater"
        lease_clock()
        assert handle(body, inj) == "unknown"
    assert inj.injected == {"dynamodb.UpdateItem.before": 1} and inj.accepted[SES] == 1
    assert len(mails_to(review.contacts[0]["email"])) == 1


def _notification_mails(address: str, title: str) -> int:
    return sum(1 for m in mails_to(address) if str(m["Subject"]) == title)


def test_a_throttled_emailed_mark_does_not_mail_a_notification_twice(
    client: Any, tenant: TenantHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SES accepted a notification mail and its "emailed" mark is throttled three times: the
    mark still lands (notify._mark_emailed), so the handler's retry of the same notification
    mails nobody again."""
    from chalicelib.store import notifications
    from chalicelib.store.tenants import get_user

    user = get_user(tenant.tenant_id, tenant.admin.user_id)
    title = f"Throttled mark {tenant.tenant_id[-6:]}"
    event = notify.Event(
        kind="pulse_alert", title=title, dedupe_key=f"mark-test:{tenant.tenant_id}"
    )
    inj = Injector(SEED + 9)
    throttled = 3  # docs/reliability.md: the mark gets up to 4 attempts
    original = notifications.mark_emailed

    def mark_emailed(tenant_id: str, user_id: str, notification_id: str) -> None:
        if not inj.injected:
            inj.fail_next("dynamodb", "UpdateItem", throttled)
        original(tenant_id, user_id, notification_id)

    monkeypatch.setattr(notifications, "mark_emailed", mark_emailed)
    with injected(inj):
        for _ in range(2):  # the handler's run, then SQS's redelivery of the same message
            try:
                notify.notify(tenant.tenant_id, [user], event)
            except Exception as exc:
                check(exc, inj)
    assert inj.injected == {"dynamodb.UpdateItem.before": throttled}
    assert _notification_mails(user.email, title) == 1


# ----------------------------------------------------------------------------- the storm

STORM_RECIPIENTS = 12
STORM_ROUNDS = 8  # the send and 7 resends: under the 10 bulk sends a tenant may make a minute
STORM_PASSES = 60


@pytest.mark.usefixtures("expired_lease")
def test_fault_storm_on_the_mail_handler(
    client: Any, tenant: TenantHandle, figures: dict[str, Any]
) -> None:
    """The bulk of the faults, on the SES path itself: a fixed amount of work — 12 recipients ×
    8 rounds (the send, then 7 resends), one mail each — every message delivered again until it
    is done and once more after (SQS at least once), while SES refuses, loses the connection,
    times out or the Lambda dies after SES accepted, and DynamoDB throttles. Each recipient ends
    with exactly one mail per round."""
    review = make_review(tenant, recipients=STORM_RECIPIENTS)
    ids = [c["id"] for c in review.contacts]
    inj = (
        Injector(SEED + 5)
        .add("ses", ["SendRawEmail"], rate=0.45)  # throttled
        .add("ses", ["SendRawEmail"], rate=0.2, code=TRANSIENT[0], status=TRANSIENT[1])
        .add("ses", ["SendRawEmail"], rate=0.2, fault="connection")
        .add("ses", ["SendRawEmail"], rate=0.05, when="after", fault="timeout")
        .add("ses", ["SendRawEmail"], rate=0.05, when="after")  # accepted, then died
        .add("dynamodb", rate=0.02)
    )
    outcomes: Counter[str] = Counter()
    passes_needed = 0
    with injected(inj):
        for round_no in range(1, STORM_ROUNDS + 1):
            with inj.paused():
                if round_no == 1:
                    reply = tenant.api.post(f"/reviews/{review.review_id}/send")
                else:
                    reply = tenant.api.post(
                        f"/reviews/{review.review_id}/resend", {"contact_ids": ids}
                    )
                assert reply.status == 202, reply.body
                bodies = [json.loads(m["Body"]) for m in receive_all()]
            assert len(bodies) == STORM_RECIPIENTS
            pending = bodies
            for attempt in range(1, STORM_PASSES + 1):
                if not pending:
                    break
                passes_needed = max(passes_needed, attempt)
                done = []
                for body in pending:
                    outcome = handle(body, inj)
                    outcomes[outcome] += 1
                    if not outcome.startswith("failed:") and outcome != "died":
                        done.append(body)
                pending = [b for b in pending if b not in done]
            assert pending == [], f"round {round_no}: not done in {STORM_PASSES} deliveries"
            for body in bodies:  # at least once: each message delivered once more
                outcomes[handle(body, inj)] += 1
    mails = {c["email"]: mails_to(c["email"]) for c in review.contacts}
    per_round = {a: Counter(_purposes(m)) for a, m in mails.items()}
    expected_rounds = {f"invite#{n}" for n in range(1, STORM_ROUNDS + 1)}
    duplicates = sum(n - 1 for rounds in per_round.values() for n in rounds.values() if n > 1)
    lost = sum(len(expected_rounds - set(rounds)) for rounds in per_round.values())
    held = sum(len(m) for m in mails.values())
    assert duplicates == 0 and lost == 0, per_round
    assert held == STORM_RECIPIENTS * STORM_ROUNDS == inj.accepted[SES]
    assert inj.calls[SES] == inj.accepted[SES] + inj.injected[f"{SES}.before"]
    # What the documentation says of this storm: most of its faults are on the SES path, of
    # every kind, and DynamoDB throttles as well.
    assert _ses_faults(inj) > inj.total / 2
    assert all(inj.kinds[f"ses.{k}"] for k in ("throttle", "error", "connection", "timeout"))
    assert inj.kinds["ses.died"] and inj.kinds["dynamodb.throttle"]
    _record(
        figures,
        "mail_storm",
        inj,
        recipients=STORM_RECIPIENTS,
        rounds=STORM_ROUNDS,
        mails_expected=STORM_RECIPIENTS * STORM_ROUNDS,
        mails=held,
        deliveries=sum(outcomes.values()),
        most_deliveries_of_one_message=passes_needed + 1,
        outcomes=dict(sorted(outcomes.items())),
        duplicates=duplicates,
        lost=lost,
        **_ses(inj),
    )


# ----------------------------------------------------------------------------------- reminders


def _until_done(run: Callable[[], Any], inj: Injector, tries: int = 200) -> tuple[int, int]:
    """Run a job until one run completes; returns (deaths, failed runs) before that. Only the
    injector's faults count as a failed run: anything else fails the test."""
    crashes = errors = 0
    for _ in range(tries):
        try:
            run()
            return crashes, errors
        except UnexpectedFailure:
            raise
        except LambdaDied as exc:
            check(exc, inj)
            crashes += 1
        except Exception as exc:
            check(exc, inj)
            errors += 1
    raise AssertionError("the job never completed")


@pytest.mark.usefixtures("expired_lease")
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
        crashes, errors = _until_done(lambda: surveys.run_reminders(day7), inj)
        late = _until_done(lambda: surveys.run_reminders(day7 + timedelta(days=1)), inj)
        crashes, errors = crashes + late[0], errors + late[1]
        # The queued reminders go out through the mail handler while SES and DynamoDB fail.
        inj.clear()
        inj.add("ses", ["SendRawEmail"], rate=0.3).add("dynamodb", rate=0.02)
        inj.add("ses", ["SendRawEmail"], rate=0.1, when="after", fault="timeout")
        mail_run = drive(client, "mail", "survey_mail_queue", injector=inj)
    assert crashes + errors > 0
    reminders = {
        c["id"]: sum(str(m["Subject"]).startswith("Reminder:") for m in mails_to(c["email"]))
        for c in review.contacts
    }
    duplicates = sum(max(0, n - 1) for n in reminders.values())
    lost = sum(1 for n in reminders.values() if n == 0)
    assert duplicates == 0 and lost == 0, reminders
    # The job reads every tenant's due reminders (earlier tests' too): SES accepted these and more.
    assert inj.accepted[SES] >= sum(reminders.values())
    _record(
        figures,
        "reminders",
        inj,
        recipients=len(reminders),
        reminders=sum(reminders.values()),
        duplicates=duplicates,
        lost=lost,
        job_crashes=crashes,
        job_errors=errors,
        lambda_deaths=mail_run.died,
        item_failures=mail_run.item_failures,
        **_ses(inj),
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
    DynamoDB faults, timeouts and Lambda deaths. Each owner gets the digest; a second copy only
    when SES accepted it and the "emailed" mark was then lost — the Lambda died or the answer
    timed out (the documented window)."""
    owners = _stale_accounts(tenant, 4)
    from test_alerts import sent_mail

    start = len(sent_mail())
    today = datetime.now(UTC).date()
    body = {"job": "stale-alerts", "tenant_id": tenant.tenant_id, "date": today.isoformat()}
    inj = (
        Injector(SEED + 2)
        .add("ses", ["SendRawEmail"], rate=0.2)
        .add("ses", ["SendRawEmail"], rate=0.1, fault="connection")
        .add("ses", ["SendRawEmail"], rate=0.1, when="after")
        .add("ses", ["SendRawEmail"], rate=0.05, when="after", fault="timeout")
        .add("dynamodb", rate=0.04)
    )
    with injected(inj):
        # SQS redelivers until the handler succeeds, and once more after (at least once).
        died, failed = _until_done(lambda: pulse_jobs.handle_message(body), inj)
        again = _until_done(lambda: pulse_jobs.handle_message(body), inj)
    attempts = died + failed + again[0] + again[1] + 2
    from test_alerts import mails_to as alert_mails

    got = alert_mails(set(owners), start, "without a pulse")
    digests = {a: len(m) for a, m in got.items()}
    lost = sum(1 for n in digests.values() if n == 0)
    duplicates = sum(max(0, n - 1) for n in digests.values())
    window = inj.injected[f"{SES}.after"]
    assert lost == 0, digests
    # The window: at most one extra copy per fault after SES accepted a digest (a throttled
    # "emailed" mark is retried: notify.MARK_ATTEMPTS).
    assert duplicates <= window
    assert sum(digests.values()) == inj.accepted[SES]
    _record(
        figures,
        "stale_digests",
        inj,
        recipients=len(owners),
        mails=sum(digests.values()),
        duplicates=duplicates,
        duplicate_window_faults=window,
        lost=lost,
        attempts=attempts,
        lambda_deaths=died + again[0],
        **_ses(inj),
    )


# ------------------------------------------------------------------------- nightly SuccessScore


def test_success_score_twice_delivered_and_throttled_mid_batch(
    client: Any, aws: dict[str, str], figures: dict[str, Any]
) -> None:
    from test_success_score_job import ON, _clear_records, _make_tenant

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
        assert inj.total > 0 and run.died + run.item_failures + run.batch_failures > 0
        _record(
            figures,
            "success_score",
            inj,
            accounts=sum(len(e) for e in tenants.values()),
            wrong_or_missing_scores=len(wrong),
            lost=len(wrong),
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


# ------------------------------------------------------------------------------ dead letters


def test_a_poison_message_is_dead_lettered_and_replayed(
    client: Any, tenant: TenantHandle, figures: dict[str, Any]
) -> None:
    """SES refuses every attempt: after five receives the message waits in ``mail-dlq`` (the
    ``DeadLetterAlarm`` fires on AWS); once SES recovers, ``pulse jobs replay-dlq mail`` moves it
    back and it is sent, once."""
    from pulse_local.cli import main

    review = make_review(tenant, recipients=1)
    assert tenant.api.post(f"/reviews/{review.review_id}/send").status == 202
    inj = Injector(SEED + 4).add("ses", ["SendRawEmail"], rate=1.0)
    with injected(inj):
        run = drive(client, "mail", "survey_mail_queue", replay=False, injector=inj)
    assert inj.total == 5 and run.item_failures == 5 and dlq_depth("mail") == 1
    assert mails_to(review.contacts[0]["email"]) == []
    assert main(["jobs", "replay-dlq", "mail"]) == 0
    assert dlq_depth("mail") == 0
    drive(client, "mail", "survey_mail_queue", replay=False)
    mails = len(mails_to(review.contacts[0]["email"]))
    assert mails == 1
    _record(
        figures,
        "poison_message",
        inj,
        recipients=1,
        mails=mails,
        duplicates=mails - 1,
        lost=1 - mails,
        item_failures=run.item_failures,
        replayed_from_dlq=1,
        **_ses(inj),
    )


def test_replay_dlq_rejects_an_unknown_queue(capsys: pytest.CaptureFixture[str]) -> None:
    from pulse_local.cli import main

    assert main(["jobs", "replay-dlq", "nope"]) == 2
    assert "unknown queue" in capsys.readouterr().err


# ------------------------------------------------------------------------------------ totals

RUNS = (
    "review_sends",
    "mail_storm",
    "reminders",
    "stale_digests",
    "success_score",
    "poison_message",
)


def _rows(runs: dict[str, dict[str, Any]]) -> Iterator[str]:
    def faults(run: dict[str, Any]) -> str:
        kinds = ", ".join(f"{k} {n}" for k, n in run["by_fault"].items())
        return f"{run['injected']:,} ({kinds})"

    r = runs["review_sends"]
    yield (
        f"| review sends through the `mail` queue handler ({r['recipients']} recipients) "
        f"| {faults(r)} | SES: {r['ses_attempted']} calls, {r['ses_accepted']} accepted; "
        f"{r['item_failures']} failed items, Lambda deaths: {r['lambda_deaths']}, "
        f"{r['replayed_from_dlq']} replayed from `mail-dlq` | {r['mails']} mails, {r['lost']} lost, "
        f"{r['duplicates']} duplicates; {r['unknown_total']} `unknown`, each a mail SES has |"
    )
    r = runs["mail_storm"]
    yield (
        f"| fault storm: {r['recipients']} recipients × {r['rounds']} rounds (send, resends), "
        f"each message delivered until done, then once more "
        f"| {faults(r)} | SES: {r['ses_attempted']} calls, {r['ses_refused']} refused before "
        f"SES had the mail, {r['ses_accepted']} accepted; {r['deliveries']} deliveries "
        f"| {r['mails']} mails of {r['mails_expected']}, {r['lost']} lost, "
        f"{r['duplicates']} duplicates |"
    )
    r = runs["reminders"]
    yield (
        f"| reminders job: dies after queueing / after moving a step, throttled, rerun until "
        f"done, then the next day's event late; the reminders mailed under SES faults "
        f"| {faults(r)} | {r['job_crashes']} job deaths, {r['job_errors']} failed runs; mail "
        f"handler: SES {r['ses_attempted']} calls, {r['ses_accepted']} accepted, "
        f"{r['lambda_deaths']} deaths "
        f"| {r['reminders']} reminders for {r['recipients']} recipients, {r['lost']} lost, "
        f"{r['duplicates']} duplicates |"
    )
    r = runs["stale_digests"]
    yield (
        f"| stale digests (one tenant's `stale-alerts` message): delivered until done, then again "
        f"| {faults(r)} | {r['attempts']} deliveries, {r['duplicate_window_faults']} faults after "
        f"SES accepted a digest | {r['recipients']} owners mailed, {r['lost']} lost, "
        f"**{r['duplicates']} duplicates** (the documented window) |"
    )
    r = runs["success_score"]
    yield (
        f"| nightly SuccessScore: every message delivered twice, BatchWriteItem throttled and "
        f"dying mid-batch | {faults(r)} | {r['item_failures']} failed items, "
        f"{r['lambda_deaths']} deaths, {r['replayed_from_dlq']} replayed from `score-dlq` "
        f"| {r['accounts']} scores, {r['wrong_or_missing_scores']} wrong or missing |"
    )
    r = runs["poison_message"]
    yield (
        f"| poison message: SES refuses every attempt | {faults(r)} | after "
        f"{r['item_failures']} receives it sits in `mail-dlq`; `pulse jobs replay-dlq mail` "
        f"moves it back | {r['mails']} mail after replay |"
    )


def test_fault_totals(figures: dict[str, Any]) -> None:
    """Runs last in this module: the totals over the tests above, each counted from what
    happened there, and the table for docs/reliability.md."""
    runs = {name: figures.get(f"faults.{name}") for name in RUNS}
    missing = [name for name, run in runs.items() if run is None]
    if missing:
        pytest.skip(f"totals need the whole module; not run: {', '.join(missing)}")
    done: dict[str, dict[str, Any]] = {k: v for k, v in runs.items() if v is not None}
    total = sum(v["injected"] for v in done.values())
    lost = sum(v["lost"] for v in done.values())
    duplicates = sum(v.get("duplicates", 0) for v in done.values())
    window = sum(v.get("duplicate_window_faults", 0) for v in done.values())
    ses_faults = sum(
        n for v in done.values() for k, n in v["by_operation"].items() if k.startswith(SES)
    )
    kinds: Counter[str] = Counter()
    for v in done.values():
        kinds.update(v["by_fault"])
    assert sum(kinds.values()) == total
    assert lost == 0
    assert duplicates <= window  # every duplicate in the documented window
    assert duplicates == done["stale_digests"]["duplicates"]  # survey mail: none at all
    figures["faults.total"] = {
        "injected": total,
        "ses_path": ses_faults,
        "by_fault": dict(sorted(kinds.items())),
        "lost": lost,
        "duplicates": duplicates,
        "duplicate_window_faults": window,
        "duplicates_per_1000_faults": round(1000 * duplicates / total, 2) if total else None,
    }
    per_1000 = figures["faults.total"]["duplicates_per_1000_faults"]
    lines = [
        "| path (test in `test_faults.py`) | faults (by kind) | what else | outcome |",
        "|---|---|---|---|",
        *_rows(done),
        "",
        f"**Totals: {total:,} faults injected ({ses_faults:,} on the SES call itself); "
        f"work lost: {lost}; duplicates: {duplicates} ({per_1000} per 1,000 faults), "
        f"against {window} faults in the documented window.**",
        "",
    ]
    SUMMARY.parent.mkdir(exist_ok=True)
    SUMMARY.write_text("\n".join(lines))
