"""The fast subset of ``make bench`` in the test suite: the foundation and survey requests and
the reports at a small size, run in-process on the shared moto. Every row must be within its
budget, and the committed table in ``docs/benchmarks.md`` must hold the counts measured here, so
a change that moves a count fails until the table is regenerated
(``python -m pulse_local.bench --fast``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pulse_local import bench

DOC = Path(__file__).resolve().parents[2] / "docs" / "benchmarks.md"


@pytest.fixture(scope="module")
def rows(client: Any) -> list[bench.Row]:
    return bench.run_cases(client, fast=True)


def test_fast_subset_covers_foundation_surveys_and_reports(rows: list[bench.Row]) -> None:
    sections = {row.section.split(":")[0] for row in rows}
    assert sections == {"Foundation", "Surveys", "Reports"}
    assert any(row.operation == "GET /me" for row in rows)
    assert any(row.operation.startswith("GET /reports/workspace") for row in rows)
    assert all(row.budget is not None for row in rows if row.section.startswith("Reports"))


def test_every_fast_row_is_within_its_budget(rows: list[bench.Row]) -> None:
    over = [f"{r.operation}: {r.calls} requests, budget {r.budget}" for r in rows if r.over]
    assert not over, "\n".join(over)


def test_committed_table_holds_the_measured_counts(rows: list[bench.Row]) -> None:
    committed = bench.fast_counts(DOC.read_text(encoding="utf-8"))
    measured = {row.operation: (row.calls, row.by_operation) for row in rows}
    differ = [
        f"{name}: committed {committed.get(name)}, measured {counts}"
        for name, counts in measured.items()
        if committed.get(name) != counts
    ]
    differ += [f"{name}: committed, not measured" for name in committed.keys() - measured.keys()]
    assert not differ, (
        "docs/benchmarks.md disagrees with the fast subset; run "
        "`python -m pulse_local.bench --fast` and commit the table:\n" + "\n".join(differ)
    )


def test_a_row_over_budget_fails_the_run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """``make bench`` exits 1 (and names the row) when a row is over its budget."""
    row = bench.Row("Reports", "GET /reports/x", 200, 9, "Query 9", 0, 0, 0, 0, budget=8)
    ok = bench.Row("Reports", "GET /reports/y", 200, 8, "Query 8", 0, 0, 0, 0, budget=8)
    doc = tmp_path / "benchmarks.md"
    doc.write_text(f"before\n{bench.FAST_START}\nold\n{bench.FAST_END}\nafter\n", encoding="utf-8")
    monkeypatch.setattr(bench, "run_benches", lambda fast: ([], [ok, row]))
    assert bench.main(["--fast", "--output", str(doc)]) == 1
    written = doc.read_text(encoding="utf-8")
    assert "| `GET /reports/x` | 9 | Query 9 | 8 **OVER BUDGET** |" in written
    assert written.startswith("before\n") and written.endswith("\nafter\n") and "old" not in written
    assert bench.fast_counts(written) == {
        "GET /reports/x": (9, "Query 9"),
        "GET /reports/y": (8, "Query 8"),
    }
    monkeypatch.setattr(bench, "run_benches", lambda fast: ([], [ok]))
    assert bench.main(["--fast", "--output", str(doc)]) == 0
