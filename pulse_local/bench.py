"""``make bench``: what each API operation costs in DynamoDB, how heavy ``import app`` is, and how
big the Lambda package is — written to ``docs/benchmarks.md``.

Timing requests through moto measures moto, so the harness *counts*: DynamoDB requests and the
capacity they consume, per API operation, through ``chalicelib.store.metering``. The app runs in
process under ``chalice.test.Client`` against moto's server, provisioned by the local stack.

Adding rows: write a function that takes the :class:`Bench` context and returns rows, and
decorate it with :func:`bench`; it runs after the ones before it, and its rows form a section
of the table. A bench keeps what later benches need in ``ctx.state``. A row may carry a budget
(the most DynamoDB requests it may make); the run exits 1 when any row is over its budget, so
``make bench`` fails instead of only saying so in the table.

``--fast`` runs the fast subset only — the cases registered with ``@bench(fast=True)``: the
foundation and survey requests and the reports at ``FAST_ACCOUNTS`` accounts, seconds rather than
minutes — and rewrites only its table in the output. The full run writes that table too.
``tests/functional/test_bench_fast.py`` runs the same subset in the test suite, holds every row
to its budget and compares the counts with the committed table.

    python -m pulse_local.bench [--output docs/benchmarks.md] [--repeat 7] [--package] [--fast]
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
FAST_ACCOUNTS = 200  # the reports of the fast subset: one Query page per partition
FAST_START = (
    "<!-- fast subset: written by `python -m pulse_local.bench --fast` and `make bench` -->"
)
FAST_END = "<!-- end of the fast subset -->"


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
    budget: int | None = None  # the most DynamoDB requests the operation may make

    @property
    def over(self) -> bool:
        return self.budget is not None and self.calls > self.budget

    @classmethod
    def from_meter(
        cls,
        section: str,
        operation: str,
        meter: Any,
        *,
        status: int = 0,
        note: str = "",
        budget: int | None = None,
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
            budget=budget,
        )


@dataclass
class Bench:
    """What a bench case gets: the test client, and helpers that call and meter one request."""

    client: Any
    section: str = ""
    state: dict[str, Any] = field(default_factory=dict)
    fast: bool = False  # the fast subset: small sizes

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
FAST: set[str] = set()  # names of the cases in the fast subset


def bench(
    case: BenchCase | None = None, *, fast: bool = False
) -> Any:  # BenchCase, or a decorator when called with fast=
    """Register a bench case; its docstring's first line names its section of the table.
    ``@bench(fast=True)`` puts it in the fast subset too (it must then be quick at
    ``ctx.fast``)."""

    def register(fn: BenchCase) -> BenchCase:
        BENCHES.append(fn)
        if fast:
            FAST.add(fn.__name__)
        return fn

    return register(case) if case is not None else register


def _set_password(email: str) -> None:
    from chalicelib.clients import client
    from chalicelib.settings import get_settings

    client("cognito-idp").admin_set_user_password(
        UserPoolId=get_settings().user_pool_id, Username=email, Password=PASSWORD, Permanent=True
    )


@bench(fast=True)
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
            "grows with companies × questions, not responses",
            budget=bench_heartbeat.BUDGET,
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
            f"budget: the floor + one settings read per tenant; "
            f"{k(measured.estimated_write_units):.0f} WCU",
            budget=measured.ceiling,
        )
    ]


@bench(fast=True)
def surveys(ctx: Bench) -> list[Row]:
    """Surveys: sending a review, opening and answering its emailed link"""
    from pulse_local import bench_surveys

    measured, _ = bench_surveys.measure(ctx.client, ctx.state["admin_token"])
    return [
        Row.from_meter(ctx.section, m.label, m.meter, status=m.status, note=m.note, budget=m.budget)
        for m in measured
    ]


@bench(fast=True)
def reports(ctx: Bench) -> list[Row]:
    """Reports: every report, segment and the account dashboard at 5,000 accounts"""
    from pulse_local import bench_reports

    accounts = bench_reports.ACCOUNTS
    if ctx.fast:
        accounts = FAST_ACCOUNTS
        ctx.section = ctx.section.replace(f"{bench_reports.ACCOUNTS:,}", f"{accounts:,}")
    return [
        Row.from_meter(ctx.section, m.name, m.meter, note=m.detail, budget=m.budget)
        for m in bench_reports.measure(accounts)
    ]


# --- the run --------------------------------------------------------------------------------


def run_cases(client: Any, *, fast: bool) -> list[Row]:
    """Run the registered cases (``fast``: the fast subset, at its small sizes) in order with
    ``client``, against whatever moto the environment points at."""
    rows: list[Row] = []
    ctx = Bench(client, fast=fast)
    for case in BENCHES:
        if fast and case.__name__ not in FAST:
            continue
        ctx.section = (case.__doc__ or case.__name__).strip().splitlines()[0]
        rows.extend(case(ctx))
    return rows


def run_benches(*, fast: bool = False) -> tuple[list[Row], list[Row]]:
    """Start moto, provision it like the local stack, and run the bench cases: every one at
    full size (unless ``fast``), then the fast subset. Returns (full rows, fast rows)."""
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

        with Client(app.app, stage_name="test", project_dir=str(ROOT)) as client:
            full = [] if fast else run_cases(client, fast=False)
            return full, run_cases(client, fast=True)
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


def _budget(row: Row) -> str:
    if row.budget is None:
        return "—"
    return f"{row.budget} **OVER BUDGET**" if row.over else str(row.budget)


def render_fast(rows: list[Row]) -> str:
    """The fast subset's table, between markers so ``--fast`` can rewrite it alone."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d")
    out = [
        FAST_START,
        "## Fast subset (checked by the tests)",
        "",
        f"Written on {stamp} by `python -m pulse_local.bench --fast` (or by `make bench`, which "
        "runs it after the full run): the foundation and survey requests, and the reports at "
        f"{FAST_ACCOUNTS} accounts instead of 5,000. When this run is newer than the table above, "
        "its counts are the current ones. "
        "`tests/functional/test_bench_fast.py` runs the same subset in the test suite and fails "
        "when a row is over its budget or when this table's counts differ from what it measured: "
        "after a change that moves a count, run `python -m pulse_local.bench --fast` and commit "
        "the table.",
        "",
        "| operation | calls | by API | budget |",
        "|---|---:|---|---:|",
    ]
    section = None
    for row in rows:
        if row.section != section:
            section = row.section
            out.append(f"| **{section}** | | | |")
        out.append(f"| `{row.operation}` | {row.calls} | {row.by_operation} | {_budget(row)} |")
    out.append(FAST_END)
    return "\n".join(out)


def replace_fast(document: str, rows: list[Row]) -> str:
    """``document`` with its fast-subset table replaced by one of ``rows``."""
    start, end = document.find(FAST_START), document.find(FAST_END)
    if start < 0 or end < start:
        raise SystemExit("no fast-subset table in the output: run the full `make bench` once")
    return document[:start] + render_fast(rows) + document[end + len(FAST_END) :]


def fast_counts(document: str) -> dict[str, tuple[int, str]]:
    """The fast-subset table of a written document: operation -> (calls, by API)."""
    start, end = document.find(FAST_START), document.find(FAST_END)
    counts: dict[str, tuple[int, str]] = {}
    for line in document[start:end].splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0].startswith("`"):
            counts[cells[0].strip("`")] = (int(cells[1]), cells[2])
    return counts


def render(rows: list[Row], times: ImportTimes, size: PackageSize | None, fast: list[Row]) -> str:
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
            - A failed conditional write is charged by AWS but reports no units.
            - **budget**: the most requests the operation may make; `make bench` exits 1 when a
              row is over it (the nightly SuccessScore job's budget is its floor plus one
              settings read per tenant)."""
        ),
        "",
        "| operation | calls | budget | by API | RCU reported | WCU reported | RCU by size "
        "| items read | note |",
        "|---|---:|---:|---|---:|---:|---:|---:|---|",
    ]
    section = None
    for row in rows:
        if row.section != section:
            section = row.section
            out.append(f"| **{section}** | | | | | | | | |")
        out.append(
            f"| `{row.operation}` | {row.calls} | {_budget(row)} | {row.by_operation} | "
            f"{_units(row.read_units)} | {_units(row.write_units)} | "
            f"{_units(row.estimated_read_units)} | {row.items_read} | {row.note} |"
        )
    out += ["", render_fast(fast)]
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
        "foundation bench. Give a row `budget=` (the most requests it may make) to have "
        "`make bench` fail when it is exceeded; `@bench(fast=True)` adds the case to the fast "
        "subset, which must then run in seconds when `ctx.fast` is set.",
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
    parser.add_argument(
        "--fast",
        action="store_true",
        help="the fast subset only (seconds): rewrite its table in the output, nothing else",
    )
    args = parser.parse_args(argv)
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    rows, fast = run_benches(fast=args.fast)
    if args.fast:
        existing = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        args.output.write_text(replace_fast(existing, fast), encoding="utf-8")
    else:
        times = import_times(args.repeat)
        size = package_size(args.package)
        args.output.write_text(render(rows, times, size, fast), encoding="utf-8")
        print(
            f"import app {times.app:.3f}s vs chalice+boto3 {times.baseline:.3f}s: "
            f"{times.ratio:.1f}x"
        )
        if size:
            print(
                f"package {size.zip_bytes / 1e6:.1f} MB zipped, "
                f"{size.unzipped_bytes / 1e6:.1f} MB unzipped"
            )
    for row in rows + fast:
        print(f"{row.operation:42} {row.calls:3} calls  {row.by_operation}")
    print(f"wrote {args.output}")
    over = [row for row in rows + fast if row.over]
    for row in over:
        print(
            f"OVER BUDGET: {row.section}: {row.operation}: {row.calls} requests, "
            f"budget {row.budget}",
            file=sys.stderr,
        )
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
