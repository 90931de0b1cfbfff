"""Route declaration for every blueprint.

``staff_route`` and ``public_route`` register a Chalice route and, in the same step, the facts
the rest of the system needs about it: who may call it, what body and query it takes, and what
it answers. The OpenAPI document and the generated security tests are built from ``ROUTES``,
so a route cannot exist without being documented and checked.

Each request passes, in order: authentication of the token (401), the stored user — present,
active, in the token's tenant (401) —, the stored role (403), body size (413), body and query
validation (400/422), then the view. Any domain exception becomes its JSON error; any
other exception becomes a logged 500 without a stack trace.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from chalice.app import Blueprint, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from chalicelib.api.responses import error_response, internal_error, json_response
from chalicelib.auth.tokens import ROLE_GROUPS, authenticate
from chalicelib.errors import BadRequest, Forbidden, PayloadTooLarge, PulseError, ValidationFailed
from chalicelib.observability import logger
from chalicelib.services import principals
from chalicelib.settings import get_settings

ALL_ROLES: tuple[str, ...] = ROLE_GROUPS
MANAGERS: tuple[str, ...] = ("admin", "senior_manager")
ADMIN: tuple[str, ...] = ("admin",)
MAX_JSON_DEPTH = 32

FORM = "application/x-www-form-urlencoded"


def _not_null(schema: dict[str, Any]) -> None:
    nullable = [branch for branch in schema.get("anyOf", []) if branch != {"type": "null"}]
    if len(nullable) == 1 and len(schema["anyOf"]) == 2:
        del schema["anyOf"]
        schema.update(nullable[0])
    if schema.get("default", 0) is None:
        del schema["default"]


# A field that may be left out but not sent as null: ``name: Annotated[Name | None, NOT_NULL] =
# None``. The view tells "left out" from null; the document allows no null and has no default.
NOT_NULL: Any = Field(json_schema_extra=_not_null)


class Body(BaseModel):
    """Base for request bodies: unknown fields are refused, so typos never pass silently."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Query(BaseModel):
    model_config = ConfigDict(extra="ignore")


class PageQuery(Query):
    limit: int = Field(default=50, ge=1, le=200)
    cursor: str | None = Field(default=None, max_length=2048)


@dataclass(frozen=True)
class RouteSpec:
    path: str
    method: str
    summary: str
    tag: str
    auth: str  # "staff" | "public"
    roles: tuple[str, ...]
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    status: int
    produces: str
    responses: dict[int, str] = field(default_factory=dict)
    consumes: tuple[str, ...] = ("application/json",)
    # What a JSON success answers (chalicelib/api/models.py); None for 204 and non-JSON answers.
    response: type[BaseModel] | None = None

    @property
    def path_params(self) -> list[str]:
        return re.findall(r"{(\w+)}", self.path)


ROUTES: list[RouteSpec] = []


def _depth(value: Any, limit: int) -> int:
    stack: list[tuple[Any, int]] = [(value, 1)]
    deepest = 0
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return deepest


def field_errors(exc: ValidationError) -> dict[str, str]:
    fields: dict[str, str] = {}
    for error in exc.errors():
        name = ".".join(str(part) for part in error["loc"]) or "body"
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown field"
        fields.setdefault(name, message)
    return fields


def read_body(request: Any) -> Any:
    """The request body as JSON or form fields; enforces the size and nesting limits."""
    raw: bytes = request.raw_body or b""
    if len(raw) > get_settings().max_body_bytes:
        raise PayloadTooLarge(f"the body is larger than {get_settings().max_body_bytes} bytes")
    if not raw.strip():
        return {}
    if _media_type(request) == FORM:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadRequest("the body is not UTF-8") from exc
        return {k: v[0] if len(v) == 1 else v for k, v in parse_qs(text).items()}
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise BadRequest("the body is not valid JSON", {"body": "not valid JSON"}) from exc
    if _depth(value, MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
        raise BadRequest("the body is nested too deeply", {"body": "nested too deeply"})
    return value


def _integral(value: Any) -> Any:
    """``6.0`` is the integer 6 in JSON (and in JSON Schema); strict validation would refuse it."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _integral(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_integral(v) for v in value]
    return value


def parse_model(model: type[BaseModel], data: Any, *, strict: bool = False) -> Any:
    """``strict`` for JSON bodies: a value must have its JSON type (``false`` is not 0, ``1`` is
    not ``"1"``). Query strings and form fields are text, so they are converted."""
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object", {"body": "must be an object"})
    try:
        if strict:
            return model.model_validate_json(json.dumps(_integral(data)), strict=True)
        return model.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed(field_errors(exc)) from exc


def _media_type(request: Any) -> str:
    return (request.headers.get("content-type") or "").split(";")[0].strip().lower()


def body_required(method: str, body: type[BaseModel]) -> bool:
    """PUT and PATCH always need a body; a POST needs one when its model has required fields or
    a least number of them (an empty POST body is then ``{}`` and fails validation)."""
    return (
        method.upper() in ("PUT", "PATCH")
        or any(f.is_required() for f in body.model_fields.values())
        or bool(body.model_json_schema().get("minProperties"))
    )


def _respond(result: Any, status: int) -> Response:
    if isinstance(result, Response):
        return result
    if status == 204:
        return Response(body="", status_code=204)
    return json_response(result, status)


def _access_log(method: str, route: str, response: Response | None, started: float) -> None:
    """One line per request. It names the route template, never the concrete path or query:
    paths carry survey tokens (``/r/{token}``). ``tenant_id`` and ``user_id`` are the logger's
    keys, set once the token is verified."""
    logger.info(
        "request",
        extra={
            "http_method": method,
            "route": route,
            "status": response.status_code if response is not None else 500,
            "duration_ms": round((time.perf_counter() - started) * 1000, 1),
        },
    )


def _register(
    bp: Blueprint,
    path: str,
    *,
    methods: Sequence[str],
    summary: str,
    auth: str,
    roles: tuple[str, ...],
    body: type[BaseModel] | None,
    query: type[BaseModel] | None,
    status: int,
    produces: str,
    responses: dict[int, str] | None,
    consumes: tuple[str, ...],
    tag: str,
    response: type[BaseModel] | None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        def view(**params: str) -> Response:
            request = bp.current_request
            started = time.perf_counter()
            response: Response | None = None
            try:
                kwargs: dict[str, Any] = dict(params)
                if auth == "staff":
                    claimed = authenticate(request.headers.get("authorization"))
                    logger.append_keys(tenant_id=claimed.tenant_id, user_id=claimed.user_id)
                    # The stored user decides: deactivated or demoted users are refused at once.
                    principal = principals.current(claimed)
                    if principal.role not in roles:
                        raise Forbidden("your role may not do this")
                    kwargs["principal"] = principal
                if body is not None:
                    if (
                        body_required(request.method, body)
                        and not (request.raw_body or b"").strip()
                    ):
                        raise BadRequest("this request needs a body", {"body": "required"})
                    kwargs["body"] = parse_model(
                        body, read_body(request), strict=_media_type(request) != FORM
                    )
                elif request.raw_body and len(request.raw_body) > get_settings().max_body_bytes:
                    raise PayloadTooLarge("the body is too large")
                if query is not None:
                    kwargs["query"] = parse_model(query, dict(request.query_params or {}))
                response = _respond(fn(**kwargs), status)
            except PulseError as exc:
                response = error_response(exc)
            except Exception:
                response = internal_error()
            finally:
                _access_log(request.method, path, response, started)
                logger.remove_keys(["tenant_id", "user_id"])
            return response

        view.__name__ = fn.__name__
        view.__doc__ = fn.__doc__
        bp.route(path, methods=list(methods), content_types=list(consumes))(view)
        for method in methods:
            ROUTES.append(
                RouteSpec(
                    path=path,
                    method=method.upper(),
                    summary=summary or (fn.__doc__ or fn.__name__).strip().splitlines()[0],
                    tag=tag,
                    auth=auth,
                    roles=roles,
                    body=body,
                    query=query,
                    status=status,
                    produces=produces,
                    responses=dict(responses or {}),
                    consumes=consumes,
                    response=response,
                )
            )
        return fn

    return decorate


def staff_route(
    bp: Blueprint,
    path: str,
    *,
    methods: Sequence[str] = ("GET",),
    roles: tuple[str, ...] = ALL_ROLES,
    summary: str = "",
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    status: int = 200,
    produces: str = "application/json",
    responses: dict[int, str] | None = None,
    consumes: tuple[str, ...] = ("application/json",),
    tag: str = "",
    response: type[BaseModel] | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A route for signed-in staff: the view receives ``principal`` as a keyword."""
    return _register(
        bp,
        path,
        methods=methods,
        summary=summary,
        auth="staff",
        roles=roles,
        body=body,
        query=query,
        status=status,
        produces=produces,
        responses=responses,
        consumes=consumes,
        tag=tag or str(getattr(bp, "_import_name", "api")).rsplit(".", 1)[-1],
        response=response,
    )


def public_route(
    bp: Blueprint,
    path: str,
    *,
    methods: Sequence[str] = ("GET",),
    summary: str = "",
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    status: int = 200,
    produces: str = "application/json",
    responses: dict[int, str] | None = None,
    consumes: tuple[str, ...] = ("application/json",),
    tag: str = "public",
    response: type[BaseModel] | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return _register(
        bp,
        path,
        methods=methods,
        summary=summary,
        auth="public",
        roles=(),
        body=body,
        query=query,
        status=status,
        produces=produces,
        responses=responses,
        consumes=consumes,
        tag=tag,
        response=response,
    )


def page_body(page: Any) -> dict[str, Any]:
    return {"items": [item.to_api() for item in page.items], "next_cursor": page.next_cursor}
