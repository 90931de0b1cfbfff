"""The account dashboard and workspace figures, from monthly count histograms.

Periods are whole calendar months (the unit the store keeps): ``12m`` is the current month and the
eleven before it; ``2025`` a calendar year; ``2025-Q3`` a quarter. The previous period is the same
number of months just before, which is what a trend compares against.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from chalicelib.domain.scoring import (
    NOT_ENOUGH_RESPONSES,
    Aggregate,
    NpsResult,
    PulseIndexResult,
    QuestionScore,
    merge_all,
    pulse_index,
    trend,
)

DEFAULT_PERIOD = "12m"
MAX_MONTHS = 36
_PERIOD = re.compile(r"^(?:(?P<n>\d{1,2})m|(?P<year>\d{4})(?:-Q(?P<q>[1-4]))?)$")


class PeriodError(ValueError):
    pass


@dataclass(frozen=True)
class Period:
    key: str
    months: tuple[str, ...]  # "YYYY-MM", oldest first
    previous: tuple[str, ...]

    @property
    def start(self) -> str:
        return self.months[0]

    @property
    def end(self) -> str:
        return self.months[-1]


def _shift(year: int, month: int, delta: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + delta
    return index // 12, index % 12 + 1


def _run(year: int, month: int, count: int) -> tuple[str, ...]:
    """``count`` months ending with (year, month), oldest first."""
    out = []
    for delta in range(-(count - 1), 1):
        y, m = _shift(year, month, delta)
        out.append(f"{y:04d}-{m:02d}")
    return tuple(out)


def parse_period(value: str | None, today: date) -> Period:
    text = (value or DEFAULT_PERIOD).strip()
    match = _PERIOD.match(text)
    if not match:
        raise PeriodError("use Nm (1-36 months), YYYY or YYYY-Qn")
    if match["n"]:
        count = int(match["n"])
        if not 1 <= count <= MAX_MONTHS:
            raise PeriodError(f"between 1 and {MAX_MONTHS} months")
        end_year, end_month = today.year, today.month
    else:
        year = int(match["year"])
        if not 2000 <= year <= today.year + 1:
            raise PeriodError("a year from 2000 to next year")
        if match["q"]:
            count = 3
            end_year, end_month = year, int(match["q"]) * 3
        else:
            count = 12
            end_year, end_month = year, 12
    months = _run(end_year, end_month, count)
    prev_year, prev_month = _shift(end_year, end_month, -count)
    return Period(text, months, _run(prev_year, prev_month, count))


class HasHistograms(Protocol):
    @property
    def nps(self) -> Aggregate: ...

    @property
    def questions(self) -> dict[str, Aggregate]: ...


def merged(
    periods: Mapping[str, HasHistograms], months: Sequence[str]
) -> tuple[Aggregate, dict[str, Aggregate]]:
    nps = merge_all((periods[m].nps for m in months if m in periods), 0, 10)
    questions: dict[str, Aggregate] = {}
    for month in months:
        if month not in periods:
            continue
        for qid, agg in periods[month].questions.items():
            questions[qid] = questions.get(qid, Aggregate.pulse_index()).merge(agg)
    return nps, questions


def _round(value: float | None, places: int = 2) -> float | None:
    return None if value is None else round(value, places)


def trend_body(current: Any, previous: Any) -> dict[str, Any]:
    result = trend(current, previous)
    return {
        "direction": result.direction,
        "reason": result.reason,
        "delta": _round(result.delta),
        "previous_score": _round(previous.score),
        "previous_responses": previous.responses,
    }


def nps_body(result: NpsResult) -> dict[str, Any]:
    return {
        "score": _round(result.score, 1),
        "promoters": result.promoters,
        "passives": result.passives,
        "detractors": result.detractors,
        "responses": result.responses,
    }


def nps_scorecard(periods: Mapping[str, HasHistograms], period: Period) -> dict[str, Any]:
    current = NpsResult.from_aggregate(merged(periods, period.months)[0])
    previous = NpsResult.from_aggregate(merged(periods, period.previous)[0])
    return {**nps_body(current), "trend": trend_body(current, previous)}


def pulse_index_scorecard(
    periods: Mapping[str, HasHistograms],
    period: Period,
    questions: Sequence[tuple[str, str]],
) -> dict[str, Any]:
    """Overall Pulse Index (mean of question means), each question's score and trend, and the
    values month by month (months without responses are left out, not zero)."""
    ids = [qid for qid, _ in questions]
    texts = dict(questions)
    # Questions answered in the period but since removed from the tenant's list still count.
    _, current_q = merged(periods, period.months)
    _, previous_q = merged(periods, period.previous)
    ids += sorted(q for q in current_q if q not in texts)
    current = pulse_index(current_q, ids)
    previous = pulse_index(previous_q, ids)
    over_time: dict[str, list[dict[str, Any]]] = {qid: [] for qid in ids}
    overall_over_time = []
    for month in period.months:
        if month not in periods:
            continue
        month_result = pulse_index(periods[month].questions, ids)
        if month_result.score is not None:
            overall_over_time.append(
                {
                    "month": month,
                    "score": _round(month_result.score),
                    "responses": month_result.responses,
                }
            )
        for q in month_result.questions:
            if q.score is not None:
                over_time[q.question_id].append(
                    {"month": month, "score": _round(q.score), "responses": q.responses}
                )
    by_question = []
    for q in current.questions:
        prev = previous.question(q.question_id) or QuestionScore(q.question_id, None, 0)
        by_question.append(
            {
                "question_id": q.question_id,
                "text": texts.get(q.question_id, q.question_id),
                "score": _round(q.score),
                "responses": q.responses,
                "trend": trend_body(q, prev),
                "values": over_time[q.question_id],
            }
        )
    return {
        "score": _round(current.score),
        "responses": current.responses,
        "trend": trend_body(current, previous),
        "values": overall_over_time,
        "by_question": by_question,
    }


def workspace_row(summary: Mapping[str, Any], today: date) -> dict[str, Any]:
    """An account's workspace figures from its all-time summary item."""
    nps = Aggregate.from_dict(summary["nps"]) if summary.get("nps") else Aggregate.nps()
    questions = {q: Aggregate.from_dict(a) for q, a in (summary.get("questions") or {}).items()}
    index: PulseIndexResult = pulse_index(questions)
    nps_result = NpsResult.from_aggregate(nps)
    last = summary.get("last_review_at")
    days = None
    if last:
        try:
            days = (today - date.fromisoformat(str(last)[:10])).days
        except ValueError:
            days = None
    return {
        "reviews_sent": int(summary.get("reviews_sent") or 0),
        "last_review_at": last,
        "days_since_last_review": days,
        "pulse_index": _round(index.score),
        "pulse_index_responses": index.responses,
        "nps": nps_body(nps_result),
    }


def workspace_totals(summaries: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    nps = Aggregate.nps()
    questions: dict[str, Aggregate] = {}
    reviews = 0
    for summary in summaries:
        reviews += int(summary.get("reviews_sent") or 0)
        if summary.get("nps"):
            nps = nps.merge(Aggregate.from_dict(summary["nps"]))
        for qid, raw in (summary.get("questions") or {}).items():
            questions[qid] = questions.get(qid, Aggregate.pulse_index()).merge(
                Aggregate.from_dict(raw)
            )
    index = pulse_index(questions)
    return {
        "reviews_sent": reviews,
        "pulse_index": _round(index.score),
        "pulse_index_responses": index.responses,
        "nps": nps_body(NpsResult.from_aggregate(nps)),
    }


__all__ = ["NOT_ENOUGH_RESPONSES", "Period", "PeriodError", "parse_period"]
