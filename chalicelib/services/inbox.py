"""The signed-in user's own notifications and alert preferences: one use case each, shared by the
JSON routes (``api/notifications.py``) and the staff web app's pages."""

from __future__ import annotations

from typing import Any

from chalicelib.auth.tokens import Principal
from chalicelib.domain.tenant_settings import NOTIFICATION_KINDS, AlertDefaults
from chalicelib.errors import NotFound, ValidationFailed
from chalicelib.services.notify import preferences_of, visible_kinds
from chalicelib.store import notifications as store
from chalicelib.store import tenants as users
from chalicelib.store.base import Page
from chalicelib.store.notifications import Notification

# What each kind of notification is called where people choose how they hear about it.
KIND_LABELS: dict[str, str] = {
    "opened": "A client opened a review",
    "scored": "A client scored a review",
    "commented": "A client commented on a review",
    "follow_up": "A client asked for a follow-up",
    "pulse_alert": "An account's pulse fell to my alert threshold",
    "stale_digest": "Accounts without a recent pulse (daily digest)",
    "heartbeat_approval": "A heartbeat waits for approval",
}


def kind_label(kind: str) -> str:
    return KIND_LABELS.get(kind, kind.replace("_", " ").capitalize())


def kinds() -> tuple[str, ...]:
    return NOTIFICATION_KINDS


def notifications(principal: Principal, *, limit: int, cursor: str | None) -> Page[Notification]:
    """One page of the user's in-app notifications, newest first; kinds switched off in their
    preferences are left out (the cursor still walks the whole list)."""
    user = users.get_user(principal.tenant_id, principal.user_id)
    page = store.list_for(principal.tenant_id, principal.user_id, limit=limit, cursor=cursor)
    shown = visible_kinds(user)
    items = [n for n in page.items if n.kind in shown]
    # Ids made from a dedupe key do not sort by time: order each page by when it was stored.
    items.sort(key=lambda n: n.created_at, reverse=True)
    return Page(items, page.next_cursor)


def mark_read(principal: Principal, notification_id: str) -> None:
    """Mark one of the user's own notifications read; any other id is not found."""
    if not store.mark_read(principal.tenant_id, principal.user_id, notification_id):
        raise NotFound("notification not found")


def preferences(principal: Principal) -> AlertDefaults:
    return preferences_of(users.get_user(principal.tenant_id, principal.user_id))


def update_preferences(principal: Principal, changes: dict[str, Any]) -> AlertDefaults:
    """Change the user's own preferences; fields not given keep their value, and per-kind maps
    are merged into the stored ones. Nothing is written when the result is not valid."""
    current = preferences(principal).model_dump()
    merged = dict(changes)
    for kind_map in ("email", "in_app"):
        if kind_map in merged:
            merged[kind_map] = {**current[kind_map], **merged[kind_map]}
    try:
        updated = AlertDefaults.model_validate({**current, **merged})
    except ValueError as exc:
        raise ValidationFailed({"preferences": str(exc).splitlines()[-1]}) from exc
    users.update_user(principal.tenant_id, principal.user_id, {"preferences": updated.model_dump()})
    return updated
