"""Sign-up and sign-in (public routes)."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint
from pydantic import Field

from chalicelib.api import models
from chalicelib.api.routing import Body, public_route
from chalicelib.api.types import Email, Name
from chalicelib.auth import cognito
from chalicelib.errors import NotFound
from chalicelib.services import tenancy
from chalicelib.settings import get_settings

bp = Blueprint(__name__)

# Bodies strip surrounding whitespace; the pattern says a password has none, so what the server
# checks is exactly what was sent.
_UNPADDED: dict[str, Any] = {"pattern": r"^[^\s\x1c-\x1f\x85](?:[\s\S]*[^\s\x1c-\x1f\x85])?$"}
Password = Field(min_length=8, max_length=256, json_schema_extra=_UNPADDED)


class SignupBody(Body):
    company: Name
    industry: str = Field(min_length=1, max_length=100)
    country: str = Field(min_length=2, max_length=100)
    region: str = Field(default="", max_length=100)
    city: str = Field(default="", max_length=100)
    staff_size: int = Field(ge=1, le=1_000_000)
    admin_email: Email
    admin_name: Name
    password: str = Password


class LoginBody(Body):
    email: Email
    password: str = Field(min_length=1, max_length=256, json_schema_extra=_UNPADDED)


class RefreshBody(Body):
    refresh_token: str = Field(min_length=1, max_length=8192)


class ForgotBody(Body):
    email: Email


class ResetBody(Body):
    email: Email
    code: str = Field(min_length=1, max_length=64)
    new_password: str = Password


class AcceptInviteBody(Body):
    email: Email
    temporary_password: str = Field(min_length=1, max_length=256, json_schema_extra=_UNPADDED)
    new_password: str = Password


@public_route(
    bp,
    "/signup",
    methods=["POST"],
    body=SignupBody,
    status=201,
    responses={
        409: "email already registered",
        404: "sign-up is switched off",
        429: "too many sign-ups for registered addresses from this source",
    },
    tag="auth",
    response=models.SignedUp,
)
def signup(body: SignupBody) -> dict[str, Any]:
    """Create a tenant and its first admin."""
    if not get_settings().signup_enabled:
        raise NotFound("not found")
    tenant, user = tenancy.create_tenant_with_admin(
        company=body.company,
        industry=body.industry,
        country=body.country,
        region=body.region,
        city=body.city,
        staff_size=body.staff_size,
        admin_email=body.admin_email,
        admin_name=body.admin_name,
        password=body.password,
        source_ip=_source_ip(),
    )
    return {"tenant_id": tenant.tenant_id, "user_id": user.user_id}


def _source_ip() -> str | None:
    identity = (bp.current_request.context or {}).get("identity") or {}
    ip = identity.get("sourceIp")
    return str(ip) if ip else None


@public_route(
    bp,
    "/auth/login",
    methods=["POST"],
    body=LoginBody,
    responses={401: "wrong"},
    tag="auth",
    response=models.Tokens,
)
def login(body: LoginBody) -> dict[str, Any]:
    """Sign in with email and password."""
    return cognito.login(body.email, body.password)


@public_route(
    bp,
    "/auth/refresh",
    methods=["POST"],
    body=RefreshBody,
    responses={401: "the refresh token is not valid (or revoked)"},
    tag="auth",
    response=models.Tokens,
)
def refresh(body: RefreshBody) -> dict[str, Any]:
    """Exchange a refresh token for new tokens."""
    return cognito.refresh(body.refresh_token)


@public_route(
    bp,
    "/auth/forgot-password",
    methods=["POST"],
    body=ForgotBody,
    status=202,
    tag="auth",
    response=models.Status,
)
def forgot_password(body: ForgotBody) -> dict[str, Any]:
    """Mail a reset code (the answer is the same whether or not the address exists)."""
    cognito.forgot_password(body.email)
    return {"status": "accepted"}


@public_route(bp, "/auth/reset-password", methods=["POST"], body=ResetBody, status=204, tag="auth")
def reset_password(body: ResetBody) -> None:
    """Set a new password with the mailed code."""
    cognito.reset_password(body.email, body.code, body.new_password)


@public_route(
    bp,
    "/auth/accept-invite",
    methods=["POST"],
    body=AcceptInviteBody,
    responses={401: "the email or temporary password is wrong"},
    tag="auth",
    response=models.Tokens,
)
def accept_invite(body: AcceptInviteBody) -> dict[str, Any]:
    """Choose a password for an invitation and sign in."""
    return cognito.accept_invite(body.email, body.temporary_password, body.new_password)
