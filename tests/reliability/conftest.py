"""Fixtures for the fault and load suites: the functional helpers, a tenant, and the figures each
test adds to ``test-output/reliability.json`` (docs/reliability.md quotes them)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "functional"))
sys.path.insert(0, str(HERE))

from support.api import TenantHandle, new_tenant  # noqa: E402

FIGURES: dict[str, Any] = {}
OUTPUT = HERE.parent.parent / "test-output" / "reliability.json"


@pytest.fixture
def tenant(client: Any) -> TenantHandle:
    return new_tenant(client)


@pytest.fixture(scope="session")
def figures() -> Iterator[dict[str, Any]]:
    yield FIGURES
    if FIGURES:
        OUTPUT.parent.mkdir(exist_ok=True)
        previous = json.loads(OUTPUT.read_text()) if OUTPUT.exists() else {}
        previous.update(FIGURES)
        OUTPUT.write_text(json.dumps(previous, indent=2, sort_keys=True) + "\n")
