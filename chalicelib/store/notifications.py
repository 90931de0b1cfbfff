"""In-app notifications, one partition per user."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from pynamodb.attributes import BooleanAttribute, UnicodeAttribute
from pynamodb.exceptions import PutError
from pynamodb.models import Model

from chalicelib.store.base import BaseMeta, Page, is_condition_failure, query_page, table_name


class NotificationModel(Model):
    class Meta(BaseMeta):
        table_name = table_name("notifications")

    user_key = UnicodeAttribute(hash_key=True)  # "<tenant_id>#<user_id>"
    # Sorts newest last; a deterministic id (from a dedupe key) makes a retried notify a no-op.
    notification_id = UnicodeAttribute(range_key=True)
    kind = UnicodeAttribute()
    title = UnicodeAttribute()
    body = UnicodeAttribute(default="")
    link = UnicodeAttribute(null=True)
    account_id = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    read = BooleanAttribute(default=False)
    emailed = BooleanAttribute(default=False)


@dataclass
class Notification:
    notification_id: str
    kind: str
    title: str
    body: str
    link: str | None
    account_id: str | None
    created_at: str
    read: bool

    def to_api(self) -> dict[str, Any]:
        data = asdict(self)
        data["id"] = data.pop("notification_id")
        return data


def user_key(tenant_id: str, user_id: str) -> str:
    return f"{tenant_id}#{user_id}"


def _notification(item: NotificationModel) -> Notification:
    return Notification(
        notification_id=item.notification_id,
        kind=item.kind,
        title=item.title,
        body=item.body or "",
        link=item.link,
        account_id=item.account_id,
        created_at=item.created_at,
        read=bool(item.read),
    )


def add(tenant_id: str, user_id: str, notification: Notification) -> str:
    """Store one notification. Returns "new", or for a repeat of the same id "emailed" when its
    mail went out already and "pending" when it did not (a retry should send it)."""
    item = NotificationModel(
        user_key(tenant_id, user_id),
        notification.notification_id,
        kind=notification.kind,
        title=notification.title,
        body=notification.body,
        link=notification.link,
        account_id=notification.account_id,
        created_at=notification.created_at,
        read=False,
    )
    try:
        item.save(condition=NotificationModel.notification_id.does_not_exist())
    except PutError as exc:
        if not is_condition_failure(exc):
            raise
        existing = NotificationModel.get(item.user_key, item.notification_id, consistent_read=True)
        return "emailed" if existing.emailed else "pending"
    return "new"


def mark_emailed(tenant_id: str, user_id: str, notification_id: str) -> None:
    NotificationModel(user_key(tenant_id, user_id), notification_id).update(
        actions=[NotificationModel.emailed.set(True)]
    )


def list_for(tenant_id: str, user_id: str, *, limit: int, cursor: str | None) -> Page[Notification]:
    key = user_key(tenant_id, user_id)
    return query_page(
        NotificationModel,
        key,
        scope=f"notifications:{key}",
        limit=limit,
        cursor=cursor,
        convert=_notification,
        scan_index_forward=False,
    )


def mark_read(tenant_id: str, user_id: str, notification_id: str) -> bool:
    try:
        NotificationModel(user_key(tenant_id, user_id), notification_id).update(
            actions=[NotificationModel.read.set(True)],
            condition=NotificationModel.notification_id.exists(),
        )
    except Exception as exc:
        if is_condition_failure(exc):
            return False
        raise
    return True
