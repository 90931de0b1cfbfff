"""The gateway's own answers: the template's GatewayResponses and the local gateway agree."""

from __future__ import annotations

import json

from pulse_local.gateway import CORS_HEADERS, NOT_FOUND, gateway_responses


def test_missing_route_response_is_the_local_404() -> None:
    resources = gateway_responses({"Ref": "RestAPI"}, "'*'")
    by_type = {r["Properties"]["ResponseType"]: r["Properties"] for r in resources.values()}
    assert set(by_type) == {"MISSING_AUTHENTICATION_TOKEN", "DEFAULT_4XX", "DEFAULT_5XX"}
    missing = by_type["MISSING_AUTHENTICATION_TOKEN"]
    assert missing["StatusCode"] == "404"
    assert json.loads(missing["ResponseTemplates"]["application/json"]) == NOT_FOUND
    assert all(r["Type"] == "AWS::ApiGateway::GatewayResponse" for r in resources.values())
    for props in by_type.values():
        headers = props["ResponseParameters"]
        assert headers["gatewayresponse.header.Access-Control-Allow-Origin"] == "'*'"
        assert (
            headers["gatewayresponse.header.Access-Control-Allow-Headers"].strip("'")
            == CORS_HEADERS["Access-Control-Allow-Headers"]
        )
    for kind, code in (("DEFAULT_4XX", "bad_request"), ("DEFAULT_5XX", "internal_error")):
        body = by_type[kind]["ResponseTemplates"]["application/json"]
        # The gateway fills in its message as a quoted JSON string.
        filled = body.replace("$context.error.messageString", json.dumps("Limit exceeded"))
        assert json.loads(filled) == {"error": {"code": code, "message": "Limit exceeded"}}
        assert "StatusCode" not in by_type[kind]  # the gateway's own status (413, 429, 504 …)
