"""The city map of the demo district in headless Chromium (issue 5): it loads from Gridline
alone without errors, draws the district's 21 grids from ``grids.geojson`` on a canvas (no
per-grid DOM), and shows a grid's tooltip, as text, on hover."""

from __future__ import annotations

from pathlib import Path

from geoalchemy2.shape import to_shape
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from geo import models as m
from tests.browser.harness import Server, Tab, assert_clean, open_map

DISTRICT = "330303"
STREET = "330303003"
DEMO = "330303003001"
GRID_CODES = [f"{i:02d}" for i in range(1, 22)]

CANVAS_GRIDS = """(name) => {
    // The grids drawn by the city map's GeoJSON layer: on the map, on a canvas renderer.
    const map = window[name];
    const found = [];
    map.eachLayer((layer) => {
        if (!(layer instanceof L.GeoJSON) || !layer.gridlineCityGrids) return;
        layer.eachLayer((grid) => {
            if (grid._map === map && grid.options.renderer instanceof L.Canvas) {
                found.push(grid.feature.properties.code);
            }
        });
    });
    return found;
}"""


def test_district_map(tab: Tab, server: Server, artifacts: Path, engine: Engine, demo) -> None:
    page = open_map(tab, server, f"/maps/districts/{DISTRICT}", artifacts / "city-district.png")
    drawn = page.page.evaluate("() => window.gridlineGrids")
    assert drawn == len(GRID_CODES)
    assert sorted(page.page.evaluate(CANVAS_GRIDS, page.name)) == GRID_CODES
    # no per-grid DOM: one canvas, no grid paths or labels
    assert page.page.locator(".leaflet-pane canvas").count() >= 1
    assert page.page.locator(".gridline-label").count() == 0
    names = [o["name"] for o in page.overlays()]
    assert names == ["网格 Grids (21)", "社区 Communities (1)", f"龙湾区 {DISTRICT}"]
    assert page.overlay("社区 Communities (1)")["features"] == 1  # the inlined outline (SVG)

    # hovering a grid shows its tooltip, built from text
    with Session(engine) as session:
        grid = session.execute(
            select(m.Grid.name, m.Grid.geom)
            .join(m.Community, m.Grid.community_id == m.Community.id)
            .where(m.Community.code == DEMO, m.Grid.code == "05", m.Grid.valid_to.is_(None))
        ).one()
    point = to_shape(grid.geom).representative_point()
    x, y = page.pixel(point.x, point.y)
    page.page.mouse.move(x - 3, y - 3)
    page.page.mouse.move(x, y, steps=3)  # the canvas finds the grid under a moving mouse
    tooltip = page.page.locator(".gridline-city-tooltip")
    tooltip.wait_for(timeout=5_000)
    text = tooltip.inner_text()
    assert grid.name in text and "05" in text and f"蒲江社区 ({DEMO})" in text
    page.page.screenshot(path=artifacts / "city-district-tooltip.png")
    assert_clean(tab)


def test_street_map(tab: Tab, server: Server, artifacts: Path) -> None:
    page = open_map(tab, server, f"/maps/streets/{STREET}", artifacts / "city-street.png")
    assert page.page.evaluate("() => window.gridlineGrids") == len(GRID_CODES)
    assert sorted(page.page.evaluate(CANVAS_GRIDS, page.name)) == GRID_CODES
    assert_clean(tab)
