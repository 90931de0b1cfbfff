from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from chalicelib.domain import charts
from chalicelib.domain import reports as r
from chalicelib.domain.entities import Account

TODAY = date(2026, 3, 15)
NOW = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)


def acct(
    account_id: str,
    level: int | None = None,
    *,
    name: str | None = None,
    arr: int = 100,
    currency: str = "USD",
    stage: str = "value",
    renewal: str | None = None,
    set_days_ago: int | None = None,
    owner: str = "u1",
    risk: list[str] | None = None,
    success: list[str] | None = None,
) -> Account:
    set_at = None
    if set_days_ago is not None:
        set_at = (NOW - timedelta(days=set_days_ago)).isoformat().replace("+00:00", "Z")
    return Account(
        tenant_id="t",
        account_id=account_id,
        name=name or account_id.upper(),
        owner_id=owner,
        arr=arr,
        currency=currency,
        renewal_date=renewal,
        stage=stage,
        created_at="2025-01-01T00:00:00Z",
        pulse_level=level,
        pulse_set_at=set_at,
        success_score=None,
        risk_factors=list(risk or []),
        success_factors=list(success or []),
    )


def test_pulse_summary_buckets_add_up_and_order_best_to_worst() -> None:
    accounts = [acct("a", 6), acct("b", 3, currency="EUR"), acct("c", 3), acct("d")]
    report = r.pulse_summary(accounts, TODAY)
    assert [b["level"] for b in report["levels"]] == [6, 5, 4, 3, 2, 1, None]
    assert sum(b["count"] for b in report["levels"]) == 4
    assert sum(b["share"] for b in report["levels"]) == 1.0
    risk = report["levels"][3]
    assert risk["revenue"] == {"EUR": 100, "USD": 100}
    assert [a["id"] for a in risk["accounts"]] == ["b", "c"]
    assert r.pulse_summary([], TODAY)["levels"][0]["share"] == 0.0


def _iso(days_ago: float) -> str:
    return (NOW - timedelta(days=days_ago)).isoformat().replace("+00:00", "Z")


def test_recent_changes_uses_the_earliest_change_in_the_window() -> None:
    accounts = [acct("a", 5), acct("b", 4), acct("c", 2), acct("d", 4)]
    changes = [
        r.LevelChange("a", _iso(20), None, 3),
        r.LevelChange("a", _iso(2), 3, 5),
        r.LevelChange("c", _iso(1), None, 2),
        r.LevelChange("d", _iso(5), 4, 2),
        r.LevelChange("d", _iso(3), 2, 4),
        r.LevelChange("gone", _iso(1), None, 6),  # deleted or out-of-scope account
    ]
    report = r.recent_changes(accounts, changes, 7, NOW)
    by = {b["slug"]: b for b in report["levels"]}
    assert (by["very_satisfied"]["before"], by["very_satisfied"]["now"]) == (0, 1)
    assert (by["some_risk"]["before"], by["some_risk"]["now"]) == (1, 0)
    assert (by["not_set"]["before"], by["not_set"]["now"]) == (1, 0)
    assert by["fairly_satisfied"]["change"] == 0 and by["fairly_satisfied"]["moved_in"] == []
    assert by["extremely_satisfied"]["now"] == 0
    assert [m["id"] for m in by["high_risk"]["moved_in"]] == ["c"]
    assert by["very_satisfied"]["moved_in"][0]["from_label"] == "Some Risk"
    assert sum(b["before"] for b in report["levels"]) == sum(b["now"] for b in report["levels"])


def test_factor_report_counts_accounts_once_per_category() -> None:
    codes = {
        "slow": r.CodeInfo("slow", "Support", "Slow replies", True, 1),
        "esc": r.CodeInfo("esc", "Support", "Escalations", False, 2),
        "budget": r.CodeInfo("budget", "Business Viability", "Budget", True, 3),
    }
    accounts = [
        acct("a", 2, arr=1000, risk=["slow", "esc", "budget"]),
        acct("b", 3, arr=500, currency="EUR", risk=["slow"]),
        acct("c", 5, risk=["mystery"]),
        acct("d"),
    ]
    factors = {a.account_id: r.Factors(tuple(a.risk_factors), ()) for a in accounts}
    report = r.factor_report(accounts, factors, codes, "risk")
    cats = {c["category"]: c for c in report["categories"]}
    assert cats["Support"]["accounts"] == 2 and cats["Support"]["share"] == 0.5
    assert cats["Support"]["revenue"] == {"USD": 1000, "EUR": 500}
    assert [c["code_id"] for c in cats["Support"]["codes"]] == ["slow", "esc"]
    assert cats["Support"]["codes"][1]["active"] is False  # inactive codes still reported
    assert cats[r.UNKNOWN_CATEGORY]["accounts"] == 1
    assert report["accounts_affected"] == 3
    filtered = r.factor_report(accounts, factors, codes, "risk", levels=[2, 3])
    assert filtered["total_accounts"] == 2
    only = r.factor_report(accounts, factors, codes, "risk", factor_ids=["budget"])
    assert [c["category"] for c in only["categories"]] == ["Business Viability"]
    rows = list(r.factor_rows(report))
    assert rows[0]["revenue"] == "EUR 5.00; USD 10.00"


def test_success_cycle_keeps_tenant_stage_order_and_unknown_stages_last() -> None:
    accounts = [acct("a", 6, stage="onboarding"), acct("b", 1, stage="legacy"), acct("c")]
    report = r.success_cycle(accounts, ["onboarding", "value"])
    assert [row["stage"] for row in report["stages"]] == ["onboarding", "value", "legacy"]
    assert report["stages"][1]["counts"]["not_set"] == 1
    assert report["totals"]["severe_risk"] == 1
    assert next(iter(r.success_cycle_rows(report)))["extremely_satisfied"] == 1


def test_renewal_health_sorts_past_first_and_flags() -> None:
    accounts = [
        acct("later", 5, renewal="2026-09-01"),
        acct("past", 2, renewal="2026-03-01"),
        acct("soon", 4, renewal="2026-04-01"),
        acct("none", 4),
    ]
    report = r.renewal_health(accounts, TODAY)
    assert [row["id"] for row in report["items"]] == ["past", "soon", "later", "none"]
    assert report["items"][0]["days_to_renewal"] == -14
    assert report["items"][0]["past_renewal"] and report["items"][0]["at_risk"]
    assert report["revenue_past_renewal"] == {"USD": 100}
    within = r.renewal_health(accounts, TODAY, within_days=30)
    assert [row["id"] for row in within["items"]] == ["past", "soon"]


def test_segment_filter_criteria() -> None:
    a = acct("a", 1, renewal="2026-04-10", set_days_ago=40, owner="u2", stage="renewal", risk=["x"])
    b = acct("b", 5, renewal="2027-01-01", set_days_ago=3)
    c = acct("c")  # never pulsed
    accounts = [a, b, c]
    factors = {x.account_id: r.Factors(tuple(x.risk_factors), ()) for x in accounts}

    def ids(**spec: object) -> list[str]:
        flt = r.SegmentFilter.from_dict(spec)
        return [x.account_id for x in r.apply_segment(accounts, factors, flt, TODAY)]

    assert ids() == ["a", "b", "c"]
    assert ids(levels=["severe_risk"]) == ["a"]
    assert ids(levels=[1], include_not_set=True) == ["a", "c"]
    assert ids(min_days_since_pulse=30) == ["a", "c"]
    assert ids(max_days_since_pulse=7) == ["b"]
    assert ids(renewal_within_days=30) == ["a"]
    assert ids(renewal_from="2026-12-01", renewal_to="2027-03-31") == ["b"]
    assert ids(owner_ids=["u2"]) == ["a"]
    assert ids(stages=["renewal"]) == ["a"]
    assert ids(factors=["x"]) == ["a"]
    assert ids(success_factors=["x"]) == []


def test_bar_chart_geometry_and_description() -> None:
    chart = charts.bar_chart("Accounts", charts.level_bars({6: 2, 3: 1, None: 1}), 4)
    assert len(chart.bars) == 7
    widths = [bar.width for bar in chart.bars]
    assert widths[0] == max(widths) and widths[1] == 0.0
    assert "Extremely Satisfied: 2 (50%)" in chart.desc
    assert chart.height > chart.bars[-1].y + chart.bars[-1].height


def test_line_chart_step_series_and_axes() -> None:
    start, end = date(2025, 3, 15), date(2026, 3, 15)
    chart = charts.line_chart(
        "History",
        [
            charts.SeriesInput(
                "Level", [(date(2025, 5, 1), 3), (date(2026, 1, 1), 5)], 1, 6, step=True
            ),
            charts.SeriesInput("Score", [(date(2025, 5, 1), 40.0)], 0, 100, secondary=True),
        ],
        start,
        end,
        y_ticks=charts.level_ticks(),
        y2_ticks=[(0, "0"), (100, "100")],
    )
    level = chart.series[0]
    assert (
        level.path.startswith("M") and " H" in level.path and level.path.endswith(f"H{chart.right}")
    )
    assert level.points[1].y < level.points[0].y  # a better level is drawn higher
    assert chart.y_ticks[0].label == "Extremely Satisfied" and chart.y_ticks[0].pos == chart.top
    assert chart.y2_ticks[1].pos == chart.top
    assert len(chart.x_ticks) >= 6
    assert not chart.empty
    empty = charts.line_chart("None", [], start, end, y_ticks=[])
    assert empty.empty
