"""The survey figures ``make bench`` reports, held to their budgets: DynamoDB requests per open
and per submit, and the page size."""

from __future__ import annotations

from typing import Any

from support.api import TenantHandle

from pulse_local import bench_surveys


def test_survey_open_submit_and_page_size_stay_within_budget(
    client: Any, tenant: TenantHandle
) -> None:
    measured, size = bench_surveys.measure(client, tenant.admin.token)
    by_label = {m.label: m for m in measured}
    first_open = by_label["GET /r/{token} (first open)"]
    assert first_open.status == 200
    assert first_open.meter.calls <= bench_surveys.OPEN_BUDGET
    assert by_label["GET /r/{token} (opened before)"].meter.calls <= bench_surveys.OPEN_BUDGET - 1
    for label in ("POST /r/{token} (first submit)", "POST /r/{token} (update)"):
        submit = by_label[label]
        assert submit.status == 200
        assert submit.meter.calls <= bench_surveys.SUBMIT_BUDGET, label
        # The response itself, without the work done for the dashboard's read model.
        own = [r for r in submit.meter.records if not bench_surveys.for_read_model(r)]
        assert len(own) <= bench_surveys.SUBMIT_CORE_BUDGET, (label, [r.table for r in own])
        assert sum(1 for r in own if r.operation == "TransactWriteItems") == 1
    assert 0 < size <= bench_surveys.PAGE_BYTES_BUDGET
    print({m.label: (m.meter.calls, m.read_model_calls) for m in measured}, size)
