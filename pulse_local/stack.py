"""The whole AWS side of Pulse on one machine: moto's server, provisioned from the same
definitions the deployment uses (table models, queue list, pool settings)."""

from __future__ import annotations

import logging
import os
import secrets
import socket
from typing import Any

import boto3

DEMO_REGION = "us-east-1"
POOL_NAME = "pulse-users"
ROLE_GROUPS = ("admin", "senior_manager", "account_manager")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def base_environment(endpoint: str, prefix: str, stage: str = "local") -> dict[str, str]:
    """Variables the app reads, set before any chalicelib import."""
    return {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",  # moto accepts any credentials
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": DEMO_REGION,
        "AWS_REGION": DEMO_REGION,
        "AWS_ENDPOINT_URL": endpoint,
        "PULSE_STAGE": stage,
        "PULSE_RESOURCE_PREFIX": prefix,
        "PULSE_MAIL_FROM": "pulse@pulse.example",
        "POWERTOOLS_METRICS_NAMESPACE": "Pulse",
        "POWERTOOLS_SERVICE_NAME": "pulse",
        "MOTO_COGNITO_IDP_USER_POOL_ID_STRATEGY": "HASH",
        # moto on a busy machine can take longer than DynamoDB's 5 s to answer a 1 MB page; a
        # timed-out, retried request would also add to the request counts tests assert.
        "PULSE_AWS_READ_TIMEOUT_SECONDS": "60",
    }


def start_moto(port: int) -> Any:
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    return server


def _client(service: str, endpoint: str) -> Any:
    return boto3.client(service, region_name=DEMO_REGION, endpoint_url=endpoint)


def provision_cognito(endpoint: str, prefix: str) -> dict[str, str]:
    idp = _client("cognito-idp", endpoint)
    pool = idp.create_user_pool(
        PoolName=f"{prefix}-{POOL_NAME}",
        UsernameAttributes=["email"],
        AutoVerifiedAttributes=["email"],
        Policies={
            "PasswordPolicy": {
                "MinimumLength": 8,
                "RequireUppercase": False,
                "RequireLowercase": False,
                "RequireNumbers": False,
                "RequireSymbols": False,
            }
        },
        Schema=[
            {
                "Name": "tenant_id",
                "AttributeDataType": "String",
                "Mutable": False,
                "StringAttributeConstraints": {"MinLength": "1", "MaxLength": "64"},
            }
        ],
    )["UserPool"]
    client_id = idp.create_user_pool_client(
        UserPoolId=pool["Id"],
        ClientName="pulse-api",
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        ReadAttributes=["email", "custom:tenant_id"],
        WriteAttributes=["email"],
    )["UserPoolClient"]["ClientId"]
    for group in ROLE_GROUPS:
        idp.create_group(GroupName=group, UserPoolId=pool["Id"])
    return {"PULSE_USER_POOL_ID": pool["Id"], "PULSE_USER_POOL_CLIENT_ID": client_id}


def provision_rest(endpoint: str) -> None:
    """Tables, queues, bucket and the verified sender, from the app's own definitions."""
    from chalicelib.queues import ASYNC_FAILURES, QUEUES, queue_name
    from chalicelib.settings import get_settings
    from chalicelib.store.registry import MODELS

    settings = get_settings()
    for model in MODELS:
        if not model.exists():
            model.create_table(wait=False)
    sqs = _client("sqs", endpoint)
    for short, visibility in QUEUES.items():
        dlq = sqs.create_queue(QueueName=queue_name(short) + "-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        sqs.create_queue(
            QueueName=queue_name(short),
            Attributes={
                "VisibilityTimeout": str(visibility),
                "RedrivePolicy": f'{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":"5"}}',
            },
        )
    sqs.create_queue(QueueName=queue_name(ASYNC_FAILURES))
    _client("s3", endpoint).create_bucket(Bucket=settings.bucket_name)
    ses = _client("ses", endpoint)
    ses.verify_email_identity(EmailAddress=settings.mail_from)
    ses.verify_domain_identity(Domain=settings.mail_from.split("@", 1)[1])


def provision_signing_secret(endpoint: str, prefix: str) -> dict[str, str]:
    """The signing secret in moto's Secrets Manager, named as the template names it; the app
    reads it from there exactly as on AWS."""
    sm = _client("secretsmanager", endpoint)
    name = f"{prefix}/signing-secret"
    try:
        arn = sm.create_secret(Name=name, SecretString=secrets.token_urlsafe(48))["ARN"]
    except sm.exceptions.ResourceExistsException:
        arn = sm.describe_secret(SecretId=name)["ARN"]
    return {"PULSE_SIGNING_SECRET_ARN": str(arn)}


def provision(endpoint: str, prefix: str, stage: str = "local") -> dict[str, str]:
    """Create every resource; returns (and exports) the environment the app needs."""
    env = base_environment(endpoint, prefix, stage)
    os.environ.update(env)
    env.update(provision_cognito(endpoint, prefix))
    env.update(provision_signing_secret(endpoint, prefix))
    os.environ.update(env)
    from chalicelib.settings import get_settings

    get_settings.cache_clear()
    provision_rest(endpoint)
    return env
