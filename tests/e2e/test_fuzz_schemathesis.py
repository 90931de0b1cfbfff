"""Schemathesis against the real local stack, from the project's own ``/openapi.json``.

Every documented operation is fuzzed with an admin's ID token (a tenant signed up through the
stack for this test), with a fixed seed and a bounded number of examples per operation, no
shrinking. Checks: no 5xx (``not_a_server_error``) and every JSON answer matches its documented
schema (``response_schema_conformance``). Nothing is excluded: ``/_local/*`` routes are not in the
document (they exist only in ``pulse local``). CSV, SVG and HTML answers are checked for 5xx
only, since schemathesis has no schema for those media types.

The fuzzer hits ``/r/{token}`` and ``/unsubscribe/{token}`` with made-up tokens from 127.0.0.1
(every local request has that source IP), which trips the bad-link limiter; the test deletes its
counters afterwards so the shared stack serves the browser tests' links normally.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

MAX_EXAMPLES = 6
SEED = 20261123
CHECKS = "not_a_server_error,response_schema_conformance"


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
        "examples,fuzzing",
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
    output = run.stdout[-6000:] + run.stderr[-2000:]
    result = json.loads(report.read_text())
    operations = result["operations"]
    cases = result["test_cases"]
    print(f"schemathesis: {operations['tested']} operations, {cases['generated']} cases")
    assert operations["tested"] == operations["total"] > 80, output
    assert operations["skipped"] == 0, output
    assert result["failures"] == [], output
    assert cases["with_failures"] == 0, output
    assert result["errors"] == [], output
    assert cases["generated"] >= operations["total"] * 2, output
    assert run.returncode == 0, output


def test_unknown_http_methods_are_a_client_error_not_501(stack: Any) -> None:
    """Regression: schemathesis' coverage phase found the dev server answering TRACE/QUERY with
    its own 501 on every path; every method now reaches the app's routing."""
    for method in ("TRACE", "QUERY", "PROPFIND"):
        reply = stack.http.call(method, "/health")
        assert reply.status == 405, (method, reply.status)
        reply = stack.http.call(method, "/accounts")
        assert 400 <= reply.status < 500, (method, reply.status)
