"""A scheduled job that failed on AWS is replayable: Lambda's on-failure record (the original
EventBridge event under ``requestPayload``) in the async-failures queue, and
``pulse jobs replay-dlq async-failures`` runs that job again for the event's date."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, date, datetime
from typing import Any

import pytest

pytestmark = pytest.mark.usefixtures("chalice_app")
Q = "responsiveness"


def _tenant(industry: str) -> str:
    from chalicelib.domain.entities import Tenant
    from chalicelib.store import tenants
    from chalicelib.store.base import new_id, now_iso

    tenant = Tenant(
        tenant_id=new_id("t"),
        name=f"Co {secrets.token_hex(3)}",
        industry=industry,
        country="US",
        region="TX",
        city="Austin",
        staff_size=10,
        created_at=now_iso(),
    )
    tenants.create_tenant(tenant)
    return tenant.tenant_id


def _aggregate(period: str, tenant_id: str, mean: float) -> None:
    from chalicelib.store.heartbeat import AggregateModel, period_key

    AggregateModel(
        period_key(period),
        f"{tenant_id}#{Q}",
        tenant_id=tenant_id,
        question_id=Q,
        customers=6,
        responses=8,
        value_sum=mean * 8,
        invited=16,
    ).save()


def _failure_record(function: str, event: dict[str, Any]) -> dict[str, Any]:
    """What Lambda sends its on-failure destination once an asynchronous event's retries are
    exhausted."""
    return {
        "version": "1.0",
        "timestamp": "2026-01-01T05:00:00.000Z",
        "requestContext": {
            "requestId": secrets.token_hex(8),
            "functionArn": f"arn:aws:lambda:us-east-1:123456789012:function:{function}:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": 3,
        },
        "requestPayload": event,
        "responseContext": {
            "statusCode": 200,
            "executedVersion": "$LATEST",
            "functionError": "Unhandled",
        },
        "responsePayload": {"errorMessage": "Task timed out", "errorType": "Sandbox.Timedout"},
    }


def _failure_queue() -> tuple[Any, str]:
    from chalicelib.clients import client
    from chalicelib.queues import ASYNC_FAILURES, queue_name

    sqs = client("sqs")
    return sqs, sqs.get_queue_url(QueueName=queue_name(ASYNC_FAILURES))["QueueUrl"]


def _depth(sqs: Any, url: str) -> int:
    attrs = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + int(
        attrs["ApproximateNumberOfMessagesNotVisible"]
    )


def test_a_failed_nightly_run_is_replayed_for_its_own_date() -> None:
    from chalicelib.store import heartbeat
    from pulse_local.cli import replay_async_failures
    from pulse_local.runner import scheduled_event

    industry, period = f"Replay {secrets.token_hex(4)}", "2017-Q1"
    peers = [_tenant(industry) for _ in range(5)]
    for i, tenant_id in enumerate(peers):
        _aggregate(period, tenant_id, 6.0 + i)
    # The night of 2017-02-20 failed: no benchmark exists for that quarter yet.
    assert heartbeat.latest_result(peers[0], period) is None
    failed_at = datetime(2017, 2, 20, 2, 30, tzinfo=UTC)
    nightly = scheduled_event("pulse-dev-BenchmarksNightlyEvent-1A2B3C", failed_at, "us-east-1")
    sqs, url = _failure_queue()
    before = _depth(sqs, url)
    sqs.send_message(
        QueueUrl=url,
        MessageBody=json.dumps(_failure_record("pulse-dev-BenchmarksNightly-Q1w2E3r4T5", nightly)),
    )
    # A record it cannot place (another function) is left for a person, never dropped.
    sqs.send_message(
        QueueUrl=url,
        MessageBody=json.dumps(_failure_record("someone-else-Thing-1", {"time": "x"})),
    )

    runs = replay_async_failures()

    (run,) = [r for r in runs if r["handler"] == "benchmarks_nightly"]
    assert run["job"] == "benchmarks" and run["date"] == date(2017, 2, 20).isoformat()
    result = heartbeat.latest_result(peers[0], period)
    assert result is not None  # the quarter of the failed night, not today's
    (question,) = [q for q in result.questions if q["question_id"] == Q]
    assert question["companies"] == 5
    assert _depth(sqs, url) == before + 1  # the replayed record is gone, the stranger stays


def test_every_schedule_names_the_job_it_replays_with(chalice_app: Any) -> None:
    from chalice.app import ScheduledEventConfig

    from chalicelib.jobs.registry import JOBS
    from pulse_local.cli import SCHEDULED_JOBS

    schedules = {s.name for s in chalice_app.event_sources if isinstance(s, ScheduledEventConfig)}
    assert schedules and set(SCHEDULED_JOBS) == schedules
    assert set(SCHEDULED_JOBS.values()) <= set(JOBS)
