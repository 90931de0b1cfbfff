"""Reading and changing a tenant's settings."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError
from pydantic import ValidationError

from chalicelib.clients import client
from chalicelib.domain.tenant_settings import SmtpServer, TenantSettings, effective
from chalicelib.errors import ValidationFailed
from chalicelib.services import sender_identities
from chalicelib.settings import get_settings
from chalicelib.store import tenants as store


def tenant_settings(tenant_id: str) -> TenantSettings:
    return effective(store.get_tenant(tenant_id).settings)


def _field_errors(exc: ValidationError, prefix: str = "") -> dict[str, str]:
    fields: dict[str, str] = {}
    for error in exc.errors():
        name = prefix + ".".join(str(p) for p in error["loc"]) or "settings"
        message = str(error["msg"]).removeprefix("Value error, ")
        fields[name] = "unknown field" if error["type"] == "extra_forbidden" else message
    return fields


def smtp_secret_name(tenant_id: str) -> str:
    """Where a tenant's SMTP password lives: derived from the verified tenant id alone."""
    return f"{get_settings().resource_prefix}/tenants/{tenant_id}/smtp"


def _store_smtp_password(tenant_id: str, password: str) -> None:
    name = smtp_secret_name(tenant_id)
    secrets = client("secretsmanager")
    value = json.dumps({"password": password})
    try:
        secrets.put_secret_value(SecretId=name, SecretString=value)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
            raise
        secrets.create_secret(Name=name, SecretString=value)


def smtp_password(tenant_id: str) -> str:
    """The tenant's own SMTP password; no stored or requested value can point elsewhere."""
    name = smtp_secret_name(tenant_id)
    value = client("secretsmanager").get_secret_value(SecretId=name)["SecretString"]
    return str(json.loads(value)["password"])


def _smtp_change(current: TenantSettings, smtp: Any) -> tuple[Any, str | None]:
    """The client's SMTP block checked on its own (``password_set`` is the server's to write,
    and there is no field naming a secret), and the new password if one was given."""
    if not isinstance(smtp, dict):
        return smtp, None
    smtp = dict(smtp)
    password = smtp.pop("password", None)
    if password is not None and (not isinstance(password, str) or not 1 <= len(password) <= 512):
        raise ValidationFailed({"smtp.password": "1-512 characters"})
    try:
        server = SmtpServer.model_validate(smtp)
    except ValidationError as exc:
        raise ValidationFailed(_field_errors(exc, prefix="smtp.")) from exc
    kept = current.smtp is not None and current.smtp.password_set
    return {**server.model_dump(), "password_set": password is not None or kept}, password


def update_settings(tenant_id: str, changes: dict[str, Any]) -> TenantSettings:
    """Apply a partial change; the whole document is validated before anything is written."""
    current = tenant_settings(tenant_id)
    smtp_password_value = None
    if "smtp" in changes:
        smtp, smtp_password_value = _smtp_change(current, changes["smtp"])
        changes = {**changes, "smtp": smtp}
    merged = {**current.model_dump(), **changes}
    try:
        updated = TenantSettings.model_validate(merged)
    except ValidationError as exc:
        raise ValidationFailed(_field_errors(exc)) from exc
    new_sender = updated.email_from and updated.email_from != current.email_from
    problem = new_sender and sender_identities.sender_problem(tenant_id, str(updated.email_from))
    if problem:
        raise ValidationFailed({"email_from": problem})
    if updated.smtp is not None and smtp_password_value is not None:
        _store_smtp_password(tenant_id, smtp_password_value)
    store.update_tenant_settings(tenant_id, updated.model_dump(mode="json"))
    return updated


def public_view(settings: TenantSettings) -> dict[str, Any]:
    data = settings.model_dump(mode="json")
    data["success_score_effective"] = settings.score_params().to_dict()
    return data
