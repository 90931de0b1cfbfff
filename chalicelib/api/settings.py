"""Tenant settings (admins change them; everyone may read them)."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint
from pydantic import ConfigDict

from chalicelib.api.routing import ADMIN, Body, staff_route
from chalicelib.auth.tokens import Principal
from chalicelib.services import settings as service

bp = Blueprint(__name__)


class SettingsPatch(Body):
    """Any subset of the settings document; unknown fields are refused, SMTP ``password`` is
    write-only."""

    model_config = ConfigDict(extra="allow")


@staff_route(bp, "/settings", tag="settings")
def get_settings(principal: Principal) -> dict[str, Any]:
    """The tenant's settings."""
    return service.public_view(service.tenant_settings(principal.tenant_id))


@staff_route(bp, "/settings", methods=["PUT"], roles=ADMIN, body=SettingsPatch, tag="settings")
def put_settings(principal: Principal, body: SettingsPatch) -> dict[str, Any]:
    """Change settings: the fields given are replaced, the rest kept."""
    changes = body.model_dump(exclude_unset=True)
    return service.public_view(service.update_settings(principal.tenant_id, changes))
