"""Tenants and staff users."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    NumberAttribute,
    UnicodeAttribute,
)
from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from chalicelib.domain.entities import Tenant, User
from chalicelib.errors import Conflict, NotFound
from chalicelib.store.base import (
    BaseMeta,
    Page,
    is_condition_failure,
    query_page,
    table_name,
)


class TenantModel(Model):
    class Meta(BaseMeta):
        table_name = table_name("tenants")

    tenant_id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    industry = UnicodeAttribute()
    country = UnicodeAttribute()
    region = UnicodeAttribute()
    city = UnicodeAttribute()
    staff_size = NumberAttribute()
    created_at = UnicodeAttribute()
    settings = JSONAttribute(default=dict)
    # Users with role admin and active set. Changes that add or remove one update it in the same
    # transaction as the user, and a removal is conditional on ``active_admins > 1``, so two
    # admins demoting each other at once cannot leave the tenant without one. Tenants stored
    # before it existed get it from a Query of their users on the first change that needs it.
    active_admins = NumberAttribute(null=True)


class LastActiveAdmin(Conflict):
    """The change would leave the tenant without an active admin."""


class UserEmailIndex(GlobalSecondaryIndex["UserModel"]):
    """User by email: one address is one staff user across the deployment."""

    class Meta:
        index_name = "by-email"
        projection = AllProjection()

    email = UnicodeAttribute(hash_key=True)


class UserModel(Model):
    class Meta(BaseMeta):
        table_name = table_name("users")

    tenant_id = UnicodeAttribute(hash_key=True)
    # The Cognito ``sub``: a verified token names its user without a lookup.
    user_id = UnicodeAttribute(range_key=True)
    email = UnicodeAttribute()
    name = UnicodeAttribute()
    role = UnicodeAttribute()
    manager_id = UnicodeAttribute(null=True)
    active = BooleanAttribute(default=True)
    created_at = UnicodeAttribute()
    preferences = JSONAttribute(default=dict)
    by_email = UserEmailIndex()


def _tenant(item: TenantModel) -> Tenant:
    return Tenant(
        tenant_id=item.tenant_id,
        name=item.name,
        industry=item.industry,
        country=item.country,
        region=item.region,
        city=item.city,
        staff_size=int(item.staff_size),
        created_at=item.created_at,
        settings=dict(item.settings or {}),
    )


def _user(item: UserModel) -> User:
    return User(
        tenant_id=item.tenant_id,
        user_id=item.user_id,
        email=item.email,
        name=item.name,
        role=item.role,
        manager_id=item.manager_id,
        active=bool(item.active),
        created_at=item.created_at,
        preferences=dict(item.preferences or {}),
    )


def create_tenant(tenant: Tenant, *, active_admins: int | None = None) -> Tenant:
    """Store a new tenant; ``active_admins`` counts the admins created with it (sign-up: 1)."""
    item = TenantModel(
        tenant.tenant_id,
        name=tenant.name,
        industry=tenant.industry,
        country=tenant.country,
        region=tenant.region,
        city=tenant.city,
        staff_size=tenant.staff_size,
        created_at=tenant.created_at,
        settings=tenant.settings,
        active_admins=active_admins,
    )
    item.save(condition=TenantModel.tenant_id.does_not_exist())
    return tenant


def get_tenant(tenant_id: str) -> Tenant:
    try:
        return _tenant(TenantModel.get(tenant_id))
    except DoesNotExist as exc:
        raise NotFound("tenant not found") from exc


def get_tenants(tenant_ids: Iterable[str]) -> list[Tenant]:
    """Several tenants by id with BatchGetItem (100 keys a request); missing ids are skipped."""
    keys = sorted(set(tenant_ids))
    return [_tenant(item) for item in TenantModel.batch_get(keys)] if keys else []


def update_tenant_settings(tenant_id: str, settings: dict[str, Any]) -> Tenant:
    item = TenantModel(tenant_id)
    item.update(
        actions=[TenantModel.settings.set(settings)],
        condition=TenantModel.tenant_id.exists(),
    )
    return _tenant(item)


def _user_item(user: User) -> UserModel:
    return UserModel(
        user.tenant_id,
        user.user_id,
        email=user.email,
        name=user.name,
        role=user.role,
        manager_id=user.manager_id,
        active=user.active,
        created_at=user.created_at,
        preferences=user.preferences,
    )


def create_user(user: User) -> User:
    """Store a new user as it is (the tenant's admin count untouched: see create_user_counted)."""
    item = _user_item(user)
    try:
        item.save(condition=UserModel.user_id.does_not_exist())
    except PutError as exc:
        raise Conflict("user exists", {"email": "already registered"}) from exc
    return user


def get_user(tenant_id: str, user_id: str, *, consistent: bool = False) -> User:
    try:
        return _user(UserModel.get(tenant_id, user_id, consistent_read=consistent))
    except DoesNotExist as exc:
        raise NotFound("user not found") from exc


def find_user_by_email(email: str) -> User | None:
    for item in UserModel.by_email.query(email.lower(), limit=1):
        return _user(item)
    return None


def list_users(tenant_id: str, *, limit: int, cursor: str | None) -> Page[User]:
    return query_page(
        UserModel, tenant_id, scope=f"users:{tenant_id}", limit=limit, cursor=cursor, convert=_user
    )


def all_users(tenant_id: str) -> list[User]:
    """Every user of a tenant (staff lists are small: tens, at most a few hundred)."""
    return [_user(item) for item in UserModel.query(tenant_id)]


def update_user(tenant_id: str, user_id: str, changes: dict[str, Any]) -> User:
    item = UserModel(tenant_id, user_id)
    actions = [
        getattr(UserModel, name).remove() if value is None else getattr(UserModel, name).set(value)
        for name, value in changes.items()
    ]
    if not actions:
        return get_user(tenant_id, user_id)
    try:
        item.update(actions=actions, condition=UserModel.user_id.exists())
    except Exception as exc:
        if is_condition_failure(exc):
            raise NotFound("user not found") from exc
        raise
    return _user(item)


# ------------------------------------------------------------------ the tenant's active admins


def is_active_admin(user: User) -> bool:
    return user.role == "admin" and user.active


def count_active_admins(tenant_id: str) -> int:
    """Active admins counted from the users themselves: one Query of the tenant's partition."""
    condition = (UserModel.role == "admin") & (UserModel.active == True)  # noqa: E712
    return sum(1 for _ in UserModel.query(tenant_id, filter_condition=condition))


def _seed_admin_counter(tenant_id: str) -> None:
    """Give a tenant stored before ``active_admins`` existed its count (once; a concurrent seed
    wins). Changes in flight while it counts are the one window left: it is taken once."""
    try:
        TenantModel(tenant_id).update(
            actions=[TenantModel.active_admins.set(count_active_admins(tenant_id))],
            condition=TenantModel.tenant_id.exists() & TenantModel.active_admins.does_not_exist(),
        )
    except Exception as exc:
        if not is_condition_failure(exc):
            raise


def _counter_missing(tenant_id: str) -> bool:
    try:
        item = TenantModel.get(tenant_id, consistent_read=True)
    except DoesNotExist as exc:
        raise NotFound("tenant not found") from exc
    return item.active_admins is None


def _failed(exc: TransactWriteError) -> list[bool]:
    """Which items of a cancelled transaction failed their condition, in order."""
    reasons = getattr(exc, "cancellation_reasons", None) or []
    return [r is not None and r.code == "ConditionalCheckFailed" for r in reasons]


def _adjust_admins(tx: TransactWrite, tenant_id: str, delta: int) -> None:
    # Removing one needs another left; adding one needs the count to exist (see above).
    condition: Condition = (
        TenantModel.active_admins > -delta if delta < 0 else TenantModel.active_admins.exists()
    )
    tx.update(
        TenantModel(tenant_id),
        actions=[TenantModel.active_admins.add(delta)],
        condition=condition,
    )


def create_user_counted(user: User) -> User:
    """Store a new user; an active admin is added to the tenant's count in one transaction."""
    if not is_active_admin(user):
        return create_user(user)
    connection = UserModel._get_connection().connection
    for attempt in range(2):
        try:
            with TransactWrite(connection=connection) as tx:
                tx.save(_user_item(user), condition=UserModel.user_id.does_not_exist())
                _adjust_admins(tx, user.tenant_id, +1)
            return user
        except TransactWriteError as exc:
            failed = _failed(exc)
            if failed[:1] == [True]:
                raise Conflict("user exists", {"email": "already registered"}) from exc
            if attempt == 0 and failed[1:2] == [True] and _counter_missing(user.tenant_id):
                _seed_admin_counter(user.tenant_id)
                continue
            raise
    raise AssertionError("unreachable")


def change_user_checked(before: User, changes: dict[str, Any]) -> User:
    """Apply ``changes`` to the user read as ``before``, refusing if it changed since.

    A change that takes away the tenant's last active admin raises :class:`LastActiveAdmin`;
    a user changed meanwhile (role or active) raises ``Conflict``; a user gone, ``NotFound``.
    Nothing is written in any of those cases.
    """
    after = replace(before, **changes)
    delta = int(is_active_admin(after)) - int(is_active_admin(before))
    actions = [
        getattr(UserModel, name).remove() if value is None else getattr(UserModel, name).set(value)
        for name, value in changes.items()
    ]
    if not actions:
        return before
    unchanged = (
        UserModel.user_id.exists()
        & (UserModel.role == before.role)
        & (UserModel.active == before.active)
    )
    item = UserModel(before.tenant_id, before.user_id)
    if delta == 0:
        try:
            item.update(actions=actions, condition=unchanged)
        except Exception as exc:
            if is_condition_failure(exc):
                _refuse_changed(before)
            raise
        return _user(item)
    connection = UserModel._get_connection().connection
    for attempt in range(2):
        try:
            with TransactWrite(connection=connection) as tx:
                tx.update(item, actions=actions, condition=unchanged)
                _adjust_admins(tx, before.tenant_id, delta)
            return after
        except TransactWriteError as exc:
            failed = _failed(exc)
            if failed[:1] == [True]:
                _refuse_changed(before)
            if failed[1:2] == [True]:
                if attempt == 0 and _counter_missing(before.tenant_id):
                    _seed_admin_counter(before.tenant_id)
                    continue
                raise LastActiveAdmin("a tenant needs at least one active admin") from exc
            raise
    raise AssertionError("unreachable")


def _refuse_changed(before: User) -> None:
    get_user(before.tenant_id, before.user_id, consistent=True)  # NotFound when it is gone
    raise Conflict(
        "the user was changed meanwhile; reload and try again", {"user_id": "changed meanwhile"}
    )
