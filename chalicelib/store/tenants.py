"""Tenants and staff users."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    NumberAttribute,
    UnicodeAttribute,
)
from pynamodb.exceptions import DoesNotExist, PutError
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

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


def create_tenant(tenant: Tenant) -> Tenant:
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


def create_user(user: User) -> User:
    item = UserModel(
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
