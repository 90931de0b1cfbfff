"""Telling staff that something happened: in-app and by email, each per their preferences.

Every notification is stored (it is also the ledger that makes a retried notify send nothing
twice); the in-app list shows the kinds a user keeps on. Mail goes out after the record is
written and is marked sent afterwards, so a crash between SES accepting the mail and the mark
can repeat that one mail on retry — the only duplicate window, documented in docs/mail.md.
Each mail takes one unit of the tenant's daily send quota (``send_limits``); once it is used up
the notification is kept in-app only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from chalicelib.domain.entities import User
from chalicelib.domain.tenant_settings import AlertDefaults
from chalicelib.mail import message
from chalicelib.observability import logger
from chalicelib.services import send_limits, staff_links
from chalicelib.store import notifications as store
from chalicelib.store.base import new_id


@dataclass
class Event:
    kind: str
    title: str
    body: str = ""
    link: str | None = None  # a staff web page, from services/staff_links (/app/accounts/…)
    account_id: str | None = None
    # Same key → same notification: a retried job or handler notifies nobody twice.
    dedupe_key: str | None = None
    template: str = "mail/notification"
    context: dict[str, Any] = field(default_factory=dict)
    mail: bool = True  # False: in-app only (a repeat the sender chose not to mail)


def preferences_of(user: User) -> AlertDefaults:
    try:
        return AlertDefaults.model_validate(user.preferences or {})
    except ValueError:
        return AlertDefaults()


def _stamp_ms() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _notification_id(event: Event, user_id: str) -> str:
    if not event.dedupe_key:
        return new_id("n")
    digest = hashlib.sha256(f"{event.dedupe_key}|{user_id}".encode()).hexdigest()[:24]
    return f"n_{digest}"


def notify(tenant_id: str, users: Iterable[User], event: Event) -> int:
    """Notify each distinct active user once; returns how many mails were sent."""
    sent = 0
    seen: set[str] = set()
    for user in users:
        if user.user_id in seen or not user.active:
            continue
        seen.add(user.user_id)
        prefs = preferences_of(user)
        record = store.Notification(
            notification_id=_notification_id(event, user.user_id),
            kind=event.kind,
            title=event.title,
            body=event.body,
            link=event.link,
            account_id=event.account_id,
            # To the millisecond: deduped ids do not sort by time, so lists order by this.
            created_at=_stamp_ms(),
            read=False,
        )
        state = store.add(tenant_id, user.user_id, record)
        if state == "emailed" or not event.mail or not prefs.email.get(event.kind, True):
            continue
        url = staff_links.absolute(event.link) if event.link else None
        mail = message.from_templates(
            event.template,
            to=user.email,
            subject=event.title,
            title=event.title,
            body=event.body,
            url=url,
            user=user,
            **event.context,
        )
        try:
            unit = send_limits.take(tenant_id, datetime.now(UTC))
        except send_limits.QuotaExceeded:
            # The tenant's mail for today is used up: the notification stays in-app only.
            logger.warning("daily send quota used up; notification not mailed")
            continue
        try:
            message.send(mail)
        except Exception:
            send_limits.give_back(unit)
            raise
        _mark_emailed(tenant_id, user.user_id, record.notification_id)
        sent += 1
        logger.info("notification mailed", extra={"kind": event.kind, "user_id": user.user_id})
    return sent


# Attempts at the "emailed" mark once SES has the mail. A failed mark means the retry mails the
# same notification again (found by fault injection, tests/reliability/test_faults.py), so a
# throttled mark is worth a few more tries than botocore's own before the duplicate window opens.
MARK_ATTEMPTS = 4


def _mark_emailed(tenant_id: str, user_id: str, notification_id: str) -> None:
    for attempt in range(1, MARK_ATTEMPTS + 1):
        try:
            store.mark_emailed(tenant_id, user_id, notification_id)
            return
        except Exception:
            if attempt == MARK_ATTEMPTS:
                raise


def visible_kinds(user: User) -> set[str]:
    prefs = preferences_of(user)
    return {kind for kind, on in prefs.in_app.items() if on}
