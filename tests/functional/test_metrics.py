"""Business metrics as CloudWatch receives them: Powertools prints each invocation's counts to
stdout in embedded metric format (namespace Pulse), and the handler logs one summary line."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from support.api import TenantHandle
from survey_support import FULL_ANSWER, drain, mails_to, make_review, token_in


def _emf(text: str) -> list[dict[str, Any]]:
    blobs = []
    for line in text.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            blobs.append(json.loads(line))
    return blobs


def _counts(text: str) -> dict[str, float]:
    totals: dict[str, float] = {}
    for blob in _emf(text):
        (directive,) = blob["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "Pulse"
        assert blob["service"] == "pulse"
        for metric in directive["Metrics"]:
            assert metric["Unit"] == "Count"
            value = blob[metric["Name"]]
            totals[metric["Name"]] = totals.get(metric["Name"], 0) + (
                sum(value) if isinstance(value, list) else value
            )
    return totals


def _logs(text: str) -> list[dict[str, Any]]:
    return [
        json.loads(line)
        for line in text.splitlines()
        if line.startswith("{") and '"_aws"' not in line and '"level"' in line
    ]


def test_survey_mails_and_responses_are_counted(
    client: Any, tenant: TenantHandle, capsys: pytest.CaptureFixture[str]
) -> None:
    from chalicelib.observability import logger

    review = make_review(tenant)
    capsys.readouterr()
    logs = io.StringIO()
    previous = logger.registered_handler.setStream(logs)  # bound to stdout before capsys
    try:
        assert review.api.post(f"/reviews/{review.review_id}/send").status == 202
        drain(client)
    finally:
        logger.registered_handler.setStream(previous)
    out = capsys.readouterr().out
    assert _counts(out)["MailsSent"] == len(review.contacts)
    batches = [r for r in _logs(logs.getvalue()) if r["message"] == "mail queue batch"]
    assert sum(b["mails_sent"] for b in batches) == len(review.contacts)
    assert all(b["function_name"] and "cold_start" in b for b in batches)

    token = token_in(mails_to(review.contacts[0]["email"])[-1])
    public = tenant.api.as_("")
    assert public.post(f"/r/{token}", FULL_ANSWER).status == 200
    assert _counts(capsys.readouterr().out).get("ResponsesRecorded") == 1
    assert public.post(f"/r/{token}", {**FULL_ANSWER, "nps": 6}).status == 200
    again = _counts(capsys.readouterr().out)
    assert again.get("ResponsesUpdated") == 1 and "ResponsesRecorded" not in again


def test_a_request_that_counts_nothing_publishes_nothing(
    client: Any, tenant: TenantHandle, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert tenant.api.get("/me").status == 200
    assert _emf(capsys.readouterr().out) == []
