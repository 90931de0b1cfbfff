"""``/app/heartbeat`` (the questions clients are asked, benchmarks, and for admins the rounds)
and ``/app/heartbeats/{heartbeat_id}`` (one round, with **Approve** while it waits): the same
use cases as ``GET /heartbeat/config``, ``GET /benchmarks``, ``GET /heartbeats`` and ``POST
/heartbeats/{id}/approve`` (``services/heartbeat.py``). Rounds are for admins only: other roles
get the 404 page, as for another tenant's round."""

from __future__ import annotations

from chalice.app import Response

from chalicelib.api.routing import ADMIN
from chalicelib.errors import BadRequest, Conflict
from chalicelib.services import heartbeat as service
from chalicelib.services import staff_links
from chalicelib.web.routing import Page, page_route

ROUNDS_PAGE = 20
STATUS_LABELS = {
    "prepared": "Waiting for approval",
    "approved": "Approved, being sent",
    "sent": "Sent, open for answers",
    "closed": "Closed",
}


@page_route("/app/heartbeat")
def heartbeat_page(page: Page) -> Response:
    rounds = None
    next_cursor = None
    cursor = page.query.get("cursor") or None
    if page.user.is_admin:
        try:
            listed = service.rounds(page.user.tenant_id, limit=ROUNDS_PAGE, cursor=cursor)
        except BadRequest:  # a stale or foreign cursor: the first page
            cursor = None
            listed = service.rounds(page.user.tenant_id, limit=ROUNDS_PAGE, cursor=None)
        rounds, next_cursor = listed.items, listed.next_cursor
    return page.render(
        "web/heartbeat.html",
        title="Heartbeat",
        config=service.current_config(page.user.tenant_id),
        benchmarks=service.benchmarks(page.user.tenant_id),
        rounds=rounds,
        cursor=cursor or "",
        next_cursor=next_cursor,
        statuses=STATUS_LABELS,
    )


def _round_page(page: Page, heartbeat_id: str, *, status: int = 200, problem: str = "") -> Response:
    rnd = service.get_round(page.user.tenant_id, heartbeat_id)  # not found: the 404 page
    return page.render(
        "web/heartbeat_round.html",
        status=status,
        title=f"Heartbeat due {rnd.due_on}",
        round=rnd,
        status_label=STATUS_LABELS.get(rnd.status, rnd.status),
        problem=problem,
        notice=page.query.get("notice", "") if not problem else "",
    )


@page_route("/app/heartbeats/{heartbeat_id}", roles=ADMIN)
def heartbeat_round(page: Page, heartbeat_id: str) -> Response:
    return _round_page(page, heartbeat_id)


@page_route("/app/heartbeats/{heartbeat_id}/approve", methods=["POST"], roles=ADMIN)
def heartbeat_approve(page: Page, heartbeat_id: str) -> Response:
    try:
        rnd = service.approve_by(page.user.tenant_id, heartbeat_id, page.user.user_id)
    except Conflict as exc:
        return _round_page(page, heartbeat_id, status=409, problem=exc.message)
    return page.redirect(staff_links.heartbeat(rnd.round_id) + "?notice=approved")
