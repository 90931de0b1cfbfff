"""Field types shared by request bodies."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

from pydantic import AfterValidator, Field

from chalicelib.domain.text import is_single_line, single_line

# The local part is the common ASCII subset (letters, digits and ``._%+-``, starting with a letter,
# digit or underscore): what Cognito takes as a user name, so an address accepted here cannot fail
# there.
_LOCAL = r"[A-Za-z0-9_][A-Za-z0-9._%+-]{0,63}"
_HOST = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}\.)+[A-Za-z]{2,63}"
_EMAIL = re.compile(rf"^{_LOCAL}@{_HOST}$")


def _email(value: str) -> str:
    value = value.strip().lower()
    if not _EMAIL.match(value) or not is_single_line(value):
        raise ValueError("not a valid email address")
    return value


_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")


def _domain(value: str) -> str:
    """A DNS name as SES takes it: lowercase labels of letters, digits and inner hyphens, each
    1-63 characters, at least two, an alphabetic top level, 253 characters in all."""
    value = value.strip().lower().removesuffix(".")
    labels = value.split(".")
    if (
        len(value) > 253
        or len(labels) < 2
        or not all(_LABEL.match(label) for label in labels)
        or not re.fullmatch(r"[a-z]{2,63}", labels[-1])
    ):
        raise ValueError("not a valid domain name")
    return value


def _iso_date(value: str) -> str:
    try:
        date.fromisoformat(value)
    except ValueError as exc:
        raise ValueError("use YYYY-MM-DD") from exc
    if len(value) != 10:
        raise ValueError("use YYYY-MM-DD")
    return value


def _no_control(value: str) -> str:
    """Multi-line text: newlines and tabs stay, other C0 controls are refused."""
    if any(ord(ch) < 32 and ch not in "\n\r\t" for ch in value):
        raise ValueError("control characters are not allowed")
    return value


# What the validators refuse, stated in the document as JSON Schema (ECMA-262) patterns, so a
# request the schema allows is one the server takes. The validators stay the authority: their
# messages name the problem.
_ONE_LINE = r"\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
EMAIL_PATTERN = rf"^\s*{_LOCAL}@{_HOST}\s*$"
DOMAIN_PATTERN = r"^\s*(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}\.?\s*$"
MULTI_LINE = r"\x00-\x08\x0b\x0c\x0e-\x1f"


def stripped_pattern(refused: str, *, empty: bool = False) -> str:
    """Text without the ``refused`` characters once surrounding whitespace is stripped (request
    bodies strip it before validating)."""
    core = rf"[^\s{refused}](?:[^{refused}]*[^\s{refused}])?"
    return rf"^\s*(?:{core})?\s*$" if empty else rf"^\s*{core}\s*$"


NAME_PATTERN = stripped_pattern(_ONE_LINE)
TEXT_PATTERN = stripped_pattern(MULTI_LINE, empty=True)


def _schema(**extra: str) -> Any:
    return Field(json_schema_extra=dict(extra))


Email = Annotated[
    str,
    Field(max_length=254),
    _schema(pattern=EMAIL_PATTERN),
    AfterValidator(_email),
]
Domain = Annotated[
    str,
    Field(min_length=4, max_length=254),
    _schema(pattern=DOMAIN_PATTERN),
    AfterValidator(_domain),
]
IsoDate = Annotated[
    str, Field(min_length=10, max_length=10), _schema(format="date"), AfterValidator(_iso_date)
]
# One line: no line breaks, control or bidirectional control characters (domain/text.py). Every
# name or title that can reach a mail header (a From or To display name, a Subject) is a Name.
Name = Annotated[
    str,
    Field(min_length=1, max_length=200),
    _schema(pattern=NAME_PATTERN),
    AfterValidator(single_line),
]
Text = Annotated[
    str, Field(max_length=800), _schema(pattern=TEXT_PATTERN), AfterValidator(_no_control)
]
