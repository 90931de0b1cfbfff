"""Accounts (client companies) and their contacts (client stakeholders)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    NumberAttribute,
    UnicodeAttribute,
)
from pynamodb.exceptions import DoesNotExist
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.domain.entities import Account, Contact
from chalicelib.errors import NotFound
from chalicelib.store.base import BaseMeta, Page, is_condition_failure, query_page, table_name


class AccountOwnerIndex(GlobalSecondaryIndex["AccountModel"]):
    """Accounts by owner: an account manager's own list, without reading the tenant's."""

    class Meta:
        index_name = "by-owner"
        projection = AllProjection()

    owner_key = UnicodeAttribute(hash_key=True)  # "<tenant_id>#<owner_id>"
    account_id = UnicodeAttribute(range_key=True)


class AccountModel(Model):
    class Meta(BaseMeta):
        table_name = table_name("accounts")

    tenant_id = UnicodeAttribute(hash_key=True)
    account_id = UnicodeAttribute(range_key=True)
    name = UnicodeAttribute()
    owner_id = UnicodeAttribute()
    owner_key = UnicodeAttribute()
    arr = NumberAttribute(default=0)
    currency = UnicodeAttribute(default="USD")
    renewal_date = UnicodeAttribute(null=True)
    stage = UnicodeAttribute()
    created_at = UnicodeAttribute()
    pulse_level = NumberAttribute(null=True)
    pulse_set_at = UnicodeAttribute(null=True)
    success_score = NumberAttribute(null=True)
    # Kept by the pulse store (chalicelib/store/pulses.py), only inside its transaction:
    pulse_id = UnicodeAttribute(null=True)
    pulse_seq = NumberAttribute(null=True)  # pulses so far; the transaction's version check
    risk_factors = ListAttribute(of=UnicodeAttribute, null=True)
    success_factors = ListAttribute(of=UnicodeAttribute, null=True)
    score_state = JSONAttribute(null=True)  # success_score.ScoreState.to_dict()
    by_owner = AccountOwnerIndex()


class ContactAccountIndex(GlobalSecondaryIndex["ContactModel"]):
    """Contacts of one account."""

    class Meta:
        index_name = "by-account"
        projection = AllProjection()

    account_key = UnicodeAttribute(hash_key=True)  # "<tenant_id>#<account_id>"
    contact_id = UnicodeAttribute(range_key=True)


class ContactModel(Model):
    class Meta(BaseMeta):
        table_name = table_name("contacts")

    tenant_id = UnicodeAttribute(hash_key=True)
    contact_id = UnicodeAttribute(range_key=True)
    account_id = UnicodeAttribute()
    account_key = UnicodeAttribute()
    name = UnicodeAttribute()
    email = UnicodeAttribute()
    title = UnicodeAttribute(default="")
    unsubscribed = BooleanAttribute(default=False)
    suppressed = BooleanAttribute(default=False)
    created_at = UnicodeAttribute()
    links_version = NumberAttribute(default=0)  # +1 with every change of email
    by_account = ContactAccountIndex()


def owner_key(tenant_id: str, owner_id: str) -> str:
    return f"{tenant_id}#{owner_id}"


def account_key(tenant_id: str, account_id: str) -> str:
    return f"{tenant_id}#{account_id}"


def to_account(item: AccountModel) -> Account:
    return Account(
        tenant_id=item.tenant_id,
        account_id=item.account_id,
        name=item.name,
        owner_id=item.owner_id,
        arr=int(item.arr or 0),
        currency=item.currency,
        renewal_date=item.renewal_date,
        stage=item.stage,
        created_at=item.created_at,
        pulse_level=None if item.pulse_level is None else int(item.pulse_level),
        pulse_set_at=item.pulse_set_at,
        success_score=None if item.success_score is None else float(item.success_score),
        risk_factors=[str(code) for code in item.risk_factors or []],
        success_factors=[str(code) for code in item.success_factors or []],
        score_state=item.score_state,
    )


def to_contact(item: ContactModel) -> Contact:
    return Contact(
        tenant_id=item.tenant_id,
        contact_id=item.contact_id,
        account_id=item.account_id,
        name=item.name,
        email=item.email,
        title=item.title or "",
        unsubscribed=bool(item.unsubscribed),
        suppressed=bool(item.suppressed),
        created_at=item.created_at,
        links_version=int(item.links_version or 0),
    )


def create_account(account: Account) -> Account:
    AccountModel(
        account.tenant_id,
        account.account_id,
        name=account.name,
        owner_id=account.owner_id,
        owner_key=owner_key(account.tenant_id, account.owner_id),
        arr=account.arr,
        currency=account.currency,
        renewal_date=account.renewal_date,
        stage=account.stage,
        created_at=account.created_at,
    ).save(condition=AccountModel.account_id.does_not_exist())
    return account


def get_account(tenant_id: str, account_id: str) -> Account:
    try:
        return to_account(AccountModel.get(tenant_id, account_id))
    except DoesNotExist as exc:
        raise NotFound("account not found") from exc


def list_accounts(
    tenant_id: str, *, owner_id: str | None, limit: int, cursor: str | None
) -> Page[Account]:
    if owner_id is not None:
        key = owner_key(tenant_id, owner_id)
        return query_page(
            AccountModel,
            key,
            index=AccountModel.by_owner,
            scope=f"accounts:{key}",
            limit=limit,
            cursor=cursor,
            convert=to_account,
        )
    return query_page(
        AccountModel,
        tenant_id,
        scope=f"accounts:{tenant_id}",
        limit=limit,
        cursor=cursor,
        convert=to_account,
    )


def iter_accounts(tenant_id: str) -> list[Account]:
    """Every account of a tenant, page by page (jobs and reports, never a Scan)."""
    return [to_account(item) for item in AccountModel.query(tenant_id)]


def iter_owner_accounts(tenant_id: str, owner_id: str) -> list[Account]:
    """Every account one manager owns, from the by-owner index (reports for account managers)."""
    key = owner_key(tenant_id, owner_id)
    return [to_account(item) for item in AccountModel.by_owner.query(key)]


def update_account(tenant_id: str, account_id: str, changes: dict[str, Any]) -> Account:
    item = AccountModel(tenant_id, account_id)
    if "owner_id" in changes:
        changes = {**changes, "owner_key": owner_key(tenant_id, changes["owner_id"])}
    actions = [
        getattr(AccountModel, k).remove() if v is None else getattr(AccountModel, k).set(v)
        for k, v in changes.items()
    ]
    if not actions:
        return get_account(tenant_id, account_id)
    try:
        item.update(actions=actions, condition=AccountModel.account_id.exists())
    except Exception as exc:
        if is_condition_failure(exc):
            raise NotFound("account not found") from exc
        raise
    return to_account(item)


# Other areas (reviews, pulses, …) register what they keep per account, so deleting an account
# leaves nothing behind that a later job could trip on.
ACCOUNT_CASCADE: list[Callable[[str, str], None]] = []


def delete_account(tenant_id: str, account_id: str) -> None:
    """Delete an account and what hangs off it; safe to run again after an interruption."""
    with ContactModel.batch_write() as batch:
        for contact in ContactModel.by_account.query(account_key(tenant_id, account_id)):
            batch.delete(contact)
    for cascade in ACCOUNT_CASCADE:
        cascade(tenant_id, account_id)
    # The account goes last: an interrupted delete can be retried and finishes the job.
    AccountModel(tenant_id, account_id).delete()


def create_contact(contact: Contact) -> Contact:
    ContactModel(
        contact.tenant_id,
        contact.contact_id,
        account_id=contact.account_id,
        account_key=account_key(contact.tenant_id, contact.account_id),
        name=contact.name,
        email=contact.email,
        title=contact.title,
        unsubscribed=contact.unsubscribed,
        suppressed=contact.suppressed,
        created_at=contact.created_at,
        links_version=contact.links_version,
    ).save(condition=ContactModel.contact_id.does_not_exist())
    return contact


def get_contact(tenant_id: str, contact_id: str) -> Contact:
    try:
        return to_contact(ContactModel.get(tenant_id, contact_id))
    except DoesNotExist as exc:
        raise NotFound("contact not found") from exc


def list_contacts(
    tenant_id: str, account_id: str, *, limit: int, cursor: str | None
) -> Page[Contact]:
    key = account_key(tenant_id, account_id)
    return query_page(
        ContactModel,
        key,
        index=ContactModel.by_account,
        scope=f"contacts:{key}",
        limit=limit,
        cursor=cursor,
        convert=to_contact,
    )


def account_contacts(tenant_id: str, account_id: str) -> list[Contact]:
    key = account_key(tenant_id, account_id)
    return [to_contact(item) for item in ContactModel.by_account.query(key)]


def update_contact(
    tenant_id: str,
    contact_id: str,
    changes: dict[str, Any],
    *,
    links_version: int | None = None,
) -> Contact:
    """Apply ``changes``. A change of email also revokes every link mailed so far (in the same
    write, so no link to the old address survives it). With ``links_version`` the change applies
    only while the contact's links are still at that version (NotFound otherwise)."""
    item = ContactModel(tenant_id, contact_id)
    actions = [getattr(ContactModel, k).set(v) for k, v in changes.items()]
    if not actions:
        return get_contact(tenant_id, contact_id)
    if "email" in changes:
        actions.append(ContactModel.links_version.add(1))
    condition = ContactModel.contact_id.exists()
    if links_version is not None:
        same = ContactModel.links_version == links_version
        if links_version == 0:  # contacts written before the attribute existed
            same = same | ContactModel.links_version.does_not_exist()
        condition &= same
    try:
        item.update(actions=actions, condition=condition)
    except Exception as exc:
        if is_condition_failure(exc):
            raise NotFound("contact not found") from exc
        raise
    return to_contact(item)


def delete_contact(tenant_id: str, contact_id: str) -> None:
    try:
        ContactModel(tenant_id, contact_id).delete(condition=ContactModel.contact_id.exists())
    except Exception as exc:
        if is_condition_failure(exc):
            raise NotFound("contact not found") from exc
        raise
