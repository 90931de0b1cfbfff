"""The account dashboard's tasks: acknowledging follow-up requests, changing and completing
review actions, staff notes on clients' comments and completing comments.

The JSON API (``api/reviews.py``) and the staff web app's account page both call these, so the
rules (who may reach the record, idempotence, the dashboard's read model kept in step) are one.
Records of an account the caller may not reach answer ``NotFound``, as another tenant's do.
"""

from __future__ import annotations

from typing import Any

from chalicelib.api.access import account_for
from chalicelib.auth.tokens import Principal
from chalicelib.errors import NotFound, ValidationFailed
from chalicelib.services import review_insights as insight
from chalicelib.store import feedback
from chalicelib.store import reviews as store
from chalicelib.store import tenants as tenant_store
from chalicelib.store.base import new_id, now_iso
from chalicelib.store.reviews import Action


def _reachable(principal: Principal, account_id: str, what: str, expected: str | None) -> None:
    if expected is not None and account_id != expected:
        raise NotFound(f"{what} not found")
    try:
        account_for(principal, account_id)
    except NotFound:
        raise NotFound(f"{what} not found") from None


def check_user(principal: Principal, user_id: str, field: str) -> None:
    """A user chosen in a form or body: in the caller's tenant and active."""
    try:
        user = tenant_store.get_user(principal.tenant_id, user_id)
    except NotFound:
        raise ValidationFailed({field: "no such user"}) from None
    if not user.active:
        raise ValidationFailed({field: "that user is inactive"})


# ------------------------------------------------------------------------------ follow-ups


def acknowledge_follow_up(
    principal: Principal, follow_up_id: str, *, account_id: str | None = None
) -> feedback.FollowUp:
    """Mark a follow-up request as handled (idempotent). ``account_id``, when given, must be
    the follow-up's account (a form on one account's page acts on that account only)."""
    follow_up = feedback.get_follow_up(principal.tenant_id, follow_up_id)
    _reachable(principal, follow_up.account_id, "follow-up", account_id)
    updated = feedback.acknowledge(principal.tenant_id, follow_up_id, principal.user_id, now_iso())
    if follow_up.status == "pending":
        insight.tasks_moved(principal.tenant_id, follow_up.account_id, follow_ups=-1)
        insight.follow_up_changed(updated)
    return updated


# --------------------------------------------------------------------------------- actions


def create_action(
    principal: Principal,
    *,
    account_id: str,
    review_id: str,
    title: str,
    owner_id: str | None,
    due_date: str | None,
) -> Action:
    if owner_id:
        check_user(principal, owner_id, "owner_id")
    action = Action(
        tenant_id=principal.tenant_id,
        action_id=new_id("act"),
        account_id=account_id,
        review_id=review_id,
        title=title,
        owner_id=owner_id or principal.user_id,
        due_date=due_date,
        status="open",
        created_by=principal.user_id,
        created_at=now_iso(),
    )
    store.create_action(action)
    insight.tasks_moved(principal.tenant_id, action.account_id, actions=1)
    insight.action_changed(action)
    return action


def update_action(
    principal: Principal,
    action_id: str,
    changes: dict[str, Any],
    *,
    account_id: str | None = None,
) -> Action:
    """Change an action; ``"status": "completed"`` records who completed it and when."""
    action = store.get_action(principal.tenant_id, action_id)
    _reachable(principal, action.account_id, "action", account_id)
    changes = dict(changes)
    for key in ("title", "status"):
        if key in changes and changes[key] is None:
            raise ValidationFailed({key: "may not be null"})
    if changes.get("owner_id"):
        check_user(principal, changes["owner_id"], "owner_id")
    if changes.get("status") == "completed" and action.status != "completed":
        changes.update(completed_by=principal.user_id, completed_at=now_iso())
    elif changes.get("status") == "open":
        changes.update(completed_by=None, completed_at=None)
    updated = store.update_action(principal.tenant_id, action_id, changes)
    if updated.status != action.status:
        moved = 1 if updated.status == "open" else -1
        insight.tasks_moved(principal.tenant_id, action.account_id, actions=moved)
    if updated.status != action.status or updated.status == "open":
        insight.action_changed(updated)
    return updated


# -------------------------------------------------------------------------------- comments


def comment_for(
    principal: Principal, comment_id: str, *, account_id: str | None = None
) -> feedback.Comment:
    comment = feedback.get_comment(principal.tenant_id, comment_id)
    _reachable(principal, comment.account_id, "comment", account_id)
    return comment


def add_note(
    principal: Principal, comment_id: str, text: str, *, account_id: str | None = None
) -> feedback.Comment:
    """Add a staff note to a client's comment (at most ``feedback.MAX_NOTES``)."""
    comment_for(principal, comment_id, account_id=account_id)
    note = {"id": new_id("note"), "text": text, "by": principal.user_id, "at": now_iso()}
    updated = feedback.add_note(principal.tenant_id, comment_id, note)
    if updated is None:
        raise ValidationFailed({"text": f"at most {feedback.MAX_NOTES} notes per comment"})
    insight.comment_changed(updated)
    return updated


def complete_comment(
    principal: Principal, comment_id: str, *, account_id: str | None = None
) -> feedback.Comment:
    """Mark a comment as dealt with (idempotent)."""
    comment_for(principal, comment_id, account_id=account_id)
    updated = feedback.complete_comment(
        principal.tenant_id, comment_id, principal.user_id, now_iso()
    )
    insight.comment_changed(updated)
    return updated
