"""``make package``: the deployable artefact, ``dist/sam.json`` + ``dist/deployment.zip``.

1. check that ``requirements.txt`` matches ``pyproject.toml`` (Chalice reads only the former);
2. write the merge template (``infra.template``) for the stage;
3. copy the top-level ``templates/`` into ``vendor/templates/``: Chalice zips ``app.py``,
   ``chalicelib/`` and the *contents* of ``vendor/``, so the folder lands at the zip root, next to
   ``chalicelib/`` — where ``chalicelib.mail.render.TEMPLATES_DIR`` looks for it;
4. run ``chalice package --stage STAGE --merge-template …`` into ``dist/``;
5. post-process ``sam.json`` (``infra.template.finalize``): function role, ReportBatchItemFailures;
6. add bytecode to the zip (``compile_bytecode``): Chalice ships sources only and ``/var/task``
   is read-only, so without it every cold start compiles every module it imports;
7. check the zip holds the templates, hash-checked bytecode and no development package, and
   report its size.

    python -m pulse_local.package [--stage dev] [--output dist]
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import fcntl
import json
import os
import py_compile
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pulse_local import requirements

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"
VENDOR = ROOT / "vendor"
VENDORED_TEMPLATES = VENDOR / "templates"
CACHE = ROOT / ".chalice" / "deployments"
DIST = ROOT / "dist"
MERGE_TEMPLATE = "infra-merge.json"
LAMBDA_TASK_ROOT = "/var/task"  # where Lambda unpacks the zip: the paths tracebacks show

# Top-level names that must never reach the Lambda zip (test and tooling packages).
DEV_PACKAGES = (
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
    "openapi_spec_validator",
    "werkzeug",
    "flask",
    "pip",
    "setuptools",
)


@dataclass
class PackageResult:
    zip_path: Path
    template_path: Path
    zip_bytes: int
    unzipped_bytes: int
    files: int
    templates: list[str]
    bytecode: int = 0  # .pyc files


def _chalice_env(region: str) -> dict[str, str]:
    """The caller's environment without Pulse's or the local stack's variables: the stage's
    own variables (``.chalice/config.json``) are what the app sees while Chalice imports it."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PULSE_", "AWS_ENDPOINT_URL", "MOTO_"))
    }
    env.setdefault("AWS_DEFAULT_REGION", region)
    env.setdefault("AWS_REGION", env["AWS_DEFAULT_REGION"])
    return env


@contextlib.contextmanager
def _exclusive() -> Iterator[None]:
    """vendor/ and Chalice's cache are shared: one package build at a time per checkout."""
    CACHE.mkdir(parents=True, exist_ok=True)  # git-ignored, like the lock in it
    lock = CACHE / ".package.lock"
    with lock.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _vendor_templates() -> None:
    if VENDORED_TEMPLATES.exists():
        shutil.rmtree(VENDORED_TEMPLATES)
    VENDOR.mkdir(exist_ok=True)
    shutil.copytree(
        TEMPLATES, VENDORED_TEMPLATES, ignore=shutil.ignore_patterns("__pycache__", ".*")
    )


def _unvendor_templates() -> None:
    shutil.rmtree(VENDORED_TEMPLATES, ignore_errors=True)
    if VENDOR.exists() and not any(VENDOR.iterdir()):
        VENDOR.rmdir()


def _prune_cache(keep: Path) -> None:
    """Chalice keeps one 30 MB zip per code change in .chalice/deployments; keep the newest."""
    if not CACHE.is_dir():
        return
    zips = sorted(CACHE.glob("*.zip"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in zips[2:]:
        if old.resolve() != keep.resolve():
            old.unlink(missing_ok=True)


def inspect_zip(zip_path: Path) -> PackageResult:
    with zipfile.ZipFile(zip_path) as archive:
        infos = archive.infolist()
    names = [i.filename for i in infos]
    templates = sorted(n for n in names if n.startswith("templates/") and not n.endswith("/"))
    tops = {n.split("/", 1)[0] for n in names}
    leaked = sorted(
        top
        for top in tops
        for dev in DEV_PACKAGES
        if top == dev or top.lower().startswith(dev.lower() + "-")
    )
    if leaked:
        raise SystemExit(f"development packages in the Lambda zip: {leaked}")
    if not templates:
        raise SystemExit("the Lambda zip holds no templates/: mail could not render")
    with zipfile.ZipFile(zip_path) as archive:
        stale = sorted(
            i.filename
            for i in infos
            if i.filename.endswith(".pyc") and not _checked_hash(archive.read(i)[:16])
        )
    if stale:
        raise SystemExit(f"bytecode Lambda would recompile on every cold start: {stale[:5]}")
    return PackageResult(
        zip_path=zip_path,
        template_path=zip_path.parent / "sam.json",
        zip_bytes=zip_path.stat().st_size,
        unzipped_bytes=sum(i.file_size for i in infos),
        files=len(infos),
        templates=templates,
        bytecode=sum(n.endswith(".pyc") for n in names),
    )


def _checked_hash(header: bytes) -> bool:
    """A .pyc of this interpreter that is validated against its source's hash (PEP 552): the
    zip keeps no timestamps Python could compare, so timestamp-based bytecode is never used."""
    from importlib.util import MAGIC_NUMBER

    flags = int.from_bytes(header[4:8], "little")
    return header[:4] == MAGIC_NUMBER and flags == 0b11


def compile_bytecode(zip_path: Path, runtime: str) -> int:
    """Add ``__pycache__/*.pyc`` for every module in the zip, hash-checked (timestamps do not
    survive the zip), compiled by this interpreter, which must be the functions' runtime.
    Bytecode already in the zip (a development ``__pycache__``) is dropped first. Returns the
    number of .pyc files added."""
    ours = f"python{sys.version_info.major}.{sys.version_info.minor}"
    if runtime != ours:
        raise SystemExit(f"the functions run {runtime}; bytecode compiled by {ours} is ignored")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "task"
        with zipfile.ZipFile(zip_path) as source:
            keep = [
                i
                for i in source.infolist()
                if "__pycache__/" not in i.filename and not i.filename.endswith((".pyc", ".pyo"))
            ]
            source.extractall(root, members=[i for i in keep if i.filename.endswith(".py")])
            compileall.compile_dir(
                root,
                ddir=LAMBDA_TASK_ROOT,
                quiet=2,  # a few dependencies ship files that are not Python 3; never imported
                invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH,
            )
            compiled = sorted(root.rglob("*.pyc"))
            rebuilt = zip_path.with_name(zip_path.name + ".tmp")
            with zipfile.ZipFile(rebuilt, "w", zipfile.ZIP_DEFLATED) as target:
                for info in keep:
                    target.writestr(info, source.read(info))
                for pyc in compiled:
                    entry = zipfile.ZipInfo(pyc.relative_to(root).as_posix(), (2020, 1, 1, 0, 0, 0))
                    entry.external_attr = 0o644 << 16
                    entry.compress_type = zipfile.ZIP_DEFLATED
                    target.writestr(entry, pyc.read_bytes())
    os.replace(rebuilt, zip_path)
    return len(compiled)


def _build(stage: str, output: Path, merge_file: Path, region: str) -> None:
    _vendor_templates()
    try:
        command = [
            str(Path(sys.executable).parent / "chalice"),
            "--project-dir",
            str(ROOT),
            "package",
            "--stage",
            stage,
            "--merge-template",
            str(merge_file),
            str(output),
        ]
        subprocess.run(command, check=True, cwd=ROOT, env=_chalice_env(region))
    finally:
        _unvendor_templates()
    newest = max(CACHE.glob("*.zip"), key=lambda p: p.stat().st_mtime, default=None)
    if newest is not None:
        _prune_cache(newest)


def package(stage: str = "dev", output: Path = DIST, region: str = "us-east-1") -> PackageResult:
    from infra import template as infra

    if requirements.main(["--check"]) != 0:
        raise SystemExit("requirements.txt is stale: run `make requirements`")
    output = output.resolve()
    if output.exists():
        shutil.rmtree(output)
    output.mkdir(parents=True)
    merge_file = output.parent / f".{output.name}-{MERGE_TEMPLATE}"
    merge_file.write_text(json.dumps(infra.build(stage), indent=2) + "\n", encoding="utf-8")
    try:
        with _exclusive():
            _build(stage, output, merge_file, region)
    finally:
        shutil.move(merge_file, output / MERGE_TEMPLATE)

    sam_path = output / "sam.json"
    sam = json.loads(sam_path.read_text(encoding="utf-8"))
    merged = json.loads((output / MERGE_TEMPLATE).read_text(encoding="utf-8"))
    try:
        infra.check_merge(merged, sam)
    except ValueError as exc:
        raise SystemExit(str(exc)) from None
    infra.finalize(sam)
    sam_path.write_text(json.dumps(sam, indent=2) + "\n", encoding="utf-8")
    runtimes = {
        str(r["Properties"]["Runtime"])
        for r in sam["Resources"].values()
        if r["Type"] == "AWS::Serverless::Function"
    }
    if len(runtimes) != 1:
        raise SystemExit(f"the functions run different runtimes: {sorted(runtimes)}")
    compile_bytecode(output / "deployment.zip", runtimes.pop())
    return inspect_zip(output / "deployment.zip")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build dist/sam.json and dist/deployment.zip.")
    parser.add_argument("--stage", default="dev")
    parser.add_argument("--output", type=Path, default=DIST)
    parser.add_argument("--region", default=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
    args = parser.parse_args(argv)
    result = package(args.stage, args.output, args.region)
    print(
        f"{result.template_path} + {result.zip_path.name}: {result.zip_bytes / 1e6:.1f} MB zipped, "
        f"{result.unzipped_bytes / 1e6:.1f} MB unzipped, {result.files} files "
        f"({result.bytecode} bytecode), {len(result.templates)} templates"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
