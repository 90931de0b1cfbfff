"""The signed-in user's notifications and alert preferences."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint
from pydantic import Field

from chalicelib.api import models
from chalicelib.api.routing import Body, PageQuery, staff_route
from chalicelib.auth.tokens import Principal
from chalicelib.domain.tenant_settings import AlertDefaults
from chalicelib.services import inbox

bp = Blueprint(__name__)


class PreferencesBody(Body):
    alert_threshold_level: int | None = Field(default=None, ge=1, le=6)
    stale_days: int | None = Field(default=None, ge=1, le=365)
    email: dict[str, bool] | None = None
    in_app: dict[str, bool] | None = None


@staff_route(
    bp,
    "/notifications",
    query=PageQuery,
    tag="notifications",
    response=models.Page[models.Notification],
)
def list_notifications(principal: Principal, query: PageQuery) -> dict[str, Any]:
    """In-app notifications, newest first (kinds switched off in preferences are hidden)."""
    page = inbox.notifications(principal, limit=query.limit, cursor=query.cursor)
    return {"items": [n.to_api() for n in page.items], "next_cursor": page.next_cursor}


@staff_route(
    bp,
    "/notifications/{notification_id}/read",
    methods=["POST"],
    tag="notifications",
    response=models.Read,
)
def read_notification(principal: Principal, notification_id: str) -> dict[str, Any]:
    """Mark a notification as read."""
    inbox.mark_read(principal, notification_id)
    return {"id": notification_id, "read": True}


@staff_route(bp, "/me/preferences", tag="notifications", response=AlertDefaults)
def get_preferences(principal: Principal) -> dict[str, Any]:
    """Your alert threshold, stale days and which notifications reach you, and how."""
    return inbox.preferences(principal).model_dump()


@staff_route(
    bp,
    "/me/preferences",
    methods=["PUT"],
    body=PreferencesBody,
    tag="notifications",
    response=AlertDefaults,
)
def put_preferences(principal: Principal, body: PreferencesBody) -> dict[str, Any]:
    """Change your own preferences; fields not given keep their value."""
    changes = {k: v for k, v in body.model_dump(exclude_unset=True).items() if v is not None}
    return inbox.update_preferences(principal, changes).model_dump()
