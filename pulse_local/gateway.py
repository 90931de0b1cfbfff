"""What the gateway answers itself, before the app runs: unknown paths and unknown methods.

API Gateway answers a path it has no resource for (and a method a resource does not declare)
with its ``MISSING_AUTHENTICATION_TOKEN`` response, 403 ``{"message": "Missing Authentication
Token"}`` by default; ``chalice local`` and ``chalice.test.Client`` copy that. Pulse's contract is
its own error shape everywhere: an unknown path is 404 ``not_found``, a known path with a method
it does not serve is 405 ``method_not_allowed`` (with ``Allow``), and the gateway's other
refusals carry the same shape and CORS headers.

:func:`gateway_responses` is that contract as CloudFormation ``AWS::ApiGateway::GatewayResponse``
resources for the deployment template; :class:`PulseGateway` answers the same locally (the
``pulse local`` server and the in-process test client), so both speak with one voice.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlparse

from chalice.local import LocalGateway, LocalGatewayException, MatchResult, RouteMatcher

NOT_FOUND = {"error": {"code": "not_found", "message": "no such route"}}

# The headers every gateway-made answer carries (API Gateway adds none to its own 4XX/5XX
# unless the GatewayResponses name them). ``*`` locally; the template uses its WebOrigin.
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Headers": "Authorization,Content-Type",
}

# Response type -> (status, error code, message). A message of None is the gateway's own
# ($context.error.messageString, already a quoted JSON string).
GATEWAY_ERRORS: dict[str, tuple[str, str, str | None]] = {
    "MISSING_AUTHENTICATION_TOKEN": ("404", "not_found", "no such route"),
    "DEFAULT_4XX": ("", "bad_request", None),
    "DEFAULT_5XX": ("", "internal_error", None),
}


def _template(code: str, message: str | None) -> str:
    text = json.dumps(message) if message is not None else "$context.error.messageString"
    return f'{{"error":{{"code":"{code}","message":{text}}}}}'


def gateway_responses(rest_api_ref: Any, origin: Any = "'*'") -> dict[str, Any]:
    """``AWS::ApiGateway::GatewayResponse`` resources giving the gateway's own refusals the
    app's error shape and CORS headers. ``rest_api_ref`` is the RestApiId (e.g. ``{"Ref":
    "RestAPI"}``); ``origin`` the Access-Control-Allow-Origin value as API Gateway wants it
    (a quoted literal, or a reference to a quoted parameter)."""
    resources: dict[str, Any] = {}
    for response_type, (status, code, message) in GATEWAY_ERRORS.items():
        props: dict[str, Any] = {
            "RestApiId": rest_api_ref,
            "ResponseType": response_type,
            "ResponseParameters": {
                "gatewayresponse.header.Access-Control-Allow-Origin": origin,
                "gatewayresponse.header.Access-Control-Allow-Headers": "'"
                + CORS_HEADERS["Access-Control-Allow-Headers"]
                + "'",
            },
            "ResponseTemplates": {"application/json": _template(code, message)},
        }
        if status:
            props["StatusCode"] = status
        name = "GatewayResponse" + "".join(p.title() for p in response_type.split("_"))
        resources[name] = {"Type": "AWS::ApiGateway::GatewayResponse", "Properties": props}
    return resources


class GatewayError(LocalGatewayException):
    """An answer the gateway gives itself; ``CODE`` is set per instance."""

    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str]) -> None:
        super().__init__(
            {"Content-Type": "application/json", **CORS_HEADERS, **headers},
            json.dumps(body).encode(),
        )
        self.CODE = status


class GreedyRouteMatcher(RouteMatcher):
    """Chalice's local route matcher, plus API Gateway's greedy ``{proxy+}`` resources: a path
    no other route matches, under a route ending in ``/{proxy+}``, reaches that route (the
    matched rest in ``proxy``, as API Gateway's pathParameters carry it). Chalice's own matcher
    takes ``{proxy+}`` for one path segment only."""

    def match_route(self, url: str) -> MatchResult:
        try:
            match = super().match_route(url)
        except ValueError:
            match = self._greedy(url)
        if match.route.endswith("/{proxy+}"):
            rest = match.captured.pop("proxy+", None)
            if rest is not None:
                match.captured["proxy"] = rest
        return match

    def _greedy(self, url: str) -> MatchResult:
        parsed = urlparse(url)
        path = parsed.path.rstrip("/") or "/"
        for route in sorted(self.route_urls, key=len, reverse=True):
            if not route.endswith("/{proxy+}"):
                continue
            prefix = route[: -len("{proxy+}")]
            if path.startswith(prefix) and len(path) > len(prefix):
                query = parse_qs(parsed.query, keep_blank_values=True)
                return MatchResult(route, {"proxy": path[len(prefix) :]}, query)
        raise ValueError(f"No matching route found for: {url}")


class PulseGateway(LocalGateway):
    """Chalice's local gateway with Pulse's answers for routing misses; paths under a
    ``{proxy+}`` route (the staff web app's ``/app/{proxy+}``) reach that route, as on API
    Gateway, instead of the JSON 404."""

    def __init__(self, app_object: Any, config: Any) -> None:
        super().__init__(app_object, config)
        matcher = GreedyRouteMatcher(list(app_object.routes))
        self.event_converter._route_matcher = matcher

    def handle_request(
        self, method: str, path: str, headers: dict[str, Any], body: bytes | None
    ) -> Any:
        try:
            match = self.event_converter._route_matcher.match_route(path)
        except ValueError:
            raise GatewayError(404, NOT_FOUND, {}) from None
        methods = self._app_object.routes[match.route]
        # OPTIONS without a view of its own is the CORS preflight Chalice answers itself.
        if method != "OPTIONS" and method not in methods:
            allowed = ", ".join(sorted(methods))
            raise GatewayError(
                405,
                {
                    "error": {
                        "code": "method_not_allowed",
                        "message": f"{method} is not allowed here; allowed: {allowed}",
                    }
                },
                {"Allow": allowed},
            )
        return super().handle_request(method, path, headers, body)


def request_handler() -> Any:
    """The ``pulse local`` request handler: every HTTP method reaches :class:`PulseGateway`
    (the dev server would answer methods it has no ``do_X`` for, TRACE, QUERY, …, with 501)."""
    from http.server import BaseHTTPRequestHandler

    from chalice.local import ChaliceRequestHandler

    class PulseRequestHandler(ChaliceRequestHandler):
        def __init__(
            self, request: Any, client_address: Any, server: Any, app_object: Any, config: Any
        ) -> None:
            # ChaliceRequestHandler.__init__ would build its own gateway; the base class
            # handles the request as soon as it is constructed.
            self.local_gateway = PulseGateway(app_object, config)
            BaseHTTPRequestHandler.__init__(self, request, client_address, server)

        def __getattr__(self, name: str) -> Any:
            if name.startswith("do_"):
                return self._generic_handle
            raise AttributeError(name)

    return PulseRequestHandler
