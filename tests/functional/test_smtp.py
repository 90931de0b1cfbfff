"""A tenant's own SMTP server (aiosmtpd here, a real SMTP server on a local port): survey mail
goes there instead of SES, authenticated with the password kept in Secrets Manager."""

from __future__ import annotations

from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from support.api import TenantHandle
from survey_support import drain, mails_to, make_review

USER, PASSWORD = "pulse-relay", "relay-secret-123"


class Collector:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append((list(envelope.rcpt_tos), message))  # type: ignore[arg-type]
        return "250 OK"


def _authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> Any:
    from aiosmtpd.smtp import AuthResult, LoginPassword

    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == USER.encode()
        and auth_data.password == PASSWORD.encode()
    )
    return AuthResult(success=ok)


@pytest.fixture
def tenant(tenant: TenantHandle) -> Iterator[TenantHandle]:
    """The test's tenant, back on SES afterwards: the reminders job of a later test must not
    find invitations whose mail would go to an SMTP server that has stopped."""
    yield tenant
    assert tenant.api.put("/settings", {"smtp": None}).status == 200


@pytest.fixture
def smtp_server() -> Iterator[tuple[Collector, int]]:
    from aiosmtpd.controller import Controller

    from pulse_local.stack import free_port

    collector = Collector()
    port = free_port()
    controller = Controller(
        collector,
        hostname="127.0.0.1",
        port=port,
        authenticator=_authenticator,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield collector, port
    finally:
        controller.stop()


def test_survey_mail_goes_through_the_tenants_smtp_server(
    client: Any, tenant: TenantHandle, smtp_server: tuple[Collector, int]
) -> None:
    collector, port = smtp_server
    reply = tenant.api.put(
        "/settings",
        {
            "smtp": {
                "host": "127.0.0.1",
                "port": port,
                "username": USER,
                "password": PASSWORD,
                "starttls": False,
            }
        },
    )
    assert reply.status == 200, reply.body
    assert reply.json["smtp"]["password_set"] is True and "password" not in reply.json["smtp"]

    review = make_review(tenant)
    contact = review.contacts[0]
    assert tenant.api.post(f"/reviews/{review.review_id}/send").status == 202
    drain(client)

    assert mails_to(contact["email"]) == []  # not through SES
    assert len(collector.messages) == 1
    recipients, mail = collector.messages[0]
    assert recipients == [contact["email"]]
    assert mail.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in mail.iter_parts()] == ["text/plain", "text/html"]
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "/unsubscribe/" in mail["List-Unsubscribe"]

    # A redelivery sends nothing more through SMTP either.
    rows = tenant.api.get(f"/reviews/{review.review_id}/analytics").json["recipients"]
    assert rows[0]["delivery"] == "sent"


def test_an_unreachable_smtp_server_is_retried_not_lost(
    client: Any, tenant: TenantHandle, smtp_server: tuple[Collector, int]
) -> None:
    from survey_support import invoke_mail_handler, receive_all

    from pulse_local.stack import free_port

    collector, port = smtp_server
    settings = {"host": "127.0.0.1", "username": USER, "password": PASSWORD, "starttls": False}
    tenant.api.put("/settings", {"smtp": {**settings, "port": free_port()}})  # nobody listens
    review = make_review(tenant)
    tenant.api.post(f"/reviews/{review.review_id}/send")
    messages = receive_all()
    assert len(invoke_mail_handler(client, messages)["batchItemFailures"]) == 1
    assert collector.messages == []
    tenant.api.put("/settings", {"smtp": {**settings, "port": port}})
    assert invoke_mail_handler(client, messages) == {"batchItemFailures": []}
    assert len(collector.messages) == 1


class AuthRecorder(Collector):
    """An SMTP server that keeps every AUTH attempt and every byte of mail it was handed, and
    accepts one login."""

    def __init__(self, login: str, password: str) -> None:
        super().__init__()
        self.expected = (login, password)
        self.logins: list[tuple[str, str]] = []
        self.raw: list[bytes] = []

    def authenticator(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> Any:
        from aiosmtpd.smtp import AuthResult, LoginPassword

        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False)
        attempt = (auth_data.login.decode(), auth_data.password.decode())
        self.logins.append(attempt)
        return AuthResult(success=attempt == self.expected)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.raw.append(bytes(envelope.content))
        return await super().handle_DATA(server, session, envelope)

    def everything_received(self) -> str:
        seen = [f"{login}\n{password}" for login, password in self.logins]
        return "\n".join(seen + [raw.decode("utf-8", "replace") for raw in self.raw])


@pytest.fixture
def recording_servers() -> Iterator[dict[str, tuple[AuthRecorder, int]]]:
    from aiosmtpd.controller import Controller

    from pulse_local.stack import free_port

    servers: dict[str, tuple[AuthRecorder, int]] = {}
    controllers = []
    for name, login, password in (
        ("a", "relay-a", "a-password-1111"),
        ("b", "relay-b", "b-password-2222"),
    ):
        recorder = AuthRecorder(login, password)
        port = free_port()
        controller = Controller(
            recorder,
            hostname="127.0.0.1",
            port=port,
            authenticator=recorder.authenticator,
            auth_require_tls=False,
        )
        controller.start()
        controllers.append(controller)
        servers[name] = (recorder, port)
    try:
        yield servers
    finally:
        for controller in controllers:
            controller.stop()


def _smtp(port: int, login: str, password: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"host": "127.0.0.1", "port": port, "username": login, "starttls": False}
    if password is not None:
        body["password"] = password
    return body


def test_a_tenant_cannot_send_with_another_tenants_smtp_password(
    client: Any,
    tenant: TenantHandle,
    other_tenant: TenantHandle,
    recording_servers: dict[str, tuple[AuthRecorder, int]],
) -> None:
    from chalicelib.services.settings import smtp_secret_name
    from chalicelib.store import tenants as tenant_store

    server_a, port_a = recording_servers["a"]
    server_b, port_b = recording_servers["b"]
    login_a, password_a = server_a.expected
    login_b, password_b = server_b.expected
    victim, attacker = other_tenant, tenant
    try:
        reply = victim.api.put("/settings", {"smtp": _smtp(port_b, login_b, password_b)})
        assert reply.status == 200, reply.body
        reply = attacker.api.put("/settings", {"smtp": _smtp(port_a, login_a, password_a)})
        assert reply.status == 200, reply.body
        assert reply.json["smtp"]["password_set"] is True
        assert "secret_arn" not in reply.json["smtp"] and "password" not in reply.json["smtp"]

        # Naming the victim's secret is refused as an unknown field, and changes nothing.
        victims_secret = smtp_secret_name(victim.tenant_id)
        for name, value in (("secret_arn", victims_secret), ("password_set", True)):
            smtp = {**_smtp(port_a, login_b), name: value}
            refused = attacker.api.put("/settings", {"smtp": smtp})
            assert refused.status == 422, refused.body
            assert refused.json["error"]["fields"] == {f"smtp.{name}": "unknown field"}
        assert attacker.api.get("/settings").json["smtp"]["username"] == login_a

        # A document stored before the fix names a secret (perhaps the victim's) instead of
        # saying password_set: only "a password was set" is taken from it.
        stored = tenant_store.get_tenant(attacker.tenant_id).settings
        del stored["smtp"]["password_set"]
        stored["smtp"]["secret_arn"] = victims_secret
        tenant_store.update_tenant_settings(attacker.tenant_id, stored)
        shown = attacker.api.get("/settings").json["smtp"]
        assert shown["password_set"] is True and "secret_arn" not in shown

        review = make_review(attacker)
        assert attacker.api.post(f"/reviews/{review.review_id}/send").status == 202
        drain(client)

        assert server_a.logins == [(login_a, password_a)]
        assert len(server_a.messages) == 1
        assert password_b not in server_a.everything_received()
        assert server_b.logins == [] and server_b.messages == []
    finally:
        assert victim.api.put("/settings", {"smtp": None}).status == 200
