"""Server-rendered survey pages: the frame every survey kind shares, and its security headers.

The pages work without JavaScript and carry none. The stylesheet is embedded in a ``<style>``
element whose SHA-256 is the only style source the Content-Security-Policy allows, so the page
needs no second request and no ``unsafe-inline``; nothing else may load except the form posting
back to this origin.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from chalice.app import Response

from chalicelib.api import page_security
from chalicelib.mail.render import TEMPLATES_DIR, environment
from chalicelib.services.surveys import Resolved, SurveyInfo
from chalicelib.store.invitations import Invitation

CSS_PATH = TEMPLATES_DIR / "survey" / "survey.css"


@cache
def css() -> str:
    return CSS_PATH.read_text(encoding="utf-8")


def content_security_policy() -> str:
    return page_security.content_security_policy(css())


def headers() -> dict[str, str | list[str]]:
    return page_security.strict_headers(css())


def html(status: int, template: str, **context: Any) -> Response:
    body = environment().get_template(template).render(css=css(), **context)
    return Response(body=body, status_code=status, headers=headers())


def message_page(status: int, heading: str, text: str) -> Response:
    return html(status, "survey/message.html", title=heading, heading=heading, text=text)


def not_found_page() -> Response:
    return message_page(
        404,
        "This link does not work",
        "Please check that you opened the whole link from your email. If it still does not work, "
        "reply to the email you received and ask for a new one.",
    )


def gone_page() -> Response:
    return message_page(
        410,
        "This survey has closed",
        "Thank you for your interest. The time to answer this survey has passed; if you would "
        "still like to share feedback, reply to the email you received.",
    )


def _field_ids(context: dict[str, Any]) -> dict[str, str]:
    ids = {"nps": "f-nps", "comment": "comment", "follow_up": "follow_up", "form": "answers"}
    for q in context.get("questions") or []:
        ids[f"scores.{q['id']}"] = f"f-scores-{q['id']}"
    for q in context.get("answers_questions") or []:
        ids[f"answers.{q['id']}"] = f"f-answers-{q['id']}"
    return ids


def survey_page(
    found: Resolved,
    token: str,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
) -> Response:
    return _page(
        found.info,
        found.inv,
        found.kind.page_context(found.info, found.inv),
        token=token,
        status=status,
        errors=errors,
        values=values,
        preview=False,
    )


def preview_page(info: SurveyInfo, context: dict[str, Any]) -> Response:
    return _page(
        info, None, context, token=None, status=200, errors=None, values=None, preview=True
    )


def _page(
    info: SurveyInfo,
    inv: Invitation | None,
    context: dict[str, Any],
    *,
    token: str | None,
    status: int,
    errors: dict[str, str] | None,
    values: dict[str, Any] | None,
    preview: bool,
) -> Response:
    if values is not None:
        context["values"] = values
    return html(
        status,
        "survey/page.html",
        title=info.title,
        company=info.company,
        recipient_name=inv.name if inv else "",
        preview=preview,
        errors=errors or {},
        field_ids=_field_ids(context),
        answered=(inv.response_updated_at or "")[:10] if inv and inv.response else "",
        closes_on=(inv.window_closes_at or "")[:10] if inv else "",
        unsubscribe_path=f"../unsubscribe/{token}" if token else "",
        **context,
    )


def thanks_page(found: Resolved, *, updated: bool) -> Response:
    inv = found.inv
    return html(
        200,
        "survey/thanks.html",
        title="Thank you",
        company=found.info.company,
        recipient_name=inv.name,
        updated=updated,
        follow_up=inv.follow_up,
        closes_on=(inv.window_closes_at or "")[:10],
    )


# Headings of the unsubscribe page in each state: "confirm" (GET of a subscribed contact's link),
# "unsubscribed" and "subscribed" (after a resubscribe).
SUBSCRIPTION_HEADINGS = {
    "confirm": "Stop these emails?",
    "unsubscribed": "You are unsubscribed",
    "subscribed": "You are subscribed again",
}


def subscription_page(
    state: str, *, company: str, unsubscribe_action: str, resubscribe_action: str
) -> Response:
    """The unsubscribe link's page. Every change is a POST from a button here (or an RFC 8058
    one-click POST); the page itself changes nothing."""
    heading = SUBSCRIPTION_HEADINGS[state]
    return html(
        200,
        "survey/unsubscribe.html",
        title=heading,
        heading=heading,
        state=state,
        company=company,
        unsubscribe_action=unsubscribe_action,
        resubscribe_action=resubscribe_action,
    )


def cross_site_page() -> Response:
    return message_page(
        403,
        "This form was sent from another site",
        "Nothing was changed. Please open the link from your email again and use the button "
        "on that page.",
    )
