"""`make package` end to end: the template cfn-lint accepts, tables equal to the models, SQS events
that report batch failures, and a Lambda zip that carries templates/ and no development package.

The package is built once per session (about 20 s when Chalice must fetch wheels, a few seconds
from its cache).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from chalicelib.store.registry import MODELS
from infra import template
from pulse_local import package as packaging

ROOT = Path(__file__).resolve().parent.parent.parent
BIN = Path(sys.executable).parent
LAMBDA_ZIP_LIMIT = 50 * 1024 * 1024
LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024


def _source_templates() -> dict[str, bytes]:
    return {
        str(p.relative_to(ROOT)): p.read_bytes()
        for p in sorted((ROOT / "templates").rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts and not p.name.startswith(".")
    }


@pytest.fixture(scope="session")
def source_templates() -> dict[str, bytes]:
    """templates/ as it was when the package was built (others may add templates meanwhile)."""
    return _source_templates()


@pytest.fixture(scope="session")
def packaged(
    tmp_path_factory: pytest.TempPathFactory, source_templates: dict[str, bytes]
) -> packaging.PackageResult:
    """One build per test run: pytest-xdist workers share it (their temp dirs have one parent)."""
    import fcntl

    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    output = shared / "pulse-package" / "dist"
    output.parent.mkdir(parents=True, exist_ok=True)
    with (output.parent / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (output.parent / "built").exists():
            return packaging.inspect_zip(output / "deployment.zip")
        result = packaging.package("dev", output)
        (output.parent / "built").touch()
        return result


@pytest.fixture(scope="session")
def sam(packaged: packaging.PackageResult) -> dict[str, Any]:
    return dict(json.loads(packaged.template_path.read_text(encoding="utf-8")))


@pytest.fixture(scope="session")
def unzipped(packaged: packaging.PackageResult, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("lambda-task")
    with zipfile.ZipFile(packaged.zip_path) as archive:
        archive.extractall(target)
    return target


def _cfn_lint(path: Path) -> list[dict[str, Any]]:
    result = subprocess.run(
        [str(BIN / "cfn-lint"), "--format", "json", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.stdout.strip(), result.stderr
    return list(json.loads(result.stdout))


def _of_type(doc: dict[str, Any], kind: str) -> dict[str, Any]:
    return {k: v for k, v in doc["Resources"].items() if v["Type"] == kind}


def test_cfn_lint_reports_no_errors(packaged: packaging.PackageResult) -> None:
    findings = _cfn_lint(packaged.template_path)
    errors = [f for f in findings if f["Rule"]["Id"].startswith("E")]
    assert not errors, json.dumps(errors, indent=1)


CHECKOV = BIN.parent / "checkov" / "bin" / "checkov"


def test_checkov_reports_no_failed_check(
    packaged: packaging.PackageResult, record_property: Any
) -> None:
    """Every checkov finding on the deployable template is fixed, or skipped in the resource's
    Metadata with its reason (infra/template.py SKIP_REASONS)."""
    assert CHECKOV.exists(), f"{CHECKOV} missing: `make` installs it (dependency group checkov)"
    result = subprocess.run(
        [
            str(CHECKOV),
            "-f",
            str(packaged.template_path),
            "--framework",
            "cloudformation",
            "-o",
            "json",
            "--quiet",
            "--skip-download",  # no calls home: the checks ship with the package
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.stdout.strip(), result.stderr[-3000:]
    report = json.loads(result.stdout)
    report = report[0] if isinstance(report, list) else report
    summary = report["summary"]
    record_property("checkov", summary)
    failed = [
        (f["check_id"], f["resource"], f["check_name"]) for f in report["results"]["failed_checks"]
    ]
    assert not failed, json.dumps(failed, indent=1)
    assert summary["passed"] > 0 and summary["parsing_errors"] == 0
    for skipped in report["results"].get("skipped_checks", []):
        assert skipped.get("suppress_comment"), skipped["check_id"]


def test_template_tables_match_the_tables_the_models_create(
    sam: dict[str, Any], aws: dict[str, str]
) -> None:
    """The local stack created its tables with Model.create_table(); compare what moto holds."""
    tables = {
        t["Properties"]["TableName"]: t["Properties"]
        for t in _of_type(sam, "AWS::DynamoDB::Table").values()
    }
    assert len(tables) == len(MODELS)
    for model in MODELS:
        live = model.describe_table()
        props = tables[f"pulse-dev-{template.table_short_name(model)}"]
        assert {(k["AttributeName"], k["KeyType"]) for k in props["KeySchema"]} == {
            (k["AttributeName"], k["KeyType"]) for k in live["KeySchema"]
        }
        assert {
            (a["AttributeName"], a["AttributeType"]) for a in props["AttributeDefinitions"]
        } == {(a["AttributeName"], a["AttributeType"]) for a in live["AttributeDefinitions"]}
        live_gsis = {
            g["IndexName"]: (
                {(k["AttributeName"], k["KeyType"]) for k in g["KeySchema"]},
                g["Projection"]["ProjectionType"],
            )
            for g in live.get("GlobalSecondaryIndexes", [])
        }
        gsis = {
            g["IndexName"]: (
                {(k["AttributeName"], k["KeyType"]) for k in g["KeySchema"]},
                g["Projection"]["ProjectionType"],
            )
            for g in props.get("GlobalSecondaryIndexes", [])
        }
        assert gsis == live_gsis, model.__name__


def test_every_function_runs_as_the_pulse_role(sam: dict[str, Any]) -> None:
    functions = _of_type(sam, "AWS::Serverless::Function")
    assert functions
    for function in functions.values():
        assert function["Properties"]["Role"] == {"Fn::GetAtt": [template.ROLE, "Arn"]}
    assert "000000000000" not in json.dumps(sam)


def test_every_sqs_event_reports_batch_item_failures(sam: dict[str, Any]) -> None:
    for function in _of_type(sam, "AWS::Serverless::Function").values():
        for event in (function["Properties"].get("Events") or {}).values():
            if event["Type"] == "SQS":
                assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_a_queue_handler_gets_report_batch_item_failures(tmp_path: Path) -> None:
    """Chalice never sets ReportBatchItemFailures: package a throwaway app with a queue handler
    through the same merge template and post-processing, and lint the result."""
    project = tmp_path / "probe"
    (project / ".chalice").mkdir(parents=True)
    shutil.copy(ROOT / ".chalice" / "config.json", project / ".chalice" / "config.json")
    (project / "app.py").write_text(
        "from chalice import Chalice\n"
        "app = Chalice(app_name='pulse')\n"
        "@app.on_sqs_message(queue='pulse-dev-mail', batch_size=10)\n"
        "def handle_mail(event):\n"
        "    return {'batchItemFailures': []}\n",
        encoding="utf-8",
    )
    merge = tmp_path / "merge.json"
    merge.write_text(json.dumps(template.build("dev")), encoding="utf-8")
    out = tmp_path / "out"
    subprocess.run(
        [
            str(BIN / "chalice"),
            "--project-dir",
            str(project),
            "package",
            "--stage",
            "dev",
            "--merge-template",
            str(merge),
            str(out),
        ],
        check=True,
        capture_output=True,
        env={**packaging._chalice_env("us-east-1")},
    )
    doc = json.loads((out / "sam.json").read_text(encoding="utf-8"))
    template.check_merge(json.loads(merge.read_text(encoding="utf-8")), doc)
    template.finalize(doc)
    (out / "sam.json").write_text(json.dumps(doc), encoding="utf-8")
    (event,) = doc["Resources"]["HandleMail"]["Properties"]["Events"].values()
    assert event["Type"] == "SQS"
    assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert event["Properties"]["Queue"] == {
        "Fn::GetAtt": [template.queue_logical_id("mail"), "Arn"]
    }
    errors = [f for f in _cfn_lint(out / "sam.json") if f["Rule"]["Id"].startswith("E")]
    assert not errors, json.dumps(errors, indent=1)


def test_zip_carries_every_template(
    packaged: packaging.PackageResult, unzipped: Path, source_templates: dict[str, bytes]
) -> None:
    assert source_templates, "templates/ is empty"
    assert packaged.templates == sorted(source_templates)
    for name, content in source_templates.items():
        assert (unzipped / name).read_bytes() == content, name


def test_templates_render_from_the_unzipped_package(unzipped: Path) -> None:
    """In a fresh interpreter that sees only the package (as on Lambda): render() finds the
    templates next to chalicelib/, and they render."""
    script = (
        "import sys, pathlib\n"
        f"sys.path.insert(0, {str(unzipped)!r})\n"
        "from jinja2 import ChainableUndefined, Environment\n"
        "from chalicelib.mail import render\n"
        f"assert render.TEMPLATES_DIR == pathlib.Path({str(unzipped / 'templates')!r}), render.TEMPLATES_DIR\n"
        "names = sorted(render.environment().list_templates())\n"
        "assert names, 'no templates'\n"
        "for name in names:\n"
        "    render.environment().get_template(name)  # every template compiles\n"
        "lenient = render.environment().overlay(undefined=ChainableUndefined)\n"
        "html = [n for n in names if n.endswith('.html')] or names\n"
        "out = lenient.get_template(html[0]).render(title='Probe title', body='Probe body')\n"
        "assert out.strip(), html[0]\n"
        "print(html[0], len(out))\n"
    )
    result = _run_isolated(script, unzipped)
    assert result.returncode == 0, result.stderr


def _run_isolated(
    script: str, task: Path, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`python -S`: no site-packages, so only the standard library and the package itself."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "PULSE_STAGE": "dev",
        "LAMBDA_TASK_ROOT": str(task),
        **(extra_env or {}),
    }
    return subprocess.run(
        [sys.executable, "-S", "-c", script],
        capture_output=True,
        text=True,
        env=env,
        cwd=task,
        check=False,
    )


def test_app_imports_from_the_package_as_on_lambda(unzipped: Path) -> None:
    """Every runtime dependency is in the zip: `import app` with Lambda's environment and
    nothing but the package on the path. The X-Ray SDK (in maintenance; Powertools' Tracer
    needs it) is not: Lambda's active tracing and the ADOT layer trace without it."""
    assert not (unzipped / "aws_xray_sdk").exists(), (
        "the X-Ray SDK is in the zip: depend on aws-lambda-powertools without [tracer]"
    )
    assert not list(unzipped.glob("aws_xray_sdk-*.dist-info"))
    script = (
        "import os, sys\n"
        "os.environ['AWS_LAMBDA_FUNCTION_NAME'] = 'pulse-dev-probe'\n"
        f"sys.path.insert(0, {str(unzipped)!r})\n"
        "import app\n"
        "assert app.app.app_name == 'pulse'\n"
    )
    result = _run_isolated(script, unzipped)
    assert result.returncode == 0, result.stderr


def test_every_module_ships_hash_checked_bytecode(packaged: packaging.PackageResult) -> None:
    """One .pyc per .py, compiled by the runtime's Python and checked against the source's hash
    (the zip keeps no timestamps Python could compare), and none from a development tree."""
    import importlib.util

    with zipfile.ZipFile(packaged.zip_path) as archive:
        names = set(archive.namelist())
        sources = {n for n in names if n.endswith(".py")}
        bytecode = {n for n in names if n.endswith(".pyc")}
        assert bytecode == {importlib.util.cache_from_source(n) for n in sources}
        for name in sorted(n for n in bytecode if n.startswith(("app", "chalicelib/"))):
            header = archive.read(name)[:16]
            source = archive.read(importlib.util.source_from_cache(name))
            assert header[:4] == importlib.util.MAGIC_NUMBER, name
            assert int.from_bytes(header[4:8], "little") == 0b11, f"{name}: not checked-hash"
            assert header[8:16] == importlib.util.source_hash(source), f"{name}: stale"
    assert packaged.bytecode == len(bytecode)


def test_app_imports_from_the_shipped_bytecode_without_compiling(
    packaged: packaging.PackageResult, tmp_path: Path
) -> None:
    """`import app` from a fresh unpacking, free to write bytecode: every module of the package
    loads from its shipped .pyc, and nothing is compiled or written (on Lambda /var/task is
    read-only: anything not shipped is compiled again on every cold start)."""
    task = tmp_path / "task"
    with zipfile.ZipFile(packaged.zip_path) as archive:
        archive.extractall(task)

    def snapshot() -> dict[str, tuple[int, int]]:
        return {
            str(p.relative_to(task)): (p.stat().st_mtime_ns, p.stat().st_size)
            for p in task.rglob("*")
            if p.is_file()
        }

    before = snapshot()
    script = (
        "import os, sys\n"
        "os.environ['AWS_LAMBDA_FUNCTION_NAME'] = 'pulse-dev-probe'\n"
        f"task = {str(task)!r}\n"
        "sys.path.insert(0, task)\n"
        "assert not sys.dont_write_bytecode\n"
        "import app\n"
        "ours = [m for m in list(sys.modules.values())\n"
        "        if (getattr(m, '__file__', None) or '').startswith(task) and m.__file__.endswith('.py')]\n"
        "missing = [m.__name__ for m in ours if not os.path.exists(m.__cached__ or '')]\n"
        "assert not missing, missing[:10]\n"
        "print(len(ours))\n"
    )
    result = _run_isolated(script, task)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout.split()[-1]) > 200  # app, chalicelib, pydantic, botocore, …
    after = snapshot()
    assert sorted(set(after) - set(before)) == [], "bytecode was written: it was not shipped"
    changed = sorted(n for n in before if after[n] != before[n])
    assert changed == [], f"recompiled: {changed[:10]}"


def test_zip_holds_no_development_package(unzipped: Path) -> None:
    top = {p.name.split("-")[0].lower() for p in unzipped.iterdir()}
    for dev in (
        "moto",
        "pytest",
        "_pytest",
        "hypothesis",
        "playwright",
        "schemathesis",
        "cfnlint",
        "cfn_lint",
        "ruff",
        "mypy",
        "aiosmtpd",
        "werkzeug",
        "pip",
        "setuptools",
        "click",
    ):
        assert dev not in top, dev
    assert not list(unzipped.glob("*.dist-info/../tests"))


def test_zip_size_is_within_lambda_limits(
    packaged: packaging.PackageResult, record_property: Any
) -> None:
    record_property("zip_bytes", packaged.zip_bytes)
    record_property("unzipped_bytes", packaged.unzipped_bytes)
    print(
        f"\nLambda package: {packaged.zip_bytes / 1e6:.1f} MB zipped, "
        f"{packaged.unzipped_bytes / 1e6:.1f} MB unzipped, {packaged.files} files"
    )
    assert packaged.zip_bytes < LAMBDA_ZIP_LIMIT
    assert packaged.unzipped_bytes < LAMBDA_UNZIPPED_LIMIT


def test_queue_visibility_covers_six_function_timeouts(sam: dict[str, Any]) -> None:
    """AWS's rule for SQS event sources: visibility timeout >= 6 x the function's timeout
    (queue visibility: chalicelib/queues.py; function timeouts: .chalice/config.json)."""
    resources = sam["Resources"]
    checked = 0
    for name, function in _of_type(sam, "AWS::Serverless::Function").items():
        for event in (function["Properties"].get("Events") or {}).values():
            queue = event.get("Properties", {}).get("Queue")
            if event["Type"] != "SQS" or not isinstance(queue, dict) or "Fn::GetAtt" not in queue:
                continue
            visibility = resources[queue["Fn::GetAtt"][0]]["Properties"]["VisibilityTimeout"]
            timeout = function["Properties"]["Timeout"]
            assert 6 * timeout <= visibility, (
                f"{name}: timeout {timeout}s, visibility {visibility}s"
            )
            checked += 1
    assert checked or not any(
        e["Type"] == "SQS"
        for f in _of_type(sam, "AWS::Serverless::Function").values()
        for e in (f["Properties"].get("Events") or {}).values()
    )


# ------------------------------------------------------------------- the deployment's defences


def test_api_is_throttled_and_bulk_send_routes_more_so(sam: dict[str, Any]) -> None:
    (api,) = _of_type(sam, "AWS::Serverless::Api").values()
    settings = {
        (s["ResourcePath"], s["HttpMethod"]): s for s in api["Properties"]["MethodSettings"]
    }
    default = settings[("/*", "*")]
    assert default["ThrottlingRateLimit"] > 0 and default["ThrottlingBurstLimit"] > 0
    for path in (
        "/reviews~1{review_id}~1send",
        "/reviews~1{review_id}~1resend",
        "/heartbeats~1{heartbeat_id}~1approve",
    ):
        bulk = settings[(path, "POST")]
        assert bulk["ThrottlingRateLimit"] < default["ThrottlingRateLimit"]
        assert bulk["ThrottlingBurstLimit"] < default["ThrottlingBurstLimit"]


def test_ses_reputation_and_dead_letter_alarms_notify_operators(sam: dict[str, Any]) -> None:
    alarms = _of_type(sam, "AWS::CloudWatch::Alarm").values()
    metrics = {a["Properties"]["MetricName"]: a["Properties"] for a in alarms}
    for metric in ("Reputation.BounceRate", "Reputation.ComplaintRate"):
        assert metrics[metric]["Namespace"] == "AWS/SES"
        assert metrics[metric]["AlarmActions"] == [{"Ref": "OpsAlarmTopic"}]
    dlqs = {k for k, q in _of_type(sam, "AWS::SQS::Queue").items() if k.startswith("DeadLetter")}
    watched = {
        a["Properties"]["Dimensions"][0]["Value"]["Fn::GetAtt"][0]
        for a in alarms
        if a["Properties"]["MetricName"] == "ApproximateNumberOfMessagesVisible"
    }
    assert dlqs and watched == {*dlqs, template.FAILURE_QUEUE}


def test_functions_have_timeouts_and_bounded_concurrency(sam: dict[str, Any]) -> None:
    for logical, fn in _of_type(sam, "AWS::Serverless::Function").items():
        props = fn["Properties"]
        assert 0 < int(props["Timeout"]) <= 900, logical
        for event in (props.get("Events") or {}).values():
            if event["Type"] == "SQS":
                assert event["Properties"]["ScalingConfig"]["MaximumConcurrency"] >= 2, logical
            if event["Type"] == "Schedule":
                assert props["ReservedConcurrentExecutions"] == 1, logical
    mail = _of_type(sam, "AWS::Serverless::Function")["SurveyMailQueue"]["Properties"]
    (event,) = mail["Events"].values()
    assert event["Properties"]["ScalingConfig"]["MaximumConcurrency"] == 5


def test_every_table_has_point_in_time_recovery_and_encryption(sam: dict[str, Any]) -> None:
    tables = _of_type(sam, "AWS::DynamoDB::Table")
    assert tables
    for logical, table in tables.items():
        props = table["Properties"]
        assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"], logical
        assert props["SSESpecification"]["SSEEnabled"], logical


# ------------------------------------------------------- every function, as Lambda imports it

# What each function logs once per invocation, and the business counts it publishes. A new
# function fails the test below until it is listed here (and observed).
SUMMARIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "APIHandler": ("request", ()),
    "HeartbeatPrepare": ("heartbeat-prepare done", ("HeartbeatRoundsPrepared",)),
    "BenchmarksNightly": ("benchmarks done", ("BenchmarkPeriods",)),
    "HeartbeatFanout": ("heartbeat fan-out batch", ("MessagesQueued", "HeartbeatInvitesQueued")),
    "NightlySuccessScore": ("success-score fan-out", ("MessagesQueued",)),
    "DailyStaleAlerts": ("stale-alerts fan-out", ("MessagesQueued",)),
    "ScoreQueue": ("score queue batch", ("AccountsScored", "AlertsSent")),
    "SurveyMailQueue": ("mail queue batch", ("MailsSent", "MailMessagesFailed")),
    "SesEvents": ("ses events done", ("ContactsSuppressed",)),
    "DailyReminders": ("reminders done", ("RemindersSent",)),
}
SEEDED_ACCOUNTS = 3

_INVOKE = """
import importlib, json, os, sys
spec = json.loads(os.environ["PROBE_SPEC"])
sys.path.insert(0, os.environ["LAMBDA_TASK_ROOT"])
module_name, attribute = spec["handler"].rsplit(".", 1)
handler = getattr(importlib.import_module(module_name), attribute)


class Context:
    function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:" + function_name
    memory_limit_in_mb = 512
    aws_request_id = spec["request_id"]
    log_group_name = "/aws/lambda/" + function_name
    log_stream_name = "2026/01/01/[$LATEST]probe"

    def get_remaining_time_in_millis(self):
        return 60000


result = handler(spec["event"], Context())
print("PROBE " + json.dumps({"result": result, "app_imported": "app" in sys.modules}, default=str))
"""


@pytest.fixture(scope="module")
def lambda_world(aws: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A stage of its own on the session's moto server (the schedules act on every tenant, so
    they must not touch other tests' data): provisioned in a fresh interpreter, with one tenant
    of SEEDED_ACCOUNTS accounts."""
    import uuid

    from pulse_local.stack import base_environment

    endpoint = os.environ["AWS_ENDPOINT_URL"]
    prefix = f"pulse-pkg{uuid.uuid4().hex[:6]}"
    base = base_environment(endpoint, prefix=prefix, stage="test")
    script = (
        "import json\n"
        "from pulse_local.stack import provision\n"
        "from pulse_local.bench_pulse import seed\n"
        f"env = provision({endpoint!r}, prefix={prefix!r}, stage='test')\n"
        f"made = seed(({SEEDED_ACCOUNTS},))\n"
        "print('WORLD ' + json.dumps({'env': env, 'tenant_id': made[0][0]}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env={**os.environ, **base},
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    line = next(x for x in done.stdout.splitlines() if x.startswith("WORLD "))
    return dict(json.loads(line.removeprefix("WORLD ")))


def _received(world: dict[str, Any], short: str, bodies: list[dict[str, Any]]) -> dict[str, Any]:
    """Send the bodies to the stage's queue and receive them back: the SQS event an event
    source mapping delivers, with SQS's own message ids and receipt handles."""
    import boto3

    from pulse_local.runner import sqs_record

    env = world["env"]
    sqs = boto3.client("sqs", region_name="us-east-1", endpoint_url=env["AWS_ENDPOINT_URL"])
    url = sqs.get_queue_url(QueueName=f"{env['PULSE_RESOURCE_PREFIX']}-{short}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sent = {
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(body))["MessageId"] for body in bodies
    }
    messages: list[dict[str, Any]] = []
    while len(messages) < len(sent):  # others' messages (the fan-out's) stay where they are
        reply = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1, AttributeNames=["All"]
        )
        messages += [m for m in reply.get("Messages") or [] if m["MessageId"] in sent]
    return {"Records": [sqs_record(m, arn, "us-east-1") for m in messages]}


def _sns_event(world: dict[str, Any], notification: dict[str, Any]) -> dict[str, Any]:
    import uuid

    topic = f"arn:aws:sns:us-east-1:123456789012:{world['env']['PULSE_RESOURCE_PREFIX']}-ses-events"
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": f"{topic}:{uuid.uuid4()}",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": str(uuid.uuid4()),
                    "TopicArn": topic,
                    "Subject": None,
                    "Message": json.dumps(notification),
                    "Timestamp": "2026-03-01T09:00:00.000Z",
                    "SignatureVersion": "1",
                    "Signature": "EXAMPLE",
                    "SigningCertUrl": "https://sns.us-east-1.amazonaws.com/cert.pem",
                    "UnsubscribeUrl": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
                    "MessageAttributes": {},
                },
            }
        ]
    }


def _api_event(request_id: str) -> dict[str, Any]:
    """API Gateway's REST proxy event for GET /health."""
    return {
        "resource": "/health",
        "path": "/health",
        "httpMethod": "GET",
        "headers": {"Host": "abc123.execute-api.us-east-1.amazonaws.com", "Accept": "*/*"},
        "multiValueHeaders": {"Host": ["abc123.execute-api.us-east-1.amazonaws.com"]},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourceId": "r1",
            "resourcePath": "/health",
            "httpMethod": "GET",
            "requestId": request_id,
            "extendedRequestId": "Xyz=",
            "path": "/api/health",
            "stage": "api",
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
            "identity": {"sourceIp": "203.0.113.9", "userAgent": "probe"},
        },
        "body": None,
        "isBase64Encoded": False,
    }


def _event_for(logical: str, function: dict[str, Any], world: dict[str, Any]) -> dict[str, Any]:
    from datetime import UTC, datetime

    from pulse_local.runner import scheduled_event

    today = datetime.now(UTC).date().isoformat()
    tenant = world["tenant_id"]
    (event,) = (function["Properties"].get("Events") or {"api": {"Type": "Api"}}).values()
    if event["Type"] == "Schedule":
        return scheduled_event(f"pulse-dev-{logical}", datetime.now(UTC), "us-east-1")
    if event["Type"] == "SNS":
        bounce = {
            "notificationType": "Bounce",
            "bounce": {
                "bounceType": "Permanent",
                "bouncedRecipients": [{"emailAddress": "nobody@client.example"}],
            },
            "mail": {"destination": ["nobody@client.example"]},
        }
        return _sns_event(world, bounce)
    if event["Type"] == "SQS":
        queue = {
            "ScoreQueue": ("score", {"job": "success-score", "tenant_id": tenant, "date": today}),
            "SurveyMailQueue": ("mail", {"type": "probe-unknown"}),
            # No such round: the message fails alone and is reported back to SQS.
            "HeartbeatFanout": (
                "heartbeat",
                {"type": "account", "tenant_id": tenant, "round_id": "hb_0", "account_id": "a"},
            ),
        }
        short, body = queue[logical]
        return _received(world, short, [body])
    return _api_event(f"apigw-{logical}")


def _stdout_records(text: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Powertools' JSON log lines and its EMF metric blobs, as CloudWatch Logs receives them."""
    logs, emf = [], []
    for line in text.splitlines():
        if not line.startswith("{"):
            continue
        record = json.loads(line)
        (emf if "_aws" in record else logs).append(record)
    return logs, emf


def test_every_function_logs_and_counts_when_imported_as_lambda_imports_it(
    sam: dict[str, Any], unzipped: Path, lambda_world: dict[str, Any]
) -> None:
    """Each Handler of the packaged template, imported alone from the unzipped package and
    invoked with its event source's event: its log lines carry the Lambda context, it logs its
    summary and publishes its counts. Event handlers never import app.py (so nothing may rely
    on middleware registered there)."""
    functions = _of_type(sam, "AWS::Serverless::Function")
    assert set(functions) == set(SUMMARIES), "list each function's summary in SUMMARIES"
    for logical, function in functions.items():
        handler = function["Properties"]["Handler"]
        name = f"pulse-dev-{logical}"
        request_id = f"req-{logical}"
        event = _event_for(logical, function, lambda_world)
        spec = {"handler": handler, "event": event, "request_id": request_id}
        env = {
            **lambda_world["env"],
            "AWS_LAMBDA_FUNCTION_NAME": name,
            "_HANDLER": handler,
            "PROBE_SPEC": json.dumps(spec),
        }
        result = _run_isolated(_INVOKE, unzipped, env)
        assert result.returncode == 0, f"{logical} ({handler}): {result.stderr[-3000:]}"
        probe = json.loads(
            next(x for x in result.stdout.splitlines() if x.startswith("PROBE "))[6:]
        )
        assert probe["app_imported"] == (handler == "app.app"), logical
        logs, emf = _stdout_records(result.stdout)
        summary, metric_names = SUMMARIES[logical]
        lines = [r for r in logs if r.get("message") == summary]
        assert len(lines) == 1, f"{logical}: {summary!r} not logged once in {logs}"
        for record in logs:
            assert record["function_name"] == name, (logical, record)
            assert record["function_request_id"] == request_id, (logical, record)
            assert record["cold_start"] is True, (logical, record)
            assert record["service"] == "pulse", (logical, record)
        published: dict[str, float] = {}
        for blob in emf:
            (directive,) = blob["_aws"]["CloudWatchMetrics"]
            assert directive["Namespace"] == "Pulse", logical
            for metric in directive["Metrics"]:
                value = blob[metric["Name"]]
                published[metric["Name"]] = sum(value) if isinstance(value, list) else value
        assert set(metric_names) <= set(published), f"{logical}: published {published}"
        if handler == "app.app":
            assert probe["result"]["statusCode"] == 200
            assert lines[0]["correlation_id"] == event["requestContext"]["requestId"]
            assert not emf, "a request that counted nothing publishes nothing"
        if logical == "ScoreQueue":
            assert published["AccountsScored"] == SEEDED_ACCOUNTS
            assert lines[0]["accounts_scored"] == SEEDED_ACCOUNTS
            assert probe["result"] == {"batchItemFailures": []}
        if logical in ("NightlySuccessScore", "DailyStaleAlerts"):
            assert published["MessagesQueued"] == 1 and lines[0]["messages"] == 1  # one tenant
        if logical == "HeartbeatFanout":
            (record,) = event["Records"]
            assert probe["result"] == {
                "batchItemFailures": [{"itemIdentifier": record["messageId"]}]
            }
            assert lines[0]["failed"] == 1
        if logical == "SurveyMailQueue":
            assert lines[0]["outcomes"] == {"dropped": 1} and published["MailsSent"] == 0
