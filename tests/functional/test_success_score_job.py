"""The nightly SuccessScore job: fan-out through SQS gives the same scores as one process, slices
chain across a big tenant, partial batch failures are reported per message, runs are idempotent."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest

from chalicelib.domain import success_score as score
from chalicelib.jobs import pulse_jobs
from chalicelib.jobs import registry as jobs
from chalicelib.store import directory
from chalicelib.store.accounts import AccountModel, account_key, owner_key
from chalicelib.store.base import new_id
from chalicelib.store.pulses import ScoreHistoryModel, recorded_scores
from chalicelib.store.tenants import TenantModel

ON = date(2026, 3, 1)
SIZES = (1200, 800, 400, 7)  # several tenants, one of them spanning several slices


Tenants = dict[str, tuple[dict[str, float], score.ScoreParams]]


def _make_tenant(
    rng: random.Random, accounts: int, params: dict[str, Any]
) -> tuple[str, dict[str, float]]:
    """A tenant with accounts at random pulse histories; returns the expected score for ON of
    each account, computed here with the domain functions."""
    tenant_id = new_id("t")
    TenantModel(
        tenant_id,
        name="Job Tenant",
        industry="IT Services",
        country="US",
        region="WA",
        city="Seattle",
        staff_size=10,
        created_at="2025-01-01T00:00:00Z",
        settings={"success_score": params} if params else {},
    ).save()
    directory.add(tenant_id)
    parsed, errors = score.params_from_dict(params)
    assert not errors and parsed is not None
    expected: dict[str, float] = {}
    with AccountModel.batch_write() as batch:
        for _ in range(accounts):
            account_id = new_id("acc")
            state: score.ScoreState | None = None
            pulse_seq = 0
            day = ON - timedelta(days=rng.randint(80, 200))
            for _ in range(rng.randint(0, 3)):
                state = score.apply_pulse(state, rng.randint(1, 6), day, parsed)
                pulse_seq += 1
                day += timedelta(days=rng.randint(0, 25))
            expected[account_id] = (
                parsed.initial_score if state is None else score.score_on(state, ON, parsed)
            )
            batch.save(
                AccountModel(
                    tenant_id,
                    account_id,
                    name=f"Account {account_id[-6:]}",
                    owner_id="owner",
                    owner_key=owner_key(tenant_id, "owner"),
                    stage="onboarding",
                    created_at="2025-01-01T00:00:00Z",
                    pulse_level=None if state is None else state.level,
                    pulse_seq=pulse_seq or None,
                    score_state=None if state is None else state.to_dict(),
                )
            )
    return tenant_id, expected


@pytest.fixture(scope="module")
def job_tenants(aws: dict[str, str]) -> Iterator[Tenants]:
    rng = random.Random(20260301)
    variants: list[dict[str, Any]] = [
        {},
        {"growth_half_life_days": 10, "decay_half_life_days": 30},
        {"targets": {"6": 99, "1": 2}, "jump_per_level": 0.4},
        {},
    ]
    made: Tenants = {}
    for size, params in zip(SIZES, variants, strict=True):
        tenant_id, expected = _make_tenant(rng, size, params)
        parsed, _ = score.params_from_dict(params)
        assert parsed is not None
        made[tenant_id] = (expected, parsed)
    yield made
    # Leave the shared tables small: moto copies whole tables inside every transaction.
    for tenant_id, (expected, _) in made.items():
        with AccountModel.batch_write() as batch:
            for account_id in expected:
                batch.delete(AccountModel(tenant_id, account_id))
        _clear_records(tenant_id, list(expected))
        directory.remove(tenant_id)


def _clear_records(tenant_id: str, ids: list[str]) -> None:
    with ScoreHistoryModel.batch_write() as batch:
        for account_id in ids:
            batch.delete(ScoreHistoryModel(account_key(tenant_id, account_id), ON.isoformat()))


def _snapshot(job_tenants: Tenants) -> dict[str, float]:
    out: dict[str, float] = {}
    for tenant_id, (expected, _) in job_tenants.items():
        out.update(recorded_scores(tenant_id, list(expected), ON))
    return out


def _sqs_event(messages: list[dict[str, Any]]) -> dict[str, Any]:
    """What the event source mapping delivers: every record with its own messageId."""
    return {
        "Records": [
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": m.get("ReceiptHandle", "rh"),
                "body": m["Body"],
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1772330400000",
                    "SenderId": "local",
                    "ApproximateFirstReceiveTimestamp": "1772330400000",
                },
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:pulse-test-score",
                "awsRegion": "us-east-1",
            }
            for m in messages
        ]
    }


def _drain(client: Any) -> tuple[int, int]:
    """Act as the event source mapping until the queue is empty; returns (batches, failures)."""
    from chalicelib.clients import client as aws
    from chalicelib.queues import queue_url

    sqs = aws("sqs")
    url = queue_url("score")
    batches = failures = 0
    while True:
        received = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60, WaitTimeSeconds=0
        ).get("Messages", [])
        if not received:
            return batches, failures
        event = _sqs_event(received)
        reply = client.lambda_.invoke("score_queue", event).payload
        batches += 1
        failed = {f["itemIdentifier"] for f in reply.get("batchItemFailures", [])}
        failures += len(failed)
        for record, message in zip(event["Records"], received, strict=True):
            if record["messageId"] not in failed:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def test_fan_out_through_sqs_equals_one_process(
    client: Any, job_tenants: Tenants, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small slices so the biggest tenant is a chain of several messages.
    monkeypatch.setattr(pulse_jobs, "SLICE_ACCOUNTS", 250)
    summary = jobs.run("success-score", ON)
    assert summary["accounts"] >= sum(SIZES)
    in_process = _snapshot(job_tenants)
    expected = {a: v for exp, _ in job_tenants.values() for a, v in exp.items()}
    assert in_process == expected  # every account, exactly (not approximately)

    for tenant_id, (exp, _) in job_tenants.items():
        _clear_records(tenant_id, list(exp))

    event = {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": f"{ON.isoformat()}T02:00:00Z",
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/nightly"],
        "detail": {},
    }
    fanned = client.lambda_.invoke("nightly_success_score", event).payload
    assert fanned["date"] == ON.isoformat() and fanned["messages"] >= len(job_tenants)
    batches, failures = _drain(client)
    assert failures == 0 and batches >= 2
    assert _snapshot(job_tenants) == in_process


def test_partial_batch_failure_names_only_the_bad_message(
    client: Any, job_tenants: Tenants
) -> None:
    tenant_id = next(t for t, (exp, _) in job_tenants.items() if len(exp) == SIZES[-1])
    ids = list(job_tenants[tenant_id][0])
    _clear_records(tenant_id, ids)
    good = {"job": "success-score", "tenant_id": tenant_id, "date": ON.isoformat()}
    bad = {"job": "success-score", "date": ON.isoformat()}
    worse = {"job": "no-such-job", "tenant_id": tenant_id, "date": ON.isoformat()}
    event = _sqs_event([{"Body": json.dumps(m)} for m in (bad, good, worse)])
    reply = client.lambda_.invoke("score_queue", event).payload
    failed = [f["itemIdentifier"] for f in reply["batchItemFailures"]]
    records = event["Records"]
    assert failed == [records[0]["messageId"], records[2]["messageId"]]
    first = recorded_scores(tenant_id, ids, ON)
    assert first == job_tenants[tenant_id][0]
    # The same message again (SQS delivers at least once): the same values.
    again = client.lambda_.invoke("score_queue", _sqs_event([{"Body": json.dumps(good)}]))
    assert again.payload == {"batchItemFailures": []}
    assert recorded_scores(tenant_id, ids, ON) == first


def test_job_runs_from_the_registry_by_name() -> None:
    assert {"success-score", "stale-alerts"} <= set(jobs.JOBS)
    with pytest.raises(KeyError):
        jobs.run("no-such-job", ON)
