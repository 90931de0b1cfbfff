from __future__ import annotations

from support.api import TenantHandle


def test_signup_login_me(tenant: TenantHandle) -> None:
    reply = tenant.api.get("/me")
    assert reply.status == 200
    assert reply.json["role"] == "admin"
    assert reply.json["tenant"]["id"] == tenant.tenant_id
    assert reply.json["user"]["email"] == tenant.admin.email


def test_account_crud_and_contacts(tenant: TenantHandle) -> None:
    account = tenant.account(name="Globex", renewal_date="2027-03-01", currency="EUR")
    assert account["owner_id"] == tenant.admin.user_id
    assert tenant.api.get(f"/accounts/{account['id']}").json["name"] == "Globex"
    patched = tenant.api.patch(f"/accounts/{account['id']}", {"stage": "adoption"})
    assert patched.status == 200 and patched.json["stage"] == "adoption"
    contact = tenant.contact(account["id"], name="Jo")
    listed = tenant.api.get(f"/accounts/{account['id']}/contacts").json
    assert [c["id"] for c in listed["items"]] == [contact["id"]]
    assert tenant.api.delete(f"/accounts/{account['id']}").status == 204
    assert tenant.api.get(f"/accounts/{account['id']}").status == 404
    assert tenant.api.patch(f"/contacts/{contact['id']}", {"name": "X"}).status == 404


def test_other_tenant_ids_answer_404(tenant: TenantHandle, other_tenant: TenantHandle) -> None:
    account = tenant.account()
    assert other_tenant.api.get(f"/accounts/{account['id']}").status == 404
    assert other_tenant.api.delete(f"/accounts/{account['id']}").status == 404
    assert tenant.api.get(f"/accounts/{account['id']}").status == 200


def test_validation_errors_name_fields(tenant: TenantHandle) -> None:
    reply = tenant.api.post("/accounts", {"name": "", "arr": -1, "renewal_date": "2027-13-01"})
    assert reply.status == 422
    fields = reply.json["error"]["fields"]
    assert {"name", "arr", "renewal_date"} <= set(fields)
    assert tenant.api.post("/accounts", raw=b"{not json").status == 400
    assert tenant.api.post("/accounts", {"name": "A", "color": "red"}).json["error"]["fields"] == {
        "color": "unknown field"
    }


def test_account_manager_sees_only_own_accounts(tenant: TenantHandle) -> None:
    am = tenant.add_staff("account_manager")
    mine = tenant.account(owner=am)
    theirs = tenant.account()
    api = tenant.as_(am)
    listed = {a["id"] for a in api.get("/accounts").json["items"]}
    assert listed == {mine["id"]}
    assert api.get(f"/accounts/{theirs['id']}").status == 404
    assert api.get("/users").status == 403


def test_pagination_cursor_is_tamper_proof(tenant: TenantHandle) -> None:
    for _ in range(3):
        tenant.account()
    first = tenant.api.get("/accounts?limit=2").json
    assert len(first["items"]) == 2 and first["next_cursor"]
    second = tenant.api.get(f"/accounts?limit=2&cursor={first['next_cursor']}").json
    assert len(second["items"]) == 1
    bad = first["next_cursor"][:-2] + "xx"
    assert tenant.api.get(f"/accounts?limit=2&cursor={bad}").status == 400
    assert tenant.api.get("/accounts?limit=500").status == 422


def test_settings_defaults_and_validation(tenant: TenantHandle) -> None:
    settings = tenant.api.get("/settings").json
    assert settings["reminder_days"] == [7, 14]
    assert settings["alert_defaults"]["stale_days"] == 21
    bad = tenant.api.put("/settings", {"reminder_days": [14, 7], "heartbeat_interval_days": 5})
    assert bad.status == 422
    assert {"reminder_days", "heartbeat_interval_days"} <= set(bad.json["error"]["fields"])
    ok = tenant.api.put("/settings", {"stages": ["Trial", "Live"], "scoring_required": False})
    assert ok.status == 200 and ok.json["stages"] == ["trial", "live"]
    assert tenant.api.get("/settings").json["scoring_required"] is False
    unverified = tenant.api.put("/settings", {"email_from": "cs@unverified.example"})
    assert unverified.status == 422 and "email_from" in unverified.json["error"]["fields"]


def test_preferences_start_from_tenant_defaults(tenant: TenantHandle) -> None:
    tenant.api.put("/settings", {"alert_defaults": {"alert_threshold_level": 2, "stale_days": 30}})
    am = tenant.add_staff("account_manager")
    prefs = tenant.as_(am).get("/me/preferences").json
    assert prefs["alert_threshold_level"] == 2 and prefs["stale_days"] == 30
    changed = tenant.as_(am).put("/me/preferences", {"stale_days": 10, "email": {"opened": False}})
    assert changed.status == 200
    assert changed.json["stale_days"] == 10 and changed.json["email"]["opened"] is False
    assert changed.json["email"]["scored"] is True
    assert tenant.as_(am).put("/me/preferences", {"email": {"bogus": True}}).status == 422
    assert tenant.api.get("/me/preferences").json["stale_days"] == 21
