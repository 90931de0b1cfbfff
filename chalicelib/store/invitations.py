"""Survey invitations, their signed-link tokens and the send ledger — for every kind of survey.

An invitation is one contact's place in one survey (a review, a heartbeat round, …). Everything
here is keyed on ``(tenant, kind, survey id, contact)`` and knows nothing about what a kind
asks; ``chalicelib/services/surveys.py`` holds the rules and ``docs/surveys.md`` the layout.

Three tables:

* ``invitations``: partition ``<tenant>#<kind>#<survey>``, sort ``contact_id``. Holds delivery,
  window, opened/scored stamps, the stored response and the next reminder. The sparse ``by-due``
  index (partition ``due#<YYYY-MM-DD>#<shard>``) lists only invitations with a reminder due, so
  the daily job reads what is due that day, never every invitation.
* ``survey-tokens``: partition ``token_hash`` (HMAC-SHA256 of the link token). The one table not
  keyed by tenant: the token *is* the entry point and names its tenant, survey and contact. Only
  hashes are stored; every mail carries a fresh token and all of them open the same invitation,
  each for the window of its own mail and only while the contact's ``links_version`` is still
  the one it was issued under (a change of address raises it, revoking the old links).
* ``send-ledger``: partition tenant, sort ``<kind>#<survey>#<contact>#<purpose>``. A conditional
  write claims a send before the provider is called, so a retried queue message never mails the
  same recipient twice for the same purpose. The ``by-message`` index maps a provider message id
  back to its contact for bounces and complaints.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from chalicelib.errors import Conflict, NotFound
from chalicelib.store.base import BaseMeta, is_condition_failure, table_name
from chalicelib.store.base import connection as base_connection

# Reminder index shards per day: spreads one busy day over several partitions.
DUE_SHARDS = 4
# Tokens and ledger entries outlive the 28-day window so unsubscribe links keep working and a
# very late redelivery still finds its ledger entry (DynamoDB TTL removes them afterwards).
RETENTION_SECONDS = 400 * 86400

# A transaction step contributed by any store module: ``op(tx)`` adds its writes.
TxOp = Callable[[TransactWrite], None]


def connection() -> Connection:
    return base_connection()


def cancelled_by_condition(exc: Exception) -> bool:
    reasons = getattr(exc, "cancellation_reasons", None) or []
    return is_condition_failure(exc) or any(
        r is not None and getattr(r, "code", None) == "ConditionalCheckFailed" for r in reasons
    )


# --------------------------------------------------------------------------------- models


class DueIndex(GlobalSecondaryIndex["InvitationModel"]):
    """Invitations with a reminder due on a day (sparse: only those with one pending)."""

    class Meta:
        index_name = "by-due"
        projection = KeysOnlyProjection()

    due_key = UnicodeAttribute(hash_key=True)  # "due#2025-06-14#2"
    due_ref = UnicodeAttribute(range_key=True)  # "<survey_key>|<contact_id>"


class InvitationModel(Model):
    class Meta(BaseMeta):
        table_name = table_name("invitations")

    survey_key = UnicodeAttribute(hash_key=True)  # "<tenant>#<kind>#<survey_id>"
    contact_id = UnicodeAttribute(range_key=True)
    tenant_id = UnicodeAttribute()
    kind = UnicodeAttribute()
    survey_id = UnicodeAttribute()
    account_id = UnicodeAttribute()
    name = UnicodeAttribute(default="")
    email = UnicodeAttribute()
    created_at = UnicodeAttribute()
    # Invite rounds: 1 for the first send, +1 per resend. ``sent_round`` is the last delivered.
    send_count = NumberAttribute(default=1)
    sent_round = NumberAttribute(null=True)
    delivery = UnicodeAttribute(default="queued")  # queued|sent|unknown|skipped|quota_exceeded
    first_sent_at = UnicodeAttribute(null=True)
    sent_at = UnicodeAttribute(null=True)
    window_closes_at = UnicodeAttribute(null=True)
    opened_at = UnicodeAttribute(null=True)
    responded_at = UnicodeAttribute(null=True)
    scored_at = UnicodeAttribute(null=True)
    response_updated_at = UnicodeAttribute(null=True)
    reminders = UnicodeSetAttribute(null=True)  # purposes of the reminders sent
    reminder_plan = ListAttribute(of=NumberAttribute, null=True)
    next_step = NumberAttribute(null=True)
    next_due_on = UnicodeAttribute(null=True)
    due_key = UnicodeAttribute(null=True)
    due_ref = UnicodeAttribute(null=True)
    response = JSONAttribute(null=True)
    response_version = NumberAttribute(default=0)
    period = UnicodeAttribute(null=True)  # the month the first response counted in
    follow_up = BooleanAttribute(default=False)
    # Until when later updates of the response mail the owner nothing more (ISO time).
    owner_mail_until = UnicodeAttribute(null=True)
    by_due = DueIndex()


class SurveyTokenModel(Model):
    class Meta(BaseMeta):
        table_name = table_name("survey-tokens")

    token_hash = UnicodeAttribute(hash_key=True)
    tenant_id = UnicodeAttribute()
    kind = UnicodeAttribute()
    survey_id = UnicodeAttribute()
    contact_id = UnicodeAttribute()
    purpose = UnicodeAttribute()
    created_at = UnicodeAttribute()
    links_version = NumberAttribute(null=True)  # the contact's at issue (absent: 0)
    ttl = TTLAttribute()


class MessageIndex(GlobalSecondaryIndex["SendLedgerModel"]):
    """Ledger entry by provider message id: bounces and complaints name only the message."""

    class Meta:
        index_name = "by-message"
        projection = AllProjection()

    message_id = UnicodeAttribute(hash_key=True)


class SendLedgerModel(Model):
    class Meta(BaseMeta):
        table_name = table_name("send-ledger")

    tenant_id = UnicodeAttribute(hash_key=True)
    entry_key = UnicodeAttribute(range_key=True)  # "<kind>#<survey>#<contact>#<purpose>"
    status = UnicodeAttribute()  # claimed | sent | unknown
    claim_id = UnicodeAttribute()
    claimed_at = NumberAttribute()
    contact_id = UnicodeAttribute()
    sent_at = UnicodeAttribute(null=True)
    message_id = UnicodeAttribute(null=True)
    channel = UnicodeAttribute(null=True)  # ses | smtp
    ttl = TTLAttribute()
    by_message = MessageIndex()


# ----------------------------------------------------------------------------- plain data


@dataclass
class Invitation:
    tenant_id: str
    kind: str
    survey_id: str
    contact_id: str
    account_id: str
    name: str
    email: str
    created_at: str
    send_count: int = 1
    sent_round: int | None = None
    delivery: str = "queued"
    first_sent_at: str | None = None
    sent_at: str | None = None
    window_closes_at: str | None = None
    opened_at: str | None = None
    responded_at: str | None = None
    scored_at: str | None = None
    response_updated_at: str | None = None
    reminders: list[str] = field(default_factory=list)
    reminder_plan: list[int] = field(default_factory=list)
    next_step: int | None = None
    next_due_on: str | None = None
    response: dict[str, Any] | None = None
    response_version: int = 0
    period: str | None = None
    follow_up: bool = False

    @property
    def key(self) -> str:
        return survey_key(self.tenant_id, self.kind, self.survey_id)


def survey_key(tenant_id: str, kind: str, survey_id: str) -> str:
    return f"{tenant_id}#{kind}#{survey_id}"


def _invitation(item: InvitationModel) -> Invitation:
    return Invitation(
        tenant_id=item.tenant_id,
        kind=item.kind,
        survey_id=item.survey_id,
        contact_id=item.contact_id,
        account_id=item.account_id,
        name=item.name or "",
        email=item.email,
        created_at=item.created_at,
        send_count=int(item.send_count or 1),
        sent_round=None if item.sent_round is None else int(item.sent_round),
        delivery=item.delivery or "queued",
        first_sent_at=item.first_sent_at,
        sent_at=item.sent_at,
        window_closes_at=item.window_closes_at,
        opened_at=item.opened_at,
        responded_at=item.responded_at,
        scored_at=item.scored_at,
        response_updated_at=item.response_updated_at,
        reminders=sorted(item.reminders or set()),
        reminder_plan=[int(cast(Any, d)) for d in (item.reminder_plan or [])],
        next_step=None if item.next_step is None else int(item.next_step),
        next_due_on=item.next_due_on,
        response=None if item.response is None else dict(item.response),
        response_version=int(item.response_version or 0),
        period=item.period,
        follow_up=bool(item.follow_up),
    )


def _shard(ref: str) -> int:
    return sum(ref.encode()) % DUE_SHARDS


def due_key(day: str, shard: int) -> str:
    return f"due#{day}#{shard}"


def _due_ref(inv_key: str, contact_id: str) -> str:
    return f"{inv_key}|{contact_id}"


# ---------------------------------------------------------------------------- invitations


def ensure(
    tenant_id: str,
    kind: str,
    survey_id: str,
    *,
    contact_id: str,
    account_id: str,
    name: str,
    email: str,
    created_at: str,
) -> tuple[Invitation, bool]:
    """The invitation, created with invite round 1 if it did not exist; (invitation, created)."""
    key = survey_key(tenant_id, kind, survey_id)
    item = InvitationModel(
        key,
        contact_id,
        tenant_id=tenant_id,
        kind=kind,
        survey_id=survey_id,
        account_id=account_id,
        name=name,
        email=email,
        created_at=created_at,
        send_count=1,
    )
    try:
        item.save(condition=InvitationModel.contact_id.does_not_exist())
        return _invitation(item), True
    except Exception as exc:
        if not is_condition_failure(exc):
            raise
    return get(tenant_id, kind, survey_id, contact_id), False


def bump(tenant_id: str, kind: str, survey_id: str, contact_id: str, email: str) -> Invitation:
    """Start a new invite round on an existing invitation (a resend); returns it updated."""
    item = InvitationModel(survey_key(tenant_id, kind, survey_id), contact_id)
    try:
        item.update(
            actions=[InvitationModel.send_count.add(1), InvitationModel.email.set(email)],
            condition=InvitationModel.contact_id.exists(),
        )
    except Exception as exc:
        if is_condition_failure(exc):
            raise NotFound("invitation not found") from exc
        raise
    return _invitation(item)


def get(tenant_id: str, kind: str, survey_id: str, contact_id: str) -> Invitation:
    try:
        item = InvitationModel.get(
            survey_key(tenant_id, kind, survey_id), contact_id, consistent_read=True
        )
    except DoesNotExist as exc:
        raise NotFound("invitation not found") from exc
    return _invitation(item)


def for_survey(tenant_id: str, kind: str, survey_id: str) -> list[Invitation]:
    """Every invitation of one survey (a review has at most a few hundred recipients)."""
    return [_invitation(i) for i in InvitationModel.query(survey_key(tenant_id, kind, survey_id))]


def delete_survey(tenant_id: str, kind: str, survey_id: str) -> None:
    with InvitationModel.batch_write() as batch:
        for item in InvitationModel.query(survey_key(tenant_id, kind, survey_id)):
            batch.delete(item)


def mark_opened(inv: Invitation, at: str) -> bool:
    """Record the first open; True only for the call that recorded it."""
    try:
        InvitationModel(inv.key, inv.contact_id).update(
            actions=[InvitationModel.opened_at.set(at)],
            condition=InvitationModel.contact_id.exists()
            & InvitationModel.opened_at.does_not_exist(),
        )
    except Exception as exc:
        if is_condition_failure(exc):
            return False
        raise
    inv.opened_at = at
    return True


def set_delivery(inv: Invitation, delivery: str) -> None:
    InvitationModel(inv.key, inv.contact_id).update(
        actions=[InvitationModel.delivery.set(delivery)],
        condition=InvitationModel.contact_id.exists(),
    )


# Delivery of an invite refused by the tenant's daily send quota, until it is queued again.
HELD = "quota_exceeded"


def hold(inv: Invitation, retry_on: str) -> None:
    """Mark an invite refused by the daily send quota and put it on the by-due index for
    ``retry_on``, when the reminders job queues it again (replacing any pending reminder of an
    earlier round: the new round's send plans its own)."""
    ref = _due_ref(inv.key, inv.contact_id)
    InvitationModel(inv.key, inv.contact_id).update(
        actions=[
            InvitationModel.delivery.set(HELD),
            InvitationModel.next_due_on.set(retry_on),
            InvitationModel.due_key.set(due_key(retry_on, _shard(ref))),
            InvitationModel.due_ref.set(ref),
        ],
        condition=InvitationModel.contact_id.exists(),
    )


def release_held(inv: Invitation, *, from_due: str) -> bool:
    """A held invite was queued again: back to "queued" and off the index, only if nobody
    moved it since it was read."""
    try:
        InvitationModel(inv.key, inv.contact_id).update(
            actions=[InvitationModel.delivery.set("queued"), *_clear_due_actions()],
            condition=(InvitationModel.delivery == HELD)
            & (InvitationModel.next_due_on == from_due),
        )
    except Exception as exc:
        if is_condition_failure(exc):
            return False
        raise
    return True


def record_invite_sent(
    inv: Invitation,
    round_no: int,
    *,
    sent_at: str,
    window_closes_at: str,
    plan: Sequence[int],
    first_due_on: str | None,
) -> bool:
    """Apply a delivered invite round (idempotent: an older or repeated round changes nothing).

    Sets the window from this send and plans the first reminder on the by-due index.
    """
    ref = _due_ref(inv.key, inv.contact_id)
    actions: list[Any] = [
        InvitationModel.sent_round.set(round_no),
        InvitationModel.sent_at.set(sent_at),
        InvitationModel.first_sent_at.set(
            InvitationModel.first_sent_at | sent_at  # if_not_exists
        ),
        InvitationModel.window_closes_at.set(window_closes_at),
        InvitationModel.delivery.set("sent"),
        InvitationModel.reminder_plan.set(cast(Any, list(plan))),
    ]
    if first_due_on is not None:
        actions += [
            InvitationModel.next_step.set(0),
            InvitationModel.next_due_on.set(first_due_on),
            InvitationModel.due_key.set(due_key(first_due_on, _shard(ref))),
            InvitationModel.due_ref.set(ref),
        ]
    else:
        actions += _clear_due_actions()
    try:
        InvitationModel(inv.key, inv.contact_id).update(
            actions=actions,
            condition=InvitationModel.contact_id.exists()
            & (
                InvitationModel.sent_round.does_not_exist()
                | (InvitationModel.sent_round < round_no)
            ),
        )
    except Exception as exc:
        if is_condition_failure(exc):
            return False
        raise
    return True


def _clear_due_actions() -> list[Any]:
    return [
        InvitationModel.next_step.remove(),
        InvitationModel.next_due_on.remove(),
        InvitationModel.due_key.remove(),
        InvitationModel.due_ref.remove(),
    ]


def record_reminder_sent(inv: Invitation, purpose: str) -> None:
    InvitationModel(inv.key, inv.contact_id).update(
        actions=[InvitationModel.reminders.add({purpose})],
        condition=InvitationModel.contact_id.exists(),
    )


def advance_reminder(
    inv: Invitation, *, from_step: int, from_due: str, next_step: int, next_due: str | None
) -> bool:
    """Move the pending reminder on (or clear it), only if nobody moved it since it was read."""
    ref = _due_ref(inv.key, inv.contact_id)
    if next_due is None:
        actions = _clear_due_actions()
    else:
        actions = [
            InvitationModel.next_step.set(next_step),
            InvitationModel.next_due_on.set(next_due),
            InvitationModel.due_key.set(due_key(next_due, _shard(ref))),
            InvitationModel.due_ref.set(ref),
        ]
    try:
        InvitationModel(inv.key, inv.contact_id).update(
            actions=actions,
            condition=(InvitationModel.next_step == from_step)
            & (InvitationModel.next_due_on == from_due),
        )
    except Exception as exc:
        if is_condition_failure(exc):
            return False
        raise
    return True


@dataclass(frozen=True)
class DueRef:
    tenant_id: str
    kind: str
    survey_id: str
    contact_id: str


def due_on(day: str) -> Iterator[DueRef]:
    """Invitations whose pending reminder falls on ``day`` (every shard; index pages)."""
    for shard in range(DUE_SHARDS):
        for item in InvitationModel.by_due.query(due_key(day, shard)):
            key = str(item.survey_key)
            tenant_id, kind, survey_id = key.split("#", 2)
            yield DueRef(tenant_id, kind, survey_id, str(item.contact_id))


def response_op(
    inv: Invitation,
    *,
    response: dict[str, Any],
    at: str,
    scored: bool,
    period: str,
    follow_up: bool,
) -> TxOp:
    """The invitation's part of a submit: the new response, conditional on the version read, so
    two submits racing cannot both apply their aggregate changes."""

    def op(tx: TransactWrite) -> None:
        actions: list[Any] = [
            InvitationModel.response.set(response),
            InvitationModel.response_version.set(inv.response_version + 1),
            InvitationModel.responded_at.set(InvitationModel.responded_at | at),
            InvitationModel.response_updated_at.set(at),
            InvitationModel.period.set(InvitationModel.period | period),
            InvitationModel.follow_up.set(follow_up),
        ]
        if scored:
            actions.append(InvitationModel.scored_at.set(InvitationModel.scored_at | at))
        if not inv.opened_at:
            actions.append(InvitationModel.opened_at.set(InvitationModel.opened_at | at))
        condition = InvitationModel.contact_id.exists() & (
            InvitationModel.response_version == inv.response_version
        )
        tx.update(InvitationModel(inv.key, inv.contact_id), actions=actions, condition=condition)

    return op


def claim_owner_mail(inv: Invitation, at: str, until: str) -> bool:
    """Take the right to mail the owner about this response until ``until``; False while an
    earlier submit holds it. Conditional, so of two concurrent submits only one gets True."""
    try:
        InvitationModel(inv.key, inv.contact_id).update(
            actions=[InvitationModel.owner_mail_until.set(until)],
            condition=InvitationModel.contact_id.exists()
            & (
                InvitationModel.owner_mail_until.does_not_exist()
                | (InvitationModel.owner_mail_until <= at)
            ),
        )
    except Exception as exc:
        if is_condition_failure(exc):
            return False
        raise
    return True


def commit(ops: Sequence[TxOp]) -> None:
    """Run the given steps as one transaction. A lost race raises Conflict (the caller re-reads
    and retries); any other failure propagates."""
    try:
        with TransactWrite(connection=connection()) as tx:
            for op in ops:
                op(tx)
    except TransactWriteError as exc:
        if cancelled_by_condition(exc):
            raise Conflict("changed concurrently; try again") from exc
        raise


# --------------------------------------------------------------------------------- tokens


def put_token(
    token_hash: str,
    *,
    tenant_id: str,
    kind: str,
    survey_id: str,
    contact_id: str,
    purpose: str,
    created_at: str,
    links_version: int = 0,
) -> None:
    SurveyTokenModel(
        token_hash,
        tenant_id=tenant_id,
        kind=kind,
        survey_id=survey_id,
        contact_id=contact_id,
        purpose=purpose,
        created_at=created_at,
        links_version=links_version,
        ttl=timedelta(seconds=RETENTION_SECONDS),
    ).save(condition=SurveyTokenModel.token_hash.does_not_exist())


@dataclass(frozen=True)
class TokenRecord:
    tenant_id: str
    kind: str
    survey_id: str
    contact_id: str
    purpose: str
    created_at: str = ""
    links_version: int = 0  # the contact's links_version when the link was mailed


def get_token(token_hash: str) -> TokenRecord | None:
    try:
        item = SurveyTokenModel.get(token_hash)
    except DoesNotExist:
        return None
    if item.ttl is not None and item.ttl < datetime.now(UTC):  # moto never expires items
        return None
    return TokenRecord(
        item.tenant_id,
        item.kind,
        item.survey_id,
        item.contact_id,
        item.purpose,
        created_at=item.created_at,
        links_version=int(item.links_version or 0),
    )


# --------------------------------------------------------------------------------- ledger


def ledger_key(kind: str, survey_id: str, contact_id: str, purpose: str) -> str:
    return f"{kind}#{survey_id}#{contact_id}#{purpose}"


@dataclass(frozen=True)
class Claim:
    state: str  # "claimed" (go ahead) | "sent" | "busy" (another attempt is sending) | "unknown"
    claim_id: str = ""
    sent_at: str | None = None


def claim(tenant_id: str, key: str, contact_id: str, lease_seconds: int) -> Claim:
    """Claim the right to send one mail. Exactly one caller ever gets "claimed" for a key, unless
    that caller gives the claim back with ``release`` (the provider surely refused the mail)."""
    claim_id = uuid.uuid4().hex
    now = time.time()
    try:
        SendLedgerModel(
            tenant_id,
            key,
            status="claimed",
            claim_id=claim_id,
            claimed_at=int(now),
            contact_id=contact_id,
            ttl=timedelta(seconds=RETENTION_SECONDS),
        ).save(condition=SendLedgerModel.entry_key.does_not_exist())
        return Claim("claimed", claim_id)
    except Exception as exc:
        if not is_condition_failure(exc):
            raise
    try:
        entry = SendLedgerModel.get(tenant_id, key, consistent_read=True)
    except DoesNotExist:
        return Claim("busy")  # released in between: let the retry claim it
    if entry.status == "sent":
        return Claim("sent", entry.claim_id, entry.sent_at)
    if entry.status == "unknown":
        return Claim("unknown", entry.claim_id)
    if now - float(entry.claimed_at) < lease_seconds:
        return Claim("busy", entry.claim_id)
    # A claim nobody finished: the sender died between claiming and recording the outcome, so
    # the provider may or may not have the mail. We never risk a second copy.
    mark_unknown(tenant_id, key, entry.claim_id)
    return Claim("unknown", entry.claim_id)


def release(tenant_id: str, key: str, claim_id: str) -> None:
    try:
        SendLedgerModel(tenant_id, key).delete(condition=SendLedgerModel.claim_id == claim_id)
    except Exception as exc:
        if not is_condition_failure(exc):
            raise


def mark_sent(
    tenant_id: str, key: str, claim_id: str, *, message_id: str, sent_at: str, channel: str
) -> None:
    SendLedgerModel(tenant_id, key).update(
        actions=[
            SendLedgerModel.status.set("sent"),
            SendLedgerModel.message_id.set(message_id),
            SendLedgerModel.sent_at.set(sent_at),
            SendLedgerModel.channel.set(channel),
        ],
        condition=SendLedgerModel.claim_id == claim_id,
    )


def mark_unknown(tenant_id: str, key: str, claim_id: str) -> None:
    try:
        SendLedgerModel(tenant_id, key).update(
            actions=[SendLedgerModel.status.set("unknown")],
            condition=(SendLedgerModel.claim_id == claim_id)
            & (SendLedgerModel.status == "claimed"),
        )
    except Exception as exc:
        if not is_condition_failure(exc):
            raise


@dataclass(frozen=True)
class SentRef:
    tenant_id: str
    contact_id: str


def by_message_id(message_id: str) -> SentRef | None:
    for item in SendLedgerModel.by_message.query(message_id, limit=1):
        return SentRef(item.tenant_id, item.contact_id)
    return None
