"""Keeps the dashboard's read model (``chalicelib/store/insights.py``) in step with reviews.

The reviews area's own records (invitations, the exact ``score-aggregates`` histograms,
comments, follow-ups) are written first, transactionally; these calls then update the
dashboard's denormalised copy. They are best effort: a failure is logged and never fails the
client's submit or the staff request, and it costs the dashboard at most that one change (the
source records stay right). See docs/surveys.md, "Read models".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from chalicelib.observability import logger
from chalicelib.store import insights


def _safely(what: str, fn: Callable[[], None]) -> None:
    try:
        fn()
    except Exception:
        logger.exception("dashboard read model not updated", extra={"what": what})


def review_changed(review: Any) -> None:
    """A review was created, edited, sent, resent or closed, or got its first response from
    someone: its dashboard entry is rewritten with the current counts (one Query)."""

    def record() -> None:
        from chalicelib.store import invitations

        invited = invitations.for_survey(review.tenant_id, "review", review.review_id)
        insights.record_review(
            review.tenant_id,
            review.account_id,
            review_id=review.review_id,
            title=review.title,
            review_date=review.review_date,
            status=review.status,
            sent_at=review.sent_at,
            recipients=len(review.recipient_ids),
            responses=sum(1 for i in invited if i.responded_at),
        )

    _safely("review", record)


def _scores(response: Mapping[str, Any] | None) -> insights.Scores | None:
    if not response:
        return None
    scores = dict(response.get("scores") or {})
    nps = response.get("nps")
    if not scores and nps is None:
        return None
    return insights.Scores(questions=scores, nps=nps)


def response_changed(
    tenant_id: str,
    account_id: str,
    *,
    month: str,
    old: Mapping[str, Any] | None,
    new: Mapping[str, Any] | None,
) -> None:
    before, after = _scores(old), _scores(new)
    if before == after:
        return
    _safely(
        "response",
        lambda: insights.apply_response(tenant_id, account_id, month=month, old=before, new=after),
    )


def comment_changed(comment: Any) -> None:
    _safely(
        "comment",
        lambda: insights.record_comment(
            comment.tenant_id,
            comment.account_id,
            comment_id=comment.comment_id,
            created_at=comment.created_at,
            text=comment.text,
            review_id=comment.survey_id if comment.survey_kind == "review" else None,
            contact_name=comment.contact_name,
            completed=comment.completed,
            notes=len(comment.notes),
            staff_notes=list(comment.notes),
        ),
    )


def follow_up_changed(follow_up: Any) -> None:
    """A follow-up request opened or was acknowledged: the task banner's entry follows."""
    _safely(
        "follow-up",
        lambda: insights.record_follow_up(
            follow_up.tenant_id,
            follow_up.account_id,
            follow_up_id=follow_up.follow_up_id,
            requested_at=follow_up.requested_at,
            pending=follow_up.status == "pending",
            contact_name=follow_up.contact_name,
            contact_email=follow_up.contact_email,
            review_id=follow_up.survey_id if follow_up.survey_kind == "review" else None,
            review_title=follow_up.survey_title,
        ),
    )


def action_changed(action: Any) -> None:
    """An action was added, changed, completed or reopened: the task banner's entry follows."""
    _safely(
        "action",
        lambda: insights.record_action(
            action.tenant_id,
            action.account_id,
            action_id=action.action_id,
            created_at=action.created_at,
            open_=action.status == "open",
            title=action.title,
            due_date=action.due_date,
            review_id=action.review_id,
        ),
    )


def pulse_recorded(pulse: Any, factor_names: Mapping[str, str]) -> None:
    """A pulse was set: its entry in the dashboard's pulse history, with the factors' names."""

    def factors(ids: list[str]) -> list[dict[str, Any]]:
        return [{"id": code, "name": factor_names.get(code) or code} for code in ids]

    _safely(
        "pulse",
        lambda: insights.record_pulse(
            pulse.tenant_id,
            pulse.account_id,
            {
                "pulse_id": pulse.pulse_id,
                "set_at": pulse.set_at,
                "set_by": pulse.set_by,
                "level": pulse.level,
                "previous_level": pulse.previous_level,
                "risk_factors": factors(pulse.risk_factors),
                "success_factors": factors(pulse.success_factors),
                "note": pulse.note,
                "next_steps": pulse.next_steps,
                "same": pulse.same,
                "score_after": pulse.score_after,
                "score_state": pulse.score_state,
            },
        ),
    )


def tasks_moved(tenant_id: str, account_id: str, *, actions: int = 0, follow_ups: int = 0) -> None:
    _safely(
        "tasks",
        lambda: insights.adjust_tasks(
            tenant_id, account_id, open_actions=actions, pending_follow_ups=follow_ups
        ),
    )
