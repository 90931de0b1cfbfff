"""The signing secret: deployed stages take it from Secrets Manager only and refuse to run with
the built-in development value, a short value or none at all."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib import settings as settings_module
from chalicelib.settings import DEV_SIGNING_SECRET, load_settings

ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:pulse-prod/signing-secret-AbCdEf"


@pytest.fixture
def stored(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A stand-in for Secrets Manager's answer (moto's real one is in the functional test)."""
    values: dict[str, str] = {}

    def read(secret_id: str, region: str, endpoint_url: str | None) -> str:
        return values[secret_id]

    monkeypatch.setattr(settings_module, "_read_secret", read)
    return values


def test_prod_refuses_to_run_without_the_secret_arn() -> None:
    prod = load_settings({"PULSE_STAGE": "prod"})
    with pytest.raises(RuntimeError, match="PULSE_SIGNING_SECRET_ARN"):
        _ = prod.signing_secret


def test_prod_ignores_a_plain_secret_in_the_environment() -> None:
    prod = load_settings({"PULSE_STAGE": "prod", "PULSE_SIGNING_SECRET": "x" * 64})
    with pytest.raises(RuntimeError, match="PULSE_SIGNING_SECRET_ARN"):
        _ = prod.signing_secret


@pytest.mark.parametrize("value", [DEV_SIGNING_SECRET, "short-but-random-17", ""])
def test_prod_refuses_the_development_value_or_a_weak_one(
    stored: dict[str, str], value: str
) -> None:
    stored[ARN] = value
    prod = load_settings({"PULSE_STAGE": "prod", "PULSE_SIGNING_SECRET_ARN": ARN})
    with pytest.raises(RuntimeError, match="signing secret"):
        _ = prod.signing_secret


def test_prod_uses_the_value_from_secrets_manager(stored: dict[str, str]) -> None:
    stored[ARN] = "k" * 64
    prod = load_settings({"PULSE_STAGE": "prod", "PULSE_SIGNING_SECRET_ARN": ARN})
    assert prod.signing_secret == "k" * 64


@pytest.mark.parametrize("stage", ["local", "test"])
def test_local_and_test_may_use_the_development_value(stage: str) -> None:
    assert load_settings({"PULSE_STAGE": stage}).signing_secret == DEV_SIGNING_SECRET


def test_every_deployed_stage_is_checked(stored: dict[str, Any]) -> None:
    stored[ARN] = DEV_SIGNING_SECRET
    for stage in ("dev", "staging", "bench"):
        with pytest.raises(RuntimeError):
            _ = load_settings(
                {"PULSE_STAGE": stage, "PULSE_SIGNING_SECRET_ARN": ARN}
            ).signing_secret
