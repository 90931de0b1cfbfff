"""The local event runner delivers schedules and SQS messages as EventBridge and Lambda would.

A throwaway Chalice app with its own schedule and queue handler keeps these tests independent of
whatever handlers app.py registers.
"""

from __future__ import annotations

import json
import secrets
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from chalice import Chalice, Rate

from pulse_local.runner import FakeContext, Runner, Schedule


def _sqs() -> Any:
    return boto3.client("sqs")


@pytest.fixture
def queue(aws: dict[str, str]) -> dict[str, str]:
    name = f"runner-test-{secrets.token_hex(4)}"
    sqs = _sqs()
    dlq = sqs.create_queue(QueueName=name + "-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    url = sqs.create_queue(
        QueueName=name,
        Attributes={
            "VisibilityTimeout": "1",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "3"}),
        },
    )["QueueUrl"]
    return {"name": name, "url": url, "dlq": dlq}


class Recorder:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.contexts: list[Any] = []
        self.batches: list[list[dict[str, Any]]] = []


def build_app(queue_name: str, batch_size: int = 5) -> tuple[Chalice, Recorder]:
    app = Chalice("runner-test")
    seen = Recorder()

    @app.schedule("cron(30 2 * * ? *)")
    def nightly(event: Any) -> None:
        seen.events.append(event.to_dict())
        seen.contexts.append(event.context)

    @app.schedule(Rate(5, unit=Rate.MINUTES))
    def every_five(event: Any) -> None:
        seen.events.append(event.to_dict())

    @app.on_sqs_message(queue=queue_name, batch_size=batch_size)
    def consume(event: Any) -> dict[str, Any]:
        records = [record.to_dict() for record in event]
        seen.batches.append(records)
        if any(json.loads(r["body"]).get("explode") for r in records):
            raise RuntimeError("handler crashed")
        failures = [
            {"itemIdentifier": r["messageId"]} for r in records if json.loads(r["body"]).get("fail")
        ]
        return {"batchItemFailures": failures}

    return app, seen


def _send(url: str, *bodies: dict[str, Any]) -> None:
    for body in bodies:
        _sqs().send_message(QueueUrl=url, MessageBody=json.dumps(body))


def _count(url: str) -> tuple[int, int]:
    attrs = _sqs().get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]), int(
        attrs["ApproximateNumberOfMessagesNotVisible"]
    )


def test_sqs_messages_are_delivered_as_lambda_records_and_deleted(queue: dict[str, str]) -> None:
    app, seen = build_app(queue["name"], batch_size=3)
    runner = Runner(app, sqs=_sqs())
    _send(queue["url"], *({"n": i} for i in range(7)))

    deleted = runner.drain_queues()

    assert deleted == 7
    assert _count(queue["url"]) == (0, 0)
    records = [r for batch in seen.batches for r in batch]
    assert sorted(json.loads(r["body"])["n"] for r in records) == list(range(7))
    assert all(len(batch) <= 3 for batch in seen.batches)
    assert len({r["messageId"] for r in records}) == 7  # unique, unlike chalice's test events
    first = records[0]
    assert first["eventSource"] == "aws:sqs"
    assert first["eventSourceARN"].endswith(f":{queue['name']}")
    assert first["attributes"]["ApproximateReceiveCount"] == "1"
    assert first["receiptHandle"]


def test_partial_batch_failures_stay_on_the_queue(queue: dict[str, str]) -> None:
    app, seen = build_app(queue["name"])
    runner = Runner(app, sqs=_sqs())
    _send(queue["url"], {"n": 1}, {"n": 2, "fail": True}, {"n": 3})

    outcome = runner.poll_queue("consume", wait_seconds=1)

    assert (outcome.received, outcome.deleted, outcome.failed) == (3, 2, 1)
    assert _count(queue["url"]) == (0, 1)  # the failure is in flight, not deleted
    time.sleep(1.5)  # visibility timeout of the test queue
    again = runner.poll_queue("consume", wait_seconds=1)
    assert again.received == 1
    retried = seen.batches[-1][0]
    assert json.loads(retried["body"]) == {"n": 2, "fail": True}
    assert retried["attributes"]["ApproximateReceiveCount"] == "2"


def test_a_crashing_handler_deletes_nothing(queue: dict[str, str]) -> None:
    app, _ = build_app(queue["name"])
    runner = Runner(app, sqs=_sqs())
    _send(queue["url"], {"n": 1}, {"explode": True})

    outcome = runner.poll_queue("consume", wait_seconds=1)

    assert outcome.deleted == 0
    assert outcome.failed == outcome.received == 2
    assert outcome.error == "RuntimeError: handler crashed"
    assert _count(queue["url"]) == (0, 2)


def test_cron_schedule_fires_at_its_time_with_an_eventbridge_event(queue: dict[str, str]) -> None:
    app, seen = build_app(queue["name"])
    runner = Runner(app, sqs=_sqs())
    start = datetime(2024, 3, 9, 23, 0, tzinfo=UTC)

    runner.run_once(start)  # arms the schedules
    assert runner.schedules["nightly"].next_fire == datetime(2024, 3, 10, 2, 30, tzinfo=UTC)
    runner.run_once(datetime(2024, 3, 10, 2, 29, 59, tzinfo=UTC))
    assert [name for name, _ in runner.fired if name == "nightly"] == []

    result = runner.run_once(datetime(2024, 3, 10, 2, 30, 5, tzinfo=UTC))

    assert "nightly" in result["fired"]
    nightly = [e for e in seen.events if e["resources"][0].endswith("-nightly")]
    assert len(nightly) == 1
    event = nightly[0]
    assert event["time"] == "2024-03-10T02:30:00Z"
    assert event["detail-type"] == "Scheduled Event"
    assert event["source"] == "aws.events"
    assert runner.schedules["nightly"].next_fire == datetime(2024, 3, 11, 2, 30, tzinfo=UTC)
    context = seen.contexts[0]
    assert context.function_name == "runner-test-local-nightly"
    assert 0 < context.get_remaining_time_in_millis() <= 900_000


def test_rate_schedule_fires_every_period(queue: dict[str, str]) -> None:
    app, _ = build_app(queue["name"])
    runner = Runner(app, sqs=_sqs())
    start = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
    runner.run_once(start)
    for minute in range(1, 16):
        runner.run_once(start + timedelta(minutes=minute))
    times = [at for name, at in runner.fired if name == "every_five"]
    assert times == [start + timedelta(minutes=m) for m in (5, 10, 15)]


def test_fire_schedule_by_hand_uses_the_given_time(queue: dict[str, str]) -> None:
    app, seen = build_app(queue["name"])
    runner = Runner(app, sqs=_sqs())
    runner.fire_schedule("nightly", at=datetime(2025, 6, 1, 2, 30, tzinfo=UTC))
    assert seen.events[-1]["time"] == "2025-06-01T02:30:00Z"


def test_background_runner_feeds_the_queue(queue: dict[str, str]) -> None:
    app, seen = build_app(queue["name"])
    runner = Runner(app, sqs=_sqs())
    runner.start()
    try:
        _send(queue["url"], {"n": 42})
        deadline = time.monotonic() + 10
        while not seen.batches and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        runner.stop()
    assert json.loads(seen.batches[0][0]["body"]) == {"n": 42}
    assert _count(queue["url"]) == (0, 0)


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("cron(0 2 * * ? *)", "2024-01-01T02:00:00", "2024-01-02T02:00:00"),
        ("cron(0 2 * * ? *)", "2024-01-01T01:59:59", "2024-01-01T02:00:00"),
        ("cron(*/15 * * * ? *)", "2024-01-01T10:07:00", "2024-01-01T10:15:00"),
        ("cron(0 9 ? * MON *)", "2024-01-01T09:00:00", "2024-01-08T09:00:00"),  # 1 Jan: Monday
        ("cron(0 9 ? * 1 *)", "2024-01-01T00:00:00", "2024-01-07T09:00:00"),  # 1 = Sunday
        ("cron(0 0 1 * ? *)", "2024-01-15T00:00:00", "2024-02-01T00:00:00"),
        ("cron(0 6,18 * * ? *)", "2024-01-01T07:00:00", "2024-01-01T18:00:00"),
        ("rate(1 hour)", "2024-01-01T07:00:00", "2024-01-01T08:00:00"),
    ],
)
def test_schedule_expressions(expression: str, after: str, expected: str) -> None:
    moment = datetime.fromisoformat(after).replace(tzinfo=UTC)
    assert Schedule.parse(expression).next_after(moment) == datetime.fromisoformat(
        expected
    ).replace(tzinfo=UTC)


@pytest.mark.parametrize("expression", ["cron(0 0 L * ? *)", "cron(0 0 ? * 2#1 *)", "at(x)"])
def test_unsupported_expressions_are_refused(expression: str) -> None:
    with pytest.raises(ValueError):
        Schedule.parse(expression)


def test_fake_context_looks_like_lambda() -> None:
    context = FakeContext("pulse-local-x", "us-east-1", timeout_s=60)
    assert context.invoked_function_arn.endswith(":function:pulse-local-x")
    assert context.memory_limit_in_mb > 0 and context.aws_request_id
    assert 59_000 < context.get_remaining_time_in_millis() <= 60_000
