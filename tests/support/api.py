"""Test helpers: a tenant with staff of every role, signed in, over the chalice test client."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from typing import Any

import boto3

PASSWORD = "correct-horse-battery"


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode()


class Api:
    """Thin JSON wrapper over chalice.test.Client.http."""

    def __init__(self, client: Any, token: str | None = None) -> None:
        self.client = client
        self.token = token

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        raw: bytes | str | None = None,
    ) -> Reply:
        hdrs = {"Content-Type": "application/json"}
        tok = token if token is not None else self.token
        if tok:
            hdrs["Authorization"] = f"Bearer {tok}"
        hdrs.update(headers or {})
        payload = raw if raw is not None else (json.dumps(body) if body is not None else None)
        response = self.client.http.request(method, path, headers=hdrs, body=payload)
        return Reply(response.status_code, dict(response.headers), response.body)

    def get(self, path: str, **kw: Any) -> Reply:
        return self.call("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> Reply:
        return self.call("POST", path, body, **kw)

    def put(self, path: str, body: Any = None, **kw: Any) -> Reply:
        return self.call("PUT", path, body, **kw)

    def patch(self, path: str, body: Any = None, **kw: Any) -> Reply:
        return self.call("PATCH", path, body, **kw)

    def delete(self, path: str, **kw: Any) -> Reply:
        return self.call("DELETE", path, **kw)

    def as_(self, token: str) -> Api:
        return Api(self.client, token)


@dataclass
class Staff:
    user_id: str
    email: str
    token: str


@dataclass
class TenantHandle:
    tenant_id: str
    admin: Staff
    api: Api  # signed in as the admin
    client: Any
    staff: dict[str, Staff] = field(default_factory=dict)

    def as_(self, who: Staff) -> Api:
        return Api(self.client, who.token)

    def add_staff(self, role: str, manager_id: str | None = None, name: str = "") -> Staff:
        email = f"{role}-{secrets.token_hex(4)}@{self.tenant_id.lower().replace('_', '-')}.example"
        created = self.api.post(
            "/users",
            {
                "email": email,
                "name": name or role.replace("_", " ").title(),
                "role": role,
                "manager_id": manager_id,
            },
        )
        assert created.status == 201, created.body
        set_password(email)
        token = login(self.api, email)
        staff = Staff(created.json["id"], email, token)
        self.staff.setdefault(role, staff)
        return staff

    def account(self, owner: Staff | None = None, **fields: Any) -> dict[str, Any]:
        body = {"name": fields.pop("name", f"Acme {secrets.token_hex(3)}"), "arr": 120000_00}
        if owner is not None:
            body["owner_id"] = owner.user_id
        body.update(fields)
        reply = self.api.post("/accounts", body)
        assert reply.status == 201, reply.body
        return dict(reply.json)

    def contact(self, account_id: str, **fields: Any) -> dict[str, Any]:
        body = {"name": "Dana Client", "email": f"dana-{secrets.token_hex(4)}@client.example"}
        body.update(fields)
        reply = self.api.post(f"/accounts/{account_id}/contacts", body)
        assert reply.status == 201, reply.body
        return dict(reply.json)


def set_password(email: str) -> None:
    """Invited users get a mailed temporary password; tests set a permanent one directly."""
    import os

    boto3.client("cognito-idp").admin_set_user_password(
        UserPoolId=os.environ["PULSE_USER_POOL_ID"],
        Username=email,
        Password=PASSWORD,
        Permanent=True,
    )


def login(api: Api, email: str, password: str = PASSWORD) -> str:
    reply = api.post("/auth/login", {"email": email, "password": password}, token="")
    assert reply.status == 200, reply.body
    return str(reply.json["id_token"])


def new_tenant(client: Any, **overrides: Any) -> TenantHandle:
    api = Api(client)
    email = f"admin-{secrets.token_hex(5)}@provider.example"
    body = {
        "company": overrides.pop("company", "Northwind Services"),
        "industry": "IT Services",
        "country": "US",
        "region": "WA",
        "city": "Seattle",
        "staff_size": 40,
        "admin_email": email,
        "admin_name": "Avery Admin",
        "password": PASSWORD,
    }
    body.update(overrides)
    reply = api.post("/signup", body, token="")
    assert reply.status == 201, reply.body
    token = login(api, email)
    admin = Staff(reply.json["user_id"], email, token)
    return TenantHandle(
        reply.json["tenant_id"], admin, Api(client, token), client, {"admin": admin}
    )
