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

# The signing secret's built-in value: only the local stack and the tests may run with it.
DEV_SIGNING_SECRET = "local-development-only-secret"  # noqa: S105 (the refused default)
DEV_STAGES = frozenset({"local", "test"})
MIN_SIGNING_SECRET_LENGTH = 32
# Mails per tenant and UTC day (client invitations and reminders, staff notifications). SES in
# production starts an account at 50,000 a day shared by every tenant: 10,000 lets a large
# tenant run a full heartbeat round in one day while a runaway one cannot use the whole account.
DEFAULT_TENANT_DAILY_SEND_QUOTA = 10_000
# Bulk sends (review send/resend, heartbeat approve and send-to-contact) per tenant and minute.
DEFAULT_TENANT_BULK_SENDS_PER_MINUTE = 10


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
    # Signs pagination cursors and survey-link hashes. Deployed stages read it from the Secrets
    # Manager secret named by ``signing_secret_arn``; the plain value serves local and test only.
    signing_secret_value: str = Field(default=DEV_SIGNING_SECRET, min_length=16)
    signing_secret_arn: str = ""
    tenant_daily_send_quota: int = Field(default=DEFAULT_TENANT_DAILY_SEND_QUOTA, ge=0)
    tenant_bulk_sends_per_minute: int = Field(default=DEFAULT_TENANT_BULK_SENDS_PER_MINUTE, ge=1)
    documents_bucket: str = ""
    max_body_bytes: int = MAX_BODY_BYTES
    # Seconds an AWS call may wait for an answer before botocore retries it. Deployed stages
    # keep the default, which keeps three attempts inside API Gateway's 29 s; the local stack
    # and the tests wait longer, since moto on a busy machine answers a large page slowly.
    aws_read_timeout_seconds: int = Field(default=5, ge=1, le=120)
    log_level: str = "INFO"

    @property
    def is_local(self) -> bool:
        return self.endpoint_url is not None

    @property
    def signing_secret(self) -> str:
        """The signing secret, read once per process (see :func:`signing_secret_of`)."""
        return signing_secret_of(self)

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
    "signing_secret_value": "PULSE_SIGNING_SECRET",
    "signing_secret_arn": "PULSE_SIGNING_SECRET_ARN",
    "tenant_daily_send_quota": "PULSE_TENANT_DAILY_SEND_QUOTA",
    "tenant_bulk_sends_per_minute": "PULSE_TENANT_BULK_SENDS_PER_MINUTE",
    "documents_bucket": "PULSE_DOCUMENTS_BUCKET",
    "max_body_bytes": "PULSE_MAX_BODY_BYTES",
    "aws_read_timeout_seconds": "PULSE_AWS_READ_TIMEOUT_SECONDS",
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


@lru_cache(maxsize=4)
def _read_secret(secret_id: str, region: str, endpoint_url: str | None) -> str:
    """One Secrets Manager read per process and secret (at cold start, on first use)."""
    import boto3

    from chalicelib.clients import config

    answer = (
        boto3.session.Session()
        .client("secretsmanager", region_name=region, endpoint_url=endpoint_url, config=config())
        .get_secret_value(SecretId=secret_id)
    )
    return str(answer.get("SecretString") or "")


def signing_secret_of(settings: Settings) -> str:
    """The secret that signs cursors and survey links.

    With ``PULSE_SIGNING_SECRET_ARN`` set it is read from Secrets Manager (moto's, locally) and
    cached for the life of the process. Outside the ``local`` and ``test`` stages nothing else is
    accepted: a missing secret, the built-in development value or a short one stops the
    function with a RuntimeError before anything is signed with it.
    """
    if settings.signing_secret_arn:
        value = _read_secret(settings.signing_secret_arn, settings.region, settings.endpoint_url)
    elif settings.stage in DEV_STAGES:
        return settings.signing_secret_value
    else:
        raise RuntimeError(
            f"PULSE_SIGNING_SECRET_ARN is not set: stage {settings.stage!r} reads its signing "
            "secret from Secrets Manager"
        )
    if settings.stage not in DEV_STAGES and (
        value == DEV_SIGNING_SECRET or len(value) < MIN_SIGNING_SECRET_LENGTH
    ):
        raise RuntimeError(
            f"the signing secret of stage {settings.stage!r} is the development value or shorter "
            f"than {MIN_SIGNING_SECRET_LENGTH} characters: set a random one in Secrets Manager"
        )
    if not value:
        raise RuntimeError("the signing secret in Secrets Manager is empty")
    return value
