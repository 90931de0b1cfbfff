"""Heartbeat schedules and the fan-out queue handler.

* ``heartbeat-prepare`` (daily): closes rounds whose 28-day window ended, prepares the rounds
  that came due and emails the admins that approval is needed.
* ``benchmarks`` (nightly): recomputes benchmarks, rankings and awards from the aggregates.
* the ``heartbeat`` queue: an approved round becomes one message per account, and each account
  message invites that account's contacts through the survey machinery.
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

from chalicelib.jobs.registry import job
from chalicelib.observability import (
    BENCHMARK_PERIODS,
    INVITES_QUEUED,
    MESSAGES_QUEUED,
    ROUNDS_PREPARED,
    count,
    logger,
    observed,
)
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
@observed
def heartbeat_prepare_schedule(event: Any) -> dict[str, Any]:
    result = prepare(_today())
    count(ROUNDS_PREPARED, int(result.get("prepared", 0)))
    logger.info("heartbeat-prepare done", extra=result)
    return result


@bp.schedule(Cron(30, 2, "*", "*", "?", "*"), name="benchmarks_nightly")
@observed
def benchmarks_schedule(event: Any) -> dict[str, Any]:
    result = benchmarks(_today())
    count(BENCHMARK_PERIODS, len(result["periods"]))
    logger.info("benchmarks done", extra={"periods": len(result["periods"])})
    return result


@bp.on_sqs_message(
    queue=queue_name(heartbeat_service.FANOUT_QUEUE), batch_size=5, name="heartbeat_fanout"
)
@observed
def heartbeat_fanout(event: Any) -> dict[str, Any]:
    """Each message alone: a failed one comes back in ``batchItemFailures`` (retried, then
    dead-lettered); the rest are done. Every step is idempotent, so a retry is harmless."""
    tally: Counter[str] = Counter()

    def record_handler(record: SQSRecord) -> dict[str, Any]:
        result = heartbeat_service.handle_message(json.loads(record.body))
        tally.update({k: int(v) for k, v in result.items() if k in ("accounts", "invited")})
        return result

    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    response = process_partial_response(
        event=event.to_dict(), record_handler=record_handler, processor=processor
    )
    failed = len(response["batchItemFailures"])
    count(MESSAGES_QUEUED, tally["accounts"])
    count(INVITES_QUEUED, tally["invited"])
    logger.info(
        "heartbeat fan-out batch",
        extra={
            "messages": len(event.to_dict().get("Records") or []),
            "failed": failed,
            "accounts_queued": tally["accounts"],
            "invites_queued": tally["invited"],
        },
    )
    return dict(response)
