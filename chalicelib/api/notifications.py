"""The signed-in user's notifications and alert preferences."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint
from pydantic import Field

from chalicelib.api.routing import Body, PageQuery, staff_route
from chalicelib.auth.tokens import Principal
from chalicelib.domain.tenant_settings import AlertDefaults
from chalicelib.errors import NotFound, ValidationFailed
from chalicelib.services.notify import preferences_of, visible_kinds
from chalicelib.store import notifications as store
from chalicelib.store import tenants as users

bp = Blueprint(__name__)


class PreferencesBody(Body):
    alert_threshold_level: int | None = Field(default=None, ge=1, le=6)
    stale_days: int | None = Field(default=None, ge=1, le=365)
    email: dict[str, bool] | None = None
    in_app: dict[str, bool] | None = None


@staff_route(bp, "/notifications", query=PageQuery, tag="notifications")
def list_notifications(principal: Principal, query: PageQuery) -> dict[str, Any]:
    """In-app notifications, newest first (kinds switched off in preferences are hidden)."""
    user = users.get_user(principal.tenant_id, principal.user_id)
    page = store.list_for(
        principal.tenant_id, principal.user_id, limit=query.limit, cursor=query.cursor
    )
    kinds = visible_kinds(user)
    return {
        "items": [n.to_api() for n in page.items if n.kind in kinds],
        "next_cursor": page.next_cursor,
    }


@staff_route(bp, "/notifications/{notification_id}/read", methods=["POST"], tag="notifications")
def read_notification(principal: Principal, notification_id: str) -> dict[str, Any]:
    """Mark a notification as read."""
    if not store.mark_read(principal.tenant_id, principal.user_id, notification_id):
        raise NotFound("notification not found")
    return {"id": notification_id, "read": True}


@staff_route(bp, "/me/preferences", tag="notifications")
def get_preferences(principal: Principal) -> dict[str, Any]:
    """Your alert threshold, stale days and which notifications reach you, and how."""
    user = users.get_user(principal.tenant_id, principal.user_id)
    return preferences_of(user).model_dump()


@staff_route(bp, "/me/preferences", methods=["PUT"], body=PreferencesBody, tag="notifications")
def put_preferences(principal: Principal, body: PreferencesBody) -> dict[str, Any]:
    """Change your own preferences; fields not given keep their value."""
    user = users.get_user(principal.tenant_id, principal.user_id)
    current = preferences_of(user).model_dump()
    changes = {k: v for k, v in body.model_dump(exclude_unset=True).items() if v is not None}
    for kind_map in ("email", "in_app"):
        if kind_map in changes:
            changes[kind_map] = {**current[kind_map], **changes[kind_map]}
    try:
        updated = AlertDefaults.model_validate({**current, **changes})
    except ValueError as exc:
        raise ValidationFailed({"preferences": str(exc).splitlines()[-1]}) from exc
    users.update_user(principal.tenant_id, principal.user_id, {"preferences": updated.model_dump()})
    return updated.model_dump()
