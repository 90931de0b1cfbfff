"""Every outbound call fails well inside API Gateway's 29 s: AWS clients and PynamoDB use
botocore's standard retry mode with 3 attempts, 2 s to connect and 5 s to read; the JWKS fetch
gives up after a few seconds."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

API_GATEWAY_SECONDS = 29
STANDARD = {"mode": "standard", "total_max_attempts": 3}


def _read_timeout() -> int:
    from chalicelib.settings import get_settings

    return get_settings().aws_read_timeout_seconds


def _worst_case_seconds(config: Any) -> float:
    """Connect and read timeouts on every attempt (botocore's backoff adds at most ~3 s)."""
    attempts = int(config.retries["total_max_attempts"])
    return float(attempts * (config.connect_timeout + config.read_timeout))


@pytest.mark.parametrize("service", ["sqs", "ses", "s3", "cognito-idp", "secretsmanager"])
def test_aws_clients_use_standard_retries_and_short_timeouts(aws: Any, service: str) -> None:
    from chalicelib.clients import client

    config = client(service).meta.config
    assert config.retries == STANDARD
    assert (config.connect_timeout, config.read_timeout) == (2, _read_timeout())


def test_pynamodb_models_and_transactions_use_the_same_settings(aws: Any) -> None:
    from chalicelib.store import base
    from chalicelib.store.registry import MODELS

    for model in MODELS:
        config = model._get_connection().connection.client.meta.config
        assert config.retries == STANDARD, model.__name__
        assert (config.connect_timeout, config.read_timeout) == (2, _read_timeout()), model
    config = base.connection().client.meta.config
    assert config.retries == STANDARD
    assert (config.connect_timeout, config.read_timeout) == (2, _read_timeout())


def test_a_deployed_stage_answers_inside_api_gateways_limit() -> None:
    """The deployed read timeout is the default (the template sets no other), and three attempts
    of it fit in API Gateway's 29 s. The test session waits longer for moto on purpose."""
    from botocore.config import Config

    from chalicelib.settings import Settings

    deployed = Settings(stage="prod")
    assert deployed.aws_read_timeout_seconds == 5
    config = Config(
        retries=STANDARD, connect_timeout=2, read_timeout=deployed.aws_read_timeout_seconds
    )
    assert _worst_case_seconds(config) + 3 < API_GATEWAY_SECONDS


def test_jwks_fetch_gives_up_after_a_few_seconds(aws: Any) -> None:
    from chalicelib.auth import tokens

    assert tokens._jwks_client().timeout == tokens.JWKS_TIMEOUT_SECONDS
    assert 0 < tokens.JWKS_TIMEOUT_SECONDS <= 5


class _Failing(BaseHTTPRequestHandler):
    """Answers every request with a retryable 500, counting them."""

    calls = 0

    def do_POST(self) -> None:
        type(self).calls += 1
        self.rfile.read(int(self.headers.get("content-length") or 0))
        body = json.dumps({"__type": "InternalFailure", "message": "down"}).encode()
        self.send_response(500)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: Any) -> None:
        pass


@pytest.fixture
def failing_endpoint() -> Iterator[str]:
    _Failing.calls = 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Failing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_failing_service_is_tried_three_times_then_the_error_surfaces(
    failing_endpoint: str,
) -> None:
    """The configuration as botocore applies it: a 500 is retried, three attempts in all."""
    import boto3
    from botocore.exceptions import ClientError

    from chalicelib.clients import config

    dynamodb = boto3.session.Session().client(
        "dynamodb", region_name="us-east-1", endpoint_url=failing_endpoint, config=config()
    )
    with pytest.raises(ClientError) as raised:
        dynamodb.describe_table(TableName="anything")
    assert raised.value.response["Error"]["Code"] == "InternalFailure"
    assert _Failing.calls == 3
