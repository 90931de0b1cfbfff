"""Pulses (one health update each) and the nightly SuccessScore record.

Setting a pulse is ONE DynamoDB transaction:

* put the pulse into the account's history (``pulses``, partition ``<tenant>#<account>``);
* put the level change the recent-changes report reads (``level-changes``);
* update the account's current pulse, factors and SuccessScore state, on condition that the
  account's ``pulse_seq`` is still the one this pulse was computed from;
* add one to the use count (and set "last used") of every factor code, on condition that the code
  exists and (for a new choice) is active.

Two people setting a pulse at the same moment: one transaction commits, the other fails its
``pulse_seq`` check, re-reads the account and commits on top of it. Both pulses are in the
history, the later one (later ``set_at``, later commit) is the account's current pulse and the
second pulse's ``previous_level`` and score jump start from the first. Use counts are exact
because they only ever move inside a committed transaction.

The nightly job never writes the account item: a batch write cannot carry a condition and would
replace the whole item, silently undoing a pulse that landed between its Query and its write. It
writes the night's score to ``score-history`` (partition ``<tenant>#<account>``, one item per date),
which nothing else writes. The score for any date is a pure function of the account's state and
that date (chalicelib/domain/success_score.py), so the job is idempotent per date.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
)
from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from chalicelib.domain import success_score as score
from chalicelib.domain.success_score import ScoreParams, ScoreState
from chalicelib.errors import Conflict, NotFound, ValidationFailed
from chalicelib.store.accounts import AccountModel, account_key
from chalicelib.store.base import BaseMeta, Page, query_page, table_name
from chalicelib.store.level_changes import KEEP_DAYS as LEVEL_CHANGE_KEEP_DAYS
from chalicelib.store.level_changes import LevelChangeModel
from chalicelib.store.reason_codes import ReasonCodeModel

MAX_ATTEMPTS = 8
SCORE_HISTORY_DAYS = 400


class PulseTenantIndex(GlobalSecondaryIndex["PulseModel"]):
    """Every pulse of a tenant by time (exports, audits); the history per account is the table."""

    class Meta:
        index_name = "by-tenant"
        projection = AllProjection()

    tenant_id = UnicodeAttribute(hash_key=True)
    pulse_key = UnicodeAttribute(range_key=True)


class PulseModel(Model):
    class Meta(BaseMeta):
        table_name = table_name("pulses")

    account_key = UnicodeAttribute(hash_key=True)  # "<tenant_id>#<account_id>"
    pulse_key = UnicodeAttribute(range_key=True)  # "<set_at>#<pulse_id>": sorts by time
    tenant_id = UnicodeAttribute()
    account_id = UnicodeAttribute()
    pulse_id = UnicodeAttribute()
    level = NumberAttribute()
    previous_level = NumberAttribute(null=True)
    risk_factors = ListAttribute(of=UnicodeAttribute, default=list)
    success_factors = ListAttribute(of=UnicodeAttribute, default=list)
    note = UnicodeAttribute(default="")
    next_steps = UnicodeAttribute(default="")
    set_by = UnicodeAttribute()
    set_at = UnicodeAttribute()
    same = BooleanAttribute(default=False)
    score_before = NumberAttribute(null=True)
    score_after = NumberAttribute(null=True)
    score_state = JSONAttribute(null=True)  # the account's state right after this pulse
    by_tenant = PulseTenantIndex()


class ScoreHistoryModel(Model):
    class Meta(BaseMeta):
        table_name = table_name("score-history")

    account_key = UnicodeAttribute(hash_key=True)  # "<tenant_id>#<account_id>"
    scored_on = UnicodeAttribute(range_key=True)  # YYYY-MM-DD
    tenant_id = UnicodeAttribute()
    account_id = UnicodeAttribute()
    score = NumberAttribute()
    level = NumberAttribute(null=True)
    pulse_seq = NumberAttribute(default=0)
    expires_at = TTLAttribute(null=True)


@dataclass
class Pulse:
    tenant_id: str
    account_id: str
    pulse_id: str
    level: int
    previous_level: int | None
    risk_factors: list[str]
    success_factors: list[str]
    note: str
    next_steps: str
    set_by: str
    set_at: str
    same: bool = False
    score_before: float | None = None
    score_after: float | None = None
    score_state: dict[str, Any] | None = field(default=None, repr=False)


@dataclass(frozen=True)
class NewPulse:
    tenant_id: str
    account_id: str
    level: int
    risk_factors: list[str]
    success_factors: list[str]
    note: str
    next_steps: str
    set_by: str
    pulse_id: str
    same: bool = False
    # Codes a "same update" carries over: they only need to exist, not to be active.
    carried_over: frozenset[str] = frozenset()


def _pulse(item: PulseModel) -> Pulse:
    return Pulse(
        tenant_id=item.tenant_id,
        account_id=item.account_id,
        pulse_id=item.pulse_id,
        level=int(item.level),
        previous_level=None if item.previous_level is None else int(item.previous_level),
        risk_factors=[str(code) for code in item.risk_factors or []],
        success_factors=[str(code) for code in item.success_factors or []],
        note=item.note or "",
        next_steps=item.next_steps or "",
        set_by=item.set_by,
        set_at=item.set_at,
        same=bool(item.same),
        score_before=None if item.score_before is None else float(item.score_before),
        score_after=None if item.score_after is None else float(item.score_after),
        score_state=item.score_state,
    )


# ------------------------------------------------------------------------------------ time


def _iso_ms(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def next_set_at(previous: str | None, now: datetime | None = None) -> datetime:
    """Now, but strictly after the account's last pulse (clocks of two Lambdas may disagree),
    so history order, commit order and "the account shows the later one" always agree."""
    moment = now or datetime.now(UTC)
    if previous:
        floor = _parse(previous) + timedelta(milliseconds=1)
        if moment < floor:
            moment = floor
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def state_of(raw: Mapping[str, Any] | None) -> ScoreState | None:
    if not raw:
        return None
    try:
        return ScoreState.from_dict(raw)
    except (KeyError, TypeError, ValueError):
        return None


# ---------------------------------------------------------------------------- setting a pulse


def _reason_index(exc: TransactWriteError, index: int) -> str | None:
    reasons = getattr(exc, "cancellation_reasons", None) or []
    if index < len(reasons) and reasons[index] is not None:
        return str(reasons[index].code)
    return None


def record_pulse(new: NewPulse, params: ScoreParams) -> Pulse:
    """Write one pulse (see the module doc). Raises NotFound for a missing account and
    ValidationFailed for a factor code that is gone or (for a new choice) inactive."""
    codes = list(dict.fromkeys(new.risk_factors + new.success_factors))
    connection = AccountModel._get_connection().connection
    for attempt in range(MAX_ATTEMPTS):
        try:
            account = AccountModel.get(new.tenant_id, new.account_id, consistent_read=True)
        except DoesNotExist as exc:
            raise NotFound("account not found") from exc
        seq = int(account.pulse_seq or 0)
        moment = next_set_at(account.pulse_set_at)
        set_at = _iso_ms(moment)
        on_date = moment.date()
        previous_level = None if account.pulse_level is None else int(account.pulse_level)
        state = state_of(account.score_state)
        if state is not None and on_date < state.anchor_date:
            on_date = state.anchor_date
        before = params.initial_score if state is None else score.score_on(state, on_date, params)
        after_state = score.apply_pulse(state, new.level, on_date, params)
        after = score.score_on(after_state, on_date, params)
        pulse = Pulse(
            tenant_id=new.tenant_id,
            account_id=new.account_id,
            pulse_id=new.pulse_id,
            level=new.level,
            previous_level=previous_level,
            risk_factors=list(new.risk_factors),
            success_factors=list(new.success_factors),
            note=new.note,
            next_steps=new.next_steps,
            set_by=new.set_by,
            set_at=set_at,
            same=new.same,
            score_before=before,
            score_after=after,
            score_state=after_state.to_dict(),
        )
        version = (
            AccountModel.pulse_seq.does_not_exist() if seq == 0 else AccountModel.pulse_seq == seq
        )
        try:
            with TransactWrite(connection=connection) as tx:
                tx.save(
                    _pulse_item(pulse),
                    condition=PulseModel.pulse_key.does_not_exist(),
                )
                tx.save(
                    LevelChangeModel(
                        new.tenant_id,
                        f"{set_at}#{new.account_id}#{new.pulse_id}",
                        account_id=new.account_id,
                        from_level=previous_level,
                        to_level=new.level,
                        set_at=set_at,
                        expires_at=int(time.time()) + LEVEL_CHANGE_KEEP_DAYS * 86400,
                    )
                )
                tx.update(
                    AccountModel(new.tenant_id, new.account_id),
                    actions=[
                        AccountModel.pulse_level.set(new.level),
                        AccountModel.pulse_set_at.set(set_at),
                        AccountModel.pulse_id.set(new.pulse_id),
                        AccountModel.pulse_seq.set(seq + 1),
                        AccountModel.risk_factors.set(new.risk_factors),  # type: ignore[arg-type]
                        AccountModel.success_factors.set(new.success_factors),  # type: ignore[arg-type]
                        AccountModel.score_state.set(after_state.to_dict()),
                        AccountModel.success_score.set(after),
                    ],
                    condition=AccountModel.account_id.exists() & version,
                )
                for code_id in codes:
                    condition = ReasonCodeModel.code_id.exists()
                    if code_id not in new.carried_over:
                        condition = condition & (ReasonCodeModel.active == True)  # noqa: E712
                    tx.update(
                        ReasonCodeModel(new.tenant_id, code_id),
                        actions=[
                            ReasonCodeModel.use_count.add(1),
                            ReasonCodeModel.last_used_at.set(set_at),
                        ],
                        condition=condition,
                    )
        except TransactWriteError as exc:
            if exc.cause_response_code != "TransactionCanceledException":
                raise
            for offset, code_id in enumerate(codes):
                if _reason_index(exc, 3 + offset) == "ConditionalCheckFailed":
                    side = "risk_factors" if code_id in new.risk_factors else "success_factors"
                    position = (
                        new.risk_factors if side == "risk_factors" else new.success_factors
                    ).index(code_id)
                    raise ValidationFailed(
                        {f"{side}[{position}]": "is inactive or no longer exists"}
                    ) from exc
            # The account moved on (another pulse committed first) or a transaction conflict:
            # re-read and compute again on top of it.
            time.sleep(random.uniform(0.005, 0.02) * (attempt + 1))
            continue
        return pulse
    # Many writers on one account at once (found under load, tests/reliability/test_load.py): a
    # conflict the client can retry (409), not a server error.
    raise Conflict("the account changed too often at once; try again")


def _pulse_item(pulse: Pulse) -> PulseModel:
    return PulseModel(
        account_key(pulse.tenant_id, pulse.account_id),
        f"{pulse.set_at}#{pulse.pulse_id}",
        tenant_id=pulse.tenant_id,
        account_id=pulse.account_id,
        pulse_id=pulse.pulse_id,
        level=pulse.level,
        previous_level=pulse.previous_level,
        risk_factors=pulse.risk_factors,
        success_factors=pulse.success_factors,
        note=pulse.note,
        next_steps=pulse.next_steps,
        set_by=pulse.set_by,
        set_at=pulse.set_at,
        same=pulse.same,
        score_before=pulse.score_before,
        score_after=pulse.score_after,
        score_state=pulse.score_state,
    )


# ------------------------------------------------------------------------------------ reading


def list_pulses(tenant_id: str, account_id: str, *, limit: int, cursor: str | None) -> Page[Pulse]:
    key = account_key(tenant_id, account_id)
    return query_page(
        PulseModel,
        key,
        scope=f"pulses:{key}",
        limit=limit,
        cursor=cursor,
        convert=_pulse,
        scan_index_forward=False,
    )


def pulses_since(tenant_id: str, account_id: str, since: date) -> list[Pulse]:
    """Pulses newest first back to the last one set before ``since`` (that one included: it
    decides the score on the first days of the window)."""
    out: list[Pulse] = []
    start = since.isoformat()
    for item in PulseModel.query(
        account_key(tenant_id, account_id), scan_index_forward=False, page_size=20
    ):
        out.append(_pulse(item))
        if item.set_at[:10] < start:
            break
    return out


def score_history(tenant_id: str, account_id: str, *, days: int) -> list[dict[str, Any]]:
    """The scores recorded by the nightly job, newest first (one Query)."""
    items = ScoreHistoryModel.query(
        account_key(tenant_id, account_id), scan_index_forward=False, limit=days
    )
    return [
        {
            "date": item.scored_on,
            "score": float(item.score),
            "display_score": score.display_score(float(item.score)),
            "level": None if item.level is None else int(item.level),
        }
        for item in items
    ]


# ------------------------------------------------------------------------------- nightly job


@dataclass
class SliceResult:
    accounts: int
    next_key: dict[str, Any] | None


def score_slice(
    tenant_id: str,
    on_date: date,
    params: ScoreParams,
    *,
    start_key: dict[str, Any] | None,
    limit: int,
) -> SliceResult:
    """Score up to ``limit`` accounts of one tenant for ``on_date``: Query pages of accounts,
    batch writes of 25 score records. Returns where the next slice starts (None when done)."""
    expires = datetime.combine(on_date, datetime.min.time(), tzinfo=UTC) + timedelta(
        days=SCORE_HISTORY_DAYS
    )
    result = AccountModel.query(
        tenant_id,
        limit=limit,
        last_evaluated_key=start_key,
        attributes_to_get=["tenant_id", "account_id", "score_state", "pulse_seq"],
    )
    count = 0
    scored_on = on_date.isoformat()
    with ScoreHistoryModel.batch_write() as batch:
        for item in result:
            count += 1
            state = state_of(item.score_state)
            if state is None:
                value = params.initial_score  # no pulse yet: the score holds at its start
            elif on_date < state.anchor_date:
                # A backfill for a date before the account's last pulse: one state cannot answer
                # it (pulse records can, with success_score.timeline), so nothing is written.
                continue
            else:
                value = score.score_on(state, on_date, params)
            batch.save(
                ScoreHistoryModel(
                    account_key(tenant_id, item.account_id),
                    scored_on,
                    tenant_id=tenant_id,
                    account_id=item.account_id,
                    score=value,
                    level=None if state is None else state.level,
                    pulse_seq=int(item.pulse_seq or 0),
                    expires_at=expires,
                )
            )
    return SliceResult(count, result.last_evaluated_key if count else None)


def recorded_scores(tenant_id: str, account_ids: list[str], on_date: date) -> dict[str, float]:
    """The nightly record for each account on a date (tests and checks; a BatchGet per 100)."""
    keys = [(account_key(tenant_id, a), on_date.isoformat()) for a in account_ids]
    return {item.account_id: float(item.score) for item in ScoreHistoryModel.batch_get(keys)}


# ---------------------------------------------------------------------------------- cascade


def delete_for_account(tenant_id: str, account_id: str) -> None:
    """ACCOUNT_CASCADE: an account's pulses and score records go with it."""
    key = account_key(tenant_id, account_id)
    with PulseModel.batch_write() as batch:
        for item in PulseModel.query(key, attributes_to_get=["account_key", "pulse_key"]):
            batch.delete(item)
    with ScoreHistoryModel.batch_write() as records:
        for record in ScoreHistoryModel.query(key, attributes_to_get=["account_key", "scored_on"]):
            records.delete(record)


def iter_tenant_pulses(tenant_id: str) -> Iterator[Pulse]:
    for item in PulseModel.by_tenant.query(tenant_id):
        yield _pulse(item)
