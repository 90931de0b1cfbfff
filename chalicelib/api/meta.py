"""Health and the API's own description."""

from __future__ import annotations

from functools import cache
from typing import Any

from chalice.app import Blueprint

from chalicelib.api import models
from chalicelib.api.openapi import build_document
from chalicelib.api.routing import public_route

bp = Blueprint(__name__)


@public_route(bp, "/health", tag="meta", response=models.Health)
def health() -> dict[str, Any]:
    """Liveness: the function is up."""
    return {"status": "ok"}


@cache
def _document() -> dict[str, Any]:
    return build_document()


@public_route(bp, "/openapi.json", tag="meta", response=models.OpenApiDocument)
def openapi() -> dict[str, Any]:
    """This document."""
    return _document()
