"""Sender identities: a tenant sends survey mail only from an address or domain it registered
here and SES verified; the platform's own sender and other tenants' identities are not its.

moto verifies every SES identity the moment it is created. Real SES keeps it Pending until
the link is clicked or the DKIM records are seen; ``ses_pending`` makes moto answer that way
for the identities put in it.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from support.api import TenantHandle

PATH = "/settings/sender-identities"


def _domain(name: str = "northwind") -> str:
    return f"{name}-{secrets.token_hex(4)}.example"


def _ses_identities() -> set[str]:
    return set(boto3.client("ses").list_identities()["Identities"])


@pytest.fixture
def ses_pending(monkeypatch: pytest.MonkeyPatch) -> Iterator[set[str]]:
    from moto.ses.models import SESBackend

    pending: set[str] = set()
    verification = SESBackend.get_identity_verification_attributes
    dkim = SESBackend.get_identity_dkim_attributes

    def verification_pending(self: Any, identities: Any = None) -> Any:
        answer = verification(self, identities)
        for identity in pending & set(answer):
            answer[identity] = {**answer[identity], "VerificationStatus": "Pending"}
        return answer

    def dkim_pending(self: Any, identities: Any) -> Any:
        answer = dkim(self, identities)
        for identity in pending & set(answer):
            answer[identity] = {**answer[identity], "DkimVerificationStatus": "Pending"}
        return answer

    monkeypatch.setattr(SESBackend, "get_identity_verification_attributes", verification_pending)
    monkeypatch.setattr(SESBackend, "get_identity_dkim_attributes", dkim_pending)
    yield pending


def test_an_address_is_added_verified_by_ses_and_listed(tenant: TenantHandle) -> None:
    address = f"success@{_domain()}"
    added = tenant.api.post(PATH, {"email": address.upper()})
    assert added.status == 201, added.body
    assert added.json["kind"] == "email" and added.json["email"] == address
    assert added.json["status"] == "verified" and added.json["verified"] is True
    assert "dkim_records" not in added.json
    assert address in _ses_identities()  # SES was asked to verify it (and mails the link)

    listed = tenant.api.get(PATH)
    assert listed.status == 200
    assert [i["email"] for i in listed.json["items"]] == [address]
    assert listed.json["items"][0]["id"] == added.json["id"]

    reply = tenant.api.put("/settings", {"email_from": address})
    assert reply.status == 200 and reply.json["email_from"] == address


def test_a_domain_gets_three_dkim_cname_records(tenant: TenantHandle) -> None:
    domain = _domain()
    added = tenant.api.post(PATH, {"domain": domain.upper() + "."})
    assert added.status == 201, added.body
    assert added.json["kind"] == "domain" and added.json["domain"] == domain
    records = added.json["dkim_records"]
    assert len(records) == 3 and len({r["name"] for r in records}) == 3
    for record in records:
        token = record["name"].removesuffix(f"._domainkey.{domain}")
        assert record["type"] == "CNAME" and token and "." not in token
        assert record["value"] == f"{token}.dkim.amazonses.com"
    assert domain in _ses_identities()
    (listed,) = tenant.api.get(PATH).json["items"]
    assert listed["dkim_records"] == records and listed["verified"] is True
    # Any address at a verified domain of the tenant may be the From.
    assert tenant.api.put("/settings", {"email_from": f"cs@{domain}"}).status == 200


def test_another_tenant_cannot_claim_an_identity_or_anything_under_its_domain(
    tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    domain, address = _domain(), f"success@{_domain()}"
    assert tenant.api.post(PATH, {"domain": domain}).status == 201
    assert tenant.api.post(PATH, {"email": address}).status == 201
    for body in (
        {"domain": domain},
        {"email": address},
        {"email": f"billing@{domain}"},
        {"domain": f"mail.{domain}"},
    ):
        reply = other_tenant.api.post(PATH, body)
        assert reply.status == 409, (body, reply.body)
        assert reply.json["error"]["code"] == "conflict" and set(
            reply.json["error"]["fields"]
        ) == set(body)
    assert other_tenant.api.get(PATH).json["items"] == []
    # The owner adding the same one twice is a conflict too, and leaves one identity.
    assert tenant.api.post(PATH, {"domain": domain}).status == 409
    assert len(tenant.api.get(PATH).json["items"]) == 2


def test_email_from_is_refused_until_ses_reports_the_identity_verified(
    tenant: TenantHandle, ses_pending: set[str]
) -> None:
    domain = _domain()
    ses_pending.add(domain)
    added = tenant.api.post(PATH, {"domain": domain})
    assert added.status == 201
    assert added.json["status"] == "pending" and added.json["verified"] is False
    assert len(added.json["dkim_records"]) == 3

    refused = tenant.api.put("/settings", {"email_from": f"cs@{domain}"})
    assert refused.status == 422
    assert set(refused.json["error"]["fields"]) == {"email_from"}
    assert tenant.api.get("/settings").json["email_from"] is None

    ses_pending.discard(domain)  # the DNS records were published and SES saw them
    assert tenant.api.get(PATH).json["items"][0]["status"] == "verified"
    reply = tenant.api.put("/settings", {"email_from": f"cs@{domain}"})
    assert reply.status == 200 and reply.json["email_from"] == f"cs@{domain}"


def test_the_platform_sender_is_never_a_tenants_from(tenant: TenantHandle) -> None:
    from chalicelib.settings import get_settings

    platform = get_settings().mail_from
    platform_domain = platform.split("@", 1)[1]
    assert platform in _ses_identities()  # verified for the deployment
    for email_from in (platform, f"billing@{platform_domain}", platform.upper()):
        reply = tenant.api.put("/settings", {"email_from": email_from})
        assert reply.status == 422, reply.body
        assert set(reply.json["error"]["fields"]) == {"email_from"}
    for body in (
        {"email": platform},
        {"domain": platform_domain},
        {"domain": f"mail.{platform_domain}"},
    ):
        reply = tenant.api.post(PATH, body)
        assert reply.status == 422 and set(reply.json["error"]["fields"]) == set(body)
    # Unset (null) is how a tenant sends from the platform address.
    domain = _domain()
    assert tenant.api.post(PATH, {"domain": domain}).status == 201
    assert tenant.api.put("/settings", {"email_from": f"cs@{domain}"}).status == 200
    cleared = tenant.api.put("/settings", {"email_from": None})
    assert cleared.status == 200 and cleared.json["email_from"] is None


def test_email_from_is_refused_for_another_tenants_identity(
    tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    domain, address = _domain("contoso"), f"ceo@{_domain('contoso')}"
    assert other_tenant.api.post(PATH, {"domain": domain}).status == 201
    assert other_tenant.api.post(PATH, {"email": address}).status == 201
    for email_from in (f"cs@{domain}", address):
        reply = tenant.api.put("/settings", {"email_from": email_from})
        assert reply.status == 422, reply.body
        assert set(reply.json["error"]["fields"]) == {"email_from"}
    assert tenant.api.get("/settings").json["email_from"] is None


def test_an_identity_verified_outside_pulse_is_neither_usable_nor_claimable(
    tenant: TenantHandle,
) -> None:
    # SES says verified (for the whole deployment), but no tenant proved it owns the address.
    address = f"ceo@{_domain('bank')}"
    boto3.client("ses").verify_email_identity(EmailAddress=address)
    try:
        refused = tenant.api.put("/settings", {"email_from": address})
        assert refused.status == 422 and set(refused.json["error"]["fields"]) == {"email_from"}
        claimed = tenant.api.post(PATH, {"email": address})
        assert claimed.status == 409 and set(claimed.json["error"]["fields"]) == {"email"}
        assert tenant.api.get(PATH).json["items"] == []
    finally:
        boto3.client("ses").delete_identity(Identity=address)


def test_deleting_an_identity_removes_it_and_clears_the_from_it_backed(
    tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    domain = _domain()
    added = tenant.api.post(PATH, {"domain": domain}).json
    kept = tenant.api.post(PATH, {"email": f"kept@{_domain()}"}).json
    assert tenant.api.put("/settings", {"email_from": f"cs@{domain}"}).status == 200

    reply = tenant.api.delete(f"{PATH}/{added['id']}")
    assert reply.status == 204 and reply.body == b""
    assert [i["id"] for i in tenant.api.get(PATH).json["items"]] == [kept["id"]]
    assert domain not in _ses_identities()
    assert tenant.api.get("/settings").json["email_from"] is None  # back to the platform sender
    assert tenant.api.delete(f"{PATH}/{added['id']}").status == 404
    # The domain is free again: another tenant may now prove it owns it.
    assert other_tenant.api.post(PATH, {"domain": domain}).status == 201


def test_another_tenants_identity_answers_404_and_stays(
    tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    address = f"success@{_domain()}"
    added = other_tenant.api.post(PATH, {"email": address}).json
    assert other_tenant.api.put("/settings", {"email_from": address}).status == 200
    reply = tenant.api.delete(f"{PATH}/{added['id']}")
    assert reply.status == 404 and reply.json["error"]["code"] == "not_found"
    assert [i["id"] for i in other_tenant.api.get(PATH).json["items"]] == [added["id"]]
    assert address in _ses_identities()
    assert other_tenant.api.get("/settings").json["email_from"] == address


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "email"),
        ({"email": "a@b-sender.example", "domain": "b-sender.example"}, "email"),
        ({"email": "not an address"}, "email"),
        ({"domain": "under_score.example"}, "domain"),
        ({"domain": "-leading.example"}, "domain"),
        ({"domain": "double..dot.example"}, "domain"),
        ({"domain": "localhost"}, "domain"),
        ({"domain": "numeric.123"}, "domain"),
        ({"domain": f"{'a' * 64}.example"}, "domain"),
        ({"domain": ".".join(["abcdefghi"] * 26) + ".example"}, "domain"),
        ({"domain": "ok.example", "note": "x"}, "note"),
    ],
)
def test_bad_identities_answer_422_naming_the_field(
    tenant: TenantHandle, body: dict[str, Any], field: str
) -> None:
    reply = tenant.api.post(PATH, body)
    assert reply.status == 422, reply.body
    assert field in reply.json["error"]["fields"]
    assert tenant.api.get(PATH).json["items"] == []


def test_only_admins_manage_sender_identities(tenant: TenantHandle) -> None:
    manager = tenant.add_staff("senior_manager")
    assert tenant.as_(manager).get(PATH).status == 403
    assert tenant.as_(manager).post(PATH, {"domain": _domain()}).status == 403
