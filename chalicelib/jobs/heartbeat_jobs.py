"""Heartbeat schedules and the fan-out queue handler.

* ``heartbeat-prepare`` (daily): closes rounds whose 28-day window ended, prepares the rounds
  that came due and emails the admins that approval is needed.
* ``benchmarks`` (nightly): recomputes benchmarks, rankings and awards from the aggregates.
* the ``heartbeat`` queue: an approved round becomes one message per account, and each account
  message invites that account's contacts through the survey machinery.
"""

from __future__ import annotations

import json
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
from chalicelib.observability import logger
from chalicelib.queues import queue_name
from chalicelib.services import benchmarks as benchmark_service
from chalicelib.services import heartbeat as heartbeat_service

bp = Blueprint(__name__)


@job("heartbeat-prepare")
def prepare(on_date: date) -> dict[str, Any]:
    return heartbeat_service.prepare_due_rounds(on_date)


@job("benchmarks")
def benchmarks(on_date: date) -> dict[str, Any]:
    return benchmark_service.run(on_date)


def _today() -> date:
    return datetime.now(UTC).date()


@bp.schedule(Cron(0, 7, "*", "*", "?", "*"), name="heartbeat_prepare")
def heartbeat_prepare_schedule(event: Any) -> dict[str, Any]:
    result = prepare(_today())
    logger.info("heartbeat-prepare done", extra=result)
    return result


@bp.schedule(Cron(30, 2, "*", "*", "?", "*"), name="benchmarks_nightly")
def benchmarks_schedule(event: Any) -> dict[str, Any]:
    result = benchmarks(_today())
    logger.info("benchmarks done", extra={"periods": len(result["periods"])})
    return result


def _record_handler(record: SQSRecord) -> dict[str, Any]:
    return heartbeat_service.handle_message(json.loads(record.body))


@bp.on_sqs_message(
    queue=queue_name(heartbeat_service.FANOUT_QUEUE), batch_size=5, name="heartbeat_fanout"
)
def heartbeat_fanout(event: Any) -> dict[str, Any]:
    """Each message alone: a failed one comes back in ``batchItemFailures`` (retried, then
    dead-lettered); the rest are done. Every step is idempotent, so a retry is harmless."""
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    return dict(
        process_partial_response(
            event=event.to_dict(), record_handler=_record_handler, processor=processor
        )
    )
