"""The staff web app's heartbeat pages (the questions, benchmarks and rounds; one round with
**Approve**) and a review's analytics page: the same services as the JSON API, the same access
rules, and the 404 page for everything a caller may not reach."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from support.api import TenantHandle, new_tenant
from support.web import Web, location, text_of
from survey_support import FULL_ANSWER, make_review, send_review


def _prepared(tenant: TenantHandle) -> str:
    """A heartbeat round waiting for approval (as the daily job prepares it)."""
    from chalicelib.services import heartbeat

    outcome = heartbeat.prepare_due_rounds(datetime.now(UTC).date(), tenant_ids=[tenant.tenant_id])
    assert outcome["prepared"] == 1, outcome
    (round_id,) = [r["id"] for r in tenant.api.get("/heartbeats").json["items"]]
    return str(round_id)


def _status(tenant: TenantHandle, round_id: str) -> str:
    rounds = {r["id"]: r for r in tenant.api.get("/heartbeats").json["items"]}
    return str(rounds[round_id]["status"])


def _web(client: Any, email: str) -> Web:
    web = Web(client)
    web.sign_in(email)
    return web


def test_heartbeat_page_lists_questions_and_rounds(client: Any, tenant: TenantHandle) -> None:
    round_id = _prepared(tenant)
    page = _web(client, tenant.admin.email).get("/app/heartbeat")
    assert page.status == 200 and "<h1>Heartbeat</h1>" in page.text
    shown = text_of(page)
    for question in tenant.api.get("/heartbeat/config").json["questions"]:
        assert question["text"] in page.text or question["text"] in shown
    assert "Benchmarks" in shown
    assert f'href="/app/heartbeats/{round_id}"' in page.text and "Waiting for approval" in shown
    # Other roles see the questions and benchmarks, not the rounds.
    manager = tenant.add_staff("senior_manager")
    theirs = _web(client, manager.email).get("/app/heartbeat")
    assert theirs.status == 200 and "Overall satisfaction" in text_of(theirs)
    assert "/app/heartbeats/" not in theirs.text


def test_admin_approves_a_round_from_its_page(client: Any, tenant: TenantHandle) -> None:
    round_id = _prepared(tenant)
    web = _web(client, tenant.admin.email)
    page = web.get(f"/app/heartbeats/{round_id}")
    assert page.status == 200 and page.text.count("<h1") == 1
    shown = text_of(page)
    assert "Heartbeat due" in shown and "Waiting for approval" in shown
    assert '<button type="submit">Approve</button>' in page.text
    reply = web.post(f"/app/heartbeats/{round_id}/approve", {})
    assert reply.status == 303 and location(reply) == f"/app/heartbeats/{round_id}?notice=approved"
    assert _status(tenant, round_id) == "approved"
    after = web.get(location(reply))
    assert "Approved." in text_of(after) and ">Approve</button>" not in after.text
    # Approving again changes nothing and says why.
    again = web.post(f"/app/heartbeats/{round_id}/approve", {"csrf_token": web.csrf()})
    assert again.status == 409 and "not waiting for approval" in again.text
    assert _status(tenant, round_id) == "approved"


def test_round_pages_answer_404_to_other_roles_and_tenants(
    client: Any, tenant: TenantHandle
) -> None:
    round_id = _prepared(tenant)
    stranger = new_tenant(client, company="Other Heartbeats")
    for who in (
        tenant.add_staff("senior_manager").email,
        tenant.add_staff("account_manager").email,
        stranger.admin.email,
    ):
        web = _web(client, who)
        page = web.get(f"/app/heartbeats/{round_id}")
        assert page.status == 404 and "Page not found" in page.text, who
        web.get("/app/heartbeat")
        reply = web.post(f"/app/heartbeats/{round_id}/approve", {})
        assert reply.status == 404 and reply.headers["Content-Type"].startswith("text/html")
    assert _status(tenant, round_id) == "prepared"


# -------------------------------------------------------------------------- review analytics


def test_review_analytics_per_recipient_with_scores(client: Any, tenant: TenantHandle) -> None:
    owner = tenant.add_staff("account_manager")
    review = make_review(tenant, owner=owner, recipients=2)
    tokens = send_review(client, review)
    answered, silent = review.contacts
    reply = tenant.api.as_("").post(f"/r/{tokens[answered['id']]}", FULL_ANSWER)
    assert reply.status == 200, reply.body
    page = _web(client, owner.email).get(f"/app/reviews/{review.review_id}/analytics")
    assert page.status == 200 and "<h1>Analytics: Q3 business review</h1>" in page.text
    shown = text_of(page)
    for contact in review.contacts:
        assert contact["email"] in shown
    assert "Great quarter" in shown  # the comment, with the scores
    api = tenant.api.get(f"/reviews/{review.review_id}/analytics").json
    assert api["totals"]["scored"] == 1 and api["totals"]["sent"] == 2
    assert "2 sent" in shown and "1 scored" in shown and "50% response rate" in shown
    row = next(r for r in api["recipients"] if r["contact_id"] == silent["id"])
    assert row["scored_at"] is None


def test_review_analytics_answers_404_beyond_the_callers_accounts(
    client: Any, tenant: TenantHandle
) -> None:
    owner = tenant.add_staff("account_manager")
    review = make_review(tenant, owner=owner)
    path = f"/app/reviews/{review.review_id}/analytics"
    assert _web(client, tenant.add_staff("senior_manager").email).get(path).status == 200
    for who in (
        tenant.add_staff("account_manager").email,
        new_tenant(client, company="Other Reviews").admin.email,
    ):
        page = _web(client, who).get(path)
        assert page.status == 404 and "Page not found" in page.text
        assert "Q3 business review" not in page.text


# ------------------------------------------------------------------ unknown paths, sign-out


def test_unknown_app_paths_answer_the_html_404_page(client: Any, tenant: TenantHandle) -> None:
    web = Web(client)
    reply = web.get("/app/no/such/page?x=1")
    assert reply.status == 303
    assert location(reply) == "/app/login?next=%2Fapp%2Fno%2Fsuch%2Fpage%3Fx%3D1"
    web.sign_in(tenant.admin.email, next_path="/app/no/such/page")
    for path in ("/app/no/such/page", "/app/nothing", "/app/accounts/acc_x/nothing/here"):
        page = web.get(path)
        assert page.status == 404, path
        assert page.headers["Content-Type"].startswith("text/html")
        assert "Page not found" in page.text and "Sign out" in page.text
    web.get("/app")
    form = web.post("/app/no/such/form", {})
    assert form.status == 404 and "Page not found" in form.text
    # Outside /app a miss is still the API's JSON 404.
    api = web.get("/no/such/route")
    assert api.status == 404 and api.headers["Content-Type"].startswith("application/json")


def test_sign_out_of_an_ended_session_clears_cookies_and_goes_to_sign_in(
    client: Any, tenant: TenantHandle
) -> None:
    web = Web(client)
    web.sign_in(tenant.admin.email)
    web.get("/app")  # the page with its Sign out form
    token = web.csrf()
    # The session ends elsewhere (sign-out everywhere), then the old form is sent.
    ended = Web(client, cookies=dict(web.cookies))
    ended.get("/app")
    assert ended.post("/app/logout", {}).status == 303
    web.cookies["__Host-pulse_session"] = "expired.or.revoked"
    reply = web.post("/app/logout", {}, csrf=token)
    assert reply.status == 303 and location(reply) == "/app/login?notice=signed-out"
    assert "__Host-pulse_session" not in web.cookies
    assert "__Host-pulse_refresh" not in web.cookies
