"""The caller of a staff request as stored now, not as the ID token remembers it.

A verified ID token names a tenant, a user (``sub``) and groups, and lives up to an hour. Every
staff request therefore reads the stored user once (one strongly consistent GetItem, keyed by
the token's tenant and ``sub``): a user who is missing, deactivated or stored under another
tenant is refused with 401, and the role used for the 403 check and given to views is the
stored one. Deactivating or demoting a user bites on their next request.
"""

from __future__ import annotations

from dataclasses import replace

from chalicelib.auth.tokens import Principal
from chalicelib.errors import NotFound, Unauthorized
from chalicelib.store import tenants as store


def current(token: Principal) -> Principal:
    """The token's principal checked against the stored user, with the stored role."""
    try:
        user = store.get_user(token.tenant_id, token.user_id, consistent=True)
    except NotFound as exc:
        raise Unauthorized("this account no longer exists; sign in again") from exc
    if user.tenant_id != token.tenant_id or user.user_id != token.user_id:
        raise Unauthorized("the token does not match this account")
    if not user.active:
        raise Unauthorized("this account is deactivated")
    return replace(token, role=user.role, email=user.email, user=user)
