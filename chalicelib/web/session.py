"""The staff web app's session: cookies, their verification, CSRF tokens and ``next`` links.

A session is two cookies, both ``HttpOnly; Secure; SameSite=Lax; Path=/`` with the ``__Host-``
prefix (no ``Domain``, so no other host can set or read them): the Cognito ID token and the
refresh token. Scripts never see either. Every page verifies the ID token exactly as the JSON
API does (``tokens.verify_id_token``) and then reads the stored user
(``principals.current``), so a deactivated user is signed out on their next page. An expired ID
token is exchanged for a new one with the refresh token, transparently; when that fails the
session ends.

CSRF tokens are HMACs under the deployment's signing secret: signed in, of the user and the
session's refresh token (a per-session secret no other site can read); signed out (the sign-in
and recovery forms), of a random per-browser nonce kept in a third ``__Host-`` cookie.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.cookies import CookieError, SimpleCookie
from urllib.parse import urlsplit

from chalicelib.auth import cognito
from chalicelib.auth.tokens import Principal, TokenExpired, principal_from_claims, verify_id_token
from chalicelib.errors import Unauthorized
from chalicelib.services import principals
from chalicelib.settings import get_settings

SESSION_COOKIE = "__Host-pulse_session"
REFRESH_COOKIE = "__Host-pulse_refresh"
FORM_COOKIE = "__Host-pulse_form"
COOKIE_ATTRIBUTES = "Path=/; Secure; HttpOnly; SameSite=Lax"
CSRF_FIELD = "csrf_token"
LOGIN_PATH = "/app/login"
HOME_PATH = "/app"
MAX_NEXT_LENGTH = 1000


def read_cookies(header: str | None) -> dict[str, str]:
    if not header:
        return {}
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(header)
    except CookieError:
        return {}
    return {name: morsel.value for name, morsel in jar.items()}


def set_cookie(name: str, value: str) -> str:
    # Browser-session cookies: closing the browser ends the session (the refresh token may
    # outlive it in Cognito, but no cookie holds it any more).
    return f"{name}={value}; {COOKIE_ATTRIBUTES}"


def clear_cookie(name: str) -> str:
    return f"{name}=; Max-Age=0; {COOKIE_ATTRIBUTES}"


def session_cookies(tokens: Mapping[str, str]) -> list[str]:
    """Set-Cookie values for the tokens Cognito answered a sign-in or refresh with."""
    cookies = [set_cookie(SESSION_COOKIE, tokens["id_token"])]
    if tokens.get("refresh_token"):
        cookies.append(set_cookie(REFRESH_COOKIE, tokens["refresh_token"]))
    return cookies


def cleared_session() -> list[str]:
    return [clear_cookie(SESSION_COOKIE), clear_cookie(REFRESH_COOKIE)]


@dataclass
class Session:
    """The outcome of reading a request's session cookies."""

    principal: Principal | None
    refresh_token: str = ""
    set_cookies: list[str] = field(default_factory=list)


def _verified(id_token: str) -> Principal:
    return principal_from_claims(verify_id_token(id_token))


def load(cookies: Mapping[str, str]) -> Session:
    """The signed-in principal (stored user checked), refreshing an expired ID token; or a
    signed-out session, with cookies to clear when there was a session that no longer holds."""
    id_token = cookies.get(SESSION_COOKIE, "")
    refresh_token = cookies.get(REFRESH_COOKIE, "")
    if not id_token or not refresh_token:
        stale = bool(id_token or refresh_token)
        return Session(None, set_cookies=cleared_session() if stale else [])
    set_cookies: list[str] = []
    try:
        try:
            claimed = _verified(id_token)
        except TokenExpired:
            fresh = cognito.refresh(refresh_token)
            claimed = _verified(fresh["id_token"])
            set_cookies = session_cookies(fresh)
            refresh_token = fresh.get("refresh_token") or refresh_token
        # The stored user decides, as for the API: deactivated users are signed out at once.
        principal = principals.current(claimed)
    except Unauthorized:
        return Session(None, set_cookies=cleared_session())
    return Session(principal, refresh_token=refresh_token, set_cookies=set_cookies)


# ------------------------------------------------------------------------------------- CSRF


def _mac(message: str) -> str:
    key = get_settings().signing_secret.encode()
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def csrf_for_session(principal: Principal, refresh_token: str) -> str:
    digest = hashlib.sha256(refresh_token.encode()).hexdigest()
    return _mac(f"csrf|user|{principal.tenant_id}|{principal.user_id}|{digest}")


def csrf_for_nonce(nonce: str) -> str:
    return _mac(f"csrf|anonymous|{nonce}")


def new_nonce() -> str:
    return secrets.token_urlsafe(24)


def csrf_matches(expected: str, given: object) -> bool:
    return bool(expected) and isinstance(given, str) and hmac.compare_digest(expected, given)


# ------------------------------------------------------------------------------------ next=


def safe_next(value: object) -> str:
    """A path to return to after sign-in: only this site's ``/app`` pages. Anything else —
    another host, a scheme, ``//host``, a backslash, control characters — gives ``/app``."""
    if not isinstance(value, str) or not value or len(value) > MAX_NEXT_LENGTH:
        return HOME_PATH
    if any(ch < " " or ch == "\x7f" or ch == "\\" for ch in value):
        return HOME_PATH
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or value.startswith("//"):
        return HOME_PATH
    path = parts.path
    if path != HOME_PATH and not path.startswith(HOME_PATH + "/"):
        return HOME_PATH
    if path.startswith(LOGIN_PATH) or ".." in path.split("/"):
        return HOME_PATH
    return value
