"""DynamoDB cost of core operations, counted with chalicelib.store.metering: a change that adds a
request to a hot path fails here (and shows in `make bench`)."""

from __future__ import annotations

from typing import Any

import pytest
from support.api import TenantHandle

from chalicelib.store.metering import count_dynamodb, item_size


def test_get_account_is_one_get_item(tenant: TenantHandle) -> None:
    account = tenant.account()
    with count_dynamodb() as meter:
        reply = tenant.api.get(f"/accounts/{account['id']}")
    assert reply.status == 200
    # The caller's stored user (every staff request), then the account.
    assert meter.calls == 2, meter.summary()
    assert meter.count("GetItem", "-users") == 1
    assert meter.count("GetItem", "-accounts") == 1
    assert meter.read_units > 0
    assert meter.write_units == 0


def test_list_accounts_is_one_query_and_never_a_scan(tenant: TenantHandle) -> None:
    for _ in range(3):
        tenant.account()
    with count_dynamodb() as meter:
        reply = tenant.api.get("/accounts?limit=50")
    assert reply.status == 200
    assert len(reply.json["items"]) == 3
    assert meter.by_operation == {"GetItem": 1, "Query": 1}, meter.summary()
    assert meter.count("GetItem", "-users") == 1
    assert meter.items_read == 1 + 3


def test_create_account_writes_once(tenant: TenantHandle) -> None:
    with count_dynamodb() as meter:
        tenant.account()
    assert meter.by_operation["PutItem"] == 1, meter.summary()
    assert meter.count("PutItem", "-accounts") == 1
    assert "Scan" not in meter.by_operation


def test_login_touches_no_table(client: Any, tenant: TenantHandle) -> None:
    from support.api import login

    with count_dynamodb() as meter:
        login(tenant.api, tenant.admin.email)
    assert meter.calls == 0, meter.summary()


def test_meters_nest_and_stop_counting_when_closed(tenant: TenantHandle) -> None:
    account = tenant.account()
    with count_dynamodb() as outer:
        tenant.api.get(f"/accounts/{account['id']}")
        with count_dynamodb() as inner:
            tenant.api.get(f"/accounts/{account['id']}")
    tenant.api.get(f"/accounts/{account['id']}")
    assert inner.calls == 2  # the caller's stored user and the account
    assert outer.calls == 4


def test_a_failed_conditional_write_is_counted_with_its_error(tenant: TenantHandle) -> None:
    from chalicelib.errors import NotFound
    from chalicelib.store import accounts

    with count_dynamodb() as meter, pytest.raises(NotFound):
        accounts.delete_contact(tenant.tenant_id, "c_doesnotexist")
    assert meter.by_operation == {"DeleteItem": 1}
    assert meter.errors == {"ConditionalCheckFailedException": 1}


def test_item_size_follows_dynamodb_rules() -> None:
    assert item_size({"id": {"S": "abc"}}) == 2 + 3
    assert item_size({"n": {"N": "12345"}}) == 1 + 1 + 3
    assert item_size({"ok": {"BOOL": True}, "x": {"NULL": True}}) == 3 + 2
    assert item_size({"m": {"M": {"a": {"S": "b"}}}}) == 1 + 3 + (1 + 1 + 1)
