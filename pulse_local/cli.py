"""The ``pulse`` command: the local stack and operator tasks.

    pulse local [--port 8000] [--moto-port 5000] [--no-demo]
    pulse jobs list
    pulse jobs run NAME --date YYYY-MM-DD
    pulse tenants create --company ... --admin-email ... --password ...
    pulse outbox [--endpoint URL] [--to ADDRESS] [--limit N] [--json]

Everything except ``local`` acts on the environment it is given: an AWS deployment's when
``PULSE_RESOURCE_PREFIX`` is set, else the running local stack's, which ``pulse local`` records in
``.pulse-local.json`` (mode 0600, removed when it stops; ``PULSE_LOCAL_STATE`` names another file).
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LOCAL_PREFIX = "pulse-local"
LOCAL_STAGE = "local"
HOST = "127.0.0.1"

log = logging.getLogger("local_stack")  # see runner.py for why not "pulse…"

NO_STACK = "no local stack is running: start it with `make run`"


class NoStack(Exception):
    """The command needs the local stack's environment and no stack is running."""


# --------------------------------------------------------------------------------------------
# The running stack's environment, for the other commands


def state_path() -> Path:
    return Path(os.environ.get("PULSE_LOCAL_STATE") or ROOT / ".pulse-local.json")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _reachable(url: str) -> bool:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or HOST, parts.port or 80), timeout=1):
            return True
    except OSError:
        return False


def read_state(path: Path | None = None) -> dict[str, Any] | None:
    """The recorded stack, or None when there is none or it is no longer running (a stack
    killed without cleanup leaves its file behind: its process and moto are gone)."""
    path = path or state_path()
    try:
        state = json.loads(path.read_text())
        pid = int(state["pid"])
        env = {str(k): str(v) for k, v in dict(state["environment"]).items()}
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not _pid_alive(pid) or not _reachable(env.get("AWS_ENDPOINT_URL", "")):
        return None
    return {**state, "pid": pid, "environment": env}


def write_state(env: dict[str, str], api_url: str, path: Path | None = None) -> Path:
    """Record this stack's environment (dummy credentials included) for the other commands:
    readable by the owner only, replaced atomically."""
    path = path or state_path()
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump({"pid": os.getpid(), "api": api_url, "environment": env}, handle, indent=2)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return path


def remove_state(path: Path | None = None) -> None:
    """Remove the record if it is this process's (never another running stack's)."""
    path = path or state_path()
    try:
        if int(json.loads(path.read_text())["pid"]) == os.getpid():
            path.unlink()
    except (OSError, ValueError, KeyError, TypeError):
        pass


def use_stack_environment() -> None:
    """Point this process at the running local stack, unless it is given a deployment's
    environment. Raises NoStack when neither is there."""
    if os.environ.get("PULSE_RESOURCE_PREFIX"):
        return
    state = read_state()
    if state is None:
        raise NoStack(NO_STACK)
    os.environ.update(state["environment"])
    from chalicelib.settings import get_settings

    get_settings.cache_clear()


# --------------------------------------------------------------------------------------------
# pulse local


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        # As the servers do: a just-stopped stack leaves TIME_WAIT connections behind.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def _chalice_config(app_obj: Any) -> Any:
    """The chalice Config for stage "local": .chalice/config.json when present, else defaults.

    ``app_obj`` is the app or a callable returning it (chalice imports lazily the same way)."""
    from chalice.config import Config

    params: dict[str, Any] = {
        "project_dir": str(ROOT),
        "chalice_app": app_obj,
        "api_gateway_stage": "api",
        "autogen_policy": False,
    }
    config_file = ROOT / ".chalice" / "config.json"
    from_disk: dict[str, Any] = {}
    if config_file.is_file():
        from_disk = json.loads(config_file.read_text())
    from_disk.setdefault("app_name", "pulse")
    return Config(
        chalice_stage=LOCAL_STAGE, user_provided_params=params, config_from_disk=from_disk
    )


def _banner(port: int, moto_port: int, env: dict[str, str], demo: bool, state: Path) -> str:
    from pulse_local import demo as demo_data

    url = f"http://{HOST}:{port}"
    lines = [
        "",
        "Pulse local stack is running",
        f"  Web app        {url}/app/login   (sign in with a demo login below)",
        f"  API            {url}          (try {url}/health, {url}/openapi.json)",
        f"  Outbox         {url}/_local/outbox   (mail SES accepted; `pulse outbox` too)",
        f"  AWS (moto)     http://{HOST}:{moto_port}   (dashboard: /moto-api/)",
    ]
    if demo:
        lines += [
            "",
            f"  Demo logins ({demo_data.DEMO_COMPANY}), password: {demo_data.DEMO_PASSWORD}",
        ]
        lines += [f"    {login.role:<16} {login.email}" for login in demo_data.LOGINS]
        lines += [
            "",
            "  curl -s -X POST " + url + "/auth/login -H 'Content-Type: application/json' \\",
            f'       -d \'{{"email": "{demo_data.ADMIN.email}", '
            f'"password": "{demo_data.DEMO_PASSWORD}"}}\'',
        ]
    exports = " ".join(
        f"{k}={v}"
        for k, v in sorted(env.items())
        if k.startswith(("AWS_ENDPOINT", "PULSE_", "AWS_DEFAULT_REGION"))
    )
    lines += [
        "",
        "  DATA LIVES IN MEMORY: everything (demo data, sign-ups, sent mail) is lost when this",
        "  process exits. Ctrl-C stops the API, the event runner and moto.",
        "",
        "  Other `pulse` commands (pulse jobs run NAME --date D, pulse outbox, …) find this",
        f"  stack from any terminal through {state.name} (removed when it stops).",
        "  Other tools (aws CLI, boto3) need its environment:",
        f"    env AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing {exports}",
        "",
    ]
    return "\n".join(lines)


def cmd_local(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s"
    )
    for noisy in ("werkzeug", "botocore", "boto3", "urllib3", "pynamodb"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    running = read_state()
    if running is not None:
        print(
            f"pulse local: a local stack is already running (pid {running['pid']}, "
            f"{running.get('api', '')}); stop it first",
            file=sys.stderr,
        )
        return 2
    for port in (args.port, args.moto_port):
        if not _port_free(port):
            print(f"pulse local: port {port} on {HOST} is in use", file=sys.stderr)
            return 2

    from pulse_local.stack import provision, start_moto

    stop = threading.Event()

    def _on_signal(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)

    endpoint = f"http://{HOST}:{args.moto_port}"
    moto = start_moto(args.moto_port)
    server: Any = None
    server_thread: threading.Thread | None = None
    runner: Any = None
    try:
        os.environ["PULSE_PUBLIC_URL"] = f"http://{HOST}:{args.port}"
        env = provision(endpoint, prefix=LOCAL_PREFIX, stage=LOCAL_STAGE)
        env["PULSE_PUBLIC_URL"] = os.environ["PULSE_PUBLIC_URL"]

        from chalice.local import create_local_server

        from chalicelib.settings import get_settings
        from pulse_local.gateway import request_handler
        from pulse_local.runner import Runner

        # The stage's variables from .chalice/config.json, as `chalice local` would set them,
        # without overriding the stack's own; then the app is imported with them in place.
        config = _chalice_config(_load_app)
        for key, value in (config.environment_variables or {}).items():
            os.environ.setdefault(key, str(value))
        get_settings.cache_clear()
        app_obj = config.chalice_app
        log.info("moto on %s; tables, queues, bucket, user pool and sender created", endpoint)
        if not args.no_demo:
            from pulse_local.demo import load_demo

            ctx = load_demo()
            if ctx is not None:
                log.info(
                    "demo tenant %s: %d staff, %d accounts",
                    ctx.tenant.name,
                    len(ctx.users),
                    len(ctx.accounts),
                )
        runner = Runner(app_obj, region=env["AWS_REGION"])
        runner.start()
        try:
            server = create_local_server(app_obj, config, HOST, args.port)
            # Every method reaches the gateway (the dev server would answer TRACE, QUERY, …
            # with its own 501), and routing misses get Pulse's error shape, as API Gateway's
            # GatewayResponses give them on AWS (pulse_local/gateway.py).
            server.server.RequestHandlerClass = functools.partial(
                request_handler(), app_object=app_obj, config=config
            )
        except OSError as exc:
            print(f"pulse local: cannot serve on {HOST}:{args.port}: {exc}", file=sys.stderr)
            return 2
        server_thread = threading.Thread(
            target=server.server.serve_forever, name="pulse-http", daemon=True
        )
        # Recorded before the API answers: whoever sees /health can run the other commands.
        recorded = {**env, **{k: os.environ[k] for k in config.environment_variables or {}}}
        state_file = write_state(recorded, f"http://{HOST}:{args.port}")
        server_thread.start()
        print(_banner(args.port, args.moto_port, env, not args.no_demo, state_file), flush=True)
        while not stop.wait(0.5):
            pass
        print("\nstopping: API, event runner, moto …", flush=True)
        return 0
    finally:
        remove_state()
        if server is not None:
            server.shutdown()
            server.server.server_close()
        if runner is not None:
            runner.stop()
        moto.stop()
        if server_thread is not None:
            server_thread.join(5)


# --------------------------------------------------------------------------------------------
# pulse jobs / tenants / outbox


def _load_app() -> Any:
    """Import the app so every job, schedule and queue handler is registered."""
    sys.path.insert(0, str(ROOT))
    import app as pulse_app

    return pulse_app.app


def cmd_jobs_list(args: argparse.Namespace) -> int:
    _load_app()
    from chalicelib.jobs.registry import JOBS

    for name in sorted(JOBS):
        doc = (JOBS[name].__doc__ or "").strip().splitlines()
        print(f"{name}\t{doc[0] if doc else ''}")
    if not JOBS:
        print("(no jobs registered)", file=sys.stderr)
    return 0


def _progress(message: str) -> None:
    print(f"  {message}", file=sys.stderr, flush=True)


def cmd_jobs_run(args: argparse.Namespace) -> int:
    _load_app()
    from chalicelib.jobs.registry import JOBS, run

    if args.name not in JOBS:
        print(
            f"pulse jobs run: unknown job {args.name!r}; known: {', '.join(sorted(JOBS))}",
            file=sys.stderr,
        )
        return 2
    started = time.monotonic()
    print(f"{args.name} for {args.date}: running …", file=sys.stderr, flush=True)
    summary = run(args.name, date.fromisoformat(args.date), on_progress=_progress)
    print(
        f"{args.name} for {args.date}: done in {time.monotonic() - started:.1f} s",
        file=sys.stderr,
        flush=True,
    )
    print(json.dumps(summary, indent=2, default=str))
    return 0


def replay_dead_letters(
    short: str, limit: int | None = None, progress: Callable[[str], None] | None = None
) -> int:
    """Move messages from ``<queue>-dlq`` back to ``<queue>`` (what SQS's redrive
    ``start_message_move_task`` does on AWS; moto has no move tasks). Each message is sent to the
    source queue before it is deleted from the dead-letter queue, so a crash here duplicates a
    message (every handler is idempotent) but never loses one. Returns how many were moved."""
    from chalicelib.clients import client
    from chalicelib.queues import queue_url

    sqs = client("sqs")
    source = queue_url(short)
    dlq = sqs.get_queue_url(QueueName=source.rsplit("/", 1)[1] + "-dlq")["QueueUrl"]
    moved = 0
    while limit is None or moved < limit:
        want = 10 if limit is None else min(10, limit - moved)
        got = sqs.receive_message(
            QueueUrl=dlq, MaxNumberOfMessages=want, VisibilityTimeout=60, WaitTimeSeconds=0
        ).get("Messages", [])
        if not got:
            break
        for message in got:
            sqs.send_message(QueueUrl=source, MessageBody=message["Body"])
            sqs.delete_message(QueueUrl=dlq, ReceiptHandle=message["ReceiptHandle"])
            moved += 1
        if progress is not None:
            progress(f"{moved} message(s) moved back to {short}")
    return moved


# The scheduled handlers (``@schedule`` names) and the job each runs for its day: a schedule
# that failed on AWS is replayed by running that job for the failed event's date, as
# ``pulse jobs run`` does.
SCHEDULED_JOBS = {
    "nightly_success_score": "success-score",
    "daily_stale_alerts": "stale-alerts",
    "heartbeat_prepare": "heartbeat-prepare",
    "benchmarks_nightly": "benchmarks",
    "daily_reminders": "reminders",
}
SNS_HANDLERS = ("ses_events",)


def failed_handler(record: dict[str, Any]) -> str | None:
    """The handler an on-failure record is about, from the function's name in its ARN:
    ``<stack>-<LogicalId>-<suffix>`` as CloudFormation names it, ``<app>-<stage>-<name>`` as
    ``chalice deploy`` does."""
    from chalice.utils import to_cfn_resource_name

    arn = str((record.get("requestContext") or {}).get("functionArn") or "")
    parts = arn.split(":")
    function = parts[6] if len(parts) > 6 else ""
    for handler in (*SCHEDULED_JOBS, *SNS_HANDLERS):
        logical = to_cfn_resource_name(handler)
        if f"-{logical}-" in f"-{function}-" or function.endswith(f"-{handler}"):
            return handler
    return None


def replay_async_failure(record: dict[str, Any]) -> dict[str, Any]:
    """Run again what one on-failure record (Lambda's ``{"requestContext", "requestPayload",
    "responsePayload", …}``) failed to do: a schedule's job for its event's date, or an SNS
    handler on the notifications it was given. Raises ValueError for a record it cannot place."""
    from datetime import UTC, datetime

    from chalicelib.jobs.registry import run

    handler = failed_handler(record)
    payload = record.get("requestPayload")
    if handler is None or not isinstance(payload, dict):
        arn = (record.get("requestContext") or {}).get("functionArn")
        raise ValueError(f"not a failure of a known schedule or SNS handler: {arn!r}")
    if handler in SCHEDULED_JOBS:
        try:
            stamp = datetime.fromisoformat(str(payload["time"]).replace("Z", "+00:00"))
        except (KeyError, ValueError):
            raise ValueError(f"{handler}: the failed event has no time") from None
        on_date = stamp.astimezone(UTC).date()
        job = SCHEDULED_JOBS[handler]
        summary = run(job, on_date, on_progress=_progress)
        return {"handler": handler, "job": job, "date": on_date.isoformat(), "summary": summary}
    from chalicelib.services import surveys

    suppressed = 0
    for sns in payload.get("Records") or []:
        notification = json.loads((sns.get("Sns") or {}).get("Message") or "null")
        if isinstance(notification, dict):
            suppressed += surveys.suppress_from_ses(notification)
    return {"handler": handler, "summary": {"suppressed": suppressed}}


def replay_async_failures(
    limit: int | None = None, progress: Callable[[str], None] | None = None
) -> list[dict[str, Any]]:
    """Replay the async-failures queue (Lambda's on-failure destination). A message is deleted
    only once its job ran again; one that cannot be placed, or whose job fails again, stays."""
    from chalicelib.clients import client
    from chalicelib.queues import ASYNC_FAILURES, queue_name

    sqs = client("sqs")
    url = sqs.get_queue_url(QueueName=queue_name(ASYNC_FAILURES))["QueueUrl"]
    replayed: list[dict[str, Any]] = []
    while limit is None or len(replayed) < limit:
        want = 10 if limit is None else min(10, limit - len(replayed))
        got = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=want, VisibilityTimeout=900, WaitTimeSeconds=0
        ).get("Messages", [])
        if not got:
            break
        for message in got:
            try:
                record = json.loads(message["Body"])
                outcome = replay_async_failure(record if isinstance(record, dict) else {})
            except ValueError as exc:
                if progress is not None:
                    progress(f"left in {ASYNC_FAILURES}: {exc}")
                continue
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            replayed.append(outcome)
            if progress is not None:
                progress(f"replayed {outcome['handler']} {outcome.get('date', '')}".rstrip())
    return replayed


def cmd_jobs_replay_dlq(args: argparse.Namespace) -> int:
    from chalicelib.queues import ASYNC_FAILURES, QUEUES

    if args.queue == ASYNC_FAILURES:
        _load_app()
        replayed = replay_async_failures(args.limit, _progress)
        print(
            json.dumps(
                {"queue": args.queue, "replayed": len(replayed), "runs": replayed}, default=str
            )
        )
        return 0
    if args.queue not in QUEUES:
        known = ", ".join([*QUEUES, ASYNC_FAILURES])
        print(
            f"pulse jobs replay-dlq: unknown queue {args.queue!r}; known: {known}", file=sys.stderr
        )
        return 2
    moved = replay_dead_letters(args.queue, args.limit, _progress)
    print(json.dumps({"queue": args.queue, "replayed": moved}))
    return 0


def cmd_tenants_create(args: argparse.Namespace) -> int:
    _load_app()
    from chalicelib.errors import PulseError
    from chalicelib.services.tenancy import create_tenant_with_admin

    try:
        tenant, admin = create_tenant_with_admin(
            company=args.company,
            industry=args.industry,
            country=args.country,
            region=args.region,
            city=args.city,
            staff_size=args.staff_size,
            admin_email=args.admin_email.lower(),
            admin_name=args.admin_name or args.admin_email.split("@", 1)[0],
            password=args.password,
        )
    except PulseError as exc:
        print(f"pulse tenants create: {exc.message} {exc.fields or ''}".rstrip(), file=sys.stderr)
        return 1
    print(json.dumps({"tenant_id": tenant.tenant_id, "user_id": admin.user_id}, indent=2))
    return 0


def cmd_tenants_set_quota(args: argparse.Namespace) -> int:
    """An operator's daily send quota for one tenant (no API can set it)."""
    _load_app()
    from chalicelib.errors import NotFound
    from chalicelib.services import send_limits
    from chalicelib.store.tenants import get_tenant

    try:
        get_tenant(args.tenant_id)
    except NotFound:
        print(f"pulse tenants set-quota: no tenant {args.tenant_id!r}", file=sys.stderr)
        return 1
    if args.default:
        send_limits.set_quota(args.tenant_id, None)
    elif args.quota is None or args.quota < 0:
        print("pulse tenants set-quota: give a quota of 0 or more, or --default", file=sys.stderr)
        return 2
    else:
        send_limits.set_quota(args.tenant_id, args.quota)
    quota = send_limits.quota_of(args.tenant_id)
    print(json.dumps({"tenant_id": args.tenant_id, "daily_send_quota": quota}))
    return 0


def cmd_outbox(args: argparse.Namespace) -> int:
    from chalicelib.mail.outbox import fetch_sent, select

    endpoint = args.endpoint or os.environ["AWS_ENDPOINT_URL"]
    try:
        mails = select(fetch_sent(endpoint), to=args.to, limit=args.limit)
    except OSError as exc:
        print(f"pulse outbox: cannot read {endpoint}/moto-api/data.json: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps([m.to_dict() for m in mails], indent=2))
        return 0
    if not mails:
        print("(no mail)")
    for mail in mails:
        print(f"{mail.subject or '(no subject)'}")
        print(f"  to:   {', '.join(mail.to)}")
        print(f"  from: {mail.source}" + (f"   date: {mail.date}" if mail.date else ""))
        for url in mail.links:
            print(f"  link: {url}")
        print()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pulse", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    local = commands.add_parser("local", help="run the whole stack on this machine (moto)")
    local.add_argument("--port", type=int, default=8000, help="API port (default 8000)")
    local.add_argument("--moto-port", type=int, default=5000, help="moto port (default 5000)")
    local.add_argument("--no-demo", action="store_true", help="do not load the demo tenant")
    local.set_defaults(func=cmd_local)

    jobs = commands.add_parser("jobs", help="list or run jobs").add_subparsers(
        dest="jobs_command", required=True
    )
    jobs.add_parser("list", help="registered jobs").set_defaults(func=cmd_jobs_list)
    run = jobs.add_parser("run", help="run one job for a date (idempotent per date)")
    run.add_argument("name")
    run.add_argument("--date", required=True, help="YYYY-MM-DD")
    run.set_defaults(func=cmd_jobs_run)
    replay = jobs.add_parser(
        "replay-dlq",
        help="move a queue's dead-lettered messages back to the queue, or run the jobs in "
        "async-failures again",
    )
    replay.add_argument(
        "queue",
        help="short queue name, e.g. mail, score, heartbeat; async-failures runs failed "
        "schedules' jobs again for their dates",
    )
    replay.add_argument("--limit", type=int, default=None, help="at most this many")
    replay.set_defaults(func=cmd_jobs_replay_dlq)

    tenants = commands.add_parser("tenants", help="manage tenants").add_subparsers(
        dest="tenants_command", required=True
    )
    create = tenants.add_parser("create", help="create a tenant with its first admin")
    create.add_argument("--company", required=True)
    create.add_argument("--admin-email", required=True)
    create.add_argument("--password", required=True)
    create.add_argument("--admin-name", default="")
    create.add_argument("--industry", default="IT Services")
    create.add_argument("--country", default="US")
    create.add_argument("--region", default="WA")
    create.add_argument("--city", default="Seattle")
    create.add_argument("--staff-size", type=int, default=50)
    create.set_defaults(func=cmd_tenants_create)
    quota = tenants.add_parser("set-quota", help="set a tenant's daily send quota (operators)")
    quota.add_argument("tenant_id")
    quota.add_argument("quota", type=int, nargs="?", help="mails per UTC day (0 stops sending)")
    quota.add_argument("--default", action="store_true", help="back to the deployment default")
    quota.set_defaults(func=cmd_tenants_set_quota)

    outbox = commands.add_parser("outbox", help="mail SES accepted in the local stack")
    outbox.add_argument("--endpoint", help="moto URL (default: the local stack's)")
    outbox.add_argument("--to", help="only mail to this address")
    outbox.add_argument("--limit", type=int, default=20)
    outbox.add_argument("--json", action="store_true", help="print JSON")
    outbox.set_defaults(func=cmd_outbox)
    return parser


def _caused_by(exc: BaseException, kinds: tuple[type[BaseException], ...]) -> bool:
    seen: BaseException | None = exc
    for _ in range(10):  # PynamoDB wraps botocore's errors in its own
        if seen is None:
            return False
        if isinstance(seen, kinds):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _run_against_stack(args: argparse.Namespace) -> int:
    """A command other than ``local``: in the running stack's environment (or the given
    deployment's), with one line instead of a traceback when there is nothing to talk to."""
    from botocore.exceptions import EndpointConnectionError, NoCredentialsError

    deployment = bool(os.environ.get("PULSE_RESOURCE_PREFIX"))
    try:
        if not (args.command == "outbox" and args.endpoint):
            use_stack_environment()
        return int(args.func(args))
    except NoStack as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except Exception as exc:
        if _caused_by(exc, (EndpointConnectionError,)):
            # The stack stopped while the command ran (or a deployment's endpoint is wrong).
            print("pulse: cannot reach AWS" if deployment else NO_STACK, file=sys.stderr)
            return 2
        if _caused_by(exc, (NoCredentialsError,)):
            print(
                "pulse: no AWS credentials in this environment (unset PULSE_RESOURCE_PREFIX "
                "to use the local stack)",
                file=sys.stderr,
            )
            return 2
        raise


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "jobs" and args.jobs_command == "run":
        try:
            date.fromisoformat(args.date)
        except ValueError:
            print("pulse jobs run: --date must be YYYY-MM-DD", file=sys.stderr)
            return 2
    code = int(args.func(args)) if args.command == "local" else _run_against_stack(args)
    if args.command == "local":
        # Everything is stopped by now. Skip the interpreter's final garbage collection, which
        # takes seconds over moto's and botocore's object graphs after Ctrl-C.
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


if __name__ == "__main__":
    sys.exit(main())
