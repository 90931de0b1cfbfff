"""Nightly SuccessScore and daily stale-pulse digests: schedules, the queue handler, and the
same code run in one process by ``pulse jobs run success-score|stale-alerts --date D``.

Fan-out. The schedule lists tenants (one Query of the tenant directory) and sends one message per
tenant to the ``score`` queue. The queue handler scores one *slice* of a tenant (at most
``SLICE_ACCOUNTS`` accounts: Query pages, then batch writes of 25) and, when the tenant has more
accounts, sends the message for the next slice, carrying the Query's last evaluated key. Small
tenants are one message; a tenant with 200,000 accounts is a chain of 100 slices. Each record is
processed on its own and failures are reported per message (``batchItemFailures``), so one bad
tenant does not block the rest; its message is retried and then dead-lettered.

Idempotency. The score for a date is a pure function of the account's state and the date, so a
repeated message, a repeated schedule or a by-hand run for the same date writes the same values.
A repeated message whose slice has a successor also re-sends that successor: the duplicate chain
rewrites identical values (extra work, never a wrong score). Stale digests carry a dedupe key per
user and date (chalicelib/services/notify.py), so a second run sends nothing.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, date, datetime
from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from chalice.app import Blueprint, Cron

from chalicelib.domain import success_score as score
from chalicelib.jobs.registry import job, progress
from chalicelib.observability import (
    ACCOUNTS_SCORED,
    ALERTS_SENT,
    MESSAGES_QUEUED,
    count,
    logger,
    observed,
)
from chalicelib.queues import send_messages
from chalicelib.services import pulses as service
from chalicelib.settings import get_settings
from chalicelib.store import directory
from chalicelib.store import pulses as store

bp = Blueprint(__name__)

# Accounts per queue message. At ~0.7 KB per account item a slice is 2 Query pages and 80 batch
# writes: about 1-2 s of DynamoDB time, far inside the handler's timeout even for a batch of 10
# (see "Nightly job at scale" in docs/success-score.md). A multiple of 25 keeps every batch write
# but a tenant's last one full.
SLICE_ACCOUNTS = 2000
SCORE_QUEUE = "score"
JOB_SCORE = "success-score"
JOB_STALE = "stale-alerts"


def _message(job_name: str, tenant_id: str, on_date: date, **extra: Any) -> dict[str, Any]:
    return {"job": job_name, "tenant_id": tenant_id, "date": on_date.isoformat(), **extra}


# ------------------------------------------------------------------------------ the units of work


def score_tenant_slice(
    tenant_id: str,
    on_date: date,
    start_key: dict[str, Any] | None = None,
    params: score.ScoreParams | None = None,
) -> store.SliceResult:
    return store.score_slice(
        tenant_id,
        on_date,
        params or service.tenant_params(tenant_id),
        start_key=start_key,
        limit=SLICE_ACCOUNTS,
    )


def handle_message(
    body: dict[str, Any], tally: Counter[str] | None = None
) -> dict[str, Any] | None:
    """Do one message's work; returns the message that continues it, if any. ``tally`` adds
    up what was done (accounts scored, digests mailed) for the batch's summary."""
    tally = Counter() if tally is None else tally
    job_name = body.get("job")
    tenant_id = body.get("tenant_id")
    if not isinstance(tenant_id, str) or not tenant_id:
        raise ValueError("message without tenant_id")
    on_date = date.fromisoformat(str(body.get("date")))
    if job_name == JOB_SCORE:
        start = body.get("start_key")
        result = score_tenant_slice(tenant_id, on_date, start if isinstance(start, dict) else None)
        tally["accounts_scored"] += result.accounts
        logger.info(
            "success-score slice",
            extra={
                "tenant_id": tenant_id,
                "accounts": result.accounts,
                "more": bool(result.next_key),
            },
        )
        if result.next_key:
            return _message(JOB_SCORE, tenant_id, on_date, start_key=result.next_key)
        return None
    if job_name == JOB_STALE:
        counts = service.stale_digests(tenant_id, on_date)
        tally["alerts_sent"] += int(counts["mailed"])
        return None
    raise ValueError(f"unknown job in message: {job_name!r}")


# ------------------------------------------------------------------------- by hand, in-process


@job(JOB_SCORE)
def success_score_job(on_date: date) -> dict[str, Any]:
    """Every tenant, every slice, in this process: the same work the queue does."""
    tenants = slices = accounts = 0
    for tenant_id in directory.tenant_ids():
        tenants += 1
        params = service.tenant_params(tenant_id)
        start: dict[str, Any] | None = None
        while True:
            result = score_tenant_slice(tenant_id, on_date, start, params)
            slices += 1
            accounts += result.accounts
            progress(f"tenant {tenant_id}: slice of {result.accounts} accounts scored")
            if not result.next_key:
                break
            start = result.next_key
    return {"date": on_date.isoformat(), "tenants": tenants, "slices": slices, "accounts": accounts}


@job(JOB_STALE)
def stale_alerts_job(on_date: date) -> dict[str, Any]:
    tenants = recipients = mailed = 0
    for tenant_id in directory.tenant_ids():
        tenants += 1
        counts = service.stale_digests(tenant_id, on_date)
        recipients += counts["recipients"]
        mailed += counts["mailed"]
        progress(f"tenant {tenant_id}: {counts['mailed']} of {counts['recipients']} digests mailed")
    return {
        "date": on_date.isoformat(),
        "tenants": tenants,
        "recipients": recipients,
        "mailed": mailed,
    }


def fan_out(job_name: str, on_date: date) -> int:
    """One message per tenant on the score queue; returns how many were sent."""
    messages = [_message(job_name, t, on_date) for t in directory.tenant_ids()]
    return send_messages(SCORE_QUEUE, messages) if messages else 0


# ----------------------------------------------------------------------- schedules and queue


def _event_date(event: Any) -> date:
    stamp = getattr(event, "time", None) or ""
    try:
        return datetime.fromisoformat(str(stamp).replace("Z", "+00:00")).astimezone(UTC).date()
    except ValueError:
        return datetime.now(UTC).date()


@bp.schedule(Cron(0, 2, "*", "*", "?", "*"), name="nightly_success_score")
@observed
def nightly_success_score(event: Any) -> dict[str, Any]:
    """02:00 UTC: score every account for today's date, through the score queue."""
    on_date = _event_date(event)
    sent = fan_out(JOB_SCORE, on_date)
    count(MESSAGES_QUEUED, sent)
    logger.info("success-score fan-out", extra={"date": on_date.isoformat(), "messages": sent})
    return {"date": on_date.isoformat(), "messages": sent}


@bp.schedule(Cron(0, 13, "*", "*", "?", "*"), name="daily_stale_alerts")
@observed
def daily_stale_alerts(event: Any) -> dict[str, Any]:
    """13:00 UTC (morning in the Americas, afternoon in Europe): one digest per recipient."""
    on_date = _event_date(event)
    sent = fan_out(JOB_STALE, on_date)
    count(MESSAGES_QUEUED, sent)
    logger.info("stale-alerts fan-out", extra={"date": on_date.isoformat(), "messages": sent})
    return {"date": on_date.isoformat(), "messages": sent}


@bp.on_sqs_message(queue=get_settings().queue_name(SCORE_QUEUE), batch_size=10, name="score_queue")
@observed
def score_queue(event: Any) -> dict[str, Any]:
    """Each message on its own; failures come back as ``batchItemFailures`` (the event source
    mapping needs ``ReportBatchItemFailures``, added by infra/template.py)."""
    tally: Counter[str] = Counter()

    def record_handler(record: SQSRecord) -> None:
        following = handle_message(json.loads(record.body), tally)
        if following is not None:
            send_messages(SCORE_QUEUE, [following])
            tally["continued"] += 1

    processor = BatchProcessor(event_type=EventType.SQS)
    response = process_partial_response(
        event=event.to_dict(), record_handler=record_handler, processor=processor
    )
    count(ACCOUNTS_SCORED, tally["accounts_scored"])
    count(ALERTS_SENT, tally["alerts_sent"])
    logger.info(
        "score queue batch",
        extra={
            "messages": len(event.to_dict().get("Records") or []),
            "failed": len(response["batchItemFailures"]),
            "accounts_scored": tally["accounts_scored"],
            "alerts_sent": tally["alerts_sent"],
            "slices_continued": tally["continued"],
        },
    )
    return dict(response)
