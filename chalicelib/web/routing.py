"""``page_route``: how every page of the staff web app is declared.

A page route registers a Chalice route on the web blueprint and, in the same step, its entry in
``PAGES`` (the web app's own table: pages are not the API and stay out of ``/openapi.json``).
Each request passes, in order:

1. the session (``session.load``): signed out, a GET goes to ``/app/login?next=<this page>``
   and a POST to ``/app/login``; ``public=True`` pages (sign-in, recovery) skip this;
2. the role: a role left out answers the 404 page, like an unknown record;
3. on a POST: a form from another site (``Sec-Fetch-Site`` / ``Origin``) or a missing or wrong
   CSRF token answers a 403 page, and nothing changes; bodies are size-limited form fields;
4. the view, which receives a :class:`Page` (``page``) and the path parameters.

``NotFound`` from a view (another tenant's id, another manager's account) answers the 404
page; other domain errors a page with their status and message; anything else a logged 500
page without a trace. Never JSON.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

from chalice.app import Blueprint, Response

from chalicelib.api import page_security
from chalicelib.api.routing import ALL_ROLES, FORM, read_body
from chalicelib.auth.tokens import Principal
from chalicelib.errors import NotFound, PulseError
from chalicelib.observability import logger
from chalicelib.web import render, session

bp = Blueprint("chalicelib.web")


@dataclass(frozen=True)
class PageSpec:
    path: str
    method: str
    public: bool
    roles: tuple[str, ...]


PAGES: list[PageSpec] = []


@dataclass
class Page:
    """What a page view works with: who is signed in, the request's form and query, and the
    means to answer (``render``, ``redirect``) with the session's cookies attached."""

    path: str
    query: dict[str, str]
    form: dict[str, Any]
    principal: Principal | None
    csrf_token: str
    set_cookies: list[str] = field(default_factory=list)

    @property
    def user(self) -> Principal:
        """The signed-in principal (every page that is not ``public``)."""
        assert self.principal is not None
        return self.principal

    def render(self, template: str, *, status: int = 200, **context: Any) -> Response:
        return render.page(
            status,
            template,
            principal=self.principal,
            csrf_token=self.csrf_token,
            current_path=self.path,
            **context,
        )

    def redirect(self, location: str) -> Response:
        return render.redirect(location)

    def not_found(self) -> Response:
        return render.not_found(self.principal, self.csrf_token)


GREEDY = "{proxy+}"


def _current_path(route: str, params: dict[str, str], request: Any) -> str:
    path = route
    for name, value in params.items():
        path = path.replace("{" + name + "}", quote(value, safe=""))
    if GREEDY in path:
        # A catch-all page: the rest of the path as the gateway matched it.
        rest = str((request.uri_params or {}).get("proxy", ""))
        path = path.replace(GREEDY, quote(rest, safe="/"))
    return path


def _query(request: Any) -> dict[str, str]:
    params = request.query_params or {}
    return {str(k): str(v) for k, v in dict(params).items()}


def _with_query(path: str, query: dict[str, str]) -> str:
    return f"{path}?{urlencode(query)}" if query else path


def _form(request: Any) -> dict[str, Any]:
    # The route takes form posts only (Chalice answers 415 to anything else); ``read_body``
    # applies the body size limit.
    data = read_body(request)
    return data if isinstance(data, dict) else {}


def _attach(response: Response, cookies: list[str]) -> Response:
    if cookies:
        existing = response.headers.get("Set-Cookie")
        values = existing if isinstance(existing, list) else ([existing] if existing else [])
        # Several Set-Cookie headers: Chalice sends a list as multi-value headers.
        response.headers["Set-Cookie"] = [*values, *cookies]
    return response


def _who(made: list[Page]) -> tuple[Principal | None, str]:
    return (made[0].principal, made[0].csrf_token) if made else (None, "")


def _access_log(method: str, route: str, status: int, started: float) -> None:
    logger.info(
        "page",
        extra={
            "http_method": method,
            "route": route,
            "status": status,
            "duration_ms": round((time.perf_counter() - started) * 1000, 1),
        },
    )


def page_route(
    path: str,
    *,
    methods: Sequence[str] = ("GET",),
    roles: tuple[str, ...] = ALL_ROLES,
    public: bool = False,
    signed_out_without_token: bool = False,
) -> Callable[[Callable[..., Response]], Callable[..., Response]]:
    """Declare a page. The view is called as ``view(page, **path_params)``; ``public`` pages
    (sign-in and recovery) are served signed out, every other page needs a session.
    ``signed_out_without_token`` (sign-out only): with no session left, the form runs without
    the CSRF check — it can only clear this browser's cookies."""

    def decorate(fn: Callable[..., Response]) -> Callable[..., Response]:
        def view(**params: str) -> Response:
            request = bp.current_request
            started = time.perf_counter()
            made: list[Page] = []
            try:
                response = _handle(
                    fn, request, path, params, roles, public, made, signed_out_without_token
                )
            except PulseError as exc:
                response = render.error_page(exc, *_who(made))
            except Exception:
                logger.exception("unhandled error on a page")
                response = render.server_error()
            finally:
                logger.remove_keys(["tenant_id", "user_id"])
            if made:
                response = _attach(response, made[0].set_cookies)
            _access_log(request.method, path, response.status_code, started)
            return response

        view.__name__ = fn.__name__
        view.__doc__ = fn.__doc__
        content_types = [FORM] if any(m.upper() == "POST" for m in methods) else None
        if content_types:
            bp.route(path, methods=list(methods), content_types=content_types)(view)
        else:
            bp.route(path, methods=list(methods))(view)
        for method in methods:
            PAGES.append(PageSpec(path, method.upper(), public, roles))
        return fn

    return decorate


def _handle(
    fn: Callable[..., Response],
    request: Any,
    route: str,
    params: dict[str, str],
    roles: tuple[str, ...],
    public: bool,
    made: list[Page],
    signed_out_without_token: bool = False,
) -> Response:
    cookies = session.read_cookies(request.headers.get("cookie"))
    current = _current_path(route, params, request)
    query = _query(request)
    state = session.load(cookies)
    set_cookies = list(state.set_cookies)
    principal = state.principal
    if principal is None and not public:
        location = session.LOGIN_PATH
        if request.method == "GET":
            location += "?" + urlencode({"next": _with_query(current, query)})
        return _attach(render.redirect(location), set_cookies)
    if principal is not None:
        logger.append_keys(tenant_id=principal.tenant_id, user_id=principal.user_id)
        csrf = session.csrf_for_session(principal, state.refresh_token)
    else:
        nonce = cookies.get(session.FORM_COOKIE, "")
        if not nonce:
            nonce = session.new_nonce()
            set_cookies.append(session.set_cookie(session.FORM_COOKIE, nonce))
        csrf = session.csrf_for_nonce(nonce)
    page = Page(current, query, {}, principal, csrf, set_cookies)
    made.append(page)
    if principal is not None and principal.role not in roles:
        return page.not_found()
    if request.method == "POST":
        page.form = _form(request)
        if page_security.cross_site(request.headers):
            logger.warning("cross-site form refused", extra={"route": route})
            return render.refused(principal, csrf, cross_site=True)
        tokenless = signed_out_without_token and principal is None
        if not tokenless and not session.csrf_matches(csrf, page.form.get(session.CSRF_FIELD)):
            logger.warning("form without a valid CSRF token refused", extra={"route": route})
            return render.refused(principal, csrf, cross_site=False)
    try:
        return fn(page, **params)
    except NotFound:
        return page.not_found()
