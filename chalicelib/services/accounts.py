"""Accounts and contacts: the use cases the JSON API and the staff web app share.

Callers resolve access first (``chalicelib/api/access.py``: another tenant's id and another
manager's account are both 404); these functions apply the rules (owners, stages, contact
limits) and write. Every rule failure is a ``ValidationFailed`` naming the field, raised before
anything is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from chalicelib.auth.tokens import Principal
from chalicelib.domain.entities import DEFAULT_STAGES, Account, Contact, User
from chalicelib.domain.reports import days_since
from chalicelib.errors import NotFound, ValidationFailed
from chalicelib.services import reports
from chalicelib.store import accounts as store
from chalicelib.store import opt_outs
from chalicelib.store import tenants as tenant_store
from chalicelib.store.base import decode_cursor, encode_cursor, new_id, now_iso

MAX_CONTACTS_PER_ACCOUNT = 500
SEARCH_PAGE_SIZE = 50


def stages(tenant_id: str) -> tuple[str, ...]:
    settings = tenant_store.get_tenant(tenant_id).settings
    return tuple(settings.get("stages") or DEFAULT_STAGES)


def check_owner(principal: Principal, owner_id: str) -> None:
    try:
        owner = tenant_store.get_user(principal.tenant_id, owner_id)
    except NotFound as exc:
        raise ValidationFailed({"owner_id": "no such user"}) from exc
    if not owner.active:
        raise ValidationFailed({"owner_id": "that user is inactive"})


def owners(principal: Principal) -> list[User]:
    """The active users an account may be given to, by name."""
    users = [u for u in tenant_store.all_users(principal.tenant_id) if u.active]
    return sorted(users, key=lambda u: (u.name.casefold(), u.email))


def create_account(
    principal: Principal,
    *,
    name: str,
    owner_id: str | None,
    arr: int,
    currency: str,
    renewal_date: str | None,
    stage: str,
) -> Account:
    """Create an account. Account managers create accounts they own."""
    owner = owner_id or principal.user_id
    if not principal.sees_all_accounts and owner != principal.user_id:
        raise ValidationFailed({"owner_id": "account managers create their own accounts"})
    check_owner(principal, owner)
    if stage not in stages(principal.tenant_id):
        raise ValidationFailed({"stage": "not one of this workspace's stages"})
    account = Account(
        tenant_id=principal.tenant_id,
        account_id=new_id("acc"),
        name=name,
        owner_id=owner,
        arr=arr,
        currency=currency,
        renewal_date=renewal_date,
        stage=stage,
        created_at=now_iso(),
    )
    return store.create_account(account)


def update_account(principal: Principal, account: Account, changes: dict[str, Any]) -> Account:
    """Change an account's fields (``changes`` holds only the fields given)."""
    for key in ("name", "arr", "currency", "stage", "owner_id"):
        if key in changes and changes[key] is None:
            raise ValidationFailed({key: "may not be null"})
    if "owner_id" in changes:
        if not principal.sees_all_accounts and changes["owner_id"] != principal.user_id:
            raise ValidationFailed({"owner_id": "only managers reassign accounts"})
        check_owner(principal, changes["owner_id"])
    if "stage" in changes and changes["stage"] not in stages(principal.tenant_id):
        raise ValidationFailed({"stage": "not one of this workspace's stages"})
    return store.update_account(principal.tenant_id, account.account_id, changes)


def add_contact(
    principal: Principal, account: Account, *, name: str, email: str, title: str
) -> Contact:
    existing = store.account_contacts(principal.tenant_id, account.account_id)
    if len(existing) >= MAX_CONTACTS_PER_ACCOUNT:
        raise ValidationFailed({"account_id": f"at most {MAX_CONTACTS_PER_ACCOUNT} contacts"})
    if any(c.email == email for c in existing):
        raise ValidationFailed({"email": "already a contact of this account"})
    contact = Contact(
        tenant_id=principal.tenant_id,
        contact_id=new_id("con"),
        account_id=account.account_id,
        name=name,
        email=email,
        title=title,
        # An address that opted out of this tenant's mail stays out, whatever record it had.
        unsubscribed=opt_outs.is_opted_out(principal.tenant_id, email),
        suppressed=False,
        created_at=now_iso(),
    )
    return store.create_contact(contact)


def update_contact(principal: Principal, contact: Contact, changes: dict[str, Any]) -> Contact:
    """Change a contact. A new email revokes the survey and unsubscribe links sent so far."""
    changes = {k: v for k, v in changes.items() if v is not None}
    if changes.get("email") == contact.email:
        del changes["email"]  # the same address: its links stay valid
    email = changes.get("email", contact.email)
    if changes.get("unsubscribed"):
        # Staff record an opt-out the person asked for by phone or mail; it is kept by address.
        opt_outs.record(principal.tenant_id, email, "staff")
    elif "email" in changes:
        # The opt-out belongs to the address: a new address carries its own.
        changes["unsubscribed"] = opt_outs.is_opted_out(principal.tenant_id, email)
    return store.update_contact(principal.tenant_id, contact.contact_id, changes)


def contacts(principal: Principal, account: Account) -> list[Contact]:
    return sorted(
        store.account_contacts(principal.tenant_id, account.account_id),
        key=lambda c: (c.name.casefold(), c.email),
    )


# --------------------------------------------------------------------------------- search

SORTS = ("name", "success_score", "arr", "days_since_pulse", "renewal")


@dataclass(frozen=True)
class AccountSearch:
    text: str = ""
    level: str = ""  # "1".."6", "none" (no pulse yet) or "" (any)
    owner_id: str = ""
    stage: str = ""
    renewal_within: int | None = None  # days ahead; past renewals always included
    sort: str = "name"
    descending: bool = False

    def scope(self, principal: Principal) -> str:
        return "|".join(
            (
                "web-accounts",
                principal.tenant_id,
                principal.user_id,
                self.text,
                self.level,
                self.owner_id,
                self.stage,
                str(self.renewal_within),
                self.sort,
                str(self.descending),
            )
        )


@dataclass
class SearchPage:
    items: list[dict[str, Any]]
    total: int
    next_cursor: str | None


def _matches(account: Account, search: AccountSearch, today: date) -> bool:
    if search.text and search.text.casefold() not in account.name.casefold():
        return False
    if search.level == "none" and account.pulse_level is not None:
        return False
    if search.level not in ("", "none") and str(account.pulse_level) != search.level:
        return False
    if search.owner_id and account.owner_id != search.owner_id:
        return False
    if search.stage and account.stage != search.stage:
        return False
    if search.renewal_within is not None:
        if not account.renewal_date:
            return False
        try:
            days = (date.fromisoformat(account.renewal_date) - today).days
        except ValueError:
            return False
        if days > search.renewal_within:
            return False
    return True


def _sort_key(search: AccountSearch, today: date) -> Any:
    def key(account: Account) -> tuple[Any, ...]:
        name = account.name.casefold()
        value: Any
        if search.sort == "success_score":
            value = account.success_score
        elif search.sort == "arr":
            value = account.arr
        elif search.sort == "days_since_pulse":
            value = days_since(account.pulse_set_at, today)
        elif search.sort == "renewal":
            value = account.renewal_date
        else:
            value = name
        # Accounts without the value come last in either direction.
        missing = value is None
        return (missing, value if not missing else 0, name)

    return key


def search(
    principal: Principal,
    search: AccountSearch,
    *,
    cursor: str | None = None,
    limit: int = SEARCH_PAGE_SIZE,
) -> SearchPage:
    """The caller's accounts (all of the tenant's, or an account manager's own: one Query,
    never a Scan) filtered and sorted, a page at a time. The cursor is signed for this caller
    and these filters, like every list cursor."""
    today = reports.today()
    accounts = reports.scoped_accounts(principal)
    if not principal.sees_all_accounts:
        search = AccountSearch(**{**search.__dict__, "owner_id": ""})
    key = _sort_key(search, today)
    matched = [a for a in accounts if _matches(a, search, today)]
    present = sorted((a for a in matched if not key(a)[0]), key=key, reverse=search.descending)
    absent = sorted((a for a in matched if key(a)[0]), key=lambda a: a.name.casefold())
    ordered: Sequence[Account] = present + absent
    start = 0
    position = decode_cursor(cursor, search.scope(principal))
    if position is not None:
        start = max(int(position.get("offset", 0)), 0)
    chunk = ordered[start : start + limit]
    end = start + len(chunk)
    next_cursor = (
        encode_cursor({"offset": end}, search.scope(principal)) if end < len(ordered) else None
    )
    rows = []
    for account in chunk:
        rows.append(
            {
                "id": account.account_id,
                "name": account.name,
                "owner_id": account.owner_id,
                "level": account.pulse_level,
                "success_score": account.success_score,
                "arr": account.arr,
                "currency": account.currency,
                "stage": account.stage,
                "renewal_date": account.renewal_date,
                "days_since_pulse": days_since(account.pulse_set_at, today),
            }
        )
    return SearchPage(rows, len(ordered), next_cursor)
