"""AWS clients, created lazily once per process from settings."""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config

from chalicelib.settings import get_settings


# Every AWS call fails fast enough for a request to answer inside API Gateway's 29 s: standard
# retry mode (backoff with jitter, a retry quota), 3 attempts in all, 2 s to connect, and the
# settings' read timeout (5 s when deployed).
def config() -> Config:
    return Config(
        retries={"mode": "standard", "total_max_attempts": 3},
        connect_timeout=2,
        read_timeout=get_settings().aws_read_timeout_seconds,
    )


@cache
def client(service: str) -> Any:
    settings = get_settings()
    return boto3.session.Session().client(
        service,
        region_name=settings.region,
        endpoint_url=settings.endpoint_url,
        config=config(),
    )
