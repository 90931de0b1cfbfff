"""Accounts pages: the list (search, filters, sort, pages), new and edit forms, a summary page
per account, and its contacts' forms. Access is the API's (``api/access.py``): another tenant's
id and another manager's account both answer the 404 page."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from chalice.app import Response
from pydantic import AfterValidator, Field, field_validator

from chalicelib.api.access import account_for, contact_for
from chalicelib.api.types import Email, IsoDate, Name
from chalicelib.domain.entities import Account
from chalicelib.domain.pulse_scale import LEVELS
from chalicelib.domain.text import single_line
from chalicelib.errors import BadRequest, ValidationFailed
from chalicelib.services import accounts as service
from chalicelib.services import pulses, reports
from chalicelib.web import forms
from chalicelib.web.routing import Page, page_route

ACCOUNT_LABELS = {
    "name": "Name",
    "owner_id": "Owner",
    "arr": "Annual revenue (ARR)",
    "currency": "Currency",
    "renewal_date": "Renewal date",
    "stage": "Stage",
}
CONTACT_LABELS = {"name": "Name", "email": "Email", "title": "Title"}
SORT_LABELS = {
    "name": "Name",
    "success_score": "SuccessScore",
    "arr": "ARR",
    "days_since_pulse": "Days since pulse",
    "renewal": "Renewal date",
}
RENEWAL_WINDOWS = (("30", "Within 30 days"), ("90", "Within 90 days"), ("180", "Within 180 days"))
MAX_ARR_MINOR = 10**15
Title = Annotated[str, Field(max_length=200), AfterValidator(single_line)]


def _minor_units(value: str) -> int:
    """``"1,200.50"`` → 120050. Whole or with at most two decimals; never negative."""
    text = value.replace(",", "").strip()
    try:
        amount = Decimal(text)
    except InvalidOperation as exc:
        raise ValueError("enter an amount such as 120000 or 120000.50") from exc
    if not amount.is_finite() or amount < 0:
        raise ValueError("enter an amount of 0 or more")
    if amount != amount.quantize(Decimal("0.01")):
        raise ValueError("use at most two decimal places")
    minor = int(amount * 100)
    if minor > MAX_ARR_MINOR:
        raise ValueError("that amount is too large")
    return minor


class AccountForm(forms.Form):
    name: Name
    owner_id: str | None = Field(default=None, max_length=80)
    arr: int = 0
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    renewal_date: IsoDate | None = None
    stage: str = Field(default="onboarding", max_length=40)

    @field_validator("arr", mode="before")
    @classmethod
    def _arr(cls, value: Any) -> int:
        return _minor_units(str(value))

    @field_validator("currency", mode="before")
    @classmethod
    def _currency(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value


class ContactForm(forms.Form):
    name: Name
    email: Email
    title: Title = ""


def _arr_text(minor: int) -> str:
    whole, cents = divmod(int(minor or 0), 100)
    return f"{whole}.{cents:02d}" if cents else str(whole)


def _owner_names(page: Page) -> dict[str, str]:
    return {u.user_id: u.name or u.email for u in service.owners(page.user)}


# ------------------------------------------------------------------------------------ list


@page_route("/app/accounts")
def accounts_list(page: Page) -> Response:
    q = page.query
    stages = service.stages(page.user.tenant_id)
    sort = q.get("sort", "name") if q.get("sort") in service.SORTS else "name"
    level = q.get("level", "")
    if level not in {"", "none", *(str(int(lv)) for lv in LEVELS)}:
        level = ""
    within = q.get("renewal", "")
    if within not in {w for w, _ in RENEWAL_WINDOWS}:
        within = ""
    search = service.AccountSearch(
        text=q.get("q", "").strip()[:200],
        level=level,
        owner_id=q.get("owner", "")[:80] if page.user.sees_all_accounts else "",
        stage=q.get("stage", "") if q.get("stage", "") in stages else "",
        renewal_within=int(within) if within else None,
        sort=sort,
        descending=q.get("dir") == "desc",
    )
    try:
        result = service.search(page.user, search, cursor=q.get("cursor") or None)
    except BadRequest:
        result = service.search(page.user, search)  # a stale or foreign cursor: first page
    owners = _owner_names(page)
    next_query = {k: v for k, v in q.items() if k != "cursor" and v}
    if result.next_cursor:
        next_query["cursor"] = result.next_cursor
    return page.render(
        "web/accounts.html",
        title="Accounts",
        result=result,
        search=search,
        owners=owners,
        stages=stages,
        levels=[(str(int(lv)), lv.label) for lv in LEVELS] + [("none", "Not set")],
        renewal_windows=RENEWAL_WINDOWS,
        sorts=list(SORT_LABELS.items()),
        next_query=next_query if result.next_cursor else None,
        first_query={k: v for k, v in q.items() if k != "cursor" and v},
        paged=bool(q.get("cursor")),
    )


# ---------------------------------------------------------------------------- account forms


def _account_form(
    page: Page,
    *,
    account: Account | None,
    values: dict[str, str],
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    return page.render(
        "web/account_form.html",
        status=status,
        title=f"Edit {account.name}" if account else "New account",
        account=account,
        values=values,
        errors=errors or {},
        labels=ACCOUNT_LABELS,
        owners=[(u.user_id, u.name or u.email) for u in service.owners(page.user)],
        stages=service.stages(page.user.tenant_id),
    )


def _account_values(account: Account) -> dict[str, str]:
    return {
        "name": account.name,
        "owner_id": account.owner_id,
        "arr": _arr_text(account.arr),
        "currency": account.currency,
        "renewal_date": account.renewal_date or "",
        "stage": account.stage,
    }


@page_route("/app/accounts/new")
def account_new(page: Page) -> Response:
    values = {"owner_id": page.user.user_id, "currency": "USD", "stage": "onboarding"}
    return _account_form(page, account=None, values=values)


@page_route("/app/accounts/new", methods=["POST"])
def account_create(page: Page) -> Response:
    values = forms.values(page.form, tuple(ACCOUNT_LABELS))
    form, errors = forms.parse(AccountForm, page.form)
    if form is None:
        return _account_form(page, account=None, values=values, errors=errors, status=422)
    try:
        account = service.create_account(
            page.user,
            name=form.name,
            owner_id=form.owner_id if page.user.sees_all_accounts else None,
            arr=form.arr,
            currency=form.currency,
            renewal_date=form.renewal_date,
            stage=form.stage,
        )
    except ValidationFailed as exc:
        errors = dict(exc.fields or {})
        return _account_form(page, account=None, values=values, errors=errors, status=422)
    return page.redirect(f"/app/accounts/{account.account_id}?notice=created")


def dashboard_page(
    page: Page,
    account: Account,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    note_for: str = "",
    note_text: str = "",
) -> Response:
    """The account dashboard (``services/reports.account_view``: the dashboard's reads, so the
    page is four DynamoDB requests with the session's user)."""
    view = reports.account_view(account, reports.parse_period(None))
    return page.render(
        "web/account.html",
        status=status,
        title=account.name,
        account=account,
        view=view,
        board=view.dashboard,
        chart=view.chart,
        owner_is_me=account.owner_id == page.user.user_id,
        notice=page.query.get("notice", ""),
        errors=errors or {},
        labels={"text": "Note"},
        note_for=note_for,
        note_text=note_text,
    )


@page_route("/app/accounts/{account_id}")
def account_page(page: Page, account_id: str) -> Response:
    return dashboard_page(page, account_for(page.user, account_id))


@page_route("/app/accounts/{account_id}/details")
def account_details(page: Page, account_id: str) -> Response:
    account = pulses.with_live_scores(page.user.tenant_id, [account_for(page.user, account_id)])[0]
    owners = _owner_names(page)
    return page.render(
        "web/account_details.html",
        title=f"{account.name}: details and contacts",
        account=account,
        owner=owners.get(account.owner_id, "Unknown user"),
        contacts=service.contacts(page.user, account),
        notice=page.query.get("notice", ""),
    )


@page_route("/app/accounts/{account_id}/edit")
def account_edit(page: Page, account_id: str) -> Response:
    account = account_for(page.user, account_id)
    return _account_form(page, account=account, values=_account_values(account))


@page_route("/app/accounts/{account_id}/edit", methods=["POST"])
def account_update(page: Page, account_id: str) -> Response:
    account = account_for(page.user, account_id)
    values = forms.values(page.form, tuple(ACCOUNT_LABELS))
    form, errors = forms.parse(AccountForm, page.form)
    if form is None:
        return _account_form(page, account=account, values=values, errors=errors, status=422)
    changes: dict[str, Any] = form.model_dump()
    if not page.user.sees_all_accounts or not changes.get("owner_id"):
        changes.pop("owner_id", None)  # only managers reassign accounts
    try:
        service.update_account(page.user, account, changes)
    except ValidationFailed as exc:
        errors = dict(exc.fields or {})
        return _account_form(page, account=account, values=values, errors=errors, status=422)
    return page.redirect(f"/app/accounts/{account.account_id}?notice=saved")


# ---------------------------------------------------------------------------- contact forms


def _contact_form(
    page: Page,
    *,
    account: Account,
    action: str,
    heading: str,
    values: dict[str, str],
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    return page.render(
        "web/contact_form.html",
        status=status,
        title=heading,
        heading=heading,
        account=account,
        action=action,
        values=values,
        errors=errors or {},
        labels=CONTACT_LABELS,
    )


def _contact_submit(
    page: Page,
    *,
    account: Account,
    action: str,
    heading: str,
    save: Callable[[ContactForm], object],
    notice: str,
) -> Response:
    """Parse a posted contact and ``save`` it, or show the form again (422) with the errors of
    the fields or of the service's rules."""
    form, errors = forms.parse(ContactForm, page.form)
    try:
        if form is None:
            raise ValidationFailed(errors)
        save(form)
    except ValidationFailed as exc:
        return _contact_form(
            page,
            account=account,
            action=action,
            heading=heading,
            values=forms.values(page.form, tuple(CONTACT_LABELS)),
            errors=dict(exc.fields or {}),
            status=422,
        )
    return page.redirect(f"/app/accounts/{account.account_id}/details?notice={notice}")


@page_route("/app/accounts/{account_id}/contacts/new")
def contact_new(page: Page, account_id: str) -> Response:
    account = account_for(page.user, account_id)
    return _contact_form(
        page,
        account=account,
        action=f"/app/accounts/{account.account_id}/contacts/new",
        heading=f"Add a contact to {account.name}",
        values={},
    )


@page_route("/app/accounts/{account_id}/contacts/new", methods=["POST"])
def contact_create(page: Page, account_id: str) -> Response:
    account = account_for(page.user, account_id)
    return _contact_submit(
        page,
        account=account,
        action=f"/app/accounts/{account.account_id}/contacts/new",
        heading=f"Add a contact to {account.name}",
        save=lambda form: service.add_contact(
            page.user, account, name=form.name, email=form.email, title=form.title
        ),
        notice="contact-added",
    )


@page_route("/app/contacts/{contact_id}/edit")
def contact_edit(page: Page, contact_id: str) -> Response:
    contact, account = contact_for(page.user, contact_id)
    return _contact_form(
        page,
        account=account,
        action=f"/app/contacts/{contact.contact_id}/edit",
        heading=f"Edit {contact.name}",
        values={"name": contact.name, "email": contact.email, "title": contact.title},
    )


@page_route("/app/contacts/{contact_id}/edit", methods=["POST"])
def contact_update(page: Page, contact_id: str) -> Response:
    contact, account = contact_for(page.user, contact_id)
    return _contact_submit(
        page,
        account=account,
        action=f"/app/contacts/{contact.contact_id}/edit",
        heading=f"Edit {contact.name}",
        save=lambda form: service.update_contact(page.user, contact, form.model_dump()),
        notice="contact-saved",
    )
