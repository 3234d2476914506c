"""The standard controls of every map page (fullscreen, locate-me, measure): on every page type,
their files listed and served by Gridline, inlined in CLI files, and locate-me moved to GCJ-02
over a GCJ-02 basemap."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urljoin

import pytest
from fastapi.testclient import TestClient

from api.deps import settings
from geo.crs import wgs84_to_gcj02
from geo.db import get_settings
from maps import assets
from maps.assets import AssetMode
from maps.base import base_map, finish_map, to_html
from maps.basemaps import gaode, osm
from tests.test_map_assets import CSS_URL, DEMO, PAGES, is_local, references

CONTROLS = {
    # control -> (what creates it in the page's script, its script and stylesheet)
    "fullscreen": ("L.control.fullscreen(", assets.FULLSCREEN_JS, assets.FULLSCREEN_CSS),
    "locate": ("L.control.locate(", assets.LOCATE_JS, assets.LOCATE_CSS),
    "measure": ("new L.Control.Measure(", assets.MEASURE_JS, assets.MEASURE_CSS),
}
BOUNDS = (120.71, 27.96, 120.73, 27.98)
GCJ_LISTENER = re.compile(r"\(function \(map\) \{.*?\}\)\((map_[0-9a-f]+)\);", re.DOTALL)


@pytest.fixture(autouse=True)
def installed() -> None:
    assert not assets.missing_assets(), "the map assets are not installed: run scripts/web-assets"


@pytest.fixture
def pages(client: TestClient) -> dict[str, str]:
    return {page: client.get(page).text for page in PAGES}


def test_every_page_type_has_the_controls(pages: dict[str, str]) -> None:
    for page, html in pages.items():
        urls = references(html)
        for control, (call, js, css) in CONTROLS.items():
            assert html.count(call) == 1, (page, control)
            assert js.url in urls and css.url in urls, (page, control)
        assert "L.control.scale(" in html, page
        assert [u for u in urls if not is_local(u)] == [], page
        assert "LocateInGcj02" not in html and "gridlineWgs84ToGcj02" not in html  # WGS84 map


def test_control_files_and_their_images_are_served(
    client: TestClient, pages: dict[str, str]
) -> None:
    kinds = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}
    kinds[".svg"] = "image/svg+xml"
    served: set[str] = set()
    for _, js, css in CONTROLS.values():
        for asset in (js, css):
            response = client.get(asset.url)
            assert response.status_code == 200, asset.url
            assert response.headers["content-type"].startswith(kinds[Path(asset.path).suffix])
            served.add(asset.url)
        for ref in CSS_URL.findall(client.get(css.url).text):
            assert is_local(ref), (css.url, ref)
            url = urljoin(css.url, ref)
            response = client.get(url)
            assert response.status_code == 200, url
            assert response.headers["content-type"].startswith(kinds[Path(url).suffix]), url
            served.add(url)
    assert "/assets/leaflet.fullscreen/icon-fullscreen.svg" in served
    assert "/assets/leaflet-measure/dist/images/rulers_@2X.png" in served
    assert {a.url for a in assets.MEASURE_IMAGES} <= served


def test_cli_files_inline_the_controls(gridline, tmp_path: Path) -> None:
    for kind in ("community", "assignments", "hazards"):
        out = tmp_path / f"{kind}.html"
        code, _, err = gridline("map", kind, DEMO, "-o", out)
        assert code == 0, err
        html = out.read_text(encoding="utf-8")
        for control, (call, js, css) in CONTROLS.items():
            assert call in html, (kind, control)
            assert f"/* {js.path} */" in html and f"/* {css.path} */" in html, (kind, control)
        assert [u for u in references(html) if not u.startswith(("data:", "#"))] == [], kind
        assert 'url("data:image/svg+xml;base64,' in html  # the fullscreen button's icon
        assert 'url("data:image/png;base64,' in html  # the measure control's images


def test_locate_icon_needs_no_icon_font() -> None:
    m = finish_map(base_map(BOUNDS))
    html = to_html(m, assets=AssetMode.SERVED)
    options = json.loads(re.search(r"L\.control\.locate\(\s*(\{.*?\})\s*\)", html, re.S)[1])
    assert options["icon"] == "gridline-locate"
    assert "fa " not in options["iconLoading"]
    assert ".leaflet-control-locate .gridline-locate {" in html  # drawn by Gridline's CSS
    assert not any(name in html for name in ("font-awesome", "fontawesome"))


def test_gcj02_pages_move_the_located_position(client: TestClient) -> None:
    on = get_settings().model_copy(update={"basemaps": ["gaode"]})
    client.app.dependency_overrides[settings] = lambda: on  # type: ignore[attr-defined]
    for page in PAGES:
        html = client.get(page).text
        assert html.count("gridlineWgs84ToGcj02") == 2, page  # defined once, used once
        # registered before the control, so that the control sees the converted position
        assert html.index('on("locationfound"') < html.index("L.control.locate("), page
    m = finish_map(base_map(BOUNDS, basemaps=[osm()]))
    assert "gridlineWgs84ToGcj02" not in to_html(m, assets=AssetMode.SERVED)


NODE_CHECK = """
const L = { latLng: (lat, lng) => ({ lat, lng, toBounds: (size) => ({ size }) }) };
const handlers = [];
const map = { on: (type, handler) => handlers.push([type, handler]) };
%(script)s
const points = %(points)s;
const direct = points.map(([lon, lat]) => {
    const p = map.gridlineWgs84ToGcj02({ lat, lng: lon });
    return [p.lng, p.lat];
});
const [[type, handler]] = handlers;
const event = { latlng: L.latLng(points[0][1], points[0][0]), accuracy: 15 };
handler(event);
console.log(JSON.stringify({ direct, type, event }));
"""


def test_the_page_converts_like_geo_crs() -> None:
    """The page's JavaScript WGS84 -> GCJ-02 (run by Node.js) agrees with geo.crs."""
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        pytest.skip("Node.js is not installed")
    m = finish_map(base_map(BOUNDS, basemaps=[gaode()]))
    html = to_html(m, assets=AssetMode.SERVED)
    match = GCJ_LISTENER.search(html)
    assert match is not None and match[1] == m.get_name()
    points = [(120.72375, 27.96815), (116.397, 39.909), (-0.1276, 51.5072), (113.0, 23.0)]
    script = NODE_CHECK % {
        "script": match[0].replace(match[1], "map"),
        "points": json.dumps(points),
    }
    run = subprocess.run([node, "-e", script], capture_output=True, text=True, check=True)
    result = json.loads(run.stdout)
    for (lon, lat), (js_lon, js_lat) in zip(points, result["direct"], strict=True):
        py_lon, py_lat = wgs84_to_gcj02(lon, lat)
        assert js_lon == pytest.approx(py_lon, abs=1e-12) and js_lat == pytest.approx(
            py_lat, abs=1e-12
        )
    assert result["direct"][2] == [-0.1276, 51.5072]  # outside China: unchanged
    assert result["type"] == "locationfound"
    event = result["event"]
    gcj_lon, gcj_lat = wgs84_to_gcj02(*points[0])
    assert (event["latlng"]["lng"], event["latlng"]["lat"]) == pytest.approx((gcj_lon, gcj_lat))
    assert (event["wgs84"]["lng"], event["wgs84"]["lat"]) == points[0]
    assert event["bounds"] == {"size": 30}
    assert abs(gcj_lon - points[0][0]) > 0.003  # a few hundred metres: the move matters
