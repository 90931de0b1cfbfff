"""Every table model in one list: local provisioning, tests and the CloudFormation template all
create tables from these definitions, so the schema exists once."""

from __future__ import annotations

from pynamodb.models import Model

from chalicelib.store.accounts import AccountModel, ContactModel
from chalicelib.store.notifications import NotificationModel
from chalicelib.store.tenants import TenantModel, UserModel

MODELS: tuple[type[Model], ...] = (
    TenantModel,
    UserModel,
    AccountModel,
    ContactModel,
    NotificationModel,
)
