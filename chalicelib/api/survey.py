"""Public survey routes: the emailed link (``/r/{token}``) and its unsubscribe link.

Clients never sign in: the unguessable token in the path is their only credential. Answers are
HTML pages, except that a POST sent as JSON gets JSON back. Unknown links get a 404 page and
closed windows a 410 page; an invalid form comes back (422) with each error beside its field.

Unknown links are logged and counted per source IP (``surveys.record_bad_link``): after
``surveys.BAD_LINKS_PER_MINUTE`` misses in a minute, further misses from that IP answer 429
with ``Retry-After`` until the minute ends; valid links cost nothing extra. A token has 256
random bits, so guessing is hopeless anyway; the limit keeps the attempts slow and visible. A
malformed token is refused before any read of the tokens table.

``/unsubscribe/{token}`` is a page (GET changes nothing: mail scanners prefetch links) whose
button POSTs to the same URL, which is also the RFC 8058 one-click target. Once unsubscribed,
the page offers "Subscribe again" (``POST /unsubscribe/{token}/resubscribe``): the contact's own
link is the only way to clear an opt-out. Both POSTs refuse forms sent from other sites.
"""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint, Response

from chalicelib.api import page_security
from chalicelib.api import survey_pages as pages
from chalicelib.api.responses import error_body, json_response
from chalicelib.api.routing import FORM, public_route, read_body
from chalicelib.errors import BadRequest, Gone, NotFound
from chalicelib.observability import logger
from chalicelib.services import reviews as _reviews  # noqa: F401  (registers the review kind)
from chalicelib.services import surveys

bp = Blueprint(__name__)

JSON = "application/json"
PAGE_RESPONSES = {
    404: "Unknown link (an HTML page)",
    410: "The survey window has closed (an HTML page)",
    429: "Too many unknown links from this address (an HTML page, with Retry-After)",
}


def _wants_json() -> bool:
    content_type = (bp.current_request.headers.get("content-type") or "").split(";")[0]
    return content_type.strip().lower() == JSON


def _source_ip() -> str | None:
    identity = (bp.current_request.context or {}).get("identity") or {}
    ip = identity.get("sourceIp")
    return str(ip) if ip else None


def _limited(exc: surveys.LinkRateLimited, as_json: bool = False) -> Response:
    if as_json:
        response = json_response(error_body("rate_limited", str(exc)), 429)
    else:
        response = pages.message_page(
            429,
            "Too many attempts",
            "This address has opened too many links that do not work. Please wait a minute "
            "and open the whole link from your email again.",
        )
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


@public_route(
    bp,
    "/r/{token}",
    summary="The survey page of an emailed link; records that it was opened",
    produces="text/html",
    responses=PAGE_RESPONSES,
)
def survey_open(token: str) -> Response:
    try:
        found = surveys.open_link(token)
    except NotFound:
        try:
            surveys.record_bad_link(_source_ip(), "GET /r/{token}")
        except surveys.LinkRateLimited as exc:
            return _limited(exc)
        return pages.not_found_page()
    except Gone:
        return pages.gone_page()
    return pages.survey_page(found, token)


@public_route(
    bp,
    "/r/{token}",
    methods=["POST"],
    summary=(
        "Submit or update the answers of an emailed link: form fields scores.<question id> "
        "(1-5), nps (0-10), comment, follow_up; or the same as JSON with scores as an object"
    ),
    consumes=(FORM, JSON),
    produces="text/html",
    responses={
        **PAGE_RESPONSES,
        422: (
            "Invalid answers, or answers already submitted 20 times: "
            "the page again with the error shown, nothing changed"
        ),
    },
)
def survey_submit(token: str) -> Response:
    as_json = _wants_json()
    data: Any = read_body(bp.current_request)
    if not isinstance(data, dict):
        raise BadRequest("the body must be an object", {"body": "must be an object"})
    try:
        result = surveys.submit(token, data)
    except NotFound:
        try:
            surveys.record_bad_link(_source_ip(), "POST /r/{token}")
        except surveys.LinkRateLimited as exc:
            return _limited(exc, as_json)
        if as_json:
            return json_response(error_body("not_found", "unknown link"), 404)
        return pages.not_found_page()
    except Gone:
        if as_json:
            return json_response(error_body("gone", "this survey has closed"), 410)
        return pages.gone_page()
    except surveys.ResponseLocked as locked:
        text = (
            f"Your answers were sent {surveys.MAX_SUBMITS} times and can no longer be changed. "
            "Reply to the email you received if something needs correcting."
        )
        if as_json:
            body = error_body("response_locked", str(locked), {"form": text})
            return json_response(body, 422)
        return pages.survey_page(locked.found, token, status=422, errors={"form": text})
    except surveys.FormInvalid as invalid:
        if as_json:
            body = error_body(
                "validation_error", "the answers are not valid", invalid.parsed.errors
            )
            return json_response(body, 422)
        return pages.survey_page(
            invalid.found,
            token,
            status=422,
            errors=invalid.parsed.errors,
            values=invalid.parsed.values,
        )
    if as_json:
        inv = result.found.inv
        return json_response(
            {
                "status": "updated" if result.updated else "recorded",
                "response": inv.response,
                "responded_at": inv.responded_at,
                "window_closes_at": inv.window_closes_at,
            }
        )
    return pages.thanks_page(result.found, updated=result.updated)


UNSUBSCRIBE_RESPONSES = {
    404: "Unknown link (an HTML page)",
    429: "Too many unknown links from this address (an HTML page, with Retry-After)",
}
FORM_RESPONSES = {
    **UNSUBSCRIBE_RESPONSES,
    403: "A form sent from another site (Origin or Sec-Fetch-Site): nothing changed (an HTML page)",
}


def cross_site() -> bool:
    """Whether a POST to a link came from a form on another site.

    The token in the path is the capability; this refuses other sites' forms on top. Browsers
    send ``Sec-Fetch-Site`` and ``Origin`` with a form post; a mail provider's RFC 8058
    one-click POST sends neither and passes (``page_security.cross_site``)."""
    return page_security.cross_site(bp.current_request.headers)


def _refused(route: str) -> Response:
    logger.warning("cross-site form refused", extra={"route": route})
    return pages.cross_site_page()


def _unknown_link(route: str) -> Response:
    try:
        surveys.record_bad_link(_source_ip(), route)
    except surveys.LinkRateLimited as exc:
        return _limited(exc)
    return pages.not_found_page()


@public_route(
    bp,
    "/unsubscribe/{token}",
    summary=(
        "The page of an emailed unsubscribe link: a button that unsubscribes (a POST to the "
        "same URL), or, once unsubscribed, one that subscribes again; the page changes nothing"
    ),
    produces="text/html",
    responses=UNSUBSCRIBE_RESPONSES,
)
def unsubscribe_page(token: str) -> Response:
    try:
        found = surveys.subscription(token)
    except NotFound:
        return _unknown_link("GET /unsubscribe/{token}")
    return pages.subscription_page(
        "unsubscribed" if found.contact.unsubscribed else "confirm",
        company=found.company,
        unsubscribe_action=token,
        resubscribe_action=f"{token}/resubscribe",
    )


@public_route(
    bp,
    "/unsubscribe/{token}",
    methods=["POST"],
    summary=(
        "Unsubscribe: RFC 8058 one-click (body List-Unsubscribe=One-Click is accepted, not "
        "required) or the page's button; answers the page with a button to subscribe again"
    ),
    consumes=(FORM, "multipart/form-data", JSON),
    produces="text/html",
    responses=FORM_RESPONSES,
)
def unsubscribe(token: str) -> Response:
    if cross_site():
        return _refused("POST /unsubscribe/{token}")
    try:
        found = surveys.unsubscribe(token)
    except NotFound:
        return _unknown_link("POST /unsubscribe/{token}")
    return pages.subscription_page(
        "unsubscribed",
        company=found.company,
        unsubscribe_action=token,
        resubscribe_action=f"{token}/resubscribe",
    )


@public_route(
    bp,
    "/unsubscribe/{token}/resubscribe",
    methods=["POST"],
    summary=(
        "Subscribe again (the unsubscribed page's button): only the contact's own link clears "
        "the opt-out; staff cannot"
    ),
    consumes=(FORM, "multipart/form-data", JSON),
    produces="text/html",
    responses=FORM_RESPONSES,
)
def resubscribe(token: str) -> Response:
    if cross_site():
        return _refused("POST /unsubscribe/{token}/resubscribe")
    try:
        found = surveys.resubscribe(token)
    except NotFound:
        return _unknown_link("POST /unsubscribe/{token}/resubscribe")
    return pages.subscription_page(
        "subscribed",
        company=found.company,
        unsubscribe_action=f"../{token}",
        resubscribe_action="resubscribe",
    )
