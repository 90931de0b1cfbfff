"""GET /openapi.json is valid OpenAPI 3.1 and describes exactly the routes the app serves."""

from __future__ import annotations

import re
from typing import Any

import pytest
from openapi_spec_validator import validate
from support.api import Api

METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


@pytest.fixture(scope="module")
def document(client: Any) -> dict[str, Any]:
    reply = Api(client).get("/openapi.json")
    assert reply.status == 200, reply.body
    assert reply.headers.get("Content-Type", "").startswith("application/json")
    return dict(reply.json)


def _operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method.upper(), path): operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    }


def _page_routes() -> set[tuple[str, str]]:
    """The staff web app's pages (``page_route``): HTML for people, not part of the API."""
    from chalicelib.web.routing import PAGES

    return {(spec.method, spec.path) for spec in PAGES}


def _app_routes(chalice_app: Any) -> set[tuple[str, str]]:
    """The API's routes: everything the app serves except the web app's pages."""
    served = {
        (method.upper(), path) for path, methods in chalice_app.routes.items() for method in methods
    }
    return served - _page_routes()


def test_pages_stay_out_of_the_document(document: dict[str, Any], chalice_app: Any) -> None:
    pages = _page_routes()
    assert ("GET", "/app/login") in pages and ("GET", "/") in pages
    assert not pages & set(_operations(document)), "a page is documented as an API operation"
    assert not any(path == "/app" or path.startswith("/app/") for path in document["paths"])


def test_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.1")
    validate(document)  # raises with the offending path when the document is not valid


def test_document_is_what_build_document_makes(document: dict[str, Any]) -> None:
    from chalicelib.api.openapi import build_document

    assert document == build_document()


def test_every_registered_route_is_documented(document: dict[str, Any], chalice_app: Any) -> None:
    missing = _app_routes(chalice_app) - set(_operations(document))
    assert not missing, (
        f"routes served by the app but missing from /openapi.json: {sorted(missing)}; "
        "declare them with staff_route/public_route (chalicelib/api/routing.py)"
    )


def test_every_documented_route_is_registered(document: dict[str, Any], chalice_app: Any) -> None:
    extra = set(_operations(document)) - _app_routes(chalice_app)
    assert not extra, (
        f"operations in /openapi.json that the app does not serve: {sorted(extra)}; "
        "is the blueprint registered in app.py (and without a url_prefix)?"
    )


def test_routes_table_matches_the_app(chalice_app: Any) -> None:
    from chalicelib.api.routing import ROUTES

    declared = [(spec.method, spec.path) for spec in ROUTES]
    assert len(declared) == len(set(declared)), "a route is declared twice in ROUTES"
    assert set(declared) == _app_routes(chalice_app)


def test_every_view_goes_through_the_routing_wrapper(chalice_app: Any) -> None:
    """A route added with a bare ``bp.route`` would skip authentication and error mapping."""
    pages = _page_routes()
    bare = [
        (method, path)
        for path, methods in chalice_app.routes.items()
        for method, entry in methods.items()
        if "_register.<locals>" not in entry.view_function.__qualname__
        and not (
            (method, path) in pages and "page_route.<locals>" in entry.view_function.__qualname__
        )
    ]
    assert not bare, f"routes not declared with staff_route/public_route: {bare}"


def test_operations_declare_responses_and_security(document: dict[str, Any]) -> None:
    from chalicelib.api.routing import ALL_ROLES, ROUTES

    specs = {(spec.method, spec.path): spec for spec in ROUTES}
    problems: list[str] = []
    for (method, path), operation in _operations(document).items():
        where = f"{method} {path}"
        spec = specs[(method, path)]
        responses = operation.get("responses") or {}
        if not responses:
            problems.append(f"{where}: no responses")
        if str(spec.status) not in responses:
            problems.append(f"{where}: success status {spec.status} not documented")
        if spec.auth == "staff":
            for status in ("401", "403"):
                if status not in responses:
                    problems.append(f"{where}: staff operation without a {status} response")
            if operation.get("security") != [{"cognito": []}]:
                problems.append(f"{where}: staff operation without the cognito security scheme")
            roles = operation.get("x-pulse-roles")
            if roles != list(spec.roles) or not roles or not set(roles) <= set(ALL_ROLES):
                problems.append(f"{where}: x-pulse-roles {roles} != declared roles {spec.roles}")
        else:
            if operation.get("security"):
                problems.append(f"{where}: public operation marked as secured")
            if "x-pulse-roles" in operation:
                problems.append(f"{where}: public operation with x-pulse-roles")
        declared = [p["name"] for p in operation.get("parameters", []) if p["in"] == "path"]
        if declared != re.findall(r"{(\w+)}", path):
            problems.append(f"{where}: path parameters {declared} do not match the template")
        if spec.body is not None and "requestBody" not in operation:
            problems.append(f"{where}: takes a body but documents none")
    assert not problems, "\n".join(problems)


def test_operation_ids_are_unique(document: dict[str, Any]) -> None:
    ids = [op["operationId"] for op in _operations(document).values()]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    assert not duplicates, f"duplicate operationId: {duplicates}"


# JSON answers documented without a model: none. Keep it that way.
UNMODELLED: set[tuple[str, str]] = set()


def test_every_success_answer_has_a_schema(document: dict[str, Any]) -> None:
    """A 2xx body is documented by its response model (``response=`` on staff_route /
    public_route); HTML, CSV and SVG answers are strings. A new JSON route without a model
    fails here, so the fuzz test's conformance check covers success bodies too."""
    problems: list[str] = []
    for (method, path), operation in _operations(document).items():
        for status, response in operation["responses"].items():
            if not status.startswith("2"):
                continue
            for content_type, media in response.get("content", {}).items():
                schema = media.get("schema")
                if content_type == "application/json":
                    if schema == {} and (method, path) not in UNMODELLED:
                        problems.append(f"{method} {path} {status}: JSON answer without a model")
                    if schema != {} and (method, path) in UNMODELLED:
                        problems.append(f"{method} {path}: modelled now, drop it from UNMODELLED")
                elif schema != {"type": "string"}:
                    problems.append(f"{method} {path} {status}: {content_type} is not a string")
    assert not problems, "\n".join(problems)


def test_success_models_name_what_the_views_return(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    ok = _operations(document)[("GET", "/accounts")]["responses"]["200"]
    assert ok["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Page_Account"
    }
    account = schemas["Account"]
    assert {"id", "name", "arr", "success_score", "renewal_date"} <= set(account["required"])
    nullable = account["properties"]["success_score"]["anyOf"]
    assert {"type": "null"} in nullable
