"""The city map (issue 5): a district or street with all its communities and grids. Pure tests
of maps/city.py with synthetic squares (10,000 grids stay under the page budget, no per-grid
folium objects, escaping), then the API pages, the ``grids.geojson`` endpoint and the CLI."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import folium
import numpy as np
import pytest
from fastapi.testclient import TestClient

from maps import to_html
from maps.assets import AssetMode
from maps.basemaps import gaode
from maps.city import (
    COORD_DIGITS,
    GRID_PROPERTIES,
    CityGrids,
    city_map,
    community_colours,
    compact_grid,
    grid_collection,
)

DISTRICT = "330303"
STREET = "330303003"
DEMO = "330303003001"
GRID_CODES = [f"{i:02d}" for i in range(1, 22)]
PAGE_BUDGET = 3_000_000
URL = "/maps/districts/x/grids.geojson"
EVIL = "<script>alert('x')</script>"
LON, LAT = 120.7, 27.9
SIDE = 0.001
"""Grid side in degrees (about 100 m)."""
PER_COMMUNITY = 20
"""A community is a row of PER_COMMUNITY grids (4 x 5)."""


def square(x0: float, y0: float, side: float) -> dict:
    ring = [[x0, y0], [x0 + side, y0], [x0 + side, y0 + side], [x0, y0 + side], [x0, y0]]
    return {"type": "Polygon", "coordinates": [ring]}


def synthetic_city(count: int) -> tuple[dict, list[dict], list[dict]]:
    """A district of ``count`` square grids in communities of 4 x 5 grids, laid out in rows."""
    per_row = 25  # communities per row
    communities: list[dict] = []
    grids: list[dict] = []
    for c in range(count // PER_COMMUNITY):
        cx = LON + (c % per_row) * 4 * SIDE
        cy = LAT + (c // per_row) * 5 * SIDE
        code = f"330303{c:06d}"
        communities.append(
            {
                "type": "Feature",
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [
                        [
                            [cx, cy],
                            [cx + 4 * SIDE, cy],
                            [cx + 4 * SIDE, cy + 5 * SIDE],
                            [cx, cy + 5 * SIDE],
                            [cx, cy],
                        ]
                    ],
                },
                "properties": {"code": code, "name": f"社区 {c}"},
            }
        )
        for i in range(PER_COMMUNITY):
            x0 = cx + (i % 4) * SIDE + 1.23456789e-9  # digits past 1e-6, to be rounded off
            y0 = cy + (i // 4) * SIDE
            grids.append(
                {
                    "type": "Feature",
                    "geometry": square(x0, y0, SIDE),
                    "properties": {
                        "code": f"{i + 1:02d}",
                        "community": code,
                        "name": f"第{i + 1}网格",
                        "households": 100 + i,
                        "population": 300 + i,
                        "note": "not shown",
                    },
                }
            )
    rows = (len(communities) + per_row - 1) // per_row
    area = {
        "type": "Feature",
        "geometry": {
            "type": "Polygon",
            "coordinates": [
                [
                    [LON, LAT],
                    [LON + per_row * 4 * SIDE, LAT],
                    [LON + per_row * 4 * SIDE, LAT + rows * 5 * SIDE],
                    [LON, LAT + rows * 5 * SIDE],
                    [LON, LAT],
                ]
            ],
        },
        "properties": {"code": DISTRICT, "name": "龙湾区", "kind": "district"},
    }
    return area, communities, grids


def in_page(text: str, html: str) -> bool:
    """Whether ``text`` is in the page, as is or JSON-escaped (layer names, legend)."""
    return text in html or json.dumps(text)[1:-1] in html


def elements(m: folium.Map) -> list[object]:
    found: list[object] = []
    stack: list[object] = [m]
    while stack:
        element = stack.pop()
        found.append(element)
        stack.extend(getattr(element, "_children", {}).values())
    return found


def test_ten_thousand_grids_inlined_stay_under_the_budget_without_per_grid_objects() -> None:
    area, communities, grids = synthetic_city(10_000)
    assert len(grids) == 10_000
    m = city_map(area, communities, grids)
    found = elements(m)
    # no per-grid folium objects: markers, polygons or one GeoJson per grid
    assert not [e for e in found if isinstance(e, folium.Marker | folium.Polygon | folium.DivIcon)]
    geojsons = [e for e in found if isinstance(e, folium.GeoJson)]
    assert len(geojsons) == 2  # the communities' outlines and the district's
    loaders = [e for e in found if isinstance(e, CityGrids)]
    assert len(loaders) == 1 and loaders[0].data_url is None
    html = to_html(m, assets=AssetMode.SERVED)
    assert len(html.encode("utf-8")) < PAGE_BUDGET
    assert "L.canvas(" in html and "L.geoJSON(" in html
    assert '"className": "gridline-label"' not in html  # no per-grid labels
    payload = json.loads(re.search(r"return draw\((\{.*?\})\);", html, re.S).group(1))
    assert len(payload["features"]) == 10_000
    first = payload["features"][0]
    assert set(first["properties"]) == set(GRID_PROPERTIES)
    assert first["geometry"]["coordinates"][0][0] == [LON, LAT]  # rounded to 1e-6
    assert in_page("网格 Grids (10,000)", html)


def test_served_page_fetches_the_grids_and_stays_small() -> None:
    area, communities, grids = synthetic_city(10_000)
    m = city_map(area, communities, data_url=URL, grid_count=len(grids))
    html = to_html(m, assets=AssetMode.SERVED)
    assert len(html.encode("utf-8")) < 500_000
    assert json.dumps(URL) in html
    assert "第1网格" not in html  # no grid is in the page itself
    assert in_page("网格 Grids (10,000)", html)


def test_a_script_in_a_grid_name_stays_text() -> None:
    area, communities, grids = synthetic_city(20)
    grids[0]["properties"]["name"] = EVIL
    communities[0]["properties"]["name"] = EVIL
    html = to_html(city_map(area, communities, grids), assets=AssetMode.SERVED)
    assert "<script>alert" not in html
    assert "\\u003cscript\\u003ealert('x')\\u003c/script\\u003e" in html
    # the tooltip is DOM text, never parsed as HTML
    script = html[html.index("window.gridlineGrids") :]
    assert "textContent" in script and "innerHTML" not in script.split("})();", 1)[0]


def test_compact_grid_rounds_and_keeps_only_the_shown_properties() -> None:
    _, _, grids = synthetic_city(20)
    original = json.dumps(grids[5])
    compact = compact_grid(grids[5])
    assert json.dumps(grids[5]) == original  # the input is not modified
    assert compact["properties"] == {
        "code": "06",
        "community": "330303000000",
        "name": "第6网格",
        "households": 105,
    }
    for x, y in compact["geometry"]["coordinates"][0]:
        assert round(x, COORD_DIGITS) == x and round(y, COORD_DIGITS) == y
    assert grid_collection([*grids[:3], {"type": "Feature", "geometry": None}])["features"] == [
        compact_grid(g) for g in grids[:3]
    ]


def test_neighbouring_communities_get_different_colours() -> None:
    _, communities, _ = synthetic_city(20 * 4)
    colours = community_colours(communities)
    codes = [c["properties"]["code"] for c in communities]
    assert len(colours) == 4
    for a, b in itertools.pairwise(codes):  # a row: each touches the next
        assert colours[a] != colours[b]


def test_gcj02_basemap_draws_everything_converted() -> None:
    area, communities, grids = synthetic_city(20)

    def shift(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return lon + 0.01, lat + 0.002

    html = to_html(
        city_map(area, communities, grids, basemaps=[gaode()], to_gcj02=shift),
        assets=AssetMode.SERVED,
    )
    payload = json.loads(re.search(r"return draw\((\{.*?\})\);", html, re.S).group(1))
    assert payload["features"][0]["geometry"]["coordinates"][0][0] == [
        round(LON + 0.01, 6),
        round(LAT + 0.002, 6),
    ]
    with pytest.raises(ValueError, match="to_gcj02"):
        city_map(area, communities, grids, basemaps=[gaode()])


# --- the API and the CLI -------------------------------------------------------------------


def test_district_page_and_its_grids(client: TestClient) -> None:
    response = client.get(f"/maps/districts/{DISTRICT}")
    assert response.status_code == 200
    html = response.text
    assert html.startswith("<!DOCTYPE html>")
    assert json.dumps(f"/maps/districts/{DISTRICT}/grids.geojson") in html
    assert in_page("网格 Grids (21)", html)
    assert "L.canvas(" in html
    assert json.dumps("蒲江社区")[1:-1] in html  # the community outline, inlined
    assert '"className": "gridline-label"' not in html  # no per-grid labels

    grids = client.get(f"/maps/districts/{DISTRICT}/grids.geojson")
    assert grids.status_code == 200
    assert grids.headers["content-type"] == "application/geo+json"
    features = grids.json()["features"]
    assert sorted(f["properties"]["code"] for f in features) == GRID_CODES
    assert {f["properties"]["community"] for f in features} == {DEMO}
    assert all(set(f["properties"]) == set(GRID_PROPERTIES) for f in features)
    for f in features:
        for x, y in f["geometry"]["coordinates"][0]:
            assert round(x, 6) == x and round(y, 6) == y

    gcj = client.get(f"/maps/districts/{DISTRICT}/grids.geojson?crs=gcj02").json()["features"]
    dx = (
        gcj[0]["geometry"]["coordinates"][0][0][0] - features[0]["geometry"]["coordinates"][0][0][0]
    )
    assert 0.001 < dx < 0.01  # GCJ-02 is some hundred metres off in Wenzhou


def test_street_page_and_its_grids(client: TestClient) -> None:
    response = client.get(f"/maps/streets/{STREET}")
    assert response.status_code == 200
    assert json.dumps(f"/maps/streets/{STREET}/grids.geojson") in response.text
    features = client.get(f"/maps/streets/{STREET}/grids.geojson").json()["features"]
    assert sorted(f["properties"]["code"] for f in features) == GRID_CODES


def test_unknown_city_is_404(client: TestClient) -> None:
    for path, detail in (
        ("/maps/districts/nope", "district 'nope' not found"),
        ("/maps/streets/nope", "street 'nope' not found"),
        ("/maps/districts/nope/grids.geojson", "district 'nope' not found"),
        (f"/maps/streets/{DISTRICT}/grids.geojson", f"street '{DISTRICT}' not found"),
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.json() == {"detail": detail}


def test_maps_index_lists_the_city_pages(client: TestClient) -> None:
    html = client.get("/maps").text
    assert f'<a href="/maps/districts/{DISTRICT}">区地图 District map: ' in html
    assert f'<a href="/maps/streets/{STREET}">街道地图 Street map: ' in html
    assert f'href="/maps/communities/{DEMO}"' in html


def test_cli_writes_the_city_map_with_its_grids_inlined(gridline, tmp_path: Path) -> None:
    html = tmp_path / "city.html"
    assert gridline("map", "city", DISTRICT, "-o", html)[:2] == (
        0,
        f"map of district {DISTRICT} written to {html}\n",
    )
    page = html.read_text(encoding="utf-8")
    assert "grids.geojson" not in page
    payload = json.loads(re.search(r"return draw\((\{.*?\})\);", page, re.S).group(1))
    assert sorted(f["properties"]["code"] for f in payload["features"]) == GRID_CODES
    assert gridline("map", "city", STREET, "-o", html)[1] == (
        f"map of street {STREET} written to {html}\n"
    )
    assert gridline("map", "city", "nope", "-o", html)[2] == (
        "gridline: no district or street 'nope'\n"
    )
