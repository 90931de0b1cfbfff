"""Staff requests are authorized against the stored user, not only the ID token: deactivation and
demotion bite on the next request, and the tenant keeps at least one active admin."""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

import jwt
from support.api import Api, TenantHandle


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
