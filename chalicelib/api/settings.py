"""Tenant settings (admins change them; everyone may read them)."""

from __future__ import annotations

from typing import Annotated, Any

from chalice.app import Blueprint
from pydantic import ConfigDict

from chalicelib.api import models
from chalicelib.api.routing import ADMIN, NOT_NULL, Body, staff_route
from chalicelib.api.types import Domain, Email
from chalicelib.auth.tokens import Principal
from chalicelib.errors import ValidationFailed
from chalicelib.services import sender_identities
from chalicelib.services import settings as service

bp = Blueprint(__name__)


class SettingsPatch(Body):
    """Any subset of the settings document; unknown fields are refused, SMTP ``password`` is
    write-only."""

    model_config = ConfigDict(extra="allow")

    # One of the tenant's verified sender identities (the address or its domain); null sends
    # from the platform's address.
    email_from: Email | None = None


class SenderIdentityBody(Body):
    """Exactly one of ``email`` (SES mails it a link) or ``domain`` (Easy DKIM records)."""

    email: Annotated[Email | None, NOT_NULL] = None
    domain: Annotated[Domain | None, NOT_NULL] = None

    model_config = {
        "json_schema_extra": {
            "examples": [{"domain": "mail.customer-success.example"}],
            "minProperties": 1,
            "maxProperties": 1,
        }
    }


@staff_route(bp, "/settings", tag="settings", response=models.Settings)
def get_settings(principal: Principal) -> dict[str, Any]:
    """The tenant's settings."""
    return service.public_view(service.tenant_settings(principal.tenant_id))


@staff_route(
    bp,
    "/settings",
    methods=["PUT"],
    roles=ADMIN,
    body=SettingsPatch,
    tag="settings",
    response=models.Settings,
)
def put_settings(principal: Principal, body: SettingsPatch) -> dict[str, Any]:
    """Change settings: the fields given are replaced, the rest kept."""
    changes = body.model_dump(exclude_unset=True)
    return service.public_view(service.update_settings(principal.tenant_id, changes))


@staff_route(
    bp,
    "/settings/sender-identities",
    roles=ADMIN,
    tag="settings",
    response=models.Page[models.SenderIdentity],
)
def list_sender_identities(principal: Principal) -> dict[str, Any]:
    """The tenant's sender identities with their live verification status."""
    return {"items": sender_identities.list_identities(principal.tenant_id), "next_cursor": None}


@staff_route(
    bp,
    "/settings/sender-identities",
    methods=["POST"],
    roles=ADMIN,
    body=SenderIdentityBody,
    status=201,
    responses={409: "another tenant (or something outside Pulse) has this address or domain"},
    tag="settings",
    response=models.SenderIdentity,
)
def add_sender_identity(principal: Principal, body: SenderIdentityBody) -> dict[str, Any]:
    """Add an address or domain to send from and start its verification."""
    given = {k: v for k, v in (("email", body.email), ("domain", body.domain)) if v is not None}
    if len(given) != 1:
        message = "give exactly one of email or domain"
        raise ValidationFailed(dict.fromkeys(given or ("email", "domain"), message))
    [(kind, identity)] = given.items()
    return sender_identities.add(principal.tenant_id, kind, identity)


@staff_route(
    bp,
    "/settings/sender-identities/{identity_id}",
    methods=["DELETE"],
    roles=ADMIN,
    status=204,
    tag="settings",
)
def delete_sender_identity(principal: Principal, identity_id: str) -> None:
    """Remove a sender identity; an email_from it backed falls back to the platform sender."""
    sender_identities.delete(principal.tenant_id, identity_id)
