"""The community map over the Gaode basemap (GCJ-02), opened in headless Chromium.

The API is served by a server of this module's own, configured with ``GRIDLINE_BASEMAPS=gaode``.
Stored data is WGS84; a known WGS84 point (a vertex of a demo grid) must be drawn at its GCJ-02
position, some hundred metres from where its WGS84 coordinates would put it, and locate-me must
show a phone's (WGS84) position at its GCJ-02 position too.

The network is cut off as in the rest of the suite, so the Gaode tiles cannot load: their
requests are aborted, and only they are tolerated (``assert_clean_but_tiles``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from geo.crs import wgs84_to_gcj02
from maps.basemaps import GAODE_URL
from tests.browser.conftest import serve_api
from tests.browser.harness import (
    GRID_PATH,
    PIXEL_TOLERANCE,
    MapPage,
    Server,
    Tab,
    api,
    assert_clean,
    centre,
    open_map,
)

DEMO = "330303003001"
PAGE = f"/maps/communities/{DEMO}"
GRID = "01"
GAODE_TILE_HOST = re.compile(r"^webrd0[1-4]\.is\.autonavi\.com$")
"""Gaode's tile servers (``GAODE_URL``): unreachable here, their requests are expected."""
MIN_SHIFT_PX = 50.0
"""At the demo's zoom the GCJ-02 offset (about 500 m here) is hundreds of pixels."""

FIRST_VERTEX = (
    """([name, code]) => {
    // The page position of the first vertex of the drawn path of grid `code`.
"""
    + GRID_PATH
    + """    const m = /^M\\s*(-?[0-9.]+)[ ,](-?[0-9.]+)/.exec(path.getAttribute("d"));
    const p = new DOMPoint(Number(m[1]), Number(m[2])).matrixTransform(path.getScreenCTM());
    return [p.x + window.scrollX, p.y + window.scrollY];
}"""
)


@pytest.fixture(scope="module")
def gaode_server(database_url: str, demo, artifacts: Path) -> Iterator[Server]:
    """The API as the suite's ``server``, with the Gaode basemap."""
    with serve_api(
        database_url, artifacts / "server-gaode.log", GRIDLINE_BASEMAPS="gaode"
    ) as served:
        yield served


def is_tile(url: str) -> bool:
    return bool(GAODE_TILE_HOST.match(urlsplit(url).hostname or ""))


def assert_clean_but_tiles(tab: Tab) -> None:
    """``assert_clean``, except for the Gaode tile requests the blocked network aborts (and
    the console errors Chromium logs for those failed images)."""
    tiles = [url for url in tab.blocked if is_tile(url)]
    assert tiles, "the page asked for no Gaode tile: is the basemap configured?"
    tab.blocked[:] = [url for url in tab.blocked if not is_tile(url)]
    tab.console_errors[:] = [e for e in tab.console_errors if not any(tile in e for tile in tiles)]
    assert_clean(tab)


def distance(a: tuple[float, float], b: tuple[float, float]) -> float:
    return math.hypot(a[0] - b[0], a[1] - b[1])


def open_gaode(tab: Tab, server: Server, artifacts: Path, name: str) -> MapPage:
    page = open_map(tab, server, PAGE, artifacts / name)
    layers = page.page.locator(".leaflet-control-layers-base label").all_inner_texts()
    assert [label.strip() for label in layers] == ["高德地图 Gaode"]
    return page


def test_grid_vertex_is_drawn_at_its_gcj02_position(
    tab: Tab, gaode_server: Server, artifacts: Path
) -> None:
    assert urlsplit(GAODE_URL).hostname is not None
    assert is_tile(GAODE_URL.format(s=1, x=0, y=0, z=0))
    grids = api(gaode_server, f"/grids?community={DEMO}&limit=100")["features"]
    (grid,) = [g for g in grids if g["properties"]["code"] == GRID]
    lon, lat = grid["geometry"]["coordinates"][0][0]  # WGS84, as stored
    gcj_lon, gcj_lat = wgs84_to_gcj02(lon, lat)

    page = open_gaode(tab, gaode_server, artifacts, "community-gaode.png")
    drawn = tuple(page.page.evaluate(FIRST_VERTEX, [page.name, GRID]))
    at_gcj02 = page.pixel(gcj_lon, gcj_lat)
    at_wgs84 = page.pixel(lon, lat)
    assert distance(drawn, at_gcj02) <= PIXEL_TOLERANCE, (drawn, at_gcj02)
    assert distance(drawn, at_wgs84) > MIN_SHIFT_PX, (drawn, at_wgs84)
    assert_clean_but_tiles(tab)


def test_locate_me_shows_the_phone_at_its_gcj02_position(
    tab: Tab, gaode_server: Server, artifacts: Path
) -> None:
    lon, lat = 120.72375, 27.96815  # in the demo community; a phone reports WGS84
    gcj_lon, gcj_lat = wgs84_to_gcj02(lon, lat)
    context = tab.page.context
    context.grant_permissions(["geolocation"])
    context.set_geolocation({"longitude": lon, "latitude": lat, "accuracy": 10})

    page = open_gaode(tab, gaode_server, artifacts, "community-gaode-locate.png")
    page.page.locator(".leaflet-control-locate a").click()
    marker = page.page.locator(".leaflet-marker-pane .leaflet-control-locate-location")
    marker.wait_for()
    page.page.wait_for_function(f"() => !window['{page.name}']._animatingZoom")
    page.page.evaluate("() => new Promise((r) => setTimeout(r, 500))")  # the view settles
    page.page.screenshot(path=artifacts / "community-gaode-located.png")
    shown = centre(marker.bounding_box())
    assert distance(shown, page.pixel(gcj_lon, gcj_lat)) <= PIXEL_TOLERANCE
    assert distance(shown, page.pixel(lon, lat)) > MIN_SHIFT_PX
    assert_clean_but_tiles(tab)
