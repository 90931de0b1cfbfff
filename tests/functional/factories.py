"""Factories for the generated security tests: one per path-parameter name.

``tests/functional/test_security_generated.py`` calls every staff operation as tenant A's admin
with ids that belong to tenant B and expects 404. For each path parameter it needs a real
resource of that kind in tenant B, made by the factory registered here under the parameter's
name. A route with a path parameter that has no factory fails the test, so a new kind of id
cannot go unchecked: add a function decorated with ``@factory("<name>")``.

A factory takes a ``TenantHandle`` (tenant B, signed in as its admin) and returns the id of a
new resource of that kind in that tenant. Use the API where it can make the resource; reach
into ``chalicelib.store`` only for things no route creates (notifications, for example).

After each call the test reads tenant B's resources back and compares them with what they were
before: for each parameter name a reader, registered with ``@reader("<name>")``, takes tenant B
and the id and returns the GET paths (the resource itself, or the list it is in) that would show
a change to it. A parameter without a reader fails the test too.

``BODIES`` holds request bodies for operations whose body the generator cannot build from the
OpenAPI schema (a cross-field rule, say). The generator otherwise uses the schema's
``examples`` when the model declares them, and builds a minimal body from the required fields.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from support.api import TenantHandle

Factory = Callable[[TenantHandle], str]
Reader = Callable[[TenantHandle, str], list[str]]

FACTORIES: dict[str, Factory] = {}
READERS: dict[str, Reader] = {}
# What a reader needs to find a resource that no GET shows by its own id: id -> its parent's id.
PARENTS: dict[str, str] = {}

# (METHOD, path template) -> a body that passes validation for that operation.
BODIES: dict[tuple[str, str], dict[str, Any]] = {}


def factory(param: str) -> Callable[[Factory], Factory]:
    def register(fn: Factory) -> Factory:
        if param in FACTORIES:
            raise RuntimeError(f"two factories for path parameter {param!r}")
        FACTORIES[param] = fn
        return fn

    return register


def reader(param: str) -> Callable[[Reader], Reader]:
    def register(fn: Reader) -> Reader:
        if param in READERS:
            raise RuntimeError(f"two readers for path parameter {param!r}")
        READERS[param] = fn
        return fn

    return register


@factory("account_id")
def make_account(tenant: TenantHandle) -> str:
    return str(tenant.account()["id"])


@reader("account_id")
def read_account(tenant: TenantHandle, account_id: str) -> list[str]:
    # The account and every list under it that a call on the account could add to.
    return [f"/accounts/{account_id}"] + [
        f"/accounts/{account_id}/{part}"
        for part in ("contacts", "pulses", "reviews", "actions", "comments")
    ]


@factory("contact_id")
def make_contact(tenant: TenantHandle) -> str:
    account_id = tenant.account()["id"]
    contact_id = str(tenant.contact(account_id)["id"])
    PARENTS[contact_id] = str(account_id)
    return contact_id


@reader("contact_id")
def read_contact(tenant: TenantHandle, contact_id: str) -> list[str]:
    return [f"/accounts/{PARENTS[contact_id]}/contacts?limit=200"]


@factory("user_id")
def make_user(tenant: TenantHandle) -> str:
    # An invitation is enough: the user exists in the tenant; nobody needs to sign in as them.
    reply = tenant.api.post(
        "/users",
        {
            "email": f"factory-{secrets.token_hex(4)}@staff.example",
            "name": "Factory User",
            "role": "account_manager",
        },
    )
    assert reply.status == 201, reply.body
    return str(reply.json["id"])


@reader("user_id")
def read_user(tenant: TenantHandle, user_id: str) -> list[str]:
    return ["/users?limit=200"]


@factory("notification_id")
def make_notification(tenant: TenantHandle) -> str:
    # No route creates a notification; jobs do. Store one for the tenant's admin.
    from chalicelib.store import notifications
    from chalicelib.store.base import new_id, now_iso

    notification = notifications.Notification(
        notification_id=new_id("ntf"),
        kind="stale_digest",  # a kind the admin sees in-app by default
        title="Factory notification",
        body="",
        link=None,
        account_id=None,
        created_at=now_iso(),
        read=False,
    )
    notifications.add(tenant.tenant_id, tenant.admin.user_id, notification)
    return notification.notification_id


@reader("notification_id")
def read_notification(tenant: TenantHandle, notification_id: str) -> list[str]:
    return ["/notifications?limit=200"]  # the admin's own, where the factory put it


@factory("reason_code_id")
def make_reason_code(tenant: TenantHandle) -> str:
    reply = tenant.api.post(
        "/reason-codes",
        {
            "tab": "pulse",
            "category": "Support",
            "name": f"Factory code {secrets.token_hex(3)}",
            "type": "risk",
        },
    )
    assert reply.status == 201, reply.body
    return str(reply.json["id"])


@reader("reason_code_id")
def read_reason_code(tenant: TenantHandle, reason_code_id: str) -> list[str]:
    return ["/reason-codes?limit=200"]


@factory("heartbeat_id")
def make_heartbeat(tenant: TenantHandle) -> str:
    # The daily job prepares rounds for every tenant; prepare just this one's, as that job does.
    from datetime import UTC, datetime

    from chalicelib.services import heartbeat
    from chalicelib.store import tenants

    record = tenants.get_tenant(tenant.tenant_id)
    config = heartbeat.config_of(tenant.tenant_id)
    _, round_id = heartbeat.prepare_for(record, config, datetime.now(UTC).date())
    assert round_id is not None
    return round_id


@reader("heartbeat_id")
def read_heartbeat(tenant: TenantHandle, heartbeat_id: str) -> list[str]:
    return ["/heartbeats?limit=200"]


# --------------------------------------------------------------------- reviews (issue 4)


def _review(tenant: TenantHandle) -> tuple[str, str, str]:
    """(account id, contact id, review id) of a new draft review with one recipient."""
    account_id = str(tenant.account()["id"])
    contact_id = str(tenant.contact(account_id)["id"])
    reply = tenant.api.post(
        f"/accounts/{account_id}/reviews",
        {"title": "Factory review", "review_date": "2030-01-15", "scoring_required": False},
    )
    assert reply.status == 201, reply.body
    review_id = str(reply.json["id"])
    reply = tenant.api.put(f"/reviews/{review_id}/recipients", {"contact_ids": [contact_id]})
    assert reply.status == 200, reply.body
    return account_id, contact_id, review_id


def _answered_review(tenant: TenantHandle) -> str:
    """A review answered with a comment and a follow-up request; returns the review id.

    No route hands out a link without mailing it, so the link is issued directly (as the mail
    handler does) and the answer goes through the public route."""
    from chalicelib.services import surveys
    from chalicelib.store import invitations
    from chalicelib.store.base import now_iso

    account_id, contact_id, review_id = _review(tenant)
    inv, _ = invitations.ensure(
        tenant.tenant_id,
        "review",
        review_id,
        contact_id=contact_id,
        account_id=account_id,
        name="Dana Client",
        email="dana@client.example",
        created_at=now_iso(),
    )
    token = surveys.issue_token(inv, "factory")
    reply = tenant.api.post(
        f"/r/{token}", {"comment": "Factory comment", "follow_up": True}, token=""
    )
    assert reply.status == 200, reply.body
    return review_id


@factory("review_id")
def make_review(tenant: TenantHandle) -> str:
    return _review(tenant)[2]


@reader("review_id")
def read_review(tenant: TenantHandle, review_id: str) -> list[str]:
    return [f"/reviews/{review_id}", f"/reviews/{review_id}/analytics"]


@factory("action_id")
def make_action(tenant: TenantHandle) -> str:
    review_id = _review(tenant)[2]
    reply = tenant.api.post(f"/reviews/{review_id}/actions", {"title": "Factory action"})
    assert reply.status == 201, reply.body
    action_id = str(reply.json["id"])
    PARENTS[action_id] = review_id
    return action_id


@reader("action_id")
def read_action(tenant: TenantHandle, action_id: str) -> list[str]:
    review_id = PARENTS[action_id]
    account_id = tenant.api.get(f"/reviews/{review_id}").json["account_id"]
    return [f"/reviews/{review_id}", f"/accounts/{account_id}/actions?limit=200"]


@factory("doc_id")
def make_document(tenant: TenantHandle) -> str:
    review_id = _review(tenant)[2]
    reply = tenant.api.post(
        f"/reviews/{review_id}/documents",
        {"filename": "factory.pdf", "content_type": "application/pdf", "size": 10},
    )
    assert reply.status == 201, reply.body
    doc_id = str(reply.json["document"]["id"])
    PARENTS[doc_id] = review_id
    return doc_id


@reader("doc_id")
def read_document(tenant: TenantHandle, doc_id: str) -> list[str]:
    return [f"/reviews/{PARENTS[doc_id]}"]


@factory("comment_id")
def make_comment(tenant: TenantHandle) -> str:
    from chalicelib.store import feedback

    review_id = _answered_review(tenant)
    review = tenant.api.get(f"/reviews/{review_id}").json
    page = feedback.list_comments(tenant.tenant_id, review["account_id"], limit=1, cursor=None)
    PARENTS[page.items[0].comment_id] = review["account_id"]
    return page.items[0].comment_id


@reader("comment_id")
def read_comment(tenant: TenantHandle, comment_id: str) -> list[str]:
    return [f"/accounts/{PARENTS[comment_id]}/comments?limit=200"]


@factory("follow_up_id")
def make_follow_up(tenant: TenantHandle) -> str:
    from chalicelib.store import feedback

    review_id = _answered_review(tenant)
    review = tenant.api.get(f"/reviews/{review_id}").json
    return feedback.account_follow_ups(tenant.tenant_id, review["account_id"])[0].follow_up_id


@reader("follow_up_id")
def read_follow_up(tenant: TenantHandle, follow_up_id: str) -> list[str]:
    return ["/follow-ups?status=pending&limit=200", "/follow-ups?status=acknowledged&limit=200"]


@factory("segment_id")
def make_segment(tenant: TenantHandle) -> str:
    reply = tenant.api.post("/segments", {"name": "Factory segment", "filter": {"levels": [1, 2]}})
    assert reply.status == 201, reply.body
    return str(reply.json["id"])


@reader("segment_id")
def read_segment(tenant: TenantHandle, segment_id: str) -> list[str]:
    return [f"/segments/{segment_id}", "/segments?limit=200"]


# ------------------------------------------------------------------ sender identities


@factory("identity_id")
def make_sender_identity(tenant: TenantHandle) -> str:
    reply = tenant.api.post(
        "/settings/sender-identities",
        {"email": f"factory-{secrets.token_hex(4)}@sender-{secrets.token_hex(4)}.example"},
    )
    assert reply.status == 201, reply.body
    return str(reply.json["id"])


@reader("identity_id")
def read_sender_identity(tenant: TenantHandle, identity_id: str) -> list[str]:
    return ["/settings/sender-identities"]
