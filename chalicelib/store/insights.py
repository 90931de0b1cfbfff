"""Read models for the account dashboard and the workspace report, kept up to date as data arrives.

One table, two kinds of partition:

* ``<tenant>#<account>`` — everything the account dashboard shows, so the dashboard is ONE Query:
  ``period#YYYY-MM`` (NPS and per-question Pulse Index histograms of the month's responses),
  ``review#<review_id>`` (title, date, status, recipients, responses), ``comment#<at>#<id>``
  (the client's text, who, completed, staff notes), ``tasks`` (counts of open actions and
  pending follow-ups), ``task#follow-up#<at>#<id>`` / ``task#action#<at>#<id>`` (each pending
  follow-up and open action, removed when it is acknowledged or completed) and
  ``pulse#<set_at>#<id>`` (each pulse: level, factors with their names, note, score state).
* ``<tenant>#workspace`` — one item per account (sort key = account id): reviews sent, when the
  last one went out, and all-time NPS and Pulse Index histograms, so the workspace report over
  5,000 accounts is one Query of small items.

The reviews area calls the ``record_*`` / ``apply_response`` / ``adjust_tasks`` functions from its
services whenever a review is sent or changes, a response is submitted or edited, a comment is left
or completed, and an action or follow-up opens or closes. Histograms are updated with a read and
a conditional write on ``rev`` (optimistic locking), so two responses landing together never lose
a count; counters use DynamoDB's atomic ADD.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pynamodb.attributes import JSONAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist, PutError
from pynamodb.expressions.update import Action
from pynamodb.models import Model

from chalicelib.domain.scoring import Aggregate
from chalicelib.store.base import BaseMeta, is_condition_failure, table_name

MAX_ATTEMPTS = 8
DASHBOARD_PAGE_ITEMS = 600
WORKSPACE = "workspace"


class InsightModel(Model):
    class Meta(BaseMeta):
        table_name = table_name("insights")

    pk = UnicodeAttribute(hash_key=True)  # "<tenant>#<account>" or "<tenant>#workspace"
    sk = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute()  # period | review | comment | tasks | workspace
    data = JSONAttribute(default=dict)
    rev = NumberAttribute(default=0)
    open_actions = NumberAttribute(null=True)
    pending_follow_ups = NumberAttribute(null=True)


@dataclass(frozen=True)
class Scores:
    """One response's answers: Pulse Index question id -> 1..5, and NPS 0..10 (either optional)."""

    questions: Mapping[str, int] = field(default_factory=dict)
    nps: int | None = None


@dataclass
class Histograms:
    nps: Aggregate = field(default_factory=Aggregate.nps)
    questions: dict[str, Aggregate] = field(default_factory=dict)
    responses: int = 0

    def apply(self, old: Scores | None, new: Scores | None) -> None:
        self.nps.replace(old.nps if old else None, new.nps if new else None)
        old_q = dict(old.questions) if old else {}
        new_q = dict(new.questions) if new else {}
        for qid in set(old_q) | set(new_q):
            agg = self.questions.setdefault(qid, Aggregate.pulse_index())
            agg.replace(old_q.get(qid), new_q.get(qid))
        self.responses += int(new is not None) - int(old is not None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "nps": self.nps.to_dict(),
            "questions": {q: a.to_dict() for q, a in sorted(self.questions.items()) if a.count},
            "responses": max(self.responses, 0),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Histograms:
        data = data or {}
        nps = Aggregate.from_dict(data["nps"]) if data.get("nps") else Aggregate.nps()
        questions = {q: Aggregate.from_dict(a) for q, a in (data.get("questions") or {}).items()}
        return cls(nps, questions, int(data.get("responses") or 0))


def account_pk(tenant_id: str, account_id: str) -> str:
    return f"{tenant_id}#{account_id}"


def workspace_pk(tenant_id: str) -> str:
    return f"{tenant_id}#{WORKSPACE}"


# ------------------------------------------------------------------------------------ writing


def _read_modify_write(pk: str, sk: str, kind: str, change: Any) -> dict[str, Any]:
    """Apply ``change(data) -> data`` to one item's JSON under optimistic locking on ``rev``."""
    for attempt in range(MAX_ATTEMPTS):
        try:
            item = InsightModel.get(pk, sk, consistent_read=True)
            rev = int(item.rev or 0)
            data = dict(item.data or {})
        except DoesNotExist:
            item, rev, data = None, None, {}
        new = change(data)
        condition = InsightModel.sk.does_not_exist() if rev is None else (InsightModel.rev == rev)
        target = InsightModel(pk, sk, kind=kind, data=new, rev=(rev or 0) + 1)
        if item is not None:
            target.open_actions = item.open_actions
            target.pending_follow_ups = item.pending_follow_ups
        try:
            target.save(condition=condition)
            return dict(new)
        except PutError as exc:
            if not is_condition_failure(exc):
                raise
            time.sleep(random.uniform(0.002, 0.01) * (attempt + 1))
    raise RuntimeError(f"could not update {pk}/{sk} after {MAX_ATTEMPTS} attempts")


def apply_response(
    tenant_id: str,
    account_id: str,
    *,
    month: str,
    old: Scores | None,
    new: Scores | None,
) -> None:
    """A response was submitted (old None), edited (both) or withdrawn (new None) in ``month``
    (``YYYY-MM``, the month the response was first submitted, so an edit stays in its month)."""

    def change(data: dict[str, Any]) -> dict[str, Any]:
        hist = Histograms.from_dict(data)
        hist.apply(old, new)
        return {**data, **hist.to_dict(), "month": month}

    _read_modify_write(account_pk(tenant_id, account_id), f"period#{month}", "period", change)

    def change_ws(data: dict[str, Any]) -> dict[str, Any]:
        hist = Histograms.from_dict(data)
        hist.apply(old, new)
        return {**data, **hist.to_dict()}

    _read_modify_write(workspace_pk(tenant_id), account_id, WORKSPACE, change_ws)


def record_review(
    tenant_id: str,
    account_id: str,
    *,
    review_id: str,
    title: str,
    review_date: str | None,
    status: str,
    sent_at: str | None = None,
    recipients: int = 0,
    responses: int = 0,
) -> None:
    """A review was created, changed, sent or closed. The first time it is seen as sent, the
    workspace item's reviews-sent count and last-review date move."""
    review = {
        "review_id": review_id,
        "title": title,
        "review_date": review_date,
        "status": status,
        "sent_at": sent_at,
        "recipients": recipients,
        "responses": responses,
    }
    previous: dict[str, Any] = {}

    def change(data: dict[str, Any]) -> dict[str, Any]:
        previous.clear()
        previous.update(data)
        return {**data, **{k: v for k, v in review.items() if v is not None}}

    _read_modify_write(account_pk(tenant_id, account_id), f"review#{review_id}", "review", change)
    if sent_at and not previous.get("sent_at"):

        def change_ws(data: dict[str, Any]) -> dict[str, Any]:
            last = data.get("last_review_at")
            return {
                **data,
                "reviews_sent": int(data.get("reviews_sent") or 0) + 1,
                "last_review_at": sent_at if not last or sent_at > last else last,
            }

        _read_modify_write(workspace_pk(tenant_id), account_id, WORKSPACE, change_ws)


def record_comment(
    tenant_id: str,
    account_id: str,
    *,
    comment_id: str,
    created_at: str,
    text: str,
    review_id: str | None = None,
    contact_name: str = "",
    completed: bool = False,
    notes: int = 0,
    staff_notes: list[dict[str, Any]] | None = None,
) -> None:
    """A client's comment (new or edited), or its completed flag / notes changing."""
    InsightModel(
        account_pk(tenant_id, account_id),
        f"comment#{created_at}#{comment_id}",
        kind="comment",
        data={
            "comment_id": comment_id,
            "created_at": created_at,
            "text": text,
            "review_id": review_id,
            "contact_name": contact_name,
            "completed": completed,
            "notes": notes,
            "staff_notes": [
                {"text": n.get("text", ""), "by": n.get("by"), "at": n.get("at")}
                for n in staff_notes or []
            ],
        },
    ).save()


def record_follow_up(
    tenant_id: str,
    account_id: str,
    *,
    follow_up_id: str,
    requested_at: str,
    pending: bool,
    contact_name: str = "",
    contact_email: str = "",
    review_id: str | None = None,
    review_title: str = "",
) -> None:
    """A follow-up request is pending (kept for the task banner) or acknowledged (removed)."""
    item = InsightModel(
        account_pk(tenant_id, account_id), f"task#follow-up#{requested_at}#{follow_up_id}"
    )
    if not pending:
        item.delete()
        return
    item.kind = "follow_up"
    item.data = {
        "follow_up_id": follow_up_id,
        "requested_at": requested_at,
        "contact_name": contact_name,
        "contact_email": contact_email,
        "review_id": review_id,
        "review_title": review_title,
    }
    item.save()


def record_action(
    tenant_id: str,
    account_id: str,
    *,
    action_id: str,
    created_at: str,
    open_: bool,
    title: str = "",
    due_date: str | None = None,
    review_id: str | None = None,
) -> None:
    """An action is open (kept for the task banner) or completed (removed)."""
    item = InsightModel(account_pk(tenant_id, account_id), f"task#action#{created_at}#{action_id}")
    if not open_:
        item.delete()
        return
    item.kind = "action"
    item.data = {
        "action_id": action_id,
        "created_at": created_at,
        "title": title,
        "due_date": due_date,
        "review_id": review_id,
    }
    item.save()


def record_pulse(tenant_id: str, account_id: str, pulse: Mapping[str, Any]) -> None:
    """A pulse was set: its entry in the account's pulse history (``set_at``, ``pulse_id``,
    level, previous level, factors with names, note, next steps, score after, score state)."""
    InsightModel(
        account_pk(tenant_id, account_id),
        f"pulse#{pulse['set_at']}#{pulse['pulse_id']}",
        kind="pulse",
        data=dict(pulse),
    ).save()


def adjust_tasks(
    tenant_id: str, account_id: str, *, open_actions: int = 0, pending_follow_ups: int = 0
) -> None:
    """Atomic counter moves: +1 when an action or follow-up opens, -1 when it closes."""
    actions: list[Action] = []
    if open_actions:
        actions.append(InsightModel.open_actions.add(open_actions))
    if pending_follow_ups:
        actions.append(InsightModel.pending_follow_ups.add(pending_follow_ups))
    if not actions:
        return
    actions.append(InsightModel.kind.set("tasks"))
    InsightModel(account_pk(tenant_id, account_id), "tasks").update(actions=actions)


# ------------------------------------------------------------------------------------ reading


@dataclass
class AccountInsights:
    periods: dict[str, Histograms] = field(default_factory=dict)  # "YYYY-MM" -> histograms
    reviews: list[dict[str, Any]] = field(default_factory=list)
    comments: list[dict[str, Any]] = field(default_factory=list)  # newest first
    follow_ups: list[dict[str, Any]] = field(default_factory=list)  # pending, newest first
    actions: list[dict[str, Any]] = field(default_factory=list)  # open, newest first
    pulses: list[dict[str, Any]] = field(default_factory=list)  # newest first
    open_actions: int = 0
    pending_follow_ups: int = 0
    truncated: bool = False


def account_insights(tenant_id: str, account_id: str) -> AccountInsights:
    """Everything the dashboard needs about one account: one Query (one 1 MB page; a partition
    larger than that — thousands of comments — shows the newest page and says ``truncated``)."""
    out = AccountInsights()
    # Descending: "tasks", each pending follow-up and open action, reviews, pulses, months, and
    # comments, each newest first; the limit keeps it to one request (most items are under
    # 1.5 KB, so DASHBOARD_PAGE_ITEMS of them fit in 1 MB; pulses with two full 800-character
    # texts are ~3 KB, and hundreds of those can take a second page).
    result = InsightModel.query(
        account_pk(tenant_id, account_id),
        scan_index_forward=False,
        limit=DASHBOARD_PAGE_ITEMS,
        page_size=DASHBOARD_PAGE_ITEMS,
    )
    for item in result:
        _collect(out, item)
    out.truncated = result.last_evaluated_key is not None
    return out


def _collect(out: AccountInsights, item: InsightModel) -> None:
    data = dict(item.data or {})
    if item.kind == "period":
        out.periods[item.sk.removeprefix("period#")] = Histograms.from_dict(data)
    elif item.kind == "review":
        out.reviews.append(data)
    elif item.kind == "comment":
        out.comments.append(data)
    elif item.kind == "follow_up":
        out.follow_ups.append(data)
    elif item.kind == "action":
        out.actions.append(data)
    elif item.kind == "pulse":
        out.pulses.append(data)
    elif item.kind == "tasks":
        out.open_actions = max(int(item.open_actions or 0), 0)
        out.pending_follow_ups = max(int(item.pending_follow_ups or 0), 0)


def workspace_items(tenant_id: str) -> dict[str, dict[str, Any]]:
    """Per-account workspace summaries of a tenant (one Query, paged by DynamoDB per 1 MB)."""
    return {item.sk: dict(item.data or {}) for item in InsightModel.query(workspace_pk(tenant_id))}


def workspace_for(tenant_id: str, account_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Summaries of some accounts (an account manager's), one BatchGet per 100."""
    keys = [(workspace_pk(tenant_id), account_id) for account_id in account_ids]
    if not keys:
        return {}
    return {item.sk: dict(item.data or {}) for item in InsightModel.batch_get(keys)}


# ---------------------------------------------------------------------------------- cascade


def delete_for_account(tenant_id: str, account_id: str) -> None:
    """ACCOUNT_CASCADE: the account's dashboard partition and its workspace summary."""
    with InsightModel.batch_write() as batch:
        for item in InsightModel.query(
            account_pk(tenant_id, account_id), attributes_to_get=["pk", "sk"]
        ):
            batch.delete(item)
    InsightModel(workspace_pk(tenant_id), account_id).delete()


def tasks_for(tenant_id: str, account_ids: Iterable[str]) -> dict[str, tuple[int, int]]:
    """Open actions and pending follow-ups per account (the "tasks" items, one BatchGet per 100)."""
    keys = [(account_pk(tenant_id, account_id), "tasks") for account_id in account_ids]
    out: dict[str, tuple[int, int]] = {}
    if not keys:
        return out
    for item in InsightModel.batch_get(keys):
        account_id = item.pk.removeprefix(f"{tenant_id}#")
        out[account_id] = (
            max(int(item.open_actions or 0), 0),
            max(int(item.pending_follow_ups or 0), 0),
        )
    return out
