"""Jinja2 rendering for mail and pages. Templates live in the top-level ``templates/`` folder,
which the package step carries into the Lambda zip at the same place relative to the code."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

TEMPLATES_DIR = Path(__file__).resolve().parent.parent.parent / "templates"


@cache
def environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(str(TEMPLATES_DIR)),
        # Escape everything that ends up in HTML; text templates (.txt) stay plain.
        autoescape=select_autoescape(enabled_extensions=("html", "xml", "svg"), default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(name: str, **context: Any) -> str:
    return environment().get_template(name).render(**context)
