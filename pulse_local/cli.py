"""The ``pulse`` command: the local stack and operator tasks.

    pulse local [--port 8000] [--moto-port 5000] [--no-demo]
    pulse jobs list
    pulse jobs run NAME --date YYYY-MM-DD
    pulse tenants create --company ... --admin-email ... --password ...
    pulse outbox [--endpoint URL] [--to ADDRESS] [--limit N] [--json]

Everything except ``local`` acts on the environment it is given: the variables of a running
local stack (``pulse local`` prints them) or of an AWS deployment.
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
import warnings
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LOCAL_PREFIX = "pulse-local"
LOCAL_STAGE = "local"
HOST = "127.0.0.1"

log = logging.getLogger("local_stack")  # see runner.py for why not "pulse…"


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


def _banner(port: int, moto_port: int, env: dict[str, str], demo: bool) -> str:
    from pulse_local import demo as demo_data

    url = f"http://{HOST}:{port}"
    lines = [
        "",
        "Pulse local stack is running",
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
        "  Other `pulse` commands against this stack need its environment, e.g.:",
        f"    env AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing {exports} \\",
        "      pulse jobs list",
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
    # Powertools warns on every invocation that publishes no metric; locally that is noise.
    warnings.filterwarnings("ignore", message="No application metrics to publish")
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
        server_thread.start()
        print(_banner(args.port, args.moto_port, env, not args.no_demo), flush=True)
        while not stop.wait(0.5):
            pass
        print("\nstopping: API, event runner, moto …", flush=True)
        return 0
    finally:
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


def cmd_jobs_run(args: argparse.Namespace) -> int:
    _load_app()
    from chalicelib.jobs.registry import run

    try:
        summary = run(args.name, date.fromisoformat(args.date))
    except KeyError as exc:
        print(f"pulse jobs run: {exc.args[0]}", file=sys.stderr)
        return 2
    print(json.dumps(summary, indent=2, default=str))
    return 0


def replay_dead_letters(short: str, limit: int | None = None) -> int:
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
    return moved


def cmd_jobs_replay_dlq(args: argparse.Namespace) -> int:
    from chalicelib.queues import QUEUES

    if args.queue not in QUEUES:
        print(
            f"pulse jobs replay-dlq: unknown queue {args.queue!r}; known: {', '.join(QUEUES)}",
            file=sys.stderr,
        )
        return 2
    moved = replay_dead_letters(args.queue, args.limit)
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

    endpoint = args.endpoint or os.environ.get("AWS_ENDPOINT_URL") or "http://127.0.0.1:5000"
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
        "replay-dlq", help="move a queue's dead-lettered messages back to the queue"
    )
    replay.add_argument("queue", help="short queue name, e.g. mail, score, heartbeat")
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
    outbox.add_argument("--endpoint", help="moto URL (default: $AWS_ENDPOINT_URL or :5000)")
    outbox.add_argument("--to", help="only mail to this address")
    outbox.add_argument("--limit", type=int, default=20)
    outbox.add_argument("--json", action="store_true", help="print JSON")
    outbox.set_defaults(func=cmd_outbox)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "jobs" and args.jobs_command == "run":
        try:
            date.fromisoformat(args.date)
        except ValueError:
            print("pulse jobs run: --date must be YYYY-MM-DD", file=sys.stderr)
            return 2
    code = int(args.func(args))
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
