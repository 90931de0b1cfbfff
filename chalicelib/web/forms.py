"""Form helpers for page views: read posted fields into a pydantic model, or the errors to show.

Browsers send every field of a form, blank ones as ``""``; a blank optional field means "not
given", so blanks are dropped before validation. Errors come back keyed by field name, ready
for the ``error_summary`` and ``field`` macros in ``templates/web/_forms.html``.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from chalicelib.api.routing import field_errors

M = TypeVar("M", bound=BaseModel)


class Form(BaseModel):
    """Base for page forms: extra fields (the CSRF token, ``next``) are ignored."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


def values(form: dict[str, Any], names: tuple[str, ...]) -> dict[str, str]:
    """The posted text of these fields (to show the form again as it was sent)."""
    out: dict[str, str] = {}
    for name in names:
        value = form.get(name, "")
        out[name] = value if isinstance(value, str) else ""
    return out


def parse(model: type[M], form: dict[str, Any]) -> tuple[M | None, dict[str, str]]:
    """The validated model, or ``None`` and an error message per field."""
    data = {
        key: value.strip() if isinstance(value, str) else value
        for key, value in form.items()
        if not (isinstance(value, str) and not value.strip())
    }
    for key, value in data.items():
        if isinstance(value, list):
            return None, {key: "give one value"}
    try:
        return model.model_validate(data), {}
    except ValidationError as exc:
        return None, {name.split(".")[0]: message for name, message in field_errors(exc).items()}
