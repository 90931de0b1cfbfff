"""Reason codes: the default library, CRUD, ordering, and the used-code rules."""

from __future__ import annotations

from typing import Any

from support.api import TenantHandle

from chalicelib.domain.reason_codes import REQUIRED_PULSE_CATEGORIES


def codes(tenant: TenantHandle, tab: str = "pulse", **params: str) -> list[dict[str, Any]]:
    query = "&".join([f"tab={tab}", "limit=200", *(f"{k}={v}" for k, v in params.items())])
    reply = tenant.api.get(f"/reason-codes?{query}")
    assert reply.status == 200, reply.body
    assert reply.json["next_cursor"] is None
    return list(reply.json["items"])


def test_new_tenant_has_the_default_library(tenant: TenantHandle) -> None:
    pulse = codes(tenant)
    assert len(pulse) == 51
    assert {c["category"] for c in pulse} >= set(REQUIRED_PULSE_CATEGORIES)
    assert [c["position"] for c in pulse] == list(range(1, 52))
    assert all(c["active"] and c["use_count"] == 0 and c["last_used_at"] is None for c in pulse)
    assert {c["type"] for c in pulse} == {"risk", "success", "both"}
    assert len(codes(tenant, "downsell")) >= 10
    assert len(codes(tenant, "termination")) >= 10


def test_list_is_paginated_and_every_role_may_read(tenant: TenantHandle) -> None:
    am = tenant.add_staff("account_manager")
    first = tenant.as_(am).get("/reason-codes?tab=pulse&limit=20").json
    assert len(first["items"]) == 20 and first["next_cursor"]
    seen = [c["id"] for c in first["items"]]
    cursor = first["next_cursor"]
    while cursor:
        page = tenant.as_(am).get(f"/reason-codes?tab=pulse&limit=20&cursor={cursor}").json
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
    assert seen == [c["id"] for c in codes(tenant)]
    # A cursor belongs to its list: another tab's list refuses it.
    assert tenant.api.get(f"/reason-codes?tab=downsell&cursor={first['next_cursor']}").status == 400
    every = tenant.api.get("/reason-codes?limit=200").json["items"]
    assert [c["tab"] for c in every][:51] == ["pulse"] * 51 and len(every) > 51


def test_create_patch_delete(tenant: TenantHandle) -> None:
    body = {"tab": "pulse", "category": "Support", "name": "Weekend cover", "type": "risk"}
    created = tenant.api.post("/reason-codes", body)
    assert created.status == 201, created.body
    code = created.json
    assert code["position"] == 52 and code["use_count"] == 0 and code["active"] is True
    assert tenant.api.post("/reason-codes", body).status == 409  # same name, same category

    patched = tenant.api.patch(f"/reason-codes/{code['id']}", {"name": "Weekend support cover"})
    assert patched.status == 200 and patched.json["name"] == "Weekend support cover"
    assert tenant.api.patch(f"/reason-codes/{code['id']}", {"active": None}).status == 422
    assert tenant.api.patch(f"/reason-codes/{code['id']}", {}).status == 200

    assert tenant.api.delete(f"/reason-codes/{code['id']}").status == 204
    assert tenant.api.delete(f"/reason-codes/{code['id']}").status == 404
    assert tenant.api.patch(f"/reason-codes/{code['id']}", {"name": "x"}).status == 404


def test_validation_and_roles(tenant: TenantHandle) -> None:
    bad = tenant.api.post(
        "/reason-codes", {"tab": "churn", "category": "", "name": "x" * 81, "type": "maybe"}
    )
    assert bad.status == 422
    assert {"tab", "category", "name", "type"} <= set(bad.json["error"]["fields"])
    am = tenant.add_staff("account_manager")
    body = {"tab": "pulse", "category": "Support", "name": "Nope", "type": "risk"}
    assert tenant.as_(am).post("/reason-codes", body).status == 403
    some = codes(tenant)[0]["id"]
    assert tenant.as_(am).delete(f"/reason-codes/{some}").status == 403
    assert tenant.as_(am).patch(f"/reason-codes/{some}", {"active": False}).status == 403


def test_other_tenant_codes_answer_404(tenant: TenantHandle, other_tenant: TenantHandle) -> None:
    theirs = codes(other_tenant)[0]["id"]
    assert tenant.api.patch(f"/reason-codes/{theirs}", {"name": "mine now"}).status == 404
    assert tenant.api.delete(f"/reason-codes/{theirs}").status == 404
    assert codes(other_tenant)[0]["name"] != "mine now"


def test_used_code_cannot_be_deleted_only_deactivated(tenant: TenantHandle) -> None:
    account = tenant.account()
    risk = next(c for c in codes(tenant) if c["type"] == "risk")
    reply = tenant.api.post(
        f"/accounts/{account['id']}/pulses", {"level": 2, "risk_factors": [risk["id"]]}
    )
    assert reply.status == 201, reply.body
    used = next(c for c in codes(tenant) if c["id"] == risk["id"])
    assert used["use_count"] == 1 and used["last_used_at"] == reply.json["set_at"]

    refused = tenant.api.delete(f"/reason-codes/{risk['id']}")
    assert refused.status == 409 and refused.json["error"]["code"] == "conflict"
    assert tenant.api.patch(f"/reason-codes/{risk['id']}", {"type": "success"}).status == 422
    off = tenant.api.patch(f"/reason-codes/{risk['id']}", {"active": False})
    assert off.status == 200 and off.json["active"] is False

    # Inactive: still listed (reports and history), refused for a new pulse.
    assert any(c["id"] == risk["id"] for c in codes(tenant, active="false"))
    assert all(c["id"] != risk["id"] for c in codes(tenant, active="true"))
    again = tenant.api.post(
        f"/accounts/{account['id']}/pulses", {"level": 2, "risk_factors": [risk["id"]]}
    )
    assert again.status == 422
    assert again.json["error"]["fields"] == {"risk_factors[0]": "is inactive"}
    history = tenant.api.get(f"/accounts/{account['id']}/pulses").json["items"]
    assert history[0]["risk_factors"][0]["name"] == risk["name"]
    assert history[0]["risk_factors"][0]["active"] is False


def test_order_is_the_full_tab_or_refused(tenant: TenantHandle) -> None:
    current = [c["id"] for c in codes(tenant, "downsell")]
    reversed_ids = list(reversed(current))
    reply = tenant.api.put("/reason-codes/order", {"tab": "downsell", "ids": reversed_ids})
    assert reply.status == 200, reply.body
    assert [c["id"] for c in codes(tenant, "downsell")] == reversed_ids
    assert [c["position"] for c in codes(tenant, "downsell")] == list(range(1, len(current) + 1))

    partial = tenant.api.put("/reason-codes/order", {"tab": "downsell", "ids": reversed_ids[1:]})
    assert partial.status == 409 and "ids" in partial.json["error"]["fields"]
    # A stale screen: a code was added since the list was loaded.
    tenant.api.post(
        "/reason-codes", {"tab": "downsell", "category": "Usage", "name": "New", "type": "risk"}
    )
    assert (
        tenant.api.put("/reason-codes/order", {"tab": "downsell", "ids": reversed_ids}).status
        == 409
    )
    pulse_ids = [c["id"] for c in codes(tenant, "pulse")]
    mixed = tenant.api.put("/reason-codes/order", {"tab": "downsell", "ids": pulse_ids})
    assert mixed.status == 409
    twice = tenant.api.put(
        "/reason-codes/order", {"tab": "downsell", "ids": [current[0], current[0]]}
    )
    assert twice.status == 422
    assert [c["id"] for c in codes(tenant, "downsell")][: len(reversed_ids)] == reversed_ids
