"""Security headers and the cross-site check shared by every server-rendered page.

Survey pages and the staff web app embed their one stylesheet in a ``<style>`` element whose
SHA-256 is the only style source the Content-Security-Policy allows: nothing else may load,
no script may run, and forms may only post back to this origin.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from functools import cache
from urllib.parse import urlsplit

from chalicelib.settings import get_settings

# Fetch Metadata values a browser sends for a form on our own page, or for a request a person
# started themselves (typed, bookmarked, opened from a mail client).
SAME_SITE = ("same-origin", "none")


@cache
def content_security_policy(css: str) -> str:
    digest = base64.b64encode(hashlib.sha256(css.encode("utf-8")).digest()).decode()
    return (
        "default-src 'none'; "
        f"style-src 'sha256-{digest}'; "
        "img-src 'self'; "
        "form-action 'self'; "
        "base-uri 'none'; "
        "frame-ancestors 'none'"
    )


def strict_headers(css: str) -> dict[str, str | list[str]]:
    """The headers of every HTML page: strict CSP (the stylesheet's hash only), no referrer,
    no sniffing, no caching, no indexing."""
    return {
        "Content-Type": "text/html; charset=utf-8",
        "Content-Security-Policy": content_security_policy(css),
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store",
        "X-Robots-Tag": "noindex, nofollow",
    }


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower() if parts.scheme and parts.netloc else ""


def cross_site(headers: Mapping[str, str]) -> bool:
    """Whether a POST came from a form on another site (``Sec-Fetch-Site`` or ``Origin``).

    A request with neither header passes (an RFC 8058 one-click POST, an old browser);
    ``Origin: null`` passes too: our pages send no referrer, so a browser without Fetch
    Metadata says ``null`` for a form posted from them. Callers that need more add a token."""
    site = (headers.get("sec-fetch-site") or "").strip().lower()
    if site and site not in SAME_SITE:
        return True
    origin = (headers.get("origin") or "").strip().lower().rstrip("/")
    if not origin or origin == "null":
        return False
    own = {_origin_of(get_settings().public_url)}
    host = (headers.get("host") or "").strip().lower()
    if host:
        own |= {f"https://{host}", f"http://{host}"}
    return origin not in own
