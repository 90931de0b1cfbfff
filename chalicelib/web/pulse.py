"""Set pulse (``/app/accounts/{account_id}/pulse``) and "Same update" (``?same=1``).

The form works without scripts: the chosen factors of each side are hidden fields in their
order, each with **Move up** / **Move down** / **Remove** submit buttons, and an "Add a … factor"
select with an **Add** button; those buttons post the form back and it is shown again changed,
with nothing saved. **Save pulse** saves through the same service as ``POST
/accounts/{id}/pulses`` (or ``/pulses/same``), so the rules are the API's: up to three factors a
side from active codes of the right type, notes of at most 800 characters. Errors show the form
again (422) and write nothing.
"""

from __future__ import annotations

import re
from typing import Any

from chalice.app import Response

from chalicelib.api.access import account_for
from chalicelib.api.types import Text
from chalicelib.domain.entities import Account
from chalicelib.domain.pulse_scale import LEVELS
from chalicelib.domain.reason_codes import MAX_FACTORS
from chalicelib.errors import ValidationFailed
from chalicelib.services import pulses as service
from chalicelib.web import forms
from chalicelib.web.routing import Page, page_route

MAX_TEXT = 800
SIDES = {"risk": "risk_factors", "success": "success_factors"}
LABELS = {
    "level": "Level",
    "risk_factors": "Risk factors",
    "success_factors": "Success factors",
    "note": "Note",
    "next_steps": "Next steps",
}
OP = re.compile(
    r"^(?:(move):(risk|success):(\d):(up|down)|(remove):(risk|success):(\d)|(add):(risk|success))$"
)


class TextsForm(forms.Form):
    note: Text = ""
    next_steps: Text = ""


class SameForm(forms.Form):
    note: Text = ""
    next_steps: Text | None = None


def _list(form: dict[str, Any], name: str) -> list[str]:
    value = form.get(name)
    items = value if isinstance(value, list) else [value] if value else []
    return [str(item).strip() for item in items if isinstance(item, str) and item.strip()]


def _text(form: dict[str, Any], name: str) -> str:
    value = form.get(name, "")
    return value if isinstance(value, str) else ""


def _state(form: dict[str, Any]) -> dict[str, Any]:
    """The form as sent: level, each side's chosen ids in order, the texts."""
    return {
        "level": _text(form, "level").strip(),
        "risk_factors": _list(form, "risk_factors"),
        "success_factors": _list(form, "success_factors"),
        "note": _text(form, "note"),
        "next_steps": _text(form, "next_steps"),
    }


def _apply(op: str, state: dict[str, Any], form: dict[str, Any]) -> bool:
    """A Move / Remove / Add button: change the state in place. False for "save"."""
    match = OP.match(op)
    if not match:
        return False
    if match.group(1):
        kind, index, way = match.group(2), int(match.group(3)), match.group(4)
        ids = state[SIDES[kind]]
        other = index - 1 if way == "up" else index + 1
        if 0 <= index < len(ids) and 0 <= other < len(ids):
            ids[index], ids[other] = ids[other], ids[index]
    elif match.group(5):
        kind, index = match.group(6), int(match.group(7))
        ids = state[SIDES[kind]]
        if 0 <= index < len(ids):
            del ids[index]
    else:
        kind = match.group(9)
        _take_added(state, form, kind)
    return True


def _take_added(state: dict[str, Any], form: dict[str, Any], kind: str) -> None:
    added = _text(form, f"{kind}_add").strip()
    ids = state[SIDES[kind]]
    if added and added not in ids:
        ids.append(added)


def _field_errors(
    fields: dict[str, str], state: dict[str, Any], names: dict[str, str]
) -> dict[str, str]:
    """The service's ``risk_factors[1]`` keys as one message per form field, naming the code."""
    out: dict[str, str] = {}
    for key, message in fields.items():
        base, _, rest = key.partition("[")
        if base in SIDES.values() and rest:
            index = int(rest.rstrip("]")) if rest.rstrip("]").isdigit() else -1
            ids = state.get(base, [])
            code = ids[index] if 0 <= index < len(ids) else ""
            text = f"{names.get(code, code)} {message}" if code else message
            out[base] = f"{out[base]}; {text}" if base in out else text
        else:
            out.setdefault(base if base in LABELS else key, message)
    return out


def _render(
    page: Page,
    account: Account,
    state: dict[str, Any],
    *,
    same: bool,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    choices = service.factor_choices(page.user.tenant_id)
    names = {c.code_id: c.name for side in choices.values() for c in side}
    previous = service.last_pulse(page.user.tenant_id, account)
    for side in ("risk_factors", "success_factors"):
        for factor in (previous or {}).get(side, []):
            names.setdefault(factor["id"], factor.get("name") or factor["id"])
    return page.render(
        "web/pulse_form.html",
        status=status,
        title=("Same update: " if same else "Set pulse: ") + account.name,
        account=account,
        state=state,
        same=same and previous is not None,
        previous=previous,
        levels=[(str(int(level)), level.label) for level in LEVELS],
        choices=choices,
        names=names,
        max_factors=MAX_FACTORS,
        max_text=MAX_TEXT,
        errors=errors or {},
        labels=LABELS,
    )


@page_route("/app/accounts/{account_id}/pulse")
def pulse_form(page: Page, account_id: str) -> Response:
    account = account_for(page.user, account_id)
    same = page.query.get("same") == "1"
    state: dict[str, Any] = {
        "level": "",
        "risk_factors": [],
        "success_factors": [],
        "note": "",
        "next_steps": "",
    }
    if same:
        previous = service.last_pulse(page.user.tenant_id, account)
        if previous is not None:
            state.update(
                level=str(previous["level"]),
                risk_factors=[f["id"] for f in previous["risk_factors"]],
                success_factors=[f["id"] for f in previous["success_factors"]],
                next_steps=previous["next_steps"],
            )
    return _render(page, account, state, same=same)


@page_route("/app/accounts/{account_id}/pulse", methods=["POST"])
def pulse_save(page: Page, account_id: str) -> Response:
    account = account_for(page.user, account_id)
    if _text(page.form, "same") == "1" and account.pulse_level is not None:
        return _save_same(page, account)
    state = _state(page.form)
    if _apply(_text(page.form, "op"), state, page.form):
        return _render(page, account, state, same=False)
    for kind in SIDES:
        _take_added(state, page.form, kind)
    errors: dict[str, str] = {}
    level = state["level"]
    if level not in {str(int(lv)) for lv in LEVELS}:
        errors["level"] = "choose a level"
    for kind, name in SIDES.items():
        if len(state[name]) > MAX_FACTORS:
            errors[name] = f"choose at most {MAX_FACTORS} {kind} factors"
    texts, text_errors = forms.parse(
        TextsForm, {"note": state["note"], "next_steps": state["next_steps"]}
    )
    errors.update(text_errors)
    if errors or texts is None:
        return _render(page, account, state, same=False, errors=errors, status=422)
    try:
        service.set_pulse(
            page.user.tenant_id,
            account,
            set_by=page.user.user_id,
            level=int(level),
            risk_factors=list(state["risk_factors"]),
            success_factors=list(state["success_factors"]),
            note=texts.note,
            next_steps=texts.next_steps,
        )
    except ValidationFailed as exc:
        names = {
            c.code_id: c.name
            for side in service.factor_choices(page.user.tenant_id).values()
            for c in side
        }
        fields = _field_errors(dict(exc.fields or {}), state, names)
        return _render(page, account, state, same=False, errors=fields, status=422)
    return page.redirect(f"/app/accounts/{account.account_id}?notice=pulse-saved")


def _save_same(page: Page, account: Account) -> Response:
    note, next_steps = _text(page.form, "note"), _text(page.form, "next_steps")
    form, errors = forms.parse(SameForm, {"note": note, "next_steps": next_steps})
    state: dict[str, Any] = {
        "level": str(account.pulse_level),
        "risk_factors": list(account.risk_factors),
        "success_factors": list(account.success_factors),
        "note": note,
        "next_steps": next_steps,
    }
    if form is None:
        return _render(page, account, state, same=True, errors=errors, status=422)
    try:
        service.same_pulse(
            page.user.tenant_id,
            account,
            set_by=page.user.user_id,
            note=form.note,
            next_steps=form.next_steps or "",
        )
    except ValidationFailed as exc:
        fields = _field_errors(dict(exc.fields or {}), state, {})
        return _render(page, account, state, same=True, errors=fields, status=422)
    return page.redirect(f"/app/accounts/{account.account_id}?notice=pulse-saved")
