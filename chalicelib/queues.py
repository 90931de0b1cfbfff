"""SQS queues the handlers consume: short names here, full names per stage from settings.

Each queue has a dead-letter queue ``<name>-dlq`` (created locally and in the template).
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from chalicelib.clients import client
from chalicelib.settings import get_settings

# short name -> visibility timeout in seconds (≥ 6 × the consuming function's timeout on AWS)
QUEUES: dict[str, int] = {
    "mail": 360,
    "score": 900,
    "heartbeat": 900,  # heartbeat fan-out: a round → its accounts → their contacts
}

# Lambda's on-failure destination for the asynchronously invoked functions (schedules, SNS): no
# handler consumes it; operators replay it with ``pulse jobs replay-dlq async-failures``.
ASYNC_FAILURES = "async-failures"


def queue_name(short: str) -> str:
    return get_settings().queue_name(short)


@cache
def queue_url(short: str) -> str:
    return str(client("sqs").get_queue_url(QueueName=queue_name(short))["QueueUrl"])


def send_messages(short: str, messages: list[dict[str, Any]]) -> int:
    """Send in batches of ten (the SQS maximum); raises if any message was refused."""
    sent = 0
    for start in range(0, len(messages), 10):
        batch = messages[start : start + 10]
        result = client("sqs").send_message_batch(
            QueueUrl=queue_url(short),
            Entries=[
                {"Id": str(i), "MessageBody": json.dumps(m, separators=(",", ":"))}
                for i, m in enumerate(batch)
            ],
        )
        if result.get("Failed"):
            raise RuntimeError(f"SQS refused {len(result['Failed'])} message(s) on {short}")
        sent += len(batch)
    return sent
