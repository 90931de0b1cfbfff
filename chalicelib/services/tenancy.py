"""Creating tenants and staff: the Cognito identity and the stored user move together."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, NoReturn

from chalicelib.auth import cognito
from chalicelib.domain.entities import Tenant, User
from chalicelib.domain.tenant_settings import effective
from chalicelib.errors import Conflict, RateLimited
from chalicelib.observability import logger
from chalicelib.store import rate_limits
from chalicelib.store import tenants as store
from chalicelib.store.base import new_id, now_iso

# Other areas seed a new tenant's defaults (reason-code library, questions, …) here.
TENANT_SEEDERS: list[Callable[[Tenant], None]] = []

# The 409 sign-up answers for a registered address (the API contract) tells anyone whether an
# address is a Pulse user. Those answers are counted per source IP and hour; past the limit the
# source gets 429 instead, so probing addresses stays slow and shows in the logs. Only refusals
# are counted: a sign-up with a new address costs nothing extra. See docs/decisions.md.
TAKEN_SIGNUPS_PER_HOUR = 10
TAKEN_WINDOW_SECONDS = 3600
TAKEN_SCOPE = "signup-taken"


def _refuse_taken(source_ip: str | None, exc: Exception | None = None) -> NoReturn:
    refusals = 0
    if source_ip:
        epoch = int(time.time())
        start = epoch - epoch % TAKEN_WINDOW_SECONDS
        try:
            refusals = rate_limits.hit(TAKEN_SCOPE, source_ip, start, TAKEN_WINDOW_SECONDS)
        except Exception:
            logger.exception("sign-up refusal counter not updated")  # fails open
    logger.warning(
        "sign-up for a registered address", extra={"source_ip": source_ip, "refusals": refusals}
    )
    if refusals > TAKEN_SIGNUPS_PER_HOUR:
        raise RateLimited("too many sign-up attempts; try again later") from exc
    raise Conflict("that email is already registered", {"admin_email": "taken"}) from exc


def create_tenant_with_admin(
    *,
    company: str,
    industry: str,
    country: str,
    region: str,
    city: str,
    staff_size: int,
    admin_email: str,
    admin_name: str,
    password: str,
    source_ip: str | None = None,
) -> tuple[Tenant, User]:
    if store.find_user_by_email(admin_email) is not None:
        _refuse_taken(source_ip)
    tenant = Tenant(
        tenant_id=new_id("t"),
        name=company,
        industry=industry,
        country=country,
        region=region,
        city=city,
        staff_size=staff_size,
        created_at=now_iso(),
        settings={},
    )
    # The identity first: if the address is taken Cognito refuses before anything is stored.
    try:
        sub = cognito.create_user(admin_email, tenant.tenant_id, "admin", password=password)
    except Conflict as exc:
        _refuse_taken(source_ip, exc)
    try:
        store.create_tenant(tenant, active_admins=1)
        user = store.create_user(_new_user(tenant, sub, admin_email, admin_name, "admin", None))
        for seed in TENANT_SEEDERS:
            seed(tenant)
    except Exception:
        cognito.delete_user(admin_email)
        raise
    return tenant, user


def _new_user(
    tenant: Tenant, sub: str, email: str, name: str, role: str, manager_id: str | None
) -> User:
    # A new user starts from the defaults the tenant's admins set.
    preferences = effective(tenant.settings).alert_defaults.model_dump()
    return User(
        tenant_id=tenant.tenant_id,
        user_id=sub,
        email=email,
        name=name,
        role=role,
        manager_id=manager_id,
        active=True,
        created_at=now_iso(),
        preferences=preferences,
    )


def invite_user(
    tenant_id: str, *, email: str, name: str, role: str, manager_id: str | None
) -> User:
    tenant = store.get_tenant(tenant_id)
    if manager_id is not None:
        store.get_user(tenant_id, manager_id)
    if store.find_user_by_email(email) is not None:
        raise Conflict("that email is already registered", {"email": "taken"})
    sub = cognito.create_user(email, tenant_id, role, invite=True)
    try:
        return store.create_user_counted(_new_user(tenant, sub, email, name, role, manager_id))
    except Exception:
        cognito.delete_user(email)
        raise


def change_user(tenant_id: str, user_id: str, changes: dict[str, Any]) -> User:
    """Change a user's role, manager or active flag.

    The stored user is written first, in a transaction with the tenant's count of active admins
    (the last one cannot be demoted or deactivated: 409, nothing changed). It is what staff
    requests are authorized against, so the change bites on the user's next request. Cognito
    follows: groups and the enabled flag, and a role change or deactivation signs the user out
    everywhere (refresh tokens stop working).
    """
    user = store.get_user(tenant_id, user_id, consistent=True)
    if changes.get("manager_id") is not None:
        if changes["manager_id"] == user_id:
            raise Conflict("a user cannot manage themselves", {"manager_id": "is the user"})
        store.get_user(tenant_id, changes["manager_id"])
    try:
        updated = store.change_user_checked(user, changes)
    except store.LastActiveAdmin as exc:
        field = "active" if user.active and changes.get("active") is False else "role"
        raise Conflict(
            "a tenant needs at least one active admin",
            {field: "this is the tenant's last active admin"},
        ) from exc
    # Cognito is brought in line with every role or active flag sent (both calls are
    # idempotent), so repeating a change whose Cognito step failed completes it.
    if "role" in changes:
        cognito.set_role(user.email, updated.role)
    if "active" in changes:
        cognito.set_active(user.email, updated.active)
    if updated.role != user.role or (user.active and not updated.active):
        cognito.sign_out(user.email)
    return updated
