"""The staff web app's notifications and preferences pages: the same notifications and
preferences as the JSON API, links to their pages, marking read, and a preferences form that
shows its errors and writes nothing."""

from __future__ import annotations

import re
from typing import Any

from support.api import Staff, TenantHandle, new_tenant
from support.web import Web, location, text_of


def _alerted(tenant: TenantHandle, owner: Staff, name: str) -> dict[str, Any]:
    """An account of ``owner`` whose pulse fell to Some Risk: one in-app alert for the owner."""
    account = tenant.account(owner=owner, name=name)
    reply = tenant.as_(owner).post(f"/accounts/{account['id']}/pulses", {"level": 3})
    assert reply.status == 201, reply.body
    return account


def _signed_in(client: Any, who: Staff) -> Web:
    web = Web(client)
    web.sign_in(who.email)
    return web


def _inbox(tenant: TenantHandle, who: Staff) -> list[dict[str, Any]]:
    reply = tenant.as_(who).get("/notifications")
    assert reply.status == 200, reply.body
    return list(reply.json["items"])


def test_notifications_link_to_their_pages_newest_first(client: Any, tenant: TenantHandle) -> None:
    owner = tenant.add_staff("account_manager")
    first = _alerted(tenant, owner, "Older Alert Ltd")
    second = _alerted(tenant, owner, "Newer Alert Ltd")
    web = _signed_in(client, owner)
    page = web.get("/app/notifications")
    assert page.status == 200 and "<h1>Notifications</h1>" in page.text
    for account in (first, second):
        assert f'href="/app/accounts/{account["id"]}"' in page.text
    shown = text_of(page)
    assert shown.index("Newer Alert Ltd") < shown.index("Older Alert Ltd")
    assert shown.count("Mark as read") == 2
    # The link opens the account's page.
    assert web.get(f"/app/accounts/{first['id']}").status == 200


def test_mark_as_read_marks_only_that_notification(client: Any, tenant: TenantHandle) -> None:
    owner = tenant.add_staff("account_manager")
    _alerted(tenant, owner, "Read Me Ltd")
    _alerted(tenant, owner, "Leave Me Ltd")
    target = next(n for n in _inbox(tenant, owner) if "Read Me Ltd" in n["title"])
    web = _signed_in(client, owner)
    web.get("/app/notifications")
    reply = web.post(f"/app/notifications/{target['id']}/read", {})
    assert reply.status == 303 and location(reply).startswith("/app/notifications?")
    page = web.get(location(reply))
    assert "Marked as read." in page.text
    assert text_of(page).count("Mark as read") == 1
    read = {n["id"]: n["read"] for n in _inbox(tenant, owner)}
    assert read[target["id"]] is True
    assert sorted(read.values()) == [False, True]


def test_another_users_notification_answers_404_and_stays_unread(
    client: Any, tenant: TenantHandle
) -> None:
    owner = tenant.add_staff("account_manager")
    _alerted(tenant, owner, "Not Yours Ltd")
    (theirs,) = _inbox(tenant, owner)
    for who in (tenant.add_staff("senior_manager"), new_tenant(client, company="Far Away").admin):
        web = _signed_in(client, who)
        web.get("/app/notifications")
        reply = web.post(f"/app/notifications/{theirs['id']}/read", {})
        assert reply.status == 404 and "Page not found" in reply.text
        assert reply.headers["Content-Type"].startswith("text/html")
    assert _inbox(tenant, owner)[0]["read"] is False


def test_kinds_switched_off_in_app_are_not_listed(client: Any, tenant: TenantHandle) -> None:
    owner = tenant.add_staff("account_manager")
    _alerted(tenant, owner, "Hidden Alert Ltd")
    web = _signed_in(client, owner)
    assert "Hidden Alert Ltd" in web.get("/app/notifications").text
    off = tenant.as_(owner).put("/me/preferences", {"in_app": {"pulse_alert": False}})
    assert off.status == 200
    page = web.get("/app/notifications")
    assert "Hidden Alert Ltd" not in page.text and "no notifications yet" in page.text


# ----------------------------------------------------------------------------- preferences

LEVEL_LABELS = (
    "Extremely Satisfied",
    "Very Satisfied",
    "Fairly Satisfied",
    "Some Risk",
    "High Risk",
    "Severe Risk",
)


def _preferences(tenant: TenantHandle, who: Staff) -> dict[str, Any]:
    reply = tenant.as_(who).get("/me/preferences")
    assert reply.status == 200, reply.body
    return dict(reply.json)


def _form_of(page: str) -> dict[str, str]:
    """The fields the browser would send as the form stands (ticked boxes only)."""
    fields: dict[str, str] = {}
    for tag in re.findall(r"<input[^>]*>", page):
        name = re.search(r'name="([^"]+)"', tag)
        if not name or name.group(1) == "csrf_token":
            continue
        if 'type="checkbox"' in tag:
            if " checked" in tag:
                fields[name.group(1)] = "on"
        else:
            value = re.search(r'value="([^"]*)"', tag)
            fields[name.group(1)] = value.group(1) if value else ""
    for select in re.finditer(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', page, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected', select.group(2))
        fields[select.group(1)] = chosen.group(1) if chosen else ""
    return fields


def test_preferences_page_shows_the_stored_choices(client: Any, tenant: TenantHandle) -> None:
    me = tenant.add_staff("senior_manager")
    assert (
        tenant.as_(me)
        .put("/me/preferences", {"alert_threshold_level": 2, "email": {"opened": False}})
        .status
        == 200
    )
    page = _signed_in(client, me).get("/app/preferences")
    assert page.status == 200 and "<h1>My preferences</h1>" in page.text
    assert '<label for="f-alert_threshold_level">Alert threshold</label>' in page.text
    for label in LEVEL_LABELS:
        assert f">{label}</option>" in page.text
    assert "<legend>Tell me by email</legend>" in page.text
    assert "<legend>Show in the app</legend>" in page.text
    fields = _form_of(page.text)
    assert fields["alert_threshold_level"] == "2" and fields["stale_days"] == "21"
    assert "email_opened" not in fields and fields["in_app_opened"] == "on"


def test_preferences_saved_then_confirmed(client: Any, tenant: TenantHandle) -> None:
    me = tenant.add_staff("account_manager")
    web = _signed_in(client, me)
    fields = _form_of(web.get("/app/preferences").text)
    fields.update(alert_threshold_level="5", stale_days="45")
    del fields["email_pulse_alert"]  # untick: no alert mail
    reply = web.post("/app/preferences", fields)
    assert reply.status == 303 and location(reply) == "/app/preferences?notice=saved"
    page = web.get(location(reply))
    assert "Your preferences are saved." in page.text
    stored = _preferences(tenant, me)
    assert stored["alert_threshold_level"] == 5 and stored["stale_days"] == 45
    assert stored["email"]["pulse_alert"] is False and stored["in_app"]["pulse_alert"] is True
    assert all(on for kind, on in stored["email"].items() if kind != "pulse_alert")
    # The choice is what alerts follow: a Very Satisfied pulse now reaches this manager in-app.
    account = tenant.account(owner=me, name="Threshold Five Ltd")
    tenant.api.post(f"/accounts/{account['id']}/pulses", {"level": 5})
    assert any("Threshold Five Ltd" in n["title"] for n in _inbox(tenant, me))


def test_invalid_preferences_show_every_error_and_write_nothing(
    client: Any, tenant: TenantHandle
) -> None:
    me = tenant.add_staff("account_manager")
    before = _preferences(tenant, me)
    web = _signed_in(client, me)
    good = _form_of(web.get("/app/preferences").text)
    cases = [
        (
            {"alert_threshold_level": "9", "stale_days": "0"},
            ("alert_threshold_level", "stale_days"),
        ),
        ({"stale_days": "a week"}, ("stale_days",)),
        ({"stale_days": "366", "email_opened": "yes please"}, ("stale_days", "email_opened")),
        ({"alert_threshold_level": ""}, ("alert_threshold_level",)),
    ]
    for changes, bad in cases:
        web.get("/app/preferences")
        reply = web.post("/app/preferences", {**good, **changes})
        assert reply.status == 422, (changes, reply.status)
        assert "There is a problem" in reply.text and "<title>Error:" in reply.text
        for name in bad:
            assert f'href="#f-{name}"' in reply.text, (changes, name)
            assert f'id="f-{name}-error"' in reply.text
        assert _preferences(tenant, me) == before, changes
        if "stale_days" in changes:  # the form comes back as it was sent
            assert f'value="{changes["stale_days"]}"' in reply.text
