"""Sender identities: the addresses and domains a tenant may send survey mail from.

SES knows identities for the whole AWS account, not per tenant, so ownership lives here. Two
tables: the tenant's own list (partition = tenant id) and one claim per address or domain across
the deployment (partition = the identity itself), which is what makes an identity belong to one
tenant at most. Both are written and removed together in one transaction; the claim's condition
(``attribute_not_exists``) is what turns a second tenant away.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from pynamodb.attributes import UnicodeAttribute
from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from chalicelib.errors import Conflict, NotFound
from chalicelib.store.base import BaseMeta, table_name
from chalicelib.store.base import connection as base_connection


class SenderIdentityModel(Model):
    class Meta(BaseMeta):
        table_name = table_name("sender-identities")

    tenant_id = UnicodeAttribute(hash_key=True)
    identity_id = UnicodeAttribute(range_key=True)
    identity = UnicodeAttribute()  # the address or domain, lowercase
    kind = UnicodeAttribute()  # "email" | "domain"
    created_at = UnicodeAttribute()


class SenderIdentityClaimModel(Model):
    """One item per address or domain in the deployment: the tenant that owns it. Keyed by the
    identity (not the tenant) because the question it answers is "whose is this?"."""

    class Meta(BaseMeta):
        table_name = table_name("sender-identity-claims")

    identity = UnicodeAttribute(hash_key=True)
    tenant_id = UnicodeAttribute()
    identity_id = UnicodeAttribute()


@dataclass(frozen=True)
class SenderIdentity:
    tenant_id: str
    identity_id: str
    identity: str
    kind: str
    created_at: str


def _identity(item: SenderIdentityModel) -> SenderIdentity:
    return SenderIdentity(
        tenant_id=item.tenant_id,
        identity_id=item.identity_id,
        identity=item.identity,
        kind=item.kind,
        created_at=item.created_at,
    )


def _connection() -> Connection:
    return base_connection()


def claim(record: SenderIdentity) -> None:
    """Record the tenant's identity and its deployment-wide claim together; ``Conflict`` when
    the identity already has an owner (this tenant or another)."""
    try:
        with TransactWrite(connection=_connection()) as tx:
            tx.save(
                SenderIdentityClaimModel(
                    record.identity, tenant_id=record.tenant_id, identity_id=record.identity_id
                ),
                condition=SenderIdentityClaimModel.identity.does_not_exist(),
            )
            tx.save(
                SenderIdentityModel(
                    record.tenant_id,
                    record.identity_id,
                    identity=record.identity,
                    kind=record.kind,
                    created_at=record.created_at,
                ),
                condition=SenderIdentityModel.identity_id.does_not_exist(),
            )
    except TransactWriteError as exc:
        if exc.cause_response_code != "TransactionCanceledException":
            raise
        raise Conflict(
            "this sender is already registered in Pulse", {record.kind: "already registered"}
        ) from exc


def release(record: SenderIdentity) -> None:
    """Remove the tenant's identity and its claim (only while the claim is still this
    tenant's); a second release finds nothing and answers ``NotFound``."""
    try:
        with TransactWrite(connection=_connection()) as tx:
            tx.delete(
                SenderIdentityModel(record.tenant_id, record.identity_id),
                condition=SenderIdentityModel.identity_id.exists(),
            )
            tx.delete(
                SenderIdentityClaimModel(record.identity),
                condition=SenderIdentityClaimModel.tenant_id == record.tenant_id,
            )
    except TransactWriteError as exc:
        if exc.cause_response_code != "TransactionCanceledException":
            raise
        raise NotFound("sender identity not found") from exc


def get(tenant_id: str, identity_id: str) -> SenderIdentity:
    try:
        return _identity(SenderIdentityModel.get(tenant_id, identity_id, consistent_read=True))
    except DoesNotExist as exc:
        raise NotFound("sender identity not found") from exc


def tenant_identities(tenant_id: str) -> list[SenderIdentity]:
    """Every identity of the tenant, oldest first (a handful; the service caps them)."""
    return [_identity(item) for item in SenderIdentityModel.query(tenant_id, consistent_read=True)]


def owners(identities: Iterable[str]) -> dict[str, str]:
    """The owning tenant of each of these addresses or domains that has one."""
    keys = sorted(set(identities))
    if not keys:
        return {}
    return {
        item.identity: item.tenant_id
        for item in SenderIdentityClaimModel.batch_get(keys, consistent_read=True)
    }
