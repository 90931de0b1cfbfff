"""The signing secret is read from (moto's) Secrets Manager, as on AWS, and signs with it."""

from __future__ import annotations

import os
import secrets
from typing import Any

import boto3
import pytest

from chalicelib import settings as settings_module
from chalicelib.settings import DEV_SIGNING_SECRET, load_settings


def test_the_stack_reads_its_signing_secret_from_secrets_manager(aws: dict[str, str]) -> None:
    arn = aws["PULSE_SIGNING_SECRET_ARN"]
    stored = boto3.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"]
    from chalicelib.settings import get_settings

    assert get_settings().signing_secret_arn == arn
    assert get_settings().signing_secret == stored != DEV_SIGNING_SECRET


def test_a_deployed_stage_reads_a_fresh_secret_once(aws: dict[str, Any]) -> None:
    value = secrets.token_urlsafe(48)
    name = f"pulse-test/signing-secret-{secrets.token_hex(4)}"
    arn = boto3.client("secretsmanager").create_secret(Name=name, SecretString=value)["ARN"]
    prod = load_settings({**os.environ, "PULSE_STAGE": "prod", "PULSE_SIGNING_SECRET_ARN": arn})
    assert prod.signing_secret == value
    # Cached for the process: a second use makes no second call.
    before = settings_module._read_secret.cache_info().hits
    assert prod.signing_secret == value
    assert settings_module._read_secret.cache_info().hits == before + 1


def test_a_deployed_stage_refuses_the_development_value_from_the_store(
    aws: dict[str, Any],
) -> None:
    name = f"pulse-test/signing-secret-{secrets.token_hex(4)}"
    arn = boto3.client("secretsmanager").create_secret(Name=name, SecretString=DEV_SIGNING_SECRET)[
        "ARN"
    ]
    prod = load_settings({**os.environ, "PULSE_STAGE": "prod", "PULSE_SIGNING_SECRET_ARN": arn})
    with pytest.raises(RuntimeError, match="development value"):
        _ = prod.signing_secret
