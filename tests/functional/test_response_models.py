"""Answers match their documented response models on a workspace with data in it: a pulse with
factors, a review answered with a comment and a follow-up, an action. The fuzz test checks the
same on the tenant it signs up; this one reaches the fields only real data fills in."""

from __future__ import annotations

from typing import Any

import jsonschema
from factories import _answered_review
from support.api import Api, TenantHandle


def _validator(client: Any, method: str, path: str, status: str) -> jsonschema.Validator:
    document = Api(client).get("/openapi.json").json
    media = document["paths"][path][method]["responses"][status]["content"]["application/json"]
    schema = {**media["schema"], "components": document["components"]}
    return jsonschema.Draft202012Validator(schema)


def test_answers_match_their_models(client: Any, tenant: TenantHandle) -> None:
    review_id = _answered_review(tenant)
    review = tenant.api.get(f"/reviews/{review_id}").json
    account_id = review["account_id"]
    listed = tenant.api.get("/reason-codes?tab=pulse").json["items"]
    risk = [c["id"] for c in listed if c["type"] in ("risk", "both")][:1]
    success = [c["id"] for c in listed if c["type"] in ("success", "both")][:1]
    reply = tenant.api.post(
        f"/accounts/{account_id}/pulses",
        {"level": 2, "risk_factors": risk, "success_factors": success, "note": "n"},
    )
    assert reply.status == 201, reply.body
    reply = tenant.api.post(f"/reviews/{review_id}/actions", {"title": "Call the sponsor"})
    assert reply.status == 201, reply.body
    gets = {
        "/accounts": "/accounts",
        "/accounts/{account_id}": f"/accounts/{account_id}",
        "/accounts/{account_id}/pulses": f"/accounts/{account_id}/pulses",
        "/accounts/{account_id}/success-score": f"/accounts/{account_id}/success-score",
        "/accounts/{account_id}/dashboard": f"/accounts/{account_id}/dashboard",
        "/accounts/{account_id}/reviews": f"/accounts/{account_id}/reviews",
        "/accounts/{account_id}/comments": f"/accounts/{account_id}/comments",
        "/accounts/{account_id}/actions": f"/accounts/{account_id}/actions",
        "/accounts/{account_id}/contacts": f"/accounts/{account_id}/contacts",
        "/reviews/{review_id}": f"/reviews/{review_id}",
        "/reviews/{review_id}/analytics": f"/reviews/{review_id}/analytics",
        "/follow-ups": "/follow-ups",
        "/reports/workspace": "/reports/workspace",
        "/reports/pulse-summary": "/reports/pulse-summary",
        "/reports/recent-changes": "/reports/recent-changes",
        "/reports/risk-factors": "/reports/risk-factors",
        "/reports/success-factors": "/reports/success-factors",
        "/reports/success-cycle": "/reports/success-cycle",
        "/reports/renewal-health": "/reports/renewal-health",
        "/settings": "/settings",
        "/me": "/me",
        "/users": "/users",
        "/pulse-scale": "/pulse-scale",
        "/heartbeat/questions": "/heartbeat/questions",
        "/heartbeat/config": "/heartbeat/config",
        "/heartbeats": "/heartbeats",
        "/benchmarks": "/benchmarks",
        "/notifications": "/notifications",
        "/me/preferences": "/me/preferences",
        "/settings/sender-identities": "/settings/sender-identities",
    }
    problems: list[str] = []
    for template, path in gets.items():
        reply = tenant.api.get(path)
        assert reply.status == 200, (path, reply.body)
        for error in _validator(client, "get", template, "200").iter_errors(reply.json):
            problems.append(f"GET {template}: {list(error.absolute_path)} {error.message[:200]}")
    assert not problems, "\n".join(problems)
