"""Business reviews and their actions.

``reviews``: partition tenant, sort review id; the ``by-account`` index lists an account's
reviews. ``review-actions``: partition tenant, sort action id; its ``by-account`` index sorts by
``<review_id>#<action_id>``, so one Query answers both "an account's actions" and (with
``begins_with``) "one review's actions".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pynamodb.attributes import BooleanAttribute, JSONAttribute, ListAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist
from pynamodb.expressions.condition import size
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from chalicelib.errors import NotFound
from chalicelib.store.accounts import account_key
from chalicelib.store.base import BaseMeta, Page, is_condition_failure, query_page, table_name
from chalicelib.store.invitations import TxOp


class ReviewAccountIndex(GlobalSecondaryIndex["ReviewModel"]):
    class Meta:
        index_name = "by-account"
        projection = AllProjection()

    account_key = UnicodeAttribute(hash_key=True)  # "<tenant_id>#<account_id>"
    review_id = UnicodeAttribute(range_key=True)


class ReviewModel(Model):
    class Meta(BaseMeta):
        table_name = table_name("reviews")

    tenant_id = UnicodeAttribute(hash_key=True)
    review_id = UnicodeAttribute(range_key=True)
    account_id = UnicodeAttribute()
    account_key = UnicodeAttribute()
    title = UnicodeAttribute()
    review_date = UnicodeAttribute()
    intro_message = UnicodeAttribute(default="")
    video_url = UnicodeAttribute(null=True)
    sections = JSONAttribute(default=list)
    documents = ListAttribute(default=list)  # type: ignore[var-annotated]
    recipient_ids = ListAttribute(of=UnicodeAttribute, default=list)
    scoring_required = BooleanAttribute(default=True)
    status = UnicodeAttribute(default="draft")  # draft | sent | closed
    created_by = UnicodeAttribute()
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    sent_at = UnicodeAttribute(null=True)
    # Snapshots taken when first sent, so every recipient answers the same questions.
    company = UnicodeAttribute(null=True)
    questions = JSONAttribute(null=True)
    tree_planted = BooleanAttribute(null=True)
    by_account = ReviewAccountIndex()


class ActionAccountIndex(GlobalSecondaryIndex["ActionModel"]):
    class Meta:
        index_name = "by-account"
        projection = AllProjection()

    account_key = UnicodeAttribute(hash_key=True)
    action_ref = UnicodeAttribute(range_key=True)  # "<review_id>#<action_id>"


class ActionModel(Model):
    class Meta(BaseMeta):
        table_name = table_name("review-actions")

    tenant_id = UnicodeAttribute(hash_key=True)
    action_id = UnicodeAttribute(range_key=True)
    account_id = UnicodeAttribute()
    account_key = UnicodeAttribute()
    action_ref = UnicodeAttribute()
    review_id = UnicodeAttribute()
    title = UnicodeAttribute()
    owner_id = UnicodeAttribute(null=True)
    due_date = UnicodeAttribute(null=True)
    status = UnicodeAttribute(default="open")  # open | completed
    completed_by = UnicodeAttribute(null=True)
    completed_at = UnicodeAttribute(null=True)
    created_by = UnicodeAttribute()
    created_at = UnicodeAttribute()
    by_account = ActionAccountIndex()


def document_status(document: dict[str, Any]) -> str:
    """ "pending" (upload not confirmed: never shown to clients), "ready" or "failed". Documents
    stored before confirmation existed have no status and count as pending."""
    return str(document.get("status") or "pending")


@dataclass
class Review:
    tenant_id: str
    review_id: str
    account_id: str
    title: str
    review_date: str
    intro_message: str
    video_url: str | None
    sections: list[dict[str, Any]]
    documents: list[dict[str, Any]]
    recipient_ids: list[str]
    scoring_required: bool
    status: str
    created_by: str
    created_at: str
    updated_at: str
    sent_at: str | None = None
    company: str | None = None
    questions: list[dict[str, Any]] | None = None
    tree_planted: bool = False

    def to_api(self) -> dict[str, Any]:
        return {
            "id": self.review_id,
            "account_id": self.account_id,
            "title": self.title,
            "review_date": self.review_date,
            "intro_message": self.intro_message,
            "video_url": self.video_url,
            "sections": self.sections,
            "documents": [
                {**{k: v for k, v in d.items() if k != "key"}, "status": document_status(d)}
                for d in self.documents
            ],
            "recipient_ids": self.recipient_ids,
            "scoring_required": self.scoring_required,
            "status": self.status,
            "created_by": self.created_by,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "sent_at": self.sent_at,
            "questions": self.questions,
            "tree_planted": self.tree_planted,
        }


@dataclass
class Action:
    tenant_id: str
    action_id: str
    account_id: str
    review_id: str
    title: str
    owner_id: str | None
    due_date: str | None
    status: str
    created_by: str
    created_at: str
    completed_by: str | None = None
    completed_at: str | None = None

    def to_api(self) -> dict[str, Any]:
        return {
            "id": self.action_id,
            "account_id": self.account_id,
            "review_id": self.review_id,
            "title": self.title,
            "owner_id": self.owner_id,
            "due_date": self.due_date,
            "status": self.status,
            "created_by": self.created_by,
            "created_at": self.created_at,
            "completed_by": self.completed_by,
            "completed_at": self.completed_at,
        }


def _review(item: ReviewModel) -> Review:
    return Review(
        tenant_id=item.tenant_id,
        review_id=item.review_id,
        account_id=item.account_id,
        title=item.title,
        review_date=item.review_date,
        intro_message=item.intro_message or "",
        video_url=item.video_url,
        sections=list(item.sections or []),
        documents=list(item.documents or []),
        recipient_ids=[str(x) for x in (item.recipient_ids or [])],
        scoring_required=bool(item.scoring_required),
        status=item.status,
        created_by=item.created_by,
        created_at=item.created_at,
        updated_at=item.updated_at,
        sent_at=item.sent_at,
        company=item.company,
        questions=None if item.questions is None else list(item.questions),
        tree_planted=bool(item.tree_planted),
    )


def _action(item: ActionModel) -> Action:
    return Action(
        tenant_id=item.tenant_id,
        action_id=item.action_id,
        account_id=item.account_id,
        review_id=item.review_id,
        title=item.title,
        owner_id=item.owner_id,
        due_date=item.due_date,
        status=item.status,
        created_by=item.created_by,
        created_at=item.created_at,
        completed_by=item.completed_by,
        completed_at=item.completed_at,
    )


# -------------------------------------------------------------------------------- reviews


def create_review(review: Review) -> Review:
    ReviewModel(
        review.tenant_id,
        review.review_id,
        account_id=review.account_id,
        account_key=account_key(review.tenant_id, review.account_id),
        title=review.title,
        review_date=review.review_date,
        intro_message=review.intro_message,
        video_url=review.video_url,
        sections=review.sections,
        documents=review.documents,
        recipient_ids=review.recipient_ids,
        scoring_required=review.scoring_required,
        status=review.status,
        created_by=review.created_by,
        created_at=review.created_at,
        updated_at=review.updated_at,
    ).save(condition=ReviewModel.review_id.does_not_exist())
    return review


def get_review(tenant_id: str, review_id: str, consistent: bool = False) -> Review:
    try:
        return _review(ReviewModel.get(tenant_id, review_id, consistent_read=consistent))
    except DoesNotExist as exc:
        raise NotFound("review not found") from exc


def list_reviews(
    tenant_id: str, account_id: str, *, limit: int, cursor: str | None
) -> Page[Review]:
    key = account_key(tenant_id, account_id)
    return query_page(
        ReviewModel,
        key,
        index=ReviewModel.by_account,
        scope=f"reviews:{key}",
        limit=limit,
        cursor=cursor,
        convert=_review,
        scan_index_forward=False,
    )


def account_reviews(tenant_id: str, account_id: str) -> list[Review]:
    return [_review(i) for i in ReviewModel.by_account.query(account_key(tenant_id, account_id))]


def update_review(
    tenant_id: str,
    review_id: str,
    changes: dict[str, Any],
    *,
    expect_status: tuple[str, ...] | None = None,
) -> Review:
    """Set the given fields (None removes). With ``expect_status`` the change only applies while
    the review is in one of those states; otherwise NotFound / a condition failure propagates."""
    item = ReviewModel(tenant_id, review_id)
    actions = [
        getattr(ReviewModel, k).remove() if v is None else getattr(ReviewModel, k).set(v)
        for k, v in changes.items()
    ]
    condition = ReviewModel.review_id.exists()
    if expect_status:
        condition &= ReviewModel.status.is_in(*expect_status)
    try:
        item.update(actions=actions, condition=condition)
    except Exception as exc:
        if is_condition_failure(exc):
            raise StatusChanged("the review changed state") from exc
        raise
    return _review(item)


class StatusChanged(Exception):
    """A conditional review update found the review gone or in another state."""


def add_document(tenant_id: str, review_id: str, document: dict[str, Any], limit: int) -> bool:
    """Append a document while the review has fewer than ``limit``; False when full."""
    try:
        ReviewModel(tenant_id, review_id).update(
            actions=[ReviewModel.documents.set(ReviewModel.documents.append([document]))],
            condition=ReviewModel.review_id.exists() & (size(ReviewModel.documents) < limit),
        )
    except Exception as exc:
        if is_condition_failure(exc):
            return False
        raise
    return True


def update_document(
    tenant_id: str, review_id: str, index: int, doc_id: str, changes: dict[str, Any]
) -> bool:
    """Set fields of the document at ``index``, only if that is still ``doc_id``; False when the
    list moved meanwhile (the caller re-reads and tries again)."""
    entry = ReviewModel.documents[index]
    try:
        ReviewModel(tenant_id, review_id).update(
            actions=[entry[k].set(v) for k, v in changes.items()],
            condition=ReviewModel.review_id.exists() & (entry["id"] == doc_id),
        )
    except Exception as exc:
        if is_condition_failure(exc):
            return False
        raise
    return True


def remove_document(tenant_id: str, review_id: str, index: int, doc_id: str) -> bool:
    """Remove the document at ``index`` if that is still ``doc_id``; False when it is not."""
    entry = ReviewModel.documents[index]
    try:
        ReviewModel(tenant_id, review_id).update(
            actions=[entry.remove()],
            condition=ReviewModel.review_id.exists() & (entry["id"] == doc_id),
        )
    except Exception as exc:
        if is_condition_failure(exc):
            return False
        raise
    return True


def tree_op(tenant_id: str, review_id: str) -> TxOp:
    """Mark the review's tree as planted; cancels the transaction if it already was."""

    def op(tx: TransactWrite) -> None:
        tx.update(
            ReviewModel(tenant_id, review_id),
            actions=[ReviewModel.tree_planted.set(True)],
            condition=ReviewModel.review_id.exists() & ReviewModel.tree_planted.does_not_exist(),
        )

    return op


def delete_review(tenant_id: str, review_id: str) -> None:
    ReviewModel(tenant_id, review_id).delete()


# -------------------------------------------------------------------------------- actions


def create_action(action: Action) -> Action:
    ActionModel(
        action.tenant_id,
        action.action_id,
        account_id=action.account_id,
        account_key=account_key(action.tenant_id, action.account_id),
        action_ref=f"{action.review_id}#{action.action_id}",
        review_id=action.review_id,
        title=action.title,
        owner_id=action.owner_id,
        due_date=action.due_date,
        status=action.status,
        created_by=action.created_by,
        created_at=action.created_at,
    ).save(condition=ActionModel.action_id.does_not_exist())
    return action


def get_action(tenant_id: str, action_id: str) -> Action:
    try:
        return _action(ActionModel.get(tenant_id, action_id))
    except DoesNotExist as exc:
        raise NotFound("action not found") from exc


def update_action(tenant_id: str, action_id: str, changes: dict[str, Any]) -> Action:
    item = ActionModel(tenant_id, action_id)
    actions = [
        getattr(ActionModel, k).remove() if v is None else getattr(ActionModel, k).set(v)
        for k, v in changes.items()
    ]
    if not actions:
        return get_action(tenant_id, action_id)
    try:
        item.update(actions=actions, condition=ActionModel.action_id.exists())
    except Exception as exc:
        if is_condition_failure(exc):
            raise NotFound("action not found") from exc
        raise
    return _action(item)


def list_actions(
    tenant_id: str, account_id: str, *, status: str | None, limit: int, cursor: str | None
) -> Page[Action]:
    key = account_key(tenant_id, account_id)
    kwargs: dict[str, Any] = {}
    if status:
        kwargs["filter_condition"] = ActionModel.status == status
    return query_page(
        ActionModel,
        key,
        index=ActionModel.by_account,
        scope=f"actions:{key}:{status or ''}",
        limit=limit,
        cursor=cursor,
        convert=_action,
        **kwargs,
    )


def review_actions(tenant_id: str, account_id: str, review_id: str) -> list[Action]:
    return [
        _action(i)
        for i in ActionModel.by_account.query(
            account_key(tenant_id, account_id),
            ActionModel.action_ref.startswith(f"{review_id}#"),
        )
    ]


def delete_account_data(tenant_id: str, account_id: str) -> list[str]:
    """Delete an account's reviews and actions; returns the review ids that were deleted."""
    key = account_key(tenant_id, account_id)
    with ActionModel.batch_write() as batch:
        for action in ActionModel.by_account.query(key):
            batch.delete(ActionModel(tenant_id, action.action_id))
    ids = []
    with ReviewModel.batch_write() as batch:
        for review in ReviewModel.by_account.query(key):
            ids.append(review.review_id)
            batch.delete(ReviewModel(tenant_id, review.review_id))
    return ids
