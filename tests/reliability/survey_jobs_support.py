"""One delivery of a mail message to the queue handler's record function, as Lambda would run
it: a Lambda death (:class:`injector.LambdaDied`) or a failure leaves the message for redelivery.
Only the injector's own faults (and the types a test names in ``expected``) are taken as a
failed delivery; any other exception fails the test."""

from __future__ import annotations

from typing import Any

from injector import Injector, LambdaDied
from queue_driver import check


def handle(
    body: dict[str, Any],
    injector: Injector | None = None,
    expected: tuple[type[BaseException], ...] = (),
) -> str:
    from chalicelib.jobs.survey_jobs import handle_mail_message

    try:
        return handle_mail_message(body)
    except LambdaDied as exc:
        check(exc, injector, expected)
        return "died"
    except Exception as exc:
        check(exc, injector, expected)
        return f"failed:{type(exc).__name__}"
