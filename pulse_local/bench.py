"""``make bench``: what each API operation costs in DynamoDB, how heavy ``import app`` is, and how
big the Lambda package is — written to ``docs/benchmarks.md``.

Timing requests through moto measures moto, so the harness *counts*: DynamoDB requests and the
capacity they consume, per API operation, through ``chalicelib.store.metering``. The app runs in
process under ``chalice.test.Client`` against moto's server, provisioned by the local stack.

Adding rows: write a function that takes the :class:`Bench` context and returns rows, and
decorate it with :func:`bench`; it runs after the ones before it, and its rows form a section
of the table. A bench keeps what later benches need in ``ctx.state``.

    python -m pulse_local.bench [--output docs/benchmarks.md] [--repeat 7] [--package]
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import subprocess
import sys
import textwrap
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "docs" / "benchmarks.md"
PASSWORD = "bench-password-correct-horse"  # noqa: S105 (moto only)
PREFIX = "pulse-bench"


@dataclass
class Row:
    section: str
    operation: str
    status: int
    calls: int
    by_operation: str
    read_units: float
    write_units: float
    estimated_read_units: float
    items_read: int
    note: str = ""

    @classmethod
    def from_meter(
        cls, section: str, operation: str, meter: Any, *, status: int = 0, note: str = ""
    ) -> Row:
        """A row from a ``count_dynamodb()`` meter (for jobs and anything not an HTTP request)."""
        return cls(
            section=section,
            operation=operation,
            status=status,
            calls=meter.calls,
            by_operation=", ".join(f"{op} {n}" for op, n in sorted(meter.by_operation.items()))
            or "—",
            read_units=meter.read_units,
            write_units=meter.write_units,
            estimated_read_units=meter.estimated_read_units,
            items_read=meter.items_read,
            note=note,
        )


@dataclass
class Bench:
    """What a bench case gets: the test client, and helpers that call and meter one request."""

    client: Any
    section: str = ""
    state: dict[str, Any] = field(default_factory=dict)

    def call(
        self, method: str, path: str, body: Any = None, token: str | None = None
    ) -> tuple[int, Any]:
        import json

        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        payload = json.dumps(body) if body is not None else None
        response = self.client.http.request(method, path, headers=headers, body=payload)
        data = json.loads(response.body) if response.body else None
        return int(response.status_code), data

    def measure(
        self,
        label: str,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = None,
        expect: int = 200,
        note: str = "",
    ) -> tuple[Row, Any]:
        from chalicelib.store.metering import count_dynamodb

        with count_dynamodb() as meter:
            status, data = self.call(method, path, body, token)
        if status != expect:
            raise RuntimeError(f"{label}: expected {expect}, got {status}: {data}")
        return Row.from_meter(self.section, label, meter, status=status, note=note), data


BenchCase = Callable[[Bench], list[Row]]
BENCHES: list[BenchCase] = []


def bench(case: BenchCase) -> BenchCase:
    """Register a bench case; its docstring's first line names its section of the table."""
    BENCHES.append(case)
    return case


def _set_password(email: str) -> None:
    from chalicelib.clients import client
    from chalicelib.settings import get_settings

    client("cognito-idp").admin_set_user_password(
        UserPoolId=get_settings().user_pool_id, Username=email, Password=PASSWORD, Permanent=True
    )


@bench
def foundation(ctx: Bench) -> list[Row]:
    """Foundation: sign-up, sign-in, users, accounts, contacts"""
    rows: list[Row] = []
    email = f"admin-{secrets.token_hex(4)}@bench.example"
    row, created = ctx.measure(
        "POST /signup",
        "POST",
        "/signup",
        {
            "company": "Bench Services",
            "industry": "IT Services",
            "country": "US",
            "region": "WA",
            "city": "Seattle",
            "staff_size": 40,
            "admin_email": email,
            "admin_name": "Bench Admin",
            "password": PASSWORD,
        },
        expect=201,
        note="tenant + admin user",
    )
    rows.append(row)
    row, tokens = ctx.measure(
        "POST /auth/login", "POST", "/auth/login", {"email": email, "password": PASSWORD}
    )
    rows.append(row)
    admin = str(tokens["id_token"])
    ctx.state.update(tenant_id=created["tenant_id"], admin_token=admin, admin_id=created["user_id"])

    rows.append(ctx.measure("GET /me", "GET", "/me", token=admin)[0])

    manager_email = f"am-{secrets.token_hex(4)}@bench.example"
    row, manager = ctx.measure(
        "POST /users (invite)",
        "POST",
        "/users",
        {"email": manager_email, "name": "Bench Manager", "role": "account_manager"},
        token=admin,
        expect=201,
    )
    rows.append(row)
    _set_password(manager_email)
    _, manager_tokens = ctx.call(
        "POST", "/auth/login", {"email": manager_email, "password": PASSWORD}
    )
    manager_token = str(manager_tokens["id_token"])

    row, account = ctx.measure(
        "POST /accounts",
        "POST",
        "/accounts",
        {"name": "Acme 0", "arr": 12_000_00, "owner_id": manager["id"]},
        token=admin,
        expect=201,
    )
    rows.append(row)
    account_id = account["id"]
    for n in range(1, 50):
        status, _ = ctx.call(
            "POST",
            "/accounts",
            {"name": f"Acme {n}", "arr": 1000 * n, "owner_id": manager["id"]},
            admin,
        )
        assert status == 201, status
    rows.append(
        ctx.measure(
            "GET /accounts (50)",
            "GET",
            "/accounts?limit=50",
            token=admin,
            note="admin: tenant partition",
        )[0]
    )
    rows.append(
        ctx.measure(
            "GET /accounts (50, account manager)",
            "GET",
            "/accounts?limit=50",
            token=manager_token,
            note="by-owner index",
        )[0]
    )
    rows.append(ctx.measure("GET /accounts/{id}", "GET", f"/accounts/{account_id}", token=admin)[0])
    rows.append(
        ctx.measure(
            "PATCH /accounts/{id}",
            "PATCH",
            f"/accounts/{account_id}",
            {"name": "Acme Renamed"},
            token=admin,
        )[0]
    )
    row, contact = ctx.measure(
        "POST /accounts/{id}/contacts",
        "POST",
        f"/accounts/{account_id}/contacts",
        {"name": "Dana Client", "email": "dana@client.example"},
        token=admin,
        expect=201,
    )
    rows.append(row)
    for n in range(1, 10):
        ctx.call(
            "POST",
            f"/accounts/{account_id}/contacts",
            {"name": f"Client {n}", "email": f"client{n}@client.example"},
            admin,
        )
    rows.append(
        ctx.measure(
            "GET /accounts/{id}/contacts (10)",
            "GET",
            f"/accounts/{account_id}/contacts",
            token=admin,
        )[0]
    )
    rows.append(
        ctx.measure(
            "PATCH /contacts/{id}",
            "PATCH",
            f"/contacts/{contact['id']}",
            {"title": "CFO"},
            token=admin,
        )[0]
    )
    rows.append(
        ctx.measure(
            "DELETE /accounts/{id} (10 contacts)",
            "DELETE",
            f"/accounts/{account_id}",
            token=admin,
            expect=204,
            note="cascade",
        )[0]
    )
    return rows


@bench
def heartbeat_benchmarks(ctx: Bench) -> list[Row]:
    """Heartbeat: the nightly benchmark job (500 companies × 5 questions)"""
    from pulse_local import bench_heartbeat

    measured = bench_heartbeat.measure()
    meter = measured.meter
    ops = ", ".join(f"{op} {n}" for op, n in sorted(meter.by_operation.items())) or "—"
    period = measured.summary["periods"][0]
    return [
        Row(
            section=ctx.section,
            operation="job benchmarks (500 companies)",
            status=0,
            calls=meter.calls,
            by_operation=ops,
            read_units=meter.read_units,
            write_units=meter.write_units,
            estimated_read_units=meter.estimated_read_units,
            items_read=meter.items_read,
            note=f"{period['companies']} companies, {period['ranked']} ranked; "
            f"budget {bench_heartbeat.BUDGET}; grows with companies × questions, not responses",
        )
    ]


@bench
def success_score_nightly(ctx: Bench) -> list[Row]:
    """SuccessScore: the nightly job (5,000 accounts in 4 tenants) against its floor"""
    from pulse_local import bench_pulse

    measured = bench_pulse.measure()
    meter = measured.meter
    ops = ", ".join(f"{op} {n}" for op, n in sorted(meter.by_operation.items())) or "—"
    k = measured.per_thousand
    return [
        Row(
            section=ctx.section,
            operation=f"job success-score ({measured.accounts} accounts)",
            status=0,
            calls=meter.calls,
            by_operation=ops,
            read_units=meter.read_units,
            write_units=meter.write_units,
            estimated_read_units=meter.estimated_read_units,
            items_read=meter.items_read,
            note=f"per 1,000 accounts {k(meter.calls):.1f} requests vs floor {k(measured.floor):.1f} "
            f"(ceil(N/25) batch writes + Query pages; ×{meter.calls / measured.floor:.2f}); "
            f"{k(measured.estimated_write_units):.0f} WCU",
        )
    ]


@bench
def surveys(ctx: Bench) -> list[Row]:
    """Surveys: sending a review, opening and answering its emailed link"""
    from pulse_local import bench_surveys

    measured, _ = bench_surveys.measure(ctx.client, ctx.state["admin_token"])
    return [
        Row.from_meter(ctx.section, m.label, m.meter, status=m.status, note=m.note)
        for m in measured
    ]


@bench
def reports(ctx: Bench) -> list[Row]:
    """Reports: every report, segment and the account dashboard at 5,000 accounts"""
    from pulse_local import bench_reports

    return [
        Row.from_meter(ctx.section, m.name, m.meter, note=m.note) for m in bench_reports.measure()
    ]


# --- the run --------------------------------------------------------------------------------


def run_benches() -> list[Row]:
    """Start moto, provision it like the local stack, and run every registered bench case."""
    from pulse_local.stack import base_environment, free_port, provision, start_moto

    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    os.environ.update(base_environment(endpoint, prefix=PREFIX, stage="bench"))
    # One access-log line per request would bury the results.
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    server = start_moto(port)
    try:
        provision(endpoint, prefix=PREFIX, stage="bench")
        from chalice.test import Client

        import app

        rows: list[Row] = []
        with Client(app.app, stage_name="test", project_dir=str(ROOT)) as client:
            ctx = Bench(client)
            for case in BENCHES:
                ctx.section = (case.__doc__ or case.__name__).strip().splitlines()[0]
                rows.extend(case(ctx))
        return rows
    finally:
        server.stop()


IMPORT_SNIPPET = "import time; t = time.perf_counter(); {stmt}; print(time.perf_counter() - t)"


def _import_seconds(stmt: str) -> float:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "PULSE_STAGE": "dev",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_SNIPPET.format(stmt=stmt)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env=env,
    )
    return float(result.stdout.strip().splitlines()[-1])


@dataclass
class ImportTimes:
    app: float
    baseline: float
    repeat: int

    @property
    def ratio(self) -> float:
        return self.app / self.baseline


def import_times(repeat: int) -> ImportTimes:
    """Median of ``repeat`` fresh interpreters each, interleaved so both see the same machine."""
    _import_seconds("import app")  # warm the file cache and .pyc files once
    app_runs, base_runs = [], []
    for _ in range(repeat):
        base_runs.append(_import_seconds("import chalice, boto3"))
        app_runs.append(_import_seconds("import app"))
    return ImportTimes(statistics.median(app_runs), statistics.median(base_runs), repeat)


@dataclass
class PackageSize:
    zip_bytes: int
    unzipped_bytes: int
    files: int
    largest: list[tuple[str, int]]


def package_size(build: bool) -> PackageSize | None:
    zip_path = ROOT / "dist" / "deployment.zip"
    if build or not zip_path.exists():
        from pulse_local import package

        package.package("dev", ROOT / "dist")
    if not zip_path.exists():
        return None
    with zipfile.ZipFile(zip_path) as archive:
        infos = archive.infolist()
    tops: dict[str, int] = {}
    for info in infos:
        top = info.filename.split("/", 1)[0]
        tops[top] = tops.get(top, 0) + info.file_size
    largest = sorted(tops.items(), key=lambda kv: kv[1], reverse=True)[:8]
    return PackageSize(
        zip_path.stat().st_size, sum(i.file_size for i in infos), len(infos), largest
    )


def _units(value: float) -> str:
    return f"{value:g}"


def render(rows: list[Row], times: ImportTimes, size: PackageSize | None) -> str:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d")
    out = [
        "# Performance benchmarks",
        "",
        f"Written by `make bench` (`pulse_local/bench.py`) on {stamp}; do not edit by hand. "
        "(The method behind the *industry* heartbeat benchmarks is in "
        "[industry-benchmarks.md](industry-benchmarks.md).)",
        "",
        "## DynamoDB cost per API operation",
        "",
        textwrap.dedent(
            """\
            Each operation is one request through `chalice.test.Client`, counted by
            `chalicelib.store.metering.count_dynamodb()` (every DynamoDB call of the process). Moto
            stands in for AWS, so requests are **counted, not timed**.

            - **calls**: DynamoDB requests the operation made, by API.
            - **RCU / WCU reported**: `ConsumedCapacity` as the endpoint returned it. On AWS this is
              the bill; moto reports flat figures (0.5 per GetItem and UpdateItem, 1 per PutItem,
              DeleteItem and Query page) whatever the item size.
            - **RCU by size**: DynamoDB's read pricing applied to the items that came back (4 KB
              units, half for eventually consistent reads, at least one unit per request) — what
              AWS would charge for those reads.
            - A failed conditional write is charged by AWS but reports no units."""
        ),
        "",
        "| operation | calls | by API | RCU reported | WCU reported | RCU by size | items read | note |",
        "|---|---:|---|---:|---:|---:|---:|---|",
    ]
    section = None
    for row in rows:
        if row.section != section:
            section = row.section
            out.append(f"| **{section}** | | | | | | | |")
        out.append(
            f"| `{row.operation}` | {row.calls} | {row.by_operation} | {_units(row.read_units)} | "
            f"{_units(row.write_units)} | {_units(row.estimated_read_units)} | {row.items_read} | "
            f"{row.note} |"
        )
    out += [
        "",
        "## Cold start: `import app`",
        "",
        f"Median of {times.repeat} fresh interpreters each, measured in the same run, around the import "
        "statement only (interpreter start-up excluded), on the development machine's venv "
        "(`python -X importtime -c 'import app'` shows where the time goes).",
        "",
        "| import | seconds |",
        "|---|---:|",
        f"| `import chalice, boto3` (bare baseline) | {times.baseline:.3f} |",
        f"| `import app` (all blueprints, pydantic models, PynamoDB, Powertools) | {times.app:.3f} |",
        f"| **ratio** | **{times.ratio:.1f}×** |",
        "",
        "## Lambda package",
        "",
    ]
    if size is None:
        out.append("No package: run `make package`.")
    else:
        out += [
            f"`dist/deployment.zip` (stage dev, from `make package`): **{size.zip_bytes / 1e6:.1f} MB** "
            f"zipped, **{size.unzipped_bytes / 1e6:.1f} MB** unzipped, {size.files} files "
            "(Lambda limits: 50 MB zipped for direct upload, 250 MB unzipped).",
            "",
            "| largest top-level entries | MB unzipped |",
            "|---|---:|",
        ]
        out += [f"| `{name}` | {nbytes / 1e6:.1f} |" for name, nbytes in size.largest]
    out += [
        "",
        "## Adding rows",
        "",
        "Write a function `def my_area(ctx: Bench) -> list[Row]` in `pulse_local/bench.py` (or a module "
        "it imports), decorate it with `@bench`, and measure each request with "
        "`ctx.measure(label, method, path, body, token=...)` (for a job or any other code, wrap it in "
        "`count_dynamodb()` and return `Row.from_meter(ctx.section, label, meter)`); the first line "
        "of its docstring names its section. `ctx.state` carries the tenant and tokens of the "
        "foundation bench.",
        "",
    ]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Count DynamoDB cost per operation; time imports.")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--repeat", type=int, default=7, help="interpreters per import timing")
    parser.add_argument(
        "--package",
        action="store_true",
        help="rebuild dist/ first (default: measure dist/ as it is, building it only when missing)",
    )
    args = parser.parse_args(argv)
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    rows = run_benches()
    times = import_times(args.repeat)
    size = package_size(args.package)
    args.output.write_text(render(rows, times, size), encoding="utf-8")
    for row in rows:
        print(f"{row.operation:42} {row.calls:3} calls  {row.by_operation}")
    print(f"import app {times.app:.3f}s vs chalice+boto3 {times.baseline:.3f}s: {times.ratio:.1f}x")
    if size:
        print(
            f"package {size.zip_bytes / 1e6:.1f} MB zipped, {size.unzipped_bytes / 1e6:.1f} MB unzipped"
        )
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
