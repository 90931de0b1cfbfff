"""Pulses, reason codes and SuccessScore: the use cases behind chalicelib/api/pulse.py and the
pulse jobs (chalicelib/jobs/pulse_jobs.py).

Importing this module registers two hooks: a new tenant gets the default reason-code library and
a place in the tenant directory (``TENANT_SEEDERS``), and deleting an account deletes its pulses
and score records (``ACCOUNT_CASCADE``). ``app.py`` imports it through the pulse blueprint.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from chalicelib.domain import reason_codes as rules
from chalicelib.domain import success_score as score
from chalicelib.domain.entities import Account, Tenant, User
from chalicelib.domain.pulse_scale import LEVELS, label, slug
from chalicelib.domain.success_score import ScoreParams
from chalicelib.domain.tenant_settings import effective
from chalicelib.errors import Conflict, ValidationFailed
from chalicelib.observability import logger
from chalicelib.services import notify, staff_links
from chalicelib.services import review_insights as insight
from chalicelib.services.tenancy import TENANT_SEEDERS
from chalicelib.store import accounts as account_store
from chalicelib.store import directory
from chalicelib.store import pulses as store
from chalicelib.store import reason_codes as code_store
from chalicelib.store import tenants as tenant_store
from chalicelib.store.base import Page, new_id
from chalicelib.store.reason_codes import ReasonCode

HISTORY_DAYS = 30


def today() -> date:
    return datetime.now(UTC).date()


# ----------------------------------------------------------------------------- registrations


def seed_tenant(tenant: Tenant) -> None:
    directory.add(tenant.tenant_id)
    code_store.seed_defaults(tenant.tenant_id)


if seed_tenant not in TENANT_SEEDERS:
    TENANT_SEEDERS.append(seed_tenant)
if store.delete_for_account not in account_store.ACCOUNT_CASCADE:
    account_store.ACCOUNT_CASCADE.append(store.delete_for_account)


def tenant_params(tenant_id: str) -> ScoreParams:
    return effective(tenant_store.get_tenant(tenant_id).settings).score_params()


# ---------------------------------------------------------------------------------- the scale


def pulse_scale() -> dict[str, Any]:
    return {
        "items": [
            {"value": int(level), "slug": level.slug, "label": level.label} for level in LEVELS
        ]
    }


def factor_choices(tenant_id: str) -> dict[str, list[ReasonCode]]:
    """The codes a new pulse may use, per side (``risk``, ``success``): active pulse-tab codes
    of a matching type ("both" on either side), in the library's order."""
    codes = [c for c in code_store.all_codes(tenant_id) if c.tab == "pulse" and c.active]
    return {
        kind: [c for c in codes if rules.type_matches(c.type, kind)] for kind in rules.FACTOR_KINDS
    }


def last_pulse(tenant_id: str, account: Account) -> dict[str, Any] | None:
    """The account's latest pulse as the API shows it (factors named), or None."""
    if account.pulse_level is None:
        return None
    items = list_pulses(tenant_id, account.account_id, limit=1, cursor=None)["items"]
    return items[0] if items else None


# ------------------------------------------------------------------------------------ pulses


def _factor(code_id: str, codes: dict[str, ReasonCode]) -> dict[str, Any]:
    code = codes.get(code_id)
    if code is None:  # cannot happen for a used code (used codes are never deleted)
        return {"id": code_id, "name": None, "category": None, "type": None, "active": False}
    return {
        "id": code.code_id,
        "name": code.name,
        "category": code.category,
        "type": code.type,
        "active": code.active,
    }


def pulse_to_api(pulse: store.Pulse, codes: dict[str, ReasonCode]) -> dict[str, Any]:
    return {
        "id": pulse.pulse_id,
        "account_id": pulse.account_id,
        "level": pulse.level,
        "level_slug": slug(pulse.level),
        "level_label": label(pulse.level),
        "previous_level": pulse.previous_level,
        "previous_level_label": None
        if pulse.previous_level is None
        else label(pulse.previous_level),
        "risk_factors": [_factor(c, codes) for c in pulse.risk_factors],
        "success_factors": [_factor(c, codes) for c in pulse.success_factors],
        "note": pulse.note,
        "next_steps": pulse.next_steps,
        "set_by": pulse.set_by,
        "set_at": pulse.set_at,
        "same": pulse.same,
        "success_score": {
            "before": pulse.score_before,
            "after": pulse.score_after,
            "display_before": None
            if pulse.score_before is None
            else score.display_score(pulse.score_before),
            "display_after": None
            if pulse.score_after is None
            else score.display_score(pulse.score_after),
        },
    }


def _check_factors(
    risk: Sequence[str],
    success: Sequence[str],
    codes: dict[str, ReasonCode],
    carried_over: frozenset[str] = frozenset(),
) -> None:
    _, errors = rules.validate_factors(list(risk), "risk", codes, allow_inactive=carried_over)
    _, more = rules.validate_factors(list(success), "success", codes, allow_inactive=carried_over)
    errors.update(more)
    for index, code_id in enumerate(success):
        if code_id in risk:
            errors.setdefault(f"success_factors[{index}]", "is already a risk factor of this pulse")
    if errors:
        raise ValidationFailed(errors)


def set_pulse(
    tenant_id: str,
    account: Account,
    *,
    set_by: str,
    level: int,
    risk_factors: list[str],
    success_factors: list[str],
    note: str,
    next_steps: str,
) -> dict[str, Any]:
    codes = code_store.codes_by_id(tenant_id)
    _check_factors(risk_factors, success_factors, codes)
    return _record(
        tenant_id,
        account,
        codes,
        store.NewPulse(
            tenant_id=tenant_id,
            account_id=account.account_id,
            level=level,
            risk_factors=risk_factors,
            success_factors=success_factors,
            note=note,
            next_steps=next_steps,
            set_by=set_by,
            pulse_id=new_id("pul"),
        ),
    )


def same_pulse(
    tenant_id: str, account: Account, *, set_by: str, note: str, next_steps: str | None
) -> dict[str, Any]:
    """Repeat the account's current pulse (level and factors) with a new note. Codes made
    inactive since they were chosen are carried over: the update restates what is already true."""
    if account.pulse_level is None:
        raise Conflict("this account has no pulse to repeat yet", {"account_id": "no pulse"})
    codes = code_store.codes_by_id(tenant_id)
    carried = frozenset(account.risk_factors + account.success_factors)
    _check_factors(account.risk_factors, account.success_factors, codes, carried)
    return _record(
        tenant_id,
        account,
        codes,
        store.NewPulse(
            tenant_id=tenant_id,
            account_id=account.account_id,
            level=int(account.pulse_level),
            risk_factors=list(account.risk_factors),
            success_factors=list(account.success_factors),
            note=note,
            next_steps=next_steps or "",
            set_by=set_by,
            pulse_id=new_id("pul"),
            same=True,
            carried_over=carried,
        ),
    )


def _record(
    tenant_id: str, account: Account, codes: dict[str, ReasonCode], new: store.NewPulse
) -> dict[str, Any]:
    pulse = store.record_pulse(new, tenant_params(tenant_id))
    insight.pulse_recorded(pulse, {code_id: code.name for code_id, code in codes.items()})
    try:
        pulse_alert(tenant_id, account, pulse, codes)
    except Exception:
        # The pulse is stored; a mail outage must not turn it into an error for the manager.
        # The notification ledger keeps what was stored; the log has the rest.
        logger.exception("pulse alert failed", extra={"pulse_id": pulse.pulse_id})
    return pulse_to_api(pulse, codes)


def list_pulses(
    tenant_id: str, account_id: str, *, limit: int, cursor: str | None
) -> dict[str, Any]:
    page: Page[store.Pulse] = store.list_pulses(tenant_id, account_id, limit=limit, cursor=cursor)
    codes = code_store.codes_by_id(tenant_id) if page.items else {}
    return {
        "items": [pulse_to_api(p, codes) for p in page.items],
        "next_cursor": page.next_cursor,
    }


# ------------------------------------------------------------------------------- SuccessScore


def success_score_view(
    tenant_id: str, account: Account, on_date: date | None = None
) -> dict[str, Any]:
    """Score, level, target, days at level, the last change and a short daily history."""
    day = on_date or today()
    params = tenant_params(tenant_id)
    state = store.state_of(account.score_state)
    if state is None:
        state = score.initial_state(day, params)
    if day < state.anchor_date:
        day = state.anchor_date
    explanation = score.explain(state, day, params).to_dict()
    history = _daily_history(tenant_id, account, day, params)
    return {
        "account_id": account.account_id,
        "date": day.isoformat(),
        "score": explanation["score"],
        "display_score": explanation["display_score"],
        "level": explanation["level"],
        "level_label": explanation["level_label"],
        "target": explanation["target"],
        "days_at_level": explanation["days_at_level"],
        "direction": explanation["direction"],
        "explanation": explanation,
        "history": history,
        "recorded": store.score_history(tenant_id, account.account_id, days=HISTORY_DAYS),
    }


def _daily_history(
    tenant_id: str, account: Account, day: date, params: ScoreParams
) -> list[dict[str, Any]]:
    """The last HISTORY_DAYS days, each from the state after the last pulse on or before it
    (kept on every pulse record), so the curve crosses pulses exactly."""
    start = day - timedelta(days=HISTORY_DAYS - 1)
    if account.pulse_level is None:
        states: list[tuple[date, score.ScoreState]] = []
    else:
        states = [
            (s.anchor_date, s)
            for s in (
                store.state_of(p.score_state)
                for p in store.pulses_since(tenant_id, account.account_id, start)
            )
            if s is not None
        ]
        states.sort(key=lambda pair: pair[0])
    points: list[dict[str, Any]] = []
    for offset in range(HISTORY_DAYS):
        current = start + timedelta(days=offset)
        chosen = None
        for anchor, candidate in states:
            if anchor <= current:
                chosen = candidate
        if chosen is None:
            if account.pulse_level is not None:
                continue  # before the first pulse we know of in the window
            chosen = score.initial_state(current, params)  # no pulse yet: holds at the start
        value = score.score_on(chosen, current, params)
        points.append(
            {
                "date": current.isoformat(),
                "score": value,
                "display_score": score.display_score(value),
                "level": chosen.level,
            }
        )
    return points


def score_today(account: Account, params: ScoreParams, on_date: date | None = None) -> float | None:
    """The account's SuccessScore for ``on_date`` (default today), unrounded, computed as GET
    /accounts/{account_id}/success-score computes it: from the stored score state and the
    tenant's params. The account item's ``success_score`` is the value at the last pulse (or
    the last nightly run), so anything that shows a current score uses this. An account never
    pulsed has no score (None); one without a state keeps its stored value."""
    state = store.state_of(account.score_state)
    if state is None:
        return account.success_score
    day = max(on_date or today(), state.anchor_date)
    return score.explain(state, day, params).score


def with_live_scores(
    tenant_id: str, accounts: Iterable[Account], on_date: date | None = None
) -> list[Account]:
    """Accounts with ``success_score`` set to the score for ``on_date`` (default today) from
    their state. The account item keeps the score at the last pulse; reports and lists that show
    a current score call this (one tenant read, no per-account reads)."""
    day = on_date or today()
    accounts = list(accounts)
    if not any(account.score_state for account in accounts):
        return accounts  # nothing to compute: spare the tenant read
    params = tenant_params(tenant_id)
    out: list[Account] = []
    for account in accounts:
        # An account never pulsed has no score yet: it stays None rather than a made-up value.
        account.success_score = score_today(account, params, day)
        out.append(account)
    return out


# ------------------------------------------------------------------------------------- alerts


def alert_recipients(tenant_id: str, owner_id: str, users: Sequence[User]) -> list[User]:
    """The account owner, the owner's manager and every senior manager (active users only)."""
    by_id = {u.user_id: u for u in users}
    owner = by_id.get(owner_id)
    chosen: list[User] = []
    if owner is not None:
        chosen.append(owner)
        if owner.manager_id and owner.manager_id in by_id:
            chosen.append(by_id[owner.manager_id])
    chosen.extend(u for u in users if u.role == "senior_manager")
    unique: dict[str, User] = {}
    for user in chosen:
        if user.active:
            unique.setdefault(user.user_id, user)
    return list(unique.values())


def pulse_alert(
    tenant_id: str, account: Account, pulse: store.Pulse, codes: dict[str, ReasonCode]
) -> int:
    """Real-time alert: everyone whose threshold the new level is at or below. One notification
    per pulse and user (the dedupe key), so a retried request mails nobody twice."""
    users = tenant_store.all_users(tenant_id)
    recipients = [
        user
        for user in alert_recipients(tenant_id, account.owner_id, users)
        if pulse.level <= notify.preferences_of(user).alert_threshold_level
    ]
    if not recipients:
        return 0
    setter = next((u for u in users if u.user_id == pulse.set_by), None)
    previous = None if pulse.previous_level is None else label(pulse.previous_level)
    change = f"{previous} → {label(pulse.level)}" if previous else f"set to {label(pulse.level)}"
    risk = [str(codes[c].name) for c in pulse.risk_factors if c in codes]
    success = [str(codes[c].name) for c in pulse.success_factors if c in codes]
    body_lines = [
        f"{account.name}: pulse {change}.",
        f"Set by {setter.name if setter else 'a colleague'} at {pulse.set_at}.",
    ]
    if risk:
        body_lines.append("Risk factors: " + "; ".join(risk) + ".")
    link = staff_links.account(account.account_id)
    event = notify.Event(
        kind="pulse_alert",
        title=f"{account.name} is at {label(pulse.level)}",
        body="\n".join(body_lines),
        link=link,
        account_id=account.account_id,
        dedupe_key=f"pulse_alert:{pulse.pulse_id}",
        template="mail/pulse_alert",
        context={
            "account_name": account.name,
            "account_url": staff_links.absolute(link),
            "level_label": label(pulse.level),
            "previous_label": previous,
            "set_by_name": setter.name if setter else None,
            "set_at": pulse.set_at,
            "risk_factors": risk,
            "success_factors": success,
            "note": pulse.note,
            "next_steps": pulse.next_steps,
            "same": pulse.same,
        },
    )
    return notify.notify(tenant_id, recipients, event)


MAX_DIGEST_ROWS = 25


def _last_pulse_day(account: Account) -> date:
    stamp = account.pulse_set_at or account.created_at
    return date.fromisoformat(stamp[:10])


def stale_digests(tenant_id: str, on_date: date) -> dict[str, int]:
    """Daily: each user gets one digest of the stale accounts they answer for (their own, those
    of the people who report to them, every account for senior managers), by their own
    ``stale_days``. The dedupe key (user and date) makes a second run for the date send nothing."""
    users = [u for u in tenant_store.all_users(tenant_id) if u.active]
    if not users:
        return {"recipients": 0, "mailed": 0}
    accounts = account_store.iter_accounts(tenant_id)
    reports: dict[str, set[str]] = {}
    for user in users:
        if user.manager_id:
            reports.setdefault(user.manager_id, set()).add(user.user_id)
    recipients = mailed = 0
    for user in users:
        prefs = notify.preferences_of(user)
        answerable = (
            accounts
            if user.role == "senior_manager"
            else [
                a
                for a in accounts
                if a.owner_id == user.user_id or a.owner_id in reports.get(user.user_id, set())
            ]
        )
        stale = sorted(
            (
                (a, (on_date - _last_pulse_day(a)).days)
                for a in answerable
                if (on_date - _last_pulse_day(a)).days >= prefs.stale_days
            ),
            key=lambda pair: (-pair[1], pair[0].name),
        )
        if not stale:
            continue
        recipients += 1
        rows = [
            {
                "name": a.name,
                "days": days,
                "never": a.pulse_set_at is None,
                "level_label": None if a.pulse_level is None else label(a.pulse_level),
                "url": staff_links.absolute(staff_links.account(a.account_id)),
            }
            for a, days in stale[:MAX_DIGEST_ROWS]
        ]
        plural = "s" if len(stale) != 1 else ""
        body = "\n".join(
            f"- {r['name']}: "
            + (f"no pulse yet ({r['days']} days)" if r["never"] else f"{r['days']} days")
            for r in rows
        )
        mailed += notify.notify(
            tenant_id,
            [user],
            notify.Event(
                kind="stale_digest",
                title=f"{len(stale)} account{plural} without a pulse for {prefs.stale_days}+ days",
                body=body,
                link=staff_links.accounts(),
                dedupe_key=f"stale_digest:{on_date.isoformat()}",
                template="mail/stale_digest",
                context={
                    "accounts": rows,
                    "total": len(stale),
                    "more": max(0, len(stale) - MAX_DIGEST_ROWS),
                    "stale_days": prefs.stale_days,
                    "on_date": on_date.isoformat(),
                },
            ),
        )
    return {"recipients": recipients, "mailed": mailed}
