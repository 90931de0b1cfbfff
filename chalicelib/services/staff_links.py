"""Where staff mail and in-app notifications link to: the staff web app's pages under ``/app``
(their URLs are a contract, like the HTTP API). Every staff link is built here, so a mail never
points at a JSON route or a page that does not exist."""

from __future__ import annotations

from urllib.parse import quote

from chalicelib.settings import get_settings

APP = "/app"


def _id(value: str) -> str:
    return quote(value, safe="")


def accounts() -> str:
    return f"{APP}/accounts"


def account(account_id: str) -> str:
    return f"{APP}/accounts/{_id(account_id)}"


def heartbeat(round_id: str) -> str:
    return f"{APP}/heartbeats/{_id(round_id)}"


def review_analytics(review_id: str) -> str:
    return f"{APP}/reviews/{_id(review_id)}/analytics"


def absolute(path: str) -> str:
    """The page's full URL, for mail."""
    return f"{get_settings().public_url.rstrip('/')}{path}"
