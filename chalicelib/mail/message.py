"""Outgoing mail: multipart (text and HTML) MIME, sent raw through SES or a tenant's SMTP server.

``send_email`` in SES drops the text part when both are given, so every message is built here
and sent with ``send_raw_email``; that also keeps our own headers (RFC 8058 one-click
unsubscribe, a Message-ID we can trace).
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

from chalicelib.clients import client
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


def build_mime(mail: Mail) -> EmailMessage:
    sender = mail.from_address or get_settings().mail_from
    message = EmailMessage()
    message["From"] = formataddr((mail.from_name, sender))
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Message-ID"] = make_msgid(domain=sender.split("@", 1)[1])
    if mail.reply_to:
        message["Reply-To"] = mail.reply_to
    if mail.unsubscribe_url:
        # RFC 8058: mail clients POST "List-Unsubscribe=One-Click" to this URL.
        message["List-Unsubscribe"] = f"<{mail.unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    for name, value in mail.headers.items():
        message[name] = value
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
