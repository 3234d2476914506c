"""Large hazard maps (issue 5): above the threshold no per-hazard folium objects, one compact
payload drawn in the browser; and the ``hazards.geojson`` endpoint the page fetches it from."""

from __future__ import annotations

import json
import random

import folium
from fastapi.testclient import TestClient
from folium.plugins import MarkerCluster

from maps import to_html
from maps.assets import AssetMode
from maps.base import Overlay
from maps.hazards import (
    HEAT_TITLE,
    LARGE_THRESHOLD,
    STATE_COLORS,
    HazardCluster,
    LargeHazards,
    hazard_collection,
    hazard_map,
)
from tests.test_maps_hazards import COMMUNITY, DEMO, GRIDS, LAT, LON, hazard

COUNT = 20_000
URL = "/maps/communities/330302001/hazards.geojson"
EVIL = "<script>alert('x')</script> `${x}`"
CATEGORIES = ("blocked_corridor", "food_safety", "graffiti")
STATES = ("reported", "dispatched", "verified", "rejected")


def many(count: int = COUNT) -> list[dict]:
    rng = random.Random(5)
    return [
        hazard(
            i + 1,
            CATEGORIES[i % len(CATEGORIES)],
            STATES[i % len(STATES)],
            overdue=i % 7 == 0,
            description=EVIL if i == 0 else f"楼道堆放杂物 {i}",
            geometry={
                "type": "Point",
                "coordinates": [LON + rng.random() * 0.01, LAT + rng.random() * 0.01],
            },
        )
        for i in range(count)
    ]


def elements(m: folium.Map) -> list[object]:
    out: list[object] = []

    def walk(element: object) -> None:
        out.append(element)
        for child in element._children.values():  # type: ignore[attr-defined]
            walk(child)

    walk(m)
    return out


def test_large_map_is_small_and_has_no_marker_objects() -> None:
    """Rendering time is measured by bench/maps.py, not asserted here (shared machine)."""
    hazards = many()
    m = hazard_map(COMMUNITY, GRIDS, hazards, data_url=URL)
    html = to_html(m, assets=AssetMode.SERVED)
    assert len(html.encode("utf-8")) < 3_000_000
    found = elements(m)
    hazard_markers = [e for e in found if isinstance(e, folium.Marker | folium.CircleMarker)]
    assert len(hazard_markers) <= len(GRIDS)  # only the grid labels
    assert not [e for e in found if isinstance(e, MarkerCluster)]
    assert len([e for e in found if isinstance(e, HazardCluster)]) == len(CATEGORIES)
    assert html.count(URL) == 1
    assert "chunkedLoading: true" in html and "L.circleMarker" in html and "L.canvas" in html


def test_large_map_keeps_layers_states_and_heat_map() -> None:
    hazards = many()
    m = hazard_map(COMMUNITY, GRIDS, hazards, data_url=URL)
    titles = [e.title for e in elements(m) if isinstance(e, Overlay)]
    html = to_html(m, assets=AssetMode.SERVED)
    counts = [COUNT // 3 + (1 if i < COUNT % 3 else 0) for i in range(3)]
    assert titles[2:] == [
        f"楼道堆物堵塞 blocked_corridor ({counts[0]})",
        f"食品安全 food_safety ({counts[1]})",
        f"涂鸦 graffiti ({counts[2]})",
        HEAT_TITLE,
    ]
    assert "leaflet_heat" in html and "L.heatLayer" in html
    for colour in STATE_COLORS.values():
        assert colour in html
    assert "overdue" in html


def test_below_threshold_keeps_one_marker_per_hazard() -> None:
    m = hazard_map(COMMUNITY, GRIDS, many(LARGE_THRESHOLD), data_url=URL)
    found = elements(m)
    assert not [e for e in found if isinstance(e, LargeHazards)]
    assert len([e for e in found if isinstance(e, folium.Marker)]) == LARGE_THRESHOLD + len(GRIDS)


def test_inlined_payload_escapes_script_text() -> None:
    """Without a data URL (standalone files) the payload is inlined: no user text can close
    the script element, and the popup is built as DOM text, never parsed as HTML."""
    hazards = many(LARGE_THRESHOLD + 1)
    html = to_html(hazard_map(COMMUNITY, GRIDS, hazards), assets=AssetMode.SERVED)
    assert "<script>alert" not in html
    assert "\\u003cscript\\u003ealert('x')\\u003c/script\\u003e" in html
    assert "node.textContent = text" in html
    payload = hazard_collection(hazards)
    assert len(payload["features"]) == LARGE_THRESHOLD + 1
    assert payload["features"][0]["properties"]["description"] == EVIL


def test_geojson_endpoint_returns_the_filtered_hazards(client: TestClient) -> None:
    reported = []
    for category, description in (("sanitation", EVIL), ("food_safety", "后厨油污")):
        response = client.post(
            "/hazards",
            json={
                "category": category,
                "severity": "high",
                "description": description,
                "lon": 120.72375,
                "lat": 27.96815,
                "origin": "patrol",
                "reporter": "章微琳",
            },
        )
        assert response.status_code == 201, response.text
        reported.append(response.json())
    response = client.get(f"/maps/communities/{DEMO}/hazards.geojson")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/geo+json")
    features = json.loads(response.content)["features"]
    ids = {f["id"] for f in features}
    assert {r["id"] for r in reported} <= ids
    evil = next(f for f in features if f["id"] == reported[0]["id"])
    assert evil["properties"]["description"] == EVIL
    assert evil["properties"]["category"] == "sanitation"
    assert evil["geometry"]["coordinates"] == [120.72375, 27.96815]
    filtered = client.get(f"/maps/communities/{DEMO}/hazards.geojson?category=food_safety")
    only = json.loads(filtered.content)["features"]
    assert reported[1]["id"] in {f["id"] for f in only}
    assert {f["properties"]["category"] for f in only} == {"food_safety"}
    gcj = client.get(f"/maps/communities/{DEMO}/hazards.geojson?crs=gcj02&category=sanitation")
    moved = next(f for f in json.loads(gcj.content)["features"] if f["id"] == reported[0]["id"])
    assert moved["geometry"]["coordinates"] != [120.72375, 27.96815]
    assert client.get(f"/maps/communities/{DEMO}/hazards.geojson?state=nope").status_code == 422
    assert client.get("/maps/communities/000/hazards.geojson").status_code == 404
