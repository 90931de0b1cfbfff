"""Mail that SES "sent" in the local stack (moto), for the outbox page and ``pulse outbox``.

Local only: moto keeps every accepted message in memory and its ``/moto-api/data.json`` dump
lists them (``ses.RawMessage`` for ``send_raw_email``, which Pulse uses; ``ses.Message`` for
``send_email``). Reading them over HTTP keeps moto, a dev dependency, out of this module: it
imports nothing that is missing from the Lambda package, and nothing here runs on AWS.
"""

from __future__ import annotations

import json
import re
import urllib.request
from dataclasses import asdict, dataclass, field
from email import message_from_string, policy
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from typing import Any

# Links end at whitespace, quotes, angle brackets and closing brackets (text parts wrap URLs in
# those); trailing sentence punctuation is trimmed afterwards.
_URL = re.compile(r"https?://[^\s<>\"'()\[\]]+")
_TRAILING = ".,;:!?"


@dataclass
class SentMail:
    message_id: str
    source: str
    to: list[str]
    subject: str
    date: str | None
    text: str
    html: str
    links: list[str] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Hrefs(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            for name, value in attrs:
                if name == "href" and value and value.startswith(("http://", "https://")):
                    self.hrefs.append(value)


def find_links(text: str, html: str = "") -> list[str]:
    """URLs in the text part, then any ``href`` of the HTML part not already found; in order."""
    found: list[str] = []
    for match in _URL.finditer(text):
        url = match.group(0).rstrip(_TRAILING)
        if url not in found:
            found.append(url)
    if html:
        parser = _Hrefs()
        parser.feed(html)
        for url in parser.hrefs:
            if url not in found:
                found.append(url)
    return found


def _unique(values: list[str]) -> list[str]:
    seen: list[str] = []
    for value in values:
        if value not in seen:
            seen.append(value)
    return seen


def _part(message: EmailMessage, subtype: str) -> str:
    part = message.get_body(preferencelist=(subtype,))
    if part is None or part.get_content_type() != f"text/{subtype}":
        return ""
    return str(part.get_content())


def parse_raw(message_id: str, source: str, destinations: list[str], raw: str) -> SentMail:
    """One raw MIME message as SES accepted it."""
    message = message_from_string(raw, policy=policy.default)
    date: str | None = None
    if message["Date"]:
        try:
            date = parsedate_to_datetime(str(message["Date"])).isoformat()
        except (TypeError, ValueError):
            date = str(message["Date"])
    text = _part(message, "plain")
    html = _part(message, "html")
    if not text and not html and not message.is_multipart():
        text = str(message.get_content())
    return SentMail(
        message_id=message_id,
        source=source,
        to=_unique(list(destinations) or [str(message["To"] or "")]),
        subject=str(message["Subject"] or ""),
        date=date,
        text=text,
        html=html,
        links=find_links(text, html),
        headers={k: str(v) for k, v in message.items()},
    )


def parse_simple(item: dict[str, Any]) -> SentMail:
    """A ``send_email`` message: moto keeps one body (the HTML one when both were given)."""
    body = str(item.get("body") or "")
    is_html = body.lstrip().startswith("<")
    destinations = item.get("destinations") or {}
    to: list[str] = []
    if isinstance(destinations, dict):
        for key in ("ToAddresses", "CcAddresses", "BccAddresses"):
            to.extend(destinations.get(key) or [])
    text, html = ("", body) if is_html else (body, "")
    return SentMail(
        message_id=str(item.get("id", "")),
        source=str(item.get("source", "")),
        to=_unique(to),
        subject=str(item.get("subject") or ""),
        date=None,
        text=text,
        html=html,
        links=find_links(text, html),
    )


def parse_dump(data: dict[str, Any]) -> list[SentMail]:
    """Sent mail from moto's ``/moto-api/data.json`` document, oldest first."""
    ses = data.get("ses") or {}
    mails = [
        parse_raw(
            str(item.get("id", "")),
            str(item.get("source", "")),
            list(item.get("destinations") or []),
            str(item.get("raw_data") or ""),
        )
        for item in ses.get("RawMessage") or []
    ]
    mails.extend(parse_simple(item) for item in ses.get("Message") or [])
    return mails


def _sent_in_process() -> list[SentMail]:
    """Mail held by a moto running in this very process (``pulse local`` and the tests).

    ``/moto-api/data.json`` serialises every service's state, which grows slow as a session
    fills its tables; reading the SES backend directly costs nothing. moto is imported here, on
    use, so the module still imports where moto is absent (the Lambda package)."""
    try:
        from moto.ses.models import ses_backends
    except ImportError:
        return []
    mails: list[SentMail] = []
    for regions in list(ses_backends.values()):
        for backend in list(regions.values()):
            for item in list(backend.sent_messages):
                if hasattr(item, "raw_data"):
                    mails.append(
                        parse_raw(item.id, item.source, list(item.destinations), item.raw_data)
                    )
                else:
                    mails.append(parse_simple(dict(vars(item))))
    return mails


def fetch_sent(endpoint: str, timeout: float = 30.0) -> list[SentMail]:
    """Every mail the moto server at ``endpoint`` accepted, oldest first: from this process when
    moto runs in it, otherwise from the server's state dump."""
    in_process = _sent_in_process()
    if in_process:
        return in_process
    url = endpoint.rstrip("/") + "/moto-api/data.json"
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"not an http(s) endpoint: {endpoint!r}")
    with urllib.request.urlopen(url, timeout=timeout) as reply:  # noqa: S310 - scheme checked
        return parse_dump(json.loads(reply.read()))


def select(
    mails: list[SentMail], to: str | None = None, limit: int | None = None
) -> list[SentMail]:
    """Newest first, optionally only those addressed to ``to`` (case-insensitive)."""
    chosen = [m for m in reversed(mails) if not to or to.lower() in (a.lower() for a in m.to)]
    return chosen[:limit] if limit else chosen
