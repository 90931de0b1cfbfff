"""Draw docs/charts/success_score_curves.svg from the SuccessScore code itself (stdlib only).

    python tools/success_score_chart.py            # rewrite the chart
    python tools/success_score_chart.py --check    # exit 1 if the committed chart is stale

The chart is generated rather than drawn by hand so the doc can never show a curve the code does
not produce; --check lets CI catch a formula or default change that forgot to redraw it.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "docs" / "charts" / "success_score_curves.svg"

DAYS = 120
START_SCORE = 50.0
DROP_DAY = 30
WIDTH, HEIGHT = 760, 440
LEFT, RIGHT, TOP, BOTTOM = 56, 200, 40, 48
COLOURS = {
    6: "#1b7837",
    5: "#5aae61",
    4: "#a6d96a",
    3: "#f4a442",
    2: "#e66101",
    1: "#b2182b",
}
DROP_COLOUR = "#5e3c99"


def _series() -> list[tuple[str, str, bool, list[float]]]:
    # Imported here so the script works from any directory without installing the package.
    sys.path.insert(0, str(ROOT))
    from chalicelib.domain import success_score as ss
    from chalicelib.domain.pulse_scale import LEVELS, label

    day0 = date(2024, 1, 1)
    end = day0 + timedelta(days=DAYS)
    series: list[tuple[str, str, bool, list[float]]] = []
    for level in LEVELS:
        start = ss.initial_state(day0, score=START_SCORE)
        points = ss.timeline([ss.PulseEvent(day0, level)], start, day0, end)
        series.append(
            (
                f"{label(level)} from {START_SCORE:g}",
                COLOURS[level],
                False,
                [p.score for p in points],
            )
        )
    # An account settled at the top that drops to High Risk: jump, then decay toward 25.
    settled = ss.ScoreState(level=6, anchor_score=ss.DEFAULT_PARAMS.target(6), anchor_date=day0)
    drop = [ss.PulseEvent(day0 + timedelta(days=DROP_DAY), 2)]
    points = ss.timeline(drop, settled, day0, end)
    series.append((f"6 -> 2 on day {DROP_DAY}", DROP_COLOUR, True, [p.score for p in points]))
    return series


def _x_px(day: int) -> float:
    return LEFT + (WIDTH - LEFT - RIGHT) * day / DAYS


def _y_px(score: float) -> float:
    return TOP + (HEIGHT - TOP - BOTTOM) * (100.0 - score) / 100.0


def render() -> str:
    out: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>',
        f'<text x="{LEFT}" y="22" font-size="14" font-weight="bold">'
        "SuccessScore over 120 days (default parameters)</text>",
    ]
    for score in range(0, 101, 20):
        y = _y_px(score)
        out.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="#dddddd"/>'
        )
        out.append(f'<text x="{LEFT - 8}" y="{y + 4:.1f}" text-anchor="end">{score}</text>')
    for day in range(0, DAYS + 1, 20):
        x = _x_px(day)
        out.append(
            f'<line x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{HEIGHT - BOTTOM}" stroke="#eeeeee"/>'
        )
        out.append(
            f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 18}" text-anchor="middle">{day}</text>'
        )
    out.append(
        f'<text x="{(LEFT + WIDTH - RIGHT) / 2:.1f}" y="{HEIGHT - 10}" text-anchor="middle">'
        "days since the pulse was set</text>"
    )
    for index, (name, colour, dashed, ys) in enumerate(_series()):
        coords = " ".join(f"{_x_px(day):.1f},{_y_px(score):.2f}" for day, score in enumerate(ys))
        dash = ' stroke-dasharray="6 4"' if dashed else ""
        out.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2"{dash} points="{coords}"/>'
        )
        ly = TOP + 10 + index * 20
        lx = WIDTH - RIGHT + 14
        out.append(
            f'<line x1="{lx}" y1="{ly}" x2="{lx + 22}" y2="{ly}" stroke="{colour}" '
            f'stroke-width="2"{dash}/>'
        )
        out.append(f'<text x="{lx + 28}" y="{ly + 4}">{name}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--check", action="store_true", help="fail if the file is out of date")
    args = parser.parse_args(argv)
    svg = render()
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
        if current != svg:
            print(f"{args.out} is stale; run python tools/success_score_chart.py", file=sys.stderr)
            return 1
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(svg, encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
