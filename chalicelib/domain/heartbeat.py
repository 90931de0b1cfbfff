"""Heartbeat survey: fixed questions, the shared library, configuration and answer checks."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

SCALE_MIN = 0
SCALE_MAX = 10
CHOSEN_QUESTIONS = 4  # the four changeable questions (seed 003)
MAX_CUSTOM_QUESTIONS = 1
CUSTOM_TEXT_MAX = 200
# Monthly at most: a shorter interval would overlap the 28-day window and its 7/14-day reminders,
# which the seed promises will never spam clients. Yearly at least, or benchmarks go stale.
INTERVAL_MIN_DAYS = 30
INTERVAL_MAX_DAYS = 365
DEFAULT_INTERVAL_DAYS = 90

COMPANY_PLACEHOLDER = "{company}"
Kind = Literal["scale", "choice"]


@dataclass(frozen=True)
class Option:
    id: str
    text: str


@dataclass(frozen=True)
class HeartbeatQuestion:
    id: str
    text: str
    kind: Kind = "scale"
    scale_min: int = SCALE_MIN
    scale_max: int = SCALE_MAX
    options: tuple[Option, ...] = ()
    fixed: bool = False
    custom: bool = False

    def render(self, company: str) -> HeartbeatQuestion:
        """Fill in the provider's name; plain replace, so braces in a name or text are harmless."""
        return HeartbeatQuestion(
            id=self.id,
            text=self.text.replace(COMPANY_PLACEHOLDER, company),
            kind=self.kind,
            scale_min=self.scale_min,
            scale_max=self.scale_max,
            options=tuple(
                Option(o.id, o.text.replace(COMPANY_PLACEHOLDER, company)) for o in self.options
            ),
            fixed=self.fixed,
            custom=self.custom,
        )


OVERALL_SATISFACTION = HeartbeatQuestion(
    id="overall_satisfaction",
    text="Overall satisfaction: how satisfied are you with {company}?",
    fixed=True,
)
CUSTOMER_SENTIMENT = HeartbeatQuestion(
    id="customer_sentiment",
    text="Customer sentiment",
    kind="choice",
    options=(
        Option("love", "I would go out of my way to recommend {company}"),
        Option("like", "I would recommend {company} if asked"),
        Option("not_satisfied", "I would not feel comfortable recommending {company}"),
    ),
    fixed=True,
)
FIXED_QUESTIONS: tuple[HeartbeatQuestion, ...] = (OVERALL_SATISFACTION, CUSTOMER_SENTIMENT)


def _lib(qid: str, text: str) -> HeartbeatQuestion:
    return HeartbeatQuestion(id=qid, text=text)


# Written for this project. Ids are stable forever: aggregates and benchmarks are keyed by them.
LIBRARY: tuple[HeartbeatQuestion, ...] = (
    _lib("responsiveness", "How quickly does {company} respond when you need something?"),
    _lib("communication", "How clear and timely is communication from {company}?"),
    _lib("expertise", "How would you rate the expertise of the {company} team?"),
    _lib("value_for_money", "How good is the value you get for what you pay {company}?"),
    _lib("quality_of_work", "How would you rate the quality of the work {company} delivers?"),
    _lib("reliability", "How reliably does {company} deliver what it promised?"),
    _lib("deadlines", "How well does {company} meet agreed deadlines?"),
    _lib("understanding_needs", "How well does {company} understand your business and goals?"),
    _lib("proactivity", "How proactive is {company} in suggesting improvements?"),
    _lib("problem_resolution", "When something goes wrong, how well does {company} fix it?"),
    _lib("ease_of_working", "How easy is it to work with {company}?"),
    _lib("account_management", "How would you rate your account manager at {company}?"),
    _lib("onboarding", "How smooth was getting started with {company}?"),
    _lib("reporting", "How useful are the reports and updates {company} gives you?"),
    _lib("innovation", "How well does {company} keep you up to date with new ideas?"),
    _lib("trust", "How much do you trust {company} with important work?"),
    _lib("billing_clarity", "How clear and accurate is the billing from {company}?"),
    _lib("results", "How much has {company} helped you reach your goals?"),
    _lib("professionalism", "How professional is the {company} team?"),
    _lib("likely_to_continue", "How likely are you to keep working with {company} next year?"),
)
LIBRARY_BY_ID: dict[str, HeartbeatQuestion] = {q.id: q for q in LIBRARY}
# What a new tenant starts with: broad questions that fit almost any service business.
DEFAULT_CHOSEN_IDS: tuple[str, ...] = (
    "responsiveness",
    "quality_of_work",
    "value_for_money",
    "communication",
)


@dataclass(frozen=True)
class FieldError:
    field: str
    code: str
    message: str


@dataclass(frozen=True)
class CustomQuestionInput:
    text: str
    scale_min: int = SCALE_MIN
    scale_max: int = SCALE_MAX


def custom_question_id(text: str) -> str:
    """Same wording (ignoring case and spacing) gives the same id across tenants.

    That is what lets a custom question become popular: when other tenants adopt the same question
    their answers share one id, so benchmarks can start once enough qualifying companies use it.
    """
    normal = re.sub(r"\s+", " ", text).strip().casefold()
    return "custom_" + hashlib.sha256(normal.encode("utf-8")).hexdigest()[:16]


def custom_question(spec: CustomQuestionInput) -> HeartbeatQuestion:
    return HeartbeatQuestion(
        id=custom_question_id(spec.text),
        text=spec.text.strip(),
        scale_min=spec.scale_min,
        scale_max=spec.scale_max,
        custom=True,
    )


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def validate_config(
    question_ids: Sequence[str],
    custom: CustomQuestionInput | Sequence[CustomQuestionInput] | None,
    interval_days: int,
    *,
    known_ids: Collection[str] | None = None,
) -> list[FieldError]:
    """Field errors for a tenant's heartbeat settings; empty when valid.

    `question_ids` are the chosen non-custom questions (library ids, or shared custom ids passed in
    `known_ids` once they have been adopted); `custom` is the tenant's own question, if any.
    Together they must make exactly four.
    """
    errors: list[FieldError] = []
    known = set(known_ids) if known_ids is not None else set(LIBRARY_BY_ID)
    customs: list[CustomQuestionInput]
    if custom is None:
        customs = []
    elif isinstance(custom, CustomQuestionInput):
        customs = [custom]
    else:
        customs = list(custom)

    seen: set[str] = set()
    for i, qid in enumerate(question_ids):
        name = f"question_ids[{i}]"
        if not isinstance(qid, str) or qid not in known:
            errors.append(FieldError(name, "unknown_question", f"unknown question {qid!r}"))
        elif qid in seen:
            errors.append(FieldError(name, "duplicate", f"question {qid!r} chosen twice"))
        elif qid in {q.id for q in FIXED_QUESTIONS}:
            errors.append(FieldError(name, "fixed_question", "fixed questions are always included"))
        seen.add(qid)

    if len(customs) > MAX_CUSTOM_QUESTIONS:
        errors.append(
            FieldError("custom", "too_many_custom", "at most one custom question is allowed")
        )
    for i, c in enumerate(customs):
        prefix = "custom" if len(customs) == 1 else f"custom[{i}]"
        text = c.text.strip() if isinstance(c.text, str) else ""
        if not text:
            errors.append(
                FieldError(f"{prefix}.text", "required", "custom question text is required")
            )
        elif len(text) > CUSTOM_TEXT_MAX:
            errors.append(
                FieldError(
                    f"{prefix}.text",
                    "too_long",
                    f"custom question text is at most {CUSTOM_TEXT_MAX} characters",
                )
            )
        elif custom_question_id(text) in seen:
            errors.append(FieldError(f"{prefix}.text", "duplicate", "question chosen twice"))
        else:
            seen.add(custom_question_id(text))
        # Every heartbeat question is 0-10 so answers are comparable and benchmarkable.
        if (c.scale_min, c.scale_max) != (SCALE_MIN, SCALE_MAX):
            errors.append(
                FieldError(
                    f"{prefix}.scale",
                    "invalid_scale",
                    f"custom questions use the {SCALE_MIN}-{SCALE_MAX} scale",
                )
            )

    total = len(question_ids) + len(customs)
    if total != CHOSEN_QUESTIONS:
        errors.append(
            FieldError(
                "question_ids",
                "wrong_count",
                f"choose exactly {CHOSEN_QUESTIONS} questions (got {total})",
            )
        )

    if not _is_int(interval_days):
        errors.append(
            FieldError("interval_days", "invalid_type", "interval_days must be an integer")
        )
    elif not INTERVAL_MIN_DAYS <= interval_days <= INTERVAL_MAX_DAYS:
        errors.append(
            FieldError(
                "interval_days",
                "out_of_range",
                f"interval must be {INTERVAL_MIN_DAYS}-{INTERVAL_MAX_DAYS} days",
            )
        )
    return errors


def survey_questions(
    chosen: Sequence[HeartbeatQuestion], company: str
) -> tuple[HeartbeatQuestion, ...]:
    """The six questions a client sees, fixed ones first, with the provider's name filled in."""
    return tuple(q.render(company) for q in (*FIXED_QUESTIONS, *chosen))


@dataclass(frozen=True)
class RankedQuestion:
    question: HeartbeatQuestion
    tenants_using: int
    rank: int


def rank_library(
    usage_counts: Mapping[str, int],
    library: Sequence[HeartbeatQuestion] = LIBRARY,
) -> list[RankedQuestion]:
    """Library ordered by how many tenants use each question (most first, ties by id).

    Takes counts only, never tenant ids, so nothing here can reveal who uses what. Pass adopted
    shared custom questions in `library` to rank them alongside.
    """
    rows = sorted(library, key=lambda q: (-max(0, usage_counts.get(q.id, 0)), q.id))
    return [RankedQuestion(q, max(0, usage_counts.get(q.id, 0)), i + 1) for i, q in enumerate(rows)]


def validate_answers(
    questions: Sequence[HeartbeatQuestion],
    answers: Mapping[str, object],
    *,
    required: bool = True,
) -> list[FieldError]:
    """Field errors for a submitted heartbeat; unknown keys are rejected, not silently dropped."""
    errors: list[FieldError] = []
    by_id = {q.id: q for q in questions}
    for key in answers:
        if key not in by_id:
            errors.append(FieldError(f"answers.{key}", "unknown_question", "not in this heartbeat"))
    for q in questions:
        name = f"answers.{q.id}"
        if q.id not in answers or answers[q.id] is None:
            if required:
                errors.append(FieldError(name, "required", "an answer is required"))
            continue
        value = answers[q.id]
        if q.kind == "choice":
            valid = {o.id for o in q.options}
            if not isinstance(value, str) or value not in valid:
                errors.append(FieldError(name, "invalid_choice", f"choose one of {sorted(valid)}"))
        elif not isinstance(value, int) or isinstance(value, bool):
            errors.append(FieldError(name, "invalid_type", "answer must be a whole number"))
        elif not q.scale_min <= value <= q.scale_max:
            errors.append(
                FieldError(name, "out_of_range", f"answer must be {q.scale_min}-{q.scale_max}")
            )
    return errors


def next_round_due(last_round_date: date | None, interval_days: int, today: date) -> date:
    """Date the next heartbeat should be prepared for approval.

    No earlier round means due today. A date in the past (a missed round, e.g. approval never given)
    stays in the past so callers see it is overdue, rather than silently skipping periods.
    """
    if interval_days <= 0:
        raise ValueError("interval_days must be positive")
    if last_round_date is None:
        return today
    return last_round_date + timedelta(days=interval_days)


def is_round_due(last_round_date: date | None, interval_days: int, today: date) -> bool:
    return next_round_due(last_round_date, interval_days, today) <= today


# ------------------------------------------------------------------ benchmark periods and flags

# Clients in their first 90 days are in the "honeymoon" and count less in rankings (benchmarks).
HONEYMOON_DAYS = 90
# Answers are pooled for benchmarks per calendar quarter: tenants choose different intervals
# (30-365 days), so a common calendar period is the only way to compare them side by side.
PERIOD_MONTHS = 3

# Consumer mailbox providers: a respondent on one of these is not visibly a business address.
FREE_EMAIL_DOMAINS: frozenset[str] = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "yahoo.co.uk",
        "yahoo.fr",
        "yahoo.de",
        "ymail.com",
        "rocketmail.com",
        "outlook.com",
        "hotmail.com",
        "hotmail.co.uk",
        "hotmail.fr",
        "live.com",
        "msn.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "aol.com",
        "proton.me",
        "protonmail.com",
        "pm.me",
        "gmx.com",
        "gmx.de",
        "gmx.net",
        "web.de",
        "mail.com",
        "zoho.com",
        "yandex.com",
        "yandex.ru",
        "mail.ru",
        "qq.com",
        "163.com",
        "126.com",
        "tutanota.com",
        "fastmail.com",
        "hey.com",
    }
)


def is_free_email(address: str) -> bool:
    domain = address.rsplit("@", 1)[-1].strip().lower()
    return domain in FREE_EMAIL_DOMAINS


def period_of(day: date) -> str:
    """The benchmark period holding a day: its calendar quarter, e.g. "2025-Q3"."""
    return f"{day.year}-Q{(day.month - 1) // PERIOD_MONTHS + 1}"


def previous_period(period: str) -> str:
    year, quarter = int(period[:4]), int(period[-1])
    return f"{year - 1}-Q4" if quarter == 1 else f"{year}-Q{quarter - 1}"


def in_honeymoon(account_created: date, answered: date) -> bool:
    return (answered - account_created).days < HONEYMOON_DAYS
