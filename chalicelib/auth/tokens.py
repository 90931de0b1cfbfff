"""Cognito ID-token verification, done inside the app on every staff request.

Under ``chalice local`` the API Gateway Cognito authorizer only decodes the token, so the app
itself checks the signature (RS256 only) against the pool's JWKS, the issuer, the audience,
``token_use`` and expiry. On AWS the gateway authorizer runs as well; this check stays.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

import jwt
from jwt import PyJWKClient

from chalicelib.domain.entities import User
from chalicelib.errors import Unauthorized
from chalicelib.settings import get_settings

ROLE_GROUPS = ("admin", "senior_manager", "account_manager")
LEEWAY_SECONDS = 30
JWKS_TIMEOUT_SECONDS = 3


class TokenExpired(Unauthorized):
    """A correctly signed ID token past its expiry: the web app's session refreshes it."""


@dataclass(frozen=True)
class Principal:
    tenant_id: str
    user_id: str
    role: str
    email: str
    # The stored user the request was authorized against (``services.principals.current``).
    user: User | None = field(default=None, compare=False, repr=False)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def sees_all_accounts(self) -> bool:
        return self.role in ("admin", "senior_manager")


@cache
def _jwks_client() -> PyJWKClient:
    settings = get_settings()
    headers = {}
    if settings.endpoint_url:
        # moto's server routes by the SigV4 credential scope; a dummy one names cognito-idp.
        headers["Authorization"] = (
            "AWS4-HMAC-SHA256 Credential=local/20260101/"
            f"{settings.region}/cognito-idp/aws4_request, SignedHeaders=host, Signature=0"
        )
    # PyJWKClient caches the keys and refetches when a token names a kid it has not seen. A
    # fetch that hangs fails after JWKS_TIMEOUT_SECONDS (the library waits 30 s, past API
    # Gateway's 29 s): the request answers 401 and the next one tries again.
    return PyJWKClient(
        settings.jwks_url,
        cache_keys=True,
        lifespan=3600,
        headers=headers,
        timeout=JWKS_TIMEOUT_SECONDS,
    )


def verify_id_token(token: str) -> dict[str, Any]:
    settings = get_settings()
    try:
        header = jwt.get_unverified_header(token)
        if header.get("alg") != "RS256":
            raise Unauthorized("the token is not valid")
        key = _jwks_client().get_signing_key(header.get("kid", ""))
        claims: dict[str, Any] = jwt.decode(
            token,
            key.key,
            algorithms=["RS256"],
            audience=settings.user_pool_client_id,
            issuer=settings.cognito_issuer,
            leeway=LEEWAY_SECONDS,
            options={"require": ["exp", "iat", "iss", "aud", "sub", "token_use"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise TokenExpired("the token has expired") from exc
    except (jwt.PyJWTError, ValueError, KeyError) as exc:
        raise Unauthorized("the token is not valid") from exc
    if claims.get("token_use") != "id":
        raise Unauthorized("an ID token is required")
    return claims


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    tenant_id = claims.get("custom:tenant_id")
    groups = [g for g in claims.get("cognito:groups", []) if g in ROLE_GROUPS]
    if not tenant_id or not groups:
        raise Unauthorized("the token carries no tenant or role")
    # A user in several role groups acts with the strongest one.
    role = min(groups, key=ROLE_GROUPS.index)
    return Principal(
        tenant_id=str(tenant_id),
        user_id=str(claims["sub"]),
        role=role,
        email=str(claims.get("email", "")),
    )


def authenticate(authorization: str | None) -> Principal:
    if not authorization:
        raise Unauthorized("sign in first: an Authorization header is required")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("use 'Authorization: Bearer <ID token>'")
    return principal_from_claims(verify_id_token(token.strip()))
