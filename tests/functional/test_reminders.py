"""The daily reminders job: 7 and 14 days after sending, the right reminder for each state,
never after the window, never to unsubscribed contacts, never twice for a step — even when the
job runs twice or crashes halfway."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from support.api import TenantHandle
from survey_support import FULL_ANSWER, SentReview, drain, mails_to, make_review, send_review


def _run(client: Any, on: date) -> dict[str, Any]:
    from chalicelib.jobs.registry import run

    result = run("reminders", on)
    drain(client)
    return result


def _subjects(contact: dict[str, Any]) -> list[str]:
    return [str(m["Subject"]) for m in mails_to(contact["email"])]


def _reminders(contact: dict[str, Any]) -> list[str]:
    return [s for s in _subjects(contact) if s.startswith(("Reminder:", "Would you score"))]


def _today() -> date:
    return datetime.now(UTC).date()


@pytest.fixture
def four(client: Any, tenant: TenantHandle) -> tuple[SentReview, dict[str, dict[str, Any]]]:
    """A review sent to four contacts: one never opens, one opens, one scores, one
    unsubscribes."""
    review = make_review(tenant, recipients=4)
    tokens = send_review(client, review)
    silent, opener, scorer, leaver = review.contacts
    public = tenant.api.as_("")
    public.get(f"/r/{tokens[opener['id']]}")
    public.post(f"/r/{tokens[scorer['id']]}", FULL_ANSWER)
    public.call(
        "POST",
        f"/unsubscribe/{tokens[leaver['id']]}",
        raw="List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    drain(client)
    people = {"silent": silent, "opener": opener, "scorer": scorer, "leaver": leaver}
    return review, people


def test_reminders_at_7_and_14_days_each_once(
    client: Any, tenant: TenantHandle, four: tuple[SentReview, dict[str, dict[str, Any]]]
) -> None:
    review, people = four
    sent_on = _today()

    _run(client, sent_on + timedelta(days=6))
    assert all(_reminders(p) == [] for p in people.values())

    _run(client, sent_on + timedelta(days=7))
    assert _reminders(people["silent"]) == ["Reminder: Q3 business review"]
    assert _reminders(people["opener"]) == ["Would you score “Q3 business review”?"]
    assert _reminders(people["scorer"]) == [] and _reminders(people["leaver"]) == []

    _run(client, sent_on + timedelta(days=7))  # the job runs twice for the same day
    assert len(_reminders(people["silent"])) == 1 and len(_reminders(people["opener"])) == 1

    _run(client, sent_on + timedelta(days=14))
    _run(client, sent_on + timedelta(days=14))
    assert len(_reminders(people["silent"])) == 2 and len(_reminders(people["opener"])) == 2

    for later in (15, 21, 27, 28, 35):
        _run(client, sent_on + timedelta(days=later))
    assert len(_reminders(people["silent"])) == 2 and len(_reminders(people["opener"])) == 2
    assert _reminders(people["scorer"]) == [] and _reminders(people["leaver"]) == []

    rows = {
        r["contact_id"]: r
        for r in tenant.api.get(f"/reviews/{review.review_id}/analytics").json["recipients"]
    }
    assert rows[people["silent"]["id"]]["reminders_sent"] == 2
    assert rows[people["scorer"]["id"]]["reminders_sent"] == 0

    # The reminder carries a working link of its own.
    from survey_support import token_in

    reminder = mails_to(people["silent"]["email"])[-1]
    assert tenant.api.as_("").get(f"/r/{token_in(reminder)}").status == 200


def test_a_crash_halfway_then_a_rerun_sends_each_step_once(
    client: Any, tenant: TenantHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.store import invitations

    review = make_review(tenant, recipients=3)
    send_review(client, review)
    day7 = _today() + timedelta(days=7)
    real = invitations.advance_reminder
    calls = {"n": 0}

    def crash_on_second(*args: Any, **kwargs: Any) -> bool:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("Lambda timed out")  # after the reminder was queued
        return real(*args, **kwargs)

    monkeypatch.setattr(invitations, "advance_reminder", crash_on_second)
    with pytest.raises(RuntimeError):
        _run(client, day7)
    monkeypatch.undo()
    drain(client)  # whatever the crashed run queued goes out
    _run(client, day7)  # the schedule retries
    _run(client, day7)
    for contact in review.contacts:
        assert _reminders(contact) == ["Reminder: Q3 business review"], contact


def test_a_missed_run_sends_only_the_latest_step(client: Any, tenant: TenantHandle) -> None:
    review = make_review(tenant)
    send_review(client, review)
    _run(client, _today() + timedelta(days=16))  # nothing ran on days 7 and 14
    assert len(_reminders(review.contacts[0])) == 1
    _run(client, _today() + timedelta(days=17))
    assert len(_reminders(review.contacts[0])) == 1


def test_nothing_after_the_window(client: Any, tenant: TenantHandle) -> None:
    review = make_review(tenant)
    send_review(client, review)
    _run(client, _today() + timedelta(days=28))  # first run ever, the window has closed
    _run(client, _today() + timedelta(days=29))
    assert _reminders(review.contacts[0]) == []


def test_optional_scoring_gets_no_score_reminder(client: Any, tenant: TenantHandle) -> None:
    review = make_review(tenant, recipients=2, scoring_required=False)
    tokens = send_review(client, review)
    opener, silent = review.contacts
    tenant.api.as_("").get(f"/r/{tokens[opener['id']]}")
    _run(client, _today() + timedelta(days=7))
    assert _reminders(opener) == []
    assert _reminders(silent) == ["Reminder: Q3 business review"]


def test_a_tenants_reminder_days_are_used(client: Any, tenant: TenantHandle) -> None:
    assert tenant.api.put("/settings", {"reminder_days": [3]}).status == 200
    review = make_review(tenant)
    send_review(client, review)
    _run(client, _today() + timedelta(days=3))
    _run(client, _today() + timedelta(days=7))
    _run(client, _today() + timedelta(days=14))
    assert len(_reminders(review.contacts[0])) == 1
