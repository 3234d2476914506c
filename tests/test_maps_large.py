"""Large hazard maps (issue 5): above the threshold no per-hazard folium objects, one compact
payload drawn in the browser; and the ``hazards.geojson`` endpoint the page fetches it from."""

from __future__ import annotations

import json
import random

import folium
import pytest
from fastapi.testclient import TestClient
from folium.plugins import MarkerCluster
from geoalchemy2.shape import to_shape
from sqlalchemy import update
from sqlalchemy.orm import Session

from geo import models as m
from geo.hazards import records
from maps import hazards as hazard_maps
from maps import to_html
from maps.assets import AssetMode
from maps.base import Overlay
from maps.hazards import (
    HEAT_TITLE,
    LARGE_THRESHOLD,
    STATE_COLORS,
    HazardCluster,
    HazardSummary,
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


def report_in_demo(client: TestClient, description: str, category: str = "sanitation") -> dict:
    """Report a hazard at a fixed point of the demo community; its Feature."""
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
    return response.json()


def test_geojson_endpoint_returns_the_filtered_hazards(client: TestClient) -> None:
    reported = [
        report_in_demo(client, EVIL, "sanitation"),
        report_in_demo(client, "后厨油污", "food_safety"),
    ]
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


def legend_and_titles(m: folium.Map) -> tuple[list[str], str]:
    legend = next(e for e in elements(m) if e.__class__.__name__ == "Legend")
    return [e.title for e in elements(m) if isinstance(e, Overlay)], legend.body


def test_a_summary_draws_the_same_layers_and_legend_as_the_hazards() -> None:
    hazards = many(2_000)
    summary = HazardSummary.of(hazards)
    assert summary.count == 2_000 and summary.large
    assert summary.categories == {
        "blocked_corridor": ("楼道堆物堵塞", 667),
        "food_safety": ("食品安全", 667),
        "graffiti": ("涂鸦", 666),
    }
    assert summary.states == frozenset(STATES) and summary.overdue and summary.unrouted
    from_summary = hazard_map(COMMUNITY, GRIDS, summary, data_url=URL)
    from_features = hazard_map(COMMUNITY, GRIDS, hazards, data_url=URL)
    assert legend_and_titles(from_summary) == legend_and_titles(from_features)
    with pytest.raises(ValueError, match="a map drawn from a summary is large"):
        hazard_map(COMMUNITY, GRIDS, summary)
    with pytest.raises(ValueError, match="a map drawn from a summary is large"):
        hazard_map(COMMUNITY, GRIDS, HazardSummary.of(many(3)), data_url=URL)


def _report(session: Session, grid: m.Grid, category: str) -> m.Hazard:
    point = to_shape(grid.geom).representative_point()
    hazard, _ = records.report(
        session,
        records.Report(category, "high", "楼道堆放杂物", point.x, point.y, "patrol", "章微琳"),
    )
    return hazard


def test_database_counts_summarise_like_the_features(session: Session) -> None:
    grids = session.query(m.Grid).join(m.Community).where(m.Community.code == DEMO)
    by_code = {g.code: g for g in grids}
    made = [
        _report(session, by_code[code], category)
        for code, category in (
            ("01", "blocked_corridor"),
            ("02", "blocked_corridor"),
            ("03", "food_safety"),
            ("04", "sanitation"),
        )
    ]
    overdue, unrouted = made[0], made[2]
    session.execute(
        update(m.Hazard)
        .where(m.Hazard.id == overdue.id)
        .values(deadline=overdue.reported_at.replace(year=2020))
    )
    session.execute(
        update(m.Hazard)
        .where(m.Hazard.id == unrouted.id)
        .values(state=m.HazardState.REPORTED, assignee_id=None)
    )
    filters = records.Filters(community=DEMO)
    features, total = records.query(session, filters, limit=None)
    assert total == 4
    summary = HazardSummary.from_groups(records.counts(session, filters))
    assert summary == HazardSummary.of(features)
    assert summary.count == 4
    assert summary.categories == {
        "blocked_corridor": ("楼道堆物堵塞", 2),
        "food_safety": ("食品安全", 1),
        "sanitation": ("环境卫生", 1),
    }
    assert summary.states == {"dispatched", "reported"}
    assert summary.unrouted and summary.overdue
    only_food = records.counts(session, records.Filters(community=DEMO, category="food_safety"))
    assert only_food == [
        {
            "category": "food_safety",
            "category_zh": "食品安全",
            "state": "reported",
            "count": 1,
            "unrouted": True,
            "overdue": False,
        }
    ]


def test_a_large_served_page_is_drawn_from_counts(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Above the threshold the page asks the database for counts only; its browser fetches
    the hazards from hazards.geojson (tests/browser/test_large_map.py draws them)."""
    monkeypatch.setattr(hazard_maps, "LARGE_THRESHOLD", 2)
    for description in ("一", "二", "三"):
        report_in_demo(client, f"垃圾堆放 {description}")
    html = client.get(f"/maps/communities/{DEMO}/hazards").text
    assert html.count(f"/maps/communities/{DEMO}/hazards.geojson") == 1
    assert "环境卫生 sanitation (3)" in html or json.dumps("环境卫生 sanitation (3)")[1:-1] in html
    assert "垃圾堆放" not in html
    data = client.get(f"/maps/communities/{DEMO}/hazards.geojson").json()
    assert len(data["features"]) == 3
