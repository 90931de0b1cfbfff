"""Requests are held to the types /openapi.json states: JSON values keep their JSON type, and a
PUT or PATCH without a body is refused rather than answered as a change of nothing."""

from __future__ import annotations

from support.api import TenantHandle


def test_a_json_boolean_is_not_a_number(tenant: TenantHandle) -> None:
    reply = tenant.api.post("/accounts", {"name": "Initech", "arr": False})
    assert reply.status == 422, reply.body
    assert set(reply.json["error"]["fields"]) == {"arr"}
    account = tenant.account(name="Initech")
    reply = tenant.api.patch(f"/accounts/{account['id']}", {"arr": True})
    assert reply.status == 422 and "arr" in reply.json["error"]["fields"]
    assert tenant.api.get(f"/accounts/{account['id']}").json["arr"] == account["arr"]


def test_a_number_is_not_a_string(tenant: TenantHandle) -> None:
    reply = tenant.api.post("/accounts", {"name": 42})
    assert reply.status == 422 and set(reply.json["error"]["fields"]) == {"name"}


def test_put_and_patch_without_a_body_are_refused(tenant: TenantHandle) -> None:
    account = tenant.account(name="Hooli")
    for method, path in (("PATCH", f"/accounts/{account['id']}"), ("PUT", "/settings")):
        reply = tenant.api.call(method, path)
        assert reply.status == 400, (method, path, reply.body)
        assert reply.json["error"]["fields"] == {"body": "required"}
    assert tenant.api.patch(f"/accounts/{account['id']}", {}).status == 200


def test_the_document_says_which_bodies_are_required(client: object) -> None:
    from support.api import Api

    paths = Api(client).get("/openapi.json").json["paths"]
    assert paths["/accounts/{account_id}"]["patch"]["requestBody"]["required"] is True
    assert paths["/settings"]["put"]["requestBody"]["required"] is True
    assert paths["/accounts"]["post"]["requestBody"]["required"] is True
    # Every field optional: an empty POST reaches the view (which names the missing choice).
    assert paths["/settings/sender-identities"]["post"]["requestBody"]["required"] is False
