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


def _run_isolated(script: str, task: Path) -> subprocess.CompletedProcess[str]:
    """`python -S`: no site-packages, so only the standard library and the package itself."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "PULSE_STAGE": "dev",
        "LAMBDA_TASK_ROOT": str(task),
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
    dlq_alarms = [a for a in alarms if a["Properties"]["MetricName"].startswith("Approximate")]
    assert len(dlq_alarms) == len(_of_type(sam, "AWS::SQS::Queue")) // 2


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
