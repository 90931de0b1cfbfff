"""Reports, segments, the account dashboard and the SVG charts.

Every list report answers JSON, or CSV when asked with ``Accept: text/csv`` or through its
``.csv`` path. Account managers see only their own accounts in every report and segment.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from chalice.app import Blueprint, Response
from pydantic import Field, field_validator, model_validator

from chalicelib.api import models
from chalicelib.api.access import account_for
from chalicelib.api.routing import Body, PageQuery, Query, page_body, staff_route
from chalicelib.api.types import IsoDate, Name
from chalicelib.auth.tokens import Principal
from chalicelib.domain import csv_export
from chalicelib.domain import reports as domain
from chalicelib.domain.pulse_scale import LEVELS, to_level
from chalicelib.services import reports as service
from chalicelib.store import segments as segment_store

bp = Blueprint(__name__)

CSV = "text/csv"
SVG = "image/svg+xml"
TAG = "reports"
ReportView = Callable[..., Any]


# ------------------------------------------------------------------------------ query models


def _levels(value: Any) -> list[int]:
    """Levels as ``3,2,1`` or slugs ``some_risk,high_risk`` (or a JSON list in a body)."""
    if value in (None, ""):
        return []
    items = value.split(",") if isinstance(value, str) else list(value)
    out: list[int] = []
    for item in items:
        text = item.strip() if isinstance(item, str) else item
        if isinstance(text, str) and text.isdigit():
            text = int(text)
        try:
            level = int(to_level(text))
        except ValueError as exc:
            raise ValueError("levels are 1-6 or slugs such as some_risk") from exc
        if level not in out:
            out.append(level)
    return out


def _ids(value: Any) -> list[str]:
    if value in (None, ""):
        return []
    items = value.split(",") if isinstance(value, str) else list(value)
    out = [str(item).strip() for item in items if str(item).strip()]
    if len(out) > 50 or any(len(item) > 80 for item in out):
        raise ValueError("at most 50 ids of at most 80 characters")
    return list(dict.fromkeys(out))


_LEVEL = "|".join(["[1-6]", *(level.slug for level in LEVELS)])
LEVELS_PATTERN = rf"^(?:\s*(?:{_LEVEL})\s*(?:,\s*(?:{_LEVEL})\s*)*)?$"


class FactorQuery(Query):
    levels: str | None = Field(
        default=None,
        max_length=200,
        description="e.g. 3,2,1 or some_risk",
        json_schema_extra={"pattern": LEVELS_PATTERN},
    )
    factors: str | None = Field(
        default=None, max_length=4000, description="reason code ids, comma-separated"
    )

    @field_validator("levels")
    @classmethod
    def _check_levels(cls, value: str | None) -> str | None:
        _levels(value)
        return value

    @field_validator("factors")
    @classmethod
    def _check_factors(cls, value: str | None) -> str | None:
        _ids(value)
        return value


class RecentQuery(Query):
    days: int = Field(default=7, ge=1, le=365)


class RenewalQuery(Query):
    within_days: int | None = Field(default=None, ge=0, le=3650)


# ----------------------------------------------------------------------------------- answers


def wants_csv() -> bool:
    accept = (bp.current_request.headers.get("accept") or "").lower()
    return "text/csv" in accept


def csv_response(stem: str, columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> Response:
    # A text body: API Gateway sends it as UTF-8 without declaring text/csv a binary type.
    body = "".join(csv_export.dicts_to_chunks(columns, rows))
    name = csv_export.filename(stem, service.today().isoformat())
    return Response(
        body=body,
        status_code=200,
        headers={
            "Content-Type": csv_export.CONTENT_TYPE,
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )


def _list_report(
    report: dict[str, Any],
    stem: str,
    columns: Sequence[str],
    rows: Iterable[Mapping[str, Any]],
    as_csv: bool,
) -> Any:
    if as_csv or wants_csv():
        return csv_response(stem, columns, rows)
    return report


def _route_pair(
    path: str,
    summary: str,
    query: type[Query] | None = None,
    *,
    response: type[models.Reply],
) -> Callable[[ReportView], ReportView]:
    """Declare the JSON route and its ``.csv`` twin with one view."""

    def decorate(fn: ReportView) -> ReportView:
        def json_view(principal: Principal, **kw: Any) -> Any:
            return fn(principal, as_csv=False, **kw)

        def csv_view(principal: Principal, **kw: Any) -> Any:
            return fn(principal, as_csv=True, **kw)

        json_view.__name__ = fn.__name__
        csv_view.__name__ = fn.__name__ + "_csv"
        staff_route(bp, path, query=query, summary=summary, tag=TAG, response=response)(json_view)
        staff_route(
            bp, path + ".csv", query=query, summary=summary + " (CSV)", produces=CSV, tag=TAG
        )(csv_view)
        return fn

    return decorate


# ------------------------------------------------------------------------------------ reports


@_route_pair(
    "/reports/workspace",
    "Per account: reviews sent, days since the last review, Pulse Index, NPS split; totals",
    response=models.WorkspaceReport,
)
def workspace(principal: Principal, as_csv: bool) -> Any:
    report = service.workspace(principal)
    return _list_report(
        report, "workspace", service.WORKSPACE_COLUMNS, service.workspace_rows(report), as_csv
    )


@_route_pair(
    "/reports/pulse-summary",
    "Accounts per pulse level: share, revenue and list",
    response=models.PulseSummaryReport,
)
def pulse_summary(principal: Principal, as_csv: bool) -> Any:
    report = service.pulse_summary(principal)
    return _list_report(
        report,
        "pulse-summary",
        domain.ACCOUNT_COLUMNS,
        domain.pulse_summary_rows(report),
        as_csv,
    )


@_route_pair(
    "/reports/recent-changes",
    "Counts per level now versus N days ago, and the accounts that moved",
    RecentQuery,
    response=models.RecentChangesReport,
)
def recent_changes(principal: Principal, as_csv: bool, query: RecentQuery) -> Any:
    report = service.recent_changes(principal, query.days)
    return _list_report(
        report,
        f"recent-changes-{query.days}d",
        domain.RECENT_CHANGE_COLUMNS,
        domain.recent_change_rows(report),
        as_csv,
    )


def _factors(principal: Principal, kind: str, query: FactorQuery, as_csv: bool) -> Any:
    report = service.factor_report(principal, kind, _levels(query.levels), _ids(query.factors))
    return _list_report(
        report, f"{kind}-factors", domain.FACTOR_COLUMNS, domain.factor_rows(report), as_csv
    )


@_route_pair(
    "/reports/risk-factors",
    "Risk factors by category and code: accounts, share, revenue affected",
    FactorQuery,
    response=models.FactorReport,
)
def risk_factors(principal: Principal, as_csv: bool, query: FactorQuery) -> Any:
    return _factors(principal, "risk", query, as_csv)


@_route_pair(
    "/reports/success-factors",
    "Success factors by category and code: accounts, share, revenue affected",
    FactorQuery,
    response=models.FactorReport,
)
def success_factors(principal: Principal, as_csv: bool, query: FactorQuery) -> Any:
    return _factors(principal, "success", query, as_csv)


@_route_pair(
    "/reports/success-cycle",
    "SuccessCycle by pulse: stage × level counts",
    response=models.SuccessCycleReport,
)
def success_cycle(principal: Principal, as_csv: bool) -> Any:
    report = service.success_cycle(principal)
    return _list_report(
        report,
        "success-cycle",
        domain.success_cycle_columns(),
        domain.success_cycle_rows(report),
        as_csv,
    )


@_route_pair(
    "/reports/renewal-health",
    "Accounts by days to renewal with level and score; past renewals flagged",
    RenewalQuery,
    response=models.RenewalHealthReport,
)
def renewal_health(principal: Principal, as_csv: bool, query: RenewalQuery) -> Any:
    report = service.renewal_health(principal, query.within_days)
    return _list_report(report, "renewal-health", domain.RENEWAL_COLUMNS, report["items"], as_csv)


# ----------------------------------------------------------------------------------- segments


class SegmentFilterBody(Body):
    levels: list[int | str] = Field(default_factory=list, max_length=6)
    include_not_set: bool = False
    min_days_since_pulse: int | None = Field(default=None, ge=0, le=3650)
    max_days_since_pulse: int | None = Field(default=None, ge=0, le=3650)
    renewal_from: IsoDate | None = None
    renewal_to: IsoDate | None = None
    renewal_within_days: int | None = Field(default=None, ge=0, le=3650)
    owner_ids: list[str] = Field(default_factory=list, max_length=50)
    stages: list[str] = Field(default_factory=list, max_length=12)
    factors: list[str] = Field(default_factory=list, max_length=20)
    risk_factors: list[str] = Field(default_factory=list, max_length=20)
    success_factors: list[str] = Field(default_factory=list, max_length=20)

    @field_validator("levels")
    @classmethod
    def _check_levels(cls, value: list[int | str]) -> list[int | str]:
        return list(_levels(value))

    @field_validator("owner_ids", "stages", "factors", "risk_factors", "success_factors")
    @classmethod
    def _check_ids(cls, value: list[str]) -> list[str]:
        if any(not item.strip() or len(item) > 80 for item in value):
            raise ValueError("each item is 1-80 characters")
        return list(dict.fromkeys(item.strip() for item in value))

    @model_validator(mode="after")
    def _ranges(self) -> SegmentFilterBody:
        if (
            self.min_days_since_pulse is not None
            and self.max_days_since_pulse is not None
            and self.min_days_since_pulse > self.max_days_since_pulse
        ):
            raise ValueError("min_days_since_pulse is more than max_days_since_pulse")
        if self.renewal_from and self.renewal_to and self.renewal_from > self.renewal_to:
            raise ValueError("renewal_from is after renewal_to")
        return self


class SegmentBody(Body):
    name: Name = Field(max_length=100)
    filter: SegmentFilterBody = Field(default_factory=SegmentFilterBody)

    model_config = {
        **Body.model_config,
        "json_schema_extra": {
            "examples": [
                {
                    "name": "Severe risk renewing in Q1",
                    "filter": {
                        "levels": [1],
                        "renewal_from": "2027-01-01",
                        "renewal_to": "2027-03-31",
                    },
                }
            ]
        },
    }


@staff_route(bp, "/segments", query=PageQuery, tag=TAG, response=models.Page[models.Segment])
def list_segments(principal: Principal, query: PageQuery) -> dict[str, Any]:
    """Saved segments (shared by the workspace; each person sees only accounts they may)."""
    return page_body(
        segment_store.list_page(principal.tenant_id, limit=query.limit, cursor=query.cursor)
    )


@staff_route(
    bp,
    "/segments",
    methods=["POST"],
    body=SegmentBody,
    status=201,
    tag=TAG,
    response=models.Segment,
)
def create_segment(principal: Principal, body: SegmentBody) -> dict[str, Any]:
    """Save a segment: a name and a filter over levels, pulse age, renewal, owner, stage, factors."""
    filter_ = body.filter.model_dump(exclude_defaults=True)
    return service.create_segment(principal, body.name, filter_)


@staff_route(bp, "/segments/{segment_id}", tag=TAG, response=models.Segment)
def get_segment(principal: Principal, segment_id: str) -> dict[str, Any]:
    """One saved segment."""
    return service.get_segment(principal, segment_id).to_api()


@staff_route(
    bp,
    "/segments/{segment_id}/accounts",
    query=PageQuery,
    tag=TAG,
    response=models.Page[models.Account],
)
def segment_accounts(principal: Principal, segment_id: str, query: PageQuery) -> dict[str, Any]:
    """The accounts matching a segment now, by name, a page at a time."""
    return service.segment_page(principal, segment_id, query.limit, query.cursor)


@staff_route(bp, "/segments/{segment_id}/export.csv", produces=CSV, tag=TAG)
def segment_export(principal: Principal, segment_id: str) -> Response:
    """Every account matching a segment, as CSV."""
    name, rows = service.segment_export(principal, segment_id)
    return csv_response(name, domain.SEGMENT_COLUMNS, rows)


# ------------------------------------------------------------------------------------- charts


def svg_response(text: str) -> Response:
    return Response(
        body=text,
        status_code=200,
        headers={
            "Content-Type": "image/svg+xml; charset=utf-8",
            "Cache-Control": "private, max-age=300",
            # Nothing in a chart runs or loads: an SVG opened directly cannot script the origin.
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
            "X-Content-Type-Options": "nosniff",
        },
    )


@staff_route(bp, "/reports/pulse-summary.svg", produces=SVG, tag=TAG)
def pulse_summary_svg(principal: Principal) -> Response:
    """Accounts per pulse level, as a bar chart."""
    return svg_response(service.pulse_summary_svg(principal))


class ChartQuery(Query):
    months: int = Field(default=12, ge=1, le=36)


@staff_route(
    bp, "/accounts/{account_id}/pulse-history.svg", query=ChartQuery, produces=SVG, tag=TAG
)
def pulse_history_svg(principal: Principal, account_id: str, query: ChartQuery) -> Response:
    """An account's pulse levels and SuccessScore over time, as a line chart."""
    account = account_for(principal, account_id)
    return svg_response(service.pulse_history_svg(account, query.months))


class PeriodQuery(Query):
    period: str | None = Field(
        default=None,
        max_length=10,
        description="Nm (1-36 months, default 12m), YYYY or YYYY-Qn (from 2000 to next year)",
        # Years up to 2026 are stated; later ones (up to next year) are taken too.
        json_schema_extra={
            "pattern": r"^\s*(?:(?:[1-9]|[12][0-9]|3[0-6])m|(?:20[01][0-9]|202[0-6])(?:-Q[1-4])?)\s*$"
        },
    )


@staff_route(
    bp,
    "/accounts/{account_id}/dashboard",
    query=PeriodQuery,
    tag=TAG,
    response=models.Dashboard,
)
def account_dashboard(principal: Principal, account_id: str, query: PeriodQuery) -> dict[str, Any]:
    """NPS and Pulse Index scorecards with trends, reviews, comments, tasks, pulse and score."""
    period = service.parse_period(query.period)
    return service.dashboard(account_for(principal, account_id), period)


@staff_route(bp, "/accounts/{account_id}/pulse-index.svg", query=PeriodQuery, produces=SVG, tag=TAG)
def pulse_index_svg(principal: Principal, account_id: str, query: PeriodQuery) -> Response:
    """Each Pulse Index question's score month by month, as a line chart."""
    period = service.parse_period(query.period)
    account = account_for(principal, account_id)
    return svg_response(service.pulse_index_svg(account, period))
