"""The parking map pages in headless Chromium: a layout at true scale and two versions side by
side, from layouts committed through the server, with no outside request and no script error."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from tests.browser.harness import FIND_MAP, WHEN_READY, Server, Tab, assert_clean, open_map

COMPOUND = "望江苑"


def post(server: Server, path: str, body: dict) -> Any:
    request = server.request(
        path, json.dumps(body).encode(), **{"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        assert response.status == 201
        return json.load(response)


@pytest.fixture(scope="module")
def layouts(engine: Engine, server: Server) -> Iterator[tuple[int, dict, dict]]:
    """Two versions of one compound's layout, committed and removed afterwards."""
    with engine.connect() as conn:
        compound = conn.execute(
            text("SELECT id FROM compound WHERE name = :n"), {"n": COMPOUND}
        ).scalar_one()
    try:
        path = f"/compounds/{compound}/parking-layouts"
        first = post(server, path, {})
        second = post(server, path, {"params": {"kinds": ["perpendicular"]}})
        yield compound, first, second
    finally:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM parking_layout WHERE compound_id = :c"), {"c": compound})


def test_layout_page_draws_every_stall(
    tab: Tab, server: Server, artifacts: Path, layouts: tuple[int, dict, dict]
) -> None:
    compound, first, _ = layouts
    page = open_map(tab, server, f"/maps/compounds/{compound}/parking/1", artifacts / "parking.png")
    stalls = first["totals"]["stalls"]
    overlay = page.overlay(f"车位 Stalls ({stalls})")
    assert overlay["shapes"] == stalls
    assert not any(o["name"].startswith("违规") for o in page.overlays())  # no violation
    assert_clean(tab)


def test_compare_page_shows_both_versions_in_step(
    tab: Tab, server: Server, artifacts: Path, layouts: tuple[int, dict, dict]
) -> None:
    compound, _, _ = layouts
    page = tab.page
    response = page.goto(server.url(f"/maps/compounds/{compound}/parking/compare?a=1&b=2"))
    assert response is not None and response.status == 200
    page.wait_for_selector(".leaflet-overlay-pane svg path")
    names = page.evaluate(FIND_MAP)
    assert len(names) == 2
    for name in names:
        page.evaluate(WHEN_READY, name)
    page.wait_for_timeout(1000)  # the initial fit may still be animating
    start = page.evaluate(f"window.{names[1]}.getZoom()")
    page.evaluate(f"window.{names[0]}.setZoom({start} + 1, {{animate: false}})")
    page.wait_for_timeout(500)
    zooms = [page.evaluate(f"window.{name}.getZoom()") for name in names]
    assert zooms == [start + 1, start + 1]  # the other pane follows
    page.screenshot(path=artifacts / "parking-compare.png")
    assert_clean(tab)
