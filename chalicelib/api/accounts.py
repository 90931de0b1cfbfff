"""Accounts (client companies) and contacts (client stakeholders)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from chalice.app import Blueprint
from pydantic import Field, field_validator

from chalicelib.api import models
from chalicelib.api.access import account_for, contact_for
from chalicelib.api.routing import NOT_NULL, Body, PageQuery, page_body, staff_route
from chalicelib.api.types import Email, IsoDate, Name
from chalicelib.auth.tokens import Principal
from chalicelib.services import accounts as service
from chalicelib.services import pulses
from chalicelib.store import accounts as store

bp = Blueprint(__name__)

MAX_CONTACTS_PER_ACCOUNT = service.MAX_CONTACTS_PER_ACCOUNT
Currency = Field(default="USD", pattern=r"^[A-Z]{3}$")


class AccountBody(Body):
    name: Name
    owner_id: str | None = Field(default=None, max_length=80)
    arr: int = Field(default=0, ge=0, le=10**15, description="annual revenue, integer minor units")
    currency: str = Currency
    renewal_date: IsoDate | None = None
    stage: str = Field(default="onboarding", max_length=40)


class AccountPatch(Body):
    # Left out keeps the value; only renewal_date may be cleared with null.
    name: Annotated[Name | None, NOT_NULL] = None
    owner_id: Annotated[str | None, NOT_NULL] = Field(default=None, max_length=80)
    arr: Annotated[int | None, NOT_NULL] = Field(default=None, ge=0, le=10**15)
    currency: Annotated[str | None, NOT_NULL] = Field(default=None, pattern=r"^[A-Z]{3}$")
    renewal_date: IsoDate | None = None
    stage: Annotated[str | None, NOT_NULL] = Field(default=None, max_length=40)


class AccountListQuery(PageQuery):
    owner_id: str | None = Field(default=None, max_length=80)


class ContactBody(Body):
    name: Name
    email: Email
    title: str = Field(default="", max_length=200)


class ContactPatch(Body):
    name: Name | None = None
    email: Email | None = None
    title: str | None = Field(default=None, max_length=200)
    # Staff may record an opt-out the client asked for by other means ("true"); only the
    # contact's own link in a mail can clear it (``POST /unsubscribe/{token}/resubscribe``).
    unsubscribed: Annotated[Literal[True] | None, NOT_NULL] = Field(
        default=None, description="only true: mark as opted out on the client's request"
    )

    @field_validator("unsubscribed", mode="before")
    @classmethod
    def _only_opt_out(cls, value: Any) -> Any:
        if value is False:
            raise ValueError(
                "only the contact can subscribe again, with the link in one of their emails"
            )
        return value


@staff_route(
    bp, "/accounts", query=AccountListQuery, tag="accounts", response=models.Page[models.Account]
)
def list_accounts(principal: Principal, query: AccountListQuery) -> dict[str, Any]:
    """Accounts: all of them for admins and senior managers, their own for account managers."""
    owner = query.owner_id
    if not principal.sees_all_accounts:
        owner = principal.user_id
    page = store.list_accounts(
        principal.tenant_id, owner_id=owner, limit=query.limit, cursor=query.cursor
    )
    page.items = pulses.with_live_scores(principal.tenant_id, page.items)
    return page_body(page)


@staff_route(
    bp,
    "/accounts",
    methods=["POST"],
    body=AccountBody,
    status=201,
    tag="accounts",
    response=models.Account,
)
def create_account(principal: Principal, body: AccountBody) -> dict[str, Any]:
    """Create an account. Account managers create accounts they own."""
    return service.create_account(
        principal,
        name=body.name,
        owner_id=body.owner_id,
        arr=body.arr,
        currency=body.currency,
        renewal_date=body.renewal_date,
        stage=body.stage,
    ).to_api()


@staff_route(bp, "/accounts/{account_id}", tag="accounts", response=models.Account)
def get_account(principal: Principal, account_id: str) -> dict[str, Any]:
    """One account, with today's SuccessScore."""
    account = account_for(principal, account_id)
    return pulses.with_live_scores(principal.tenant_id, [account])[0].to_api()


@staff_route(
    bp,
    "/accounts/{account_id}",
    methods=["PATCH"],
    body=AccountPatch,
    tag="accounts",
    response=models.Account,
)
def patch_account(principal: Principal, account_id: str, body: AccountPatch) -> dict[str, Any]:
    """Change an account's fields."""
    account = account_for(principal, account_id)
    changes = body.model_dump(exclude_unset=True)
    return service.update_account(principal, account, changes).to_api()


@staff_route(bp, "/accounts/{account_id}", methods=["DELETE"], status=204, tag="accounts")
def delete_account(principal: Principal, account_id: str) -> None:
    """Delete an account with its contacts and everything kept about it."""
    account_for(principal, account_id)
    store.delete_account(principal.tenant_id, account_id)


@staff_route(
    bp,
    "/accounts/{account_id}/contacts",
    query=PageQuery,
    tag="accounts",
    response=models.Page[models.Contact],
)
def list_contacts(principal: Principal, account_id: str, query: PageQuery) -> dict[str, Any]:
    """An account's contacts."""
    account_for(principal, account_id)
    page = store.list_contacts(
        principal.tenant_id, account_id, limit=query.limit, cursor=query.cursor
    )
    return page_body(page)


@staff_route(
    bp,
    "/accounts/{account_id}/contacts",
    methods=["POST"],
    body=ContactBody,
    status=201,
    tag="accounts",
    response=models.Contact,
)
def create_contact(principal: Principal, account_id: str, body: ContactBody) -> dict[str, Any]:
    """Add a contact to an account."""
    account = account_for(principal, account_id)
    return service.add_contact(
        principal, account, name=body.name, email=body.email, title=body.title
    ).to_api()


@staff_route(
    bp,
    "/contacts/{contact_id}",
    methods=["PATCH"],
    body=ContactPatch,
    tag="accounts",
    response=models.Contact,
)
def patch_contact(principal: Principal, contact_id: str, body: ContactPatch) -> dict[str, Any]:
    """Change a contact. A new email revokes the survey and unsubscribe links sent so far."""
    contact, _ = contact_for(principal, contact_id)
    return service.update_contact(principal, contact, body.model_dump(exclude_unset=True)).to_api()


@staff_route(bp, "/contacts/{contact_id}", methods=["DELETE"], status=204, tag="accounts")
def delete_contact(principal: Principal, contact_id: str) -> None:
    """Remove a contact."""
    contact_for(principal, contact_id)
    store.delete_contact(principal.tenant_id, contact_id)
