"""A tenant's settings: one validated document with a default for every field.

Stored as JSON on the tenant item; read through ``effective(raw)`` so that a field added later
has its default for tenants that never set it.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from chalicelib.domain import success_score
from chalicelib.domain.entities import DEFAULT_STAGES
from chalicelib.domain.scoring import DEFAULT_PULSE_INDEX_QUESTIONS
from chalicelib.domain.success_score import DEFAULT_PARAMS, ScoreParams
from chalicelib.domain.text import single_line

NOTIFICATION_KINDS = (
    "opened",
    "scored",
    "commented",
    "follow_up",
    "pulse_alert",
    "stale_digest",
    "heartbeat_approval",
)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class AlertDefaults(Strict):
    """What a new user's alert preferences start as; each user then edits their own."""

    alert_threshold_level: int = Field(default=3, ge=1, le=6)
    stale_days: int = Field(default=21, ge=1, le=365)
    email: dict[str, bool] = Field(default_factory=lambda: dict.fromkeys(NOTIFICATION_KINDS, True))
    in_app: dict[str, bool] = Field(default_factory=lambda: dict.fromkeys(NOTIFICATION_KINDS, True))

    @field_validator("email", "in_app")
    @classmethod
    def _known_kinds(cls, value: dict[str, bool]) -> dict[str, bool]:
        unknown = sorted(set(value) - set(NOTIFICATION_KINDS))
        if unknown:
            raise ValueError(f"unknown kinds: {', '.join(unknown)}")
        return {**dict.fromkeys(NOTIFICATION_KINDS, True), **value}


class SmtpServer(Strict):
    """The tenant's own SMTP server, as a client writes it (``password`` is taken out first)."""

    host: str = Field(min_length=1, max_length=253)
    port: int = Field(default=587, ge=1, le=65535)
    username: str = Field(default="", max_length=256)
    starttls: bool = True


class Smtp(SmtpServer):
    """The stored form. The password is write-only: it goes to Secrets Manager under a name
    derived from the tenant id alone, and only ``password_set`` is kept here. No client names
    the secret, so one tenant cannot make its mail log in with another tenant's password."""

    password_set: bool = False


class PulseIndexQuestion(Strict):
    id: str = Field(min_length=1, max_length=40, pattern=r"^[a-z0-9_]+$")
    text: str = Field(min_length=1, max_length=120)


def _default_questions() -> list[PulseIndexQuestion]:
    return [PulseIndexQuestion(id=q.id, text=q.text) for q in DEFAULT_PULSE_INDEX_QUESTIONS]


class TenantSettings(Strict):
    scoring_required: bool = True
    reminder_days: list[int] = Field(default_factory=lambda: [7, 14], max_length=2)
    email_from: str | None = Field(default=None, max_length=254)
    # The From display name of survey mail: one line (domain/text.py).
    email_from_name: Annotated[str, AfterValidator(single_line)] | None = Field(
        default=None, max_length=100
    )
    smtp: Smtp | None = None
    alert_defaults: AlertDefaults = Field(default_factory=AlertDefaults)
    success_score: dict[str, Any] = Field(default_factory=dict)
    heartbeat_interval_days: int = Field(default=90, ge=30, le=365)
    stages: list[str] = Field(
        default_factory=lambda: list(DEFAULT_STAGES), min_length=1, max_length=12
    )
    pulse_index_questions: list[PulseIndexQuestion] = Field(
        default_factory=_default_questions, min_length=1, max_length=10
    )

    @field_validator("reminder_days")
    @classmethod
    def _reminders(cls, value: list[int]) -> list[int]:
        if any(day < 1 or day > 27 for day in value):
            raise ValueError("each reminder is 1-27 days after sending (the window is 28)")
        if value != sorted(set(value)):
            raise ValueError("ascending, without repeats")
        return value

    @field_validator("stages")
    @classmethod
    def _stages(cls, value: list[str]) -> list[str]:
        cleaned = [s.strip().lower() for s in value]
        if any(not s or len(s) > 40 for s in cleaned) or len(set(cleaned)) != len(cleaned):
            raise ValueError("1-40 characters each, without repeats")
        return cleaned

    @field_validator("success_score")
    @classmethod
    def _score_params(cls, value: dict[str, Any]) -> dict[str, Any]:
        _, errors = success_score.params_from_dict(value)
        if errors:
            raise ValueError("; ".join(f"{k}: {v}" for k, v in sorted(errors.items())))
        return value

    @model_validator(mode="after")
    def _unique_questions(self) -> TenantSettings:
        ids = [q.id for q in self.pulse_index_questions]
        if len(set(ids)) != len(ids):
            raise ValueError("pulse_index_questions: ids must be unique")
        return self

    def score_params(self) -> ScoreParams:
        params, _ = success_score.params_from_dict(self.success_score)
        return params or DEFAULT_PARAMS


def effective(raw: dict[str, Any] | None) -> TenantSettings:
    """Stored settings over defaults. Stored values were validated on write; a value that no
    longer validates (a rule tightened since) falls back to its default instead of failing."""
    data = _without_secret_arn(dict(raw or {}))
    try:
        return TenantSettings.model_validate(data)
    except ValueError:
        settings = TenantSettings()
        for key, value in data.items():
            try:
                settings = TenantSettings.model_validate({**settings.model_dump(), key: value})
            except ValueError:
                continue
        return settings


def _without_secret_arn(data: dict[str, Any]) -> dict[str, Any]:
    """Documents written before the secret's name was derived carry ``smtp.secret_arn``; its
    value is never used again (it may name another tenant's secret), only that one was set."""
    smtp = data.get("smtp")
    if isinstance(smtp, dict) and "secret_arn" in smtp:
        smtp = dict(smtp)
        arn = smtp.pop("secret_arn")
        smtp.setdefault("password_set", bool(arn))
        data["smtp"] = smtp
    return data
