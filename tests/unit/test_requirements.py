"""requirements.txt (what Chalice packages) is generated from pyproject.toml and holds no dev tool."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from pulse_local import requirements

ROOT = Path(__file__).resolve().parent.parent.parent
DEV_TOOLS = {
    "moto",
    "pytest",
    "pytest-xdist",
    "hypothesis",
    "playwright",
    "ruff",
    "mypy",
    "cfn-lint",
    "schemathesis",
    "aiosmtpd",
    "openapi-spec-validator",
}


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _lines() -> list[str]:
    text = (ROOT / "requirements.txt").read_text(encoding="utf-8")
    return [line for line in text.splitlines() if line.strip() and not line.startswith("#")]


def test_requirements_txt_is_current() -> None:
    assert (ROOT / "requirements.txt").read_text(encoding="utf-8") == requirements.render(), (
        "requirements.txt is stale: run `make requirements`"
    )
    assert requirements.main(["--check"]) == 0


def test_requirements_are_exactly_the_runtime_dependencies() -> None:
    declared = [str(d) for d in _pyproject()["project"]["dependencies"]]
    expected = [
        d
        for d in declared
        if requirements.distribution_name(d) not in requirements.PROVIDED_BY_CHALICE
    ]
    assert _lines() == expected
    assert all("==" in line for line in _lines()), "every runtime dependency is pinned"


def test_no_development_dependency_is_packaged() -> None:
    dev = {
        requirements.distribution_name(d)
        for d in _pyproject()["project"]["optional-dependencies"]["dev"]
    }
    packaged = {requirements.distribution_name(line) for line in _lines()}
    assert not packaged & (dev | DEV_TOOLS)
    # Chalice's CLI (and pip, setuptools, click, …) stays out: chalice bundles its runtime itself.
    assert "chalice" not in packaged


def test_header_says_generated() -> None:
    header = (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()[0]
    assert header.startswith("#") and "GENERATED" in header


def test_check_fails_on_a_stale_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stale = tmp_path / "requirements.txt"
    stale.write_text(requirements.render() + "moto==5.2.5\n", encoding="utf-8")
    monkeypatch.setattr(requirements, "REQUIREMENTS", stale)
    assert requirements.main(["--check"]) == 1
    monkeypatch.setattr(requirements, "ROOT", tmp_path)
    assert requirements.main(["--write"]) == 0
    assert requirements.main(["--check"]) == 0


def test_distribution_names() -> None:
    assert requirements.distribution_name("pyjwt[crypto]==2.15.1") == "pyjwt"
    assert requirements.distribution_name("aws_lambda.Powertools==3") == "aws-lambda-powertools"
