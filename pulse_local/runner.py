"""The local event runner: what EventBridge and the SQS event source mapping do on AWS.

``chalice local`` serves HTTP only. This runner reads the app's ``event_sources`` and

* fires every ``@app.schedule`` handler at its next fire time with a real-looking EventBridge
  "Scheduled Event" (UTC, like EventBridge);
* polls the queue of every ``@app.on_sqs_message`` handler (long poll of 1 s, up to
  ``batch_size`` messages, at most 10 per receive like SQS), invokes the handler with a real SQS
  event (unique ``messageId``, ``receiptHandle``, ``attributes.ApproximateReceiveCount``,
  ``eventSourceARN``, …) and then behaves like an event source mapping with
  ``ReportBatchItemFailures`` (which the deployment template turns on):

  - the handler returns normally: every message not named in ``batchItemFailures`` is deleted;
  - the handler raises: nothing is deleted; the messages reappear after the queue's visibility
    timeout and go to the dead-letter queue after the redrive policy's ``maxReceiveCount``
    (moto implements both).

Schedule expressions supported (all Pulse uses, and a little more):

* ``rate(N minute|minutes|hour|hours|day|days)``: first fire N units after the runner starts
  (EventBridge counts from the rule's creation), then every N units;
* ``cron(minutes hours day-of-month month day-of-week year)``: each field ``*``, ``?``, a number,
  a range ``a-b``, a list ``a,b``, or a step ``*/n`` / ``a/n``; month and day-of-week also take
  names (``JAN``, ``MON``; day-of-week 1 = Sunday as in EventBridge). ``L``, ``W`` and ``#`` are
  not supported and raise ``ValueError``.

Each schedule firing runs in its own thread (as separate Lambda invocations would); each queue
has one polling thread, so one queue's batches are processed one at a time (a concurrency of 1).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from chalice.app import Chalice, ScheduledEventConfig, ScheduleExpression, SQSEventConfig

# Not "pulse…": Powertools Logger(service="pulse") drops any record whose logger name
# contains "pulse" from the root handlers (its SuppressFilter is a substring match).
log = logging.getLogger("local_stack.runner")

ACCOUNT_ID = "123456789012"
SQS_MAX_BATCH = 10


# --------------------------------------------------------------------------------------------
# Lambda context


class FakeContext:
    """What a handler may read off the Lambda context (Powertools reads most of it)."""

    def __init__(
        self, function_name: str, region: str, timeout_s: int = 900, memory_mb: int = 1024
    ) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{function_name}"
        self.memory_limit_in_mb = memory_mb
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = f"local/{self.aws_request_id}"
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


# --------------------------------------------------------------------------------------------
# Schedules

_UNITS = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}
_MONTHS = {
    m: i
    for i, m in enumerate(
        ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], 1
    )
}
_DAYS = {d: i for i, d in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"], 1)}


def _field(spec: str, low: int, high: int, names: dict[str, int] | None = None) -> set[int] | None:
    """The values a cron field allows, or None for "any"."""
    spec = spec.strip().upper()
    if spec in ("*", "?"):
        return None
    if any(ch in spec for ch in "LW#"):
        raise ValueError(f"cron field {spec!r}: L, W and # are not supported locally")

    def number(text: str) -> int:
        value = names[text] if names and text in names else int(text)
        if not low <= value <= high:
            raise ValueError(f"cron value {value} outside {low}-{high}")
        return value

    allowed: set[int] = set()
    for part in spec.split(","):
        step, stepped = 1, "/" in part
        if stepped:
            part, step_text = part.split("/", 1)
            step = int(step_text)
            if step < 1:
                raise ValueError(f"cron step {step} must be positive")
        if part == "*":
            start, end = low, high
        elif "-" in part:
            first, last = part.split("-", 1)
            start, end = number(first), number(last)
        else:
            # "a/n" means every n from a to the end of the range.
            start = number(part)
            end = high if stepped else start
        allowed.update(range(start, end + 1, step))
    return allowed


@dataclass(frozen=True)
class Schedule:
    """A parsed EventBridge schedule expression; ``next_after`` gives fire times in UTC."""

    expression: str
    every: timedelta | None = None
    minutes: set[int] | None = None
    hours: set[int] | None = None
    days: set[int] | None = None
    months: set[int] | None = None
    weekdays: set[int] | None = None  # EventBridge numbering: 1 = Sunday … 7 = Saturday
    years: set[int] | None = None

    @classmethod
    def parse(cls, expression: str | ScheduleExpression) -> Schedule:
        text = expression if isinstance(expression, str) else expression.to_string()
        text = text.strip()
        if text.startswith("rate(") and text.endswith(")"):
            value, unit = text[5:-1].split()
            if unit.lower() not in _UNITS or int(value) < 1:
                raise ValueError(f"unsupported rate expression {text!r}")
            return cls(text, every=timedelta(seconds=int(value) * _UNITS[unit.lower()]))
        if text.startswith("cron(") and text.endswith(")"):
            fields = text[5:-1].split()
            if len(fields) != 6:
                raise ValueError(f"cron needs 6 fields: {text!r}")
            minute, hour, dom, month, dow, year = fields
            return cls(
                text,
                minutes=_field(minute, 0, 59),
                hours=_field(hour, 0, 23),
                days=_field(dom, 1, 31),
                months=_field(month, 1, 12, _MONTHS),
                weekdays=_field(dow, 1, 7, _DAYS),
                years=_field(year, 1970, 2199),
            )
        raise ValueError(f"unsupported schedule expression {text!r}")

    def _day_matches(self, day: date) -> bool:
        weekday = day.isoweekday() % 7 + 1  # Monday=1..Sunday=7 -> Sunday=1..Saturday=7
        return (
            (self.years is None or day.year in self.years)
            and (self.months is None or day.month in self.months)
            and (self.days is None or day.day in self.days)
            and (self.weekdays is None or weekday in self.weekdays)
        )

    def next_after(self, moment: datetime, started: datetime | None = None) -> datetime | None:
        """The first fire time strictly after ``moment`` (aware, UTC); None if there is none.

        For a rate, fire times are ``started + k × N`` (``started`` defaults to ``moment``).
        """
        moment = moment.astimezone(UTC)
        if self.every is not None:
            origin = (started or moment).astimezone(UTC)
            periods = int((moment - origin) / self.every) + 1
            return origin + periods * self.every
        hours = sorted(self.hours if self.hours is not None else range(24))
        minutes = sorted(self.minutes if self.minutes is not None else range(60))
        floor = moment.replace(second=0, microsecond=0)
        day = floor.date()
        for _ in range(366 * 8):  # enough for any year-restricted expression we accept
            if self._day_matches(day):
                for hour in hours:
                    for minute in minutes:
                        candidate = datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)
                        if candidate > moment:
                            return candidate
            day += timedelta(days=1)
        return None


def scheduled_event(rule: str, at: datetime, region: str) -> dict[str, Any]:
    """The event EventBridge delivers for a scheduled rule."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT_ID,
        "time": at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [f"arn:aws:events:{region}:{ACCOUNT_ID}:rule/{rule}"],
        "detail": {},
    }


# --------------------------------------------------------------------------------------------
# SQS


def sqs_record(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """One record of the event an SQS event source mapping delivers."""
    attributes = message.get("Attributes") or {}
    now_ms = str(int(time.time() * 1000))
    message_attributes: dict[str, Any] = {}
    for name, value in (message.get("MessageAttributes") or {}).items():
        message_attributes[name] = {
            "stringValue": value.get("StringValue"),
            "binaryValue": value.get("BinaryValue"),
            "stringListValues": value.get("StringListValues", []),
            "binaryListValues": value.get("BinaryListValues", []),
            "dataType": value.get("DataType"),
        }
    body = message.get("Body", "")
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": str(attributes.get("ApproximateReceiveCount", "1")),
            "SentTimestamp": str(attributes.get("SentTimestamp", now_ms)),
            "SenderId": str(attributes.get("SenderId", ACCOUNT_ID)),
            "ApproximateFirstReceiveTimestamp": str(
                attributes.get("ApproximateFirstReceiveTimestamp", now_ms)
            ),
        },
        "messageAttributes": message_attributes,
        "md5OfBody": message.get("MD5OfBody")
        or hashlib.md5(body.encode(), usedforsecurity=False).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


@dataclass
class QueueSource:
    name: str  # the handler's name (chalice event source name)
    queue: str
    batch_size: int
    handler: Callable[[dict[str, Any], Any], Any]
    url: str = ""
    arn: str = ""


@dataclass
class ScheduleSource:
    name: str
    schedule: Schedule
    handler: Callable[[dict[str, Any], Any], Any]
    next_fire: datetime | None = None


@dataclass
class BatchOutcome:
    received: int = 0
    deleted: int = 0
    failed: int = 0  # left on the queue (reported failures, or all of a batch that raised)
    error: str | None = None


@dataclass
class Runner:
    """Fires the schedules and feeds the queues of a Chalice app against the configured SQS."""

    app: Chalice
    sqs: Any = None
    region: str = "us-east-1"
    wait_seconds: int = 1
    schedules: dict[str, ScheduleSource] = field(default_factory=dict)
    queues: dict[str, QueueSource] = field(default_factory=dict)
    fired: list[tuple[str, datetime]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.sqs is None:
            from chalicelib.clients import client

            self.sqs = client("sqs")
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        for source in self.app.event_sources:
            handler = self.app.handler_map[source.name]
            if isinstance(source, ScheduledEventConfig):
                try:
                    schedule = Schedule.parse(source.schedule_expression)
                except ValueError as exc:
                    raise ValueError(f"schedule {source.name}: {exc}") from exc
                self.schedules[source.name] = ScheduleSource(source.name, schedule, handler)
            elif isinstance(source, SQSEventConfig):
                queue = source.queue or (source.queue_arn or "").rsplit(":", 1)[-1]
                self.queues[source.name] = QueueSource(
                    source.name, queue, max(1, int(source.batch_size or 1)), handler
                )
            else:
                log.warning(
                    "event source %s (%s) is not run locally", source.name, type(source).__name__
                )

    # ---- invocation ----------------------------------------------------------------------

    def _context(self, name: str) -> FakeContext:
        return FakeContext(f"{self.app.app_name}-local-{name}", self.region)

    def fire_schedule(self, name: str, at: datetime | None = None) -> Any:
        """Invoke one scheduled handler as EventBridge would at ``at`` (default: now)."""
        source = self.schedules[name]
        when = (at or datetime.now(UTC)).astimezone(UTC)
        event = scheduled_event(f"{self.app.app_name}-local-{name}", when, self.region)
        self.fired.append((name, when))
        log.info("schedule %s fires for %s", name, event["time"])
        return source.handler(event, self._context(name))

    def _resolve(self, source: QueueSource) -> None:
        if not source.url:
            source.url = self.sqs.get_queue_url(QueueName=source.queue)["QueueUrl"]
            source.arn = self.sqs.get_queue_attributes(
                QueueUrl=source.url, AttributeNames=["QueueArn"]
            )["Attributes"]["QueueArn"]

    def poll_queue(self, name: str, wait_seconds: int | None = None) -> BatchOutcome:
        """Receive one batch from a handler's queue and deliver it; returns what happened."""
        source = self.queues[name]
        self._resolve(source)
        reply = self.sqs.receive_message(
            QueueUrl=source.url,
            MaxNumberOfMessages=min(source.batch_size, SQS_MAX_BATCH),
            WaitTimeSeconds=self.wait_seconds if wait_seconds is None else wait_seconds,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages = reply.get("Messages") or []
        outcome = BatchOutcome(received=len(messages))
        if not messages:
            return outcome
        event = {"Records": [sqs_record(m, source.arn, self.region) for m in messages]}
        try:
            result = source.handler(event, self._context(name))
        except Exception as exc:
            # Lambda failed: the whole batch stays and comes back after the visibility timeout.
            log.exception("queue handler %s raised; %d message(s) stay queued", name, len(messages))
            outcome.failed = len(messages)
            outcome.error = f"{type(exc).__name__}: {exc}"
            return outcome
        failures = _failed_ids(result)
        done = [m for m in messages if m["MessageId"] not in failures]
        for start in range(0, len(done), SQS_MAX_BATCH):
            chunk = done[start : start + SQS_MAX_BATCH]
            self.sqs.delete_message_batch(
                QueueUrl=source.url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)
                ],
            )
        outcome.deleted = len(done)
        outcome.failed = len(messages) - len(done)
        if outcome.failed:
            log.warning("queue handler %s reported %d failure(s)", name, outcome.failed)
        return outcome

    def drain_queues(self, names: Iterable[str] | None = None, max_batches: int = 1000) -> int:
        """Deliver until every (named) queue answers empty; returns messages deleted.

        Messages that fail stay invisible for the queue's visibility timeout, so a drain ends
        even when a handler keeps failing.
        """
        wanted = list(names) if names is not None else list(self.queues)
        deleted = 0
        for _ in range(max_batches):
            outcomes = [self.poll_queue(name, wait_seconds=0) for name in wanted]
            deleted += sum(o.deleted for o in outcomes)
            if not any(o.received for o in outcomes):
                return deleted
        return deleted

    def run_once(self, now: datetime | None = None) -> dict[str, Any]:
        """One pass: fire the schedules that are due at ``now`` and poll each queue once."""
        moment = (now or datetime.now(UTC)).astimezone(UTC)
        fired: list[str] = []
        for source in self.schedules.values():
            if source.next_fire is None:
                source.next_fire = source.schedule.next_after(moment)
                continue
            if source.next_fire <= moment:
                self.fire_schedule(source.name, source.next_fire)
                fired.append(source.name)
                source.next_fire = source.schedule.next_after(source.next_fire)
        polled = {name: self.poll_queue(name, wait_seconds=0) for name in self.queues}
        return {"fired": fired, "queues": polled}

    # ---- background operation ------------------------------------------------------------

    def start(self) -> None:
        started = datetime.now(UTC)
        for source in self.schedules.values():
            source.next_fire = source.schedule.next_after(started, started)
            log.info(
                "schedule %s (%s) next fires %s",
                source.name,
                source.schedule.expression,
                source.next_fire,
            )
        if self.schedules:
            self._spawn("pulse-schedules", self._schedule_loop, started)
        for name in self.queues:
            log.info("queue handler %s polls %s", name, self.queues[name].queue)
            self._spawn(f"pulse-queue-{name}", self._queue_loop, name)

    def _spawn(self, name: str, target: Callable[..., None], *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _schedule_loop(self, started: datetime) -> None:
        while not self._stop.is_set():
            now = datetime.now(UTC)
            for source in self.schedules.values():
                if source.next_fire is not None and source.next_fire <= now:
                    at = source.next_fire
                    source.next_fire = source.schedule.next_after(at, started)
                    self._spawn(f"pulse-fire-{source.name}", self._fire_safely, source.name, at)
            pending = [s.next_fire for s in self.schedules.values() if s.next_fire is not None]
            delay = min((t - now).total_seconds() for t in pending) if pending else 60.0
            self._stop.wait(min(max(delay, 0.05), 1.0))

    def _fire_safely(self, name: str, at: datetime) -> None:
        try:
            self.fire_schedule(name, at)
        except Exception:
            log.exception("schedule %s raised", name)

    def _queue_loop(self, name: str) -> None:
        while not self._stop.is_set():
            try:
                self.poll_queue(name)
            except Exception:
                # The queue may be unreachable while the stack shuts down; back off.
                if not self._stop.is_set():
                    log.exception("polling queue handler %s failed", name)
                self._stop.wait(2.0)

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._threads = [t for t in self._threads if t.is_alive()]


def _failed_ids(result: Any) -> set[str]:
    if isinstance(result, dict):
        failures = result.get("batchItemFailures") or []
        return {str(f.get("itemIdentifier")) for f in failures if isinstance(f, dict)}
    return set()
