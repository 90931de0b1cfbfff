"""The account page (the dashboard as a page) and the set-pulse page: every block for an account
with reviews, responses and pulses; the task forms change what the API reads back; set pulse
and same update save through the API's rules, reorder without saving and write nothing on
errors; access as the API's; the page's DynamoDB budget."""

from __future__ import annotations

import re
from typing import Any

import pytest
from support.api import Staff, TenantHandle
from support.web import Web, location, text_of
from survey_support import FULL_ANSWER, make_review, send_review

from chalicelib.store.metering import count_dynamodb


def _web(client: Any, who: Staff) -> Web:
    web = Web(client)
    web.sign_in(who.email)
    return web


def _codes(tenant: TenantHandle, kind: str) -> list[dict[str, Any]]:
    items = tenant.api.get("/reason-codes?tab=pulse&active=true&limit=200").json["items"]
    return [c for c in items if c["type"] in (kind, "both")]


def _pulses(tenant: TenantHandle, account_id: str) -> list[dict[str, Any]]:
    return list(tenant.api.get(f"/accounts/{account_id}/pulses?limit=50").json["items"])


@pytest.fixture
def answered(client: Any, tenant: TenantHandle) -> dict[str, Any]:
    """An account with a sent review, two responses (one asking for a follow-up, both with
    comments), an open action and two pulses."""
    review = make_review(tenant, recipients=2, title="Spring business review")
    tokens = send_review(client, review)
    first, second = review.contacts
    reply = tenant.api.post(f"/r/{tokens[first['id']]}", FULL_ANSWER, token="")
    assert reply.status == 200, reply.body
    answer = {**FULL_ANSWER, "nps": 3, "comment": "Support was slow", "follow_up": True}
    reply = tenant.api.post(f"/r/{tokens[second['id']]}", answer, token="")
    assert reply.status == 200, reply.body
    reply = tenant.api.post(f"/reviews/{review.review_id}/actions", {"title": "Send the roadmap"})
    assert reply.status == 201, reply.body
    risk = _codes(tenant, "risk")[0]
    reply = tenant.api.post(
        f"/accounts/{review.account_id}/pulses",
        {"level": 5, "note": "Kick-off went well", "next_steps": "Plan the QBR"},
    )
    assert reply.status == 201, reply.body
    reply = tenant.api.post(
        f"/accounts/{review.account_id}/pulses",
        {"level": 3, "risk_factors": [risk["id"]], "note": "Support backlog is growing"},
    )
    assert reply.status == 201, reply.body
    return {
        "account_id": review.account_id,
        "review_id": review.review_id,
        "risk": risk,
        "follower": second,
    }


def test_the_account_page_shows_every_block(
    client: Any, tenant: TenantHandle, answered: dict[str, Any]
) -> None:
    web = _web(client, tenant.admin)
    page = web.get(f"/app/accounts/{answered['account_id']}")
    assert page.status == 200, page.text[:500]
    text = text_of(page)
    # Scorecards: one promoter (9) and one detractor (3): NPS 0 from two responses, too few
    # for a trend (the domain's own rule).
    assert "NPS" in text and "2 responses: 1 promoter, 0 passives, 1 detractor" in text
    assert "Trend: not enough responses" in text
    assert "Pulse Index" in text and "Pulse Index by question" in text
    # The task banner: the follow-up with name, email and date, the open action.
    follower = answered["follower"]
    assert "1 pending follow-up · 1 open action" in text
    assert follower["name"] in text and follower["email"] in text
    assert re.search(r"requested \d{4}-\d{2}-\d{2}", text)
    assert "Send the roadmap" in text
    assert page.text.count(">Mark as acknowledged<") == 1
    # Comments with their Mark completed, reviews with the New review link.
    assert "Great quarter" in text and "Support was slow" in text
    assert "Spring business review" in text and "Sent" in text
    assert f'href="/app/accounts/{answered["account_id"]}/reviews/new"' in page.text
    # Current pulse, previous -> current, factors by name, SuccessScore with its explanation.
    assert "Very Satisfied → Some Risk" in text
    assert answered["risk"]["name"] in text
    assert re.search(r"SuccessScore \d+ \(target \d+", text)
    assert "Some Risk (target" in text and "Last change Very Satisfied -> Some Risk" in text
    # The pulse history: an inline chart named for assistive technology, and the notes.
    assert '<svg xmlns="http://www.w3.org/2000/svg"' in page.text and 'role="img"' in page.text
    assert '<title id="chart-title">Pulse history:' in page.text
    assert "Support backlog is growing" in text and "Kick-off went well" in text
    for name in ("Set pulse", "Same update", "New review"):
        assert f">{name}</a>" in page.text


def test_the_account_page_is_four_dynamodb_requests(
    client: Any, tenant: TenantHandle, answered: dict[str, Any]
) -> None:
    web = _web(client, tenant.admin)
    with count_dynamodb() as meter:
        page = web.get(f"/app/accounts/{answered['account_id']}")
    assert page.status == 200
    assert "Support was slow" in page.text  # the whole page, not an error page
    # The session's user, the account, the tenant and the account's dashboard partition.
    assert meter.calls <= 4, meter.summary()
    assert meter.count("GetItem", "-users") == 1
    assert "Scan" not in meter.by_operation


def test_acknowledge_and_complete_change_what_the_api_reads(
    client: Any, tenant: TenantHandle, answered: dict[str, Any]
) -> None:
    account_id = answered["account_id"]
    web = _web(client, tenant.admin)
    page = web.get(f"/app/accounts/{account_id}")
    (follow_up_id,) = re.findall(r'name="follow_up_id" value="([^"]+)"', page.text)
    (action_id,) = re.findall(r'name="action_id" value="([^"]+)"', page.text)
    comment_ids = re.findall(r'name="comment_id" value="([^"]+)"', page.text)

    reply = web.post(
        f"/app/accounts/{account_id}/follow-ups/acknowledge", {"follow_up_id": follow_up_id}
    )
    assert reply.status == 303 and location(reply).startswith(f"/app/accounts/{account_id}?")
    pending = tenant.api.get("/follow-ups?status=pending&limit=200").json["items"]
    assert follow_up_id not in {f["id"] for f in pending}
    done = tenant.api.get("/follow-ups?status=acknowledged&limit=200").json["items"]
    assert follow_up_id in {f["id"] for f in done}

    web.get(f"/app/accounts/{account_id}")
    reply = web.post(f"/app/accounts/{account_id}/actions/complete", {"action_id": action_id})
    assert reply.status == 303
    actions = tenant.api.get(f"/accounts/{account_id}/actions").json["items"]
    assert [a["status"] for a in actions if a["id"] == action_id] == ["completed"]

    comment_id = comment_ids[0]
    web.get(f"/app/accounts/{account_id}")
    reply = web.post(
        f"/app/accounts/{account_id}/comments/notes",
        {"comment_id": comment_id, "text": "Called them back"},
    )
    assert reply.status == 303
    web.get(f"/app/accounts/{account_id}")
    reply = web.post(f"/app/accounts/{account_id}/comments/complete", {"comment_id": comment_id})
    assert reply.status == 303
    comments = tenant.api.get(f"/accounts/{account_id}/comments").json["items"]
    (comment,) = [c for c in comments if c["id"] == comment_id]
    assert comment["completed"] is True
    assert [n["text"] for n in comment["notes"]] == ["Called them back"]

    page = web.get(location(reply))
    text = text_of(page)
    assert "0 pending follow-ups · 0 open actions" in text
    assert "Mark as acknowledged" not in page.text and "Send the roadmap" not in text
    assert "Called them back" in text
    # An empty note is refused on the page and writes nothing.
    reply = web.post(
        f"/app/accounts/{account_id}/comments/notes", {"comment_id": comment_id, "text": " "}
    )
    assert reply.status == 422 and "write a note first" in reply.text
    comments = tenant.api.get(f"/accounts/{account_id}/comments").json["items"]
    assert [len(c["notes"]) for c in comments if c["id"] == comment_id] == [1]


def test_a_task_of_another_account_is_the_404_page(
    client: Any, tenant: TenantHandle, answered: dict[str, Any]
) -> None:
    other = tenant.account(name="Other Account")
    web = _web(client, tenant.admin)
    page = web.get(f"/app/accounts/{answered['account_id']}")
    (follow_up_id,) = re.findall(r'name="follow_up_id" value="([^"]+)"', page.text)
    reply = web.post(
        f"/app/accounts/{other['id']}/follow-ups/acknowledge", {"follow_up_id": follow_up_id}
    )
    assert reply.status == 404 and "Page not found" in reply.text
    pending = tenant.api.get("/follow-ups?status=pending&limit=200").json["items"]
    assert follow_up_id in {f["id"] for f in pending}


def test_an_account_manager_gets_the_404_page_for_another_managers_account(
    client: Any, tenant: TenantHandle
) -> None:
    mine = tenant.add_staff("account_manager")
    theirs = tenant.add_staff("account_manager")
    own = tenant.account(owner=mine, name="My Account")
    other = tenant.account(owner=theirs, name="Their Account")
    web = _web(client, mine)
    assert web.get(f"/app/accounts/{own['id']}").status == 200
    for path in (f"/app/accounts/{other['id']}", f"/app/accounts/{other['id']}/pulse"):
        reply = web.get(path)
        assert reply.status == 404 and "Their Account" not in reply.text, path
    web.get(f"/app/accounts/{own['id']}/pulse")
    reply = web.post(f"/app/accounts/{other['id']}/pulse", {"level": "2", "op": "save"})
    assert reply.status == 404
    assert _pulses(tenant, other["id"]) == []
    # Their own account: they set its pulse, as the API lets them.
    reply = web.post(f"/app/accounts/{own['id']}/pulse", {"level": "4", "op": "save"})
    assert reply.status == 303
    assert [p["level"] for p in _pulses(tenant, own["id"])] == [4]


# ------------------------------------------------------------------------------- set pulse


def test_set_pulse_reorders_without_saving_then_saves(client: Any, tenant: TenantHandle) -> None:
    account = tenant.account(name="Pulse Account")
    risk = [c for c in _codes(tenant, "risk") if c["type"] == "risk"]
    success = [c for c in _codes(tenant, "success") if c["type"] == "success"]
    web = _web(client, tenant.admin)
    form = web.get(f"/app/accounts/{account['id']}/pulse")
    assert form.status == 200
    for label in ("Level", "Risk factors", "Success factors", "Note", "Next steps"):
        assert f">{label}</" in form.text, label
    assert "Up to 800 characters." in form.text
    assert "No pulse has been set for this account yet." in form.text
    path = f"/app/accounts/{account['id']}/pulse"
    # Add two risk factors (each Add posts the form back), then Move up the second.
    fields = {"level": "2", "note": "Escalation", "risk_add": risk[0]["id"], "op": "add:risk"}
    reply = web.post(path, fields)
    assert reply.status == 200
    fields = {
        "level": "2",
        "note": "Escalation",
        "risk_factors": risk[0]["id"],
        "risk_add": risk[1]["id"],
        "op": "add:risk",
    }
    reply = web.post(path, fields)
    assert reply.status == 200
    chosen = re.findall(r'name="risk_factors" value="([^"]+)"', reply.text)
    assert chosen == [risk[0]["id"], risk[1]["id"]]
    assert "Move up" in reply.text and "Move down" in reply.text
    body = f"level=2&note=Escalation&risk_factors={risk[0]['id']}&risk_factors={risk[1]['id']}"
    reply = _post_raw(web, path, body + "&op=move:risk:1:up")
    assert reply.status == 200
    chosen = re.findall(r'name="risk_factors" value="([^"]+)"', reply.text)
    assert chosen == [risk[1]["id"], risk[0]["id"]]
    assert re.search(r'name="level" value="2" id="[^"]+" checked', reply.text)
    assert ">Escalation</textarea>" in reply.text
    assert _pulses(tenant, account["id"]) == []  # nothing saved by Add or Move
    body = (
        f"level=2&note=Escalation&next_steps=Call+the+sponsor&risk_factors={risk[1]['id']}"
        f"&risk_factors={risk[0]['id']}&success_add={success[0]['id']}&op=save"
    )
    reply = _post_raw(web, path, body)
    assert reply.status == 303, text_of(reply)[:900]
    assert location(reply) == f"/app/accounts/{account['id']}?notice=pulse-saved"
    (pulse,) = _pulses(tenant, account["id"])
    assert pulse["level"] == 2 and pulse["note"] == "Escalation"
    assert pulse["next_steps"] == "Call the sponsor"
    assert [f["id"] for f in pulse["risk_factors"]] == [risk[1]["id"], risk[0]["id"]]
    assert [f["id"] for f in pulse["success_factors"]] == [success[0]["id"]]
    page = web.get(location(reply))
    assert "The pulse is saved." in page.text and "High Risk" in text_of(page)


def _post_raw(web: Web, path: str, body: str) -> Any:
    """A form post with repeated fields, as a browser sends hidden inputs of one name."""
    from urllib.parse import quote

    from support.api import Reply

    token = quote(web.csrf(), safe="")
    headers = {
        **web._cookie_header(),
        "Content-Type": "application/x-www-form-urlencoded",
        "Origin": "http://127.0.0.1:8000",
        "Host": "127.0.0.1:8000",
        "Sec-Fetch-Site": "same-origin",
    }
    response = web.client.http.request(
        "POST", path, headers=headers, body=f"{body}&csrf_token={token}"
    )
    return web._keep(Reply(response.status_code, dict(response.headers), response.body))


def test_set_pulse_errors_show_the_form_and_write_nothing(
    client: Any, tenant: TenantHandle
) -> None:
    account = tenant.account(name="Careful Account")
    risk = _codes(tenant, "risk")
    success_only = [c for c in _codes(tenant, "success") if c["type"] == "success"]
    inactive = risk[-1]
    reply = tenant.api.patch(f"/reason-codes/{inactive['id']}", {"active": False})
    assert reply.status == 200, reply.body
    web = _web(client, tenant.admin)
    path = f"/app/accounts/{account['id']}/pulse"
    web.get(path)
    four = "".join(f"&risk_factors={c['id']}" for c in risk[:4])
    cases = {
        "no level": ("note=Hello&op=save", "Level: choose a level"),
        "four factors": (f"level=3{four}&op=save", "choose at most 3 risk factors"),
        "long note": ("level=3&note=" + "x" * 801 + "&op=save", "Note:"),
        "inactive code": (f"level=3&risk_factors={inactive['id']}&op=save", "is inactive"),
        "wrong type": (
            f"level=3&risk_factors={success_only[0]['id']}&op=save",
            "cannot be a risk factor",
        ),
    }
    for name, (body, message) in cases.items():
        reply = _post_raw(web, path, body)
        assert reply.status == 422, (name, reply.status)
        assert "There is a problem" in reply.text, name
        assert message in text_of(reply), (name, text_of(reply)[:1500])
        assert 'aria-invalid="true"' in reply.text or "invalid" in reply.text, name
    assert _pulses(tenant, account["id"]) == []
    assert tenant.api.get(f"/accounts/{account['id']}").json["pulse_level"] is None


def test_same_update_is_prefilled_and_saved_as_the_api_does(
    client: Any, tenant: TenantHandle
) -> None:
    account = tenant.account(name="Steady Account")
    risk = _codes(tenant, "risk")[0]
    reply = tenant.api.post(
        f"/accounts/{account['id']}/pulses",
        {"level": 4, "risk_factors": [risk["id"]], "note": "First", "next_steps": "Keep going"},
    )
    assert reply.status == 201
    web = _web(client, tenant.admin)
    path = f"/app/accounts/{account['id']}/pulse"
    form = web.get(path + "?same=1")
    assert form.status == 200 and "Same update" in form.text
    assert risk["name"] in form.text and ">Keep going</textarea>" in form.text
    reply = web.post(path, {"same": "1", "note": "Still fine", "next_steps": "Keep going"})
    assert reply.status == 303
    latest = _pulses(tenant, account["id"])[0]
    assert latest["same"] is True and latest["level"] == 4
    assert latest["note"] == "Still fine"
    assert [f["id"] for f in latest["risk_factors"]] == [risk["id"]]
    web.get(path + "?same=1")
    reply = web.post(path, {"same": "1", "note": "y" * 801})
    assert reply.status == 422 and "There is a problem" in reply.text
    assert len(_pulses(tenant, account["id"])) == 2
