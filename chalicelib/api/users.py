"""The signed-in user and the tenant's staff."""

from __future__ import annotations

from typing import Any, Literal

from chalice.app import Blueprint
from pydantic import Field

from chalicelib.api import models
from chalicelib.api.routing import ADMIN, Body, PageQuery, page_body, staff_route
from chalicelib.api.types import Email, Name
from chalicelib.auth.tokens import Principal
from chalicelib.services import tenancy
from chalicelib.store import tenants as store

bp = Blueprint(__name__)

Role = Literal["admin", "senior_manager", "account_manager"]


class InviteBody(Body):
    email: Email
    name: Name
    role: Role
    manager_id: str | None = Field(default=None, max_length=80)


class UserPatch(Body):
    role: Role | None = None
    manager_id: str | None = Field(default=None, max_length=80)
    active: bool | None = None


@staff_route(bp, "/me", tag="users", response=models.Me)
def me(principal: Principal) -> dict[str, Any]:
    """The signed-in user, their tenant and role."""
    user = principal.user or store.get_user(principal.tenant_id, principal.user_id)
    tenant = store.get_tenant(principal.tenant_id)
    return {
        "user": user.to_api(),
        "tenant": {k: v for k, v in tenant.to_api().items() if k != "settings"},
        "role": principal.role,
    }


@staff_route(
    bp, "/users", roles=ADMIN, query=PageQuery, tag="users", response=models.Page[models.User]
)
def list_users(principal: Principal, query: PageQuery) -> dict[str, Any]:
    """The tenant's staff."""
    return page_body(store.list_users(principal.tenant_id, limit=query.limit, cursor=query.cursor))


@staff_route(
    bp,
    "/users",
    methods=["POST"],
    roles=ADMIN,
    body=InviteBody,
    status=201,
    responses={409: "email already registered"},
    tag="users",
    response=models.User,
)
def invite_user(principal: Principal, body: InviteBody) -> dict[str, Any]:
    """Invite a staff member: Cognito mails a temporary password."""
    user = tenancy.invite_user(
        principal.tenant_id,
        email=body.email,
        name=body.name,
        role=body.role,
        manager_id=body.manager_id,
    )
    return user.to_api()


@staff_route(
    bp,
    "/users/{user_id}",
    methods=["PATCH"],
    roles=ADMIN,
    body=UserPatch,
    responses={409: "the tenant's last active admin, or the user changed meanwhile"},
    tag="users",
    response=models.User,
)
def patch_user(principal: Principal, user_id: str, body: UserPatch) -> dict[str, Any]:
    """Change a user's role, manager or active flag.

    A role change or deactivation signs the user out everywhere; the tenant's last active admin
    cannot be demoted or deactivated."""
    changes = body.model_dump(exclude_unset=True)
    changes = {k: v for k, v in changes.items() if v is not None or k == "manager_id"}
    return tenancy.change_user(principal.tenant_id, user_id, changes).to_api()
