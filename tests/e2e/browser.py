"""One Chromium per test session, and the accessibility audit every page people see must pass.

Chromium is Debian's (``/usr/bin/chromium``) driven by Playwright. Without it the browser tests
skip, unless ``PULSE_REQUIRE_BROWSER=1`` (set by ``.ci/run``), when a missing browser fails.
The audit is axe-core (bundled by ``axe-playwright-python``); it is run through Playwright's
evaluate, which pages' Content-Security-Policy does not block, so the pages are audited with
their real headers.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"]
# The bar in WEB.md: no serious or critical violation on any page.
BLOCKING_IMPACTS = frozenset({"serious", "critical"})


def chromium_path() -> str:
    path = str(CHROMIUM) if CHROMIUM.exists() else shutil.which("chromium")
    if not path:
        message = f"{CHROMIUM} is missing (apt-get install chromium)"
        if os.environ.get("PULSE_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    executable = chromium_path()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """Every axe-core violation on the page as it is now (WCAG 2.x A and AA rules, best
    practices included). axe-core runs as a script, so the page's context must allow scripts."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return list(results.response["violations"])


def _scripted_copy(page: Any) -> Any:
    """The page's current DOM, served at its own URL in a context that runs scripts: axe-core
    cannot run where JavaScript is off (its promises never settle), and a page tested without
    JavaScript is audited this way, with the same viewport, styles and relative links."""
    html = page.content()
    context = page.context.browser.new_context(viewport=page.viewport_size)
    copy = context.new_page()
    copy.route(page.url, lambda route: route.fulfill(body=html, content_type="text/html"))
    copy.goto(page.url)
    return copy


def assert_accessible(page: Any, what: str = "", *, scripts_off: bool = False) -> None:
    """Fail with a readable list when axe-core finds a serious or critical violation. Pass
    ``scripts_off=True`` for a page whose context has JavaScript disabled."""
    target = _scripted_copy(page) if scripts_off else page
    try:
        violations = axe_violations(target)
    finally:
        if scripts_off:
            target.context.close()
    blocking = [v for v in violations if v.get("impact") in BLOCKING_IMPACTS]
    if blocking:
        lines = [
            f"{v['id']} ({v['impact']}): {v['help']} — "
            + "; ".join(", ".join(n["target"]) for n in v["nodes"][:5])
            for v in blocking
        ]
        raise AssertionError(f"axe-core on {what or page.url}:\n" + "\n".join(lines))


# The phone the pages are tried on (WEB.md): 375 × 812, and at most 150 KB a page.
WIDTH, HEIGHT = 375, 812
MAX_PAGE_BYTES = 150 * 1024


def phone_context(browser: Any, **options: Any) -> Any:
    """A new phone-sized touch context with JavaScript off (plain forms and full page loads);
    ``options`` go to Playwright's ``new_context`` as well."""
    return browser.new_context(
        viewport={"width": WIDTH, "height": HEIGHT},
        is_mobile=True,
        has_touch=True,
        java_script_enabled=False,
        **options,
    )


def tab_until(page: Any, test: str, what: str, limit: int = 60) -> None:
    """Press Tab until the focused element ``e`` passes the JavaScript expression ``test``."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(
            f"(() => {{ const e = document.activeElement; return !!e && ({test}); }})()"
        ):
            return
    raise AssertionError(f"keyboard focus never reached {what}")


def tab_to(page: Any, name: str, limit: int = 60) -> None:
    """Press Tab until the form control named ``name`` has the focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.name") == name:
            return
    raise AssertionError(f"keyboard focus never reached {name!r}")


def assert_phone_page(
    page: Any, what: str, weights: dict[str, int], *, weighed: bool = True
) -> None:
    """The page as it is now passes axe-core, has no sideways scrolling at phone width, one
    <h1>, and weighs at most MAX_PAGE_BYTES in ``weights`` (by path; with ``weighed`` it must
    have been weighed)."""
    assert_accessible(page, what, scripts_off=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= WIDTH, f"{what}: {width}px wide at {WIDTH}px: sideways scrolling"
    path = urlsplit(page.url).path
    weight = weights.get(path)
    if weighed:
        assert weight, (what, "not weighed")
    assert (weight or 0) <= MAX_PAGE_BYTES, (what, weight)
    assert page.locator("h1").count() == 1, what
