"""Chart geometry for the small SVG charts: plain numbers in, coordinates and labels out.

The templates in ``templates/charts/`` only draw what this module computes, so the arithmetic is
tested here and the templates stay readable. Charts are fixed-size (they go into email too), use
system fonts, and carry their data in text form (``<title>``, ``<desc>`` and per-mark titles) for
screen readers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date

from chalicelib.domain.pulse_scale import LEVELS, Level

# Colour per level, worst red to best green; readable on white and distinct in greyscale by
# lightness. "Not set" is a neutral grey.
LEVEL_COLOURS: dict[int | None, str] = {
    6: "#1a7f37",
    5: "#4ac26b",
    4: "#8fbf3f",
    3: "#d4a72c",
    2: "#e16f24",
    1: "#cf222e",
    None: "#8c959f",
}
SERIES_COLOURS = ("#0969da", "#8250df", "#bf3989", "#1a7f37", "#9a6700", "#cf222e", "#57606a")

WIDTH = 640
BAR_HEIGHT = 26
BAR_GAP = 8
LABEL_WIDTH = 150
VALUE_WIDTH = 90
MARGIN = 16


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    share: float
    colour: str
    x: float
    y: float
    width: float
    height: float
    text_y: float


@dataclass(frozen=True)
class BarChart:
    title: str
    desc: str
    width: int
    height: int
    bars: tuple[Bar, ...]
    label_x: float
    bar_x: float
    value_x: float
    empty: bool


def bar_chart(title: str, rows: Sequence[tuple[str, int, str]], total: int) -> BarChart:
    """Horizontal bars, one row per (label, count, colour); widths are shares of the largest."""
    top = MARGIN + 28
    plot = WIDTH - 2 * MARGIN - LABEL_WIDTH - VALUE_WIDTH
    peak = max((count for _, count, _ in rows), default=0)
    bars = []
    for index, (label, count, colour) in enumerate(rows):
        y = top + index * (BAR_HEIGHT + BAR_GAP)
        width = 0.0 if not peak else plot * count / peak
        bars.append(
            Bar(
                label=label,
                value=count,
                share=0.0 if not total else count / total,
                colour=colour,
                x=MARGIN + LABEL_WIDTH,
                y=y,
                width=round(max(width, 2.0 if count else 0.0), 1),
                height=BAR_HEIGHT,
                text_y=y + BAR_HEIGHT * 0.68,
            )
        )
    height = top + len(rows) * (BAR_HEIGHT + BAR_GAP) + MARGIN
    parts = [f"{b.label}: {b.value} ({round(b.share * 100)}%)" for b in bars]
    desc = f"{total} accounts. " + "; ".join(parts) + "."
    return BarChart(
        title=title,
        desc=desc,
        width=WIDTH,
        height=height,
        bars=tuple(bars),
        label_x=MARGIN + LABEL_WIDTH - 8,
        bar_x=MARGIN + LABEL_WIDTH,
        value_x=WIDTH - MARGIN - VALUE_WIDTH + 8,
        empty=total == 0,
    )


def level_bars(counts: dict[int | None, int]) -> list[tuple[str, int, str]]:
    rows = [(level.label, counts.get(int(level), 0), LEVEL_COLOURS[int(level)]) for level in LEVELS]
    rows.append(("Not set", counts.get(None, 0), LEVEL_COLOURS[None]))
    return rows


# ------------------------------------------------------------------------------- line charts

PLOT_LEFT = 130
PLOT_RIGHT = 56
PLOT_TOP = 48
PLOT_HEIGHT = 200
LEGEND_PER_ROW = 3
LEGEND_WIDTH = 200


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    label: str


@dataclass(frozen=True)
class Series:
    name: str
    colour: str
    path: str
    points: tuple[Point, ...]
    step: bool = False
    dashed: bool = False
    legend_x: float = 0.0
    legend_y: float = 0.0


@dataclass(frozen=True)
class Tick:
    pos: float
    label: str


@dataclass(frozen=True)
class LineChart:
    title: str
    desc: str
    width: int
    height: int
    left: float
    right: float
    top: float
    bottom: float
    series: tuple[Series, ...]
    y_ticks: tuple[Tick, ...]
    y2_ticks: tuple[Tick, ...]
    x_ticks: tuple[Tick, ...]
    empty: bool
    empty_text: str
    y_bands: tuple[tuple[float, float, str], ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class SeriesInput:
    name: str
    points: Sequence[tuple[date, float]]
    low: float
    high: float
    step: bool = False
    secondary: bool = False  # plotted against the right-hand axis
    fmt: str | Callable[[float], str] = "{:.1f}"  # a format string or a function

    def label(self, value: float) -> str:
        return self.fmt(value) if callable(self.fmt) else self.fmt.format(value)


def _x(day: date, start: date, end: date, left: float, right: float) -> float:
    span = max((end - start).days, 1)
    return round(left + (right - left) * (day - start).days / span, 1)


def _y(value: float, low: float, high: float, top: float, bottom: float) -> float:
    value = min(max(value, low), high)
    return round(bottom - (bottom - top) * (value - low) / (high - low), 1)


def _month_ticks(start: date, end: date, left: float, right: float) -> tuple[Tick, ...]:
    months = (end.year - start.year) * 12 + end.month - start.month
    step = max(1, -(-months // 6)) if months else 1
    ticks = []
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month):
        tick_day = date(year, month, 1)
        if start <= tick_day <= end:
            ticks.append(Tick(_x(tick_day, start, end, left, right), tick_day.strftime("%b %Y")))
        month += step
        while month > 12:
            month -= 12
            year += 1
    if not ticks:
        ticks = [Tick(left, start.isoformat()), Tick(right, end.isoformat())]
    return tuple(ticks)


def line_chart(
    title: str,
    inputs: Sequence[SeriesInput],
    start: date,
    end: date,
    *,
    y_ticks: Sequence[tuple[float, str]],
    y2_ticks: Sequence[tuple[float, str]] = (),
    empty_text: str = "No data yet",
) -> LineChart:
    """Series over a date range. Step series hold each value until the next point (and to the
    end of the range), which is how a pulse level reads: it stays until someone changes it."""
    left, right = float(PLOT_LEFT), float(WIDTH - PLOT_RIGHT)
    top, bottom = float(PLOT_TOP), float(PLOT_TOP + PLOT_HEIGHT)
    if end <= start:
        end = date.fromordinal(start.toordinal() + 1)
    series = []
    descs = []
    for index, data in enumerate(inputs):
        pts = sorted(p for p in data.points if start <= p[0] <= end)
        points = tuple(
            Point(
                _x(day, start, end, left, right),
                _y(value, data.low, data.high, top, bottom),
                f"{day.isoformat()}: {data.label(value)}",
            )
            for day, value in pts
        )
        path = ""
        if points:
            commands = [f"M{points[0].x},{points[0].y}"]
            for point in points[1:]:
                commands.append(f"H{point.x} V{point.y}" if data.step else f"L{point.x},{point.y}")
            if data.step:
                commands.append(f"H{right}")
            path = " ".join(commands)
        colour = SERIES_COLOURS[index % len(SERIES_COLOURS)]
        legend_x = MARGIN + (index % LEGEND_PER_ROW) * LEGEND_WIDTH
        legend_y = bottom + 44 + (index // LEGEND_PER_ROW) * 20
        series.append(
            Series(data.name, colour, path, points, data.step, data.secondary, legend_x, legend_y)
        )
        if pts:
            first, last = pts[0], pts[-1]
            descs.append(
                f"{data.name}: {len(pts)} values from {data.label(first[1])} on "
                f"{first[0].isoformat()} to {data.label(last[1])} on {last[0].isoformat()}"
            )
        else:
            descs.append(f"{data.name}: no values in this period")
    empty = not any(s.points for s in series)
    low_high = [(s.low, s.high) for s in inputs if not s.secondary] or [(0.0, 1.0)]
    low, high = low_high[0]
    sec = [(s.low, s.high) for s in inputs if s.secondary]
    ticks = tuple(Tick(_y(v, low, high, top, bottom), text) for v, text in y_ticks)
    ticks2: tuple[Tick, ...] = ()
    if sec:
        ticks2 = tuple(Tick(_y(v, sec[0][0], sec[0][1], top, bottom), text) for v, text in y2_ticks)
    desc = f"From {start.isoformat()} to {end.isoformat()}. " + ". ".join(descs) + "."
    return LineChart(
        title=title,
        desc=desc,
        width=WIDTH,
        height=int(bottom + 44 + (-(-len(series) // LEGEND_PER_ROW)) * 20 + 8),
        left=left,
        right=right,
        top=top,
        bottom=bottom,
        series=tuple(series),
        y_ticks=ticks,
        y2_ticks=ticks2,
        x_ticks=_month_ticks(start, end, left, right),
        empty=empty,
        empty_text=empty_text,
    )


def level_ticks() -> list[tuple[float, str]]:
    return [(float(level), Level(level).label) for level in LEVELS]
