"""The survey machinery shared by every kind of survey (reviews now, heartbeats next).

A *kind* (``SurveyKind``) says what a survey is: how to load one, what its page shows, what a
response holds and what a response changes besides the invitation. Everything else lives here
once, keyed on ``(tenant, kind, survey id, contact)``:

* signed links: ``issue_token`` / ``resolve`` (≥ 256 random bits, stored as an HMAC, bound to
  tenant, survey and contact, usable for the 28-day window of the mail that carried it and until
  the invitation's window closes; a change of the contact's email revokes every earlier link);
* opening (``open_link``: records "opened", never consumes) and submitting (``submit``:
  idempotent, a second submit replaces the first in one conditional transaction; at most
  ``MAX_SUBMITS`` per response, and the owner is mailed once per ``OWNER_MAIL_WINDOW``);
* sending: ``queue_invites`` puts one message per recipient on the ``mail`` queue and
  ``deliver`` (the queue handler's work) sends it at most once per recipient and purpose through
  the send ledger, through SES or the tenant's SMTP server;
* reminders: ``run_reminders`` (the daily job) reads the by-due index, never every invitation;
* owner notifications: ``emit`` queues an event, ``handle_event`` notifies the account owner.

``docs/surveys.md`` explains the tables, the exactly-once argument and how to add a kind.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import smtplib
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError, EndpointConnectionError

from chalicelib import queues
from chalicelib.domain.entities import Contact
from chalicelib.domain.tenant_settings import TenantSettings
from chalicelib.errors import Conflict, Gone, NotFound, RateLimited
from chalicelib.mail import message
from chalicelib.observability import RESPONSES_RECORDED, RESPONSES_UPDATED, count, logger
from chalicelib.services import notify, send_limits
from chalicelib.services.sender_identities import from_address as sender_from_address
from chalicelib.services.settings import smtp_password, tenant_settings
from chalicelib.settings import get_settings
from chalicelib.store import accounts as account_store
from chalicelib.store import invitations as store
from chalicelib.store import opt_outs, rate_limits
from chalicelib.store import tenants as tenant_store
from chalicelib.store.invitations import Invitation, TxOp

WINDOW_DAYS = 28
# A claimed send older than this with no outcome is taken as "the sender died mid-send".
SEND_LEASE_SECONDS = 300
# The daily job also reads the due days before today, back to the window's length, so a missed
# run is caught up and a reminder left behind is cleared once its window has closed.
REMINDER_LOOKBACK_DAYS = WINDOW_DAYS - 1
SUBMIT_ATTEMPTS = 4
# A response takes this many submits (the first answer and its changes); later ones are refused,
# so a forwarded link cannot be used to rewrite the answers or notify the owner without end.
MAX_SUBMITS = 20
# Changes to a response within this time of a mailed one notify the owner in-app only.
OWNER_MAIL_WINDOW = timedelta(hours=1)
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")

# Tests replace this to move time.
clock: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731


def now() -> datetime:
    return clock()


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def parse_iso(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


# ---------------------------------------------------------------------------------- kinds


@dataclass
class SurveyInfo:
    """What the machinery needs to know about one survey, whatever its kind."""

    tenant_id: str
    kind: str
    survey_id: str
    title: str
    company: str
    is_open: bool  # False once the survey itself is closed (every window ends early)
    scoring_applies: bool  # whether "opened, not scored" gets a score reminder
    data: Any = None  # the kind's own object (a Review, a heartbeat Round, …)


@dataclass
class Parsed:
    response: dict[str, Any]
    errors: dict[str, str]
    values: dict[str, Any]  # what to put back in the form when re-rendering


class SurveyKind(ABC):
    """One kind of survey. Register an instance with ``register``."""

    name: str

    @abstractmethod
    def load(self, tenant_id: str, survey_id: str) -> SurveyInfo:
        """The survey, or NotFound."""

    @abstractmethod
    def page_context(
        self, info: SurveyInfo, inv: Invitation | None, *, preview: bool = False
    ) -> dict[str, Any]:
        """Template context for ``templates/survey/page.html``: must give ``content_template``
        and ``form_template`` (the kind's own sections) and whatever they use."""

    @abstractmethod
    def parse(self, info: SurveyInfo, data: Mapping[str, Any]) -> Parsed:
        """Validate a submitted form or JSON body."""

    @abstractmethod
    def is_scored(self, info: SurveyInfo, response: Mapping[str, Any]) -> bool:
        """Whether this response counts as "scored"."""

    def response_ops(
        self,
        info: SurveyInfo,
        inv: Invitation,
        old: Mapping[str, Any] | None,
        new: Mapping[str, Any],
        *,
        at: str,
        period: str,
    ) -> list[TxOp]:
        """Writes that move with the response in one transaction (aggregates, comments…)."""
        return []

    def after_commit(
        self,
        info: SurveyInfo,
        inv: Invitation,
        old: Mapping[str, Any] | None,
        new: Mapping[str, Any],
        *,
        period: str,
    ) -> None:
        """Best-effort follow-up work once a response is stored (read models, say)."""
        return None

    def events(
        self,
        info: SurveyInfo,
        inv: Invitation,
        old: Mapping[str, Any] | None,
        new: Mapping[str, Any],
    ) -> list[tuple[str, str]]:
        """Owner notifications a submit causes: ``(kind, dedupe suffix)`` pairs."""
        return []

    @abstractmethod
    def event_text(
        self, info: SurveyInfo, inv: Invitation, event: str
    ) -> tuple[str, str, str | None]:
        """(title, body, in-app link) of an owner notification."""

    @abstractmethod
    def mail(
        self, info: SurveyInfo, inv: Invitation, *, variant: str, link: str, unsubscribe: str
    ) -> message.Mail:
        """The mail for ``variant``: "invite", "reminder_review" or "reminder_score"."""

    def account_id_of(self, info: SurveyInfo, inv: Invitation) -> str:
        return inv.account_id


KINDS: dict[str, SurveyKind] = {}


def register(kind: SurveyKind) -> SurveyKind:
    KINDS[kind.name] = kind
    return kind


def kind_of(name: str) -> SurveyKind:
    try:
        return KINDS[name]
    except KeyError as exc:
        raise NotFound(f"no survey kind {name!r}") from exc


# --------------------------------------------------------------------------------- tokens


def new_token() -> str:
    return secrets.token_urlsafe(32)  # 256 random bits, 43 characters


def token_hash(token: str) -> str:
    key = get_settings().signing_secret.encode()
    return hmac.new(key, b"survey-link|" + token.encode(), hashlib.sha256).hexdigest()


def issue_token(inv: Invitation, purpose: str, *, links_version: int | None = None) -> str:
    """A new link for ``inv``, bound to the contact's current ``links_version`` (read if not
    given): a later change of the contact's address revokes it."""
    if links_version is None:
        links_version = account_store.get_contact(inv.tenant_id, inv.contact_id).links_version
    token = new_token()
    store.put_token(
        token_hash(token),
        tenant_id=inv.tenant_id,
        kind=inv.kind,
        survey_id=inv.survey_id,
        contact_id=inv.contact_id,
        purpose=purpose,
        created_at=iso(now()),
        links_version=links_version,
    )
    return token


def link_for(token: str) -> str:
    return f"{get_settings().public_url.rstrip('/')}/r/{token}"


def unsubscribe_url(token: str) -> str:
    return f"{get_settings().public_url.rstrip('/')}/unsubscribe/{token}"


@dataclass
class Resolved:
    info: SurveyInfo
    inv: Invitation
    kind: SurveyKind


def lookup(token: str) -> store.TokenRecord:
    """The token's record, or NotFound (malformed tokens never reach the database)."""
    if not _TOKEN.match(token or ""):
        raise NotFound("unknown link")
    record = store.get_token(token_hash(token))
    if record is None:
        raise NotFound("unknown link")
    return record


def live_link(token: str) -> tuple[store.TokenRecord, Contact]:
    """The token's record and its contact, or NotFound: unknown, malformed, the contact gone, or
    revoked (mailed before the contact's address last changed)."""
    record = lookup(token)
    contact = account_store.get_contact(record.tenant_id, record.contact_id)
    if contact.links_version != record.links_version:
        raise NotFound("unknown link")
    return record, contact


def link_expired(record: store.TokenRecord, at: datetime) -> bool:
    """A link opens the survey for the window of the mail that carried it, whatever became of
    that mail (an "unknown" delivery never sets the invitation's window) and whatever later
    sends do to the invitation's window: a resend mails a new link, it never reopens old ones."""
    if not record.created_at:
        return False
    return at >= parse_iso(record.created_at) + timedelta(days=WINDOW_DAYS)


def window_closed(info: SurveyInfo, inv: Invitation, at: datetime) -> bool:
    if not info.is_open:
        return True
    if inv.window_closes_at is None:
        return False  # the mail carrying this link is being sent right now
    return at >= parse_iso(inv.window_closes_at)


def resolve(token: str) -> Resolved:
    """Token → invitation → survey. NotFound for unknown or revoked links, Gone after the
    window (the link's own or the invitation's)."""
    record, _ = live_link(token)
    kind = kind_of(record.kind)
    inv = store.get(record.tenant_id, record.kind, record.survey_id, record.contact_id)
    info = kind.load(record.tenant_id, record.survey_id)
    at = now()
    if link_expired(record, at) or window_closed(info, inv, at):
        raise Gone("this survey has closed")
    return Resolved(info, inv, kind)


# ------------------------------------------------------------------- bad-link rate limiting

# Unknown (or malformed) links per source IP and minute before further misses from that IP answer
# 429 for the rest of the minute. Only misses are counted or checked, so a real client opening
# and submitting its own link costs nothing extra.
BAD_LINKS_PER_MINUTE = 20
BAD_LINK_WINDOW_SECONDS = 60
BAD_LINK_SCOPE = "bad-link"


class LinkRateLimited(RateLimited):
    def __init__(self, retry_after: int) -> None:
        super().__init__("too many unknown links; try again later")
        self.retry_after = retry_after


def _window() -> tuple[int, int]:
    """(start of the current window, seconds until it ends)."""
    epoch = int(now().timestamp())
    start = epoch - epoch % BAD_LINK_WINDOW_SECONDS
    return start, max(1, start + BAD_LINK_WINDOW_SECONDS - epoch)


def record_bad_link(source_ip: str | None, route: str) -> None:
    """Count and log an unknown link (the token itself is never logged); LinkRateLimited once
    the source is over the limit this minute. Fails open if the counter cannot be written."""
    misses = 0
    start, left = _window()
    if source_ip:
        try:
            misses = rate_limits.hit(BAD_LINK_SCOPE, source_ip, start, BAD_LINK_WINDOW_SECONDS)
        except Exception:
            logger.exception("bad-link counter not updated")
    logger.warning(
        "unknown survey link", extra={"source_ip": source_ip, "route": route, "misses": misses}
    )
    if misses > BAD_LINKS_PER_MINUTE:
        raise LinkRateLimited(left)


# ------------------------------------------------------------------------- open and submit


def open_link(token: str) -> Resolved:
    """GET of a link: records the first open (and tells the owner); never consumes the link.
    Mail scanners prefetch links, so nothing else is decided here."""
    found = resolve(token)
    if not found.inv.opened_at and store.mark_opened(found.inv, iso(now())):
        emit(found.inv, "opened")
    return found


class FormInvalid(Exception):
    def __init__(self, found: Resolved, parsed: Parsed) -> None:
        super().__init__("the form is not valid")
        self.found = found
        self.parsed = parsed


class ResponseLocked(Exception):
    """The response was submitted ``MAX_SUBMITS`` times: nothing changes any more."""

    def __init__(self, found: Resolved) -> None:
        super().__init__("these answers can no longer be changed")
        self.found = found


@dataclass
class Submitted:
    found: Resolved
    updated: bool  # a previous response was replaced
    events: list[str] = field(default_factory=list)


def submit(token: str, data: Mapping[str, Any]) -> Submitted:
    """POST of a link: validate, then store the response with everything it changes in one
    conditional transaction. A second submit replaces the first (aggregates move from the old
    values to the new); a race with another submit is retried from fresh reads."""
    found = resolve(token)
    if found.inv.response_version >= MAX_SUBMITS:
        raise ResponseLocked(found)
    parsed = found.kind.parse(found.info, data)
    if parsed.errors:
        raise FormInvalid(found, parsed)
    for _ in range(SUBMIT_ATTEMPTS):
        info, inv, kind = found.info, found.inv, found.kind
        if inv.response_version >= MAX_SUBMITS:  # the version condition keeps this exact
            raise ResponseLocked(found)
        at = iso(now())
        period = inv.period or at[:7]
        old = inv.response
        ops = [
            store.response_op(
                inv,
                response=parsed.response,
                at=at,
                scored=kind.is_scored(info, parsed.response),
                period=period,
                follow_up=inv.follow_up or bool(parsed.response.get("follow_up")),
            ),
            *kind.response_ops(info, inv, old, parsed.response, at=at, period=period),
        ]
        try:
            store.commit(ops)
        except Conflict:
            found = Resolved(
                kind.load(inv.tenant_id, inv.survey_id),
                store.get(inv.tenant_id, inv.kind, inv.survey_id, inv.contact_id),
                kind,
            )
            continue
        kind.after_commit(info, inv, old, parsed.response, period=period)
        count(RESPONSES_UPDATED if old is not None else RESPONSES_RECORDED)
        events = kind.events(info, inv, old, parsed.response)
        mail = bool(events) and _owner_mail_due(inv)
        for event, suffix in events:
            emit(inv, event, suffix, mail=mail)
        found.inv = store.get(inv.tenant_id, inv.kind, inv.survey_id, inv.contact_id)
        return Submitted(found, updated=old is not None, events=[e for e, _ in events])
    raise Conflict("too many submits at once; try again")


# ------------------------------------------------------------------------- owner events


def _owner_mail_due(inv: Invitation) -> bool:
    """Whether this submit's events may mail the owner: the first submit in a window does (all
    of its events), later ones within ``OWNER_MAIL_WINDOW`` notify in-app only."""
    at = now()
    try:
        return store.claim_owner_mail(inv, iso(at), iso(at + OWNER_MAIL_WINDOW))
    except Exception:
        logger.exception("owner mail window not updated; mailing")
        return True


def emit(inv: Invitation, event: str, suffix: str = "", *, mail: bool = True) -> None:
    """Queue an owner notification (``mail=False``: in-app only). Best effort: a lost event
    never fails the client's page."""
    body = {
        "type": "survey_event",
        "tenant_id": inv.tenant_id,
        "kind": inv.kind,
        "survey_id": inv.survey_id,
        "contact_id": inv.contact_id,
        "event": event,
        "dedupe": f"{inv.kind}#{inv.survey_id}#{inv.contact_id}#{event}#{suffix}",
        "mail": mail,
    }
    try:
        queues.send_messages("mail", [body])
    except Exception:
        logger.exception("could not queue a survey event", extra={"event": event})


def handle_event(body: Mapping[str, Any]) -> str:
    """Notify the account owner of an open, score, comment or follow-up (per preferences)."""
    tenant_id = str(body["tenant_id"])
    kind = kind_of(str(body["kind"]))
    try:
        inv = store.get(tenant_id, kind.name, str(body["survey_id"]), str(body["contact_id"]))
        info = kind.load(tenant_id, inv.survey_id)
        account = account_store.get_account(tenant_id, kind.account_id_of(info, inv))
        owner = tenant_store.get_user(tenant_id, account.owner_id)
    except NotFound:
        return "dropped"
    title, text, link = kind.event_text(info, inv, str(body["event"]))
    notify.notify(
        tenant_id,
        [owner],
        notify.Event(
            kind=str(body["event"]),
            title=title,
            body=text,
            link=link,
            account_id=account.account_id,
            dedupe_key=str(body["dedupe"]),
            mail=body.get("mail") is not False,
        ),
    )
    return "notified"


# -------------------------------------------------------------------------------- sending


def invite_purpose(round_no: int) -> str:
    return f"invite#{round_no}"


def mail_message(inv: Invitation, purpose: str, variant: str) -> dict[str, Any]:
    return {
        "type": "survey_mail",
        "tenant_id": inv.tenant_id,
        "kind": inv.kind,
        "survey_id": inv.survey_id,
        "contact_id": inv.contact_id,
        "purpose": purpose,
        "variant": variant,
    }


def queue_invites(invitations: list[Invitation]) -> int:
    """One message per invitation for its current invite round."""
    return queues.send_messages(
        "mail",
        [mail_message(inv, invite_purpose(inv.send_count), "invite") for inv in invitations],
    )


def contact_blocked(contact: Contact) -> bool:
    return contact.unsubscribed or contact.suppressed


# Errors after which the provider surely does not have the mail: the claim is given back and
# the queue retries. Anything else (a timeout after the request left) may have been delivered.
_NOT_SENT: tuple[type[BaseException], ...] = (
    message.NotSent,
    ClientError,
    EndpointConnectionError,
    ConnectionRefusedError,
    smtplib.SMTPConnectError,
    smtplib.SMTPHeloError,
    smtplib.SMTPAuthenticationError,
    smtplib.SMTPNotSupportedError,
    smtplib.SMTPSenderRefused,
    smtplib.SMTPRecipientsRefused,
    smtplib.SMTPDataError,
)


# Attempts at giving a claim back. A claim left behind after the provider surely refused the mail
# would become "unknown" on the retry and the mail would never be sent (found by fault injection,
# tests/reliability/test_faults.py): the release is worth a few more tries than botocore's own.
RELEASE_ATTEMPTS = 4


def _give_back(tenant_id: str, key: str, claim_id: str) -> None:
    for attempt in range(1, RELEASE_ATTEMPTS + 1):
        try:
            store.release(tenant_id, key, claim_id)
            return
        except Exception:
            if attempt == RELEASE_ATTEMPTS:
                logger.exception("could not give a send claim back; it will read as unknown")
                raise


class RetryLater(Exception):
    """Another attempt holds the send right now: let the queue deliver the message again."""


def _transport(tenant_id: str, settings: TenantSettings) -> message.SmtpServer | None:
    if settings.smtp is None:
        return None
    password = smtp_password(tenant_id) if settings.smtp.password_set else ""
    return message.SmtpServer(
        host=settings.smtp.host,
        port=settings.smtp.port,
        username=settings.smtp.username,
        password=password,
        starttls=settings.smtp.starttls,
    )


def _reminder_still_wanted(info: SurveyInfo, inv: Invitation, variant: str, at: datetime) -> bool:
    if window_closed(info, inv, at) or inv.scored_at:
        return False
    if variant == "reminder_review":
        return not inv.opened_at and not inv.responded_at
    return info.scoring_applies and not inv.scored_at


def deliver(body: Mapping[str, Any]) -> str:
    """Send one survey mail, at most once per (invitation, purpose). Returns what happened."""
    tenant_id = str(body["tenant_id"])
    kind = kind_of(str(body["kind"]))
    purpose, variant = str(body["purpose"]), str(body.get("variant") or "invite")
    try:
        inv = store.get(tenant_id, kind.name, str(body["survey_id"]), str(body["contact_id"]))
        contact = account_store.get_contact(tenant_id, inv.contact_id)
        info = kind.load(tenant_id, inv.survey_id)
    except NotFound:
        return "dropped"
    if contact_blocked(contact):
        if variant == "invite":
            store.set_delivery(inv, "skipped")
        return "suppressed"
    if not info.is_open:
        return "closed"
    if variant != "invite" and not _reminder_still_wanted(info, inv, variant, now()):
        return "not_needed"
    settings = tenant_settings(tenant_id)
    key = store.ledger_key(kind.name, inv.survey_id, inv.contact_id, purpose)
    # The quota unit is taken before the claim: nothing that can fail or crash is added between
    # claiming a send and handing it to the provider (a claim left there reads as "unknown").
    try:
        unit = send_limits.take(tenant_id, now())
    except send_limits.QuotaExceeded:
        return _over_quota(inv, purpose, variant)
    try:
        claim = store.claim(tenant_id, key, inv.contact_id, SEND_LEASE_SECONDS)
    except Exception:
        send_limits.give_back(unit)
        raise
    if claim.state != "claimed":
        send_limits.give_back(unit)
    if claim.state == "sent":
        _after_send(inv, purpose, claim.sent_at or iso(now()), settings)
        return "duplicate"
    if claim.state == "busy":
        raise RetryLater(key)
    if claim.state == "unknown":
        if variant == "invite":
            store.set_delivery(inv, "unknown")
        return "unknown"
    try:
        inv.email, inv.name = contact.email, contact.name
        token = issue_token(inv, purpose, links_version=contact.links_version)
        mail = kind.mail(
            info, inv, variant=variant, link=link_for(token), unsubscribe=unsubscribe_url(token)
        )
        mail.from_address = sender_from_address(tenant_id, settings.email_from)
        mail.from_name = settings.email_from_name or info.company
        mail.unsubscribe_url = unsubscribe_url(token)
        transport = _transport(tenant_id, settings)
    except Exception:
        _give_back(tenant_id, key, claim.claim_id)
        send_limits.give_back(unit)
        raise
    try:
        message_id = message.send(mail, smtp=transport)
    except _NOT_SENT:
        _give_back(tenant_id, key, claim.claim_id)
        send_limits.give_back(unit)  # the provider surely has nothing: the unit is not spent
        raise
    except Exception:
        # The request may have reached the provider: never risk a second copy.
        store.mark_unknown(tenant_id, key, claim.claim_id)
        if variant == "invite":
            store.set_delivery(inv, "unknown")
        logger.exception("survey mail outcome unknown", extra={"purpose": purpose})
        return "unknown"
    sent_at = iso(now())
    store.mark_sent(
        tenant_id,
        key,
        claim.claim_id,
        message_id=message_id,
        sent_at=sent_at,
        channel="smtp" if transport else "ses",
    )
    _after_send(inv, purpose, sent_at, settings)
    logger.info("survey mail sent", extra={"kind": kind.name, "purpose": purpose})
    return "sent"


def _over_quota(inv: Invitation, purpose: str, variant: str) -> str:
    """The tenant's daily quota is used up: an invite is held and queued again by the next
    day's reminders run (``_remind``); a reminder is dropped (the next planned one still goes)."""
    if variant == "invite":
        if purpose.startswith("invite#") and int(purpose.split("#", 1)[1]) <= (inv.sent_round or 0):
            return "duplicate"  # this round is out already: nothing to hold
        store.hold(inv, (now().date() + timedelta(days=1)).isoformat())
    logger.warning("daily send quota used up", extra={"variant": variant})
    return "quota_exceeded"


def _after_send(inv: Invitation, purpose: str, sent_at: str, settings: TenantSettings) -> None:
    """Record a delivered mail on the invitation (idempotent; runs again on a duplicate)."""
    if purpose.startswith("invite#"):
        round_no = int(purpose.split("#", 1)[1])
        sent = parse_iso(sent_at)
        closes = sent + timedelta(days=WINDOW_DAYS)
        plan = [d for d in settings.reminder_days if d < WINDOW_DAYS]
        first_due = (sent.date() + timedelta(days=plan[0])).isoformat() if plan else None
        store.record_invite_sent(
            inv,
            round_no,
            sent_at=sent_at,
            window_closes_at=iso(closes),
            plan=plan,
            first_due_on=first_due,
        )
    else:
        store.record_reminder_sent(inv, purpose)


# ------------------------------------------------------------------------------ reminders


@dataclass
class ReminderOutcome:
    queued: int = 0
    stopped: int = 0
    skipped: int = 0

    def to_dict(self) -> dict[str, int]:
        return {"queued": self.queued, "stopped": self.stopped, "skipped": self.skipped}


def run_reminders(on_date: date) -> dict[str, Any]:
    """The daily job: every invitation with a reminder due on ``on_date`` (or in the few days
    before, if a run was missed) gets the reminder its state calls for, at most once per step.

    Safe to run twice and to crash halfway: the reminder is queued before the invitation's
    pending step moves on (a conditional write on the step read), and the send ledger drops a
    second message for the same step."""
    outcome = ReminderOutcome()
    for back in range(REMINDER_LOOKBACK_DAYS, -1, -1):
        day = (on_date - timedelta(days=back)).isoformat()
        for ref in store.due_on(day):
            _remind(ref, on_date, outcome)
    return {"date": on_date.isoformat(), **outcome.to_dict()}


def _remind(ref: store.DueRef, on_date: date, outcome: ReminderOutcome) -> None:
    try:
        kind = kind_of(ref.kind)
        inv = store.get(ref.tenant_id, ref.kind, ref.survey_id, ref.contact_id)
    except NotFound:
        outcome.skipped += 1
        return
    if inv.delivery == store.HELD and inv.next_due_on and inv.next_due_on <= on_date.isoformat():
        queue_invites([inv])  # before the release: a crash in between queues it twice, sends once
        store.release_held(inv, from_due=inv.next_due_on)
        outcome.queued += 1
        return
    if inv.next_step is None or inv.next_due_on is None or not inv.sent_at:
        outcome.skipped += 1
        return
    if inv.next_due_on > on_date.isoformat():
        outcome.skipped += 1  # moved on since the index was read
        return
    plan, sent_on = inv.reminder_plan, parse_iso(inv.sent_at).date()
    step = inv.next_step
    # After a missed run only the latest due step is sent; earlier ones are skipped, not sent late.
    while step + 1 < len(plan) and sent_on + timedelta(days=plan[step + 1]) <= on_date:
        step += 1
    closes_on = parse_iso(inv.window_closes_at).date() if inv.window_closes_at else None
    following = sent_on + timedelta(days=plan[step + 1]) if step + 1 < len(plan) else None
    if following is not None and closes_on is not None and following >= closes_on:
        following = None

    def move_on(next_due: date | None) -> None:
        store.advance_reminder(
            inv,
            from_step=int(inv.next_step or 0),
            from_due=str(inv.next_due_on),
            next_step=step + 1,
            next_due=next_due.isoformat() if next_due else None,
        )

    variant = _reminder_variant(kind, inv, on_date, closes_on)
    if variant is None:
        move_on(None)  # nothing more to remind about, ever
        outcome.stopped += 1
        return
    purpose = f"reminder#{inv.sent_round or 1}#{plan[step]}"
    queues.send_messages("mail", [mail_message(inv, purpose, variant)])
    move_on(following)
    outcome.queued += 1


def _reminder_variant(
    kind: SurveyKind, inv: Invitation, on_date: date, closes_on: date | None
) -> str | None:
    if closes_on is not None and on_date >= closes_on:
        return None
    if inv.scored_at:
        return None
    try:
        contact = account_store.get_contact(inv.tenant_id, inv.contact_id)
        info = kind.load(inv.tenant_id, inv.survey_id)
    except NotFound:
        return None
    if contact_blocked(contact) or not info.is_open:
        return None
    if not inv.opened_at and not inv.responded_at:
        return "reminder_review"
    if info.scoring_applies:
        return "reminder_score"
    return None


# ------------------------------------------------------------------------ unsubscribe / SES


@dataclass
class LinkContact:
    """The contact an unsubscribe link belongs to, and the name its mails came from."""

    contact: Contact
    company: str


def _link_contact(record: store.TokenRecord, contact: Contact) -> LinkContact:
    try:
        company = tenant_store.get_tenant(record.tenant_id).name
    except NotFound:
        company = ""
    return LinkContact(contact, company)


def subscription(token: str) -> LinkContact:
    """GET of an unsubscribe link: reads only (mail scanners prefetch links)."""
    record, contact = live_link(token)
    return _link_contact(record, contact)


def _set_unsubscribed(token: str, value: bool) -> LinkContact:
    record, _ = live_link(token)
    # Conditional on the links' version read: an address changed in between revokes this link.
    contact = account_store.update_contact(
        record.tenant_id,
        record.contact_id,
        {"unsubscribed": value},
        links_version=record.links_version,
    )
    # Remembered by address as well, so deleting and adding the contact again keeps it.
    if value:
        opt_outs.record(record.tenant_id, contact.email, "link")
    else:
        opt_outs.clear(record.tenant_id, contact.email)
    return _link_contact(record, contact)


def unsubscribe(token: str) -> LinkContact:
    """RFC 8058 one-click: works for the life of the token, even after the survey window, until
    the contact's address changes."""
    return _set_unsubscribed(token, True)


def resubscribe(token: str) -> LinkContact:
    """Undo an opt-out. Only the contact's own link can do this; staff cannot."""
    found = _set_unsubscribed(token, False)
    logger.info("contact subscribed again", extra={"tenant_id": found.contact.tenant_id})
    return found


def suppress_from_ses(notification: Mapping[str, Any]) -> int:
    """An SES bounce or complaint (from SNS): suppress the contacts it names. Transient bounces
    are ignored (SES retries those itself). Returns how many contacts were suppressed."""
    kind = notification.get("notificationType") or notification.get("eventType")
    if kind == "Bounce":
        bounce = notification.get("bounce") or {}
        if bounce.get("bounceType") != "Permanent":
            return 0
    elif kind != "Complaint":
        return 0
    message_id = str((notification.get("mail") or {}).get("messageId") or "")
    ref = store.by_message_id(message_id) if message_id else None
    if ref is None:
        logger.warning("SES notification for a message we did not send", extra={"kind": kind})
        return 0
    try:
        account_store.update_contact(ref.tenant_id, ref.contact_id, {"suppressed": True})
    except NotFound:
        return 0
    logger.info("contact suppressed", extra={"reason": kind, "tenant_id": ref.tenant_id})
    return 1
