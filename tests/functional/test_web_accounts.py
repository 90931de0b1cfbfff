"""Workspace and accounts pages: what each role sees, 404 pages for what they may not reach,
forms that show their errors and write nothing, search, filters and sorting."""

from __future__ import annotations

import re
from typing import Any

import pytest
from support.api import Staff, TenantHandle, new_tenant
from support.web import Web, location, text_of


def _web(client: Any, who: Staff) -> Web:
    web = Web(client)
    web.sign_in(who.email)
    return web


def _names(tenant: TenantHandle) -> list[str]:
    return [a["name"] for a in tenant.api.get("/accounts?limit=200").json["items"]]


def _set_pulse(tenant: TenantHandle, account_id: str, level: int) -> None:
    reply = tenant.api.post(f"/accounts/{account_id}/pulses", {"level": level})
    assert reply.status in (200, 201), reply.body


@pytest.fixture
def managers(tenant: TenantHandle) -> tuple[Staff, Staff]:
    return tenant.add_staff("account_manager"), tenant.add_staff("account_manager")


def test_account_manager_gets_the_404_page_for_another_managers_account(
    client: Any, tenant: TenantHandle, managers: tuple[Staff, Staff]
) -> None:
    mine, theirs = managers
    other = tenant.account(owner=theirs, name="Their Account")
    contact = tenant.contact(other["id"])
    web = _web(client, mine)
    for path in (
        f"/app/accounts/{other['id']}",
        f"/app/accounts/{other['id']}/edit",
        f"/app/accounts/{other['id']}/contacts/new",
        f"/app/contacts/{contact['id']}/edit",
    ):
        reply = web.get(path)
        assert reply.status == 404, path
        assert reply.headers["Content-Type"].startswith("text/html")
        assert "Page not found" in reply.text and "Their Account" not in reply.text
    web.get("/app/accounts/new")
    reply = web.post(
        f"/app/accounts/{other['id']}/edit", {"name": "Taken Over", "stage": "onboarding"}
    )
    assert reply.status == 404
    assert "Taken Over" not in _names(tenant)


def test_another_tenants_account_is_the_404_page(
    client: Any, tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    foreign = other_tenant.account(name="Foreign Account")
    contact = other_tenant.contact(foreign["id"])
    web = _web(client, tenant.admin)
    for path in (f"/app/accounts/{foreign['id']}", f"/app/contacts/{contact['id']}/edit"):
        reply = web.get(path)
        assert reply.status == 404 and "Foreign Account" not in reply.text
    web.get("/app/accounts")
    reply = web.post(
        f"/app/contacts/{contact['id']}/edit", {"name": "Hijack", "email": "h@x.example"}
    )
    assert reply.status == 404
    assert (
        other_tenant.api.get(f"/accounts/{foreign['id']}/contacts").json["items"][0]["name"]
        == "Dana Client"
    )


def test_account_manager_lists_only_their_own_accounts(
    client: Any, tenant: TenantHandle, managers: tuple[Staff, Staff]
) -> None:
    mine, theirs = managers
    tenant.account(owner=mine, name="Mine One")
    tenant.account(owner=theirs, name="Theirs One")
    shown = text_of(_web(client, mine).get("/app/accounts"))
    assert "Mine One" in shown and "Theirs One" not in shown
    # and the owner filter cannot widen it
    shown = text_of(_web(client, mine).get(f"/app/accounts?owner={theirs.user_id}"))
    assert "Theirs One" not in shown


def test_new_account_form_shows_errors_and_writes_nothing(
    client: Any, tenant: TenantHandle
) -> None:
    web = _web(client, tenant.admin)
    web.get("/app/accounts/new")
    before = _names(tenant)
    reply = web.post(
        "/app/accounts/new",
        {
            "name": "",
            "arr": "12.345",
            "currency": "dollars",
            "renewal_date": "31/12/2027",
            "stage": "nope",
        },
    )
    assert reply.status == 422
    assert "There is a problem" in reply.text
    for field in ("name", "arr", "currency", "renewal_date"):
        assert f'href="#f-{field}"' in reply.text, field
    assert 'value="12.345"' in reply.text  # the form comes back as it was sent
    assert _names(tenant) == before
    reply = web.post(
        "/app/accounts/new", {"name": "Stage Wrong", "arr": "1", "currency": "USD", "stage": "nope"}
    )
    assert reply.status == 422 and 'href="#f-stage"' in reply.text
    assert "Stage Wrong" not in _names(tenant)


def test_create_account_then_its_page_and_edit(client: Any, tenant: TenantHandle) -> None:
    web = _web(client, tenant.admin)
    web.get("/app/accounts/new")
    reply = web.post(
        "/app/accounts/new",
        {
            "name": "Globex & Co",
            "arr": "250,000.50",
            "currency": "eur",
            "renewal_date": "2031-06-30",
            "stage": "adoption",
            "owner_id": tenant.admin.user_id,
        },
    )
    assert reply.status == 303
    account_id = re.search(r"/app/accounts/([^?]+)", location(reply)).group(1)
    stored = tenant.api.get(f"/accounts/{account_id}").json
    assert (stored["arr"], stored["currency"], stored["stage"]) == (25_000_050, "EUR", "adoption")
    page = web.get(location(reply))
    assert page.status == 200
    shown = text_of(page)
    assert "Globex & Co" in shown and "EUR 250,000.50" in shown and "2031-06-30" in shown
    assert "Globex &amp; Co" in page.text  # escaped
    assert f'href="/app/accounts/{account_id}/edit"' in page.text
    web.get(f"/app/accounts/{account_id}/edit")
    reply = web.post(
        f"/app/accounts/{account_id}/edit",
        {"name": "Globex", "arr": "-5", "currency": "EUR", "stage": "adoption"},
    )
    assert reply.status == 422 and 'href="#f-arr"' in reply.text
    assert tenant.api.get(f"/accounts/{account_id}").json["name"] == "Globex & Co"
    reply = web.post(
        f"/app/accounts/{account_id}/edit",
        {"name": "Globex", "arr": "10", "currency": "EUR", "stage": "value", "renewal_date": ""},
    )
    assert reply.status == 303
    stored = tenant.api.get(f"/accounts/{account_id}").json
    assert (stored["name"], stored["arr"], stored["stage"], stored["renewal_date"]) == (
        "Globex",
        1000,
        "value",
        None,
    )


def test_account_manager_cannot_give_an_account_away(
    client: Any, tenant: TenantHandle, managers: tuple[Staff, Staff]
) -> None:
    mine, theirs = managers
    web = _web(client, mine)
    web.get("/app/accounts/new")
    reply = web.post(
        "/app/accounts/new",
        {
            "name": "Given Away",
            "arr": "1",
            "currency": "USD",
            "stage": "onboarding",
            "owner_id": theirs.user_id,
        },
    )
    assert reply.status == 303
    created = [
        a for a in tenant.api.get("/accounts?limit=200").json["items"] if a["name"] == "Given Away"
    ]
    assert created and created[0]["owner_id"] == mine.user_id


def test_contact_forms_validate_and_write_nothing_on_error(
    client: Any, tenant: TenantHandle
) -> None:
    account = tenant.account(name="Contacts Inc")
    web = _web(client, tenant.admin)
    web.get(f"/app/accounts/{account['id']}/contacts/new")
    reply = web.post(
        f"/app/accounts/{account['id']}/contacts/new",
        {"name": "Pat\nEvil", "email": "not-mail", "title": "x" * 201},
    )
    assert reply.status == 422
    for field in ("name", "email", "title"):
        assert f'href="#f-{field}"' in reply.text, field
    assert tenant.api.get(f"/accounts/{account['id']}/contacts").json["items"] == []
    reply = web.post(
        f"/app/accounts/{account['id']}/contacts/new",
        {"name": "Pat Client", "email": "pat@client.example", "title": "CTO"},
    )
    assert reply.status == 303
    (contact,) = tenant.api.get(f"/accounts/{account['id']}/contacts").json["items"]
    assert (contact["name"], contact["email"], contact["title"]) == (
        "Pat Client",
        "pat@client.example",
        "CTO",
    )
    web.get(f"/app/accounts/{account['id']}/contacts/new")
    reply = web.post(
        f"/app/accounts/{account['id']}/contacts/new",
        {"name": "Pat Again", "email": "pat@client.example"},
    )
    assert reply.status == 422 and "already a contact" in reply.text
    web.get(f"/app/contacts/{contact['id']}/edit")
    reply = web.post(
        f"/app/contacts/{contact['id']}/edit", {"name": "", "email": "pat@client.example"}
    )
    assert reply.status == 422
    reply = web.post(
        f"/app/contacts/{contact['id']}/edit",
        {"name": "Pat C.", "email": "pat@client.example", "title": ""},
    )
    assert reply.status == 303
    (contact,) = tenant.api.get(f"/accounts/{account['id']}/contacts").json["items"]
    assert (contact["name"], contact["title"]) == ("Pat C.", "")
    assert "Pat C." in text_of(web.get(f"/app/accounts/{account['id']}/details"))


def test_search_filter_and_sort(client: Any) -> None:
    tenant = new_tenant(client, company="Search Co")
    small = tenant.account(name="Alpha Small", arr=100_00, stage="adoption")
    big = tenant.account(name="Beta Big", arr=900_000_00, stage="renewal")
    tenant.account(name="Gamma None", arr=50_00)
    _set_pulse(tenant, small["id"], 2)
    _set_pulse(tenant, big["id"], 6)
    web = _web(client, tenant.admin)

    def rows(query: str) -> list[str]:
        page = web.get("/app/accounts?" + query)
        assert page.status == 200
        return re.findall(r'<td><a href="/app/accounts/[^"]+">([^<]+)</a></td>', page.text)

    assert rows("") == ["Alpha Small", "Beta Big", "Gamma None"]
    assert rows("q=beta") == ["Beta Big"]
    assert rows("level=2") == ["Alpha Small"]
    assert rows("level=none") == ["Gamma None"]
    assert rows("stage=renewal") == ["Beta Big"]
    assert rows("sort=arr&dir=desc") == ["Beta Big", "Alpha Small", "Gamma None"]
    assert rows("sort=arr") == ["Gamma None", "Alpha Small", "Beta Big"]
    assert rows("sort=success_score&dir=desc")[-1] == "Gamma None"  # no score: last


def test_workspace_shows_levels_at_risk_revenue_and_changes(client: Any) -> None:
    tenant = new_tenant(client, company="Glance Co")
    manager = tenant.add_staff("account_manager")
    risky = tenant.account(owner=manager, name="Risky Ltd", arr=1_000_00)
    happy = tenant.account(name="Happy Ltd", arr=5_000_00)
    _set_pulse(tenant, risky["id"], 2)
    _set_pulse(tenant, happy["id"], 6)
    shown = text_of(_web(client, tenant.admin).get("/app"))
    assert "1 accounts at risk" in shown and "USD 1,000.00 revenue at risk" in shown
    assert "High Risk 1 USD 1,000.00" in shown and "Extremely Satisfied 1 USD 5,000.00" in shown
    assert "Risky Ltd : Not set → High Risk" in shown
    own = text_of(_web(client, manager).get("/app"))
    assert "Your accounts: 1" in own and "Happy Ltd" not in own
