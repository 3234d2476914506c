"""Basemaps (GRIDLINE_BASEMAPS), overlays drawn in GCJ-02 over GCJ-02 basemaps, the map index."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator

import numpy as np
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from shapely.geometry import shape

from geo import db
from geo.crs import wgs84_to_gcj02
from maps import basemaps as bm
from maps.base import to_html
from maps.community import community_map

CODE = "330303003001"
PAGES = {
    "community": f"/maps/communities/{CODE}",
    "assignments": f"/maps/communities/{CODE}/assignments",
    "hazards": f"/maps/communities/{CODE}/hazards",
}
KEY = "0123456789abcdef0123456789abcdef"
TILE_URL = "http://tiles.intranet.example/{z}/{x}/{y}.png"
ENV = (
    "GRIDLINE_BASEMAPS",
    "GRIDLINE_TIANDITU_KEY",
    "GRIDLINE_TILE_URL",
    "GRIDLINE_TILE_ATTRIBUTION",
    "GRIDLINE_TILE_CRS",
)
JS_STRING = r'"(?:[^"\\]|\\.)*"'
NUMBER = r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?"
TOL = 1e-9

Configure = Callable[..., None]


@pytest.fixture
def configure(monkeypatch: pytest.MonkeyPatch) -> Iterator[Configure]:
    """Set the basemap settings (``tile_url="..."`` -> GRIDLINE_TILE_URL) for the next request."""
    for name in ENV:
        monkeypatch.delenv(name, raising=False)

    def set_env(**settings: str) -> None:
        for key, value in settings.items():
            monkeypatch.setenv(f"GRIDLINE_{key.upper()}", value)
        db.get_settings.cache_clear()

    db.get_settings.cache_clear()
    yield set_env
    monkeypatch.undo()
    db.get_settings.cache_clear()


def page(client: TestClient, name: str = "community") -> str:
    response = client.get(PAGES[name])
    assert response.status_code == 200, response.text
    return response.text


def base_layer_names(html: str) -> list[str]:
    block = re.search(r"base_layers\s*:\s*\{(.*?)\}", html, re.S)
    assert block, "no layer control"
    return [json.loads(k) for k in re.findall(rf"^\s*({JS_STRING})\s*:", block[1], re.M)]


def tile_urls(html: str) -> list[str]:
    return [json.loads(u) for u in re.findall(rf"L\.tileLayer\(\s*({JS_STRING})", html)]


def attributions(html: str) -> list[str]:
    return [json.loads(a) for a in re.findall(rf'"attribution":\s*({JS_STRING})', html)]


def lonlat_pairs(html: str) -> list[tuple[float, float]]:
    """Every ``[x, y]`` number pair in the page (GeoJSON positions are [lon, lat])."""
    return [(float(x), float(y)) for x, y in re.findall(rf"\[({NUMBER}), ({NUMBER})\]", html)]


def marker_lonlats(html: str) -> list[tuple[float, float]]:
    """The (lon, lat) of every ``L.marker([lat, lon])`` in the page."""
    found = re.findall(rf"L\.marker\(\s*\[({NUMBER}), ({NUMBER})\]", html)
    return [(float(lon), float(lat)) for lat, lon in found]


def near(pairs: list[tuple[float, float]], lon: float, lat: float) -> bool:
    return any(abs(x - lon) < TOL and abs(y - lat) < TOL for x, y in pairs)


def grid_vertex(client: TestClient) -> tuple[float, float]:
    grids = client.get("/grids", params={"community": CODE, "limit": 1}).json()["features"]
    lon, lat = grids[0]["geometry"]["coordinates"][0][0][:2]
    return lon, lat


def report_hazard(client: TestClient) -> tuple[int, float, float]:
    grids = client.get("/grids", params={"community": CODE, "limit": 1}).json()["features"]
    point = shape(grids[0]["geometry"]).representative_point()
    body = {
        "category": "blocked_corridor",
        "severity": "high",
        "description": "楼道堆放杂物",
        "lon": point.x,
        "lat": point.y,
        "origin": "patrol",
        "reporter": "章微琳",
    }
    response = client.post("/hazards", json=body)
    assert response.status_code == 201, response.text
    lon, lat = response.json()["geometry"]["coordinates"][:2]
    return response.json()["id"], lon, lat


# --- settings ------------------------------------------------------------------------------


def test_default_is_no_basemap(client: TestClient, configure: Configure) -> None:
    assert db.get_settings().basemaps == ["none"]
    for name in PAGES:
        html = page(client, name)
        assert "L.tileLayer" not in html
        assert base_layer_names(html) == []


def test_basemaps_setting_forms(configure: Configure) -> None:
    configure(basemaps="osm, None", tianditu_key=KEY)
    assert db.get_settings().basemaps == ["osm", "none"]
    configure(basemaps='["tianditu", "osm"]')
    assert db.get_settings().basemaps == ["tianditu", "osm"]
    with pytest.raises(ValidationError, match="bing"):
        db.Settings(basemaps="osm,bing")
    with pytest.raises(ValidationError, match="twice"):
        db.Settings(basemaps="osm,osm")


def test_tile_url_alone_still_means_custom(configure: Configure) -> None:
    configure(tile_url=TILE_URL)
    assert db.get_settings().basemaps == ["custom"]
    configure(basemaps="none")
    assert db.get_settings().basemaps == ["none"]


def test_tianditu_without_key_is_a_clear_error(configure: Configure) -> None:
    configure(basemaps="tianditu")
    with pytest.raises(ValidationError, match="GRIDLINE_TIANDITU_KEY"):
        db.get_settings()
    with pytest.raises(ValidationError, match="needs a key"):
        db.Settings(basemaps="osm,tianditu", tianditu_key="  ")
    with pytest.raises(ValueError, match="GRIDLINE_TIANDITU_KEY"):
        bm.tianditu(None)


def test_custom_without_tile_url_is_an_error() -> None:
    with pytest.raises(ValidationError, match="GRIDLINE_TILE_URL"):
        db.Settings(basemaps="custom")
    with pytest.raises(ValueError, match="GRIDLINE_TILE_URL"):
        bm.custom(None)


def test_mixing_gcj02_and_wgs84_basemaps_is_refused() -> None:
    with pytest.raises(ValidationError, match="mixes GCJ-02 and WGS84"):
        db.Settings(basemaps="gaode,osm")
    with pytest.raises(ValidationError, match="mixes GCJ-02 and WGS84"):
        db.Settings(
            basemaps="custom,tianditu", tile_url=TILE_URL, tile_crs="gcj02", tianditu_key=KEY
        )
    assert db.Settings(basemaps="gaode,custom,none", tile_url=TILE_URL, tile_crs="gcj02")
    with pytest.raises(ValueError, match="cannot be mixed"):
        bm.overlay_crs([bm.osm(), bm.gaode()])
    assert bm.overlay_crs([bm.NONE, bm.gaode()]) == bm.GCJ02
    assert bm.overlay_crs([bm.NONE]) == bm.WGS84


# --- tile layers -----------------------------------------------------------------------------


TIANDITU_PARTS = ("tianditu.gov.cn", "TILEMATRIXSET=w", "TILEMATRIX={z}", "TILEROW={y}")


@pytest.mark.parametrize(
    ("settings", "title", "urls", "credits"),
    [
        ({"basemaps": "osm"}, "OpenStreetMap", [bm.OSM_URL], [bm.OSM_ATTRIBUTION]),
        ({"basemaps": "gaode"}, "高德地图 Gaode", [bm.GAODE_URL], [bm.GAODE_ATTRIBUTION]),
        (
            {"basemaps": "custom", "tile_url": TILE_URL, "tile_attribution": "© 市大数据局"},
            "自定义底图 Custom basemap",
            [TILE_URL],
            ["© 市大数据局"],
        ),
    ],
)
def test_each_basemap_gives_its_tiles_and_attribution(
    client: TestClient,
    configure: Configure,
    settings: dict[str, str],
    title: str,
    urls: list[str],
    credits: list[str],
) -> None:
    configure(**settings)
    for name in PAGES:
        html = page(client, name)
        assert base_layer_names(html) == [title]
        assert tile_urls(html) == urls
        assert attributions(html) == credits


def test_tianditu_vector_and_annotation_layers(client: TestClient, configure: Configure) -> None:
    configure(basemaps="tianditu", tianditu_key=KEY)
    html = page(client)
    assert base_layer_names(html) == ["天地图 Tianditu"]
    vec, cva = tile_urls(html)
    for url, layer in ((vec, "vec"), (cva, "cva")):
        assert f"/{layer}_w/wmts?" in url and f"LAYER={layer}&" in url
        assert all(part in url for part in TIANDITU_PARTS) and url.endswith(f"tk={KEY}")
        assert url.startswith("https://t{s}.")
    assert '"subdomains": "01234567"' in html
    assert attributions(html) == [bm.TIANDITU_ATTRIBUTION] * 2


def test_layer_control_offers_the_configured_basemaps_first_shown(
    client: TestClient, configure: Configure
) -> None:
    configure(basemaps="tianditu,osm,none", tianditu_key=KEY)
    html = page(client, "hazards")
    assert base_layer_names(html) == ["天地图 Tianditu", "OpenStreetMap", "无底图 No basemap"]
    block = re.search(r"base_layers\s*:\s*\{(.*?)\}", html, re.S)
    assert block
    groups = re.findall(r":\s*(feature_group_\w+)", block[1])
    shown = [g for g in groups if re.search(rf"{g}\.addTo\(map_\w+\)", html)]
    assert shown == groups[:1]
    # basemaps stay out of the legend, which lists overlays only
    legend = json.loads(re.search(rf"div\.innerHTML = ({JS_STRING})", html)[1])
    assert "Tianditu" not in legend and "OpenStreetMap" not in legend


def test_none_alone_and_no_tiles_in_maps() -> None:
    community = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [120.72, 27.96]},
        "properties": {"name": "t"},
    }
    html = to_html(community_map(community, [], basemaps=[bm.NONE]))
    assert "L.tileLayer" not in html and base_layer_names(html) == []


# --- GCJ-02 overlays -------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(PAGES))
def test_gaode_draws_grids_at_their_gcj02_position(
    client: TestClient, configure: Configure, name: str
) -> None:
    lon, lat = grid_vertex(client)
    g_lon, g_lat = wgs84_to_gcj02(lon, lat)
    assert abs(g_lon - lon) > 1e-3  # the shift is hundreds of metres here
    configure(basemaps="osm")
    pairs = lonlat_pairs(page(client, name))
    assert near(pairs, lon, lat) and not near(pairs, g_lon, g_lat)
    configure(basemaps="gaode")
    pairs = lonlat_pairs(page(client, name))
    assert near(pairs, g_lon, g_lat) and not near(pairs, lon, lat)


def test_gaode_draws_a_hazard_at_its_gcj02_position(
    client: TestClient, configure: Configure
) -> None:
    hazard_id, lon, lat = report_hazard(client)
    g_lon, g_lat = wgs84_to_gcj02(lon, lat)
    configure(basemaps="osm")
    markers = marker_lonlats(page(client, "hazards"))
    assert near(markers, lon, lat) and not near(markers, g_lon, g_lat)
    configure(basemaps="gaode")
    html = page(client, "hazards")
    markers = marker_lonlats(html)
    assert near(markers, g_lon, g_lat) and not near(markers, lon, lat)
    # the heat map's points are [lat, lon, weight]
    heat = re.findall(rf"\[({NUMBER}), ({NUMBER}), {NUMBER}\]", html)
    assert near([(float(x), float(y)) for y, x in heat], g_lon, g_lat)
    # stored data stays WGS84
    stored = client.get(f"/hazards/{hazard_id}").json()
    assert stored["geometry"]["coordinates"][:2] == [lon, lat]


def test_custom_gcj02_tiles_shift_overlays_custom_wgs84_does_not(
    client: TestClient, configure: Configure
) -> None:
    lon, lat = grid_vertex(client)
    g_lon, g_lat = wgs84_to_gcj02(lon, lat)
    configure(basemaps="custom", tile_url=TILE_URL, tile_crs="gcj02")
    assert near(lonlat_pairs(page(client)), g_lon, g_lat)
    configure(tile_crs="wgs84")
    assert near(lonlat_pairs(page(client)), lon, lat)


def test_transform_features_keeps_inputs_and_structure() -> None:
    def shift(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return x + 1, y + 2

    features = [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [1.0, 2.0, 9.0]}},
        {"type": "Feature", "geometry": None, "properties": {"a": 1}},
        {
            "type": "Feature",
            "geometry": {
                "type": "GeometryCollection",
                "geometries": [
                    {"type": "MultiLineString", "coordinates": [[[0, 0], [1, 1]], [[2, 2]]]},
                ],
            },
            "properties": {"b": 2},
        },
    ]
    before = json.dumps(features)
    out = bm.transform_features(features, shift)
    assert json.dumps(features) == before
    assert out[0]["geometry"]["coordinates"] == [2.0, 4.0, 9.0]
    assert out[1] is features[1]
    assert out[2]["properties"] is features[2]["properties"]
    lines = out[2]["geometry"]["geometries"][0]["coordinates"]
    assert lines == [[[1.0, 2.0], [2.0, 3.0]], [[3.0, 4.0]]]


def test_gcj02_basemap_needs_a_transform() -> None:
    community = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [120.7, 27.9]}}
    with pytest.raises(ValueError, match="to_gcj02"):
        community_map(community, [], basemaps=[bm.gaode()])


# --- the map index ---------------------------------------------------------------------------


def test_maps_index_lists_every_page_with_working_links(client: TestClient) -> None:
    response = client.get("/maps")
    assert response.status_code == 200
    links = re.findall(r'href="([^"]+)"', response.text)
    for path in PAGES.values():
        assert path in links
    for link in links:
        assert client.get(link).status_code == 200, link
    assert "href=/maps" in client.get("/").text
