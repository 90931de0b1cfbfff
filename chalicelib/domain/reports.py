"""Report computations: plain Python over the accounts a caller may see.

Everything here takes data already read (accounts, their current factors, level changes, reason
codes, review aggregates) and returns plain dicts ready for JSON, plus the flat rows a CSV export
writes. Nothing here knows DynamoDB; the service reads, this module counts.

Money is never converted: revenue is summed per currency (``{"USD": 1200000, "EUR": 50000}``,
integer minor units), because a report that silently mixes currencies is wrong.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from chalicelib.domain.entities import Account
from chalicelib.domain.pulse_scale import LEVELS, Level, to_level

NOT_SET = "not_set"
NOT_SET_LABEL = "Not set"
UNKNOWN_CATEGORY = "Unknown"


# ------------------------------------------------------------------------------------ inputs


@dataclass(frozen=True)
class Factors:
    """The current pulse's ordered factor ids for one account."""

    risk: tuple[str, ...] = ()
    success: tuple[str, ...] = ()

    def of(self, kind: str) -> tuple[str, ...]:
        return self.risk if kind == "risk" else self.success

    @property
    def all(self) -> tuple[str, ...]:
        return self.risk + self.success


@dataclass(frozen=True)
class CodeInfo:
    code_id: str
    category: str
    name: str
    active: bool = True
    position: int = 0


@dataclass(frozen=True)
class LevelChange:
    """One pulse that changed (or set) an account's level, as kept per tenant by date."""

    account_id: str
    at: str  # ISO timestamp
    from_level: int | None
    to_level: int


# ------------------------------------------------------------------------------------ helpers


def parse_day(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def days_since(stamp: str | None, today: date) -> int | None:
    day = parse_day(stamp)
    return None if day is None else (today - day).days


def level_key(level: int | None) -> str:
    return NOT_SET if level is None else to_level(level).slug


def level_label(level: int | None) -> str:
    return NOT_SET_LABEL if level is None else to_level(level).label


def share(part: int, whole: int) -> float:
    """A share of accounts as a fraction 0..1, rounded to 4 places (0 when there is no whole)."""
    return round(part / whole, 4) if whole else 0.0


def add_money(total: dict[str, int], account: Account) -> None:
    total[account.currency] = total.get(account.currency, 0) + int(account.arr or 0)


def account_row(account: Account, today: date) -> dict[str, Any]:
    """The account fields every report row carries."""
    return {
        "id": account.account_id,
        "name": account.name,
        "owner_id": account.owner_id,
        "level": account.pulse_level,
        "level_slug": level_key(account.pulse_level),
        "level_label": level_label(account.pulse_level),
        "pulse_set_at": account.pulse_set_at,
        "days_since_pulse": days_since(account.pulse_set_at, today),
        "success_score": None
        if account.success_score is None
        else round(float(account.success_score), 1),
        "arr": int(account.arr or 0),
        "currency": account.currency,
        "stage": account.stage,
        "renewal_date": account.renewal_date,
    }


ACCOUNT_COLUMNS = (
    "id",
    "name",
    "owner_id",
    "level",
    "level_label",
    "pulse_set_at",
    "days_since_pulse",
    "success_score",
    "arr",
    "currency",
    "stage",
    "renewal_date",
)


def _by_name(accounts: Iterable[Account]) -> list[Account]:
    return sorted(accounts, key=lambda a: (a.name.casefold(), a.account_id))


def _buckets() -> list[int | None]:
    return [int(level) for level in LEVELS] + [None]


# ------------------------------------------------------------------------------ pulse summary


def pulse_summary(accounts: Sequence[Account], today: date) -> dict[str, Any]:
    """Accounts per level, best to worst, with their share and revenue; "not set" last.

    Shares are of every account in scope, the not-set bucket included, so they add up to 1.
    """
    total = len(accounts)
    grouped: dict[int | None, list[Account]] = defaultdict(list)
    for account in accounts:
        grouped[account.pulse_level].append(account)
    levels = []
    for level in _buckets():
        members = _by_name(grouped.get(level, []))
        revenue: dict[str, int] = {}
        for account in members:
            add_money(revenue, account)
        levels.append(
            {
                "level": level,
                "slug": level_key(level),
                "label": level_label(level),
                "count": len(members),
                "share": share(len(members), total),
                "revenue": revenue,
                "accounts": [account_row(a, today) for a in members],
            }
        )
    return {"total_accounts": total, "levels": levels}


def pulse_summary_rows(report: Mapping[str, Any]) -> Iterable[dict[str, Any]]:
    for bucket in report["levels"]:
        yield from bucket["accounts"]


# ----------------------------------------------------------------------------- recent changes


def recent_changes(
    accounts: Sequence[Account], changes: Iterable[LevelChange], days: int, now: datetime
) -> dict[str, Any]:
    """Counts per level now versus ``days`` ago, and the accounts that moved into each level.

    An account's level ``days`` ago is the level before its earliest change inside the window
    (or its current level when nothing changed). An account that moved and came back inside the
    window has not moved. Changes of accounts outside the caller's scope (or deleted) are ignored.
    """
    since = now - timedelta(days=days)
    since_iso = since.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    by_id = {a.account_id: a for a in accounts}
    first: dict[str, LevelChange] = {}
    last_at: dict[str, str] = {}
    for change in sorted(changes, key=lambda c: c.at):
        if change.account_id not in by_id or change.at < since_iso:
            continue
        first.setdefault(change.account_id, change)
        last_at[change.account_id] = change.at
    today = now.date()
    before: Counter[int | None] = Counter()
    after: Counter[int | None] = Counter()
    moved: dict[int | None, list[dict[str, Any]]] = defaultdict(list)
    for account in accounts:
        current = account.pulse_level
        earlier = first[account.account_id].from_level if account.account_id in first else current
        after[current] += 1
        before[earlier] += 1
        if earlier != current:
            row = account_row(account, today)
            row["from_level"] = earlier
            row["from_label"] = level_label(earlier)
            row["changed_at"] = last_at[account.account_id]
            moved[current].append(row)
    levels = []
    for level in _buckets():
        entries = sorted(moved.get(level, []), key=lambda r: r["changed_at"], reverse=True)
        levels.append(
            {
                "level": level,
                "slug": level_key(level),
                "label": level_label(level),
                "now": after[level],
                "before": before[level],
                "change": after[level] - before[level],
                "moved_in": entries,
            }
        )
    return {
        "days": days,
        "since": since_iso,
        "total_accounts": len(accounts),
        "levels": levels,
    }


RECENT_CHANGE_COLUMNS = (
    "id",
    "name",
    "owner_id",
    "from_level",
    "from_label",
    "level",
    "level_label",
    "changed_at",
    "success_score",
    "arr",
    "currency",
)


def recent_change_rows(report: Mapping[str, Any]) -> Iterable[dict[str, Any]]:
    for bucket in report["levels"]:
        yield from bucket["moved_in"]


# ------------------------------------------------------------------------- risk/success factors


def factor_report(
    accounts: Sequence[Account],
    factors: Mapping[str, Factors],
    codes: Mapping[str, CodeInfo],
    kind: str,
    *,
    levels: Sequence[int] = (),
    factor_ids: Sequence[str] = (),
) -> dict[str, Any]:
    """Accounts affected, their share and revenue per category and per code.

    The population is every account in scope at one of ``levels`` (all accounts when empty);
    shares are of that population. ``factor_ids`` limits the codes reported. A category counts an
    account once however many of its codes the account carries.
    """
    level_set = {int(to_level(level)) for level in levels}
    population = [a for a in accounts if not level_set or a.pulse_level in level_set]
    wanted = set(factor_ids)
    per_code: dict[str, list[Account]] = defaultdict(list)
    per_category: dict[str, dict[str, Account]] = defaultdict(dict)
    affected: dict[str, Account] = {}
    for account in population:
        ids = factors.get(account.account_id, Factors()).of(kind)
        for code_id in ids:
            if wanted and code_id not in wanted:
                continue
            info = codes.get(code_id) or CodeInfo(code_id, UNKNOWN_CATEGORY, code_id, False, 10**6)
            per_code[code_id].append(account)
            per_category[info.category][account.account_id] = account
            affected[account.account_id] = account
    total = len(population)

    def money(members: Iterable[Account]) -> dict[str, int]:
        out: dict[str, int] = {}
        for member in members:
            add_money(out, member)
        return out

    categories: list[dict[str, Any]] = []
    for category, members in per_category.items():
        code_rows: list[dict[str, Any]] = []
        for code_id, accs in per_code.items():
            info = codes.get(code_id) or CodeInfo(code_id, UNKNOWN_CATEGORY, code_id, False, 10**6)
            if info.category != category:
                continue
            code_rows.append(
                {
                    "code_id": code_id,
                    "name": info.name,
                    "active": info.active,
                    "accounts": len(accs),
                    "share": share(len(accs), total),
                    "revenue": money(accs),
                    "position": info.position,
                }
            )
        code_rows.sort(key=lambda r: (-r["accounts"], r["position"], r["name"]))
        for row in code_rows:
            row.pop("position")
        categories.append(
            {
                "category": category,
                "accounts": len(members),
                "share": share(len(members), total),
                "revenue": money(members.values()),
                "codes": code_rows,
            }
        )
    categories.sort(key=lambda c: (-c["accounts"], c["category"]))
    return {
        "kind": kind,
        "levels": sorted(level_set, reverse=True),
        "factors": sorted(wanted),
        "total_accounts": total,
        "accounts_affected": len(affected),
        "share_affected": share(len(affected), total),
        "revenue_affected": money(affected.values()),
        "categories": categories,
    }


FACTOR_COLUMNS = ("category", "code_id", "code", "active", "accounts", "share", "revenue")


def factor_rows(report: Mapping[str, Any]) -> Iterable[dict[str, Any]]:
    for category in report["categories"]:
        for code in category["codes"]:
            yield {
                "category": category["category"],
                "code_id": code["code_id"],
                "code": code["name"],
                "active": code["active"],
                "accounts": code["accounts"],
                "share": code["share"],
                "revenue": money_text(code["revenue"]),
            }


def money_text(revenue: Mapping[str, int]) -> str:
    """``USD 1200.00; EUR 50.00`` for a CSV cell (minor units shown as major units)."""
    return "; ".join(f"{cur} {amount / 100:.2f}" for cur, amount in sorted(revenue.items()))


# ------------------------------------------------------------------------------- success cycle


def success_cycle(accounts: Sequence[Account], stages: Sequence[str]) -> dict[str, Any]:
    """Stage × level counts, stages in the tenant's order (stages no longer configured last)."""
    order = list(stages) + sorted({a.stage for a in accounts} - set(stages))
    total = len(accounts)
    grid: dict[str, Counter[int | None]] = {stage: Counter() for stage in order}
    for account in accounts:
        grid[account.stage][account.pulse_level] += 1
    rows = []
    for stage in order:
        counts = grid[stage]
        stage_total = sum(counts.values())
        rows.append(
            {
                "stage": stage,
                "total": stage_total,
                "share": share(stage_total, total),
                "counts": {level_key(level): counts[level] for level in _buckets()},
                "shares": {
                    level_key(level): share(counts[level], stage_total) for level in _buckets()
                },
            }
        )
    column_totals = {level_key(level): sum(grid[s][level] for s in order) for level in _buckets()}
    return {
        "total_accounts": total,
        "levels": [
            {"level": level, "slug": level_key(level), "label": level_label(level)}
            for level in _buckets()
        ],
        "stages": rows,
        "totals": column_totals,
    }


def success_cycle_columns() -> tuple[str, ...]:
    return ("stage", "total", *(level_key(level) for level in _buckets()))


def success_cycle_rows(report: Mapping[str, Any]) -> Iterable[dict[str, Any]]:
    for row in report["stages"]:
        yield {"stage": row["stage"], "total": row["total"], **row["counts"]}


# ------------------------------------------------------------------------------ renewal health


def renewal_health(
    accounts: Sequence[Account], today: date, within_days: int | None = None
) -> dict[str, Any]:
    """Accounts by days to renewal (past renewals first, most overdue first), with level and
    score; accounts without a renewal date come last. ``within_days`` keeps renewals up to that
    many days ahead (past renewals always stay: they need attention most)."""
    rows = []
    for account in accounts:
        renewal = parse_day(account.renewal_date)
        days = None if renewal is None else (renewal - today).days
        if within_days is not None and (days is None or days > within_days):
            continue
        row = account_row(account, today)
        row["days_to_renewal"] = days
        row["past_renewal"] = days is not None and days < 0
        row["at_risk"] = account.pulse_level is not None and account.pulse_level <= Level.SOME_RISK
        rows.append(row)
    rows.sort(
        key=lambda r: (
            r["days_to_renewal"] is None,
            r["days_to_renewal"] or 0,
            r["name"].casefold(),
        )
    )
    past = [r for r in rows if r["past_renewal"]]
    revenue_past: dict[str, int] = {}
    for r in past:
        revenue_past[r["currency"]] = revenue_past.get(r["currency"], 0) + r["arr"]
    return {
        "today": today.isoformat(),
        "within_days": within_days,
        "total": len(rows),
        "past_renewal": len(past),
        "revenue_past_renewal": revenue_past,
        "items": rows,
    }


RENEWAL_COLUMNS = (
    "id",
    "name",
    "owner_id",
    "renewal_date",
    "days_to_renewal",
    "past_renewal",
    "level",
    "level_label",
    "success_score",
    "arr",
    "currency",
    "stage",
)


# ---------------------------------------------------------------------------------- segments


@dataclass(frozen=True)
class SegmentFilter:
    """A saved filter. Empty lists and None mean "any"; every given criterion must hold.

    ``include_not_set`` adds accounts that never had a pulse to a ``levels`` filter; for the
    days-since-pulse bounds an account never pulsed counts as infinitely stale (it matches any
    minimum and no maximum), which is what "pulse not set in more than 30 days" means.
    """

    levels: tuple[int, ...] = ()
    include_not_set: bool = False
    min_days_since_pulse: int | None = None
    max_days_since_pulse: int | None = None
    renewal_from: str | None = None
    renewal_to: str | None = None
    renewal_within_days: int | None = None
    owner_ids: tuple[str, ...] = ()
    stages: tuple[str, ...] = ()
    factors: tuple[str, ...] = ()
    risk_factors: tuple[str, ...] = ()
    success_factors: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SegmentFilter:
        def tup(key: str) -> tuple[Any, ...]:
            return tuple(data.get(key) or ())

        return cls(
            levels=tuple(int(to_level(v)) for v in data.get("levels") or ()),
            include_not_set=bool(data.get("include_not_set", False)),
            min_days_since_pulse=data.get("min_days_since_pulse"),
            max_days_since_pulse=data.get("max_days_since_pulse"),
            renewal_from=data.get("renewal_from"),
            renewal_to=data.get("renewal_to"),
            renewal_within_days=data.get("renewal_within_days"),
            owner_ids=tup("owner_ids"),
            stages=tup("stages"),
            factors=tup("factors"),
            risk_factors=tup("risk_factors"),
            success_factors=tup("success_factors"),
        )

    @property
    def needs_factors(self) -> bool:
        return bool(self.factors or self.risk_factors or self.success_factors)

    def matches(self, account: Account, factors: Factors, today: date) -> bool:
        level = account.pulse_level
        if self.levels or self.include_not_set:
            if level is None:
                if not self.include_not_set:
                    return False
            elif level not in self.levels:
                return False
        since = days_since(account.pulse_set_at, today)
        if (
            self.min_days_since_pulse is not None
            and since is not None
            and since < self.min_days_since_pulse
        ):
            return False
        if self.max_days_since_pulse is not None and (
            since is None or since > self.max_days_since_pulse
        ):
            return False
        if self.renewal_from or self.renewal_to or self.renewal_within_days is not None:
            renewal = parse_day(account.renewal_date)
            if renewal is None:
                return False
            if self.renewal_from and renewal < date.fromisoformat(self.renewal_from):
                return False
            if self.renewal_to and renewal > date.fromisoformat(self.renewal_to):
                return False
            if self.renewal_within_days is not None and not (
                today <= renewal <= today + timedelta(days=self.renewal_within_days)
            ):
                return False
        if self.owner_ids and account.owner_id not in self.owner_ids:
            return False
        if self.stages and account.stage not in self.stages:
            return False
        if self.factors and not set(self.factors) & set(factors.all):
            return False
        if self.risk_factors and not set(self.risk_factors) & set(factors.risk):
            return False
        return not (self.success_factors and not set(self.success_factors) & set(factors.success))


def apply_segment(
    accounts: Iterable[Account],
    factors: Mapping[str, Factors],
    segment: SegmentFilter,
    today: date,
) -> list[Account]:
    """The matching accounts, by name."""
    empty = Factors()
    return _by_name(
        a for a in accounts if segment.matches(a, factors.get(a.account_id, empty), today)
    )


SEGMENT_COLUMNS = (
    *ACCOUNT_COLUMNS[:3],
    "owner_name",
    *ACCOUNT_COLUMNS[3:],
    "risk_factors",
    "success_factors",
)


def segment_row(
    account: Account,
    factors: Factors,
    codes: Mapping[str, CodeInfo],
    owners: Mapping[str, str],
    today: date,
) -> dict[str, Any]:
    row = account_row(account, today)
    row["owner_name"] = owners.get(account.owner_id, "")

    def names(ids: Sequence[str]) -> list[str]:
        return [codes[i].name if i in codes else i for i in ids]

    row["risk_factors"] = names(factors.risk)
    row["success_factors"] = names(factors.success)
    return row
