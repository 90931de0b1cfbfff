"""One local AWS (moto's server) per test session, shared by every test that needs it.

The environment is set here, before any test imports the app, so table names and the
endpoint are fixed for the whole session. Tests isolate themselves by creating their own
tenant rather than by resetting the server.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from pulse_local.stack import base_environment, free_port  # noqa: E402

MOTO_PORT = free_port()
ENDPOINT = f"http://127.0.0.1:{MOTO_PORT}"
os.environ.update(base_environment(ENDPOINT, prefix="pulse-test", stage="test"))


@pytest.fixture(scope="session")
def aws() -> Iterator[dict[str, str]]:
    from pulse_local.stack import provision, start_moto

    server = start_moto(MOTO_PORT)
    try:
        yield provision(ENDPOINT, prefix="pulse-test", stage="test")
    finally:
        server.stop()


@pytest.fixture(scope="session")
def chalice_app(aws: dict[str, str]) -> Any:
    import app

    return app.app


@pytest.fixture(scope="session")
def client(chalice_app: Any) -> Iterator[Any]:
    from chalice.test import Client

    from pulse_local.gateway import PulseGateway

    with Client(chalice_app, stage_name="test") as test_client:
        # The gateway's answers for routing misses as the local server and API Gateway (with
        # the template's GatewayResponses) give them: 404/405 in Pulse's error shape.
        http = test_client.http
        http._local_gateway = PulseGateway(chalice_app, http._config)
        yield test_client
