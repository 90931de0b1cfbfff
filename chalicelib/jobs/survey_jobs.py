"""Survey handlers: the ``mail`` queue, SES bounce/complaint notifications and daily reminders.

* ``mail`` queue (``survey_mail_queue``): each message is one unit of work, dispatched on its
  ``type`` through ``MAIL_HANDLERS`` (``survey_mail``: send one survey mail;
  ``survey_event``: notify an account owner). Failures are reported per message with
  Powertools' ``BatchProcessor`` (``batchItemFailures``; the event source mapping needs
  ``ReportBatchItemFailures``), so one bad message is retried and dead-lettered alone.
* SNS topic ``<prefix>-ses-events`` (``ses_events``): SES bounce and complaint notifications;
  a permanent bounce or a complaint suppresses the contact.
* ``reminders`` (daily at 09:00 UTC, and ``pulse jobs run reminders --date D``).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from chalice.app import Blueprint, Cron

from chalicelib.jobs.registry import job
from chalicelib.observability import (
    CONTACTS_SUPPRESSED,
    MAIL_MESSAGES_FAILED,
    MAILS_SENT,
    OWNER_NOTIFICATIONS,
    REMINDERS_SENT,
    count,
    logger,
    observed,
)
from chalicelib.queues import queue_name
from chalicelib.services import reviews as _reviews  # noqa: F401  (registers the review kind)
from chalicelib.services import surveys
from chalicelib.settings import get_settings

bp = Blueprint(__name__)

MAIL_QUEUE = "mail"

MAIL_HANDLERS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "survey_mail": surveys.deliver,
    "survey_event": surveys.handle_event,
}


def ses_events_topic() -> str:
    """The SNS topic SES publishes bounces and complaints to (created by infra)."""
    return f"{get_settings().resource_prefix}-ses-events"


def handle_mail_message(body: Mapping[str, Any]) -> str:
    kind = str(body.get("type", ""))
    handler = MAIL_HANDLERS.get(kind)
    if handler is None:
        logger.error("unknown mail message type; dropped", extra={"type": kind})
        return "dropped"
    return handler(body)


def _record_handler(record: SQSRecord) -> str:
    body = json.loads(record.body)
    if not isinstance(body, dict):
        logger.error("mail message is not an object; dropped")
        return "dropped"
    try:
        outcome = handle_mail_message(body)
    except surveys.RetryLater:
        logger.info("mail message busy elsewhere; retried later", extra={"type": body.get("type")})
        raise
    except Exception:
        logger.exception("mail message failed", extra={"type": body.get("type")})
        raise
    logger.info("mail message handled", extra={"type": body.get("type"), "outcome": outcome})
    return outcome


@bp.on_sqs_message(queue=queue_name(MAIL_QUEUE), batch_size=10, name="survey_mail_queue")
@observed
def mail_queue(event: Any) -> dict[str, Any]:
    """One message at a time; failed ones come back as ``batchItemFailures``."""
    outcomes: Counter[str] = Counter()

    def record_handler(record: SQSRecord) -> str:
        outcome = _record_handler(record)
        outcomes[outcome] += 1
        return outcome

    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    response = process_partial_response(
        event=event.to_dict(), record_handler=record_handler, processor=processor
    )
    failed = len(response["batchItemFailures"])
    count(MAILS_SENT, outcomes["sent"])
    count(OWNER_NOTIFICATIONS, outcomes["notified"])
    count(MAIL_MESSAGES_FAILED, failed)
    logger.info(
        "mail queue batch",
        extra={
            "messages": len(event.to_dict().get("Records") or []),
            "failed": failed,
            "mails_sent": outcomes["sent"],
            "outcomes": dict(sorted(outcomes.items())),
        },
    )
    return dict(response)


@bp.on_sns_message(topic=ses_events_topic(), name="ses_events")
@observed
def ses_events(event: Any) -> dict[str, Any]:
    """SES → SNS: a permanent bounce or a complaint suppresses the contact."""
    suppressed = 0
    try:
        notification = json.loads(event.message)
    except (TypeError, ValueError):
        logger.warning("SES notification is not JSON; ignored")
        notification = None
    if isinstance(notification, dict):
        suppressed = surveys.suppress_from_ses(notification)
    count(CONTACTS_SUPPRESSED, suppressed)
    logger.info("ses events done", extra={"contacts_suppressed": suppressed})
    return {"suppressed": suppressed}


@job("reminders")
def reminders(on_date: date) -> dict[str, Any]:
    return surveys.run_reminders(on_date)


@bp.schedule(Cron(0, 9, "*", "*", "?", "*"), name="daily_reminders")
@observed
def daily_reminders(event: Any) -> dict[str, Any]:
    """09:00 UTC: reminders due today (and any missed in the days before)."""
    result = reminders(datetime.now(UTC).date())
    count(REMINDERS_SENT, int(result.get("queued", 0)))
    logger.info("reminders done", extra=result)
    return result
