"""Outgoing mail: multipart (text and HTML) MIME, sent raw through SES or a tenant's SMTP server.

``send_email`` in SES drops the text part when both are given, so every message is built here
and sent with ``send_raw_email``; that also keeps our own headers (RFC 8058 one-click
unsubscribe, a Message-ID we can trace).

Headers are built from stored names and titles (a company, a review title, a contact's name),
some saved before single-line validation existed. ``build_mime`` therefore makes every display
text safe itself: line breaks and control characters become a space, bidirectional controls are
dropped (``domain/text.py``), so such a value can neither add a header nor make the mail fail.
An address (To, From, Reply-To) or header name that is not one line cannot be repaired without
changing who gets the mail: ``UnsafeHeader`` refuses the send before anything is handed over.
"""

from __future__ import annotations

import re
import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

from chalicelib.clients import client
from chalicelib.domain.text import header_text, is_single_line
from chalicelib.mail.render import render
from chalicelib.settings import get_settings


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    username: str
    password: str
    starttls: bool = True


@dataclass
class Mail:
    to: str
    subject: str
    text: str
    html: str
    from_address: str = ""
    from_name: str = "Pulse"
    reply_to: str | None = None
    unsubscribe_url: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


def from_templates(template: str, to: str, subject: str, **context: object) -> Mail:
    """Render ``<template>.txt`` and ``<template>.html`` with the same context."""
    return Mail(
        to=to,
        subject=subject,
        text=render(f"{template}.txt", **context),
        html=render(f"{template}.html", **context),
    )


# RFC 5322 field names: printable ASCII except the colon.
_HEADER_NAME = re.compile(r"^[!-9;-~]+$")


def _address(field_name: str, value: str) -> str:
    if not is_single_line(value) or any(ch.isspace() for ch in value):
        raise UnsafeHeader(f"the {field_name} value is not one line without spaces")
    return value


def build_mime(mail: Mail) -> EmailMessage:
    sender = _address("From", mail.from_address or get_settings().mail_from)
    message = EmailMessage()
    message["From"] = formataddr((header_text(mail.from_name), sender))
    message["To"] = _address("To", mail.to)
    message["Subject"] = header_text(mail.subject)
    message["Message-ID"] = make_msgid(domain=sender.split("@", 1)[1])
    if mail.reply_to:
        message["Reply-To"] = _address("Reply-To", mail.reply_to)
    if mail.unsubscribe_url:
        # RFC 8058: mail clients POST "List-Unsubscribe=One-Click" to this URL.
        message["List-Unsubscribe"] = f"<{_address('List-Unsubscribe', mail.unsubscribe_url)}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    for name, value in mail.headers.items():
        if not _HEADER_NAME.match(name):
            raise UnsafeHeader("a header name is not a token")
        message[name] = header_text(value)
    message.set_content(mail.text)
    message.add_alternative(mail.html, subtype="html")
    return message


def send(mail: Mail, smtp: SmtpServer | None = None) -> str:
    """Send one message; returns the provider's message id."""
    message = build_mime(mail)
    if smtp is not None:
        return _send_smtp(message, smtp)
    extra = {}
    if get_settings().ses_configuration_set:
        # Bounce and complaint events are published through the configuration set.
        extra["ConfigurationSetName"] = get_settings().ses_configuration_set
    result = client("ses").send_raw_email(
        Source=message["From"],
        Destinations=[mail.to],
        RawMessage={"Data": message.as_bytes()},
        **extra,
    )
    return str(result["MessageId"])


class NotSent(Exception):
    """The message surely never reached the provider (it failed before being handed over), so
    sending it again cannot make a duplicate."""


class UnsafeHeader(NotSent):
    """An address or header name that would break the header block: refused before sending."""


def _send_smtp(message: EmailMessage, smtp: SmtpServer) -> str:
    try:
        server = smtplib.SMTP(smtp.host, smtp.port, timeout=20)
    except (OSError, smtplib.SMTPException) as exc:
        raise NotSent(f"SMTP connection failed: {exc}") from exc
    with server:
        try:
            if smtp.starttls:
                server.starttls(context=ssl.create_default_context())
            if smtp.username:
                server.login(smtp.username, smtp.password)
        except (OSError, smtplib.SMTPException) as exc:
            raise NotSent(f"SMTP session refused: {exc}") from exc
        server.send_message(message)
    return str(message["Message-ID"])
