"""Pulse scale, reason codes, pulses and the SuccessScore of an account."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from chalice.app import Blueprint
from pydantic import AfterValidator, Field, StrictBool, StrictInt

from chalicelib.api import models
from chalicelib.api.access import account_for
from chalicelib.api.routing import ADMIN, ALL_ROLES, NOT_NULL, Body, PageQuery, staff_route
from chalicelib.api.types import Text, stripped_pattern
from chalicelib.auth.tokens import Principal
from chalicelib.domain.reason_codes import MAX_CATEGORY_LENGTH, MAX_FACTORS, MAX_NAME_LENGTH
from chalicelib.errors import ValidationFailed
from chalicelib.services import pulses as service
from chalicelib.store import reason_codes as code_store
from chalicelib.store.base import decode_cursor, encode_cursor

bp = Blueprint(__name__)

TabName = Literal["pulse", "downsell", "termination"]
CodeTypeName = Literal["risk", "success", "both"]
CodeId = Annotated[str, Field(min_length=1, max_length=80)]


def _no_control(value: str) -> str:
    if any(ord(ch) < 32 for ch in value):
        raise ValueError("control characters are not allowed")
    return value


_NO_CONTROL = Field(json_schema_extra={"pattern": stripped_pattern(r"\x00-\x1f")})
CodeName = Annotated[
    str, Field(min_length=1, max_length=MAX_NAME_LENGTH), _NO_CONTROL, AfterValidator(_no_control)
]
Category = Annotated[
    str,
    Field(min_length=1, max_length=MAX_CATEGORY_LENGTH),
    _NO_CONTROL,
    AfterValidator(_no_control),
]


class ReasonCodeQuery(PageQuery):
    tab: TabName | None = None
    active: Literal["true", "false"] | None = None


class ReasonCodeBody(Body):
    tab: TabName
    category: Category
    name: CodeName
    type: CodeTypeName

    model_config = {
        "json_schema_extra": {
            "examples": [
                {"tab": "pulse", "category": "Support", "name": "Weekend cover", "type": "risk"}
            ]
        }
    }


class ReasonCodePatch(Body):
    # Left out keeps the value; null is not a value.
    category: Annotated[Category | None, NOT_NULL] = None
    name: Annotated[CodeName | None, NOT_NULL] = None
    type: Annotated[CodeTypeName | None, NOT_NULL] = None
    active: Annotated[StrictBool | None, NOT_NULL] = None


class OrderBody(Body):
    tab: TabName
    ids: list[CodeId] = Field(min_length=1, max_length=code_store.MAX_CODES_PER_TAB)


class PulseBody(Body):
    level: StrictInt = Field(ge=1, le=6, description="6 Extremely Satisfied … 1 Severe Risk")
    risk_factors: list[CodeId] = Field(default_factory=list, max_length=MAX_FACTORS)
    success_factors: list[CodeId] = Field(default_factory=list, max_length=MAX_FACTORS)
    note: Text = ""
    next_steps: Text = ""

    model_config = {
        "json_schema_extra": {"examples": [{"level": 4, "note": "Quarterly check-in went well"}]}
    }


class SamePulseBody(Body):
    note: Text = ""
    next_steps: Text | None = None


# --------------------------------------------------------------------------------- the scale


@staff_route(bp, "/pulse-scale", tag="pulse", response=models.PulseScale)
def get_pulse_scale(principal: Principal) -> dict[str, Any]:
    """The six pulse levels, best (6, Extremely Satisfied) to worst (1, Severe Risk)."""
    return service.pulse_scale()


# ------------------------------------------------------------------------------ reason codes


@staff_route(
    bp, "/reason-codes", query=ReasonCodeQuery, tag="pulse", response=models.Page[models.ReasonCode]
)
def list_reason_codes(principal: Principal, query: ReasonCodeQuery) -> dict[str, Any]:
    """Reason codes by tab and position, with use counts; inactive ones too (for reports)."""
    codes = code_store.all_codes(principal.tenant_id)
    if query.tab:
        codes = [c for c in codes if c.tab == query.tab]
    if query.active is not None:
        wanted = query.active == "true"
        codes = [c for c in codes if c.active is wanted]
    # The library is one small partition read whole; pages are offsets into it, signed so a
    # cursor only works for the list (tenant, tab, filter) it came from.
    scope = f"reason-codes:{principal.tenant_id}:{query.tab}:{query.active}"
    start = int((decode_cursor(query.cursor, scope) or {}).get("offset", 0))
    page = codes[start : start + query.limit]
    end = start + len(page)
    return {
        "items": [c.to_api() for c in page],
        "next_cursor": encode_cursor({"offset": end}, scope) if end < len(codes) else None,
    }


@staff_route(
    bp,
    "/reason-codes",
    methods=["POST"],
    roles=ADMIN,
    body=ReasonCodeBody,
    responses={409: "the code already exists in its category, or the tab is full"},
    status=201,
    tag="pulse",
    response=models.ReasonCode,
)
def create_reason_code(principal: Principal, body: ReasonCodeBody) -> dict[str, Any]:
    """Add a reason code at the end of its tab."""
    return code_store.create_code(
        principal.tenant_id,
        tab=body.tab,
        category=body.category,
        name=body.name,
        code_type=body.type,
    ).to_api()


@staff_route(
    bp,
    "/reason-codes/order",
    methods=["PUT"],
    roles=ADMIN,
    body=OrderBody,
    responses={409: "the list is not exactly the tab's codes"},
    tag="pulse",
    response=models.Page[models.ReasonCode],
)
def order_reason_codes(principal: Principal, body: OrderBody) -> dict[str, Any]:
    """Set the full order of one tab. A list that is not exactly the tab's codes answers 409."""
    if len(set(body.ids)) != len(body.ids):
        raise ValidationFailed({"ids": "an id is listed more than once"})
    codes = code_store.reorder(principal.tenant_id, body.tab, list(body.ids))
    return {"items": [c.to_api() for c in codes], "next_cursor": None}


@staff_route(
    bp,
    "/reason-codes/{reason_code_id}",
    methods=["PATCH"],
    roles=ADMIN,
    body=ReasonCodePatch,
    tag="pulse",
    response=models.ReasonCode,
)
def patch_reason_code(
    principal: Principal, reason_code_id: str, body: ReasonCodePatch
) -> dict[str, Any]:
    """Rename, recategorise, retype, or make a code (in)active."""
    changes = body.model_dump(exclude_unset=True)
    for key, value in changes.items():
        if value is None:
            raise ValidationFailed({key: "may not be null"})
    current = code_store.get_code(principal.tenant_id, reason_code_id)
    if "type" in changes and changes["type"] != current.type and current.use_count:
        # Reports group past pulses by type; retyping a used code would rewrite that history.
        raise ValidationFailed({"type": "a code that has been used keeps its type"})
    return code_store.update_code(principal.tenant_id, reason_code_id, changes).to_api()


@staff_route(
    bp,
    "/reason-codes/{reason_code_id}",
    methods=["DELETE"],
    roles=ADMIN,
    status=204,
    tag="pulse",
    responses={409: "the code has been used: make it inactive instead"},
)
def delete_reason_code(principal: Principal, reason_code_id: str) -> None:
    """Delete a code that was never used."""
    code_store.delete_code(principal.tenant_id, reason_code_id)


# ------------------------------------------------------------------------------------- pulses


@staff_route(
    bp,
    "/accounts/{account_id}/pulses",
    methods=["POST"],
    roles=ALL_ROLES,
    body=PulseBody,
    status=201,
    tag="pulse",
    response=models.Pulse,
)
def create_pulse(principal: Principal, account_id: str, body: PulseBody) -> dict[str, Any]:
    """Set a pulse: level, up to 3 ordered risk and 3 ordered success factors, note, next steps.
    Account managers set pulses on the accounts they own."""
    account = account_for(principal, account_id)
    return service.set_pulse(
        principal.tenant_id,
        account,
        set_by=principal.user_id,
        level=body.level,
        risk_factors=list(body.risk_factors),
        success_factors=list(body.success_factors),
        note=body.note,
        next_steps=body.next_steps,
    )


@staff_route(
    bp,
    "/accounts/{account_id}/pulses/same",
    methods=["POST"],
    roles=ALL_ROLES,
    body=SamePulseBody,
    status=201,
    tag="pulse",
    responses={409: "the account has no pulse yet"},
    response=models.Pulse,
)
def create_same_pulse(principal: Principal, account_id: str, body: SamePulseBody) -> dict[str, Any]:
    """Same update: the current level and factors again, with a new note."""
    account = account_for(principal, account_id)
    return service.same_pulse(
        principal.tenant_id,
        account,
        set_by=principal.user_id,
        note=body.note,
        next_steps=body.next_steps,
    )


@staff_route(
    bp,
    "/accounts/{account_id}/pulses",
    query=PageQuery,
    tag="pulse",
    response=models.Page[models.Pulse],
)
def list_pulses(principal: Principal, account_id: str, query: PageQuery) -> dict[str, Any]:
    """The account's pulse history, newest first."""
    account_for(principal, account_id)
    return service.list_pulses(
        principal.tenant_id, account_id, limit=query.limit, cursor=query.cursor
    )


@staff_route(bp, "/accounts/{account_id}/success-score", tag="pulse", response=models.SuccessScore)
def get_success_score(principal: Principal, account_id: str) -> dict[str, Any]:
    """Score, level, target, days at level, why it last moved, and the last 30 days."""
    account = account_for(principal, account_id)
    return service.success_score_view(principal.tenant_id, account)
