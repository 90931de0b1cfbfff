"""Each SVG chart rendered by a real Chromium against the local stack, with a screenshot saved in
``test-output/charts/`` for a person to look at."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from e2e.conftest import Http, LocalStack

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

OUT = Path(__file__).resolve().parents[2] / "test-output" / "charts"
PASSWORD = "charts-password-123"


def _signup(stack: LocalStack) -> Http:
    email = f"charts-{secrets.token_hex(4)}@charts.example"
    reply = stack.http.post(
        "/signup",
        {
            "company": "Chart Makers",
            "industry": "IT Services",
            "country": "US",
            "region": "OR",
            "city": "Portland",
            "staff_size": 12,
            "admin_email": email,
            "admin_name": "Charlie Charts",
            "password": PASSWORD,
        },
    )
    assert reply.status == 201, reply.body
    return stack.http.login(email, PASSWORD)


def _data(api: Http) -> str:
    """Accounts at several levels (one with a few pulses) so the charts have something to show."""
    first = ""
    for index, level in enumerate([6, 5, 5, 4, 4, 4, 3, 3, 2, 1]):
        reply = api.post("/accounts", {"name": f"Client <{index}> & Co", "arr": 10_000_00})
        assert reply.status == 201, reply.body
        account_id = reply.json["id"]
        first = first or account_id
        assert api.post(f"/accounts/{account_id}/pulses", {"level": level}).status == 201
    for level in (3, 5):
        assert api.post(f"/accounts/{first}/pulses", {"level": level}).status == 201
    return first


def test_each_chart_renders_in_chromium(stack: LocalStack, browser: Any) -> None:
    api = _signup(stack)
    account_id = _data(api)
    assert api.token
    OUT.mkdir(parents=True, exist_ok=True)
    charts = {
        "pulse-summary": "/reports/pulse-summary.svg",
        "pulse-history": f"/accounts/{account_id}/pulse-history.svg",
        "pulse-index": f"/accounts/{account_id}/pulse-index.svg",
    }
    context = browser.new_context(
        extra_http_headers={"Authorization": f"Bearer {api.token}"},
        viewport={"width": 700, "height": 520},
    )
    try:
        page = context.new_page()
        for name, path in charts.items():
            response = page.goto(stack.base_url + path)
            assert response is not None and response.status == 200, path
            assert response.headers["content-type"].startswith("image/svg+xml")
            svg = page.locator("svg").first
            box = svg.bounding_box()
            assert box is not None and box["width"] >= 600 and box["height"] >= 150, name
            title = page.locator("svg > title").first.text_content()
            desc = page.locator("svg > desc").first.text_content()
            assert title and desc, name
            # The viewport, not full_page: Chromium never finishes a full-page capture of a bare
            # SVG document. The viewport is larger than every chart.
            page.set_viewport_size(
                {"width": int(box["width"]) + 20, "height": int(box["height"]) + 20}
            )
            page.screenshot(path=str(OUT / f"{name}.png"))
            assert (OUT / f"{name}.png").stat().st_size > 1000
        summary = page.goto(stack.base_url + charts["pulse-summary"])
        assert summary is not None
        assert "Some Risk: 2 (20%)" in page.locator("svg > desc").first.text_content()
        # Names are escaped text, never markup: "<0>" is shown, not parsed.
        page.goto(stack.base_url + charts["pulse-history"])
        assert "Client <0> & Co" in page.locator("svg > title").first.text_content()
        assert page.locator("svg path").count() >= 1
    finally:
        context.close()
