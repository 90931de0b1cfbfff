"""Reports, segments and the account dashboard: read what the caller may see, then count.

Every report reads whole-tenant data with Queries (never a Scan): the tenant's accounts (or, for an
account manager, the by-owner index), plus at most a few small per-tenant partitions (reason
codes, level changes, users, settings). The request budget at 5,000 accounts is in
``docs/reports.md`` and measured by ``make bench``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from chalicelib.auth.tokens import Principal
from chalicelib.domain import charts
from chalicelib.domain import dashboard as dash
from chalicelib.domain import reports as domain
from chalicelib.domain.entities import DEFAULT_STAGES, Account
from chalicelib.domain.reports import CodeInfo, Factors, SegmentFilter
from chalicelib.domain.success_score import (
    ScoreParams,
    ScoreState,
    display_score,
    explain,
    score_on,
)
from chalicelib.domain.tenant_settings import effective
from chalicelib.errors import ValidationFailed
from chalicelib.mail.render import render
from chalicelib.services import pulses
from chalicelib.store import accounts as account_store
from chalicelib.store import insights as insight_store
from chalicelib.store import level_changes
from chalicelib.store import pulses as pulse_store
from chalicelib.store import reason_codes as code_store
from chalicelib.store import segments as segment_store
from chalicelib.store import tenants as tenant_store
from chalicelib.store.base import decode_cursor, encode_cursor, new_id, now_iso

MAX_SEGMENTS_PER_TENANT = 200

# Deleting an account deletes its dashboard partition and workspace summary.
if insight_store.delete_for_account not in account_store.ACCOUNT_CASCADE:
    account_store.ACCOUNT_CASCADE.append(insight_store.delete_for_account)


def today() -> date:
    return datetime.now(UTC).date()


def now() -> datetime:
    return datetime.now(UTC)


# ------------------------------------------------------------------------------------ reading


def scoped_accounts(principal: Principal) -> list[Account]:
    """Every account this caller may see: the tenant's, or the manager's own (by-owner index)."""
    if principal.sees_all_accounts:
        accounts = account_store.iter_accounts(principal.tenant_id)
    else:
        accounts = account_store.iter_owner_accounts(principal.tenant_id, principal.user_id)
    # The stored score is the one at the last pulse; reports show today's.
    return pulses.with_live_scores(principal.tenant_id, accounts)


def account_factors(accounts: Sequence[Account]) -> dict[str, Factors]:
    """The current pulse's factors, read off the account items (kept there by the pulse store)."""
    return {
        a.account_id: Factors(tuple(a.risk_factors), tuple(a.success_factors)) for a in accounts
    }


def reason_codes(tenant_id: str) -> dict[str, CodeInfo]:
    """The tenant's reason codes (active or not: inactive codes still appear in reports)."""
    return {
        code.code_id: CodeInfo(code.code_id, code.category, code.name, code.active, code.position)
        for code in code_store.all_codes(tenant_id)
        if code.tab == "pulse"
    }


def stages(tenant_id: str) -> tuple[str, ...]:
    settings = tenant_store.get_tenant(tenant_id).settings
    return tuple(effective(settings).stages or DEFAULT_STAGES)


def owner_names(tenant_id: str) -> dict[str, str]:
    return {user.user_id: user.name for user in tenant_store.all_users(tenant_id)}


# ------------------------------------------------------------------------------------ reports


def pulse_summary(principal: Principal) -> dict[str, Any]:
    return domain.pulse_summary(scoped_accounts(principal), today())


def recent_changes(principal: Principal, days: int) -> dict[str, Any]:
    accounts = scoped_accounts(principal)
    moment = now()
    changes = level_changes.since(principal.tenant_id, moment, days)
    return domain.recent_changes(accounts, changes, days, moment)


def factor_report(
    principal: Principal, kind: str, levels: Sequence[int], factor_ids: Sequence[str]
) -> dict[str, Any]:
    accounts = scoped_accounts(principal)
    return domain.factor_report(
        accounts,
        account_factors(accounts),
        reason_codes(principal.tenant_id),
        kind,
        levels=levels,
        factor_ids=factor_ids,
    )


def success_cycle(principal: Principal) -> dict[str, Any]:
    accounts = scoped_accounts(principal)
    return domain.success_cycle(accounts, stages(principal.tenant_id))


def renewal_health(principal: Principal, within_days: int | None) -> dict[str, Any]:
    return domain.renewal_health(scoped_accounts(principal), today(), within_days)


# ----------------------------------------------------------------------------------- segments


def create_segment(principal: Principal, name: str, filter_: dict[str, Any]) -> dict[str, Any]:
    if segment_store.count(principal.tenant_id) >= MAX_SEGMENTS_PER_TENANT:
        raise ValidationFailed({"name": f"at most {MAX_SEGMENTS_PER_TENANT} segments"})
    segment = segment_store.Segment(
        tenant_id=principal.tenant_id,
        segment_id=new_id("seg"),
        name=name,
        filter=filter_,
        created_by=principal.user_id,
        created_at=now_iso(),
    )
    return segment_store.create(segment).to_api()


def get_segment(principal: Principal, segment_id: str) -> segment_store.Segment:
    return segment_store.get(principal.tenant_id, segment_id)


def segment_matches(
    principal: Principal, segment: segment_store.Segment
) -> tuple[list[Account], dict[str, Factors]]:
    accounts = scoped_accounts(principal)
    factors = account_factors(accounts)
    matched = domain.apply_segment(
        accounts, factors, SegmentFilter.from_dict(segment.filter), today()
    )
    return matched, factors


def segment_page(
    principal: Principal, segment_id: str, limit: int, cursor: str | None
) -> dict[str, Any]:
    segment = get_segment(principal, segment_id)
    matched, _ = segment_matches(principal, segment)
    scope = f"segment:{principal.tenant_id}:{segment_id}:{principal.user_id}"
    after = decode_cursor(cursor, scope)
    if after:
        key = (str(after.get("n", "")), str(after.get("id", "")))
        matched = [a for a in matched if (a.name.casefold(), a.account_id) > key]
    page = matched[:limit]
    next_cursor = None
    if len(matched) > limit:
        last = page[-1]
        next_cursor = encode_cursor({"n": last.name.casefold(), "id": last.account_id}, scope)
    day = today()
    return {
        "segment": segment.to_api(),
        "items": [domain.account_row(a, day) for a in page],
        "next_cursor": next_cursor,
    }


def segment_export(principal: Principal, segment_id: str) -> tuple[str, Iterator[dict[str, Any]]]:
    """The segment's name and a generator of export rows (every matching account)."""
    segment = get_segment(principal, segment_id)
    matched, factors = segment_matches(principal, segment)
    codes: Mapping[str, CodeInfo] = (
        reason_codes(principal.tenant_id) if any(f.all for f in factors.values()) else {}
    )
    owners = owner_names(principal.tenant_id)
    day = today()
    empty = Factors()

    def rows() -> Iterator[dict[str, Any]]:
        for account in matched:
            yield domain.segment_row(
                account, factors.get(account.account_id, empty), codes, owners, day
            )

    return segment.name, rows()


# ------------------------------------------------------------------------------------- charts


def pulse_summary_svg(principal: Principal) -> str:
    accounts = scoped_accounts(principal)
    counts: dict[int | None, int] = {}
    for account in accounts:
        counts[account.pulse_level] = counts.get(account.pulse_level, 0) + 1
    chart = charts.bar_chart("Accounts per pulse level", charts.level_bars(counts), len(accounts))
    return render("charts/bars.svg", chart=chart)


def months_back(day: date, months: int) -> date:
    month_index = day.year * 12 + day.month - 1 - months
    year, month = divmod(month_index, 12)
    return date(year, month + 1, min(day.day, 28))


def pulse_history_svg(account: Account, months: int) -> str:
    """Levels (steps, left axis) and SuccessScore (line, right axis) over the last months.

    Four requests: the account (already read by the access check), its pulses back to the
    last one before the window, the nightly score records and the tenant (its score params,
    for today's score)."""
    end = today()
    start = months_back(end, months)
    set_pulses = pulse_store.pulses_since(account.tenant_id, account.account_id, start)
    levels: list[tuple[date, float]] = []
    for pulse in sorted(set_pulses, key=lambda p: p.set_at):
        day = max(date.fromisoformat(pulse.set_at[:10]), start)
        levels.append((day, float(pulse.level)))
    days = (end - start).days + 1
    scores = [
        (date.fromisoformat(row["date"]), float(row["score"]))
        for row in pulse_store.score_history(account.tenant_id, account.account_id, days=days)
    ]
    if not scores:
        scores = [
            (max(date.fromisoformat(p.set_at[:10]), start), float(p.score_after))
            for p in set_pulses
            if p.score_after is not None
        ]
    # The "today" point is today's score from the score state, as the success-score route
    # computes it, not the value stored at the last pulse or nightly run.
    current = account.success_score
    if account.score_state:
        current = pulses.score_today(account, pulses.tenant_params(account.tenant_id), end)
    return render(
        "charts/lines.svg", chart=history_chart(account, start, end, levels, scores, current)
    )


def history_chart(
    account: Account,
    start: date,
    end: date,
    levels: list[tuple[date, float]],
    scores: list[tuple[date, float]],
    current: float | None,
) -> charts.LineChart:
    """The pulse-history chart: levels as steps (left axis), SuccessScore as a line (right
    axis) ending at today's score."""
    if current is not None:
        scores = [(day, value) for day, value in scores if day < end] + [(end, float(current))]
    return charts.line_chart(
        f"Pulse history: {account.name}",
        [
            charts.SeriesInput("Pulse level", levels, 1, 6, step=True, fmt="{:.0f}"),
            charts.SeriesInput(
                "SuccessScore", scores, 0, 100, secondary=True, fmt=lambda v: str(display_score(v))
            ),
        ],
        start,
        end,
        y_ticks=charts.level_ticks(),
        y2_ticks=[(v, str(int(v))) for v in (0.0, 25.0, 50.0, 75.0, 100.0)],
        empty_text="No pulse set yet",
    )


# ---------------------------------------------------------------------- dashboard and workspace


def questions_of(tenant_id: str) -> list[tuple[str, str]]:
    settings = effective(tenant_store.get_tenant(tenant_id).settings)
    return [(q.id, q.text) for q in settings.pulse_index_questions]


def parse_period(value: str | None) -> dash.Period:
    try:
        return dash.parse_period(value, today())
    except dash.PeriodError as exc:
        raise ValidationFailed({"period": str(exc)}) from exc


def dashboard(account: Account, period: dash.Period) -> dict[str, Any]:
    """The account dashboard: the account (read by the access check), the tenant (its question
    list and score params) and the account's insight partition. Three DynamoDB requests in all."""
    return _dashboard(account, period)[0]


@dataclass
class AccountView:
    """The account page: the dashboard (as ``GET /accounts/{id}/dashboard`` answers it) and what
    the page shows beyond it, all from the same three reads: the task banner's pending
    follow-ups and open actions, the pulse history (newest first) and its chart, the previous
    level and today's SuccessScore explanation."""

    dashboard: dict[str, Any]
    follow_ups: list[dict[str, Any]]
    actions: list[dict[str, Any]]
    pulses: list[dict[str, Any]]
    previous_level: int | None
    risk_factors: list[dict[str, Any]]
    success_factors: list[dict[str, Any]]
    explanation: dict[str, Any] | None
    chart: charts.LineChart  # the pulse-history chart (templates/charts/lines.svg)
    truncated: bool


def account_view(account: Account, period: dash.Period, months: int = 12) -> AccountView:
    board, data, params = _dashboard(account, period)
    day = today()
    latest = data.pulses[0] if data.pulses else None
    current = latest if latest and latest.get("set_at") == account.pulse_set_at else None

    def named(ids: list[str], side: str) -> list[dict[str, Any]]:
        names = {f["id"]: f.get("name") for f in (current or {}).get(side, [])}
        return [{"id": code, "name": names.get(code) or code} for code in ids]

    explanation = None
    state = pulse_store.state_of(account.score_state)
    if state is not None:
        explanation = explain(state, max(day, state.anchor_date), params).to_dict()
    start = months_back(day, months)
    levels, scores = _history_points(data.pulses, start, day, params)
    live = board["success_score"]
    chart = history_chart(account, start, day, levels, scores, live)
    return AccountView(
        dashboard=board,
        follow_ups=data.follow_ups,
        actions=data.actions,
        pulses=data.pulses,
        previous_level=None if current is None else current.get("previous_level"),
        risk_factors=named(list(account.risk_factors), "risk_factors"),
        success_factors=named(list(account.success_factors), "success_factors"),
        explanation=explanation,
        chart=chart,
        truncated=data.truncated,
    )


HISTORY_SAMPLE_DAYS = 7


def _history_points(
    history: Sequence[Mapping[str, Any]], start: date, end: date, params: ScoreParams
) -> tuple[list[tuple[date, float]], list[tuple[date, float]]]:
    """Levels and SuccessScore points from the pulse entries alone: each pulse's score state
    decides the score until the next pulse (the score on a date is a pure function of the state
    and the date), sampled weekly and on each pulse's day."""
    entries = sorted(history, key=lambda p: str(p.get("set_at", "")))
    states: list[tuple[date, float, ScoreState | None]] = []
    for entry in entries:
        on = date.fromisoformat(str(entry["set_at"])[:10])
        states.append((on, float(entry["level"]), pulse_store.state_of(entry.get("score_state"))))
    before = [s for s in states if s[0] < start]
    inside = [s for s in states if start <= s[0] <= end]
    kept = ([(start, *before[-1][1:])] if before else []) + inside
    levels = [(on, level) for on, level, _ in kept]
    days = {on for on, _, _ in kept} | {
        start + timedelta(days=n) for n in range(0, (end - start).days + 1, HISTORY_SAMPLE_DAYS)
    }
    scores: list[tuple[date, float]] = []
    for on in sorted(days):
        chosen = [s for s in kept if s[0] <= on]
        if not chosen or chosen[-1][2] is None:
            continue
        state = chosen[-1][2]
        scores.append((on, float(score_on(state, max(on, state.anchor_date), params))))
    return levels, scores


def _dashboard(
    account: Account, period: dash.Period
) -> tuple[dict[str, Any], insight_store.AccountInsights, ScoreParams]:
    settings = effective(tenant_store.get_tenant(account.tenant_id).settings)
    questions = [(q.id, q.text) for q in settings.pulse_index_questions]
    data = insight_store.account_insights(account.tenant_id, account.account_id)
    reviews = sorted(
        data.reviews,
        key=lambda r: (r.get("review_date") or "", r.get("sent_at") or ""),
        reverse=True,
    )
    comments = [
        c for c in data.comments if period.start <= str(c.get("created_at", ""))[:7] <= period.end
    ]
    day = today()
    current = pulses.score_today(account, settings.score_params(), day)
    return (
        {
            "account": account.to_api(),
            "period": {
                "key": period.key,
                "start": period.start,
                "end": period.end,
                "previous_start": period.previous[0],
                "previous_end": period.previous[-1],
            },
            "nps": dash.nps_scorecard(data.periods, period),
            "pulse_index": dash.pulse_index_scorecard(data.periods, period, questions),
            "reviews": reviews,
            "comments": comments,
            "tasks": {
                "open_actions": data.open_actions,
                "pending_follow_ups": data.pending_follow_ups,
            },
            "pulse": {
                "level": account.pulse_level,
                "label": domain.level_label(account.pulse_level),
                "slug": domain.level_key(account.pulse_level),
                "set_at": account.pulse_set_at,
                "days_since": domain.days_since(account.pulse_set_at, day),
                "risk_factors": list(account.risk_factors),
                "success_factors": list(account.success_factors),
            },
            "success_score": None if current is None else round(float(current), 1),
            "truncated": data.truncated,
        },
        data,
        settings.score_params(),
    )


WORKSPACE_COLUMNS = (
    "id",
    "name",
    "owner_id",
    "reviews_sent",
    "last_review_at",
    "days_since_last_review",
    "pulse_index",
    "pulse_index_responses",
    "nps_score",
    "promoters",
    "passives",
    "detractors",
    "nps_responses",
)

# Above this many accounts an account manager's summaries are read with the tenant Query rather
# than BatchGets of 100 (the Query is cheaper in requests beyond two or three BatchGets).
BATCH_GET_LIMIT = 300


def workspace(principal: Principal) -> dict[str, Any]:
    accounts = domain_sorted(scoped_accounts(principal))
    if principal.sees_all_accounts or len(accounts) > BATCH_GET_LIMIT:
        summaries = insight_store.workspace_items(principal.tenant_id)
    else:
        summaries = insight_store.workspace_for(
            principal.tenant_id, [a.account_id for a in accounts]
        )
    day = today()
    rows = []
    own = []
    for account in accounts:
        summary = summaries.get(account.account_id, {})
        own.append(summary)
        row = dash.workspace_row(summary, day)
        rows.append(
            {
                "id": account.account_id,
                "name": account.name,
                "owner_id": account.owner_id,
                "level": account.pulse_level,
                **row,
            }
        )
    return {"items": rows, "totals": {"accounts": len(rows), **dash.workspace_totals(own)}}


def workspace_rows(report: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for row in report["items"]:
        nps = row["nps"]
        yield {
            **row,
            "nps_score": nps["score"],
            "promoters": nps["promoters"],
            "passives": nps["passives"],
            "detractors": nps["detractors"],
            "nps_responses": nps["responses"],
        }


def domain_sorted(accounts: Sequence[Account]) -> list[Account]:
    return sorted(accounts, key=lambda a: (a.name.casefold(), a.account_id))


def pulse_index_svg(account: Account, period: dash.Period) -> str:
    """Each Pulse Index question's monthly score over the period (1-5), as a line chart."""
    questions = questions_of(account.tenant_id)
    data = insight_store.account_insights(account.tenant_id, account.account_id)
    card = dash.pulse_index_scorecard(data.periods, period, questions)
    start = date.fromisoformat(period.start + "-01")
    end_year, end_month = (int(x) for x in period.end.split("-"))
    end = date(end_year, end_month, 28)

    def mid(month: str) -> date:
        year, mon = (int(x) for x in month.split("-"))
        return date(year, mon, 15)

    inputs = [
        charts.SeriesInput(
            q["text"], [(mid(v["month"]), float(v["score"])) for v in q["values"]], 1, 5
        )
        for q in card["by_question"]
    ]
    chart = charts.line_chart(
        f"Pulse Index by question: {account.name}",
        inputs,
        start,
        end,
        y_ticks=[(float(v), str(v)) for v in (1, 2, 3, 4, 5)],
        empty_text="No scored responses in this period",
    )
    return render("charts/lines.svg", chart=chart)
