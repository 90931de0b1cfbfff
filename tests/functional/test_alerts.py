"""Pulse alerts reach exactly the right people, once: read from the mail moto recorded."""

from __future__ import annotations

import email
from datetime import UTC, date, datetime, timedelta
from email import policy
from typing import Any

import pytest
from mail_links import assert_staff_page_links
from support.api import Staff, TenantHandle

from chalicelib.jobs import registry as jobs
from chalicelib.store.accounts import AccountModel


def sent_mail() -> list[Any]:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    return list(ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages)


def mails_to(addresses: set[str], since: int, subject_part: str) -> dict[str, list[Any]]:
    """Messages sent after index ``since`` to any of ``addresses`` with ``subject_part`` in the
    subject, by recipient."""
    out: dict[str, list[Any]] = {a: [] for a in addresses}
    for raw in sent_mail()[since:]:
        message = email.message_from_string(raw.raw_data, policy=policy.default)
        if subject_part not in str(message["Subject"]):
            continue
        # moto lists a recipient given both as Destinations and in To: twice; count it once.
        for destination in set(raw.destinations):
            if destination in out:
                out[destination].append(message)
    return out


def body_text(message: Any) -> str:
    return str(message.get_body(preferencelist=("plain",)).get_content())


def body_html(message: Any) -> str:
    return str(message.get_body(preferencelist=("html",)).get_content())


@pytest.fixture
def team(tenant: TenantHandle) -> dict[str, Staff]:
    manager = tenant.add_staff("account_manager", name="Morgan Manager")
    owner = tenant.add_staff("account_manager", manager_id=manager.user_id, name="Olive Owner")
    bystander = tenant.add_staff("account_manager", name="Bea Bystander")
    exec_one = tenant.add_staff("senior_manager", name="Sam Senior")
    exec_two = tenant.add_staff("senior_manager", name="Sky Senior")
    return {
        "manager": manager,
        "owner": owner,
        "bystander": bystander,
        "exec_one": exec_one,
        "exec_two": exec_two,
    }


def test_real_time_alert_reaches_owner_manager_and_executives_once(
    tenant: TenantHandle, team: dict[str, Staff]
) -> None:
    account = tenant.account(owner=team["owner"], name="Initech Alerts")
    everyone = {s.email for s in team.values()} | {tenant.admin.email}
    start = len(sent_mail())
    # Above every threshold (default: Some Risk): nobody is told.
    assert (
        tenant.as_(team["owner"]).post(f"/accounts/{account['id']}/pulses", {"level": 4}).status
        == 201
    )
    assert all(not m for m in mails_to(everyone, start, "Initech Alerts").values())

    risk = next(
        c
        for c in tenant.api.get("/reason-codes?tab=pulse&limit=200").json["items"]
        if c["type"] == "risk"
    )
    reply = tenant.as_(team["owner"]).post(
        f"/accounts/{account['id']}/pulses",
        {"level": 3, "risk_factors": [risk["id"]], "note": "Budget review next month"},
    )
    assert reply.status == 201
    got = mails_to(everyone, start, "Initech Alerts")
    expected = {team[k].email for k in ("owner", "manager", "exec_one", "exec_two")}
    assert {a for a, m in got.items() if m} == expected
    assert all(len(got[a]) == 1 for a in expected)
    message = got[team["manager"].email][0]
    text, html = body_text(message), body_html(message)
    for part in (text, html):
        assert "Initech Alerts" in part
        assert "Fairly Satisfied" in part and "Some Risk" in part  # what changed
        assert risk["name"] in part and "Budget review next month" in part
        assert_staff_page_links(part, f"/app/accounts/{account['id']}")  # the link back

    # In-app too.
    inbox = tenant.as_(team["exec_one"]).get("/notifications").json["items"]
    assert any(n["kind"] == "pulse_alert" and n["account_id"] == account["id"] for n in inbox)


def test_each_recipient_by_their_own_preferences(
    tenant: TenantHandle, team: dict[str, Staff]
) -> None:
    # The owner only wants to hear about High Risk or worse; one executive wants no mail.
    assert (
        tenant.as_(team["owner"]).put("/me/preferences", {"alert_threshold_level": 2}).status == 200
    )
    assert (
        tenant.as_(team["exec_two"])
        .put("/me/preferences", {"email": {"pulse_alert": False}})
        .status
        == 200
    )
    # The manager is told about anything Very Satisfied or worse.
    assert (
        tenant.as_(team["manager"]).put("/me/preferences", {"alert_threshold_level": 5}).status
        == 200
    )
    account = tenant.account(owner=team["owner"], name="Hooli Prefs")
    everyone = {s.email for s in team.values()}
    start = len(sent_mail())
    tenant.api.post(f"/accounts/{account['id']}/pulses", {"level": 5})
    got = mails_to(everyone, start, "Hooli Prefs")
    assert {a for a, m in got.items() if m} == {team["manager"].email}

    start = len(sent_mail())
    tenant.api.post(f"/accounts/{account['id']}/pulses", {"level": 3})
    got = mails_to(everyone, start, "Hooli Prefs")
    assert {a for a, m in got.items() if m} == {team["manager"].email, team["exec_one"].email}
    # No mail, but the in-app notification is there.
    inbox = tenant.as_(team["exec_two"]).get("/notifications").json["items"]
    assert sum(n["kind"] == "pulse_alert" and n["account_id"] == account["id"] for n in inbox) == 1

    start = len(sent_mail())
    tenant.api.post(f"/accounts/{account['id']}/pulses", {"level": 2})
    got = mails_to(everyone, start, "Hooli Prefs")
    assert {a for a, m in got.items() if m} == {
        team["owner"].email,
        team["manager"].email,
        team["exec_one"].email,
    }
    assert all(len(m) <= 1 for m in got.values())


def _age(tenant_id: str, account_id: str, *, created_days: int, pulse_days: int | None) -> None:
    now = datetime.now(UTC)
    actions = [
        AccountModel.created_at.set(
            (now - timedelta(days=created_days))
            .isoformat(timespec="seconds")
            .replace("+00:00", "Z")
        )
    ]
    if pulse_days is not None:
        stamp = (now - timedelta(days=pulse_days)).isoformat(timespec="milliseconds")
        actions.append(AccountModel.pulse_set_at.set(stamp.replace("+00:00", "Z")))
    AccountModel(tenant_id, account_id).update(actions=actions)


def test_stale_digest_once_per_recipient_per_day(
    tenant: TenantHandle, team: dict[str, Staff]
) -> None:
    owner, bystander = team["owner"], team["bystander"]
    stale = tenant.account(owner=owner, name="Stale Umbrella")
    tenant.api.post(f"/accounts/{stale['id']}/pulses", {"level": 4})
    _age(tenant.tenant_id, stale["id"], created_days=90, pulse_days=30)
    never = tenant.account(owner=owner, name="Never Pulsed Vandelay")
    _age(tenant.tenant_id, never["id"], created_days=40, pulse_days=None)
    fresh = tenant.account(owner=bystander, name="Fresh Soylent")
    tenant.api.post(f"/accounts/{fresh['id']}/pulses", {"level": 4})
    # Senior manager two only counts an account stale after 60 days.
    tenant.as_(team["exec_two"]).put("/me/preferences", {"stale_days": 60})

    everyone = {s.email for s in team.values()} | {tenant.admin.email}
    today = datetime.now(UTC).date()
    start = len(sent_mail())
    first = jobs.run("stale-alerts", today)
    assert first["mailed"] >= 3
    got = mails_to(everyone, start, "without a pulse")
    expected = {owner.email, team["manager"].email, team["exec_one"].email}
    assert {a for a, m in got.items() if m} == expected
    assert all(len(got[a]) == 1 for a in expected)
    digest = got[owner.email][0]
    text, html = body_text(digest), body_html(digest)
    for part in (text, html):
        assert "Stale Umbrella" in part and "Never Pulsed Vandelay" in part
        assert "Fresh Soylent" not in part
        assert_staff_page_links(part, f"/app/accounts/{stale['id']}")
    assert "30 days ago" in text and "no pulse yet" in text
    assert "2 accounts" in str(digest["Subject"])

    # Run twice for the date: nothing new.
    middle = len(sent_mail())
    second = jobs.run("stale-alerts", today)
    assert second["mailed"] == 0
    assert all(not m for m in mails_to(everyone, middle, "without a pulse").values())
    inbox = tenant.as_(owner).get("/notifications").json["items"]
    assert sum(n["kind"] == "stale_digest" for n in inbox) == 1

    # The next day is a new digest.
    later = len(sent_mail())
    jobs.run("stale-alerts", today + timedelta(days=1))
    assert len(mails_to({owner.email}, later, "without a pulse")[owner.email]) == 1


def test_stale_day_count_uses_the_date_run_for() -> None:
    from chalicelib.domain.entities import Account
    from chalicelib.services.pulses import _last_pulse_day

    account = Account("t", "a", "n", "o", 0, "USD", None, "onboarding", "2026-01-01T00:00:00Z")
    assert _last_pulse_day(account) == date(2026, 1, 1)
    account.pulse_set_at = "2026-02-03T10:00:00.000Z"
    assert _last_pulse_day(account) == date(2026, 2, 3)
