"""Deployment settings, read once from the environment, typed and validated.

Table, queue and bucket names are derived from the stage so that a deployed stage, the local
stack and the tests differ only in environment variables, never in code.
"""

from __future__ import annotations

import os
from functools import lru_cache

from pydantic import BaseModel, Field, ValidationError

# Sizes the API Gateway / Lambda would enforce on AWS; chalice local enforces none, so we do.
MAX_BODY_BYTES = 256 * 1024


class Settings(BaseModel):
    stage: str = Field(default="dev", pattern=r"^[a-z][a-z0-9-]{0,20}$")
    region: str = "us-east-1"
    resource_prefix: str = Field(default="pulse-dev", pattern=r"^[A-Za-z0-9-]{1,40}$")
    # Only set locally and in tests: every AWS client and PynamoDB model talks to this endpoint.
    endpoint_url: str | None = None
    user_pool_id: str = ""
    user_pool_client_id: str = ""
    mail_from: str = "pulse@example.com"
    # SES configuration set whose bounce/complaint events reach SNS (infra creates it).
    ses_configuration_set: str = ""
    public_url: str = "http://127.0.0.1:8000"
    signup_enabled: bool = True
    # Signs pagination cursors and survey-link hashes; in AWS it comes from Secrets Manager.
    signing_secret: str = Field(default="local-development-only-secret", min_length=16)
    documents_bucket: str = ""
    max_body_bytes: int = MAX_BODY_BYTES
    log_level: str = "INFO"

    @property
    def is_local(self) -> bool:
        return self.endpoint_url is not None

    def table_name(self, short: str) -> str:
        return f"{self.resource_prefix}-{short}"

    def queue_name(self, short: str) -> str:
        return f"{self.resource_prefix}-{short}"

    @property
    def bucket_name(self) -> str:
        return self.documents_bucket or f"{self.resource_prefix}-documents"

    @property
    def cognito_issuer(self) -> str:
        return f"https://cognito-idp.{self.region}.amazonaws.com/{self.user_pool_id}"

    @property
    def jwks_url(self) -> str:
        # moto serves the pool's keys on its own endpoint; AWS serves them under the issuer.
        if self.endpoint_url:
            return f"{self.endpoint_url.rstrip('/')}/{self.user_pool_id}/.well-known/jwks.json"
        return f"{self.cognito_issuer}/.well-known/jwks.json"


_ENV = {
    "stage": "PULSE_STAGE",
    "resource_prefix": "PULSE_RESOURCE_PREFIX",
    "endpoint_url": "AWS_ENDPOINT_URL",
    "user_pool_id": "PULSE_USER_POOL_ID",
    "user_pool_client_id": "PULSE_USER_POOL_CLIENT_ID",
    "mail_from": "PULSE_MAIL_FROM",
    "ses_configuration_set": "PULSE_SES_CONFIGURATION_SET",
    "public_url": "PULSE_PUBLIC_URL",
    "signup_enabled": "PULSE_SIGNUP_ENABLED",
    "signing_secret": "PULSE_SIGNING_SECRET",
    "documents_bucket": "PULSE_DOCUMENTS_BUCKET",
    "max_body_bytes": "PULSE_MAX_BODY_BYTES",
    "log_level": "POWERTOOLS_LOG_LEVEL",
}


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    values: dict[str, object] = {k: env[v] for k, v in _ENV.items() if env.get(v)}
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
    if region:
        values["region"] = region
    if "resource_prefix" not in values:
        values["resource_prefix"] = f"pulse-{values.get('stage', 'dev')}"
    try:
        return Settings.model_validate(values)
    except ValidationError as exc:
        # Fail at first use with the variable names an operator can fix.
        problems = ", ".join(
            f"{_ENV.get(str(e['loc'][0]), e['loc'][0])}: {e['msg']}" for e in exc.errors()
        )
        raise RuntimeError(f"invalid Pulse settings: {problems}") from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
