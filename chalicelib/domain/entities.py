"""The foundation's entities as plain data: what the store returns and the API shapes."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

ROLES = ("admin", "senior_manager", "account_manager")
DEFAULT_STAGES = ("onboarding", "adoption", "value", "renewal", "expansion")


@dataclass
class Tenant:
    tenant_id: str
    name: str
    industry: str
    country: str
    region: str
    city: str
    staff_size: int
    created_at: str
    settings: dict[str, Any] = field(default_factory=dict)

    def to_api(self) -> dict[str, Any]:
        data = asdict(self)
        data["id"] = data.pop("tenant_id")
        return data


@dataclass
class User:
    tenant_id: str
    user_id: str
    email: str
    name: str
    role: str
    manager_id: str | None
    active: bool
    created_at: str
    preferences: dict[str, Any] = field(default_factory=dict)

    def to_api(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("tenant_id")
        data["id"] = data.pop("user_id")
        return data


@dataclass
class Account:
    tenant_id: str
    account_id: str
    name: str
    owner_id: str
    arr: int
    currency: str
    renewal_date: str | None
    stage: str
    created_at: str
    pulse_level: int | None = None
    pulse_set_at: str | None = None
    success_score: float | None = None
    # The current pulse's ordered factor ids, and the SuccessScore state (internal, not shown).
    risk_factors: list[str] = field(default_factory=list)
    success_factors: list[str] = field(default_factory=list)
    score_state: dict[str, Any] | None = field(default=None, repr=False)

    def to_api(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("tenant_id")
        data.pop("score_state")
        data["id"] = data.pop("account_id")
        data["success_score"] = None if self.success_score is None else round(self.success_score, 1)
        return data


@dataclass
class Contact:
    tenant_id: str
    contact_id: str
    account_id: str
    name: str
    email: str
    title: str
    unsubscribed: bool
    suppressed: bool
    created_at: str
    # Raised with every change of address: links mailed before carry an older number and no
    # longer open (``chalicelib/services/surveys.py`` ``lookup``).
    links_version: int = 0

    def to_api(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("tenant_id")
        data.pop("links_version")
        data["id"] = data.pop("contact_id")
        return data
