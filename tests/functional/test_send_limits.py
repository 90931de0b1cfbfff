"""Per-tenant bounds on mail: the daily send quota stops what SES receives at the quota and holds
the rest for the next day; the bulk-send routes are limited per tenant and minute, and answer
429 once the day's quota is used up."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from support.api import TenantHandle, new_tenant
from survey_support import drain, mails_to, make_review

from chalicelib.jobs.survey_jobs import reminders
from chalicelib.services import send_limits, surveys
from chalicelib.settings import get_settings

# A day no other test sends on, so the reminders run sees only this file's held invites.
DAY = datetime(2031, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def at_day(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(surveys, "clock", lambda: DAY)
    yield


@pytest.fixture
def setting(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Set a deployment setting by its environment variable, as an operator would."""

    def set_(name: str, value: str) -> None:
        monkeypatch.setenv(name, value)
        get_settings.cache_clear()

    yield set_
    monkeypatch.undo()
    get_settings.cache_clear()


def _mail_counts(contacts: list[dict[str, Any]]) -> list[int]:
    return [len(mails_to(c["email"])) for c in contacts]


def _deliveries(tenant: TenantHandle, review_id: str) -> list[str]:
    reply = tenant.api.get(f"/reviews/{review_id}/analytics")
    assert reply.status == 200, reply.body
    return sorted(r["delivery"] for r in reply.json["recipients"])


def test_ses_gets_no_more_than_the_quota_and_the_rest_go_out_the_next_day(
    client: Any, tenant: TenantHandle, at_day: None, setting: Any
) -> None:
    setting("PULSE_TENANT_DAILY_SEND_QUOTA", "3")
    review = make_review(tenant, recipients=5)
    reply = tenant.api.post(f"/reviews/{review.review_id}/send")
    assert reply.status == 202, reply.body
    assert reply.json["queued"] == 5
    handled = [b for b in drain(client) if b.get("tenant_id") == tenant.tenant_id]
    # Every message handled once (the queue is shared with other tests' tenants): none is left
    # on the queue to be retried.
    assert len([b for b in handled if b["type"] == "survey_mail"]) == 5

    counts = _mail_counts(review.contacts)
    assert sum(counts) == 3 and max(counts) == 1
    # The two refused are held, visibly and not as "unknown": nothing was lost.
    assert _deliveries(tenant, review.review_id) == ["quota_exceeded"] * 2 + ["sent"] * 3

    # The same day, another run of the queue sends nothing more.
    assert reminders(DAY.date())["queued"] == 0
    drain(client)
    assert sum(_mail_counts(review.contacts)) == 3

    # The next day the held invites are queued again and go out; nobody gets two.
    next_day = DAY + timedelta(days=1)
    surveys.clock = lambda: next_day
    try:
        assert reminders(next_day.date())["queued"] >= 2
        drain(client)
    finally:
        surveys.clock = lambda: DAY
    assert _mail_counts(review.contacts) == [1, 1, 1, 1, 1]
    assert _deliveries(tenant, review.review_id) == ["sent"] * 5


def test_a_used_up_quota_answers_429_saying_when_it_resets(
    client: Any, tenant: TenantHandle, at_day: None, setting: Any
) -> None:
    setting("PULSE_TENANT_DAILY_SEND_QUOTA", "1")
    first = make_review(tenant, recipients=1)
    assert tenant.api.post(f"/reviews/{first.review_id}/send").status == 202
    drain(client)
    assert _mail_counts(first.contacts) == [1]

    second = make_review(tenant, recipients=1)
    reply = tenant.api.post(f"/reviews/{second.review_id}/send")
    assert reply.status == 429, reply.body
    error = reply.json["error"]
    assert error["code"] == "rate_limited"
    assert "quota" in error["message"] and "2031-03-11T00:00Z" in error["message"]
    assert int(reply.headers["Retry-After"]) == 12 * 3600  # until midnight UTC
    # Nothing was queued or changed: the review is still a draft, sendable tomorrow.
    assert [b for b in drain(client) if b.get("tenant_id") == tenant.tenant_id] == []
    assert tenant.api.get(f"/reviews/{second.review_id}").json["status"] == "draft"
    assert _mail_counts(second.contacts) == [0]


def test_an_operator_quota_for_one_tenant_leaves_the_others_alone(
    client: Any, tenant: TenantHandle, other_tenant: TenantHandle, at_day: None
) -> None:
    send_limits.set_quota(tenant.tenant_id, 1)
    try:
        limited = make_review(tenant, recipients=3)
        free = make_review(other_tenant, recipients=3)
        for review in (limited, free):
            assert review.api.post(f"/reviews/{review.review_id}/send").status == 202
        drain(client)
    finally:
        send_limits.set_quota(tenant.tenant_id, None)
    assert sum(_mail_counts(limited.contacts)) == 1
    assert _mail_counts(free.contacts) == [1, 1, 1]
    assert send_limits.quota_of(tenant.tenant_id) == get_settings().tenant_daily_send_quota


def test_bulk_sends_are_limited_per_tenant_and_minute(
    client: Any, at_day: None, setting: Any
) -> None:
    setting("PULSE_TENANT_BULK_SENDS_PER_MINUTE", "2")
    busy, quiet = new_tenant(client), new_tenant(client)
    reviews = [make_review(busy) for _ in range(3)]
    answers = [busy.api.post(f"/reviews/{r.review_id}/send") for r in reviews]
    assert [a.status for a in answers] == [202, 202, 429]
    limited = answers[2]
    assert limited.json["error"]["code"] == "rate_limited"
    assert 0 < int(limited.headers["Retry-After"]) <= 60
    assert tenant_status(busy, reviews[2].review_id) == "draft"
    # Another tenant is not blocked by the busy one.
    other = make_review(quiet)
    assert quiet.api.post(f"/reviews/{other.review_id}/send").status == 202
    # The next minute the busy tenant may send again.
    surveys.clock = lambda: DAY + timedelta(minutes=1)
    try:
        assert busy.api.post(f"/reviews/{reviews[2].review_id}/send").status == 202
    finally:
        surveys.clock = lambda: DAY
    drain(client)


def tenant_status(tenant: TenantHandle, review_id: str) -> str:
    return str(tenant.api.get(f"/reviews/{review_id}").json["status"])


def test_a_notification_over_quota_stays_in_app(tenant: TenantHandle) -> None:
    from chalicelib.services import notify
    from chalicelib.store import tenants as tenant_store

    admin = tenant_store.get_user(tenant.tenant_id, tenant.admin.user_id)
    before = len(mails_to(admin.email))
    event = notify.Event(kind="opened", title="Client opened the review", body="Acme opened it")
    send_limits.set_quota(tenant.tenant_id, 0)
    try:
        assert notify.notify(tenant.tenant_id, [admin], event) == 0
    finally:
        send_limits.set_quota(tenant.tenant_id, None)
    assert len(mails_to(admin.email)) == before
    listed = tenant.api.get("/notifications").json
    assert any(n["title"] == "Client opened the review" for n in listed["items"])
    # With the quota back, the next notification is mailed again.
    assert notify.notify(tenant.tenant_id, [admin], event) == 1
    assert len(mails_to(admin.email)) == before + 1


def test_an_operator_sets_and_clears_a_tenants_quota_from_the_cli(
    tenant: TenantHandle, capsys: pytest.CaptureFixture[str]
) -> None:
    from pulse_local import cli

    assert cli.main(["tenants", "set-quota", tenant.tenant_id, "25"]) == 0
    assert '"daily_send_quota": 25' in capsys.readouterr().out
    assert send_limits.quota_of(tenant.tenant_id) == 25
    assert cli.main(["tenants", "set-quota", tenant.tenant_id, "--default"]) == 0
    assert send_limits.quota_of(tenant.tenant_id) == get_settings().tenant_daily_send_quota
    assert cli.main(["tenants", "set-quota", "t_nobody", "5"]) == 1
