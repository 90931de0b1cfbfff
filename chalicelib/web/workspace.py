"""``/app``: the workspace — the tenant's health at a glance (``services.overview``)."""

from __future__ import annotations

from chalice.app import Response

from chalicelib.services import overview
from chalicelib.web.routing import Page, page_route


@page_route("/app")
def workspace(page: Page) -> Response:
    return page.render(
        "web/workspace.html", title="Workspace", report=overview.workspace(page.user)
    )
