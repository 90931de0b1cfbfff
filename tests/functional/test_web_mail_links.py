"""Every link in staff mail opens its page in the staff web app: each kind of staff mail is sent
as the product sends it, each ``/app/…`` link is taken out of the mail and opened signed out,
which goes to sign-in with ``next=``; signing in lands on that page."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from mail_links import pulse_links
from support.api import Staff, TenantHandle
from support.web import Web, location
from survey_support import drain, mails_to, make_review, send_review
from test_alerts import _age

from chalicelib.jobs import registry as jobs


def _links(address: str, subject_part: str) -> set[str]:
    found: set[str] = set()
    for mail in mails_to(address):
        if subject_part not in str(mail["Subject"]):
            continue
        for kind in ("plain", "html"):
            part = mail.get_body(preferencelist=(kind,))
            assert part is not None
            found.update(pulse_links(str(part.get_content())))
    found = {link for link in found if link.startswith("/app")}
    assert found, f"no staff page link in the mail to {address} about {subject_part!r}"
    return found


def _opens_after_sign_in(client: Any, who: Staff, link: str, heading: str) -> None:
    web = Web(client)
    reply = web.get(link)
    assert reply.status == 303, (link, reply.status)
    assert location(reply) == "/app/login?next=" + quote(link, safe=""), location(reply)
    login = web.get(location(reply))
    next_path = re.search(r'name="next" value="([^"]*)"', login.text)
    assert next_path and next_path.group(1) == link
    signed_in = web.sign_in(who.email, next_path=next_path.group(1))
    assert location(signed_in) == link
    page = web.get(link)
    assert page.status == 200, (link, page.status)
    h1 = re.search(r"<h1[^>]*>(.*?)</h1>", page.text, re.S)
    assert h1 and heading in h1.group(1), (link, h1.group(1) if h1 else None)


def test_heartbeat_approval_mail_opens_the_round(client: Any, tenant: TenantHandle) -> None:
    from chalicelib.services import heartbeat

    heartbeat.prepare_due_rounds(datetime.now(UTC).date(), tenant_ids=[tenant.tenant_id])
    (link,) = _links(tenant.admin.email, "approval")
    assert link.startswith("/app/heartbeats/hb_")
    _opens_after_sign_in(client, tenant.admin, link, "Heartbeat due")


def test_pulse_alert_mail_opens_the_account(client: Any, tenant: TenantHandle) -> None:
    owner = tenant.add_staff("account_manager")
    account = tenant.account(owner=owner, name="Mail Link Alerts")
    reply = tenant.as_(owner).post(f"/accounts/{account['id']}/pulses", {"level": 2})
    assert reply.status == 201
    links = _links(owner.email, "Mail Link Alerts")
    assert links == {f"/app/accounts/{account['id']}"}
    _opens_after_sign_in(client, owner, f"/app/accounts/{account['id']}", "Mail Link Alerts")


def test_stale_digest_mail_opens_each_account_and_the_list(
    client: Any, tenant: TenantHandle
) -> None:
    owner = tenant.add_staff("account_manager")
    stale = tenant.account(owner=owner, name="Digest Link Stale")
    _age(tenant.tenant_id, stale["id"], created_days=60, pulse_days=None)
    jobs.run("stale-alerts", datetime.now(UTC).date())
    links = _links(owner.email, "without a pulse")
    assert f"/app/accounts/{stale['id']}" in links
    for link in sorted(links):
        heading = "Accounts" if link == "/app/accounts" else "Digest Link Stale"
        _opens_after_sign_in(client, owner, link, heading)


def test_review_event_mail_opens_the_review_analytics(client: Any, tenant: TenantHandle) -> None:
    owner = tenant.add_staff("account_manager")
    review = make_review(tenant, owner=owner, scoring_required=False)
    token = send_review(client, review)[review.contacts[0]["id"]]
    reply = tenant.api.as_("").post(f"/r/{token}", {"comment": "A note for the owner"})
    assert reply.status == 200, reply.body
    drain(client)
    links = _links(owner.email, "commented")
    assert links == {f"/app/reviews/{review.review_id}/analytics"}
    _opens_after_sign_in(client, owner, links.pop(), "Analytics: Q3 business review")
