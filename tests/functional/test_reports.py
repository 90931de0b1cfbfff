from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from report_data import set_pulse
from support.api import TenantHandle


def _day(offset: int) -> str:
    return (datetime.now(UTC).date() + timedelta(days=offset)).isoformat()


def _csv(body: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body.decode("utf-8"), newline="")))


def test_pulse_summary_shares_revenue_and_csv(tenant: TenantHandle) -> None:
    a = tenant.account(name="Alpha", arr=100_00)
    b = tenant.account(name="=cmd()", arr=250_00, currency="EUR")
    c = tenant.account(name="Gamma", arr=50_00)
    tenant.account(name="Delta (no pulse)")
    set_pulse(tenant.tenant_id, a["id"], 6, score=90)
    set_pulse(tenant.tenant_id, b["id"], 3, score=40)
    set_pulse(tenant.tenant_id, c["id"], 3, score=35)

    reply = tenant.api.get("/reports/pulse-summary")
    assert reply.status == 200
    report = reply.json
    assert report["total_accounts"] == 4
    by_slug = {bucket["slug"]: bucket for bucket in report["levels"]}
    assert report["levels"][0]["slug"] == "extremely_satisfied"
    assert by_slug["some_risk"]["count"] == 2
    assert by_slug["some_risk"]["share"] == 0.5
    assert by_slug["some_risk"]["revenue"] == {"EUR": 250_00, "USD": 50_00}
    assert by_slug["not_set"]["count"] == 1
    assert sum(bucket["share"] for bucket in report["levels"]) == 1.0

    for reply in (
        tenant.api.get("/reports/pulse-summary", headers={"Accept": "text/csv"}),
        tenant.api.get("/reports/pulse-summary.csv"),
    ):
        assert reply.status == 200
        assert reply.headers["Content-Type"].startswith("text/csv")
        rows = _csv(reply.body)
        assert len(rows) == 4
        names = {row["name"] for row in rows}
        assert "'=cmd()" in names and "=cmd()" not in names


def test_account_manager_reports_cover_only_own_accounts(tenant: TenantHandle) -> None:
    am = tenant.add_staff("account_manager")
    mine = tenant.account(owner=am, name="Mine")
    theirs = tenant.account(name="Theirs")
    set_pulse(tenant.tenant_id, mine["id"], 2)
    set_pulse(tenant.tenant_id, theirs["id"], 2)
    api = tenant.as_(am)
    report = api.get("/reports/pulse-summary").json
    assert report["total_accounts"] == 1
    listed = [a["id"] for bucket in report["levels"] for a in bucket["accounts"]]
    assert listed == [mine["id"]]
    renewal = api.get("/reports/renewal-health").json
    assert [row["id"] for row in renewal["items"]] == [mine["id"]]
    assert api.get("/reports/success-cycle").json["total_accounts"] == 1


def test_success_cycle_stage_by_level(tenant: TenantHandle) -> None:
    onboarding = tenant.account(stage="onboarding")
    renewal = tenant.account(stage="renewal")
    renewal2 = tenant.account(stage="renewal")
    set_pulse(tenant.tenant_id, onboarding["id"], 5)
    set_pulse(tenant.tenant_id, renewal["id"], 1)
    report = tenant.api.get("/reports/success-cycle").json
    stages = {row["stage"]: row for row in report["stages"]}
    assert [row["stage"] for row in report["stages"]][:5] == [
        "onboarding",
        "adoption",
        "value",
        "renewal",
        "expansion",
    ]
    assert stages["renewal"]["counts"]["severe_risk"] == 1
    assert stages["renewal"]["counts"]["not_set"] == 1
    assert stages["renewal"]["shares"]["severe_risk"] == 0.5
    assert stages["onboarding"]["counts"]["very_satisfied"] == 1
    assert renewal2["id"]
    rows = _csv(tenant.api.get("/reports/success-cycle.csv").body)
    assert rows[0]["stage"] == "onboarding" and rows[0]["very_satisfied"] == "1"


def test_renewal_health_orders_and_flags_past_renewals(tenant: TenantHandle) -> None:
    past = tenant.account(name="Overdue", renewal_date=_day(-10))
    soon = tenant.account(name="Soon", renewal_date=_day(20))
    later = tenant.account(name="Later", renewal_date=_day(200))
    none = tenant.account(name="Undated")
    set_pulse(tenant.tenant_id, soon["id"], 2, score=30)
    report = tenant.api.get("/reports/renewal-health").json
    ids = [row["id"] for row in report["items"]]
    assert ids == [past["id"], soon["id"], later["id"], none["id"]]
    first, second = report["items"][0], report["items"][1]
    assert first["past_renewal"] is True and first["days_to_renewal"] == -10
    assert second["level_label"] == "High Risk" and second["success_score"] == 30
    assert second["at_risk"] is True
    assert report["past_renewal"] == 1
    window = tenant.api.get("/reports/renewal-health?within_days=30").json
    assert [row["id"] for row in window["items"]] == [past["id"], soon["id"]]
    assert tenant.api.get("/reports/renewal-health?within_days=-1").status == 422
    rows = _csv(tenant.api.get("/reports/renewal-health", headers={"Accept": "text/csv"}).body)
    assert rows[0]["past_renewal"] == "true"


def test_recent_changes_counts_now_versus_before(tenant: TenantHandle) -> None:
    moved_up = tenant.account(name="Moved up")
    steady = tenant.account(name="Steady")
    new_pulse = tenant.account(name="First pulse")
    bounced = tenant.account(name="Bounced")
    set_pulse(tenant.tenant_id, steady["id"], 4, days_ago=30)
    set_pulse(tenant.tenant_id, moved_up["id"], 3, days_ago=20)
    set_pulse(tenant.tenant_id, moved_up["id"], 5, days_ago=2, previous=3)
    set_pulse(tenant.tenant_id, new_pulse["id"], 2, days_ago=1)
    set_pulse(tenant.tenant_id, bounced["id"], 4, days_ago=40)
    set_pulse(tenant.tenant_id, bounced["id"], 2, days_ago=5, previous=4)
    set_pulse(tenant.tenant_id, bounced["id"], 4, days_ago=3, previous=2)

    report = tenant.api.get("/reports/recent-changes?days=7").json
    levels = {bucket["slug"]: bucket for bucket in report["levels"]}
    assert report["days"] == 7
    assert levels["very_satisfied"]["now"] == 1 and levels["very_satisfied"]["before"] == 0
    assert levels["some_risk"]["now"] == 0 and levels["some_risk"]["before"] == 1
    assert levels["fairly_satisfied"]["now"] == 2 and levels["fairly_satisfied"]["before"] == 2
    assert levels["not_set"]["before"] == 1 and levels["not_set"]["now"] == 0
    assert [a["id"] for a in levels["very_satisfied"]["moved_in"]] == [moved_up["id"]]
    assert levels["very_satisfied"]["moved_in"][0]["from_level"] == 3
    assert [a["id"] for a in levels["high_risk"]["moved_in"]] == [new_pulse["id"]]
    assert levels["fairly_satisfied"]["moved_in"] == []  # bounced back: no net move

    wide = tenant.api.get("/reports/recent-changes?days=25").json
    assert {b["slug"]: b["before"] for b in wide["levels"]}["not_set"] == 2
    rows = _csv(tenant.api.get("/reports/recent-changes.csv?days=7").body)
    assert {row["name"] for row in rows} == {"Moved up", "First pulse"}
    assert tenant.api.get("/reports/recent-changes?days=0").status == 422


def test_report_query_validation(tenant: TenantHandle) -> None:
    assert tenant.api.get("/reports/risk-factors?levels=9").status == 422
    assert tenant.api.get("/reports/risk-factors?levels=some_risk,1").status == 200


def _codes(tenant_id: str) -> dict[str, dict[str, str]]:
    from chalicelib.store import reason_codes

    if not reason_codes.all_codes(tenant_id):
        reason_codes.seed_defaults(tenant_id)
    return {
        f"{code.category}/{code.name}": {"id": code.code_id, "category": code.category}
        for code in reason_codes.all_codes(tenant_id)
        if code.tab == "pulse"
    }


def test_risk_and_success_factor_reports(tenant: TenantHandle) -> None:
    codes = _codes(tenant.tenant_id)
    slow = codes["Support/Slow first reply to tickets"]["id"]
    escalations = codes["Support/Escalations left unresolved"]["id"]
    budget = codes["Business Viability/Budget squeeze at the client"]["id"]
    praise = codes["Support/Support team singled out for praise"]["id"]
    a = tenant.account(name="A", arr=1000_00)
    b = tenant.account(name="B", arr=500_00, currency="EUR")
    c = tenant.account(name="C", arr=200_00)
    tenant.account(name="D (no pulse)")
    set_pulse(tenant.tenant_id, a["id"], 2, risk=[slow, escalations, budget])
    set_pulse(tenant.tenant_id, b["id"], 3, risk=[slow])
    set_pulse(tenant.tenant_id, c["id"], 5, success=[praise])

    report = tenant.api.get("/reports/risk-factors").json
    assert report["total_accounts"] == 4
    assert report["accounts_affected"] == 2 and report["share_affected"] == 0.5
    assert report["revenue_affected"] == {"USD": 1000_00, "EUR": 500_00}
    categories = {c["category"]: c for c in report["categories"]}
    support = categories["Support"]
    assert report["categories"][0]["category"] == "Support"
    assert support["accounts"] == 2  # A counted once despite two Support codes
    assert support["share"] == 0.5
    assert support["revenue"] == {"USD": 1000_00, "EUR": 500_00}
    assert [(code["name"], code["accounts"]) for code in support["codes"]] == [
        ("Slow first reply to tickets", 2),
        ("Escalations left unresolved", 1),
    ]
    assert categories["Business Viability"]["accounts"] == 1

    at_high = tenant.api.get("/reports/risk-factors?levels=high_risk").json
    assert at_high["total_accounts"] == 1 and at_high["accounts_affected"] == 1
    only_budget = tenant.api.get(f"/reports/risk-factors?factors={budget}").json
    assert [c["category"] for c in only_budget["categories"]] == ["Business Viability"]

    success = tenant.api.get("/reports/success-factors").json
    assert success["accounts_affected"] == 1
    assert success["categories"][0]["codes"][0]["code_id"] == praise

    rows = _csv(tenant.api.get("/reports/risk-factors.csv").body)
    assert rows[0] == {
        "category": "Support",
        "code_id": slow,
        "code": "Slow first reply to tickets",
        "active": "true",
        "accounts": "2",
        "share": "0.5",
        "revenue": "EUR 500.00; USD 1000.00",
    }


def test_pulse_summary_svg_is_accessible(tenant: TenantHandle) -> None:
    a = tenant.account(name="<script>alert(1)</script>")
    set_pulse(tenant.tenant_id, a["id"], 4)
    reply = tenant.api.get("/reports/pulse-summary.svg")
    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith("image/svg+xml")
    text = reply.text
    assert text.startswith("<svg") and "<title" in text and "<desc" in text
    assert "Fairly Satisfied: 1 (100%)" in text
    import xml.etree.ElementTree as ET

    ET.fromstring(text)  # noqa: S314 - well-formed XML (our own response)


def test_pulse_history_svg(tenant: TenantHandle) -> None:
    account = tenant.account(name='Acme & "Sons" <Ltd>')
    set_pulse(tenant.tenant_id, account["id"], 3, days_ago=60, score=45)
    set_pulse(tenant.tenant_id, account["id"], 5, days_ago=10, score=62, previous=3)
    reply = tenant.api.get(f"/accounts/{account['id']}/pulse-history.svg")
    assert reply.status == 200, reply.body
    import xml.etree.ElementTree as ET

    root = ET.fromstring(reply.text)  # noqa: S314 - our own response
    title = root.find("{http://www.w3.org/2000/svg}title")
    assert title is not None and title.text == 'Pulse history: Acme & "Sons" <Ltd>'
    am = tenant.add_staff("account_manager")
    assert tenant.as_(am).get(f"/accounts/{account['id']}/pulse-history.svg").status == 404
