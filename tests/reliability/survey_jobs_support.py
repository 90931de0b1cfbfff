"""One delivery of a mail message to the queue handler's record function, as Lambda would run
it: a Lambda death (:class:`injector.LambdaDied`) or a failure leaves the message for redelivery."""

from __future__ import annotations

from typing import Any

from injector import LambdaDied


def handle(body: dict[str, Any]) -> str:
    from chalicelib.jobs.survey_jobs import handle_mail_message

    try:
        return handle_mail_message(body)
    except LambdaDied:
        return "died"
    except Exception as exc:
        return f"failed:{type(exc).__name__}"
