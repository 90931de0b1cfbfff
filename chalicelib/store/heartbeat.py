"""Heartbeat: each tenant's configuration and rounds, the shared question-usage counters, the
per-period answer aggregates that benchmarks read, and the stored benchmark results.

Two tables are deliberately not keyed by tenant, because what they hold is cross-tenant by
nature and holds no tenant's private data in a way a request could reach:

* ``heartbeat-library``: one counter item per question ("how many tenants use it"), in one
  partition, so the ranked library is a single Query. Counters move in the same transaction as
  the configuration change that causes them, so they never drift.
* ``heartbeat-aggregates``: one item per (tenant, question) in the partition of its period
  (``period#2025-Q3``), so the nightly benchmark job reads a period with a few Query pages —
  its cost grows with companies × questions, never with responses. Only jobs read it.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from chalicelib.errors import Conflict, NotFound
from chalicelib.store.base import BaseMeta, Page, is_condition_failure, query_page, table_name
from chalicelib.store.base import connection as base_connection

LIBRARY_SCOPE = "questions"
SCHEDULE_SCOPE = "all"
# Retries of an optimistic transaction that lost a race (two answers of one account at once).
MAX_ATTEMPTS = 5


def _conn() -> Connection:
    return base_connection()


def _cancelled_by_condition(exc: Exception) -> bool:
    reasons = getattr(exc, "cancellation_reasons", None) or []
    return is_condition_failure(exc) or any(
        r is not None and r.code == "ConditionalCheckFailed" for r in reasons
    )


# ----------------------------------------------------------------------------------- models


class ScheduleIndex(GlobalSecondaryIndex["HeartbeatConfigModel"]):
    """Every tenant's heartbeat configuration, for the daily job (a Query, never a Scan)."""

    class Meta:
        index_name = "by-schedule"
        projection = AllProjection()

    schedule = UnicodeAttribute(hash_key=True)
    tenant_id = UnicodeAttribute(range_key=True)


class HeartbeatConfigModel(Model):
    class Meta(BaseMeta):
        table_name = table_name("heartbeat-configs")

    tenant_id = UnicodeAttribute(hash_key=True)
    # The four chosen questions, in order; a custom question appears under its shared id.
    question_ids = ListAttribute(of=UnicodeAttribute)
    custom_text = UnicodeAttribute(null=True)
    version = NumberAttribute(default=0)
    created_on = UnicodeAttribute()  # anchors the first round's due date
    updated_at = UnicodeAttribute()
    schedule = UnicodeAttribute(default=SCHEDULE_SCOPE)
    last_sent_on = UnicodeAttribute(null=True)
    # A prepared or approved round that has not been sent yet: no other round is prepared.
    pending_round_id = UnicodeAttribute(null=True)
    by_schedule = ScheduleIndex()


class QuestionUsageModel(Model):
    class Meta(BaseMeta):
        table_name = table_name("heartbeat-library")

    scope = UnicodeAttribute(hash_key=True)  # always LIBRARY_SCOPE
    question_id = UnicodeAttribute(range_key=True)
    tenants_using = NumberAttribute(default=0)
    text = UnicodeAttribute(null=True)  # custom questions only (library texts live in code)
    custom = BooleanAttribute(default=False)
    # A custom question joins the library once MIN_CUSTOM_QUESTION_USERS qualifying companies
    # use it; the benchmark job sets this.
    adopted = BooleanAttribute(default=False)


class RoundModel(Model):
    class Meta(BaseMeta):
        table_name = table_name("heartbeat-rounds")

    tenant_id = UnicodeAttribute(hash_key=True)
    round_id = UnicodeAttribute(range_key=True)  # "hb_<due yyyymmdd><tenant digest>": sorts by date
    status = UnicodeAttribute()  # prepared | approved | sent | closed
    due_on = UnicodeAttribute()
    questions = JSONAttribute()  # snapshot of the six questions when prepared
    company = UnicodeAttribute()
    prepared_at = UnicodeAttribute()
    approved_at = UnicodeAttribute(null=True)
    approved_by = UnicodeAttribute(null=True)
    sent_at = UnicodeAttribute(null=True)
    closes_at = UnicodeAttribute(null=True)
    closed_at = UnicodeAttribute(null=True)
    period = UnicodeAttribute(null=True)  # benchmark period, fixed when sent
    invited = NumberAttribute(default=0)
    responded = NumberAttribute(default=0)


class AggregateModel(Model):
    class Meta(BaseMeta):
        table_name = table_name("heartbeat-aggregates")

    period_key = UnicodeAttribute(hash_key=True)  # "period#2025-Q3"
    item_key = UnicodeAttribute(range_key=True)  # "<tenant_id>#<question_id>"
    tenant_id = UnicodeAttribute()
    question_id = UnicodeAttribute()
    customers = NumberAttribute(default=0)
    responses = NumberAttribute(default=0)
    value_sum = NumberAttribute(default=0)
    invited = NumberAttribute(default=0)
    free_email_responses = NumberAttribute(default=0)
    honeymoon_responses = NumberAttribute(default=0)
    honeymoon_sum = NumberAttribute(default=0)


class LedgerModel(Model):
    """What one contact (``p#<period>#c#<id>``) and one account (``p#<period>#a#<id>``) have
    answered in a period: it makes aggregates exact under retries and resubmissions."""

    class Meta(BaseMeta):
        table_name = table_name("heartbeat-ledger")

    tenant_id = UnicodeAttribute(hash_key=True)
    entry_key = UnicodeAttribute(range_key=True)
    version = NumberAttribute(default=0)
    answers = JSONAttribute(null=True)  # contact: question id -> last numeric answer
    free_email = BooleanAttribute(null=True)
    honeymoon = BooleanAttribute(null=True)
    round_id = UnicodeAttribute(null=True)  # contact: last round answered
    question_ids = UnicodeSetAttribute(null=True)  # account: questions any contact answered
    rounds = UnicodeSetAttribute(null=True)  # contact: rounds it was invited to


class BenchmarkResultModel(Model):
    class Meta(BaseMeta):
        table_name = table_name("benchmarks")

    tenant_id = UnicodeAttribute(hash_key=True)
    period = UnicodeAttribute(range_key=True)
    computed_on = UnicodeAttribute()
    questions = JSONAttribute()
    awards = JSONAttribute(default=list)


# ------------------------------------------------------------------------------ plain data


@dataclass
class HeartbeatConfig:
    tenant_id: str
    question_ids: list[str]
    custom_text: str | None
    version: int
    created_on: str
    updated_at: str
    last_sent_on: str | None = None
    pending_round_id: str | None = None


@dataclass
class Round:
    tenant_id: str
    round_id: str
    status: str
    due_on: str
    questions: list[dict[str, Any]]
    company: str
    prepared_at: str
    approved_at: str | None = None
    approved_by: str | None = None
    sent_at: str | None = None
    closes_at: str | None = None
    closed_at: str | None = None
    period: str | None = None
    invited: int = 0
    responded: int = 0

    def to_api(self) -> dict[str, Any]:
        return {
            "id": self.round_id,
            "status": self.status,
            "due_on": self.due_on,
            "period": self.period,
            "questions": self.questions,
            "prepared_at": self.prepared_at,
            "approved_at": self.approved_at,
            "approved_by": self.approved_by,
            "sent_at": self.sent_at,
            "closes_at": self.closes_at,
            "closed_at": self.closed_at,
            "invited": self.invited,
            "responded": self.responded,
        }


@dataclass(frozen=True)
class QuestionUsage:
    question_id: str
    tenants_using: int
    text: str | None
    custom: bool
    adopted: bool


@dataclass
class Aggregate:
    tenant_id: str
    question_id: str
    customers: int = 0
    responses: int = 0
    value_sum: float = 0
    invited: int = 0
    free_email_responses: int = 0
    honeymoon_responses: int = 0
    honeymoon_sum: float = 0


@dataclass
class BenchmarkResult:
    tenant_id: str
    period: str
    computed_on: str
    questions: list[dict[str, Any]]
    awards: list[dict[str, Any]] = field(default_factory=list)


def _config(item: HeartbeatConfigModel) -> HeartbeatConfig:
    return HeartbeatConfig(
        tenant_id=item.tenant_id,
        question_ids=[str(q) for q in item.question_ids or []],
        custom_text=item.custom_text,
        version=int(item.version or 0),
        created_on=item.created_on,
        updated_at=item.updated_at,
        last_sent_on=item.last_sent_on,
        pending_round_id=item.pending_round_id,
    )


def _round(item: RoundModel) -> Round:
    return Round(
        tenant_id=item.tenant_id,
        round_id=item.round_id,
        status=item.status,
        due_on=item.due_on,
        questions=list(item.questions or []),
        company=item.company,
        prepared_at=item.prepared_at,
        approved_at=item.approved_at,
        approved_by=item.approved_by,
        sent_at=item.sent_at,
        closes_at=item.closes_at,
        closed_at=item.closed_at,
        period=item.period,
        invited=int(item.invited or 0),
        responded=int(item.responded or 0),
    )


def _aggregate(item: AggregateModel) -> Aggregate:
    return Aggregate(
        tenant_id=item.tenant_id,
        question_id=item.question_id,
        customers=int(item.customers or 0),
        responses=int(item.responses or 0),
        value_sum=float(item.value_sum or 0),
        invited=int(item.invited or 0),
        free_email_responses=int(item.free_email_responses or 0),
        honeymoon_responses=int(item.honeymoon_responses or 0),
        honeymoon_sum=float(item.honeymoon_sum or 0),
    )


# ---------------------------------------------------------------- configuration and library


def get_config(tenant_id: str) -> HeartbeatConfig | None:
    try:
        return _config(HeartbeatConfigModel.get(tenant_id, consistent_read=True))
    except DoesNotExist:
        return None


def save_config(
    tenant_id: str,
    *,
    previous: HeartbeatConfig | None,
    question_ids: Sequence[str],
    custom_text: str | None,
    custom_id: str | None,
    today: date,
    now: str,
) -> HeartbeatConfig:
    """Replace the chosen questions and move the usage counters in one transaction.

    The write is conditional on the version read before, so two admins saving at once cannot
    both count their change: the loser gets 409 and saves again from fresh data.
    """
    old = set(previous.question_ids) if previous else set()
    new = set(question_ids)
    config = HeartbeatConfig(
        tenant_id=tenant_id,
        question_ids=list(question_ids),
        custom_text=custom_text,
        version=(previous.version if previous else 0) + 1,
        created_on=previous.created_on if previous else today.isoformat(),
        updated_at=now,
        last_sent_on=previous.last_sent_on if previous else None,
        pending_round_id=previous.pending_round_id if previous else None,
    )
    item = HeartbeatConfigModel(
        tenant_id,
        question_ids=config.question_ids,
        custom_text=custom_text,
        version=config.version,
        created_on=config.created_on,
        updated_at=now,
        schedule=SCHEDULE_SCOPE,
        last_sent_on=config.last_sent_on,
        pending_round_id=config.pending_round_id,
    )
    condition = (
        HeartbeatConfigModel.version == previous.version
        if previous
        else HeartbeatConfigModel.tenant_id.does_not_exist()
    )
    try:
        with TransactWrite(connection=_conn()) as tx:
            tx.save(item, condition=condition)
            for qid in sorted(new - old):
                actions: list[Any] = [QuestionUsageModel.tenants_using.add(1)]
                if qid == custom_id and custom_text:
                    actions += [
                        QuestionUsageModel.custom.set(True),
                        QuestionUsageModel.text.set(
                            QuestionUsageModel.text | custom_text  # keep the first wording
                        ),
                    ]
                tx.update(QuestionUsageModel(LIBRARY_SCOPE, qid), actions=actions)
            for qid in sorted(old - new):
                tx.update(
                    QuestionUsageModel(LIBRARY_SCOPE, qid),
                    actions=[QuestionUsageModel.tenants_using.add(-1)],
                )
    except TransactWriteError as exc:
        if _cancelled_by_condition(exc):
            raise Conflict(
                "the heartbeat configuration changed meanwhile; load it and retry"
            ) from exc
        raise
    return config


def question_usage() -> list[QuestionUsage]:
    """Every counter in one partition: one Query (a page holds thousands of these items)."""
    return [
        QuestionUsage(
            question_id=item.question_id,
            tenants_using=max(0, int(item.tenants_using or 0)),
            text=item.text,
            custom=bool(item.custom),
            adopted=bool(item.adopted),
        )
        for item in QuestionUsageModel.query(LIBRARY_SCOPE)
    ]


def mark_adopted(question_ids: Iterable[str]) -> int:
    count = 0
    for qid in question_ids:
        try:
            QuestionUsageModel(LIBRARY_SCOPE, qid).update(
                actions=[QuestionUsageModel.adopted.set(True)],
                condition=QuestionUsageModel.custom == True,  # noqa: E712
            )
            count += 1
        except Exception as exc:
            if not is_condition_failure(exc):
                raise
    return count


def iter_configs() -> Iterator[HeartbeatConfig]:
    """Every tenant's configuration, page by page from the schedule index."""
    for item in HeartbeatConfigModel.by_schedule.query(SCHEDULE_SCOPE):
        yield _config(item)


# -------------------------------------------------------------------------------- rounds


def round_id_for(tenant_id: str, due_on: date) -> str:
    """Deterministic per (tenant, due date): a second prepare of the same round is a no-op.
    The tenant digest keeps ids distinct across tenants, so they stay opaque."""
    digest = hashlib.sha256(tenant_id.encode()).hexdigest()[:10]
    return f"hb_{due_on:%Y%m%d}{digest}"


def prepare_round(rnd: Round, config_version: int) -> bool:
    """Store a prepared round and mark it pending on the config; False if it already existed."""
    item = RoundModel(
        rnd.tenant_id,
        rnd.round_id,
        status="prepared",
        due_on=rnd.due_on,
        questions=rnd.questions,
        company=rnd.company,
        prepared_at=rnd.prepared_at,
        invited=0,
        responded=0,
    )
    try:
        with TransactWrite(connection=_conn()) as tx:
            tx.save(item, condition=RoundModel.round_id.does_not_exist())
            tx.update(
                HeartbeatConfigModel(rnd.tenant_id),
                actions=[HeartbeatConfigModel.pending_round_id.set(rnd.round_id)],
                condition=HeartbeatConfigModel.pending_round_id.does_not_exist(),
            )
    except TransactWriteError as exc:
        if _cancelled_by_condition(exc):
            return False
        raise
    return True


def get_round(tenant_id: str, round_id: str) -> Round:
    try:
        return _round(RoundModel.get(tenant_id, round_id, consistent_read=True))
    except DoesNotExist as exc:
        raise NotFound("heartbeat not found") from exc


def list_rounds(tenant_id: str, *, limit: int, cursor: str | None) -> Page[Round]:
    return query_page(
        RoundModel,
        tenant_id,
        scope=f"heartbeats:{tenant_id}",
        limit=limit,
        cursor=cursor,
        convert=_round,
        scan_index_forward=False,
    )


def latest_sent_round(tenant_id: str) -> Round | None:
    """The newest round that went out (sent or closed)."""
    for item in RoundModel.query(
        tenant_id,
        scan_index_forward=False,
        filter_condition=RoundModel.status.is_in("sent", "closed"),
        page_size=10,
    ):
        return _round(item)
    return None


def approve_round(tenant_id: str, round_id: str, user_id: str, now: str) -> Round:
    item = RoundModel(tenant_id, round_id)
    try:
        item.update(
            actions=[
                RoundModel.status.set("approved"),
                RoundModel.approved_at.set(now),
                RoundModel.approved_by.set(user_id),
            ],
            condition=RoundModel.status == "prepared",
        )
    except Exception as exc:
        if is_condition_failure(exc):
            current = get_round(tenant_id, round_id)  # 404 when it does not exist
            raise Conflict(f"this heartbeat is {current.status}, not waiting for approval") from exc
        raise
    return _round(item)


def mark_sent(rnd: Round, *, sent_at: str, sent_on: date, closes_at: str, period: str) -> Round:
    """approved -> sent, and the config learns the round went out (the next one may follow)."""
    item = RoundModel(rnd.tenant_id, rnd.round_id)
    try:
        with TransactWrite(connection=_conn()) as tx:
            tx.update(
                item,
                actions=[
                    RoundModel.status.set("sent"),
                    RoundModel.sent_at.set(sent_at),
                    RoundModel.closes_at.set(closes_at),
                    RoundModel.period.set(period),
                ],
                condition=RoundModel.status == "approved",
            )
            tx.update(
                HeartbeatConfigModel(rnd.tenant_id),
                actions=[
                    HeartbeatConfigModel.last_sent_on.set(sent_on.isoformat()),
                    HeartbeatConfigModel.pending_round_id.remove(),
                ],
            )
    except TransactWriteError as exc:
        if not _cancelled_by_condition(exc):
            raise
    return get_round(rnd.tenant_id, rnd.round_id)


def close_round(tenant_id: str, round_id: str, now: str) -> bool:
    try:
        RoundModel(tenant_id, round_id).update(
            actions=[RoundModel.status.set("closed"), RoundModel.closed_at.set(now)],
            condition=RoundModel.status == "sent",
        )
    except Exception as exc:
        if is_condition_failure(exc):
            return False
        raise
    return True


def open_rounds(tenant_id: str) -> list[Round]:
    """Sent rounds whose window may still be open (the newest few; rounds never overlap much)."""
    return [
        _round(item)
        for item in RoundModel.query(
            tenant_id,
            scan_index_forward=False,
            filter_condition=RoundModel.status == "sent",
            limit=5,
        )
    ]


# ----------------------------------------------------------------------- answers, aggregates


def period_key(period: str) -> str:
    return f"period#{period}"


def _agg_item(period: str, tenant_id: str, question_id: str) -> AggregateModel:
    return AggregateModel(
        period_key(period),
        f"{tenant_id}#{question_id}",
    )


def _agg_identity(tenant_id: str, question_id: str) -> list[Any]:
    return [
        AggregateModel.tenant_id.set(tenant_id),
        AggregateModel.question_id.set(question_id),
    ]


def contact_entry(period: str, contact_id: str) -> str:
    return f"p#{period}#c#{contact_id}"


def account_entry(period: str, account_id: str) -> str:
    return f"p#{period}#a#{account_id}"


def record_invitation(
    tenant_id: str, round_id: str, period: str, contact_id: str, question_ids: Sequence[str]
) -> bool:
    """Count one invited contact: once per period for participation, once per round on the round.

    Idempotent: the contact's ledger entry remembers the rounds it was invited to.
    Returns False when this contact was already counted for this round.
    """
    key = contact_entry(period, contact_id)
    for _ in range(MAX_ATTEMPTS):
        try:
            entry = LedgerModel.get(tenant_id, key, consistent_read=True)
        except DoesNotExist:
            entry = None
        invited_rounds = set((entry.rounds or set()) if entry else set())
        if round_id in invited_rounds:
            return False
        version = int(entry.version or 0) if entry else 0
        try:
            with TransactWrite(connection=_conn()) as tx:
                tx.update(
                    LedgerModel(tenant_id, key),
                    actions=[
                        LedgerModel.rounds.add({round_id}),
                        LedgerModel.version.set(version + 1),
                    ],
                    condition=(
                        LedgerModel.version == version
                        if entry
                        else LedgerModel.entry_key.does_not_exist()
                    ),
                )
                tx.update(
                    RoundModel(tenant_id, round_id),
                    actions=[RoundModel.invited.add(1)],
                    condition=RoundModel.round_id.exists(),
                )
                if entry is None:  # first invitation of this contact in the period
                    for qid in question_ids:
                        tx.update(
                            _agg_item(period, tenant_id, qid),
                            actions=[*_agg_identity(tenant_id, qid), AggregateModel.invited.add(1)],
                        )
            return True
        except TransactWriteError as exc:
            if not _cancelled_by_condition(exc):
                raise
            time.sleep(0.02)
    raise Conflict("too many concurrent changes; try again")


@dataclass(frozen=True)
class Respondent:
    contact_id: str
    account_id: str
    free_email: bool
    honeymoon: bool


AnswerOp = Callable[[TransactWrite], None]


def answer_ops(
    tenant_id: str,
    round_id: str,
    period: str,
    respondent: Respondent,
    numeric_answers: Mapping[str, int],
) -> list[AnswerOp]:
    """The writes that fold one submitted heartbeat into the period's aggregates.

    Reads the contact's and the account's ledger entries (one BatchGetItem) and returns
    transaction steps conditional on their versions, so the survey machinery can commit them
    with the response itself; a lost race cancels the whole transaction and is retried from
    fresh reads.

    A contact answers each question at most once per period: a resubmission (or an answer to a
    later round in the same period) replaces the earlier value instead of adding a response.
    Customers are distinct accounts: the account's entry records which questions any of its
    contacts answered.
    """
    c_key = contact_entry(period, respondent.contact_id)
    a_key = account_entry(period, respondent.account_id)
    entries = {
        e.entry_key: e for e in LedgerModel.batch_get([(tenant_id, c_key), (tenant_id, a_key)])
    }
    contact = entries.get(c_key)
    account = entries.get(a_key)
    previous: dict[str, float] = dict((contact.answers or {}) if contact else {})
    known_flags = contact is not None and contact.free_email is not None
    free = bool(contact.free_email) if known_flags and contact else respondent.free_email
    honey = bool(contact.honeymoon) if known_flags and contact else respondent.honeymoon
    answered_by_account = set((account.question_ids or set()) if account else set())
    merged = {**previous, **{k: float(v) for k, v in numeric_answers.items()}}
    first_in_round = contact is None or contact.round_id != round_id
    c_version = int(contact.version or 0) if contact else 0
    a_version = int(account.version or 0) if account else 0
    new_for_account = sorted(set(numeric_answers) - answered_by_account)

    def op(tx: TransactWrite) -> None:
        tx.update(
            LedgerModel(tenant_id, c_key),
            actions=[
                LedgerModel.answers.set(merged),
                LedgerModel.free_email.set(free),
                LedgerModel.honeymoon.set(honey),
                LedgerModel.round_id.set(round_id),
                LedgerModel.version.set(c_version + 1),
            ],
            condition=(
                LedgerModel.version == c_version
                if contact
                else LedgerModel.entry_key.does_not_exist()
            ),
        )
        account_actions: list[Any] = [LedgerModel.version.set(a_version + 1)]
        if new_for_account:
            account_actions.append(LedgerModel.question_ids.add(set(new_for_account)))
        tx.update(
            LedgerModel(tenant_id, a_key),
            actions=account_actions,
            condition=(
                LedgerModel.version == a_version
                if account
                else LedgerModel.entry_key.does_not_exist()
            ),
        )
        for qid, value in sorted(numeric_answers.items()):
            old = previous.get(qid)
            delta = float(value) - (old or 0.0)
            actions: list[Any] = [*_agg_identity(tenant_id, qid)]
            if old is None:
                actions.append(AggregateModel.responses.add(1))
                if free:
                    actions.append(AggregateModel.free_email_responses.add(1))
                if honey:
                    actions.append(AggregateModel.honeymoon_responses.add(1))
            if old is None or delta:
                actions.append(AggregateModel.value_sum.add(delta))
                if honey:
                    actions.append(AggregateModel.honeymoon_sum.add(delta))
            if qid in new_for_account:
                actions.append(AggregateModel.customers.add(1))
            tx.update(_agg_item(period, tenant_id, qid), actions=actions)
        if first_in_round:
            tx.update(
                RoundModel(tenant_id, round_id),
                actions=[RoundModel.responded.add(1)],
                condition=RoundModel.round_id.exists(),
            )

    return [op]


def record_answers(
    tenant_id: str,
    round_id: str,
    period: str,
    respondent: Respondent,
    numeric_answers: Mapping[str, int],
) -> None:
    """``answer_ops`` committed on their own (backfills and tests), retried on a lost race."""
    for _ in range(MAX_ATTEMPTS):
        ops = answer_ops(tenant_id, round_id, period, respondent, numeric_answers)
        try:
            with TransactWrite(connection=_conn()) as tx:
                for op in ops:
                    op(tx)
            return
        except TransactWriteError as exc:
            if not _cancelled_by_condition(exc):
                raise
            time.sleep(0.02)
    raise Conflict("too many concurrent answers; try again")


def period_aggregates(period: str) -> Iterator[Aggregate]:
    """Every tenant's aggregates for a period: Query pages of one partition."""
    for item in AggregateModel.query(period_key(period)):
        yield _aggregate(item)


def tenant_aggregates(tenant_id: str, period: str) -> list[Aggregate]:
    return [
        _aggregate(item)
        for item in AggregateModel.query(
            period_key(period), AggregateModel.item_key.startswith(f"{tenant_id}#")
        )
    ]


# ----------------------------------------------------------------------- benchmark results


def save_results(results: Iterable[BenchmarkResult]) -> int:
    count = 0
    with BenchmarkResultModel.batch_write() as batch:
        for r in results:
            batch.save(
                BenchmarkResultModel(
                    r.tenant_id,
                    r.period,
                    computed_on=r.computed_on,
                    questions=r.questions,
                    awards=r.awards,
                )
            )
            count += 1
    return count


def latest_result(tenant_id: str, period: str | None = None) -> BenchmarkResult | None:
    if period is not None:
        try:
            items = [BenchmarkResultModel.get(tenant_id, period)]
        except DoesNotExist:
            return None
    else:
        items = list(BenchmarkResultModel.query(tenant_id, scan_index_forward=False, limit=1))
    for item in items:
        return BenchmarkResult(
            tenant_id=item.tenant_id,
            period=item.period,
            computed_on=item.computed_on,
            questions=list(item.questions or []),
            awards=list(item.awards or []),
        )
    return None
