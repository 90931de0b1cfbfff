"""Security tests generated from the OpenAPI document: every staff operation, present and future.

For each operation that the document marks as secured, the walker checks that

* a missing, malformed, tampered, expired, wrongly signed or wrongly claimed token answers 401
  (``alg: none``, HS256 signed with the public key, an unknown ``kid``, an access token, a
  foreign ``aud``/``iss``, no tenant or role claims, …), while a correctly signed token with the
  same claims is accepted — so the checks fail if a route skips verification;
* every role left out of ``x-pulse-roles`` answers 403 for a real user of that role;
* another tenant's ids in the path answer 404, with a body that passes validation. Each path
  parameter needs a factory in ``tests/functional/factories.py`` that makes a real resource
  of its kind in the other tenant; a parameter without one fails the test.

Tokens are forged with the RSA key moto signs its Cognito tokens with (bundled with moto), so
the tests can choose every claim. ``test_walker_reports_*`` run the same walker against
deliberately broken throwaway routes to show that it reports them.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import re
import secrets
import time
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from factories import BODIES, FACTORIES
from support.api import Api, Reply, TenantHandle, new_tenant

import app as pulse_app  # noqa: F401  (registers every blueprint, so ROUTES is complete)
from chalicelib.api.openapi import build_document
from chalicelib.api.routing import ALL_ROLES

METHODS = ("get", "put", "post", "delete", "patch")
PLACEHOLDER_ID = "zz-no-such-id"
MOTO_KID = "dummy"  # the kid moto puts on every token it issues


# ---------------------------------------------------------------------------------------------
# The operations, read from the document


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    spec: dict[str, Any]

    def __str__(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def roles(self) -> list[str]:
        return list(self.spec.get("x-pulse-roles") or [])

    @property
    def path_params(self) -> list[str]:
        return re.findall(r"{(\w+)}", self.path)

    def url(self, ids: dict[str, str] | None = None) -> str:
        ids = ids or {}
        return re.sub(
            r"{(\w+)}",
            lambda m: urllib.parse.quote(ids.get(m.group(1), PLACEHOLDER_ID), safe=""),
            self.path,
        )


def staff_operations(document: dict[str, Any]) -> list[Operation]:
    return [
        Operation(method.upper(), path, operation)
        for path, item in sorted(document["paths"].items())
        for method, operation in item.items()
        if method in METHODS and operation.get("security")
    ]


DOCUMENT = build_document()
OPERATIONS = staff_operations(DOCUMENT)
RESTRICTED = [op for op in OPERATIONS if set(ALL_ROLES) - set(op.roles)]
WITH_IDS = [op for op in OPERATIONS if op.path_params]


# ---------------------------------------------------------------------------------------------
# Request bodies generated from the requestBody schema


def _resolve(schema: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        node: Any = document
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def _string(schema: dict[str, Any], name: str) -> str:
    low = name.lower()
    fmt = schema.get("format", "")
    if fmt == "email" or "email" in low:
        value = f"probe-{secrets.token_hex(4)}@example.com"
    elif fmt == "date-time" or low.endswith("_at"):
        value = "2030-01-15T09:00:00Z"
    elif (
        fmt == "date"
        or low.endswith("date")
        or schema.get("minLength") == 10 == schema.get("maxLength")
    ):
        value = "2030-01-15"
    elif fmt in ("uri", "url") or low.endswith("url"):
        value = "https://example.com/probe"
    else:
        value = "probe"
    pattern = schema.get("pattern")
    if pattern and not re.fullmatch(pattern, value):
        candidates = ["x", "USD", "a", "A", "1", "2030-01-15", "#336699", "+15555550100"]
        value = next((c for c in candidates if re.fullmatch(pattern, c)), "")
        if not value:
            from hypothesis import find, strategies

            value = find(strategies.from_regex(pattern, fullmatch=True), lambda _: True)
    low_len, high_len = schema.get("minLength", 0), schema.get("maxLength")
    value = value + "x" * max(0, low_len - len(value))
    return value[:high_len] if high_len is not None else value


def _number(schema: dict[str, Any], integer: bool) -> float | int:
    value: float = 1
    if "minimum" in schema:
        value = max(value, schema["minimum"])
    if "exclusiveMinimum" in schema:
        value = max(value, schema["exclusiveMinimum"] + 1)
    if "maximum" in schema:
        value = min(value, schema["maximum"])
    if "exclusiveMaximum" in schema:
        value = min(value, schema["exclusiveMaximum"] - 1)
    return int(value) if integer else value


def generate(schema: dict[str, Any], document: dict[str, Any], name: str = "") -> Any:
    """A minimal value that satisfies the schema: required fields only, smallest sizes."""
    schema = _resolve(schema, document)
    if schema.get("examples"):
        return copy.deepcopy(schema["examples"][0])
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [o for o in schema[key] if _resolve(o, document).get("type") != "null"]
            return generate((options or schema[key])[0], document, name)
    if "allOf" in schema:
        return generate(schema["allOf"][0], document, name)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or (kind is None and "properties" in schema):
        properties = schema.get("properties", {})
        return {
            key: generate(properties.get(key, {}), document, key)
            for key in schema.get("required", [])
        }
    if kind == "array":
        count = schema.get("minItems", 0)
        return [generate(schema.get("items", {}), document, f"{name}{i}") for i in range(count)]
    if kind == "integer":
        return _number(schema, integer=True)
    if kind == "number":
        return _number(schema, integer=False)
    if kind == "boolean":
        return False
    if kind == "null":
        return None
    return _string(schema, name)


def body_for(op: Operation, document: dict[str, Any]) -> tuple[Any, str] | None:
    """(body, content type) for an operation that takes a body, else None."""
    request_body = op.spec.get("requestBody")
    if not request_body:
        return None
    content = request_body.get("content", {})
    content_type = "application/json" if "application/json" in content else next(iter(content))
    if (op.method, op.path) in BODIES:
        return copy.deepcopy(BODIES[(op.method, op.path)]), content_type
    return generate(content[content_type].get("schema", {}), document), content_type


def send(
    api: Api,
    op: Operation,
    authorization: str | None,
    *,
    ids: dict[str, str] | None = None,
    body: tuple[Any, str] | None = None,
) -> Reply:
    headers = {"Authorization": authorization} if authorization is not None else {}
    raw: str | None = None
    if body is not None:
        value, content_type = body
        headers["Content-Type"] = content_type
        raw = (
            json.dumps(value)
            if content_type == "application/json"
            else urllib.parse.urlencode(value, doseq=True)
        )
    return api.call(op.method, op.url(ids), token="", headers=headers, raw=raw)


# ---------------------------------------------------------------------------------------------
# Tokens


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _segment(value: dict[str, Any]) -> str:
    return _b64(json.dumps(value, separators=(",", ":")).encode())


@cache
def moto_private_key() -> Any:
    from moto.utilities.utils import load_resource

    return jwt.algorithms.RSAAlgorithm.from_jwk(
        json.dumps(load_resource("cognitoidp/resources/jwks-private.json"))
    )


@cache
def attacker_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def trusted_public_key() -> Any:
    """The public key the app verifies with, fetched from the pool's JWKS as the app does."""
    from chalicelib.auth.tokens import _jwks_client

    return _jwks_client().get_signing_key(MOTO_KID).key


def sign(claims: dict[str, Any], *, key: Any = None, kid: str = MOTO_KID, **header: Any) -> str:
    return jwt.encode(
        claims,
        key if key is not None else moto_private_key(),
        algorithm="RS256",
        headers={"kid": kid, "typ": "JWT", **header},
    )


def hs256_with(secret: bytes, claims: dict[str, Any]) -> str:
    # PyJWT refuses a PEM as an HMAC secret, so the confusion attack is built by hand.
    signing_input = (
        f"{_segment({'alg': 'HS256', 'typ': 'JWT', 'kid': MOTO_KID})}.{_segment(claims)}"
    )
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def unsigned(claims: dict[str, Any], alg: str = "none", signature: str = "") -> str:
    return f"{_segment({'alg': alg, 'typ': 'JWT', 'kid': MOTO_KID})}.{_segment(claims)}.{signature}"


def claims_of(token: str) -> dict[str, Any]:
    """A real token's claims with a fresh lifetime, ready to be re-signed."""
    claims = dict(jwt.decode(token, options={"verify_signature": False}))
    now = int(time.time())
    claims.update(iat=now, auth_time=now, exp=now + 3600, jti=secrets.token_hex(8))
    return claims


def flip(text: str, at: int) -> str:
    """Change one base64url character. Not the last one: its low bits may be padding."""
    return text[:at] + ("A" if text[at] != "A" else "B") + text[at + 1 :]


def bad_authorizations(claims: dict[str, Any], other_tenant_id: str) -> dict[str, str | None]:
    """Authorization header values that must all answer 401, by what is wrong with them."""
    good = sign(claims)
    header, payload, signature = good.split(".")
    now = int(time.time())

    def changed(**overrides: Any) -> dict[str, Any]:
        return {**claims, **overrides}

    def without(*names: str) -> dict[str, Any]:
        return {k: v for k, v in claims.items() if k not in names}

    public = trusted_public_key()
    spki = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    pkcs1 = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1)
    attacker = attacker_key()
    attacker_jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(attacker.public_key()))
    tampered = _segment(changed(**{"custom:tenant_id": other_tenant_id}))
    bearer = {
        "signature with one character changed": flip(good, len(header) + len(payload) + 40),
        "payload changed (tenant), signature kept": f"{header}.{tampered}.{signature}",
        "payload changed (exp extended), signature kept": (
            f"{header}.{_segment(changed(exp=now + 86400 * 365))}.{signature}"
        ),
        "signature removed": f"{header}.{payload}.",
        "expired": sign(changed(iat=now - 7200, auth_time=now - 7200, exp=now - 3600)),
        "not yet valid (nbf in an hour)": sign(changed(nbf=now + 3600)),
        "access token (token_use=access)": sign(changed(token_use="access")),
        "no token_use": sign(without("token_use")),
        "wrong audience": sign(changed(aud="some-other-app-client")),
        "no audience": sign(without("aud")),
        "wrong issuer": sign(changed(iss="https://cognito-idp.us-east-1.amazonaws.com/evil")),
        "no exp": sign(without("exp")),
        "no custom:tenant_id": sign(without("custom:tenant_id")),
        "empty custom:tenant_id": sign(changed(**{"custom:tenant_id": ""})),
        "no cognito:groups": sign(without("cognito:groups")),
        "no role among the groups": sign(changed(**{"cognito:groups": ["superuser"]})),
        "alg none": unsigned(claims),
        "alg None, signature kept": unsigned(claims, "None", signature),
        "HS256 signed with the public key (SPKI PEM)": hs256_with(spki, claims),
        "HS256 signed with the public key (PKCS#1 PEM)": hs256_with(pkcs1, claims),
        "unknown kid": sign(claims, key=attacker, kid="attacker-kid"),
        "known kid, foreign key": sign(claims, key=attacker),
        "foreign key embedded as jwk header": sign(claims, key=attacker, jwk=attacker_jwk),
        "RS512 instead of RS256": jwt.encode(
            claims, moto_private_key(), algorithm="RS512", headers={"kid": MOTO_KID}
        ),
        "not a JWT": "not-a-jwt",
        "two tokens": f"{good} {good}",
    }
    values: dict[str, str | None] = {
        "no Authorization header": None,
        "empty Authorization header": "",
        "'Bearer' only": "Bearer",
        "'Bearer ' and spaces": "Bearer    ",
        "Basic scheme": "Basic x",
        "Basic scheme with a valid token": f"Basic {good}",
        "token without a scheme": good,
    }
    values.update({name: f"Bearer {token}" for name, token in bearer.items()})
    return values


# ---------------------------------------------------------------------------------------------
# The walker: each check returns what it found wrong, as readable lines


def check_tokens(
    api: Api, op: Operation, valid_token: str, bad: dict[str, str | None]
) -> list[str]:
    problems = []
    accepted = send(api, op, f"Bearer {valid_token}", body=({}, "application/json"))
    if accepted.status == 401:
        problems.append(
            f"{op}: a correctly signed token was refused (401) — the forged tokens prove nothing"
        )
    for name, authorization in bad.items():
        reply = send(api, op, authorization, body=({}, "application/json"))
        if reply.status != 401:
            problems.append(f"{op}: {name} → {reply.status}, expected 401")
        elif reply.json.get("error", {}).get("code") != "unauthorized":
            problems.append(f"{op}: {name} → 401 without the error shape: {reply.body[:200]!r}")
    return problems


def check_roles(
    api: Api, op: Operation, tokens: dict[str, str], document: dict[str, Any]
) -> list[str]:
    problems = []
    body = body_for(op, document)
    for role in sorted(set(ALL_ROLES) - set(op.roles)):
        reply = send(api, op, f"Bearer {tokens[role]}", body=body)
        if reply.status != 403:
            problems.append(f"{op}: a {role} → {reply.status}, expected 403 (allowed: {op.roles})")
    return problems


def check_other_tenant(
    api: Api,
    op: Operation,
    tokens: dict[str, str],
    other_ids: Callable[[str], str | None],
    document: dict[str, Any],
) -> list[str]:
    ids: dict[str, str] = {}
    for name in op.path_params:
        value = other_ids(name)
        if value is None:
            return [
                f"{op}: no factory for path parameter {name!r}: add a factory for {name} in "
                "tests/functional/factories.py (it makes one in the other tenant)"
            ]
        ids[name] = value
    caller = next(role for role in ALL_ROLES if role in op.roles)
    body = body_for(op, document)
    reply = send(api, op, f"Bearer {tokens[caller]}", ids=ids, body=body)
    if reply.status == 404:
        return []
    if reply.status == 422 and body is not None:
        fields = reply.json.get("error", {}).get("fields")
        return [
            f"{op}: the generated body {body[0]!r} was refused ({fields}) before the lookup "
            "could answer 404; give the body model `examples` or add the operation to "
            "BODIES in tests/functional/factories.py"
        ]
    return [
        f"{op}: a {caller} of tenant A with tenant B's ids {ids} → {reply.status} "
        f"{reply.body[:200]!r}, expected 404"
    ]


# ---------------------------------------------------------------------------------------------
# Two tenants for the whole module: A calls, B owns the ids


@pytest.fixture(scope="module")
def tenant_a(client: Any) -> TenantHandle:
    tenant = new_tenant(client, company="Alpha Walkers")
    tenant.add_staff("senior_manager")
    tenant.add_staff("account_manager")
    return tenant


@pytest.fixture(scope="module")
def tenant_b(client: Any) -> TenantHandle:
    return new_tenant(client, company="Beta Owners")


@pytest.fixture(scope="module")
def tokens(tenant_a: TenantHandle) -> dict[str, str]:
    return {role: staff.token for role, staff in tenant_a.staff.items()}


@pytest.fixture(scope="module")
def forged_admin(tenant_a: TenantHandle, client: Any) -> str:
    """A token forged with moto's key and the admin's real claims; it must work like the real
    one, which shows the bad variants fail for what is wrong with them, not for the key."""
    token = sign(claims_of(tenant_a.admin.token))
    reply = Api(client, token).get("/me")
    assert reply.status == 200, reply.body
    assert reply.json["user"]["id"] == tenant_a.admin.user_id
    return token


@pytest.fixture(scope="module")
def bad(tenant_a: TenantHandle, tenant_b: TenantHandle) -> dict[str, str | None]:
    return bad_authorizations(claims_of(tenant_a.admin.token), tenant_b.tenant_id)


@pytest.fixture(scope="module")
def other_ids(tenant_b: TenantHandle) -> Callable[[str], str | None]:
    made: dict[str, str] = {}

    def lookup(name: str) -> str | None:
        if name not in FACTORIES:
            return None
        if name not in made:
            made[name] = FACTORIES[name](tenant_b)
        return made[name]

    return lookup


@pytest.fixture(scope="module")
def api(client: Any) -> Api:
    return Api(client)


# ---------------------------------------------------------------------------------------------
# The generated tests


def test_walks_every_staff_operation_of_the_served_document(api: Api) -> None:
    served = staff_operations(api.get("/openapi.json").json)
    assert {str(op) for op in served} == {str(op) for op in OPERATIONS}
    assert OPERATIONS, "no staff operation found in the document"


@pytest.mark.parametrize("op", OPERATIONS, ids=str)
def test_bad_tokens_answer_401(
    api: Api, op: Operation, forged_admin: str, bad: dict[str, str | None]
) -> None:
    problems = check_tokens(api, op, forged_admin, bad)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("op", RESTRICTED, ids=str)
def test_roles_left_out_answer_403(api: Api, op: Operation, tokens: dict[str, str]) -> None:
    problems = check_roles(api, op, tokens, DOCUMENT)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("op", WITH_IDS, ids=str)
def test_other_tenants_ids_answer_404(
    api: Api,
    op: Operation,
    tokens: dict[str, str],
    other_ids: Callable[[str], str | None],
) -> None:
    problems = check_other_tenant(api, op, tokens, other_ids, DOCUMENT)
    assert not problems, "\n".join(problems)


def test_every_path_parameter_has_a_factory() -> None:
    names = {name for op in WITH_IDS for name in op.path_params}
    missing = sorted(names - set(FACTORIES))
    assert not missing, "".join(
        f"\nadd a factory for {name} in tests/functional/factories.py" for name in missing
    )


def test_generated_bodies_pass_validation() -> None:
    """The generator itself: every body it sends must satisfy the route's body model, or the
    403/404 checks would only be testing validation."""
    from chalicelib.api.routing import ROUTES

    problems = []
    for spec in ROUTES:
        op = Operation(spec.method, spec.path, DOCUMENT["paths"][spec.path][spec.method.lower()])
        body = body_for(op, DOCUMENT)
        if spec.body is None or body is None:
            continue
        try:
            spec.body.model_validate(body[0])
        except ValueError as exc:
            problems.append(f"{op}: generated body {body[0]!r} is refused: {exc}")
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------------------------------------
# The walker reports broken routes


@contextmanager
def throwaway_app() -> Iterator[tuple[Any, Any]]:
    """A fresh Chalice app and blueprint; routes declared on it leave ROUTES as it was."""
    from chalice import Chalice
    from chalice.app import Blueprint

    from chalicelib.api.routing import ROUTES

    saved = list(ROUTES)
    fresh = Chalice(app_name="walker-check", configure_logs=False)
    fresh.experimental_feature_flags.update(["BLUEPRINTS"])
    try:
        yield fresh, Blueprint("walker_check")
    finally:
        ROUTES[:] = saved


@pytest.fixture(scope="module")
def broken() -> Iterator[tuple[Api, dict[str, Any]]]:
    """Throwaway routes: one done right, and one for each mistake the walker must catch."""
    from chalice.test import Client

    from chalicelib.api.access import account_for
    from chalicelib.api.routing import ADMIN, staff_route
    from chalicelib.auth.tokens import Principal

    with throwaway_app() as (fresh, bp):

        @staff_route(bp, "/walker/right/{account_id}", roles=ADMIN)
        def right(principal: Principal, account_id: str) -> dict[str, Any]:
            """Done right."""
            return account_for(principal, account_id).to_api()

        @bp.route("/walker/unverified/{account_id}")
        def unverified(account_id: str) -> dict[str, Any]:
            return {"id": account_id}  # no token check at all

        @staff_route(bp, "/walker/leaky/{account_id}", roles=ADMIN)
        def leaky(principal: Principal, account_id: str) -> dict[str, Any]:
            """Never looks the id up in the caller's tenant."""
            return {"id": account_id}

        @staff_route(bp, "/walker/any-role/{account_id}")
        def any_role(principal: Principal, account_id: str) -> dict[str, Any]:
            """Declared for every role, documented (below) as admin-only."""
            return account_for(principal, account_id).to_api()

        @staff_route(bp, "/walker/widgets/{widget_id}", roles=ADMIN)
        def widget(principal: Principal, widget_id: str) -> dict[str, Any]:
            """A kind of id nobody wrote a factory for."""
            return {"id": widget_id}

        fresh.register_blueprint(bp)
        document = build_document()
    # ROUTES is back as it was; the throwaway routes live on in the fresh app only.
    paths = {p: item for p, item in document["paths"].items() if p.startswith("/walker/")}
    # Documented as a staff route, though its view never checks a token.
    paths["/walker/unverified/{account_id}"] = copy.deepcopy(paths["/walker/right/{account_id}"])
    paths["/walker/any-role/{account_id}"]["get"]["x-pulse-roles"] = ["admin"]
    document["paths"] = paths
    with Client(fresh, stage_name="test") as test_client:
        yield Api(test_client), document


def _op(document: dict[str, Any], path: str) -> Operation:
    (op,) = [o for o in staff_operations(document) if o.path == path]
    return op


def test_walker_passes_a_route_done_right(
    broken: tuple[Api, dict[str, Any]],
    forged_admin: str,
    bad: dict[str, str | None],
    tokens: dict[str, str],
    other_ids: Callable[[str], str | None],
) -> None:
    api, document = broken
    op = _op(document, "/walker/right/{account_id}")
    assert check_tokens(api, op, forged_admin, bad) == []
    assert check_roles(api, op, tokens, document) == []
    assert check_other_tenant(api, op, tokens, other_ids, document) == []


def test_walker_reports_a_route_that_skips_verification(
    broken: tuple[Api, dict[str, Any]], forged_admin: str, bad: dict[str, str | None]
) -> None:
    api, document = broken
    problems = check_tokens(
        api, _op(document, "/walker/unverified/{account_id}"), forged_admin, bad
    )
    assert len(problems) == len(bad)
    assert any("no Authorization header → 200" in p for p in problems)
    assert any("HS256 signed with the public key (SPKI PEM) → 200" in p for p in problems)


def test_walker_reports_the_real_app_when_verification_is_skipped(
    api: Api,
    tenant_a: TenantHandle,
    forged_admin: str,
    bad: dict[str, str | None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Mutation check on the real routes: make authentication trust any header."""
    from chalicelib.api import routing
    from chalicelib.auth.tokens import Principal

    admin = Principal(tenant_a.tenant_id, tenant_a.admin.user_id, "admin", tenant_a.admin.email)
    monkeypatch.setattr(routing, "authenticate", lambda _header: admin)
    me = next(op for op in OPERATIONS if str(op) == "GET /me")
    problems = check_tokens(api, me, forged_admin, bad)
    assert len(problems) == len(bad), problems


def test_walker_reports_a_route_that_ignores_the_tenant(
    broken: tuple[Api, dict[str, Any]],
    tokens: dict[str, str],
    other_ids: Callable[[str], str | None],
) -> None:
    api, document = broken
    op = _op(document, "/walker/leaky/{account_id}")
    problems = check_other_tenant(api, op, tokens, other_ids, document)
    assert len(problems) == 1 and "→ 200" in problems[0] and "expected 404" in problems[0]


def test_walker_reports_a_role_that_gets_through(
    broken: tuple[Api, dict[str, Any]], tokens: dict[str, str]
) -> None:
    api, document = broken
    problems = check_roles(api, _op(document, "/walker/any-role/{account_id}"), tokens, document)
    assert len(problems) == 2
    assert any("account_manager" in p for p in problems)
    assert any("senior_manager" in p for p in problems)


def test_walker_demands_a_factory_for_a_new_kind_of_id(
    broken: tuple[Api, dict[str, Any]],
    tokens: dict[str, str],
    other_ids: Callable[[str], str | None],
) -> None:
    api, document = broken
    op = _op(document, "/walker/widgets/{widget_id}")
    problems = check_other_tenant(api, op, tokens, other_ids, document)
    assert (
        problems and "add a factory for widget_id in tests/functional/factories.py" in problems[0]
    )


def test_generator_builds_valid_bodies() -> None:
    from pydantic import BaseModel, Field

    from chalicelib.api.routing import Body
    from chalicelib.api.types import Email, IsoDate, Name

    class Nested(BaseModel):
        level: int = Field(ge=1, le=6)

    class Sample(Body):
        name: Name
        email: Email
        due_date: IsoDate
        currency: str = Field(pattern=r"^[A-Z]{3}$")
        code: str = Field(pattern=r"^[a-z]{2}-\d{3}$")
        count: int = Field(gt=3)
        ids: list[str] = Field(min_length=2)
        nested: Nested
        maybe: Nested | None
        optional: str | None = None

    schema = Sample.model_json_schema(ref_template="#/$defs/{model}")
    value = generate(schema, schema)
    assert Sample.model_validate(value).name == "probe"
    assert "optional" not in value
