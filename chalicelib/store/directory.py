"""The tenant directory: every tenant id in one small partition, so jobs list tenants with a Query.

Nothing on a request path needs every tenant, but nightly and daily jobs do (SuccessScore, stale
alerts, and any other per-tenant job). A Scan of the tenants table would read every tenant's
settings document; this partition holds one ~60-byte item per tenant (about 17,000 per 1 MB
Query page). A new tenant is added by a ``TENANT_SEEDERS`` entry (chalicelib/services/pulses.py).
"""

from __future__ import annotations

from collections.abc import Iterator

from pynamodb.attributes import UnicodeAttribute
from pynamodb.models import Model

from chalicelib.store.base import BaseMeta, now_iso, table_name

PARTITION = "tenants"


class TenantDirectoryModel(Model):
    class Meta(BaseMeta):
        table_name = table_name("tenant-directory")

    directory = UnicodeAttribute(hash_key=True)  # always PARTITION
    tenant_id = UnicodeAttribute(range_key=True)
    added_at = UnicodeAttribute()


def add(tenant_id: str) -> None:
    """Idempotent: the key is the tenant id."""
    TenantDirectoryModel(PARTITION, tenant_id, added_at=now_iso()).save()


def remove(tenant_id: str) -> None:
    TenantDirectoryModel(PARTITION, tenant_id).delete()


def tenant_ids() -> Iterator[str]:
    """Every tenant id, page by page, in id order."""
    for item in TenantDirectoryModel.query(
        PARTITION, attributes_to_get=["tenant_id"], consistent_read=True
    ):
        yield item.tenant_id
