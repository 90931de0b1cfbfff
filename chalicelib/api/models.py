"""Response models: what each operation answers, as ``/openapi.json`` documents it.

They describe the bodies the views build (``to_api()`` of the domain and store dataclasses):
a field that is always present is required, one that can be null says so. They are not used to
serialise anything; the response-conformance check of the fuzz test holds the views to them.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

T = TypeVar("T")


class Reply(BaseModel):
    """Base for response models: fields added later do not break a client that validates."""

    model_config = ConfigDict(extra="allow")


class Page(Reply, Generic[T]):
    items: list[T]
    next_cursor: str | None


class Status(Reply):
    status: str


# ------------------------------------------------------------------------- users and tenants


class User(Reply):
    id: str
    email: str
    name: str
    role: str
    manager_id: str | None
    active: bool
    created_at: str
    preferences: dict[str, Any]


class Tenant(Reply):
    id: str
    name: str
    industry: str
    country: str
    region: str
    city: str
    staff_size: int
    created_at: str


class Me(Reply):
    user: User
    tenant: Tenant
    role: str


class SignedUp(Reply):
    tenant_id: str
    user_id: str


class Tokens(Reply):
    """Cognito tokens; ``refresh_token`` is absent on a refresh."""

    id_token: str
    access_token: str
    expires_in: int
    refresh_token: str | None = None


# ------------------------------------------------------------------------ accounts, contacts


class Account(Reply):
    id: str
    name: str
    owner_id: str
    arr: int
    currency: str
    renewal_date: str | None
    stage: str
    created_at: str
    pulse_level: int | None
    pulse_set_at: str | None
    success_score: float | None
    risk_factors: list[str]
    success_factors: list[str]


class Contact(Reply):
    id: str
    account_id: str
    name: str
    email: str
    title: str
    unsubscribed: bool
    suppressed: bool
    created_at: str


# ---------------------------------------------------------------------------------- reviews


class Action(Reply):
    id: str
    account_id: str
    review_id: str
    title: str
    owner_id: str | None
    due_date: str | None
    status: str
    created_by: str
    created_at: str
    completed_by: str | None
    completed_at: str | None


class Document(Reply):
    status: str


class Review(Reply):
    id: str
    account_id: str
    title: str
    review_date: str
    intro_message: str
    video_url: str | None
    sections: list[dict[str, Any]]
    documents: list[Document]
    recipient_ids: list[str]
    scoring_required: bool
    status: str
    created_by: str
    created_at: str
    updated_at: str
    sent_at: str | None
    questions: list[dict[str, Any]] | None
    tree_planted: bool


class ReviewWithActions(Review):
    actions: list[Action]


class ConfirmedDocument(Reply):
    document: Document


class Sent(Reply):
    review_id: str
    status: str
    queued: int
    skipped_contact_ids: list[str]


class Comment(Reply):
    id: str
    account_id: str
    survey_kind: str
    survey_id: str
    survey_title: str
    contact_id: str
    contact_name: str
    contact_email: str
    text: str
    created_at: str
    updated_at: str
    notes: list[dict[str, Any]]
    completed: bool
    completed_by: str | None
    completed_at: str | None
    review_id: str | None = None


class FollowUp(Reply):
    id: str
    account_id: str
    status: str
    survey_kind: str
    survey_id: str
    survey_title: str
    contact_id: str
    contact_name: str
    contact_email: str
    requested_at: str
    acknowledged_by: str | None
    acknowledged_at: str | None
    review_id: str | None = None


# ------------------------------------------------------------------- pulses and reason codes


class ReasonCode(Reply):
    id: str
    tab: str
    category: str
    name: str
    type: str
    active: bool
    position: int
    use_count: int
    last_used_at: str | None
    created_at: str


# ---------------------------------------------------------------------------------- settings


class Settings(Reply):
    """The tenant settings document (the SMTP password never included) and the SuccessScore
    parameters in force."""

    scoring_required: bool
    reminder_days: list[int]
    email_from: str | None
    email_from_name: str | None
    smtp: dict[str, Any] | None
    alert_defaults: dict[str, Any]
    success_score: dict[str, Any]
    heartbeat_interval_days: int
    stages: list[str]
    pulse_index_questions: list[dict[str, Any]]
    success_score_effective: dict[str, Any]


# ------------------------------------------------------------------------------- segments


class Segment(Reply):
    id: str
    name: str
    filter: dict[str, Any]
    created_by: str
    created_at: str


# ---------------------------------------------------------------------------- notifications


class Notification(Reply):
    id: str
    kind: str
    title: str
    body: str
    link: str | None
    account_id: str | None
    created_at: str
    read: bool


class Read(Reply):
    id: str
    read: bool


class Factor(Reply):
    """A pulse's reason code; the name, category and type are null for an unknown id."""

    id: str
    name: str | None
    category: str | None
    type: str | None
    active: bool


class PulseScore(Reply):
    before: float | None
    after: float | None
    display_before: float | int | None
    display_after: float | int | None


class Pulse(Reply):
    id: str
    account_id: str
    level: int
    level_slug: str
    level_label: str
    previous_level: int | None
    previous_level_label: str | None
    risk_factors: list[Factor]
    success_factors: list[Factor]
    note: str
    next_steps: str
    set_by: str
    set_at: str
    same: bool
    success_score: PulseScore


class Level(Reply):
    value: int
    slug: str
    label: str


class PulseScale(Reply):
    items: list[Level]


class SuccessScore(Reply):
    """Today's score; level, label and target are null until the account's first pulse."""

    account_id: str
    date: str
    score: float
    display_score: float | int
    level: int | None
    level_label: str | None
    target: float | int | None
    days_at_level: int
    direction: str
    explanation: dict[str, Any]
    history: list[dict[str, Any]]
    recorded: list[dict[str, Any]]


class Health(Reply):
    status: str


class OpenApiDocument(Reply):
    openapi: str
    info: dict[str, Any]
    paths: dict[str, Any]
    components: dict[str, Any]


class Trees(Reply):
    trees: Any


class SenderIdentity(Reply):
    """``email`` or ``domain`` as ``kind`` says, with the live verification status."""

    id: str
    kind: str
    status: str
    verified: bool
    created_at: str


# ---------------------------------------------------------------------------------- reviews+


class NewDocument(Reply):
    """A pending document and the presigned S3 POST that uploads it."""

    document: dict[str, Any]
    upload: dict[str, Any]
    expires_in: int


class RecipientAnalytics(Reply):
    contact_id: str
    name: str
    email: str
    unsubscribed: bool
    suppressed: bool
    delivery: str
    first_sent_at: str | None
    sent_at: str | None
    window_closes_at: str | None
    opened_at: str | None
    responded_at: str | None
    scored_at: str | None
    reminders_sent: int
    follow_up: bool
    response: Any


class ReviewAnalytics(Reply):
    review_id: str
    status: str
    sent_at: str | None
    tree_planted: bool
    recipients: list[RecipientAnalytics]
    totals: dict[str, Any]


# ---------------------------------------------------------------------------------- reports
# Reports state their top-level shape; their rows and buckets are objects whose columns the CSV
# twin of each report names.


class WorkspaceReport(Reply):
    items: list[dict[str, Any]]
    totals: dict[str, Any]


class PulseSummaryReport(Reply):
    total_accounts: int
    levels: list[dict[str, Any]]


class RecentChangesReport(Reply):
    days: int
    since: str
    total_accounts: int
    levels: list[dict[str, Any]]


class FactorReport(Reply):
    kind: str
    levels: list[int]
    factors: list[str]
    total_accounts: int
    accounts_affected: int
    share_affected: float | int | None
    revenue_affected: Any
    categories: list[dict[str, Any]]


class SuccessCycleReport(Reply):
    total_accounts: int
    levels: list[dict[str, Any]]
    stages: list[dict[str, Any]]
    totals: dict[str, Any]


class RenewalHealthReport(Reply):
    today: str
    within_days: int | None
    total: int
    past_renewal: int
    revenue_past_renewal: Any
    items: list[dict[str, Any]]


class DashboardPulse(Reply):
    level: int | None
    label: str | None
    slug: str | None
    set_at: str | None
    days_since: int | None
    risk_factors: list[str]
    success_factors: list[str]


class Dashboard(Reply):
    account: Account
    period: dict[str, Any]
    nps: dict[str, Any]
    pulse_index: dict[str, Any]
    reviews: list[dict[str, Any]]
    comments: list[dict[str, Any]]
    tasks: dict[str, Any]
    pulse: DashboardPulse
    success_score: float | None
    truncated: bool


# -------------------------------------------------------------------------------- heartbeat


class Question(Reply):
    """A heartbeat question; a scale has ``scale`` (min, max), a choice has ``options``."""

    id: str
    text: str
    kind: str
    fixed: bool
    custom: bool
    scale: dict[str, Any] | None = None
    options: list[dict[str, Any]] | None = None


class LibraryQuestion(Question):
    rank: int
    tenants_using: int
    chosen: bool


class QuestionLibrary(Reply):
    items: list[LibraryQuestion]
    next_cursor: str | None
    fixed: list[Question]


class HeartbeatConfig(Reply):
    questions: list[Question]
    question_ids: list[str]
    custom: dict[str, Any] | None
    interval_days: int
    last_sent_on: str | None
    pending_heartbeat_id: str | None
    updated_at: str | None


class Round(Reply):
    id: str
    status: str
    due_on: str
    period: str | None
    questions: list[dict[str, Any]]
    prepared_at: str
    approved_at: str | None
    approved_by: str | None
    sent_at: str | None
    closes_at: str | None
    closed_at: str | None
    invited: int
    responded: int


class HeartbeatSent(Reply):
    heartbeat_id: str
    contact_id: str
    status: str


class Benchmarks(Reply):
    period: str | None
    computed_on: str | None
    questions: list[dict[str, Any]]
    awards: list[Any]
    message: str | None
