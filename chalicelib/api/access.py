"""Who may see which account. Shared by every blueprint that takes an account or contact id."""

from __future__ import annotations

from chalicelib.auth.tokens import Principal
from chalicelib.domain.entities import Account, Contact
from chalicelib.errors import NotFound
from chalicelib.store import accounts as store


def can_see(principal: Principal, account: Account) -> bool:
    return principal.sees_all_accounts or account.owner_id == principal.user_id


def account_for(principal: Principal, account_id: str) -> Account:
    """The account, if this principal may reach it. Another tenant's id and another manager's
    account both answer 404: the caller learns nothing about what exists."""
    account = store.get_account(principal.tenant_id, account_id)
    if not can_see(principal, account):
        raise NotFound("account not found")
    return account


def contact_for(principal: Principal, contact_id: str) -> tuple[Contact, Account]:
    contact = store.get_contact(principal.tenant_id, contact_id)
    try:
        account = account_for(principal, contact.account_id)
    except NotFound as exc:
        raise NotFound("contact not found") from exc
    return contact, account
