from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from report_data import set_pulse
from support.api import TenantHandle


def _day(offset: int) -> str:
    return (datetime.now(UTC).date() + timedelta(days=offset)).isoformat()


def _rows(body: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body.decode("utf-8"), newline="")))


def test_segment_filters_levels_and_renewal_window(tenant: TenantHandle) -> None:
    hit = tenant.account(name="Severe, renewing", renewal_date=_day(30))
    late = tenant.account(name="Severe, later", renewal_date=_day(300))
    fine = tenant.account(name="Happy, renewing", renewal_date=_day(30))
    set_pulse(tenant.tenant_id, hit["id"], 1)
    set_pulse(tenant.tenant_id, late["id"], 1)
    set_pulse(tenant.tenant_id, fine["id"], 6)
    created = tenant.api.post(
        "/segments",
        {
            "name": "Severe risk renewing soon",
            "filter": {"levels": ["severe_risk"], "renewal_from": _day(0), "renewal_to": _day(90)},
        },
    )
    assert created.status == 201, created.body
    segment = created.json
    assert segment["filter"]["levels"] == [1]
    listed = tenant.api.get("/segments").json["items"]
    assert [s["id"] for s in listed] == [segment["id"]]
    assert tenant.api.get(f"/segments/{segment['id']}").json["name"] == "Severe risk renewing soon"
    accounts = tenant.api.get(f"/segments/{segment['id']}/accounts").json
    assert [a["id"] for a in accounts["items"]] == [hit["id"]]


def test_segment_days_since_pulse_counts_never_pulsed_as_stale(tenant: TenantHandle) -> None:
    stale = tenant.account(name="Stale")
    fresh = tenant.account(name="Fresh")
    never = tenant.account(name="Never")
    set_pulse(tenant.tenant_id, stale["id"], 4, days_ago=45)
    set_pulse(tenant.tenant_id, fresh["id"], 4, days_ago=2)
    seg = tenant.api.post(
        "/segments", {"name": "Not pulsed in 30 days", "filter": {"min_days_since_pulse": 30}}
    ).json
    ids = [a["id"] for a in tenant.api.get(f"/segments/{seg['id']}/accounts").json["items"]]
    assert ids == [never["id"], stale["id"]]  # by name
    recent = tenant.api.post(
        "/segments", {"name": "Recent", "filter": {"max_days_since_pulse": 7}}
    ).json
    ids = [a["id"] for a in tenant.api.get(f"/segments/{recent['id']}/accounts").json["items"]]
    assert ids == [fresh["id"]]


def test_segment_owner_stage_filters_and_account_manager_scope(tenant: TenantHandle) -> None:
    am = tenant.add_staff("account_manager")
    mine = tenant.account(owner=am, name="Mine", stage="renewal")
    tenant.account(owner=am, name="Mine onboarding", stage="onboarding")
    tenant.account(name="Admin's renewal", stage="renewal")
    seg = tenant.api.post("/segments", {"name": "Renewal stage", "filter": {"stages": ["renewal"]}})
    assert seg.status == 201
    seg_id = seg.json["id"]
    assert len(tenant.api.get(f"/segments/{seg_id}/accounts").json["items"]) == 2
    as_am = tenant.as_(am)
    items = as_am.get(f"/segments/{seg_id}/accounts").json["items"]
    assert [a["id"] for a in items] == [mine["id"]]
    by_owner = tenant.api.post(
        "/segments", {"name": "AM's", "filter": {"owner_ids": [am.user_id]}}
    ).json
    assert len(tenant.api.get(f"/segments/{by_owner['id']}/accounts").json["items"]) == 2


def test_segment_pagination_and_export_is_safe_csv(tenant: TenantHandle) -> None:
    names = ["=cmd()", "+SUM(A1)", "-2+3", "@lookup", "=1+2", 'Quote "q", comma', "Zürich AG"]
    for name in names:
        tenant.account(name=name, renewal_date=_day(10))
    seg = tenant.api.post("/segments", {"name": "=All renewing", "filter": {}}).json
    first = tenant.api.get(f"/segments/{seg['id']}/accounts?limit=3").json
    assert len(first["items"]) == 3 and first["next_cursor"]
    seen = [a["id"] for a in first["items"]]
    cursor = first["next_cursor"]
    while cursor:
        page = tenant.api.get(f"/segments/{seg['id']}/accounts?limit=3&cursor={cursor}").json
        seen += [a["id"] for a in page["items"]]
        cursor = page["next_cursor"]
    assert len(seen) == len(set(seen)) == len(names)
    tampered = tenant.api.get(f"/segments/{seg['id']}/accounts?cursor={first['next_cursor']}x")
    assert tampered.status == 400

    reply = tenant.api.get(f"/segments/{seg['id']}/export.csv")
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="All-renewing-' in reply.headers["Content-Disposition"]
    assert reply.body.count(b"\r\n") == len(names) + 1  # CRLF rows, header first
    rows = _rows(reply.body)
    exported = {row["name"] for row in rows}
    for dangerous in ("=cmd()", "+SUM(A1)", "-2+3", "@lookup", "=1+2"):
        assert dangerous not in exported
        assert "'" + dangerous in exported
    assert 'Quote "q", comma' in exported and "Zürich AG" in exported
    assert rows[0]["owner_name"] == "Avery Admin"


def test_segment_validation_and_isolation(tenant: TenantHandle, other_tenant: TenantHandle) -> None:
    bad = tenant.api.post(
        "/segments",
        {
            "name": "Bad",
            "filter": {"levels": [9], "min_days_since_pulse": -1, "colour": "red"},
        },
    )
    assert bad.status == 422
    assert {"filter.levels", "filter.min_days_since_pulse", "filter.colour"} <= set(
        bad.json["error"]["fields"]
    )
    inverted = tenant.api.post(
        "/segments",
        {"name": "Inverted", "filter": {"renewal_from": _day(9), "renewal_to": _day(1)}},
    )
    assert inverted.status == 422
    seg = tenant.api.post("/segments", {"name": "Mine"}).json
    assert other_tenant.api.get(f"/segments/{seg['id']}").status == 404
    assert other_tenant.api.get(f"/segments/{seg['id']}/accounts").status == 404
    assert other_tenant.api.get(f"/segments/{seg['id']}/export.csv").status == 404
    assert other_tenant.api.get("/segments").json["items"] == []
