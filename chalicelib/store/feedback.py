"""What clients say back: comments (with staff notes) and follow-up requests.

Both are written inside the transaction that stores a survey response, with ids derived from the
invitation, so a second submit updates the same comment and never creates a second request.

``survey-comments``: partition tenant, sort comment id; ``by-account`` sorts by creation.
``follow-ups``: partition tenant, sort follow-up id; ``by-status`` (``<tenant>#pending``) is the
tenant's queue and ``by-account`` feeds the account dashboard.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from pynamodb.attributes import BooleanAttribute, ListAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist
from pynamodb.expressions.condition import size
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from chalicelib.errors import NotFound
from chalicelib.store.accounts import account_key
from chalicelib.store.base import BaseMeta, Page, is_condition_failure, query_page, table_name
from chalicelib.store.invitations import TxOp

MAX_NOTES = 50


class CommentAccountIndex(GlobalSecondaryIndex["CommentModel"]):
    class Meta:
        index_name = "by-account"
        projection = AllProjection()

    account_key = UnicodeAttribute(hash_key=True)
    created_ref = UnicodeAttribute(range_key=True)  # "<created_at>#<comment_id>"


class CommentModel(Model):
    class Meta(BaseMeta):
        table_name = table_name("survey-comments")

    tenant_id = UnicodeAttribute(hash_key=True)
    comment_id = UnicodeAttribute(range_key=True)
    account_id = UnicodeAttribute()
    account_key = UnicodeAttribute()
    created_ref = UnicodeAttribute()
    survey_kind = UnicodeAttribute()
    survey_id = UnicodeAttribute()
    survey_title = UnicodeAttribute(default="")
    contact_id = UnicodeAttribute()
    contact_name = UnicodeAttribute(default="")
    contact_email = UnicodeAttribute(default="")
    text = UnicodeAttribute()
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    notes = ListAttribute(default=list)  # type: ignore[var-annotated]
    completed = BooleanAttribute(default=False)
    completed_by = UnicodeAttribute(null=True)
    completed_at = UnicodeAttribute(null=True)
    by_account = CommentAccountIndex()


class FollowUpStatusIndex(GlobalSecondaryIndex["FollowUpModel"]):
    class Meta:
        index_name = "by-status"
        projection = AllProjection()

    status_key = UnicodeAttribute(hash_key=True)  # "<tenant_id>#pending"
    requested_ref = UnicodeAttribute(range_key=True)  # "<requested_at>#<follow_up_id>"


class FollowUpAccountIndex(GlobalSecondaryIndex["FollowUpModel"]):
    class Meta:
        index_name = "by-account"
        projection = AllProjection()

    account_key = UnicodeAttribute(hash_key=True)
    requested_ref = UnicodeAttribute(range_key=True)


class FollowUpModel(Model):
    class Meta(BaseMeta):
        table_name = table_name("follow-ups")

    tenant_id = UnicodeAttribute(hash_key=True)
    follow_up_id = UnicodeAttribute(range_key=True)
    account_id = UnicodeAttribute()
    account_key = UnicodeAttribute()
    status = UnicodeAttribute()  # pending | acknowledged
    status_key = UnicodeAttribute()
    requested_ref = UnicodeAttribute()
    survey_kind = UnicodeAttribute()
    survey_id = UnicodeAttribute()
    survey_title = UnicodeAttribute(default="")
    contact_id = UnicodeAttribute()
    contact_name = UnicodeAttribute(default="")
    contact_email = UnicodeAttribute(default="")
    requested_at = UnicodeAttribute()
    acknowledged_by = UnicodeAttribute(null=True)
    acknowledged_at = UnicodeAttribute(null=True)
    by_status = FollowUpStatusIndex()
    by_account = FollowUpAccountIndex()


@dataclass
class Comment:
    tenant_id: str
    comment_id: str
    account_id: str
    survey_kind: str
    survey_id: str
    survey_title: str
    contact_id: str
    contact_name: str
    contact_email: str
    text: str
    created_at: str
    updated_at: str
    notes: list[dict[str, Any]] = field(default_factory=list)
    completed: bool = False
    completed_by: str | None = None
    completed_at: str | None = None

    def to_api(self) -> dict[str, Any]:
        return _api(asdict(self), "comment_id")


@dataclass
class FollowUp:
    tenant_id: str
    follow_up_id: str
    account_id: str
    status: str
    survey_kind: str
    survey_id: str
    survey_title: str
    contact_id: str
    contact_name: str
    contact_email: str
    requested_at: str
    acknowledged_by: str | None = None
    acknowledged_at: str | None = None

    def to_api(self) -> dict[str, Any]:
        return _api(asdict(self), "follow_up_id")


def _api(data: dict[str, Any], id_field: str) -> dict[str, Any]:
    """The API shape of a comment or follow-up: its id as ``id``, no tenant, and the review id
    named as such when the survey is a review."""
    data.pop("tenant_id")
    data = {"id": data.pop(id_field), **data}
    if data["survey_kind"] == "review":
        data["review_id"] = data["survey_id"]
    return data


def _comment(item: CommentModel) -> Comment:
    return Comment(
        tenant_id=item.tenant_id,
        comment_id=item.comment_id,
        account_id=item.account_id,
        survey_kind=item.survey_kind,
        survey_id=item.survey_id,
        survey_title=item.survey_title or "",
        contact_id=item.contact_id,
        contact_name=item.contact_name or "",
        contact_email=item.contact_email or "",
        text=item.text,
        created_at=item.created_at,
        updated_at=item.updated_at,
        notes=list(item.notes or []),
        completed=bool(item.completed),
        completed_by=item.completed_by,
        completed_at=item.completed_at,
    )


def _follow_up(item: FollowUpModel) -> FollowUp:
    return FollowUp(
        tenant_id=item.tenant_id,
        follow_up_id=item.follow_up_id,
        account_id=item.account_id,
        status=item.status,
        survey_kind=item.survey_kind,
        survey_id=item.survey_id,
        survey_title=item.survey_title or "",
        contact_id=item.contact_id,
        contact_name=item.contact_name or "",
        contact_email=item.contact_email or "",
        requested_at=item.requested_at,
        acknowledged_by=item.acknowledged_by,
        acknowledged_at=item.acknowledged_at,
    )


@dataclass(frozen=True)
class Source:
    """Where a comment or follow-up came from: one invitation."""

    tenant_id: str
    account_id: str
    survey_kind: str
    survey_id: str
    survey_title: str
    contact_id: str
    contact_name: str
    contact_email: str


# ------------------------------------------------------------------------------- comments


def comment_op(comment_id: str, source: Source, text: str, at: str, *, changed: bool) -> TxOp:
    """Create or update the comment of one response. A changed text reopens a completed one."""

    def op(tx: TransactWrite) -> None:
        created = CommentModel.created_at | at
        actions: list[Any] = [
            CommentModel.account_id.set(source.account_id),
            CommentModel.account_key.set(account_key(source.tenant_id, source.account_id)),
            CommentModel.survey_kind.set(source.survey_kind),
            CommentModel.survey_id.set(source.survey_id),
            CommentModel.survey_title.set(source.survey_title),
            CommentModel.contact_id.set(source.contact_id),
            CommentModel.contact_name.set(source.contact_name),
            CommentModel.contact_email.set(source.contact_email),
            CommentModel.text.set(text),
            CommentModel.created_at.set(created),
            CommentModel.created_ref.set(CommentModel.created_ref | f"{at}#{comment_id}"),
            CommentModel.updated_at.set(at),
            CommentModel.notes.set(CommentModel.notes | []),
        ]
        if changed:
            actions += [
                CommentModel.completed.set(False),
                CommentModel.completed_by.remove(),
                CommentModel.completed_at.remove(),
            ]
        tx.update(CommentModel(source.tenant_id, comment_id), actions=actions)

    return op


def comment_delete_op(tenant_id: str, comment_id: str) -> TxOp:
    def op(tx: TransactWrite) -> None:
        tx.delete(CommentModel(tenant_id, comment_id))

    return op


def get_comment(tenant_id: str, comment_id: str) -> Comment:
    try:
        return _comment(CommentModel.get(tenant_id, comment_id))
    except DoesNotExist as exc:
        raise NotFound("comment not found") from exc


def list_comments(
    tenant_id: str, account_id: str, *, limit: int, cursor: str | None
) -> Page[Comment]:
    key = account_key(tenant_id, account_id)
    return query_page(
        CommentModel,
        key,
        index=CommentModel.by_account,
        scope=f"comments:{key}",
        limit=limit,
        cursor=cursor,
        convert=_comment,
        scan_index_forward=False,
    )


def add_note(tenant_id: str, comment_id: str, note: dict[str, Any]) -> Comment | None:
    """Append a staff note; None when the comment already holds MAX_NOTES."""
    item = CommentModel(tenant_id, comment_id)
    try:
        item.update(
            actions=[CommentModel.notes.set(CommentModel.notes.append([note]))],
            condition=CommentModel.comment_id.exists() & (size(CommentModel.notes) < MAX_NOTES),
        )
    except Exception as exc:
        if is_condition_failure(exc):
            return None
        raise
    return _comment(item)


def complete_comment(tenant_id: str, comment_id: str, user_id: str, at: str) -> Comment:
    item = CommentModel(tenant_id, comment_id)
    try:
        item.update(
            actions=[
                CommentModel.completed.set(True),
                CommentModel.completed_by.set(CommentModel.completed_by | user_id),
                CommentModel.completed_at.set(CommentModel.completed_at | at),
            ],
            condition=CommentModel.comment_id.exists(),
        )
    except Exception as exc:
        if is_condition_failure(exc):
            raise NotFound("comment not found") from exc
        raise
    return _comment(item)


# ----------------------------------------------------------------------------- follow-ups


def follow_up_op(follow_up_id: str, source: Source, at: str) -> TxOp:
    """Create the follow-up request of one invitation; a repeat leaves the first one as it is."""

    def op(tx: TransactWrite) -> None:
        ref = f"{at}#{follow_up_id}"
        tx.update(
            FollowUpModel(source.tenant_id, follow_up_id),
            actions=[
                FollowUpModel.account_id.set(source.account_id),
                FollowUpModel.account_key.set(account_key(source.tenant_id, source.account_id)),
                FollowUpModel.status.set(FollowUpModel.status | "pending"),
                FollowUpModel.status_key.set(
                    FollowUpModel.status_key | f"{source.tenant_id}#pending"
                ),
                FollowUpModel.requested_ref.set(FollowUpModel.requested_ref | ref),
                FollowUpModel.requested_at.set(FollowUpModel.requested_at | at),
                FollowUpModel.survey_kind.set(source.survey_kind),
                FollowUpModel.survey_id.set(source.survey_id),
                FollowUpModel.survey_title.set(source.survey_title),
                FollowUpModel.contact_id.set(source.contact_id),
                FollowUpModel.contact_name.set(source.contact_name),
                FollowUpModel.contact_email.set(source.contact_email),
            ],
        )

    return op


def get_follow_up(tenant_id: str, follow_up_id: str) -> FollowUp:
    try:
        return _follow_up(FollowUpModel.get(tenant_id, follow_up_id))
    except DoesNotExist as exc:
        raise NotFound("follow-up not found") from exc


def list_follow_ups(
    tenant_id: str, status: str, *, limit: int, cursor: str | None
) -> Page[FollowUp]:
    key = f"{tenant_id}#{status}"
    return query_page(
        FollowUpModel,
        key,
        index=FollowUpModel.by_status,
        scope=f"follow-ups:{key}",
        limit=limit,
        cursor=cursor,
        convert=_follow_up,
        scan_index_forward=False,
    )


def account_follow_ups(tenant_id: str, account_id: str) -> list[FollowUp]:
    key = account_key(tenant_id, account_id)
    return [_follow_up(i) for i in FollowUpModel.by_account.query(key, scan_index_forward=False)]


def acknowledge(tenant_id: str, follow_up_id: str, user_id: str, at: str) -> FollowUp:
    """Idempotent: acknowledging twice keeps the first acknowledger and time."""
    item = FollowUpModel(tenant_id, follow_up_id)
    try:
        item.update(
            actions=[
                FollowUpModel.status.set("acknowledged"),
                FollowUpModel.status_key.set(f"{tenant_id}#acknowledged"),
                FollowUpModel.acknowledged_by.set(FollowUpModel.acknowledged_by | user_id),
                FollowUpModel.acknowledged_at.set(FollowUpModel.acknowledged_at | at),
            ],
            condition=FollowUpModel.follow_up_id.exists(),
        )
    except Exception as exc:
        if is_condition_failure(exc):
            raise NotFound("follow-up not found") from exc
        raise
    return _follow_up(item)


def delete_account_data(tenant_id: str, account_id: str) -> None:
    key = account_key(tenant_id, account_id)
    with CommentModel.batch_write() as batch:
        for c in CommentModel.by_account.query(key):
            batch.delete(CommentModel(tenant_id, c.comment_id))
    with FollowUpModel.batch_write() as batch:
        for f in FollowUpModel.by_account.query(key):
            batch.delete(FollowUpModel(tenant_id, f.follow_up_id))
