"""Pulse Index and NPS histograms per tenant, account, month and question — and the tree count.

Table ``score-aggregates``: partition ``tenant_id``, sort ``agg_key``:

* ``acct#<account_id>#<YYYY-MM>#nps`` — NPS answers (0–10) of that account's responses counted in
  that month;
* ``acct#<account_id>#<YYYY-MM>#pi.<question_id>`` — one Pulse Index question (1–5);
* ``acct#_all#<YYYY-MM>#…`` — the same for the whole tenant (a roll-up kept in the same step);
* ``trees`` — the tenant's tree count (``trees``).

Each histogram item holds ``low``/``high`` and one number attribute per value (``c0`` … ``c10``)
plus ``responses`` (their sum). A response adds one to its value's counter; an updated response moves the
count from the old value to the new one (``ADD c<old> -1, c<new> +1``), inside the same
transaction that stores the response, so the counts are exact under retries and resubmits.
Readers build ``chalicelib.domain.scoring.Aggregate`` objects from them (``Aggregate.to_dict``
shape) and never read responses.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from chalicelib.domain.scoring import Aggregate
from chalicelib.store.base import BaseMeta, table_name
from chalicelib.store.invitations import TxOp

ALL_ACCOUNTS = "_all"
NPS = "nps"
TREES_KEY = "trees"


def pulse_metric(question_id: str) -> str:
    return f"pi.{question_id}"


class ScoreAggregateModel(Model):
    class Meta(BaseMeta):
        table_name = table_name("score-aggregates")

    tenant_id = UnicodeAttribute(hash_key=True)
    agg_key = UnicodeAttribute(range_key=True)
    account_id = UnicodeAttribute(null=True)
    period = UnicodeAttribute(null=True)
    metric = UnicodeAttribute(null=True)
    low = NumberAttribute(null=True)
    high = NumberAttribute(null=True)
    responses = NumberAttribute(null=True)
    trees = NumberAttribute(null=True)
    c0 = NumberAttribute(null=True)
    c1 = NumberAttribute(null=True)
    c2 = NumberAttribute(null=True)
    c3 = NumberAttribute(null=True)
    c4 = NumberAttribute(null=True)
    c5 = NumberAttribute(null=True)
    c6 = NumberAttribute(null=True)
    c7 = NumberAttribute(null=True)
    c8 = NumberAttribute(null=True)
    c9 = NumberAttribute(null=True)
    c10 = NumberAttribute(null=True)


def agg_key(account_id: str, period: str, metric: str) -> str:
    return f"acct#{account_id}#{period}#{metric}"


def _counter(value: int) -> Any:
    return getattr(ScoreAggregateModel, f"c{value}")


def _scale(metric: str) -> tuple[int, int]:
    empty = Aggregate.nps() if metric == NPS else Aggregate.pulse_index()
    return empty.low, empty.high


def delta_ops(
    tenant_id: str,
    account_id: str,
    period: str,
    changes: Mapping[str, tuple[int | None, int | None]],
) -> list[TxOp]:
    """Transaction steps moving each metric from its old value to its new one (None = absent),
    on the account's item and on the tenant roll-up."""
    ops: list[TxOp] = []
    for metric, (old, new) in sorted(changes.items()):
        if old == new:
            continue
        low, high = _scale(metric)
        for account in (account_id, ALL_ACCOUNTS):
            ops.append(_delta_op(tenant_id, account, period, metric, (low, high), old, new))
    return ops


def _delta_op(
    tenant_id: str,
    account_id: str,
    period: str,
    metric: str,
    scale: tuple[int, int],
    old: int | None,
    new: int | None,
) -> TxOp:
    low, high = scale
    for value in (old, new):
        if value is not None and not low <= value <= high:
            raise ValueError(f"{metric}: {value} outside {low}..{high}")

    def op(tx: TransactWrite) -> None:
        actions: list[Any] = [
            ScoreAggregateModel.account_id.set(account_id),
            ScoreAggregateModel.period.set(period),
            ScoreAggregateModel.metric.set(metric),
            ScoreAggregateModel.low.set(low),
            ScoreAggregateModel.high.set(high),
        ]
        count_delta = 0
        if old is not None:
            actions.append(_counter(old).add(-1))
            count_delta -= 1
        if new is not None:
            actions.append(_counter(new).add(1))
            count_delta += 1
        if count_delta:
            actions.append(ScoreAggregateModel.responses.add(count_delta))
        tx.update(
            ScoreAggregateModel(tenant_id, agg_key(account_id, period, metric)), actions=actions
        )

    return op


def tree_counter_op(tenant_id: str) -> TxOp:
    def op(tx: TransactWrite) -> None:
        tx.update(
            ScoreAggregateModel(tenant_id, TREES_KEY),
            actions=[ScoreAggregateModel.trees.add(1)],
        )

    return op


def trees(tenant_id: str) -> int:
    try:
        item = ScoreAggregateModel.get(tenant_id, TREES_KEY)
    except DoesNotExist:
        return 0
    return int(item.trees or 0)


def _aggregate(item: ScoreAggregateModel) -> Aggregate:
    low, high = int(item.low or 0), int(item.high or 0)
    counts = {}
    for value in range(low, high + 1):
        n = int(getattr(item, f"c{value}") or 0)
        if n:
            counts[value] = n
    return Aggregate(low, high, counts)


def account_aggregates(
    tenant_id: str, account_id: str, first_period: str, last_period: str
) -> dict[str, dict[str, Aggregate]]:
    """``{period: {metric: Aggregate}}`` for months first..last (``YYYY-MM``) of one account, or
    of the whole tenant with ``account_id=ALL_ACCOUNTS``. One Query."""
    out: dict[str, dict[str, Aggregate]] = {}
    low = f"acct#{account_id}#{first_period}#"
    high = f"acct#{account_id}#{last_period}#~"
    for item in ScoreAggregateModel.query(
        tenant_id, ScoreAggregateModel.agg_key.between(low, high)
    ):
        out.setdefault(str(item.period), {})[str(item.metric)] = _aggregate(item)
    return out


def delete_account_data(tenant_id: str, account_id: str) -> None:
    """Remove an account's histograms (the tenant roll-up keeps its history)."""
    with ScoreAggregateModel.batch_write() as batch:
        for item in ScoreAggregateModel.query(
            tenant_id, ScoreAggregateModel.agg_key.startswith(f"acct#{account_id}#")
        ):
            batch.delete(item)
