"""Reading and changing a tenant's settings."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError
from pydantic import ValidationError

from chalicelib.clients import client
from chalicelib.domain.tenant_settings import TenantSettings, effective
from chalicelib.errors import ValidationFailed
from chalicelib.settings import get_settings
from chalicelib.store import tenants as store


def tenant_settings(tenant_id: str) -> TenantSettings:
    return effective(store.get_tenant(tenant_id).settings)


def _field_errors(exc: ValidationError) -> dict[str, str]:
    return {
        ".".join(str(p) for p in e["loc"]) or "settings": str(e["msg"]).removeprefix(
            "Value error, "
        )
        for e in exc.errors()
    }


def _sender_verified(address: str) -> bool:
    domain = address.split("@", 1)[-1]
    answer = client("ses").get_identity_verification_attributes(Identities=[address, domain])
    statuses = answer.get("VerificationAttributes", {})
    return any(
        statuses.get(i, {}).get("VerificationStatus") == "Success" for i in (address, domain)
    )


def _store_smtp_password(tenant_id: str, password: str) -> str:
    name = f"{get_settings().resource_prefix}/tenants/{tenant_id}/smtp"
    secrets = client("secretsmanager")
    value = json.dumps({"password": password})
    try:
        return str(secrets.put_secret_value(SecretId=name, SecretString=value)["ARN"])
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
            raise
        return str(secrets.create_secret(Name=name, SecretString=value)["ARN"])


def smtp_password(secret_arn: str) -> str:
    value = client("secretsmanager").get_secret_value(SecretId=secret_arn)["SecretString"]
    return str(json.loads(value)["password"])


def update_settings(tenant_id: str, changes: dict[str, Any]) -> TenantSettings:
    """Apply a partial change; the whole document is validated before anything is written."""
    current = tenant_settings(tenant_id)
    smtp_password_value = None
    if isinstance(changes.get("smtp"), dict) and "password" in changes["smtp"]:
        changes = {**changes, "smtp": dict(changes["smtp"])}
        smtp_password_value = changes["smtp"].pop("password")
        if not isinstance(smtp_password_value, str) or not 1 <= len(smtp_password_value) <= 512:
            raise ValidationFailed({"smtp.password": "1-512 characters"})
    merged = {**current.model_dump(), **changes}
    try:
        updated = TenantSettings.model_validate(merged)
    except ValidationError as exc:
        raise ValidationFailed(_field_errors(exc)) from exc
    new_sender = updated.email_from and updated.email_from != current.email_from
    if new_sender and not _sender_verified(str(updated.email_from)):
        raise ValidationFailed(
            {"email_from": "verify this address or its domain in SES before using it"}
        )
    if updated.smtp is not None and smtp_password_value is not None:
        updated.smtp.secret_arn = _store_smtp_password(tenant_id, smtp_password_value)
    elif updated.smtp is not None and current.smtp is not None and not updated.smtp.secret_arn:
        updated.smtp.secret_arn = current.smtp.secret_arn
    store.update_tenant_settings(tenant_id, updated.model_dump(mode="json"))
    return updated


def public_view(settings: TenantSettings) -> dict[str, Any]:
    data = settings.model_dump(mode="json")
    if data.get("smtp"):
        data["smtp"]["password_set"] = bool(data["smtp"].pop("secret_arn", None))
    data["success_score_effective"] = settings.score_params().to_dict()
    return data
