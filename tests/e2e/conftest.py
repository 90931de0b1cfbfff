"""One real local stack per test session: ``pulse local`` as a subprocess on free ports.

Every e2e and browser test uses the ``stack`` fixture (base URL, moto endpoint, demo logins) and
talks to it over HTTP only, exactly as a person or a browser would. The stack is stopped with
SIGINT (Ctrl-C) at the end of the session, which also checks that it shuts down cleanly.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from e2e.browser import browser  # noqa: F401 - one Chromium for the whole session
from support.api import Reply

from pulse_local.stack import free_port

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 90.0


class Http:
    """A minimal JSON client over urllib (no third-party HTTP library needed)."""

    def __init__(self, base_url: str, token: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        hdrs = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        tok = self.token if token is None else token
        if tok:
            hdrs["Authorization"] = f"Bearer {tok}"
        hdrs.update(headers or {})
        request = urllib.request.Request(
            self.base_url + path, data=data, headers=hdrs, method=method
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return Reply(response.status, dict(response.headers), response.read())
        except urllib.error.HTTPError as exc:
            return Reply(exc.code, dict(exc.headers), exc.read())

    def get(self, path: str, **kw: Any) -> Reply:
        return self.call("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> Reply:
        return self.call("POST", path, body, **kw)

    def patch(self, path: str, body: Any = None, **kw: Any) -> Reply:
        return self.call("PATCH", path, body, **kw)

    def delete(self, path: str, **kw: Any) -> Reply:
        return self.call("DELETE", path, **kw)

    def as_(self, token: str) -> Http:
        return Http(self.base_url, token)

    def login(self, email: str, password: str) -> Http:
        reply = self.post("/auth/login", {"email": email, "password": password}, token="")
        assert reply.status == 200, reply.body
        return self.as_(str(reply.json["id_token"]))


@dataclass
class LocalStack:
    base_url: str
    moto_url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    demo_password: str
    demo_logins: dict[str, str]  # role key (admin, senior, alex, sam) -> email
    state_file: Path  # where the stack records its environment for other `pulse` commands

    @property
    def http(self) -> Http:
        return Http(self.base_url)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def aws_env(self) -> dict[str, str]:
        """Variables for a boto3 client (or a ``pulse`` command) aimed at the stack's moto."""
        return {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": self.moto_url,
        }

    def pulse(self, *args: str, state_file: Path | None = None) -> subprocess.CompletedProcess[str]:
        """A second `pulse` command in its own process, as from another terminal: no AWS or
        Pulse variables, only where to find the stack's record."""
        env = _child_environment() | {"PULSE_LOCAL_STATE": str(state_file or self.state_file)}
        return subprocess.run(
            [*_pulse_command(), *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def boto3_client(self, service: str) -> Any:
        import boto3

        return boto3.client(
            service,
            region_name="us-east-1",
            endpoint_url=self.moto_url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )


def _pulse_command() -> list[str]:
    script = Path(sys.executable).with_name("pulse")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "pulse_local.cli"]


def _child_environment() -> dict[str, str]:
    # tests/conftest.py points this process at the test session's moto; the stack must not
    # inherit any of that.
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "PULSE_", "POWERTOOLS_", "MOTO_"))
    } | {"PYTHONUNBUFFERED": "1"}


def _wait_healthy(base_url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"pulse local exited with {process.returncode}:\n{log_path.read_text()[-4000:]}"
            )
        try:
            with urllib.request.urlopen(base_url + "/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"pulse local not healthy in {START_TIMEOUT}s:\n{log_path.read_text()}")


def _stop(process: subprocess.Popen[bytes]) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            return process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    return int(process.returncode)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    from pulse_local.demo import DEMO_PASSWORD, LOGINS

    port, moto_port = free_port(), free_port()
    while moto_port == port:
        moto_port = free_port()
    workdir = tmp_path_factory.mktemp("local-stack")
    log_path = workdir / "pulse-local.log"
    # Its own record, so a stack someone runs in this tree (.pulse-local.json) is left alone.
    state_file = workdir / "pulse-local.json"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [*_pulse_command(), "local", "--port", str(port), "--moto-port", str(moto_port)],
            cwd=ROOT,
            env=_child_environment() | {"PULSE_LOCAL_STATE": str(state_file)},
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(base_url, process, log_path)
        yield LocalStack(
            base_url=base_url,
            moto_url=f"http://127.0.0.1:{moto_port}",
            process=process,
            log_path=log_path,
            demo_password=DEMO_PASSWORD,
            demo_logins={login.key: login.email for login in LOGINS},
            state_file=state_file,
        )
    finally:
        code = _stop(process)
    if code != 0:
        pytest.fail(f"pulse local did not stop cleanly (exit {code}):\n{log_path.read_text()}")
    if state_file.exists():
        pytest.fail("pulse local left its environment record behind")


@pytest.fixture(scope="session")
def base_url(stack: LocalStack) -> str:
    return stack.base_url


@pytest.fixture(scope="session")
def moto_url(stack: LocalStack) -> str:
    return stack.moto_url
