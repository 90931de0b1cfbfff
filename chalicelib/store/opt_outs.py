"""Addresses that asked a tenant to stop mailing them.

The contact's ``unsubscribed`` flag is what the send path reads; this table remembers the
opt-out by address, per tenant, so that it outlives the contact record: a contact deleted and
added again, or the same person added to another account, is still opted out. Only the
person's own link clears it (or an operator).
"""

from __future__ import annotations

from pynamodb.attributes import UnicodeAttribute
from pynamodb.exceptions import DoesNotExist
from pynamodb.models import Model

from chalicelib.store.base import BaseMeta, now_iso, table_name


class OptOutModel(Model):
    class Meta(BaseMeta):
        table_name = table_name("opt-outs")

    tenant_id = UnicodeAttribute(hash_key=True)
    email = UnicodeAttribute(range_key=True)  # lower case, as contacts store it
    source = UnicodeAttribute()  # "link" (the person) or "staff" (recorded on request)
    created_at = UnicodeAttribute()


def record(tenant_id: str, email: str, source: str) -> None:
    OptOutModel(tenant_id, email.lower(), source=source, created_at=now_iso()).save()


def clear(tenant_id: str, email: str) -> None:
    OptOutModel(tenant_id, email.lower()).delete()


def is_opted_out(tenant_id: str, email: str) -> bool:
    try:
        OptOutModel.get(tenant_id, email.lower(), attributes_to_get=["email"])
    except DoesNotExist:
        return False
    return True
