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
    # One of two fields: the document says so, and an empty body is not a request.
    identity = paths["/settings/sender-identities"]["post"]["requestBody"]
    assert identity["required"] is True
    # Every field optional: an empty POST is a valid request.
    assert paths["/accounts/{account_id}/pulses/same"]["post"]["requestBody"]["required"] is False


def test_an_invite_with_odd_but_valid_text_is_not_a_server_error(tenant: TenantHandle) -> None:
    """Found by the fuzz test: surrounding whitespace and astral characters in the name."""
    reply = tenant.api.post(
        "/users",
        {
            "email": "\r\n\t\u000b\n\n\r\u000b\r\n\u00e35\u0147@26.3jE38nYESWR8RN2aGqug0rF1J.xtzdp\f\n",
            "name": "\u000b\t \u00f1\u0116\U0001f600\u013ev}0s\u013dV\u00b5\u00a5",
            "role": "senior_manager",
            "manager_id": None,
        },
    )
    assert reply.status in (201, 422), reply.body


def test_an_integral_number_is_an_integer(tenant: TenantHandle) -> None:
    """JSON Schema's integer includes 5.0; a strict parser must not refuse it."""
    reply = tenant.api.post("/accounts", {"name": "Umbrella", "arr": 5.0})
    assert reply.status == 201 and reply.json["arr"] == 5
    assert tenant.api.post("/accounts", {"name": "Umbrella", "arr": 5.5}).status == 422


def test_documented_patterns_match_the_validators(tenant: TenantHandle) -> None:
    """What the document's patterns allow, the server takes; what they refuse, it refuses."""
    import re

    from chalicelib.api.types import EMAIL_PATTERN, NAME_PATTERN

    for name, ok in (("Ada", True), ("  Ada  ", True), ("A\u202eda", False), ("A\tda", False)):
        assert bool(re.match(NAME_PATTERN, name)) is ok, name
        reply = tenant.api.post("/accounts", {"name": name})
        assert (reply.status == 201) is ok, (name, reply.body)
    account = tenant.account(name="Stark")
    for email, ok in (("jo@client.example", True), ("$jo@client.example", False)):
        assert bool(re.match(EMAIL_PATTERN, email)) is ok, email
        reply = tenant.api.post(
            f"/accounts/{account['id']}/contacts", {"name": "Jo", "email": email}
        )
        assert (reply.status == 201) is ok, (email, reply.body)
