"""Heartbeat use cases: configuration, the ranked library, rounds (prepare → approve → send →
close) and folding answers into the benchmark aggregates.

Sending, links, the survey page and reminders belong to the survey machinery
(``chalicelib/services/surveys.py``); a heartbeat is one kind of survey there. This module only
decides *who* gets *which* round, and keeps the heartbeat-specific counts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

from chalicelib.domain import heartbeat as hb
from chalicelib.domain.entities import Account, Contact, Tenant, User
from chalicelib.errors import Conflict, NotFound, ValidationFailed
from chalicelib.services import benchmarks as benchmark_service
from chalicelib.services import heartbeat_survey, notify, send_limits, staff_links, surveys, tenancy
from chalicelib.services.settings import tenant_settings, update_settings
from chalicelib.store import accounts as account_store
from chalicelib.store import heartbeat as store
from chalicelib.store import invitations
from chalicelib.store import tenants as tenant_store
from chalicelib.store.base import Page, now_iso

WINDOW_DAYS = 28
APPROVAL_KIND = "heartbeat_approval"


def _today() -> date:
    return datetime.now(UTC).date()


# --------------------------------------------------------------------------- the library


def usage_counts() -> tuple[dict[str, int], list[hb.HeartbeatQuestion]]:
    """Counts per question id, and the custom questions adopted into the library."""
    counts: dict[str, int] = {}
    adopted: list[hb.HeartbeatQuestion] = []
    for usage in store.question_usage():
        counts[usage.question_id] = usage.tenants_using
        if usage.custom and usage.adopted and usage.text:
            adopted.append(hb.HeartbeatQuestion(id=usage.question_id, text=usage.text, custom=True))
    return counts, adopted


def library() -> list[hb.RankedQuestion]:
    counts, adopted = usage_counts()
    return hb.rank_library(counts, (*hb.LIBRARY, *adopted))


# ------------------------------------------------------------------------- configuration


def config_of(tenant_id: str) -> store.HeartbeatConfig:
    """The stored configuration, or the defaults a tenant starts with (not yet stored)."""
    config = store.get_config(tenant_id)
    if config is not None:
        return config
    return store.HeartbeatConfig(
        tenant_id=tenant_id,
        question_ids=list(hb.DEFAULT_CHOSEN_IDS),
        custom_text=None,
        version=0,
        created_on=_today().isoformat(),
        updated_at=now_iso(),
    )


def chosen_questions(config: store.HeartbeatConfig) -> list[hb.HeartbeatQuestion]:
    out: list[hb.HeartbeatQuestion] = []
    for qid in config.question_ids:
        if qid in hb.LIBRARY_BY_ID:
            out.append(hb.LIBRARY_BY_ID[qid])
        elif config.custom_text and qid == hb.custom_question_id(config.custom_text):
            out.append(hb.custom_question(hb.CustomQuestionInput(config.custom_text)))
        else:  # an adopted custom question chosen from the library
            text = _custom_texts().get(qid)
            if text:
                out.append(hb.HeartbeatQuestion(id=qid, text=text, custom=True))
    return out


def _custom_texts() -> dict[str, str]:
    return {u.question_id: u.text for u in store.question_usage() if u.custom and u.text}


def config_view(tenant: Tenant, config: store.HeartbeatConfig) -> dict[str, Any]:
    questions = hb.survey_questions(chosen_questions(config), tenant.name)
    return {
        "questions": [question_view(q) for q in questions],
        "question_ids": list(config.question_ids),
        "custom": {"text": config.custom_text} if config.custom_text else None,
        "interval_days": tenant_settings(tenant.tenant_id).heartbeat_interval_days,
        "last_sent_on": config.last_sent_on,
        "pending_heartbeat_id": config.pending_round_id,
        "updated_at": config.updated_at if config.version else None,
    }


def current_config(tenant_id: str) -> dict[str, Any]:
    """GET /heartbeat/config: the six questions clients are asked, and the interval."""
    return config_view(tenant_store.get_tenant(tenant_id), config_of(tenant_id))


def question_view(q: hb.HeartbeatQuestion) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": q.id,
        "text": q.text,
        "kind": q.kind,
        "fixed": q.fixed,
        "custom": q.custom,
    }
    if q.kind == "scale":
        data["scale"] = {"min": q.scale_min, "max": q.scale_max}
    else:
        data["options"] = [asdict(o) for o in q.options]
    return data


def update_config(
    tenant_id: str,
    entries: list[str | hb.CustomQuestionInput],
    interval_days: int | None,
) -> store.HeartbeatConfig:
    """Validate and store the four chosen questions (and the interval, in tenant settings).

    ``entries`` keep the caller's order: a string is a library (or adopted) question id, a
    ``CustomQuestionInput`` the tenant's own question. Errors are named ``questions[i]``.
    """
    _, adopted = usage_counts()
    known = {*hb.LIBRARY_BY_ID, *(q.id for q in adopted)}
    ids = [e for e in entries if isinstance(e, str)]
    customs = [e for e in entries if isinstance(e, hb.CustomQuestionInput)]
    current_interval = tenant_settings(tenant_id).heartbeat_interval_days
    interval = current_interval if interval_days is None else interval_days
    errors = hb.validate_config(ids, customs, interval, known_ids=known)
    if errors:
        raise ValidationFailed(_field_names(errors, entries))
    custom_text = customs[0].text.strip() if customs else None
    custom_id = hb.custom_question_id(custom_text) if custom_text else None
    ordered = [e if isinstance(e, str) else str(custom_id) for e in entries]
    previous = store.get_config(tenant_id)
    config = store.save_config(
        tenant_id,
        previous=previous,
        question_ids=ordered,
        custom_text=custom_text,
        custom_id=custom_id,
        today=_today(),
        now=now_iso(),
    )
    if interval != current_interval:
        update_settings(tenant_id, {"heartbeat_interval_days": interval})
    return config


def _field_names(
    errors: Iterable[hb.FieldError], entries: list[str | hb.CustomQuestionInput]
) -> dict[str, str]:
    """Domain field names (``question_ids[i]``, ``custom.text``) → request names (``questions[i]``)."""
    id_positions = [i for i, e in enumerate(entries) if isinstance(e, str)]
    custom_positions = [i for i, e in enumerate(entries) if not isinstance(e, str)]
    out: dict[str, str] = {}
    for e in errors:
        name = e.field
        if name.startswith("question_ids["):
            n = int(name[len("question_ids[") : name.index("]")])
            name = f"questions[{id_positions[n]}]"
        elif name == "question_ids":
            name = "questions"
        elif name.startswith("custom"):
            rest = name.split(".", 1)[1] if "." in name else ""
            if custom_positions and not name.startswith("custom["):
                name = f"questions[{custom_positions[0]}]" + (f".{rest}" if rest else "")
            elif name.startswith("custom["):
                n = int(name[len("custom[") : name.index("]")])
                pos = custom_positions[n] if n < len(custom_positions) else n
                name = f"questions[{pos}]" + (f".{rest}" if rest else "")
            else:
                name = "questions"
        out.setdefault(name, e.message)
    return out


def seed_config(tenant: Tenant) -> None:
    """New tenants start with the default four; they count towards the library ranking."""
    store.save_config(
        tenant.tenant_id,
        previous=None,
        question_ids=list(hb.DEFAULT_CHOSEN_IDS),
        custom_text=None,
        custom_id=None,
        today=_today(),
        now=now_iso(),
    )


if seed_config not in tenancy.TENANT_SEEDERS:
    tenancy.TENANT_SEEDERS.append(seed_config)


# -------------------------------------------------------------------------------- rounds


def round_questions(config: store.HeartbeatConfig, company: str) -> list[dict[str, Any]]:
    return [question_view(q) for q in hb.survey_questions(chosen_questions(config), company)]


def questions_of(rnd: store.Round) -> list[hb.HeartbeatQuestion]:
    """The six questions of a round as it was prepared (later config changes do not alter it)."""
    out = []
    for q in rnd.questions:
        options = tuple(hb.Option(o["id"], o["text"]) for o in q.get("options", []))
        scale = q.get("scale") or {}
        out.append(
            hb.HeartbeatQuestion(
                id=q["id"],
                text=q["text"],
                kind=q["kind"],
                scale_min=int(scale.get("min", hb.SCALE_MIN)),
                scale_max=int(scale.get("max", hb.SCALE_MAX)),
                options=options,
                fixed=bool(q.get("fixed")),
                custom=bool(q.get("custom")),
            )
        )
    return out


def numeric_question_ids(rnd: store.Round) -> list[str]:
    """The 0-10 questions of a round: what aggregates (and benchmarks) are kept for."""
    return [q.id for q in questions_of(rnd) if q.kind == "scale"]


def due_on(config: store.HeartbeatConfig, interval_days: int) -> date:
    if config.last_sent_on:
        return date.fromisoformat(config.last_sent_on) + timedelta(days=interval_days)
    return date.fromisoformat(config.created_on)


def prepare_due_rounds(on_date: date, *, tenant_ids: Iterable[str] | None = None) -> dict[str, Any]:
    """Prepare every round that is due on ``on_date`` and ask the admins to approve it.

    Idempotent: a round's id is fixed by (tenant, due date) and written only if absent, and a
    tenant with a prepared-but-unsent round gets no other one until that one is sent.
    ``tenant_ids`` limits a run to some tenants (backfills by hand, tests).
    """
    prepared = already = notified = 0
    only = None if tenant_ids is None else set(tenant_ids)
    configs = [c for c in store.iter_configs() if only is None or c.tenant_id in only]
    tenants = {t.tenant_id: t for t in tenant_store.get_tenants(c.tenant_id for c in configs)}
    for config in configs:
        tenant = tenants.get(config.tenant_id)
        if tenant is None:
            continue
        outcome, round_id = prepare_for(tenant, config, on_date)
        prepared += outcome == "prepared"
        already += outcome == "already_prepared"
        if round_id:
            # Also on later days: a run that died before mailing finishes the job (the
            # notification ledger makes every admin's mail go out once).
            notified += notify_admins(tenant, round_id)
    closed = close_expired(on_date, [c.tenant_id for c in configs])
    return {"prepared": prepared, "already_prepared": already, "notified": notified, **closed}


def prepare_for(
    tenant: Tenant, config: store.HeartbeatConfig, on_date: date
) -> tuple[str, str | None]:
    """("prepared" | "already_prepared" | "not_due", the waiting round's id)."""
    if config.pending_round_id:
        return "already_prepared", config.pending_round_id
    due = due_on(config, _interval(tenant))
    if due > on_date:
        return "not_due", None
    rnd = store.Round(
        tenant_id=tenant.tenant_id,
        round_id=store.round_id_for(tenant.tenant_id, due),
        status="prepared",
        due_on=due.isoformat(),
        questions=round_questions(config, tenant.name),
        company=tenant.name,
        prepared_at=now_iso(),
    )
    outcome = "prepared" if store.prepare_round(rnd, config.version) else "already_prepared"
    return outcome, rnd.round_id


def _interval(tenant: Tenant) -> int:
    from chalicelib.domain.tenant_settings import effective

    return effective(tenant.settings).heartbeat_interval_days


def admins_of(tenant_id: str) -> list[User]:
    return [u for u in tenant_store.all_users(tenant_id) if u.role == "admin" and u.active]


def notify_admins(tenant: Tenant, round_id: str) -> int:
    """Ask the admins to approve; the dedupe key makes a retried job mail nobody twice."""
    rnd = store.get_round(tenant.tenant_id, round_id)
    if rnd.status != "prepared":
        return 0
    title = "Your heartbeat is ready for approval"
    body = (
        f"The heartbeat due on {rnd.due_on} is prepared and waits for your approval. "
        "Nothing is sent to your clients until an admin approves it."
    )
    return notify.notify(
        tenant.tenant_id,
        admins_of(tenant.tenant_id),
        notify.Event(
            kind=APPROVAL_KIND,
            title=title,
            body=body,
            link=staff_links.heartbeat(round_id),
            dedupe_key=f"heartbeat-approval:{round_id}",
            template="mail/heartbeat_approval",
            context={
                "company": tenant.name,
                "due_on": rnd.due_on,
                "questions": rnd.questions,
            },
        ),
    )


def close_expired(on_date: date, tenant_ids: Iterable[str]) -> dict[str, int]:
    """sent → closed on the day its 28-day window ends. Links keep their own window (to the
    second), so a late single send stays answerable for its full 28 days."""
    closed = 0
    for tenant_id in tenant_ids:
        for rnd in store.open_rounds(tenant_id):
            if (
                rnd.closes_at
                and _parse(rnd.closes_at).date() <= on_date
                and store.close_round(tenant_id, rnd.round_id, now_iso())
            ):
                closed += 1
    return {"closed": closed}


def _parse(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def approve(tenant_id: str, round_id: str, user_id: str) -> store.Round:
    rnd = store.approve_round(tenant_id, round_id, user_id, now_iso())
    enqueue_round(tenant_id, round_id)
    return rnd


def rounds(tenant_id: str, *, limit: int, cursor: str | None) -> Page[store.Round]:
    """The tenant's rounds, newest first."""
    return store.list_rounds(tenant_id, limit=limit, cursor=cursor)


def get_round(tenant_id: str, round_id: str) -> store.Round:
    """One round of this tenant; another tenant's id is not found."""
    return store.get_round(tenant_id, round_id)


def benchmarks(tenant_id: str, period: str | None = None) -> dict[str, Any]:
    """GET /benchmarks: per chosen question (overall satisfaction first), yours and the peers'."""
    config = store.get_config(tenant_id)
    chosen = [hb.OVERALL_SATISFACTION.id, *(config.question_ids if config else [])]
    return benchmark_service.view(tenant_id, period, chosen)


def approve_by(tenant_id: str, round_id: str, user_id: str) -> store.Round:
    """POST /heartbeats/{id}/approve and the approval page: not found before anything is
    counted, then the bulk-send limit, then prepared → approved and the fan-out queued."""
    store.get_round(tenant_id, round_id)
    send_limits.check_bulk_send(tenant_id, surveys.now())
    return approve(tenant_id, round_id, user_id)


def current_round(tenant_id: str, now: datetime | None = None) -> store.Round | None:
    """The round whose window is open now, if any."""
    moment = now or datetime.now(UTC)
    rnd = store.latest_sent_round(tenant_id)
    if rnd is None or rnd.status != "sent" or not rnd.closes_at:
        return None
    return rnd if _parse(rnd.closes_at) > moment else None


# ------------------------------------------------------------------------- sending (fan-out)

FANOUT_QUEUE = "heartbeat"


def enqueue_round(tenant_id: str, round_id: str) -> None:
    from chalicelib import queues

    queues.send_messages(
        FANOUT_QUEUE, [{"type": "round", "tenant_id": tenant_id, "round_id": round_id}]
    )


def handle_message(message: dict[str, Any]) -> dict[str, Any]:
    """One fan-out message: a whole round (→ one message per account), or one account."""
    if message.get("type") == "round":
        return send_round(message["tenant_id"], message["round_id"])
    if message.get("type") == "account":
        sent = send_to_account(message["tenant_id"], message["round_id"], message["account_id"])
        return {"invited": sent}
    raise ValueError(f"unknown heartbeat message type {message.get('type')!r}")


def send_round(tenant_id: str, round_id: str, now: datetime | None = None) -> dict[str, Any]:
    """approved → sent (fixing the send time and the window), then one message per account.

    Retries are safe: a sent round is fanned out again and every invitation is sent once.
    """
    from chalicelib import queues

    rnd = store.get_round(tenant_id, round_id)
    if rnd.status == "prepared":
        raise Conflict("an unapproved heartbeat is never sent")
    if rnd.status == "approved":
        moment = now or datetime.now(UTC)
        rnd = store.mark_sent(
            rnd,
            sent_at=_stamp(moment),
            sent_on=moment.date(),
            closes_at=_stamp(moment + timedelta(days=WINDOW_DAYS)),
            period=hb.period_of(moment.date()),
        )
    if rnd.status != "sent":
        return {"accounts": 0}
    messages = [
        {
            "type": "account",
            "tenant_id": tenant_id,
            "round_id": round_id,
            "account_id": a.account_id,
        }
        for a in account_store.iter_accounts(tenant_id)
    ]
    queues.send_messages(FANOUT_QUEUE, messages)
    return {"accounts": len(messages)}


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def eligible(contact: Contact) -> bool:
    return not contact.unsubscribed and not contact.suppressed


def send_to_account(tenant_id: str, round_id: str, account_id: str) -> int:
    """Invite every active, subscribed contact that existed when the round was sent.

    A contact created after that joins the next round (seed 003), or is sent this one by hand.
    """
    rnd = store.get_round(tenant_id, round_id)
    if rnd.status != "sent" or not rnd.sent_at:
        return 0
    try:
        account_store.get_account(tenant_id, account_id)
    except NotFound:
        return 0  # deleted since the round went out
    to_queue: list[invitations.Invitation] = []
    for contact in account_store.account_contacts(tenant_id, account_id):
        if eligible(contact) and contact.created_at <= rnd.sent_at:
            inv, created = _ensure_invitation(rnd, contact)
            if created or inv.sent_round is None:
                to_queue.append(inv)
    if to_queue:
        surveys.queue_invites(to_queue)
    return len(to_queue)


def send_to_contact(tenant_id: str, contact: Contact, account: Account) -> dict[str, Any]:
    """POST /contacts/{id}/heartbeat: the open round, to this one contact, now.

    A contact who has it but has not answered gets it again (a new link, the same invitation);
    one who answered is left alone.
    """
    if not eligible(contact):
        raise Conflict(
            "this contact is unsubscribed or suppressed", {"contact_id": "cannot be sent mail"}
        )
    rnd = current_round(tenant_id)
    if rnd is None:
        raise Conflict("no heartbeat is open: approve the next one to send it")
    inv, created = _ensure_invitation(rnd, contact)
    status = "queued"
    if not created and inv.responded_at:
        status = "already_answered"
    else:
        if not created and inv.sent_round is not None:
            inv = invitations.bump(
                tenant_id, heartbeat_survey.KIND, rnd.round_id, contact.contact_id, contact.email
            )
            status = "resent"
        surveys.queue_invites([inv])
    return {"heartbeat_id": rnd.round_id, "contact_id": contact.contact_id, "status": status}


def _ensure_invitation(rnd: store.Round, contact: Contact) -> tuple[invitations.Invitation, bool]:
    """The contact's invitation to this round through the survey machinery, counted once for
    the round and once per period for participation."""
    inv, created = invitations.ensure(
        rnd.tenant_id,
        heartbeat_survey.KIND,
        rnd.round_id,
        contact_id=contact.contact_id,
        account_id=contact.account_id,
        name=contact.name,
        email=contact.email,
        created_at=now_iso(),
    )
    store.record_invitation(
        rnd.tenant_id, rnd.round_id, str(rnd.period), contact.contact_id, numeric_question_ids(rnd)
    )
    return inv, created
