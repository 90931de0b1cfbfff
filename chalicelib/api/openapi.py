"""The OpenAPI 3.1 document, built from the routes as they are registered."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode

from chalicelib.api.routing import ROUTES, RouteSpec, body_required

REF = "#/components/schemas/{model}"

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "fields": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        }
    },
}

STATUS_TEXT = {
    200: "OK",
    201: "Created",
    202: "Accepted",
    204: "No content",
    400: "Malformed request",
    401: "Missing or invalid token",
    403: "Role not allowed",
    404: "Not found (or another tenant's)",
    409: "Conflict",
    410: "Gone",
    413: "Body too large",
    422: "Validation failed; `fields` names each failing field",
    429: "Too many requests",
}


def _schema(
    model: type[BaseModel], components: dict[str, Any], mode: JsonSchemaMode = "validation"
) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template=REF, mode=mode)
    for name, definition in schema.pop("$defs", {}).items():
        components[name] = definition
    # A generic model's name (``Page[Account]``) is not a valid component name.
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", model.__name__).strip("_")
    components[name] = schema
    return {"$ref": REF.format(model=name)}


def _success_schema(route: RouteSpec, components: dict[str, Any]) -> dict[str, Any]:
    """A JSON answer's model; HTML, CSV and SVG answers are text."""
    if route.produces != "application/json":
        return {"type": "string"}
    if route.response is None:
        return {}
    return _schema(route.response, components, mode="serialization")


def _error_content(route: RouteSpec) -> dict[str, Any]:
    """Errors are JSON; a page for people (the survey and unsubscribe links) answers its errors
    as pages too, and as JSON to a client that asks for it."""
    content: dict[str, Any] = {"application/json": {"schema": {"$ref": REF.format(model="Error")}}}
    if route.produces == "text/html":
        content["text/html"] = {"schema": {"type": "string"}}
    return content


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema()
    required = set(schema.get("required", []))
    return [
        {"name": name, "in": "query", "required": name in required, "schema": prop}
        for name, prop in schema.get("properties", {}).items()
    ]


def _operation(route: RouteSpec, components: dict[str, Any]) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "operationId": f"{route.method.lower()}_{route.path.strip('/').replace('/', '_')}".replace(
            "{", ""
        )
        .replace("}", "")
        .replace("-", "_")
        .replace(".", "_")
        or "root",
        "summary": route.summary,
        "tags": [route.tag],
    }
    parameters = [
        {"name": p, "in": "path", "required": True, "schema": {"type": "string", "maxLength": 200}}
        for p in route.path_params
    ]
    if route.query is not None:
        parameters += _query_parameters(route.query)
    if parameters:
        operation["parameters"] = parameters
    if route.body is not None:
        ref = _schema(route.body, components)
        operation["requestBody"] = {
            "required": body_required(route.method, route.body),
            "content": {content_type: {"schema": ref} for content_type in route.consumes},
        }
    responses: dict[str, Any] = {}
    ok: dict[str, Any] = {"description": STATUS_TEXT.get(route.status, "OK")}
    if route.status != 204:
        ok["content"] = {route.produces: {"schema": _success_schema(route, components)}}
    responses[str(route.status)] = ok
    errors = {400, 404, 413, 422, 429} | set(route.responses)
    if route.auth == "staff":
        errors |= {401, 403}
        operation["security"] = [{"cognito": []}]
        # The roles allowed to call it; the generated security tests check the others get 403.
        operation["x-pulse-roles"] = list(route.roles)
    for status in sorted(errors):
        description = route.responses.get(status) or STATUS_TEXT.get(status, "Error")
        responses[str(status)] = {
            "description": description,
            "content": _error_content(route),
        }
    operation["responses"] = responses
    return operation


# The path parameter each response model's ``id`` fills in.
ID_PARAMETER = {
    "Account": "account_id",
    "Contact": "contact_id",
    "Review": "review_id",
    "ReviewWithActions": "review_id",
    "Action": "action_id",
    "Comment": "comment_id",
    "FollowUp": "follow_up_id",
    "ReasonCode": "reason_code_id",
    "Segment": "segment_id",
    "SenderIdentity": "identity_id",
    "User": "user_id",
    "Notification": "notification_id",
}


def _add_links(paths: dict[str, Any]) -> None:
    """OpenAPI links: an answer's ``id`` (or a page's first item's) feeds the operations that
    take it as a path parameter, so a client (and the stateful fuzzer) can follow them."""
    takes: dict[str, list[str]] = {}
    for item in paths.values():
        for operation in item.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path":
                    takes.setdefault(parameter["name"], []).append(operation["operationId"])
    for route in ROUTES:
        model = route.response
        if model is None:
            continue
        name, pointer = model.__name__, "$response.body#/id"
        page_of = model.model_fields.get("items")
        if name.startswith("Page[") and page_of is not None:
            name, pointer = name[len("Page[") : -1].rsplit(".", 1)[-1], "$response.body#/items/0/id"
        parameter = ID_PARAMETER.get(name)
        if parameter is None:
            continue
        response = paths[route.path][route.method.lower()]["responses"][str(route.status)]
        links = {
            f"{target}": {"operationId": target, "parameters": {parameter: pointer}}
            for target in takes.get(parameter, [])
        }
        if links:
            response["links"] = links


def build_document() -> dict[str, Any]:
    components: dict[str, Any] = {"Error": ERROR_SCHEMA}
    paths: dict[str, Any] = {}
    for route in ROUTES:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route, components)
    _add_links(paths)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Pulse API",
            "version": "1.0.0",
            "description": "Client-relationship health: reviews, pulses, SuccessScore, heartbeat.",
        },
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "cognito": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "Cognito ID token from POST /auth/login",
                }
            },
        },
    }
