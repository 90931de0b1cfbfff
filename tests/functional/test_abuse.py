"""Abuse cases (issue 7, "Fuzzing and abuse"): oversize and odd input, deep JSON, huge pages,
path traversal, HTML in every text that reaches a page or a mail, guessed / brute-forced /
replayed / cross-tenant survey tokens. CSV formula injection is covered by
``test_segments.py::test_segment_export_csv*`` and ``test_reports.py`` (cells starting with
``= + - @`` are quoted)."""

from __future__ import annotations

import io
import json
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from support.api import Api, TenantHandle
from survey_support import FULL_ANSWER, mails_to, make_review, send_review

SCRIPT = '<script>alert("x")</script><img src=x onerror=alert(1)>'
ESCAPED = "&lt;script&gt;"
PUBLIC_IP = "127.0.0.1"  # every request of chalice's local gateway has this source IP


def _clear_rate_limits() -> None:
    from chalicelib.store.rate_limits import RateLimitModel

    for item in RateLimitModel.scan():
        item.delete()


@pytest.fixture(autouse=True)
def clean_limits() -> Iterator[None]:
    _clear_rate_limits()
    yield
    _clear_rate_limits()


@contextmanager
def captured_log() -> Iterator[io.StringIO]:
    from chalicelib.observability import logger

    buffer = io.StringIO()
    previous = logger.registered_handler.setStream(buffer)
    try:
        yield buffer
    finally:
        logger.registered_handler.setStream(previous)


def _records(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]


def _public(tenant: TenantHandle) -> Api:
    return tenant.api.as_("")


def _no_raw_script(text: str) -> None:
    assert "<script>alert" not in text and "<img src=x" not in text, text[:2000]


# ---------------------------------------------------------------------- input shapes


def test_oversize_body_and_fields_are_refused(tenant: TenantHandle) -> None:
    from chalicelib.settings import get_settings

    big = "x" * (get_settings().max_body_bytes + 1)
    reply = tenant.api.post("/accounts", raw=json.dumps({"name": big}))
    assert reply.status == 413, reply.body
    reply = tenant.api.post("/accounts", {"name": "n" * 5000, "arr": 1})
    assert reply.status == 422 and "name" in reply.json["error"]["fields"]


@pytest.mark.parametrize(
    "name",
    [
        "Zürich AG 🚀",
        "\u202eevil\u202c",
        "tab\tname",
        "nul\x00byte",
        "bell\x07",
        "ｆｕｌｌ",
        "\ufeff",
    ],
)
def test_unicode_and_control_characters_never_500(tenant: TenantHandle, name: str) -> None:
    reply = tenant.api.post("/accounts", {"name": name, "arr": 1})
    assert reply.status in (201, 422), reply.body
    if reply.status == 201:
        got = tenant.api.get(f"/accounts/{reply.json['id']}")
        assert got.status == 200
    contact_ok = tenant.api.post(
        "/accounts", {"name": f"Holder {secrets.token_hex(2)}", "arr": 1}
    ).json["id"]
    reply = tenant.api.post(
        f"/accounts/{contact_ok}/contacts",
        {"name": name, "email": f"u{secrets.token_hex(3)}@client.example"},
    )
    assert reply.status in (201, 422), reply.body


def test_deep_json_is_400(tenant: TenantHandle) -> None:
    deep = "[" * 5000 + "]" * 5000
    reply = tenant.api.post("/accounts", raw=deep)
    assert reply.status == 400, reply.body
    nested: Any = "x"
    for _ in range(40):
        nested = {"a": nested}
    reply = tenant.api.post("/accounts", {"name": "Deep", "arr": 1, "stage": nested})
    assert reply.status == 400 and reply.json["error"]["fields"] == {"body": "nested too deeply"}


@pytest.mark.parametrize("path", ["/accounts", "/notifications", "/follow-ups"])
def test_huge_page_size_is_422(tenant: TenantHandle, path: str) -> None:
    reply = tenant.api.get(f"{path}?limit=100000")
    assert reply.status == 422 and "limit" in reply.json["error"]["fields"], reply.body
    assert tenant.api.get(f"{path}?limit=-1").status == 422
    assert tenant.api.get(f"{path}?limit=abc").status == 422


@pytest.mark.parametrize(
    "filename", ["../../etc/passwd", "..\\..\\windows\\win.ini", "/etc/passwd", "a/../../b.pdf"]
)
def test_path_traversal_in_document_names_never_reaches_the_key(
    tenant: TenantHandle, filename: str
) -> None:
    review = make_review(tenant)
    reply = tenant.api.post(
        f"/reviews/{review.review_id}/documents",
        {"filename": filename, "content_type": "application/pdf", "size": 100},
    )
    assert reply.status in (201, 422), reply.body
    if reply.status == 201:
        key = reply.json["upload"]["fields"]["key"]
        prefix = f"{tenant.tenant_id}/reviews/{review.review_id}/"
        assert key.startswith(prefix)
        rest = key[len(prefix) :]
        assert ".." not in key and "\\" not in key and "/" not in rest.strip("/").split("/")[-1]
        assert "etc/passwd" not in key
        assert "/" not in reply.json["document"]["filename"]
        assert ".." not in reply.json["document"]["filename"]


# ------------------------------------------------------------------- HTML is escaped


def test_html_in_every_text_is_escaped_on_pages_and_in_mails(
    client: Any, tenant: TenantHandle
) -> None:
    review = make_review(
        tenant,
        title=f"Review {SCRIPT}",
        intro_message=f"Intro {SCRIPT}",
        sections=[{"heading": f"H {SCRIPT}", "body": f"B {SCRIPT}"}],
    )
    api = tenant.api
    assert api.patch(f"/accounts/{review.account_id}", {"name": f"Acct {SCRIPT}"}).status == 200
    contact = review.contacts[0]
    assert api.patch(f"/contacts/{contact['id']}", {"name": f"Dana {SCRIPT}"}).status == 200

    preview = api.get(f"/reviews/{review.review_id}/preview")
    assert preview.status == 200
    _no_raw_script(preview.text)
    assert ESCAPED in preview.text

    token = send_review(client, review)[contact["id"]]
    mails = mails_to(contact["email"])
    assert mails
    for mail in mails:
        html_part = mail.get_body(preferencelist=("html",))
        assert html_part is not None and html_part.get_content_type() == "text/html"
        html = str(html_part.get_content())
        _no_raw_script(html)
        assert ESCAPED in html  # the text is there, escaped, not dropped

    public = _public(tenant)
    page = public.get(f"/r/{token}")
    assert page.status == 200
    _no_raw_script(page.text)
    assert ESCAPED in page.text

    answer = {**FULL_ANSWER, "comment": f"Comment {SCRIPT}"}
    assert public.post(f"/r/{token}", answer).status == 200
    again = public.get(f"/r/{token}")
    _no_raw_script(again.text)
    assert f"Comment {SCRIPT}" not in again.text


# ------------------------------------------------------------------------- tokens


def test_guessed_tokens_are_404_and_counted(tenant: TenantHandle) -> None:
    from chalicelib.services import surveys
    from chalicelib.store import rate_limits

    public = _public(tenant)
    guesses = (secrets.token_urlsafe(32), "short", "A" * 43)
    with captured_log() as log:
        for guess in guesses:
            assert public.get(f"/r/{guess}").status == 404
        assert public.post(f"/r/{guesses[0]}", FULL_ANSWER).status == 404
    logged = [r for r in _records(log) if r.get("message") == "unknown survey link"]
    assert len(logged) == 4 and {r["source_ip"] for r in logged} == {PUBLIC_IP}
    assert guesses[0] not in log.getvalue()  # the token itself is never logged
    assert public.get("/r/../../etc/passwd").status in (403, 404)
    start, _ = surveys._window()
    assert rate_limits.count(surveys.BAD_LINK_SCOPE, PUBLIC_IP, start, surveys.now()) == 4


def test_brute_force_is_rate_limited_then_recovers(
    client: Any, tenant: TenantHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.services import surveys

    review = make_review(tenant)
    token = send_review(client, review)[review.contacts[0]["id"]]
    base = surveys.now().replace(second=5, microsecond=0)
    monkeypatch.setattr(surveys, "clock", lambda: base)
    public = _public(tenant)
    assert public.get(f"/r/{token}").status == 200  # real clients are never counted
    for _ in range(surveys.BAD_LINKS_PER_MINUTE):
        assert public.get(f"/r/{secrets.token_urlsafe(32)}").status == 404
    limited = public.get(f"/r/{secrets.token_urlsafe(32)}")
    assert limited.status == 429 and int(limited.headers["Retry-After"]) == 55
    assert "Too many attempts" in limited.text
    # A real link is never counted nor refused.
    assert public.get(f"/r/{token}").status == 200
    as_json = public.post(f"/r/{secrets.token_urlsafe(32)}", FULL_ANSWER)
    assert as_json.status == 429 and as_json.json["error"]["code"] == "rate_limited"
    unsub = public.call(
        "POST",
        f"/unsubscribe/{secrets.token_urlsafe(32)}",
        raw="",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert unsub.status == 429
    monkeypatch.setattr(surveys, "clock", lambda: base + timedelta(seconds=60))
    assert public.get(f"/r/{secrets.token_urlsafe(32)}").status == 404


def test_replayed_token_after_the_window_is_410(
    client: Any, tenant: TenantHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.services import surveys

    review = make_review(tenant)
    token = send_review(client, review)[review.contacts[0]["id"]]
    public = _public(tenant)
    assert public.post(f"/r/{token}", FULL_ANSWER).status == 200
    later = surveys.now() + timedelta(days=surveys.WINDOW_DAYS, seconds=1)
    monkeypatch.setattr(surveys, "clock", lambda: later)
    assert public.get(f"/r/{token}").status == 410
    assert public.post(f"/r/{token}", FULL_ANSWER).status == 410


def test_a_token_never_reaches_another_tenant(
    client: Any, tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    mine = make_review(tenant)
    theirs = make_review(other_tenant)
    token = send_review(client, mine)[mine.contacts[0]["id"]]
    send_review(client, theirs)
    public = _public(tenant)
    page = public.get(f"/r/{token}")
    assert page.status == 200 and "Contoso Partners" not in page.text
    assert public.post(f"/r/{token}", FULL_ANSWER).status == 200
    # The other tenant's review saw nothing; its staff cannot see ours.
    analytics = other_tenant.api.get(f"/reviews/{theirs.review_id}/analytics")
    assert analytics.status == 200, analytics.body
    assert analytics.json["recipients"], analytics.body
    assert all(r["opened_at"] is None for r in analytics.json["recipients"])
    assert all(r["scored_at"] is None for r in analytics.json["recipients"])
    ours = tenant.api.get(f"/reviews/{mine.review_id}/analytics").json["recipients"]
    assert [r["scored_at"] is not None for r in ours].count(True) == 1
    assert other_tenant.api.get(f"/reviews/{mine.review_id}").status == 404
    assert other_tenant.api.get(f"/accounts/{mine.account_id}/comments").status == 404
    # A staff token of another tenant is not a survey link.
    assert public.get(f"/r/{other_tenant.admin.token}").status == 404
