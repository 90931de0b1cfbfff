"""``/app/{proxy+}``: every other path under ``/app`` answers the web app's 404 page.

A greedy resource: on API Gateway it catches the paths no other resource matches (so they
reach the app instead of the gateway's JSON 404), and ``pulse local`` and the test client match
it the same way (``pulse_local/gateway.py``). Signed out, it goes to sign-in first, like every
page, and comes back to the same 404.
"""

from __future__ import annotations

from chalice.app import Response

from chalicelib.web.routing import Page, page_route


@page_route("/app/{proxy+}")
def unknown_page(page: Page) -> Response:
    return page.not_found()


@page_route("/app/{proxy+}", methods=["POST"])
def unknown_form(page: Page) -> Response:
    return page.not_found()
