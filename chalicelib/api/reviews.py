"""Business reviews for staff: the builder, documents, recipients, actions, sending, analytics,
follow-ups, comments and trees. Clients' side of a review is in ``api/survey.py``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from chalice.app import Blueprint, Response
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from chalicelib.api import models, survey_pages
from chalicelib.api.access import account_for
from chalicelib.api.routing import NOT_NULL, Body, PageQuery, page_body, staff_route
from chalicelib.api.types import MULTI_LINE, TEXT_PATTERN, IsoDate, Name, Text, stripped_pattern
from chalicelib.auth.tokens import Principal
from chalicelib.domain.entities import Account
from chalicelib.errors import Conflict, NotFound, ValidationFailed
from chalicelib.services import account_tasks as tasks
from chalicelib.services import review_insights as insight
from chalicelib.services import reviews as service
from chalicelib.services import send_limits, surveys
from chalicelib.services.settings import tenant_settings
from chalicelib.store import accounts as account_store
from chalicelib.store import feedback, score_aggregates
from chalicelib.store import reviews as store
from chalicelib.store.base import new_id, now_iso
from chalicelib.store.reviews import Review

bp = Blueprint(__name__)

TAG = "reviews"
MAX_SECTIONS = 20
ContactIds = Annotated[
    list[Annotated[str, Field(min_length=1, max_length=80)]], Field(max_length=200)
]


def _no_control(value: str) -> str:
    if any(ord(ch) < 32 and ch not in "\n\r\t" for ch in value):
        raise ValueError("control characters are not allowed")
    return value


def _https(value: str) -> str:
    if not value.startswith("https://") or any(ch.isspace() for ch in value) or len(value) < 12:
        raise ValueError("an https:// address")
    return value


_TEXT = Field(json_schema_extra={"pattern": TEXT_PATTERN})
LongText = Annotated[str, Field(max_length=10000), _TEXT, AfterValidator(_no_control)]
Intro = Annotated[str, Field(max_length=4000), _TEXT, AfterValidator(_no_control)]
HttpsUrl = Annotated[
    str,
    Field(
        max_length=2048,
        json_schema_extra={"pattern": r"^\s*https://[^\s\x1c-\x1f\x85]{4,}\s*$"},
    ),
    AfterValidator(_https),
]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    heading: Name
    body: LongText = ""


class ReviewBody(Body):
    title: Name
    review_date: IsoDate
    intro_message: Intro = ""
    video_url: HttpsUrl | None = None
    sections: list[Section] = Field(default_factory=list, max_length=MAX_SECTIONS)
    scoring_required: bool | None = Field(
        default=None, description="defaults to the workspace setting"
    )


class ReviewPatch(Body):
    # Left out keeps the value; only video_url may be cleared with null.
    title: Annotated[Name | None, NOT_NULL] = None
    review_date: Annotated[IsoDate | None, NOT_NULL] = None
    intro_message: Annotated[Intro | None, NOT_NULL] = None
    video_url: HttpsUrl | None = None
    sections: Annotated[list[Section] | None, NOT_NULL] = Field(
        default=None, max_length=MAX_SECTIONS
    )
    scoring_required: Annotated[bool | None, NOT_NULL] = None
    status: Annotated[Literal["closed"] | None, NOT_NULL] = Field(
        default=None, description="close the review: every link stops working"
    )


class DocumentBody(Body):
    filename: Name
    content_type: str = Field(min_length=1, max_length=200)
    size: int = Field(ge=1, le=service.MAX_DOCUMENT_BYTES, description="bytes, at most 20 MB")


class RecipientsBody(Body):
    contact_ids: ContactIds


class ResendBody(Body):
    contact_ids: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=80)]],
        Field(min_length=1, max_length=200),
    ]


class ActionBody(Body):
    title: Name
    owner_id: str | None = Field(default=None, max_length=80)
    due_date: IsoDate | None = None


class ActionPatch(Body):
    title: Name | None = None
    owner_id: str | None = Field(default=None, max_length=80)
    due_date: IsoDate | None = None
    status: Literal["open", "completed"] | None = None


class ActionQuery(PageQuery):
    status: Literal["open", "completed"] | None = None


class FollowUpQuery(PageQuery):
    status: Literal["pending", "acknowledged"] = "pending"


class NoteBody(Body):
    text: Annotated[
        Text, Field(min_length=1, json_schema_extra={"pattern": stripped_pattern(MULTI_LINE)})
    ]


# ------------------------------------------------------------------------------- helpers


def review_for(principal: Principal, review_id: str) -> tuple[Review, Account]:
    """The review, if this principal may reach its account; 404 otherwise (as for another
    tenant's id)."""
    review = service.get_for_tenant(principal.tenant_id, review_id)
    try:
        account = account_for(principal, review.account_id)
    except NotFound:
        raise NotFound("review not found") from None
    return review, account


def _review_api(review: Review) -> dict[str, Any]:
    data = review.to_api()
    data["actions"] = [
        a.to_api()
        for a in store.review_actions(review.tenant_id, review.account_id, review.review_id)
    ]
    return data


# ------------------------------------------------------------------------------- builder


@staff_route(
    bp,
    "/accounts/{account_id}/reviews",
    query=PageQuery,
    tag=TAG,
    response=models.Page[models.Review],
)
def list_reviews(principal: Principal, account_id: str, query: PageQuery) -> dict[str, Any]:
    """An account's reviews, newest first."""
    account_for(principal, account_id)
    page = store.list_reviews(
        principal.tenant_id, account_id, limit=query.limit, cursor=query.cursor
    )
    return page_body(page)


@staff_route(
    bp,
    "/accounts/{account_id}/reviews",
    methods=["POST"],
    body=ReviewBody,
    status=201,
    tag=TAG,
    response=models.ReviewWithActions,
)
def create_review(principal: Principal, account_id: str, body: ReviewBody) -> dict[str, Any]:
    """Start a review (a draft) for an account."""
    account_for(principal, account_id)
    scoring = body.scoring_required
    if scoring is None:
        scoring = tenant_settings(principal.tenant_id).scoring_required
    at = now_iso()
    review = Review(
        tenant_id=principal.tenant_id,
        review_id=new_id("rev"),
        account_id=account_id,
        title=body.title,
        review_date=body.review_date,
        intro_message=body.intro_message,
        video_url=body.video_url,
        sections=[s.model_dump() for s in body.sections],
        documents=[],
        recipient_ids=[],
        scoring_required=scoring,
        status="draft",
        created_by=principal.user_id,
        created_at=at,
        updated_at=at,
    )
    store.create_review(review)
    insight.review_changed(review)
    return _review_api(review)


@staff_route(bp, "/reviews/{review_id}", tag=TAG, response=models.ReviewWithActions)
def get_review(principal: Principal, review_id: str) -> dict[str, Any]:
    """One review with its documents, recipients and actions."""
    review, _ = review_for(principal, review_id)
    return _review_api(review)


@staff_route(
    bp,
    "/reviews/{review_id}",
    methods=["PATCH"],
    body=ReviewPatch,
    tag=TAG,
    response=models.ReviewWithActions,
)
def patch_review(principal: Principal, review_id: str, body: ReviewPatch) -> dict[str, Any]:
    """Edit a draft or sent review (recipients see the change); "status": "closed" ends it."""
    review, _ = review_for(principal, review_id)
    changes = body.model_dump(exclude_unset=True)
    for key in ("title", "review_date", "intro_message", "sections", "scoring_required", "status"):
        if key in changes and changes[key] is None:
            raise ValidationFailed({key: "may not be null"})
    if review.status == "closed":
        raise Conflict("the review is closed")
    if not changes:
        return _review_api(review)
    changes["updated_at"] = now_iso()
    try:
        updated = store.update_review(
            principal.tenant_id, review_id, changes, expect_status=("draft", "sent")
        )
    except store.StatusChanged:
        raise Conflict("the review changed meanwhile; reload it") from None
    insight.review_changed(updated)
    return _review_api(updated)


@staff_route(
    bp,
    "/reviews/{review_id}/documents",
    methods=["POST"],
    body=DocumentBody,
    status=201,
    tag=TAG,
    response=models.NewDocument,
)
def add_document(principal: Principal, review_id: str, body: DocumentBody) -> dict[str, Any]:
    """A presigned S3 upload for one document (≤ 20 MB, office/PDF/image/video types; S3's
    policy enforces both). The document is "pending" until confirmed (``…/confirm``, or a
    preview or send): clients see only confirmed documents."""
    review, _ = review_for(principal, review_id)
    return service.add_document(
        review, body.filename, body.content_type, body.size, principal.user_id
    )


@staff_route(
    bp,
    "/reviews/{review_id}/documents/{doc_id}/confirm",
    methods=["POST"],
    tag=TAG,
    responses={
        409: "The file has not arrived in S3 yet (the document stays pending)",
        422: "The file is larger than 20 MB or of another type: removed, document marked failed",
    },
    response=models.ConfirmedDocument,
)
def confirm_document(principal: Principal, review_id: str, doc_id: str) -> dict[str, Any]:
    """Say an upload finished: the document becomes "ready" with the file's real size and only
    then shows on the client's page (idempotent)."""
    review, _ = review_for(principal, review_id)
    return {"document": service.confirm_document(review, doc_id)}


@staff_route(bp, "/reviews/{review_id}/documents/{doc_id}", methods=["DELETE"], status=204, tag=TAG)
def delete_document(principal: Principal, review_id: str, doc_id: str) -> None:
    """Remove a document: its file in S3 and its record."""
    review, _ = review_for(principal, review_id)
    service.delete_document(review, doc_id)


@staff_route(
    bp,
    "/reviews/{review_id}/recipients",
    methods=["PUT"],
    body=RecipientsBody,
    tag=TAG,
    response=models.ReviewWithActions,
)
def put_recipients(principal: Principal, review_id: str, body: RecipientsBody) -> dict[str, Any]:
    """Choose a draft's recipients among the account's contacts (the whole list)."""
    review, account = review_for(principal, review_id)
    return _review_api(service.set_recipients(review, account, body.contact_ids))


@staff_route(
    bp,
    "/reviews/{review_id}/actions",
    methods=["POST"],
    body=ActionBody,
    status=201,
    tag=TAG,
    response=models.Action,
)
def create_action(principal: Principal, review_id: str, body: ActionBody) -> dict[str, Any]:
    """Add an action to a review."""
    review, _ = review_for(principal, review_id)
    return tasks.create_action(
        principal,
        account_id=review.account_id,
        review_id=review.review_id,
        title=body.title,
        owner_id=body.owner_id,
        due_date=body.due_date,
    ).to_api()


@staff_route(
    bp, "/actions/{action_id}", methods=["PATCH"], body=ActionPatch, tag=TAG, response=models.Action
)
def patch_action(principal: Principal, action_id: str, body: ActionPatch) -> dict[str, Any]:
    """Change an action; "status": "completed" records who completed it and when."""
    changes = body.model_dump(exclude_unset=True)
    return tasks.update_action(principal, action_id, changes).to_api()


@staff_route(
    bp,
    "/accounts/{account_id}/actions",
    query=ActionQuery,
    tag=TAG,
    response=models.Page[models.Action],
)
def list_actions(principal: Principal, account_id: str, query: ActionQuery) -> dict[str, Any]:
    """An account's review actions, optionally only open or completed ones."""
    account_for(principal, account_id)
    page = store.list_actions(
        principal.tenant_id, account_id, status=query.status, limit=query.limit, cursor=query.cursor
    )
    return page_body(page)


@staff_route(bp, "/reviews/{review_id}/preview", produces="text/html", tag=TAG)
def preview(principal: Principal, review_id: str) -> Response:
    """Exactly the page a recipient sees (with a preview notice and a form that does not send)."""
    review, _ = review_for(principal, review_id)
    service.confirm_pending(review)
    kind = service.REVIEW_KIND
    info = kind.load(principal.tenant_id, review.review_id)
    return survey_pages.preview_page(info, kind.page_context(info, None, preview=True))


# ------------------------------------------------------------------------------- sending


@staff_route(
    bp,
    "/reviews/{review_id}/send",
    methods=["POST"],
    status=202,
    responses={429: send_limits.BULK_SEND_429},
    tag=TAG,
    response=models.Sent,
)
def send_review(principal: Principal, review_id: str) -> dict[str, Any]:
    """Send a draft to its recipients: one mail each, through the mail queue."""
    review, account = review_for(principal, review_id)
    send_limits.check_bulk_send(principal.tenant_id, surveys.now())
    review, result = service.send(review, account)
    return result.to_api(review)


@staff_route(
    bp,
    "/reviews/{review_id}/resend",
    methods=["POST"],
    body=ResendBody,
    status=202,
    responses={429: send_limits.BULK_SEND_429},
    tag=TAG,
    response=models.Sent,
)
def resend_review(principal: Principal, review_id: str, body: ResendBody) -> dict[str, Any]:
    """Send again to chosen contacts (recipients or new ones) with a fresh link and window."""
    review, account = review_for(principal, review_id)
    send_limits.check_bulk_send(principal.tenant_id, surveys.now())
    review, result = service.resend(review, account, body.contact_ids)
    return result.to_api(review)


@staff_route(bp, "/reviews/{review_id}/analytics", tag=TAG, response=models.ReviewAnalytics)
def review_analytics(principal: Principal, review_id: str) -> dict[str, Any]:
    """Per recipient: sent, opened, scored, reminders sent, follow-up, and the response."""
    review, _ = review_for(principal, review_id)
    return service.analytics(review)


# ----------------------------------------------------------------- follow-ups and comments


@staff_route(bp, "/follow-ups", query=FollowUpQuery, tag=TAG, response=models.Page[models.FollowUp])
def list_follow_ups(principal: Principal, query: FollowUpQuery) -> dict[str, Any]:
    """Follow-up requests, newest first; account managers see those of their own accounts."""
    page = feedback.list_follow_ups(
        principal.tenant_id, query.status, limit=query.limit, cursor=query.cursor
    )
    items = page.items
    if not principal.sees_all_accounts:
        own = {
            a.account_id
            for a in account_store.iter_owner_accounts(principal.tenant_id, principal.user_id)
        }
        items = [f for f in items if f.account_id in own]
    return {"items": [f.to_api() for f in items], "next_cursor": page.next_cursor}


@staff_route(
    bp,
    "/follow-ups/{follow_up_id}/acknowledge",
    methods=["POST"],
    tag=TAG,
    response=models.FollowUp,
)
def acknowledge_follow_up(principal: Principal, follow_up_id: str) -> dict[str, Any]:
    """Mark a follow-up request as handled (idempotent)."""
    return tasks.acknowledge_follow_up(principal, follow_up_id).to_api()


@staff_route(
    bp,
    "/accounts/{account_id}/comments",
    query=PageQuery,
    tag=TAG,
    response=models.Page[models.Comment],
)
def list_comments(principal: Principal, account_id: str, query: PageQuery) -> dict[str, Any]:
    """Clients' comments on an account's reviews, newest first, with staff notes."""
    account_for(principal, account_id)
    page = feedback.list_comments(
        principal.tenant_id, account_id, limit=query.limit, cursor=query.cursor
    )
    return page_body(page)


@staff_route(
    bp,
    "/comments/{comment_id}/notes",
    methods=["POST"],
    body=NoteBody,
    status=201,
    tag=TAG,
    response=models.Comment,
)
def add_note(principal: Principal, comment_id: str, body: NoteBody) -> dict[str, Any]:
    """Add a staff note to a client's comment."""
    return tasks.add_note(principal, comment_id, body.text).to_api()


@staff_route(
    bp, "/comments/{comment_id}/complete", methods=["POST"], tag=TAG, response=models.Comment
)
def complete_comment(principal: Principal, comment_id: str) -> dict[str, Any]:
    """Mark a comment as dealt with (idempotent)."""
    return tasks.complete_comment(principal, comment_id).to_api()


@staff_route(bp, "/trees", tag=TAG, response=models.Trees)
def trees(principal: Principal) -> dict[str, Any]:
    """The workspace's tree count: one per review that received a scored response."""
    return {"trees": score_aggregates.trees(principal.tenant_id)}
