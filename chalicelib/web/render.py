"""Rendering the staff web app's pages: the Jinja2 environment shared with mail and survey pages
(autoescape on), one embedded stylesheet allowed by its hash, the strict headers, and the pages
any route may answer with (404, a refused form, errors)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from chalice.app import Response

from chalicelib.api import page_security
from chalicelib.auth.tokens import Principal
from chalicelib.errors import PulseError
from chalicelib.mail.render import TEMPLATES_DIR, environment
from chalicelib.web import format as fmt

CSS_PATH = TEMPLATES_DIR / "web" / "app.css"


@dataclass(frozen=True)
class NavItem:
    label: str
    href: str
    admin: bool = False


# The navigation of every page (WEB.md names these links); admins also see the admin links.
NAV: tuple[NavItem, ...] = (
    NavItem("Accounts", "/app/accounts"),
    NavItem("Reports", "/app/reports"),
    NavItem("Follow-ups", "/app/follow-ups"),
    NavItem("Heartbeat", "/app/heartbeat"),
    NavItem("Notifications", "/app/notifications"),
    NavItem("Reason codes", "/app/admin/reason-codes", admin=True),
    NavItem("Users", "/app/admin/users", admin=True),
    NavItem("Settings", "/app/admin/settings", admin=True),
)


@cache
def css() -> str:
    return CSS_PATH.read_text(encoding="utf-8")


def headers() -> dict[str, str | list[str]]:
    return page_security.strict_headers(css())


def nav_for(principal: Principal | None, current_path: str) -> list[dict[str, Any]]:
    if principal is None:
        return []
    return [
        {
            "label": item.label,
            "href": item.href,
            "current": current_path == item.href or current_path.startswith(item.href + "/"),
        }
        for item in NAV
        if principal.is_admin or not item.admin
    ]


def page(
    status: int,
    template: str,
    *,
    principal: Principal | None,
    csrf_token: str,
    current_path: str = "",
    **context: Any,
) -> Response:
    context.setdefault("errors", {})
    body = (
        environment()
        .get_template(template)
        .render(
            css=css(),
            principal=principal,
            nav=nav_for(principal, current_path),
            csrf_token=csrf_token,
            current_path=current_path,
            fmt=fmt,
            **context,
        )
    )
    return Response(body=body, status_code=status, headers=headers())


def redirect(location: str, status: int = 303) -> Response:
    return Response(body="", status_code=status, headers={**headers(), "Location": location})


def message(
    status: int, heading: str, text: str, principal: Principal | None, csrf_token: str
) -> Response:
    return page(
        status,
        "web/message.html",
        principal=principal,
        csrf_token=csrf_token,
        title=heading,
        heading=heading,
        text=text,
    )


def not_found(principal: Principal | None, csrf_token: str) -> Response:
    return message(
        404,
        "Page not found",
        "There is nothing here, or you do not have access to it. Check the address, or go "
        "back to your workspace.",
        principal,
        csrf_token,
    )


def refused(principal: Principal | None, csrf_token: str, *, cross_site: bool) -> Response:
    text = (
        "This form was sent from another site, so nothing was changed."
        if cross_site
        else "This form had expired or was not sent from this site, so nothing was changed. "
        "Go back, reload the page and try again."
    )
    return message(403, "The form could not be sent", text, principal, csrf_token)


def error_page(exc: PulseError, principal: Principal | None, csrf_token: str) -> Response:
    if exc.status == 404:
        return not_found(principal, csrf_token)
    heading = "Something needs your attention"
    response = message(exc.status, heading, exc.message, principal, csrf_token)
    if exc.status == 429:
        response.headers["Retry-After"] = str(getattr(exc, "retry_after", 30))
    return response


SERVER_ERROR = "Something went wrong on our side and it has been logged. Please try again."


def server_error() -> Response:
    # The trace goes to the log with the request id; the page shows neither.
    try:
        return message(500, "Something went wrong", SERVER_ERROR, None, "")
    except Exception:
        body = f'<!doctype html><html lang="en"><title>Error</title><h1>{SERVER_ERROR}</h1>'
        return Response(body=body, status_code=500, headers=headers())
