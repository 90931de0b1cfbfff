"""Links back into Pulse found in a staff mail, and the staff web pages they may point at."""

from __future__ import annotations

import re

from chalicelib.settings import get_settings

# The staff web app's pages a mail may link to (its URL contract).
STAFF_PAGES = (
    r"/app/accounts",
    r"/app/accounts/[^/\s\"<>]+",
    r"/app/heartbeats/[^/\s\"<>]+",
    r"/app/reviews/[^/\s\"<>]+/analytics",
)


def pulse_links(part: str) -> list[str]:
    """Every URL on the deployment's own host in a mail part, as a path."""
    base = get_settings().public_url.rstrip("/")
    return [m[len(base) :] for m in re.findall(re.escape(base) + r"[^\s\"<>]*", part)]


def assert_staff_page_links(part: str, *expected: str) -> None:
    links = pulse_links(part)
    assert links, "no link back into Pulse"
    for link in links:
        assert any(re.fullmatch(p, link) for p in STAFF_PAGES), link
    for path in expected:
        assert path in links, (path, links)
