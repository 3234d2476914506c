"""Every map page of the demo, opened in headless Chromium with the network cut off.

Each page must load its scripts from Gridline alone, raise no error, offer the expected layers,
draw the expected features, and put a known hazard's marker on the right pixel inside its
grid. A screenshot of each page is saved in ``tests/browser/artifacts/``.
"""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from geoalchemy2.shape import to_shape
from shapely.geometry import Polygon
from sqlalchemy import Engine, select, text

from geo import db, planning
from geo import models as m
from geo.hazards import records
from tests.browser.harness import MapPage, Server, Tab, api, assert_clean, centre, close, open_map

DEMO = "330303003001"
COMMUNITY_NAME = "蒲江社区"
PAGES = {
    "community": f"/maps/communities/{DEMO}",
    "assignments": f"/maps/communities/{DEMO}/assignments",
    "hazards": f"/maps/communities/{DEMO}/hazards",
}
GRID_CODES = [f"{i:02d}" for i in range(1, 22)]
DISPATCHED_FILL = "#ff7f00"
"""Marker fill of a dispatched hazard (routed to the A worker of its grid)."""
SITE_KIND_TITLES = {
    "green_area": "绿地 Green areas",
    "keep_clear": "禁止占用区 Keep-clear zones",
    "tree": "树木 Trees",
    "shop": "商铺 Shops",
    "hydrant": "消防栓 Hydrants",
    "gate": "出入口 Gates",
}


# --- committed data the server can see ----------------------------------------------------


@dataclass(frozen=True)
class KnownHazard:
    id: int
    grid: str
    category: str
    category_zh: str
    lon: float
    lat: float


KNOWN = (
    ("20", "blocked_fire_lane", "消防通道堵塞", "high", "消防通道停车 fire lane parked on"),
    ("05", "sanitation", "环境卫生", "low", "垃圾未清运 rubbish not collected"),
)
"""(grid code, category, its Chinese name, severity, description) of the hazards reported."""


def _point_inside(grid: Polygon) -> tuple[float, float]:
    """A point well inside ``grid`` (about 30 m from its edge), away from its label point."""
    inner = grid.buffer(-0.0003)
    point = inner.exterior.interpolate(0.3, normalized=True)
    assert grid.contains(point)
    return point.x, point.y


@pytest.fixture(scope="module")
def hazards(engine: Engine, demo) -> Iterator[dict[str, KnownHazard]]:
    """A/B roles from the planner and two reported (hence dispatched) hazards, committed for the
    server and removed afterwards; by grid code."""
    with engine.connect() as conn:
        assignments_before = conn.execute(text("SELECT coalesce(max(id), 0) FROM assignment"))
        last_assignment = assignments_before.scalar_one()
    known: dict[str, KnownHazard] = {}
    try:
        with db.transaction(engine) as s:
            planning.apply_plan(s, DEMO, planning.plan_community(s, DEMO).roles)
            for code, category, category_zh, severity, description in KNOWN:
                geom = s.scalars(
                    select(m.Grid.geom)
                    .join(m.Community)
                    .where(m.Community.code == DEMO, m.Grid.code == code, m.Grid.valid_to.is_(None))
                ).one()
                lon, lat = _point_inside(to_shape(geom))
                hazard, _ = records.report(
                    s,
                    records.Report(
                        category=category,
                        severity=severity,
                        description=description,
                        lon=lon,
                        lat=lat,
                        origin="patrol",
                        reporter="章微琳",
                    ),
                )
                assert hazard.state == m.HazardState.DISPATCHED
                known[code] = KnownHazard(hazard.id, code, category, category_zh, lon, lat)
        yield known
    finally:
        ids = [h.id for h in known.values()]
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE hazard_event DISABLE TRIGGER hazard_event_is_history"))
            conn.execute(text("DELETE FROM hazard_event WHERE hazard_id = ANY(:ids)"), {"ids": ids})
            conn.execute(text("ALTER TABLE hazard_event ENABLE TRIGGER hazard_event_is_history"))
            conn.execute(text("DELETE FROM hazard WHERE id = ANY(:ids)"), {"ids": ids})
            conn.execute(text("DELETE FROM assignment WHERE id > :id"), {"id": last_assignment})


def matched(server: Server, layer: str) -> int:
    return int(api(server, f"/{layer}?community={DEMO}&limit=1")["numberMatched"])


# --- the pages ------------------------------------------------------------------------------


def test_community_map(
    tab: Tab, server: Server, artifacts: Path, hazards: dict[str, KnownHazard]
) -> None:
    page = open_map(tab, server, PAGES["community"], artifacts / "community.png")
    overlays = page.overlays()
    site_kinds = Counter(
        f["properties"]["kind"]
        for f in api(server, f"/site-features?community={DEMO}&limit=1000")["features"]
    )
    assert [o["name"] for o in overlays] == [
        "网格 Grids",
        COMMUNITY_NAME,
        "小区 Compounds",
        "楼栋 Buildings",
        "道路 Roads",
        *(title for kind, title in SITE_KIND_TITLES.items() if site_kinds[kind]),
    ]
    assert all(o["checked"] and o["on_map"] for o in overlays)
    drawn = {o["name"]: o["features"] for o in overlays}
    assert drawn == {
        "网格 Grids": matched(server, "grids"),
        COMMUNITY_NAME: 1,
        "小区 Compounds": matched(server, "compounds"),
        "楼栋 Buildings": matched(server, "buildings"),
        "道路 Roads": matched(server, "roads"),
        **{SITE_KIND_TITLES[kind]: n for kind, n in site_kinds.items()},
    }
    assert drawn["网格 Grids"] == 21
    grids = page.overlay("网格 Grids")
    assert (grids["shapes"], grids["markers"]) == (21, 21)  # one path and one label per grid
    page.assert_labels_inside_their_grids(GRID_CODES)
    west, south, east, north = _community_bounds(server)
    assert page.shows(west, south, east, north)
    assert_clean(tab)


def _community_bounds(server: Server) -> tuple[float, float, float, float]:
    """(west, south, east, north) of the demo community, from the API."""
    features = api(server, "/communities?limit=1000")["features"]
    (feature,) = [f for f in features if f["properties"]["code"] == DEMO]
    geometry = feature["geometry"]
    polygons = (
        [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
    )
    lons = [p[0] for polygon in polygons for p in polygon[0]]
    lats = [p[1] for polygon in polygons for p in polygon[0]]
    return min(lons), min(lats), max(lons), max(lats)


def test_assignment_map(
    tab: Tab, server: Server, artifacts: Path, hazards: dict[str, KnownHazard]
) -> None:
    page = open_map(tab, server, PAGES["assignments"], artifacts / "assignments.png")
    overlays = page.overlays()
    assert [o["name"] for o in overlays] == [
        "A 角 Primary (A)",
        COMMUNITY_NAME,
        "AB 搭档 A/B pairs",
    ]
    assert all(o["checked"] and o["on_map"] for o in overlays)
    roles = api(server, f"/assignments?community={DEMO}")
    a_worker = {r["grid"]: r["worker"] for r in roles if r["role"] == "A"}
    b_roles = [r for r in roles if r["role"] == "B"]
    assert sorted(a_worker) == GRID_CODES
    primary, outline, pairs = overlays
    assert (primary["features"], primary["markers"]) == (21, 21)  # grid and label
    assert outline["features"] == 1
    assert (pairs["features"], pairs["markers"]) == (len(b_roles), len(b_roles))  # line, arrow
    assert len(b_roles) == 21
    labels = page.assert_labels_inside_their_grids(GRID_CODES)
    assert {code: rest for code, rest in labels.items()} == {
        code: [name] for code, name in a_worker.items()
    }
    unassigned = page.page.locator('.leaflet-overlay-pane path[fill^="url("]')
    assert unassigned.count() == 0  # the hatch of a grid without A worker
    assert_clean(tab)


def hazard_marker_at(page: MapPage, hazard: KnownHazard) -> int:
    """The index among ``.gridline-hazard`` markers of the one drawn where ``hazard`` is."""
    expected = page.pixel(hazard.lon, hazard.lat)
    markers = page.page.locator(".leaflet-marker-pane .gridline-hazard")
    centres = [centre(markers.nth(i).bounding_box()) for i in range(markers.count())]
    found = [i for i, c in enumerate(centres) if close(c, expected)]
    assert len(found) == 1, f"hazard {hazard.id} at {expected}: markers at {centres}"
    return found[0]


def test_hazard_map(
    tab: Tab, server: Server, artifacts: Path, hazards: dict[str, KnownHazard]
) -> None:
    page = open_map(tab, server, PAGES["hazards"], artifacts / "hazards.png")
    overlays = page.overlays()
    fire, rubbish = hazards["20"], hazards["05"]
    assert [o["name"] for o in overlays] == [
        "网格 Grids",
        COMMUNITY_NAME,
        f"{fire.category_zh} {fire.category} (1)",
        f"{rubbish.category_zh} {rubbish.category} (1)",
        "热力图 Heat map",
    ]
    grids, outline, fire_layer, rubbish_layer, heat = overlays
    assert all(o["checked"] and o["on_map"] for o in overlays[:4])
    assert not heat["checked"] and not heat["on_map"]  # hidden until switched on
    assert (grids["features"], grids["markers"], outline["features"]) == (21, 21, 1)
    assert fire_layer["markers"] == rubbish_layer["markers"] == 1
    page.assert_labels_inside_their_grids(GRID_CODES)

    markers = page.page.locator(".leaflet-marker-pane .gridline-hazard")
    assert markers.count() == 2
    for hazard in (fire, rubbish):
        marker = markers.nth(hazard_marker_at(page, hazard))
        point = centre(marker.bounding_box())
        other = rubbish if hazard is fire else fire
        assert page.inside_grid(hazard.grid, [point]) == [True]
        assert page.inside_grid(other.grid, [point]) == [False]
        fill = marker.locator("svg polygon").get_attribute("fill")
        assert fill == DISPATCHED_FILL  # routed to the grid's A worker
        marker.hover()
        tooltip = page.page.locator(".leaflet-tooltip-pane .leaflet-tooltip")
        tooltip.wait_for()
        assert f"#{hazard.id}" in tooltip.inner_text()
        assert hazard.category_zh in tooltip.inner_text()
        page.page.mouse.move(0, 0)
        tooltip.wait_for(state="detached")

    page.page.get_by_label("热力图 Heat map").check()
    page.page.wait_for_selector("canvas.leaflet-heatmap-layer")
    assert page.overlay("热力图 Heat map")["on_map"]
    page.page.screenshot(path=artifacts / "hazards-heat.png")
    assert_clean(tab)


def test_maps_index(
    tab: Tab, server: Server, artifacts: Path, hazards: dict[str, KnownHazard]
) -> None:
    """The index of map pages, once there is one: it loads cleanly and every map it links to
    opens as a Leaflet map without errors."""
    try:
        urllib.request.urlopen(server.request("/maps"), timeout=10).close()
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            pytest.skip("no /maps index page yet")
        raise
    response = tab.page.goto(server.url("/maps"), wait_until="load")
    assert response is not None and response.status == 200
    tab.page.screenshot(path=artifacts / "index.png", full_page=True)
    hrefs = tab.page.eval_on_selector_all(
        "a[href]", "(links) => links.map((a) => new URL(a.href).pathname + new URL(a.href).search)"
    )
    maps = sorted({h for h in hrefs if h.startswith("/maps/")})
    assert set(PAGES.values()) <= set(maps), maps
    assert_clean(tab)
    for path in maps:
        if path not in PAGES.values():  # those are checked in detail above
            open_map(tab, server, path, artifacts / f"{_slug(path)}.png")
            assert_clean(tab)


def _slug(path: str) -> str:
    return re.sub(r"[^0-9A-Za-z]+", "-", path).strip("-")
