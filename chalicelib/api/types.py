"""Field types shared by request bodies."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated

from pydantic import AfterValidator, Field

from chalicelib.domain.text import is_single_line, single_line

_EMAIL = re.compile(
    r"^[^@\s\x00-\x1f<>\"',;]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}\.)+[A-Za-z]{2,63}$"
)


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


Email = Annotated[str, Field(max_length=254), AfterValidator(_email)]
Domain = Annotated[str, Field(min_length=4, max_length=254), AfterValidator(_domain)]
IsoDate = Annotated[str, Field(min_length=10, max_length=10), AfterValidator(_iso_date)]
# One line: no line breaks, control or bidirectional control characters (domain/text.py). Every
# name or title that can reach a mail header (a From or To display name, a Subject) is a Name.
Name = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(single_line)]
Text = Annotated[str, Field(max_length=800), AfterValidator(_no_control)]
