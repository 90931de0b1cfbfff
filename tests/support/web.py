"""A browser-like client for the staff web app over chalice.test.Client: it keeps cookies,
sends forms as a browser does (same-origin Fetch Metadata) and reads CSRF tokens from pages."""

from __future__ import annotations

import html
import re
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from support.api import PASSWORD, Reply

CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')
ORIGIN = "http://127.0.0.1:8000"


def set_cookies(reply: Reply) -> list[str]:
    value = reply.headers.get("Set-Cookie") or reply.headers.get("set-cookie") or []
    return list(value) if isinstance(value, list) else [value]


@dataclass
class Web:
    client: Any
    cookies: dict[str, str] = field(default_factory=dict)
    last: Reply | None = None

    def _cookie_header(self) -> dict[str, str]:
        if not self.cookies:
            return {}
        return {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}

    def _keep(self, reply: Reply) -> Reply:
        for line in set_cookies(reply):
            name, _, rest = line.partition("=")
            value = rest.split(";", 1)[0]
            if "Max-Age=0" in line:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        self.last = reply
        return reply

    def get(self, path: str, headers: dict[str, str] | None = None) -> Reply:
        hdrs = {**self._cookie_header(), **(headers or {})}
        response = self.client.http.request("GET", path, headers=hdrs)
        return self._keep(Reply(response.status_code, dict(response.headers), response.body))

    def post(
        self,
        path: str,
        fields: dict[str, str],
        *,
        csrf: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        """POST a form. ``csrf`` defaults to the token of the last page fetched."""
        data = dict(fields)
        token = csrf if csrf is not None else self.csrf()
        if token:
            data["csrf_token"] = token
        hdrs = {
            **self._cookie_header(),
            "Content-Type": "application/x-www-form-urlencoded",
            "Origin": ORIGIN,
            "Host": "127.0.0.1:8000",
            "Sec-Fetch-Site": "same-origin",
            **(headers or {}),
        }
        body = urllib.parse.urlencode(data)
        response = self.client.http.request("POST", path, headers=hdrs, body=body)
        return self._keep(Reply(response.status_code, dict(response.headers), response.body))

    def csrf(self) -> str:
        if self.last is None:
            return ""
        found = CSRF.search(self.last.text)
        return html.unescape(found.group(1)) if found else ""

    def sign_in(self, email: str, password: str = PASSWORD, next_path: str = "") -> Reply:
        self.get("/app/login" + (f"?next={urllib.parse.quote(next_path)}" if next_path else ""))
        fields = {"email": email, "password": password}
        if next_path:
            fields["next"] = next_path
        reply = self.post("/app/login", fields)
        assert reply.status == 303, reply.text[:500]
        return reply


def location(reply: Reply) -> str:
    return str(reply.headers.get("Location") or reply.headers.get("location") or "")


def text_of(reply: Reply) -> str:
    """The page's visible text, roughly: tags removed, entities decoded, spaces collapsed."""
    body = re.sub(r"<style.*?</style>", " ", reply.text, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())
