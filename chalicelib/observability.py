"""Powertools observability shared by routes, jobs and queue handlers.

Every deployed function logs with the Lambda context (function name, request id, cold start)
and publishes its business metrics as CloudWatch EMF (namespace ``Pulse``):

* the API function (Handler ``app.app``): the middleware app.py registers for HTTP events, which
  also sets the correlation id to API Gateway's request id;
* every event handler (schedules, queues, SNS): ``@observed`` where the handler is declared.
  Chalice gives a blueprint's event handler a Handler string in its own module
  (``chalicelib.jobs.pulse_jobs.score_queue``), so Lambda never imports app.py for those
  functions and middleware registered there never reaches them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from chalice.app import BaseLambdaEvent

logger = Logger(service="pulse")
metrics = Metrics(namespace="Pulse", service="pulse")

# Business metrics (counts), each published by the handler that does the work.
ACCOUNTS_SCORED = "AccountsScored"
ALERTS_SENT = "AlertsSent"  # stale-pulse digests mailed
MAILS_SENT = "MailsSent"  # survey mails handed to SES or the tenant's SMTP server
MAIL_MESSAGES_FAILED = "MailMessagesFailed"  # left on the mail queue for a retry
OWNER_NOTIFICATIONS = "OwnerNotifications"
REMINDERS_SENT = "RemindersSent"  # reminders (and held invitations) queued for sending
RESPONSES_RECORDED = "ResponsesRecorded"  # a first response to a link
RESPONSES_UPDATED = "ResponsesUpdated"  # a later submit replacing it
CONTACTS_SUPPRESSED = "ContactsSuppressed"
MESSAGES_QUEUED = "MessagesQueued"  # fan-out: one per tenant, account or slice
ROUNDS_PREPARED = "HeartbeatRoundsPrepared"
INVITES_QUEUED = "HeartbeatInvitesQueued"
BENCHMARK_PERIODS = "BenchmarkPeriods"

E = TypeVar("E", bound=BaseLambdaEvent)
R = TypeVar("R")


def count(name: str, value: int = 1) -> None:
    """Add to a count published when the current invocation ends (zero counts too: a job that
    did nothing still says so)."""
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


def observed(handler: Callable[[E], R]) -> Callable[[E], R]:
    """An event handler's logger context and metrics, whoever imports it.

    Goes under the Chalice decorator, so the Handler Lambda calls and the one app.py registers
    are the same object::

        @bp.schedule(Cron(0, 2, "*", "*", "?", "*"), name="nightly_success_score")
        @observed
        def nightly_success_score(event): ...
    """

    @functools.wraps(handler)
    def run(event: E) -> R:
        # Events carry message bodies (addresses, tokens): never log them.
        @logger.inject_lambda_context(log_event=False, clear_state=True)
        @metrics.log_metrics
        def invoke(_event: dict[str, Any], _context: Any) -> R:
            return handler(event)

        return cast(R, invoke(event.to_dict(), event.context))

    return run


def publish_metrics(event: Any, get_response: Callable[[Any], Any]) -> Any:
    """API middleware: publish what the request counted. Most requests count nothing, and
    Powertools would warn on every empty flush."""
    try:
        return get_response(event)
    finally:
        if metrics.metric_set:
            metrics.flush_metrics()
