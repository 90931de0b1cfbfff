"""A tenant's sender identities, and which From address its survey mail may carry.

SES verifies identities for the whole AWS account, so "SES says verified" alone would let any
tenant send as another tenant's domain or as the platform itself. A tenant may therefore only
send from an address that is, or whose domain is, an identity it claimed here (one owner per
address or domain, see ``chalicelib/store/sender_identities.py``) and that SES reports verified.
The platform's own sender (``PULSE_MAIL_FROM``) and its domain are never a tenant's identity:
they are the default From when ``email_from`` is empty.
"""

from __future__ import annotations

from typing import Any

from chalicelib.domain.tenant_settings import effective
from chalicelib.errors import Conflict, ValidationFailed
from chalicelib.mail import identities as ses
from chalicelib.observability import logger
from chalicelib.settings import get_settings
from chalicelib.store import sender_identities as store
from chalicelib.store import tenants as tenant_store
from chalicelib.store.base import new_id, now_iso
from chalicelib.store.sender_identities import SenderIdentity

MAX_PER_TENANT = 20


def _domain_of(address: str) -> str:
    return address.rsplit("@", 1)[-1]


def _domain_and_parents(domain: str) -> list[str]:
    """``mail.acme.example`` → ``mail.acme.example``, ``acme.example`` (never the bare TLD)."""
    labels = domain.split(".")
    return [".".join(labels[i:]) for i in range(len(labels) - 1)]


def _platforms(identity: str) -> bool:
    """The platform's sender, its domain, a subdomain of it or an address at any of them."""
    platform = get_settings().mail_from.lower()
    domain = identity if "@" not in identity else _domain_of(identity)
    return identity == platform or _domain_of(platform) in _domain_and_parents(domain)


def _view(
    record: SenderIdentity, status: ses.Status, tokens: list[str] | None = None
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": record.identity_id,
        "kind": record.kind,
        record.kind: record.identity,
        "status": status.status,
        "verified": status.verified,
        "created_at": record.created_at,
    }
    if record.kind == "domain":
        data["dkim_records"] = ses.dkim_records(record.identity, tokens or status.dkim_tokens)
    return data


def _views(records: list[SenderIdentity]) -> list[dict[str, Any]]:
    domains = [r.identity for r in records if r.kind == "domain"]
    statuses = ses.statuses([r.identity for r in records], domains) if records else {}
    return [_view(r, statuses.get(r.identity, ses.UNKNOWN)) for r in records]


def list_identities(tenant_id: str) -> list[dict[str, Any]]:
    """The tenant's identities with their live status from SES."""
    return _views(store.tenant_identities(tenant_id))


def add(tenant_id: str, kind: str, identity: str) -> dict[str, Any]:
    """Claim an address or domain for the tenant and start its SES verification."""
    if _platforms(identity):
        raise ValidationFailed(
            {kind: "the platform's own sender and its domain cannot be a tenant's sender"}
        )
    mine = store.tenant_identities(tenant_id)
    if any(r.identity == identity for r in mine):
        raise Conflict("this sender is already one of yours", {kind: "already added"})
    if len(mine) >= MAX_PER_TENANT:
        raise Conflict(
            f"at most {MAX_PER_TENANT} sender identities; delete one first", {kind: "too many"}
        )
    domain = identity if kind == "domain" else _domain_of(identity)
    related = ([identity] if kind == "email" else []) + _domain_and_parents(domain)
    owners = store.owners(related)
    if any(owner != tenant_id for owner in owners.values()):
        raise Conflict(
            "another tenant has registered this sender or its domain",
            {kind: "registered by another tenant"},
        )
    # An identity SES already holds that nobody claimed here was set up outside Pulse (and may
    # be verified already): claiming it would skip the proof of control.
    if ses.known(related) - set(owners):
        raise Conflict(
            "this sender or its domain is registered with the mail service outside Pulse",
            {kind: "registered outside Pulse; ask the operator"},
        )
    record = SenderIdentity(tenant_id, new_id("sid"), identity, kind, now_iso())
    store.claim(record)
    try:
        tokens = ses.start_domain(identity) if kind == "domain" else None
        if kind == "email":
            ses.start_email(identity)
        status = ses.statuses([identity], [identity] if kind == "domain" else []).get(
            identity, ses.UNKNOWN
        )
    except Exception:
        store.release(record)
        raise
    return _view(record, status, tokens)


def delete(tenant_id: str, identity_id: str) -> None:
    """Remove the identity from the tenant and from SES. An ``email_from`` that no remaining
    identity backs is cleared first, so survey mail falls back to the platform sender instead
    of failing at SES."""
    record = store.get(tenant_id, identity_id)
    remaining = {r.identity for r in store.tenant_identities(tenant_id)} - {record.identity}
    tenant = tenant_store.get_tenant(tenant_id)
    settings = effective(tenant.settings)
    if settings.email_from:
        address = settings.email_from.lower()
        if not {address, _domain_of(address)} & remaining:
            settings.email_from = None
            tenant_store.update_tenant_settings(tenant_id, settings.model_dump(mode="json"))
    ses.remove(record.identity)
    store.release(record)


def sender_problem(tenant_id: str, address: str) -> str | None:
    """Why the tenant may not set ``address`` as ``email_from``, or None when it may."""
    address = address.lower()
    if _platforms(address):
        return "the platform's own sender is used when email_from is empty; it cannot be set"
    domain = _domain_of(address)
    owners = store.owners([address, domain])
    mine = [i for i in (address, domain) if owners.get(i) == tenant_id]
    if not mine:
        return "add this address or its domain as a sender identity first"
    statuses = ses.statuses(mine, [domain] if domain in mine else [])
    if not any(status.verified for status in statuses.values()):
        return "the sender identity is not verified yet"
    return None


def from_address(tenant_id: str, email_from: str | None) -> str:
    """The From of the tenant's survey mail: its ``email_from`` while one of its identities
    still backs it, else the platform sender (a value stored by an older version that no
    identity backs is never used)."""
    platform = get_settings().mail_from
    if not email_from:
        return platform
    address = email_from.lower()
    if not _platforms(address):
        owners = store.owners([address, _domain_of(address)])
        if tenant_id in owners.values():
            return email_from
    logger.warning("email_from is not one of the tenant's sender identities; using the platform's")
    return platform
