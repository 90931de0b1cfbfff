"""Pulses: setting, same update, history, concurrency, SuccessScore of an account."""

from __future__ import annotations

import itertools
import threading
from typing import Any

import pytest
from support.api import TenantHandle

from chalicelib.store import pulses as pulse_store


def pulse_codes(tenant: TenantHandle) -> dict[str, list[dict[str, Any]]]:
    items = tenant.api.get("/reason-codes?tab=pulse&limit=200").json["items"]
    return {kind: [c for c in items if c["type"] == kind] for kind in ("risk", "success", "both")}


def test_pulse_scale(tenant: TenantHandle) -> None:
    scale = tenant.api.get("/pulse-scale").json["items"]
    assert [level["value"] for level in scale] == [6, 5, 4, 3, 2, 1]
    assert scale[0]["label"] == "Extremely Satisfied" and scale[-1]["label"] == "Severe Risk"


def test_set_pulse_and_history(tenant: TenantHandle) -> None:
    codes = pulse_codes(tenant)
    account = tenant.account()
    url = f"/accounts/{account['id']}/pulses"
    risk = [c["id"] for c in codes["risk"][:2]] + [codes["both"][0]["id"]]
    success = [codes["success"][1]["id"], codes["success"][0]["id"]]
    first = tenant.api.post(
        url,
        {
            "level": 4,
            "risk_factors": risk,
            "success_factors": success,
            "note": "Quarterly review went well",
            "next_steps": "Book the executive sponsor call",
        },
    )
    assert first.status == 201, first.body
    body = first.json
    assert body["level"] == 4 and body["level_label"] == "Fairly Satisfied"
    assert body["previous_level"] is None
    assert [f["id"] for f in body["risk_factors"]] == risk  # order is the manager's priority
    assert [f["id"] for f in body["success_factors"]] == success
    assert body["set_by"] == tenant.admin.user_id
    assert body["success_score"]["before"] == 50.0 and body["success_score"]["after"] == 57.5

    second = tenant.api.post(url, {"level": 2, "note": "Champion left"})
    assert second.status == 201
    assert second.json["previous_level"] == 4 and second.json["set_at"] > body["set_at"]

    shown = tenant.api.get(f"/accounts/{account['id']}").json
    assert shown["pulse_level"] == 2 and shown["pulse_set_at"] == second.json["set_at"]
    assert shown["risk_factors"] == [] and shown["success_factors"] == []

    for _ in range(3):
        assert tenant.api.post(url, {"level": 3}).status == 201
    page = tenant.api.get(f"{url}?limit=2").json
    assert len(page["items"]) == 2 and page["next_cursor"]
    rest = tenant.api.get(f"{url}?limit=50&cursor={page['next_cursor']}").json
    history = page["items"] + rest["items"]
    assert [p["level"] for p in history] == [3, 3, 3, 2, 4]
    assert [p["set_at"] for p in history] == sorted((p["set_at"] for p in history), reverse=True)
    assert history[-1]["note"] == "Quarterly review went well"
    assert history[-1]["next_steps"] == "Book the executive sponsor call"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"level": 7}, "level"),
        ({"level": 0}, "level"),
        ({"level": True}, "level"),
        ({"level": "3"}, "level"),
        ({"level": 3, "note": "x" * 801}, "note"),
        ({"level": 3, "next_steps": "x" * 801}, "next_steps"),
        ({"level": 3, "risk_factors": ["a", "b", "c", "d"]}, "risk_factors"),
        ({"level": 3, "success_factors": ["a", "b", "c", "d"]}, "success_factors"),
        ({"level": 3, "mood": "meh"}, "mood"),
        ({}, "level"),
    ],
)
def test_pulse_validation(tenant: TenantHandle, body: dict[str, Any], field: str) -> None:
    account = tenant.account()
    reply = tenant.api.post(f"/accounts/{account['id']}/pulses", body)
    assert reply.status == 422, reply.body
    assert field in reply.json["error"]["fields"]
    assert tenant.api.get(f"/accounts/{account['id']}/pulses").json["items"] == []


def test_factor_rules(tenant: TenantHandle, other_tenant: TenantHandle) -> None:
    codes = pulse_codes(tenant)
    account = tenant.account()
    url = f"/accounts/{account['id']}/pulses"
    success_only = codes["success"][0]["id"]
    risk_only = codes["risk"][0]["id"]
    both = codes["both"][0]["id"]
    downsell = tenant.api.get("/reason-codes?tab=downsell").json["items"][0]["id"]
    theirs = pulse_codes(other_tenant)["risk"][0]["id"]

    def fields(body: dict[str, Any]) -> dict[str, str]:
        reply = tenant.api.post(url, {"level": 3, **body})
        assert reply.status == 422, reply.body
        return dict(reply.json["error"]["fields"])

    assert "risk_factors[0]" in fields({"risk_factors": [success_only]})
    assert "success_factors[0]" in fields({"success_factors": [risk_only]})
    assert "risk_factors[1]" in fields({"risk_factors": [risk_only, risk_only]})
    assert "risk_factors[0]" in fields({"risk_factors": [downsell]})
    assert fields({"risk_factors": [theirs]}) == {"risk_factors[0]": "unknown reason code"}
    assert "success_factors[0]" in fields({"risk_factors": [both], "success_factors": [both]})
    ok = tenant.api.post(url, {"level": 3, "risk_factors": [both], "success_factors": []})
    assert ok.status == 201


def test_same_update(tenant: TenantHandle) -> None:
    codes = pulse_codes(tenant)
    account = tenant.account()
    url = f"/accounts/{account['id']}/pulses"
    assert tenant.api.post(f"{url}/same", {"note": "nothing yet"}).status == 409
    risk = codes["risk"][3]["id"]
    success = codes["success"][2]["id"]
    first = tenant.api.post(
        url, {"level": 5, "risk_factors": [risk], "success_factors": [success], "note": "a"}
    ).json
    # A code retired since it was chosen still carries over: the update restates what is true.
    assert tenant.api.patch(f"/reason-codes/{risk}", {"active": False}).status == 200
    same = tenant.api.post(f"{url}/same", {"note": "still great"})
    assert same.status == 201, same.body
    assert same.json["same"] is True and same.json["level"] == 5
    assert same.json["previous_level"] == 5 and same.json["note"] == "still great"
    assert [f["id"] for f in same.json["risk_factors"]] == [risk]
    assert [f["id"] for f in same.json["success_factors"]] == [success]
    # Same level: no jump, the curve carries on.
    assert same.json["success_score"]["after"] == first["success_score"]["after"]
    used = {
        c["id"]: c["use_count"]
        for c in tenant.api.get("/reason-codes?tab=pulse&limit=200").json["items"]
    }
    assert used[risk] == 2 and used[success] == 2
    assert tenant.api.post(f"{url}/same", {"note": "x" * 801}).status == 422


def test_account_managers_pulse_their_own_accounts(tenant: TenantHandle) -> None:
    am = tenant.add_staff("account_manager")
    mine = tenant.account(owner=am)
    theirs = tenant.account()
    api = tenant.as_(am)
    assert api.post(f"/accounts/{mine['id']}/pulses", {"level": 4}).status == 201
    assert api.post(f"/accounts/{theirs['id']}/pulses", {"level": 4}).status == 404
    assert api.get(f"/accounts/{theirs['id']}/pulses").status == 404
    assert api.get(f"/accounts/{theirs['id']}/success-score").status == 404
    assert api.get(f"/accounts/{mine['id']}/success-score").status == 200


def test_other_tenant_account_answers_404(tenant: TenantHandle, other_tenant: TenantHandle) -> None:
    account = other_tenant.account()
    assert tenant.api.post(f"/accounts/{account['id']}/pulses", {"level": 3}).status == 404
    assert tenant.api.post(f"/accounts/{account['id']}/pulses/same", {}).status == 404
    assert tenant.api.get(f"/accounts/{account['id']}/pulses").status == 404


@pytest.fixture
def atomic_moto_transactions(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto runs TransactWriteItems by deep-copying the tables it touches and, when a condition
    fails, putting that copy back: a transaction committed by another thread in between is
    undone. DynamoDB's transactions are serializable; a lock gives moto the same isolation, so
    this test checks our retry logic rather than moto's rollback."""
    from moto.dynamodb.models import DynamoDBBackend

    lock = threading.Lock()
    original = DynamoDBBackend.transact_write_items

    def serialised(self: Any, transact_items: list[dict[str, Any]]) -> None:
        with lock:
            original(self, transact_items)

    monkeypatch.setattr(DynamoDBBackend, "transact_write_items", serialised)


@pytest.mark.usefixtures("atomic_moto_transactions")
def test_concurrent_pulses_all_land_and_counts_stay_exact(tenant: TenantHandle) -> None:
    from chalicelib.services import pulses as service
    from chalicelib.store import accounts as account_store

    codes = pulse_codes(tenant)
    shared = codes["risk"][0]["id"]
    account_id = tenant.account()["id"]
    account = account_store.get_account(tenant.tenant_id, account_id)
    writers = 8
    barrier = threading.Barrier(writers)
    results: list[dict[str, Any]] = []
    errors: list[BaseException] = []

    def write(level: int) -> None:
        try:
            barrier.wait()
            results.append(
                service.set_pulse(
                    tenant.tenant_id,
                    account,
                    set_by=tenant.admin.user_id,
                    level=level,
                    risk_factors=[shared],
                    success_factors=[],
                    note=f"writer {level}",
                    next_steps="",
                )
            )
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(1 + i % 6,)) for i in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    history = tenant.api.get(f"/accounts/{account_id}/pulses?limit=50").json["items"]
    assert len(history) == writers
    assert {p["id"] for p in history} == {r["id"] for r in results}
    # A chain: each pulse's previous level is the level of the one before it.
    chronological = list(reversed(history))
    assert chronological[0]["previous_level"] is None
    for before, after in itertools.pairwise(chronological):
        assert after["previous_level"] == before["level"]
        assert after["success_score"]["before"] == pytest.approx(before["success_score"]["after"])
    shown = tenant.api.get(f"/accounts/{account_id}").json
    assert shown["pulse_set_at"] == history[0]["set_at"]
    assert shown["pulse_level"] == history[0]["level"]
    used = next(
        c
        for c in tenant.api.get("/reason-codes?tab=pulse&limit=200").json["items"]
        if c["id"] == shared
    )
    assert used["use_count"] == writers
    assert used["last_used_at"] == history[0]["set_at"]


def test_success_score_endpoint(tenant: TenantHandle) -> None:
    account = tenant.account()
    before = tenant.api.get(f"/accounts/{account['id']}/success-score")
    assert before.status == 200
    assert before.json["score"] == 50.0 and before.json["level"] is None
    assert before.json["direction"] == "no_pulse"
    tenant.api.post(f"/accounts/{account['id']}/pulses", {"level": 4})
    view = tenant.api.get(f"/accounts/{account['id']}/success-score").json
    assert view["score"] == 57.5 and view["display_score"] == 58
    assert view["level"] == 4 and view["target"] == 65.0 and view["days_at_level"] == 0
    assert view["direction"] == "growing"
    change = view["explanation"]["last_change"]
    assert change["from_level"] is None and change["score_before"] == 50.0
    assert change["score_after"] == 57.5
    assert "Fairly Satisfied" in view["explanation"]["summary"]
    assert view["history"][-1]["date"] == view["date"]
    assert view["history"][-1]["score"] == 57.5


def test_deleting_an_account_deletes_its_pulses(tenant: TenantHandle) -> None:
    account = tenant.account()
    for level in (5, 4):
        tenant.api.post(f"/accounts/{account['id']}/pulses", {"level": level})
    assert (
        len(pulse_store.list_pulses(tenant.tenant_id, account["id"], limit=10, cursor=None).items)
        == 2
    )
    assert tenant.api.delete(f"/accounts/{account['id']}").status == 204
    assert (
        pulse_store.list_pulses(tenant.tenant_id, account["id"], limit=10, cursor=None).items == []
    )
