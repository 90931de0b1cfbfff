"""Saved segments: a name and a filter over a tenant's accounts, one partition per tenant."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pynamodb.attributes import JSONAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist
from pynamodb.models import Model

from chalicelib.errors import NotFound
from chalicelib.store.base import BaseMeta, Page, query_page, table_name


class SegmentModel(Model):
    class Meta(BaseMeta):
        table_name = table_name("segments")

    tenant_id = UnicodeAttribute(hash_key=True)
    segment_id = UnicodeAttribute(range_key=True)
    name = UnicodeAttribute()
    filter = JSONAttribute(default=dict)
    created_by = UnicodeAttribute()
    created_at = UnicodeAttribute()


@dataclass
class Segment:
    tenant_id: str
    segment_id: str
    name: str
    filter: dict[str, Any]
    created_by: str
    created_at: str

    def to_api(self) -> dict[str, Any]:
        return {
            "id": self.segment_id,
            "name": self.name,
            "filter": self.filter,
            "created_by": self.created_by,
            "created_at": self.created_at,
        }


def _segment(item: SegmentModel) -> Segment:
    return Segment(
        tenant_id=item.tenant_id,
        segment_id=item.segment_id,
        name=item.name,
        filter=dict(item.filter or {}),
        created_by=item.created_by,
        created_at=item.created_at,
    )


def create(segment: Segment) -> Segment:
    SegmentModel(
        segment.tenant_id,
        segment.segment_id,
        name=segment.name,
        filter=segment.filter,
        created_by=segment.created_by,
        created_at=segment.created_at,
    ).save(condition=SegmentModel.segment_id.does_not_exist())
    return segment


def get(tenant_id: str, segment_id: str) -> Segment:
    try:
        return _segment(SegmentModel.get(tenant_id, segment_id))
    except DoesNotExist as exc:
        raise NotFound("segment not found") from exc


def list_page(tenant_id: str, *, limit: int, cursor: str | None) -> Page[Segment]:
    return query_page(
        SegmentModel,
        tenant_id,
        scope=f"segments:{tenant_id}",
        limit=limit,
        cursor=cursor,
        convert=_segment,
    )


def count(tenant_id: str) -> int:
    return int(SegmentModel.count(tenant_id))
