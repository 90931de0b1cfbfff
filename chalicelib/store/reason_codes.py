"""Reason codes, one partition per tenant (a tenant keeps tens of codes per tab, never thousands).

Every read of the library is one Query of the tenant's partition; ordering (tab, position) is done
in memory. Use counts move only inside a pulse's transaction (``chalicelib/store/pulses.py``), so a
code that has been used can never be deleted: the delete is conditional on ``use_count = 0``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pynamodb.attributes import BooleanAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from chalicelib.domain.reason_codes import DEFAULT_LIBRARY, TABS
from chalicelib.errors import Conflict, NotFound
from chalicelib.store.base import BaseMeta, is_condition_failure, new_id, now_iso, table_name

# One reorder is one transaction (at most 100 actions), so a tab holds at most 100 codes. The
# seeds recommend 40-60 pulse codes; 100 leaves room without letting a picker become a wall.
MAX_CODES_PER_TAB = 100
_TAB_ORDER: dict[str, int] = {tab: index for index, tab in enumerate(TABS)}


class ReasonCodeModel(Model):
    class Meta(BaseMeta):
        table_name = table_name("reason-codes")

    tenant_id = UnicodeAttribute(hash_key=True)
    code_id = UnicodeAttribute(range_key=True)
    tab = UnicodeAttribute()
    category = UnicodeAttribute()
    name = UnicodeAttribute()
    type = UnicodeAttribute()
    active = BooleanAttribute(default=True)
    position = NumberAttribute(default=0)
    use_count = NumberAttribute(default=0)
    last_used_at = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()


@dataclass
class ReasonCode:
    tenant_id: str
    code_id: str
    tab: str
    category: str
    name: str
    type: str
    active: bool
    position: int
    use_count: int
    last_used_at: str | None
    created_at: str

    def to_api(self) -> dict[str, Any]:
        return {
            "id": self.code_id,
            "tab": self.tab,
            "category": self.category,
            "name": self.name,
            "type": self.type,
            "active": self.active,
            "position": self.position,
            "use_count": self.use_count,
            "last_used_at": self.last_used_at,
            "created_at": self.created_at,
        }


def _code(item: ReasonCodeModel) -> ReasonCode:
    return ReasonCode(
        tenant_id=item.tenant_id,
        code_id=item.code_id,
        tab=item.tab,
        category=item.category,
        name=item.name,
        type=item.type,
        active=bool(item.active),
        position=int(item.position or 0),
        use_count=int(item.use_count or 0),
        last_used_at=item.last_used_at,
        created_at=item.created_at,
    )


def sort_key(code: ReasonCode) -> tuple[int, int, str]:
    return (_TAB_ORDER.get(code.tab, len(TABS)), code.position, code.code_id)


def all_codes(tenant_id: str, *, consistent: bool = False) -> list[ReasonCode]:
    """Every code of the tenant, every tab, active or not, in tab then position order."""
    items = ReasonCodeModel.query(tenant_id, consistent_read=consistent)
    return sorted((_code(item) for item in items), key=sort_key)


def codes_by_id(tenant_id: str) -> dict[str, ReasonCode]:
    return {code.code_id: code for code in all_codes(tenant_id)}


def get_code(tenant_id: str, code_id: str) -> ReasonCode:
    try:
        return _code(ReasonCodeModel.get(tenant_id, code_id, consistent_read=True))
    except DoesNotExist as exc:
        raise NotFound("reason code not found") from exc


def seed_defaults(tenant_id: str) -> int:
    """The default library for a new tenant: 51 pulse codes plus downsell and termination lists,
    written with batch writes (3 requests for 75 codes)."""
    created = now_iso()
    with ReasonCodeModel.batch_write() as batch:
        for default in DEFAULT_LIBRARY:
            batch.save(
                ReasonCodeModel(
                    tenant_id,
                    new_id("rc"),
                    tab=default.tab,
                    category=default.category,
                    name=default.name,
                    type=default.type,
                    active=True,
                    position=default.position,
                    use_count=0,
                    created_at=created,
                )
            )
    return len(DEFAULT_LIBRARY)


def create_code(
    tenant_id: str, *, tab: str, category: str, name: str, code_type: str
) -> ReasonCode:
    in_tab = [code for code in all_codes(tenant_id, consistent=True) if code.tab == tab]
    if len(in_tab) >= MAX_CODES_PER_TAB:
        raise Conflict(
            f"a tab holds at most {MAX_CODES_PER_TAB} codes", {"tab": "is full; retire a code"}
        )
    if any(c.name.casefold() == name.casefold() and c.category == category for c in in_tab):
        raise Conflict("that code already exists", {"name": "already in this category"})
    code = ReasonCode(
        tenant_id=tenant_id,
        code_id=new_id("rc"),
        tab=tab,
        category=category,
        name=name,
        type=code_type,
        active=True,
        position=max((c.position for c in in_tab), default=0) + 1,
        use_count=0,
        last_used_at=None,
        created_at=now_iso(),
    )
    ReasonCodeModel(
        tenant_id,
        code.code_id,
        tab=code.tab,
        category=code.category,
        name=code.name,
        type=code.type,
        active=True,
        position=code.position,
        use_count=0,
        created_at=code.created_at,
    ).save(condition=ReasonCodeModel.code_id.does_not_exist())
    return code


def update_code(tenant_id: str, code_id: str, changes: dict[str, Any]) -> ReasonCode:
    if not changes:
        return get_code(tenant_id, code_id)
    item = ReasonCodeModel(tenant_id, code_id)
    actions = [getattr(ReasonCodeModel, key).set(value) for key, value in changes.items()]
    try:
        item.update(actions=actions, condition=ReasonCodeModel.code_id.exists())
    except Exception as exc:
        if is_condition_failure(exc):
            raise NotFound("reason code not found") from exc
        raise
    return _code(item)


def delete_code(tenant_id: str, code_id: str) -> None:
    """Delete a code that was never used; a used code answers 409 (make it inactive instead)."""
    condition = ReasonCodeModel.code_id.exists() & (
        ReasonCodeModel.use_count.does_not_exist() | (ReasonCodeModel.use_count == 0)
    )
    try:
        ReasonCodeModel(tenant_id, code_id).delete(condition=condition)
    except Exception as exc:
        if not is_condition_failure(exc):
            raise
        get_code(tenant_id, code_id)  # 404 when it is gone
        raise Conflict(
            "this reason code has been used; make it inactive instead",
            {"reason_code_id": "has been used"},
        ) from exc


def reorder(tenant_id: str, tab: str, ordered_ids: list[str]) -> list[ReasonCode]:
    """Set positions 1..n for the tab's full order. A list that is not exactly the tab's current
    codes (a stale screen, a partial list) is refused with 409 before anything is written."""
    current = [code for code in all_codes(tenant_id, consistent=True) if code.tab == tab]
    known = {code.code_id for code in current}
    given = set(ordered_ids)
    if given != known:
        fields: dict[str, str] = {}
        missing = known - given
        unknown = given - known
        if missing:
            fields["ids"] = f"{len(missing)} code(s) of this tab are missing from the order"
        if unknown:
            fields["ids"] = f"{len(unknown)} id(s) are not codes of this tab"
        raise Conflict("the order does not match the tab's current codes; reload", fields)
    by_id = {code.code_id: code for code in current}
    try:
        with TransactWrite(connection=ReasonCodeModel._get_connection().connection) as tx:
            for position, code_id in enumerate(ordered_ids, start=1):
                tx.update(
                    ReasonCodeModel(tenant_id, code_id),
                    actions=[ReasonCodeModel.position.set(position)],
                    # A code deleted meanwhile makes the whole order stale.
                    condition=ReasonCodeModel.code_id.exists(),
                )
                by_id[code_id].position = position
    except TransactWriteError as exc:
        raise Conflict("the codes changed while reordering; reload", {"ids": "stale"}) from exc
    return [by_id[code_id] for code_id in ordered_ids]


def delete_all(tenant_id: str) -> None:
    """Tests and tenant removal only."""
    with ReasonCodeModel.batch_write() as batch:
        for item in ReasonCodeModel.query(tenant_id):
            batch.delete(item)
