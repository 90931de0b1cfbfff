"""Heartbeat: the question library, the tenant's configuration, rounds and benchmarks."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint
from pydantic import ConfigDict, Field

from chalicelib.api import models
from chalicelib.api.access import contact_for
from chalicelib.api.routing import ADMIN, Body, PageQuery, Query, page_body, staff_route
from chalicelib.auth.tokens import Principal
from chalicelib.domain import heartbeat as hb
from chalicelib.services import heartbeat as service
from chalicelib.services import send_limits, surveys
from chalicelib.store import tenants as tenant_store

bp = Blueprint(__name__)


class CustomQuestionBody(Body):
    text: str = Field(min_length=1, max_length=hb.CUSTOM_TEXT_MAX)
    scale_min: int = Field(default=hb.SCALE_MIN, description="always 0")
    scale_max: int = Field(default=hb.SCALE_MAX, description="always 10")


class LibraryChoice(Body):
    id: str = Field(min_length=1, max_length=80)


class ConfigBody(Body):
    """The four chosen questions (fixed ones are always asked first) and the interval."""

    questions: list[LibraryChoice | CustomQuestionBody | str] = Field(
        min_length=1,
        max_length=8,
        description='exactly four: library ids ("responsiveness" or {"id": …}) and at most '
        'one custom question {"text": …}',
    )
    interval_days: int | None = Field(
        default=None, description=f"{hb.INTERVAL_MIN_DAYS}-{hb.INTERVAL_MAX_DAYS}"
    )

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "questions": [
                        "responsiveness",
                        "quality_of_work",
                        "value_for_money",
                        {"text": "How well do we document our work?"},
                    ],
                    "interval_days": 90,
                }
            ]
        },
    )


class BenchmarksQuery(Query):
    period: str | None = Field(default=None, pattern=r"^\d{4}-Q[1-4]$")


@staff_route(bp, "/heartbeat/questions", tag="heartbeat", response=models.QuestionLibrary)
def list_questions(principal: Principal) -> dict[str, Any]:
    """The shared question library, most used first (counts only: never who uses what)."""
    tenant = tenant_store.get_tenant(principal.tenant_id)
    chosen = set(service.config_of(principal.tenant_id).question_ids)
    items = [
        {
            **service.question_view(r.question.render(tenant.name)),
            "rank": r.rank,
            "tenants_using": r.tenants_using,
            "chosen": r.question.id in chosen,
        }
        for r in service.library()
    ]
    return {
        "items": items,
        "next_cursor": None,
        "fixed": [service.question_view(q.render(tenant.name)) for q in hb.FIXED_QUESTIONS],
    }


@staff_route(bp, "/heartbeat/config", tag="heartbeat", response=models.HeartbeatConfig)
def get_config(principal: Principal) -> dict[str, Any]:
    """The six questions clients are asked, and the interval."""
    return service.current_config(principal.tenant_id)


@staff_route(
    bp,
    "/heartbeat/config",
    methods=["PUT"],
    roles=ADMIN,
    body=ConfigBody,
    tag="heartbeat",
    response=models.HeartbeatConfig,
)
def put_config(principal: Principal, body: ConfigBody) -> dict[str, Any]:
    """Choose the four questions (at most one custom, 0-10) and the interval in days."""
    entries: list[str | hb.CustomQuestionInput] = []
    for q in body.questions:
        if isinstance(q, str):
            entries.append(q)
        elif isinstance(q, LibraryChoice):
            entries.append(q.id)
        else:
            entries.append(hb.CustomQuestionInput(q.text, q.scale_min, q.scale_max))
    config = service.update_config(principal.tenant_id, entries, body.interval_days)
    return service.config_view(tenant_store.get_tenant(principal.tenant_id), config)


@staff_route(
    bp,
    "/heartbeats",
    roles=ADMIN,
    query=PageQuery,
    tag="heartbeat",
    response=models.Page[models.Round],
)
def list_heartbeats(principal: Principal, query: PageQuery) -> dict[str, Any]:
    """Heartbeat rounds, newest first: prepared (waiting for approval), approved, sent, closed."""
    page = service.rounds(principal.tenant_id, limit=query.limit, cursor=query.cursor)
    return page_body(page)


@staff_route(
    bp,
    "/heartbeats/{heartbeat_id}/approve",
    methods=["POST"],
    roles=ADMIN,
    status=202,
    responses={
        409: "Not waiting for approval (already approved, sent or closed)",
        429: send_limits.BULK_SEND_429,
    },
    tag="heartbeat",
    response=models.Round,
)
def approve_heartbeat(principal: Principal, heartbeat_id: str) -> dict[str, Any]:
    """Approve a prepared round: it is sent to every active, subscribed contact of every account."""
    return service.approve_by(principal.tenant_id, heartbeat_id, principal.user_id).to_api()


@staff_route(
    bp,
    "/contacts/{contact_id}/heartbeat",
    methods=["POST"],
    roles=ADMIN,
    status=202,
    responses={
        409: "No heartbeat is open, or the contact cannot be mailed",
        429: send_limits.BULK_SEND_429,
    },
    tag="heartbeat",
    response=models.HeartbeatSent,
)
def send_heartbeat_to_contact(principal: Principal, contact_id: str) -> dict[str, Any]:
    """Send the open heartbeat to one contact now (e.g. one added after the round went out)."""
    contact, account = contact_for(principal, contact_id)
    send_limits.check_bulk_send(principal.tenant_id, surveys.now())
    return service.send_to_contact(principal.tenant_id, contact, account)


@staff_route(bp, "/benchmarks", query=BenchmarksQuery, tag="heartbeat", response=models.Benchmarks)
def get_benchmarks(principal: Principal, query: BenchmarksQuery) -> dict[str, Any]:
    """Per question: your average, the peer average, top performers, the peer group, your rank."""
    return service.benchmarks(principal.tenant_id, query.period)
