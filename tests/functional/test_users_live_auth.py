"""Staff requests are authorized against the stored user, not only the ID token: deactivation and
demotion bite on the next request, and the tenant keeps at least one active admin."""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

import jwt
import pytest
from support.api import PASSWORD, Api, TenantHandle

from chalicelib.errors import Conflict
from chalicelib.store import tenants as store


def forged(token: str, **claims: Any) -> str:
    """A real token's claims, changed and re-signed with the key moto signs its tokens with."""
    from moto.utilities.utils import load_resource

    key = jwt.algorithms.RSAAlgorithm.from_jwk(
        json.dumps(load_resource("cognitoidp/resources/jwks-private.json"))
    )
    body = dict(jwt.decode(token, options={"verify_signature": False}))
    now = int(time.time())
    body.update(iat=now, exp=now + 3600, jti=secrets.token_hex(8), **claims)
    return jwt.encode(body, key, algorithm="RS256", headers={"kid": "dummy"})


def test_a_deactivated_users_valid_token_is_refused_on_the_next_request(
    tenant: TenantHandle,
) -> None:
    manager = tenant.add_staff("account_manager")
    assert tenant.as_(manager).get("/me").status == 200

    assert tenant.api.patch(f"/users/{manager.user_id}", {"active": False}).status == 200

    reply = tenant.as_(manager).get("/accounts")
    assert reply.status == 401
    assert reply.json["error"]["code"] == "unauthorized"
    assert "deactivated" in reply.json["error"]["message"]
    # Reactivated, the same token works again: the stored user decides, not the token.
    assert tenant.api.patch(f"/users/{manager.user_id}", {"active": True}).status == 200
    assert tenant.as_(manager).get("/accounts").status == 200


def test_a_demoted_admins_token_is_refused_on_admin_routes_at_once(tenant: TenantHandle) -> None:
    second = tenant.add_staff("admin")
    assert tenant.as_(second).get("/users").status == 200

    demoted = tenant.api.patch(f"/users/{second.user_id}", {"role": "account_manager"})
    assert demoted.status == 200 and demoted.json["role"] == "account_manager"

    # The token still says "admin"; the stored role says otherwise.
    assert (
        "admin" in jwt.decode(second.token, options={"verify_signature": False})["cognito:groups"]
    )
    reply = tenant.as_(second).get("/users")
    assert reply.status == 403
    assert reply.json["error"]["code"] == "forbidden"
    me = tenant.as_(second).get("/me")
    assert me.status == 200 and me.json["role"] == "account_manager"


def test_a_promotion_takes_effect_with_the_old_token(tenant: TenantHandle) -> None:
    manager = tenant.add_staff("senior_manager")
    assert tenant.as_(manager).get("/users").status == 403
    assert tenant.api.patch(f"/users/{manager.user_id}", {"role": "admin"}).status == 200
    assert tenant.as_(manager).get("/users").status == 200


def test_a_token_whose_tenant_does_not_match_the_stored_user_is_refused(
    tenant: TenantHandle, other_tenant: TenantHandle, client: Any
) -> None:
    # The same claims re-signed are accepted, so the refusal below is for the tenant alone.
    assert Api(client, forged(tenant.admin.token)).get("/me").status == 200

    wrong = forged(tenant.admin.token, **{"custom:tenant_id": other_tenant.tenant_id})
    for path in ("/me", "/users", "/accounts"):
        reply = Api(client, wrong).get(path)
        assert reply.status == 401, (path, reply.body)
        assert reply.json["error"]["code"] == "unauthorized"


def test_a_token_for_a_user_that_is_not_stored_is_refused(
    tenant: TenantHandle, client: Any
) -> None:
    stranger = forged(tenant.admin.token, sub="00000000-0000-0000-0000-000000000000")
    reply = Api(client, stranger).get("/me")
    assert reply.status == 401
    assert reply.json["error"]["code"] == "unauthorized"


def test_the_stored_user_is_read_once_per_request(tenant: TenantHandle) -> None:
    from chalicelib.store.metering import count_dynamodb

    with count_dynamodb() as meter:
        assert tenant.api.get("/me").status == 200
    # The caller's stored user (also what /me shows) and the tenant.
    assert meter.count("GetItem", "-users") == 1, meter.summary()
    assert meter.calls == 2, meter.summary()


# --------------------------------------------------------------- signing out on a change


def _sign_in(api: Api, email: str) -> dict[str, Any]:
    reply = api.post("/auth/login", {"email": email, "password": PASSWORD}, token="")
    assert reply.status == 200, reply.body
    return dict(reply.json)


def _refresh(api: Api, tokens: dict[str, Any]) -> int:
    return api.post("/auth/refresh", {"refresh_token": tokens["refresh_token"]}, token="").status


def test_deactivation_signs_the_user_out_everywhere(tenant: TenantHandle) -> None:
    manager = tenant.add_staff("account_manager")
    tokens = _sign_in(tenant.api, manager.email)
    assert _refresh(tenant.api, tokens) == 200

    assert tenant.api.patch(f"/users/{manager.user_id}", {"active": False}).status == 200

    refused = tenant.api.post("/auth/refresh", {"refresh_token": tokens["refresh_token"]}, token="")
    assert refused.status == 401 and refused.json["error"]["code"] == "unauthorized"


def test_a_role_change_signs_the_user_out_everywhere(tenant: TenantHandle) -> None:
    second = tenant.add_staff("admin")
    tokens = _sign_in(tenant.api, second.email)
    assert _refresh(tenant.api, tokens) == 200

    assert tenant.api.patch(f"/users/{second.user_id}", {"role": "senior_manager"}).status == 200

    assert _refresh(tenant.api, tokens) == 401
    # Signing in again gives a token with the new role.
    fresh = _sign_in(tenant.api, second.email)
    groups = jwt.decode(fresh["id_token"], options={"verify_signature": False})["cognito:groups"]
    assert groups == ["senior_manager"]


def test_changing_only_the_manager_keeps_the_user_signed_in(tenant: TenantHandle) -> None:
    senior = tenant.add_staff("senior_manager")
    manager = tenant.add_staff("account_manager")
    tokens = _sign_in(tenant.api, manager.email)
    assert (
        tenant.api.patch(f"/users/{manager.user_id}", {"manager_id": senior.user_id}).status == 200
    )
    assert _refresh(tenant.api, tokens) == 200


# --------------------------------------------------------------- the last active admin


def _stored(tenant: TenantHandle, user_id: str) -> tuple[str, bool]:
    user = store.get_user(tenant.tenant_id, user_id, consistent=True)
    return user.role, user.active


def test_the_last_admin_cannot_demote_or_deactivate_themself(tenant: TenantHandle) -> None:
    tokens = _sign_in(tenant.api, tenant.admin.email)
    me = tenant.admin.user_id
    for body, field in (
        ({"role": "account_manager"}, "role"),
        ({"role": "senior_manager"}, "role"),
        ({"active": False}, "active"),
        ({"role": "account_manager", "active": False}, "active"),
    ):
        reply = tenant.api.patch(f"/users/{me}", body)
        assert reply.status == 409, (body, reply.body)
        error = reply.json["error"]
        assert error["code"] == "conflict"
        assert error["message"] == "a tenant needs at least one active admin"
        assert field in error["fields"], error

    # Nothing changed: stored, in Cognito, and the admin is still signed in.
    assert _stored(tenant, me) == ("admin", True)
    listed = {u["id"]: u for u in tenant.api.get("/users").json["items"]}
    assert (listed[me]["role"], listed[me]["active"]) == ("admin", True)
    assert _refresh(tenant.api, tokens) == 200
    fresh = _sign_in(tenant.api, tenant.admin.email)
    assert jwt.decode(fresh["id_token"], options={"verify_signature": False})["cognito:groups"] == [
        "admin"
    ]


def test_with_two_admins_one_may_demote_the_other_but_not_the_last(tenant: TenantHandle) -> None:
    second = tenant.add_staff("admin")
    reply = tenant.as_(second).patch(f"/users/{tenant.admin.user_id}", {"role": "account_manager"})
    assert reply.status == 200, reply.body
    assert _stored(tenant, tenant.admin.user_id) == ("account_manager", True)

    # The first admin's token no longer reaches admin routes; the second is now the last admin.
    assert tenant.api.patch(f"/users/{second.user_id}", {"role": "account_manager"}).status == 403
    last = tenant.as_(second).patch(f"/users/{second.user_id}", {"active": False})
    assert last.status == 409
    assert _stored(tenant, second.user_id) == ("admin", True)


def test_a_deactivated_admin_does_not_count_until_reactivated(tenant: TenantHandle) -> None:
    second = tenant.add_staff("admin")
    assert tenant.api.patch(f"/users/{second.user_id}", {"active": False}).status == 200
    me = f"/users/{tenant.admin.user_id}"
    assert tenant.api.patch(me, {"role": "senior_manager"}).status == 409
    # Demoting an inactive admin changes no count; reactivating a demoted one neither.
    assert tenant.api.patch(f"/users/{second.user_id}", {"role": "account_manager"}).status == 200
    assert tenant.api.patch(f"/users/{second.user_id}", {"active": True}).status == 200
    assert tenant.api.patch(me, {"role": "senior_manager"}).status == 409
    # Promoted again, the second admin counts, and the first may step down.
    assert tenant.api.patch(f"/users/{second.user_id}", {"role": "admin"}).status == 200
    assert tenant.api.patch(me, {"role": "senior_manager"}).status == 200
    assert store.count_active_admins(tenant.tenant_id) == 1


def test_two_admins_demoting_each_other_at_once_leave_one(tenant: TenantHandle) -> None:
    """Both requests read their target before either writes (the race); the tenant's admin
    count is updated in the same transaction with a condition, so the second one is refused."""
    second = tenant.add_staff("admin")
    first_seen = store.get_user(tenant.tenant_id, tenant.admin.user_id, consistent=True)
    second_seen = store.get_user(tenant.tenant_id, second.user_id, consistent=True)

    store.change_user_checked(first_seen, {"role": "account_manager"})
    with pytest.raises(store.LastActiveAdmin):
        store.change_user_checked(second_seen, {"role": "account_manager"})

    assert _stored(tenant, tenant.admin.user_id) == ("account_manager", True)
    assert _stored(tenant, second.user_id) == ("admin", True)
    assert store.count_active_admins(tenant.tenant_id) == 1


def test_a_stale_read_of_the_same_user_is_refused(tenant: TenantHandle) -> None:
    second = tenant.add_staff("admin")
    seen = store.get_user(tenant.tenant_id, second.user_id, consistent=True)
    store.change_user_checked(seen, {"active": False})
    # The same user demoted on an old read would count them twice.
    with pytest.raises(Conflict) as refused:
        store.change_user_checked(seen, {"role": "account_manager"})
    assert not isinstance(refused.value, store.LastActiveAdmin)
    assert _stored(tenant, second.user_id) == ("admin", False)


def test_a_tenant_stored_before_the_count_gets_it_from_its_users(tenant: TenantHandle) -> None:
    item = store.TenantModel(tenant.tenant_id)
    item.update(actions=[store.TenantModel.active_admins.remove()])
    assert tenant.api.patch(f"/users/{tenant.admin.user_id}", {"active": False}).status == 409
    assert store.TenantModel.get(tenant.tenant_id, consistent_read=True).active_admins == 1

    item.update(actions=[store.TenantModel.active_admins.remove()])
    second = tenant.add_staff("admin")  # the invitation seeds the count, then adds itself
    assert store.TenantModel.get(tenant.tenant_id, consistent_read=True).active_admins == 2
    assert tenant.api.patch(f"/users/{second.user_id}", {"role": "account_manager"}).status == 200
    assert tenant.api.patch(f"/users/{tenant.admin.user_id}", {"active": False}).status == 409


# --------------------------------------------------------------- sign-up and registered addresses


def test_signup_refusals_for_registered_addresses_are_limited_per_source(
    client: Any, tenant: TenantHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.services import tenancy

    # A scope of its own, so other tests' sign-ups from the same test address are not counted.
    monkeypatch.setattr(tenancy, "TAKEN_SCOPE", f"signup-taken-{secrets.token_hex(4)}")
    monkeypatch.setattr(tenancy, "TAKEN_SIGNUPS_PER_HOUR", 2)
    body = {
        "company": "Squatter Ltd",
        "industry": "IT Services",
        "country": "US",
        "staff_size": 5,
        "admin_email": tenant.admin.email,
        "admin_name": "Sam Squat",
        "password": PASSWORD,
    }
    api = Api(client)
    for _ in range(2):
        reply = api.post("/signup", body, token="")
        assert reply.status == 409 and reply.json["error"]["fields"] == {"admin_email": "taken"}
    limited = api.post("/signup", body, token="")
    assert limited.status == 429 and limited.json["error"]["code"] == "rate_limited"
    # A new address is not refused: only answers about registered ones are counted.
    fresh = {**body, "admin_email": f"new-{secrets.token_hex(4)}@fresh.example"}
    assert api.post("/signup", fresh, token="").status == 201
