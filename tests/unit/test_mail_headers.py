"""The mail layer builds its headers safely whatever names it is given: a stored display name or
subject with line breaks can neither add a header nor make the mail fail, and an address that
is not one line is refused before anything is sent."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import getaddresses

import pytest

from chalicelib.mail import message
from chalicelib.mail.message import Mail, NotSent, UnsafeHeader, build_mime

INJECTION = "Eve\r\nBcc: x@evil.example"
BREAKS = {
    "CR": "\r",
    "LF": "\n",
    "CRLF": "\r\n",
    "TAB": "\t",
    "VT": "\x0b",
    "FF": "\x0c",
    "FS": "\x1c",
    "DEL": "\x7f",
    "NEL": "\x85",
    "C1": "\x9b",
    "LS": "\u2028",
    "PS": "\u2029",
}


def _mail(**fields: object) -> Mail:
    base: dict[str, object] = {
        "to": "dana@client.example",
        "subject": "Q3 business review",
        "text": "Hello",
        "html": "<p>Hello</p>",
        "from_address": "pulse@pulse.example",
        "from_name": "Northwind Services",
    }
    base.update(fields)
    return Mail(**base)  # type: ignore[arg-type]


def _sent(mail: Mail) -> EmailMessage:
    """The message as a receiving server would parse it from the bytes on the wire."""
    raw = build_mime(mail).as_bytes()
    parsed = message_from_bytes(raw, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def _header_names(mail: EmailMessage) -> list[str]:
    return sorted(name.lower() for name in mail)


def _recipients(mail: EmailMessage) -> list[str]:
    fields = [str(v) for key in ("To", "Cc", "Bcc") for v in mail.get_all(key, [])]
    return [address for _, address in getaddresses(fields)]


EXPECTED_HEADERS = sorted(["from", "to", "subject", "message-id", "content-type", "mime-version"])


def test_a_crlf_in_the_sender_name_adds_no_header() -> None:
    sent = _sent(_mail(from_name=INJECTION))

    assert _header_names(sent) == EXPECTED_HEADERS
    assert "bcc" not in _header_names(sent)
    assert _recipients(sent) == ["dana@client.example"]
    assert sent["From"].addresses[0].display_name == "Eve Bcc: x@evil.example"
    assert sent["From"].addresses[0].addr_spec == "pulse@pulse.example"


def test_a_crlf_in_the_subject_adds_no_header() -> None:
    sent = _sent(_mail(subject=f"Acme: {INJECTION}"))

    assert _header_names(sent) == EXPECTED_HEADERS
    assert _recipients(sent) == ["dana@client.example"]
    assert sent["Subject"] == "Acme: Eve Bcc: x@evil.example"


def test_a_crlf_in_an_extra_header_value_adds_no_header() -> None:
    sent = _sent(_mail(headers={"X-Pulse-Survey": INJECTION}))

    assert "bcc" not in _header_names(sent)
    assert sent["X-Pulse-Survey"] == "Eve Bcc: x@evil.example"


@pytest.mark.parametrize("char", BREAKS.values(), ids=BREAKS.keys())
def test_every_line_breaking_character_becomes_one_space(char: str) -> None:
    # Before, EmailMessage refused these with ValueError: the send failed as an unknown outcome.
    sent = _sent(_mail(from_name=f"Acme{char}Corp", subject=f"Review{char} of Q3"))

    assert sent["From"].addresses[0].display_name == "Acme Corp"
    assert sent["Subject"] == "Review of Q3"
    assert _header_names(sent) == EXPECTED_HEADERS


def test_bidirectional_controls_are_dropped_from_the_sender_name() -> None:
    sent = _sent(_mail(from_name="Bank\u202e\u2066 Support\u2069\u202c"))

    assert sent["From"].addresses[0].display_name == "Bank Support"


def test_accents_apostrophes_and_emoji_are_kept() -> None:
    name = "Zoë O'Brien 👩\u200d💻 شركة"
    sent = _sent(_mail(from_name=name, subject=f"{name}: “Q3”"))

    assert sent["From"].addresses[0].display_name == name
    assert sent["Subject"] == f"{name}: “Q3”"


@pytest.mark.parametrize(
    "fields",
    [
        {"to": "dana@client.example\r\nBcc: x@evil.example"},
        {"to": "dana@client.example\u2028"},
        {"to": "dana@client.example x@evil.example"},
        {"from_address": "pulse@pulse.example\nBcc: x@evil.example"},
        {"reply_to": "cs@pulse.example\r\nBcc: x@evil.example"},
        {"unsubscribe_url": "https://pulse.example/u/1>\r\nBcc: x@evil.example"},
        {"headers": {"X-A\r\nBcc": "x@evil.example"}},
    ],
    ids=["to-crlf", "to-ls", "to-space", "from", "reply-to", "unsubscribe", "header-name"],
)
def test_an_address_that_is_not_one_line_is_refused_as_not_sent(fields: dict[str, object]) -> None:
    with pytest.raises(UnsafeHeader) as caught:
        build_mime(_mail(**fields))
    # NotSent: the survey send path gives its claim back instead of recording "unknown".
    assert isinstance(caught.value, NotSent)


def test_send_refuses_an_unsafe_address_before_calling_the_provider(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_provider(name: str) -> object:
        raise AssertionError(f"{name} must not be called")

    monkeypatch.setattr(message, "client", no_provider)
    with pytest.raises(UnsafeHeader):
        message.send(_mail(to="dana@client.example\nBcc: x@evil.example"))
