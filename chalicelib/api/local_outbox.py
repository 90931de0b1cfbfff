"""The local stack's outbox: mail that SES (moto) accepted, with clickable links.

Only for ``pulse local``: app.py registers this blueprint when the stage is ``local`` and an
``AWS_ENDPOINT_URL`` (moto) is set, and every view answers 404 anywhere else as well, in case it
is ever registered by mistake. The routes use plain ``bp.route`` rather than ``public_route`` on
purpose: they do not exist on AWS, so they stay out of the OpenAPI document and out of the
generated security tests, which describe the deployed API.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape

from chalice.app import Blueprint, Response

from chalicelib.api.responses import error_body, json_response
from chalicelib.mail.outbox import SentMail, fetch_sent, select
from chalicelib.settings import get_settings

bp = Blueprint(__name__)

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


def enabled() -> bool:
    settings = get_settings()
    return settings.is_local and settings.stage == "local"


def _not_found() -> Response:
    return json_response(error_body("not_found", "no such route"), 404)


def _mails() -> list[SentMail]:
    params: Mapping[str, str] = bp.current_request.query_params or {}
    try:
        limit = min(max(int(params.get("limit", DEFAULT_LIMIT)), 1), MAX_LIMIT)
    except ValueError:
        limit = DEFAULT_LIMIT
    endpoint = get_settings().endpoint_url or ""
    return select(fetch_sent(endpoint), to=params.get("to") or None, limit=limit)


@bp.route("/_local/outbox.json", methods=["GET"])
def outbox_json() -> Response:
    if not enabled():
        return _not_found()
    mails = _mails()
    return json_response({"items": [m.to_dict() for m in mails], "count": len(mails)})


@bp.route("/_local/outbox", methods=["GET"])
def outbox_page() -> Response:
    if not enabled():
        return _not_found()
    body = render_page(_mails())
    return Response(
        body=body,
        status_code=200,
        headers={
            "Content-Type": "text/html; charset=utf-8",
            # The mail HTML is shown in a sandboxed srcdoc frame, which inherits this policy:
            # no scripts anywhere, styles and images only.
            "Content-Security-Policy": (
                "default-src 'none'; style-src 'unsafe-inline'; img-src * data:; frame-src 'self'"
            ),
            "Cache-Control": "no-store",
        },
    )


_STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:60rem;padding:0 1rem;color:#1f2937}
h1{font-size:1.4rem} .meta{color:#4b5563;font-size:.9rem}
article{border:1px solid #d1d5db;border-radius:.5rem;padding:1rem;margin:1rem 0}
h2{font-size:1.1rem;margin:0 0 .3rem} ul.links{padding-left:1.2rem}
pre{white-space:pre-wrap;background:#f9fafb;padding:.6rem;border-radius:.3rem;font-size:.85rem}
iframe{width:100%;height:22rem;border:1px solid #e5e7eb;border-radius:.3rem;background:#fff}
details{margin:.4rem 0}
"""


def _article(mail: SentMail) -> str:
    links = "".join(
        f'<li><a href="{escape(url)}" target="_blank" rel="noopener noreferrer">{escape(url)}</a></li>'
        for url in mail.links
    )
    parts = [
        "<article>",
        f"<h2>{escape(mail.subject or '(no subject)')}</h2>",
        f'<p class="meta">To {escape(", ".join(mail.to))} · from {escape(mail.source)}'
        + (f" · {escape(mail.date)}" if mail.date else "")
        + f" · id {escape(mail.message_id)}</p>",
    ]
    if links:
        parts.append(f'<ul class="links">{links}</ul>')
    if mail.html:
        # Links inside the mail open in a new tab; the frame may run no script.
        srcdoc = '<base target="_blank">' + mail.html
        parts.append(
            "<details open><summary>HTML part</summary>"
            f'<iframe sandbox="allow-popups allow-popups-to-escape-sandbox" '
            f'srcdoc="{escape(srcdoc, quote=True)}" title="{escape(mail.subject)}"></iframe>'
            "</details>"
        )
    if mail.text:
        parts.append(
            f"<details{'' if mail.html else ' open'}><summary>Text part</summary>"
            f"<pre>{escape(mail.text)}</pre></details>"
        )
    parts.append("</article>")
    return "".join(parts)


def render_page(mails: list[SentMail]) -> str:
    articles = "".join(_article(m) for m in mails) or "<p>No mail has been sent yet.</p>"
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        "<title>Pulse local outbox</title>"
        f"<style>{_STYLE}</style></head><body>"
        "<h1>Local outbox</h1>"
        f'<p class="meta">{len(mails)} message(s), newest first. Mail that SES accepted in the '
        "local stack; nothing left this machine. Filter with <code>?to=address</code>, "
        '<code>?limit=N</code>; JSON at <a href="/_local/outbox.json">/_local/outbox.json</a>.</p>'
        f"{articles}</body></html>"
    )
