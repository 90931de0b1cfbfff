"""Security tests generated from the OpenAPI document: every staff operation, present and future.

For each operation that the document marks as secured, the walker checks that

* a missing, malformed, tampered, expired, wrongly signed or wrongly claimed token answers 401
  (``alg: none``, HS256 signed with the public key, an unknown ``kid``, an access token, a
  foreign ``aud``/``iss``, no tenant or role claims, …), while a correctly signed token with the
  same claims is accepted — so the checks fail if a route skips verification;
* its roles are the ones the policy table (``tests/functional/policy.py``, written from the API
  contract, not from the code) gives it: a served route missing from the table fails, declared
  roles that differ from it fail, every role outside its entry answers 403 and every role inside
  it gets past the role check (neither 401 nor 403) for a real user of that role;
* another tenant's ids in the path answer 404, with a body that passes validation, and tenant B
  reads its records back unchanged afterwards. Each path parameter needs a factory and a reader
  in ``tests/functional/factories.py``: the factory makes a real resource of its kind in the
  other tenant, the reader names the GETs that show it; a parameter without them fails the test.

Public routes are pinned too: the table's public entries are exactly the operations the document
serves without security, so a staff route declared public by mistake fails, and the app's own
routing table holds nothing the document does not list.

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
from factories import BODIES, FACTORIES, READERS
from policy import POLICY, V1, Rule
from policy import key as policy_key
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


def all_operations(document: dict[str, Any]) -> list[Operation]:
    return [
        Operation(method.upper(), path, operation)
        for path, item in sorted(document["paths"].items())
        for method, operation in item.items()
        if method in METHODS
    ]


DOCUMENT = build_document()
OPERATIONS = staff_operations(DOCUMENT)
WITH_IDS = [op for op in OPERATIONS if op.path_params]


def rule_of(op: Operation, policy: dict[tuple[str, str], Rule]) -> Rule | None:
    return policy.get(policy_key(op.method, op.path))


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


def check_declarations(
    document: dict[str, Any], policy: dict[tuple[str, str], Rule], *, deployed: bool = True
) -> list[str]:
    """The document against the policy table: every operation has an entry, staff operations
    declare exactly the entry's roles, and the public operations are exactly the table's public
    entries (local-only entries aside; ``deployed=False`` compares only what the document has)."""
    problems = []
    operations = all_operations(document)
    for op in operations:
        rule = rule_of(op, policy)
        if rule is None:
            problems.append(
                f"{op}: served but not in the policy table (tests/functional/policy.py)"
            )
        elif op.spec.get("security") and rule.public:
            problems.append(f"{op}: declared for staff {op.roles}, the policy says public")
        elif op.spec.get("security") and set(op.roles) != rule.roles:
            problems.append(
                f"{op}: declared roles {sorted(op.roles)}, the policy says {sorted(rule.roles)}"
            )
    public = {policy_key(op.method, op.path) for op in operations if not op.spec.get("security")}
    for k in sorted(public):
        rule = policy.get(k)
        if rule is not None and not rule.public:
            problems.append(
                f"{rule.method} {rule.path}: public, the policy says {sorted(rule.roles)}"
            )
    if deployed:
        for k, rule in sorted(policy.items()):
            if rule.public and rule.source != "local" and k not in public:
                problems.append(f"{rule}: public in the policy, the document does not serve it")
    return problems


def check_roles(
    api: Api,
    op: Operation,
    tokens: dict[str, str],
    document: dict[str, Any],
    allowed: frozenset[str] | list[str],
) -> list[str]:
    """Each role outside ``allowed`` answers 403; each role inside gets past the role check."""
    problems = []
    body = body_for(op, document)
    for role in sorted(ALL_ROLES):
        reply = send(api, op, f"Bearer {tokens[role]}", body=body)
        if role not in allowed and reply.status != 403:
            problems.append(
                f"{op}: a {role} → {reply.status}, expected 403 (allowed: {sorted(allowed)})"
            )
        elif role in allowed and reply.status in (401, 403):
            problems.append(
                f"{op}: a {role} → {reply.status} {reply.body[:200]!r}, but the policy allows "
                f"{sorted(allowed)}"
            )
    return problems


def _difference(before: dict[str, Any], after: dict[str, Any]) -> str:
    """The first GET whose answer moved, shortened for the failure message."""
    for path in before:
        if before[path] != after.get(path):
            return f"GET {path}: {before[path]!r:.300} → {after.get(path)!r:.300}"
    return "a GET answered differently"


def check_other_tenant(
    api: Api,
    op: Operation,
    tokens: dict[str, str],
    other_ids: Callable[[str], str | None],
    document: dict[str, Any],
    read_back: Callable[[str, str], Any] | None = None,
) -> list[str]:
    """Tenant A's ids answer 404 for tenant B's resources; with ``read_back(name, id)``, tenant B
    reads each of them before and after the call and they must be the same."""
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
    before = {name: read_back(name, value) for name, value in ids.items()} if read_back else {}
    unseen = [
        f"{op}: the reader for {name} does not show {ids[name]} (every GET must answer 200 "
        f"and one must hold the id): {seen!r:.300}"
        for name, seen in before.items()
        if any(status != 200 for status, _ in seen.values()) or ids[name] not in json.dumps(seen)
    ]
    if unseen:
        return unseen
    reply = send(api, op, f"Bearer {tokens[caller]}", ids=ids, body=body)
    after = {name: read_back(name, value) for name, value in ids.items()} if read_back else {}
    changed = [
        f"{op}: tenant B's {name} {ids[name]} changed after tenant A's call "
        f"(→ {reply.status}): {_difference(before[name], after[name])}"
        for name in before
        if before[name] != after[name]
    ]
    if changed:
        return changed
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


# Fields that may differ between two reads of an unchanged record: none so far. (A field is
# added here only with the reason it moves by itself.)
VOLATILE: frozenset[str] = frozenset()


def _stable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


@pytest.fixture(scope="module")
def read_back(tenant_b: TenantHandle) -> Callable[[str, str], dict[str, Any]]:
    """What tenant B's admin reads about one of its resources: GET path -> (status, body)."""

    def read(name: str, value: str) -> dict[str, Any]:
        if name not in READERS:
            raise AssertionError(
                f"no reader for path parameter {name!r}: add one with @reader({name!r}) in "
                "tests/functional/factories.py"
            )
        seen: dict[str, Any] = {}
        for path in READERS[name](tenant_b, value):
            reply = tenant_b.api.get(path)
            body = reply.json if reply.body else None
            seen[path] = (reply.status, _stable(body))
        return seen

    return read


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


def test_served_routes_match_the_policy_table(api: Api) -> None:
    """Every operation of the served document is in the table with the table's roles, and its
    public operations are exactly the table's public entries."""
    problems = check_declarations(api.get("/openapi.json").json, POLICY)
    assert not problems, "\n".join(problems)


def test_the_app_routes_nothing_the_document_leaves_out(chalice_app: Any) -> None:
    """A route registered with a bare ``bp.route`` would skip the declaration, the document and
    every check here: the app's own routing table must equal the document's operations. The
    staff web app's pages (``/`` and ``/app/…``, server-rendered, signed in by cookie) are a
    contract of their own (WEB.md) with their own checks, and are left out."""
    routed = {
        (method.upper(), path)
        for path, methods in chalice_app.routes.items()
        for method in methods
        if not (path == "/" or path == "/app" or path.startswith("/app/"))
    }
    documented = {(op.method, op.path) for op in all_operations(DOCUMENT)}
    assert routed == documented


def test_every_contract_v1_route_is_served() -> None:
    served = {policy_key(op.method, op.path) for op in all_operations(DOCUMENT)}
    missing = [str(rule) for k, rule in POLICY.items() if rule.source == V1 and k not in served]
    assert not missing, "\n".join(missing)


@pytest.mark.parametrize("op", OPERATIONS, ids=str)
def test_roles_answer_as_the_policy_says(api: Api, op: Operation, tokens: dict[str, str]) -> None:
    rule = rule_of(op, POLICY)
    assert rule is not None, f"{op} is not in the policy table (tests/functional/policy.py)"
    problems = check_roles(api, op, tokens, DOCUMENT, rule.roles)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("op", WITH_IDS, ids=str)
def test_other_tenants_ids_answer_404_and_change_nothing(
    api: Api,
    op: Operation,
    tokens: dict[str, str],
    other_ids: Callable[[str], str | None],
    read_back: Callable[[str, str], dict[str, Any]],
) -> None:
    problems = check_other_tenant(api, op, tokens, other_ids, DOCUMENT, read_back)
    assert not problems, "\n".join(problems)


def test_every_path_parameter_has_a_factory_and_a_reader() -> None:
    names = {name for op in WITH_IDS for name in op.path_params}
    missing = [f"a factory for {name}" for name in sorted(names - set(FACTORIES))]
    missing += [f"a reader for {name}" for name in sorted(names - set(READERS))]
    assert not missing, "".join(
        f"\nadd {what} in tests/functional/factories.py" for what in missing
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


# The throwaway routes' policy, as a table written from a contract would give it.
WALKER_POLICY: dict[tuple[str, str], Rule] = {
    policy_key("GET", path): Rule("GET", path, roles, "v1")
    for path, roles in (
        ("/walker/right/{account_id}", frozenset({"admin"})),
        ("/walker/unverified/{account_id}", frozenset({"admin"})),
        ("/walker/leaky/{account_id}", frozenset({"admin"})),
        ("/walker/leaky-write/{account_id}", frozenset({"admin"})),
        ("/walker/any-role/{account_id}", frozenset({"admin"})),
        ("/walker/wrong-roles/{account_id}", frozenset({"admin", "senior_manager"})),
        ("/walker/public-by-mistake/{account_id}", frozenset({"admin"})),
        ("/walker/widgets/{widget_id}", frozenset({"admin"})),
    )
}


@pytest.fixture(scope="module")
def broken(tenant_b: TenantHandle) -> Iterator[tuple[Api, dict[str, Any]]]:
    """Throwaway routes: one done right, and one for each mistake the walker must catch."""
    from chalice.test import Client

    from chalicelib.api.access import account_for
    from chalicelib.api.routing import ADMIN, public_route, staff_route
    from chalicelib.auth.tokens import Principal
    from chalicelib.errors import NotFound
    from chalicelib.store import accounts

    with throwaway_app() as (fresh, bp):

        @staff_route(bp, "/walker/wrong-roles/{account_id}", roles=ADMIN)
        def wrong_roles(principal: Principal, account_id: str) -> dict[str, Any]:
            """Declared (and documented) admin-only; the contract lets senior managers in."""
            return account_for(principal, account_id).to_api()

        @public_route(bp, "/walker/public-by-mistake/{account_id}")
        def public_by_mistake(account_id: str) -> dict[str, Any]:
            """A staff route declared public."""
            return {"id": account_id}

        @staff_route(bp, "/walker/leaky-write/{account_id}", roles=ADMIN)
        def leaky_write(principal: Principal, account_id: str) -> dict[str, Any]:
            """Answers 404 as it should, but has changed the other tenant's account first (as a
            view that took the tenant from anywhere but the token would)."""
            name = f"Changed by A {secrets.token_hex(3)}"
            accounts.update_account(tenant_b.tenant_id, account_id, {"name": name})
            raise NotFound("account not found")

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
    assert (
        check_roles(api, op, tokens, document, WALKER_POLICY[policy_key(op.method, op.path)].roles)
        == []
    )
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
    op = _op(document, "/walker/any-role/{account_id}")
    problems = check_roles(
        api, op, tokens, document, WALKER_POLICY[policy_key(op.method, op.path)].roles
    )
    assert len(problems) == 2
    assert any("account_manager" in p for p in problems)
    assert any("senior_manager" in p for p in problems)


def test_walker_reports_a_route_declared_with_the_wrong_roles(
    broken: tuple[Api, dict[str, Any]], tokens: dict[str, str]
) -> None:
    """Declared and documented admin-only: it agrees with itself, so only the table catches it —
    once as a declaration, once as a senior manager refused though the contract allows them."""
    api, document = broken
    op = _op(document, "/walker/wrong-roles/{account_id}")
    declared = check_declarations(document, WALKER_POLICY, deployed=False)
    assert [p for p in declared if "wrong-roles" in p] == [
        f"{op}: declared roles ['admin'], the policy says ['admin', 'senior_manager']"
    ]
    problems = check_roles(
        api, op, tokens, document, WALKER_POLICY[policy_key(op.method, op.path)].roles
    )
    assert len(problems) == 1 and "a senior_manager → 403" in problems[0], problems


def test_walker_reports_a_route_missing_from_the_policy_and_one_declared_public() -> None:
    document = {
        "paths": {
            "/walker/unlisted": {"get": {"security": [{"cognito": []}], "x-pulse-roles": []}},
            "/walker/public-by-mistake/{account_id}": {"get": {}},
        }
    }
    problems = check_declarations(document, WALKER_POLICY, deployed=False)
    assert set(problems) == {
        "GET /walker/public-by-mistake/{account_id}: public, the policy says ['admin']",
        "GET /walker/unlisted: served but not in the policy table (tests/functional/policy.py)",
    }


def test_public_routes_are_pinned_to_the_policy() -> None:
    """A public entry of the table that the document stops serving is reported, as is a route
    the document serves without a token that the table gives roles."""
    trimmed = copy.deepcopy(DOCUMENT)
    del trimmed["paths"]["/health"]
    trimmed["paths"]["/me"]["get"].pop("security")
    problems = check_declarations(trimmed, POLICY)
    assert any(p.startswith("GET /health (public; v1): public in the policy") for p in problems)
    assert any(p.startswith("GET /me: public, the policy says") for p in problems)


def test_walker_reports_a_call_that_changes_the_other_tenants_record(
    broken: tuple[Api, dict[str, Any]],
    tokens: dict[str, str],
    other_ids: Callable[[str], str | None],
    read_back: Callable[[str, str], dict[str, Any]],
) -> None:
    api, document = broken
    op = _op(document, "/walker/leaky-write/{account_id}")
    assert check_other_tenant(api, op, tokens, other_ids, document) == []  # 404 alone passes
    problems = check_other_tenant(api, op, tokens, other_ids, document, read_back)
    assert len(problems) == 1 and "changed after tenant A's call (→ 404)" in problems[0]
    assert "Changed by A" in problems[0]


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
