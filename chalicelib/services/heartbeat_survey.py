"""The heartbeat as a kind of survey (``chalicelib/services/surveys.py``).

The machinery does links, the page, submits, sending once and reminders; this kind says what a
heartbeat round is, what its page and mails show, how answers are checked, and which writes move
with a response: the benchmark aggregates (``store.heartbeat.answer_ops``), committed in the same
transaction as the response, so a resubmission replaces rather than adds.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from chalicelib.domain import heartbeat as hb
from chalicelib.errors import NotFound
from chalicelib.mail import message
from chalicelib.services import staff_links, surveys
from chalicelib.services.surveys import Parsed, SurveyInfo
from chalicelib.store import accounts as account_store
from chalicelib.store import heartbeat as store
from chalicelib.store.invitations import Invitation, TxOp

KIND = "heartbeat"


def _questions(info: SurveyInfo) -> list[hb.HeartbeatQuestion]:
    from chalicelib.services.heartbeat import questions_of

    rnd: store.Round = info.data
    return questions_of(rnd)


def _answers_from(data: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """JSON ``{"answers": {...}}``, or form fields ``answers.<id>`` / ``answers[<id>]``."""
    raw = data.get("answers")
    if raw is not None:
        if not isinstance(raw, dict):
            return {}, {"answers": "must be an object of question id → answer"}
        return dict(raw), {}
    answers: dict[str, Any] = {}
    for key, value in data.items():
        if key.startswith("answers.") and len(key) > 8:
            answers[key[8:]] = value
        elif key.startswith("answers[") and key.endswith("]"):
            answers[key[8:-1]] = value
    return answers, {}


def _coerce(questions: list[hb.HeartbeatQuestion], answers: dict[str, Any]) -> dict[str, Any]:
    """Form posts send text: "7" → 7 for scale questions; JSON integers pass unchanged."""
    kinds = {q.id: q.kind for q in questions}
    out: dict[str, Any] = {}
    for key, value in answers.items():
        if isinstance(value, list):  # a repeated form field
            value = value[-1] if value else None
        if value == "":
            value = None
        if kinds.get(key) == "scale" and isinstance(value, str) and value.strip().isdigit():
            value = int(value.strip())
        out[key] = value
    return out


def _strings(answers: Mapping[str, Any]) -> dict[str, str]:
    return {str(k): str(v) for k, v in answers.items() if isinstance(v, (str, int))}


class HeartbeatKind(surveys.SurveyKind):
    name = KIND

    def load(self, tenant_id: str, survey_id: str) -> SurveyInfo:
        rnd = store.get_round(tenant_id, survey_id)  # NotFound for unknown rounds
        if rnd.status not in ("sent", "closed"):
            # Prepared or approved rounds have no invitations; nothing links here yet.
            raise NotFound("heartbeat not found")
        return SurveyInfo(
            tenant_id=tenant_id,
            kind=KIND,
            survey_id=survey_id,
            title=f"{rnd.company} heartbeat",
            company=rnd.company,
            # Each invitation keeps its own 28-day window (late single sends included), so a
            # round that closed still accepts answers on links whose window is open.
            is_open=True,
            scoring_applies=True,
            data=rnd,
        )

    def page_context(
        self, info: SurveyInfo, inv: Invitation | None, *, preview: bool = False
    ) -> dict[str, Any]:
        from chalicelib.services.heartbeat import question_view

        previous = ((inv.response if inv else None) or {}).get("answers") or {}
        return {
            "content_template": "survey/heartbeat_content.html",
            "form_template": "survey/heartbeat_form.html",
            # "answers_questions": the page frame names error anchors f-answers-<id> from it.
            "answers_questions": [question_view(q) for q in _questions(info)],
            "values": {"answers": _strings(previous)},
        }

    def parse(self, info: SurveyInfo, data: Mapping[str, Any]) -> Parsed:
        questions = _questions(info)
        answers, errors = _answers_from(data)
        if errors:
            return Parsed({}, errors, {})
        answers = _coerce(questions, answers)
        problems = hb.validate_answers(questions, answers)
        errors = {e.field: e.message for e in problems}
        return Parsed({"answers": answers}, errors, {"answers": _strings(answers)})

    def is_scored(self, info: SurveyInfo, response: Mapping[str, Any]) -> bool:
        return bool(response.get("answers"))

    def response_ops(
        self,
        info: SurveyInfo,
        inv: Invitation,
        old: Mapping[str, Any] | None,
        new: Mapping[str, Any],
        *,
        at: str,
        period: str,
    ) -> list[TxOp]:
        rnd: store.Round = info.data
        if not rnd.period:
            return []
        numeric_ids = {q.id for q in _questions(info) if q.kind == "scale"}
        answers = dict(new.get("answers") or {})
        numeric = {
            k: int(v)
            for k, v in answers.items()
            if k in numeric_ids and isinstance(v, int) and not isinstance(v, bool)
        }
        if not numeric:
            return []
        answered = surveys.parse_iso(at).date()
        try:
            account = account_store.get_account(inv.tenant_id, inv.account_id)
            created = surveys.parse_iso(account.created_at).date()
        except NotFound:
            created = answered - timedelta(days=hb.HONEYMOON_DAYS)
        respondent = store.Respondent(
            contact_id=inv.contact_id,
            account_id=inv.account_id,
            free_email=hb.is_free_email(inv.email),
            honeymoon=hb.in_honeymoon(created, answered),
        )
        # The benchmark period is the round's (its calendar quarter), not the month of the
        # answer, so one round never splits across two periods.
        return list(answer_ops(inv.tenant_id, rnd.round_id, rnd.period, respondent, numeric))

    def events(
        self,
        info: SurveyInfo,
        inv: Invitation,
        old: Mapping[str, Any] | None,
        new: Mapping[str, Any],
    ) -> list[tuple[str, str]]:
        return [] if old else [("scored", "")]

    def event_text(
        self, info: SurveyInfo, inv: Invitation, event: str
    ) -> tuple[str, str, str | None]:
        who = inv.name or inv.email
        if event == "opened":
            title = f"{who} opened the heartbeat"
        else:
            title = f"{who} answered the heartbeat"
        return title, f"{info.title}, sent to {inv.email}.", staff_links.account(inv.account_id)

    def mail(
        self, info: SurveyInfo, inv: Invitation, *, variant: str, link: str, unsubscribe: str
    ) -> message.Mail:
        subjects = {
            "invite": f"{info.company} would like your feedback (2 minutes)",
            "reminder_review": f"Reminder: {info.company} would like your feedback",
            "reminder_score": f"Reminder: your answers to {info.company} are not sent yet",
        }
        return message.from_templates(
            "mail/heartbeat_invite",
            to=inv.email,
            subject=subjects.get(variant, subjects["invite"]),
            company=info.company,
            contact_name=inv.name,
            variant=variant,
            link=link,
            unsubscribe=unsubscribe,
            questions=len(_questions(info)),
            window_days=surveys.WINDOW_DAYS,
        )


def answer_ops(
    tenant_id: str,
    round_id: str,
    period: str,
    respondent: store.Respondent,
    numeric: dict[str, int],
) -> list[TxOp]:
    return list(store.answer_ops(tenant_id, round_id, period, respondent, numeric))


HEARTBEAT = surveys.register(HeartbeatKind())
