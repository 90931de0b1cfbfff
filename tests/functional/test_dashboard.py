from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest
from report_data import set_pulse
from support.api import TenantHandle

from chalicelib.services import pulses, reports
from chalicelib.store import insights
from chalicelib.store.insights import Scores
from chalicelib.store.metering import count_dynamodb


def _month(delta: int) -> str:
    today = datetime.now(UTC).date()
    index = today.year * 12 + today.month - 1 + delta
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _respond(tenant_id: str, account_id: str, month: str, nps: int, score: int) -> None:
    insights.apply_response(
        tenant_id,
        account_id,
        month=month,
        old=None,
        new=Scores({"service": score, "value": score - 1 if score > 1 else 1}, nps),
    )


def _fill(tenant_id: str, account_id: str) -> None:
    # Six responses this month and six 13 months ago (inside the previous 12-month period).
    for nps, score in [(10, 5), (9, 5), (9, 4), (8, 4), (3, 2), (10, 5)]:
        _respond(tenant_id, account_id, _month(0), nps, score)
    for nps, score in [(5, 2), (6, 3), (7, 3), (9, 4), (2, 2), (4, 2)]:
        _respond(tenant_id, account_id, _month(-13), nps, score)
    insights.record_review(
        tenant_id,
        account_id,
        review_id="rev_1",
        title="Q1 review",
        review_date="2026-01-10",
        status="sent",
        sent_at="2026-01-10T09:00:00Z",
        recipients=3,
        responses=2,
    )
    insights.record_review(
        tenant_id,
        account_id,
        review_id="rev_2",
        title="Draft",
        review_date="2026-04-01",
        status="draft",
    )
    insights.record_comment(
        tenant_id,
        account_id,
        comment_id="cmt_1",
        created_at=datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        text="<b>Great</b> quarter",
        review_id="rev_1",
        contact_name="Dana",
    )
    insights.adjust_tasks(tenant_id, account_id, open_actions=2, pending_follow_ups=1)
    insights.adjust_tasks(tenant_id, account_id, open_actions=-1)


def test_dashboard_scorecards_trends_tasks_in_three_requests(tenant: TenantHandle) -> None:
    account = tenant.account(name="Dash Co")
    set_pulse(tenant.tenant_id, account["id"], 4, score=58.26)
    _fill(tenant.tenant_id, account["id"])

    with count_dynamodb() as meter:
        reply = tenant.api.get(f"/accounts/{account['id']}/dashboard")
    assert reply.status == 200, reply.body
    # The caller's stored user (every staff request) and the dashboard's three reads.
    assert meter.calls <= 4, meter.summary()
    assert meter.count("GetItem", "-users") == 1

    body = reply.json
    nps = body["nps"]
    assert (nps["promoters"], nps["passives"], nps["detractors"], nps["responses"]) == (4, 1, 1, 6)
    assert nps["score"] == 50.0
    assert nps["trend"]["direction"] == "improving"  # month -13 is in the previous 12 months
    assert nps["trend"]["previous_score"] == -50.0
    thin = tenant.api.get(f"/accounts/{account['id']}/dashboard?period=6m").json
    assert thin["nps"]["trend"] == {
        "direction": None,
        "reason": "not enough responses",
        "delta": None,
        "previous_score": None,
        "previous_responses": 0,
    }
    pi = body["pulse_index"]
    service = next(q for q in pi["by_question"] if q["question_id"] == "service")
    assert service["text"] == "Service" and service["responses"] == 6
    assert service["values"] == [{"month": _month(0), "score": 4.17, "responses": 6}]
    assert [q["question_id"] for q in pi["by_question"]][:4] == [
        "service",
        "relationship",
        "value",
        "quality",
    ]
    assert body["tasks"] == {"open_actions": 1, "pending_follow_ups": 1}
    assert [r["review_id"] for r in body["reviews"]] == ["rev_2", "rev_1"]
    assert body["comments"][0]["text"] == "<b>Great</b> quarter"
    assert body["pulse"]["label"] == "Fairly Satisfied"
    assert body["success_score"] == 58.3

    two_years = tenant.api.get(f"/accounts/{account['id']}/dashboard?period=24m").json
    assert two_years["nps"]["responses"] == 12
    quarter = tenant.api.get(f"/accounts/{account['id']}/dashboard?period=1m").json
    assert quarter["nps"]["responses"] == 6


def test_dashboard_trend_with_enough_responses(tenant: TenantHandle) -> None:
    account = tenant.account()
    for nps, score in [(10, 5), (9, 5), (9, 4), (10, 4), (9, 5)]:
        _respond(tenant.tenant_id, account["id"], _month(0), nps, score)
    for nps, score in [(5, 2), (6, 3), (7, 3), (9, 4), (2, 2)]:
        _respond(tenant.tenant_id, account["id"], _month(-1), nps, score)
    body = tenant.api.get(f"/accounts/{account['id']}/dashboard?period=1m").json
    assert body["nps"]["trend"]["direction"] == "improving"
    assert body["pulse_index"]["trend"]["direction"] == "improving"
    service = body["pulse_index"]["by_question"][0]
    assert service["trend"]["direction"] == "improving"


def test_dashboard_edits_replace_answers_and_access(
    tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    account = tenant.account()
    insights.apply_response(
        tenant.tenant_id, account["id"], month=_month(0), old=None, new=Scores({"service": 2}, 3)
    )
    insights.apply_response(
        tenant.tenant_id,
        account["id"],
        month=_month(0),
        old=Scores({"service": 2}, 3),
        new=Scores({"service": 5}, 10),
    )
    body = tenant.api.get(f"/accounts/{account['id']}/dashboard").json
    assert body["nps"]["promoters"] == 1 and body["nps"]["detractors"] == 0
    assert body["pulse_index"]["by_question"][0]["score"] == 5.0
    assert tenant.api.get(f"/accounts/{account['id']}/dashboard?period=99m").status == 422
    assert tenant.api.get(f"/accounts/{account['id']}/dashboard?period=2025-Q2").status == 200
    assert other_tenant.api.get(f"/accounts/{account['id']}/dashboard").status == 404
    am = tenant.add_staff("account_manager")
    assert tenant.as_(am).get(f"/accounts/{account['id']}/dashboard").status == 404


def test_workspace_report_rows_totals_and_scope(tenant: TenantHandle) -> None:
    am = tenant.add_staff("account_manager")
    mine = tenant.account(owner=am, name="Mine")
    other = tenant.account(name="Other")
    _fill(tenant.tenant_id, mine["id"])
    _respond(tenant.tenant_id, other["id"], _month(0), 0, 1)

    report = tenant.api.get("/reports/workspace").json
    rows = {row["id"]: row for row in report["items"]}
    assert rows[mine["id"]]["reviews_sent"] == 1
    assert rows[mine["id"]]["last_review_at"] == "2026-01-10T09:00:00Z"
    assert rows[mine["id"]]["days_since_last_review"] >= 0
    assert rows[mine["id"]]["nps"]["responses"] == 12
    assert rows[other["id"]]["nps"]["detractors"] == 1
    assert report["totals"]["accounts"] == 2
    assert report["totals"]["nps"]["responses"] == 13
    assert report["totals"]["reviews_sent"] == 1

    as_am = tenant.as_(am).get("/reports/workspace").json
    assert [row["id"] for row in as_am["items"]] == [mine["id"]]
    assert as_am["totals"]["nps"]["responses"] == 12
    csv_reply = tenant.api.get("/reports/workspace.csv")
    assert csv_reply.status == 200 and csv_reply.text.startswith("id,name,owner_id,reviews_sent")


def test_pulse_index_svg(tenant: TenantHandle) -> None:
    account = tenant.account(name="Chart & Co")
    _fill(tenant.tenant_id, account["id"])
    reply = tenant.api.get(f"/accounts/{account['id']}/pulse-index.svg?period=24m")
    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith("image/svg+xml")
    root = ET.fromstring(reply.text)  # noqa: S314 - our own response
    ns = "{http://www.w3.org/2000/svg}"
    assert root.find(f"{ns}title").text == "Pulse Index by question: Chart & Co"  # type: ignore[union-attr]
    assert "Service: 2 values" in root.find(f"{ns}desc").text  # type: ignore[operator,union-attr]


def test_deleting_an_account_removes_its_insights(tenant: TenantHandle) -> None:
    account = tenant.account()
    _fill(tenant.tenant_id, account["id"])
    assert tenant.api.delete(f"/accounts/{account['id']}").status == 204
    assert insights.account_insights(tenant.tenant_id, account["id"]).periods == {}
    assert insights.workspace_items(tenant.tenant_id) == {}


def test_dashboard_and_chart_show_todays_success_score_weeks_after_the_pulse(
    tenant: TenantHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The account item keeps the score written when the pulse was set; six weeks on, the
    score has grown toward the level's target and all three views show that same number."""
    account = tenant.account(name="Later Co")
    assert tenant.api.post(f"/accounts/{account['id']}/pulses", {"level": 4}).status == 201
    at_pulse = tenant.api.get(f"/accounts/{account['id']}/dashboard").json["success_score"]
    assert at_pulse == 57.5

    later = datetime.now(UTC).date() + timedelta(weeks=6)
    monkeypatch.setattr(pulses, "today", lambda: later)
    monkeypatch.setattr(reports, "today", lambda: later)

    view = tenant.api.get(f"/accounts/{account['id']}/success-score").json
    assert view["date"] == later.isoformat()
    assert 57.5 < view["score"] < 65.0  # grown toward level 4's target
    dashboard = tenant.api.get(f"/accounts/{account['id']}/dashboard").json
    assert dashboard["success_score"] == round(view["score"], 1)

    svg = tenant.api.get(f"/accounts/{account['id']}/pulse-history.svg")
    assert svg.status == 200, svg.body
    root = ET.fromstring(svg.text)  # noqa: S314 - our own response
    ns = "{http://www.w3.org/2000/svg}"
    desc = root.find(f"{ns}desc").text or ""  # type: ignore[union-attr]
    assert f"to {view['display_score']} on {later.isoformat()}" in desc
    labels = [t.text for t in root.iter(f"{ns}title")]
    assert f"SuccessScore, {later.isoformat()}: {view['display_score']}" in labels
    assert view["display_score"] != 58  # not the value at the pulse (57.5 shows as 58)
