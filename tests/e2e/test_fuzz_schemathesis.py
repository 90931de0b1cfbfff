"""Schemathesis against the real local stack, from the project's own ``/openapi.json``.

Every documented operation is fuzzed with an admin's ID token (a tenant signed up through the
stack for this test), with a fixed seed and a bounded number of examples per operation, no
shrinking, with every check schemathesis has (``--checks all``); then the stateful phase follows
the document's links (an answer's ``id`` into the operations that take it). The checks: no 5xx;
every answer's status, content type, headers and body as documented (success bodies have their
response models); every schema-violating request refused; every schema-valid one accepted. Nothing is excluded:
``/_local/*`` routes are not in the document (they exist only in ``pulse local``).

The only schema-valid requests the server may refuse are those the document cannot describe
(``TOLERATED``): an opaque cursor (any string is schema-valid; only one the server signed for
that list is accepted), and a few values that must name the tenant's own data or a secret. Any
other failure fails the test.

The fuzzer hits ``/r/{token}`` and ``/unsubscribe/{token}`` with made-up tokens from 127.0.0.1
(every local request has that source IP), which trips the bad-link limiter; the test deletes its
counters afterwards so the shared stack serves the browser tests' links normally.
"""

from __future__ import annotations

import contextlib
import json
import re
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

MAX_EXAMPLES = 6
SEED = 20261123
CHECKS = "all"
REJECTED_POSITIVE = "ST202"
CURSOR_REFUSED = "not a cursor from this list"
# Operation -> the request fields whose schema-valid values may still be refused, and why. Shrink
# this table; never add to it without the reason the document cannot state the rule.
TOLERATED: dict[str, dict[str, str]] = {
    "POST /accounts": {"owner_id": "must be a user of the tenant"},
    "PATCH /accounts/{account_id}": {
        "owner_id": "must be a user of the tenant",
        "stage": "must be one of the tenant's stages (a setting)",
    },
    "POST /auth/reset-password": {"code": "must be the code that was mailed"},
    "POST /accounts/{account_id}/pulses": {
        "risk_factors": "ids of the tenant's reason codes",
        "success_factors": "ids of the tenant's reason codes",
    },
    "PUT /heartbeat/config": {"questions": "exactly four ids from the question library"},
    "PUT /settings": {"*": "the settings document's own rules"},
}


def _admin_token(stack: Any) -> str:
    http = stack.http
    email = f"fuzz-{secrets.token_hex(4)}@provider.example"
    reply = http.post(
        "/signup",
        {
            "company": "Fuzz Co",
            "industry": "IT Services",
            "country": "US",
            "region": "WA",
            "city": "Seattle",
            "staff_size": 40,
            "admin_email": email,
            "admin_name": "Fuzz Admin",
            "password": "correct-horse-battery",
        },
        token="",
    )
    assert reply.status == 201, reply.body
    reply = http.post("/auth/login", {"email": email, "password": "correct-horse-battery"})
    assert reply.status == 200, reply.body
    return str(reply.json["id_token"])


def _clear_rate_limits(stack: Any) -> None:
    dynamodb = stack.boto3_client("dynamodb")
    for name in dynamodb.list_tables()["TableNames"]:
        if name.endswith("-rate-limits"):
            for item in dynamodb.scan(TableName=name).get("Items", []):
                dynamodb.delete_item(TableName=name, Key={"limit_key": item["limit_key"]})


def _refusals(log: str) -> list[tuple[str, dict[str, str]]]:
    """Each refused schema-valid request in the report: its operation and error ``fields``."""
    out: list[tuple[str, dict[str, str]]] = []
    sections = re.split(r"\n_{3,} ([A-Z]+ /\S*) _{3,}\n", log)
    for operation, text in zip(sections[1::2], sections[2::2], strict=True):
        for case in re.split(r"\n\d+\. Test Case ID: ", text):
            if REJECTED_POSITIVE not in case:
                continue
            bodies = re.findall(r"`(\{.*?\})`", case)
            fields = {"body": "?"}
            if bodies:
                with contextlib.suppress(ValueError, KeyError):
                    fields = json.loads(bodies[0])["error"].get("fields") or {"body": "?"}
            out.append((operation, fields))
    return out


def _tolerated(operation: str, fields: dict[str, str]) -> bool:
    allowed = TOLERATED.get(operation, {})
    return all(
        message == CURSOR_REFUSED or name.split("[")[0] in allowed or "*" in allowed
        for name, message in fields.items()
    )


def test_every_operation_fuzzed_without_server_errors_or_schema_violations(
    stack: Any, tmp_path: Path
) -> None:
    token = _admin_token(stack)
    report = tmp_path / "schemathesis.json"
    st = Path(sys.executable).with_name("st")
    command = [
        str(st),
        "run",
        f"{stack.base_url}/openapi.json",
        "--header",
        f"Authorization: Bearer {token}",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        str(SEED),
        "--no-shrink",
        "--phases",
        "examples,fuzzing,stateful",
        "--checks",
        CHECKS,
        "--workers",
        "2",
        "--request-timeout",
        "30",
        "--report",
        "json",
        "--report-json-path",
        str(report),
    ]
    try:
        run = subprocess.run(
            command, cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False
        )
    finally:
        _clear_rate_limits(stack)
    (tmp_path / "schemathesis.log").write_text(run.stdout + run.stderr)
    output = run.stdout[-6000:] + run.stderr[-2000:]
    result = json.loads(report.read_text())
    operations = result["operations"]
    cases = result["test_cases"]
    print(f"schemathesis: {operations['tested']} operations, {cases['generated']} cases")
    assert operations["tested"] == operations["total"] > 80, output
    assert operations["skipped"] == 0, output
    unexpected = [f for f in result["failures"] if f["code"] != REJECTED_POSITIVE]
    assert unexpected == [], output
    refusals = _refusals((tmp_path / "schemathesis.log").read_text())
    untolerated = [(op, fields) for op, fields in refusals if not _tolerated(op, fields)]
    assert untolerated == [], f"schema-valid requests refused: {untolerated}\n{output}"
    assert result["errors"] == [], output
    assert cases["generated"] >= operations["total"] * 2, output
    # schemathesis exits 1 when it reports failures (here only the tolerated refusals).
    assert run.returncode == (1 if result["failures"] else 0), output


def test_unknown_http_methods_are_a_client_error_not_501(stack: Any) -> None:
    """Regression: schemathesis' coverage phase found the dev server answering TRACE/QUERY with
    its own 501 on every path; every method now reaches the app's routing."""
    for method in ("TRACE", "QUERY", "PROPFIND"):
        reply = stack.http.call(method, "/health")
        assert reply.status == 405, (method, reply.status)
        reply = stack.http.call(method, "/accounts")
        assert 400 <= reply.status < 500, (method, reply.status)
