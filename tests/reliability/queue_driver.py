"""Acting as the SQS event source mapping, with the failure modes Lambda has: a batch whose
function died is redelivered whole, failed items come back, the rest are deleted; after
``maxReceiveCount`` receives moto moves a message to ``<queue>-dlq``.

Only the faults the injector raised (and the types a test names in ``expected``) may fail a
message or a batch: any other exception — one the handler turned into a ``batchItemFailure``
included — fails the test at once, so a real error on a fault path is never retried away."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
from injector import Injector, LambdaDied


class UnexpectedFailure(AssertionError):
    """A handler failed with an exception no injected fault explains."""


def check(
    exc: BaseException, injector: Injector | None, expected: tuple[type[BaseException], ...] = ()
) -> None:
    """Let an injected fault (or an ``expected`` type) through; anything else fails the test."""
    if isinstance(exc, expected) or (injector is not None and injector.caused(exc)):
        return
    raise UnexpectedFailure(f"not an injected fault: {type(exc).__name__}: {exc}") from exc


@contextmanager
def item_failures_checked(
    injector: Injector | None, expected: tuple[type[BaseException], ...] = ()
) -> Iterator[list[BaseException]]:
    """Check each exception a partial-batch handler reports as a ``batchItemFailure``."""
    from aws_lambda_powertools.utilities.batch.base import BasePartialProcessor

    seen: list[BaseException] = []
    original = BasePartialProcessor.failure_handler

    def failure_handler(self: Any, record: Any, exception: Any) -> Any:
        seen.append(exception[1])
        check(exception[1], injector, expected)
        return original(self, record, exception)

    BasePartialProcessor.failure_handler = failure_handler  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        BasePartialProcessor.failure_handler = original  # type: ignore[method-assign]


@dataclass
class DriveResult:
    batches: int = 0
    died: int = 0
    batch_failures: int = 0
    item_failures: int = 0
    replayed_from_dlq: int = 0


def _event(messages: list[dict[str, Any]], queue: str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1772330400000",
                    "SenderId": "local",
                    "ApproximateFirstReceiveTimestamp": "1772330400000",
                },
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:us-east-1:123456789012:{queue}",
                "awsRegion": "us-east-1",
            }
            for m in messages
        ]
    }


def dlq_depth(short: str) -> int:
    from chalicelib.queues import queue_url

    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=queue_url(short).rsplit("/", 1)[1] + "-dlq")["QueueUrl"]
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attrs["Attributes"]["ApproximateNumberOfMessages"])


def drive(
    client: Any,
    short: str,
    function: str,
    *,
    max_batches: int = 2000,
    replay: bool = True,
    injector: Injector | None = None,
    expected: tuple[type[BaseException], ...] = (),
) -> DriveResult:
    """Deliver the queue to ``function`` until it and its dead-letter queue are empty."""
    with item_failures_checked(injector, expected):
        return _drive(client, short, function, max_batches, replay, injector, expected)


def _drive(
    client: Any,
    short: str,
    function: str,
    max_batches: int,
    replay: bool,
    injector: Injector | None,
    expected: tuple[type[BaseException], ...],
) -> DriveResult:
    from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

    from chalicelib.queues import queue_url
    from pulse_local.cli import replay_dead_letters

    sqs = boto3.client("sqs")
    url = queue_url(short)
    result = DriveResult()
    while result.batches < max_batches:
        got = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60, WaitTimeSeconds=0
        ).get("Messages", [])
        if not got:
            if replay and dlq_depth(short):
                if injector is not None:
                    with injector.paused():  # the operator replays once AWS is well again
                        result.replayed_from_dlq += replay_dead_letters(short)
                else:
                    result.replayed_from_dlq += replay_dead_letters(short)
                continue
            return result
        result.batches += 1
        event = _event(got, url.rsplit("/", 1)[1])
        try:
            reply = dict(client.lambda_.invoke(function, event).payload or {})
        except UnexpectedFailure:
            raise
        except (LambdaDied, Exception) as exc:  # died, or the handler failed the whole batch
            if not isinstance(exc, BatchProcessingError):  # its items were checked one by one
                check(exc, injector, expected)
            result.died += isinstance(exc, LambdaDied)
            result.batch_failures += not isinstance(exc, LambdaDied)
            for m in got:  # nothing deleted: the whole batch comes back
                sqs.change_message_visibility(
                    QueueUrl=url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0
                )
            continue
        failed = {f["itemIdentifier"] for f in reply.get("batchItemFailures", [])}
        result.item_failures += len(failed)
        for record, m in zip(event["Records"], got, strict=True):
            if record["messageId"] in failed:
                sqs.change_message_visibility(
                    QueueUrl=url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0
                )
            else:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    raise AssertionError(f"queue {short} did not drain in {max_batches} batches")
