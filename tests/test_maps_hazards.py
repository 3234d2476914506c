"""The hazard map: pure tests of maps/hazards.py with synthetic features, then the API page."""

from __future__ import annotations

import copy
import re

import folium
import pytest
from fastapi.testclient import TestClient
from folium.plugins import HeatMap, MarkerCluster
from shapely.geometry import shape

from geo.models import HazardState
from maps import to_html
from maps.base import Legend, Overlay
from maps.hazards import (
    HEAT_TITLE,
    OVERDUE_COLOR,
    STATE_COLORS,
    hazard_layers,
    hazard_map,
)

LON, LAT = 120.72, 27.97
DEMO = "330303003001"


def square(x0: float, y0: float, x1: float, y1: float) -> dict:
    ring = [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]
    return {"type": "Polygon", "coordinates": [ring]}


COMMUNITY = {
    "type": "Feature",
    "geometry": square(LON, LAT, LON + 0.01, LAT + 0.01),
    "properties": {"code": "330302001", "name": "测试社区 Test"},
}
GRIDS = [
    {
        "type": "Feature",
        "geometry": square(LON + 0.005 * i, LAT, LON + 0.005 * (i + 1), LAT + 0.01),
        "properties": {"id": 100 + i, "code": f"0{i + 1}", "name": f"网格{i + 1}"},
    }
    for i in range(2)
]
NAMES_ZH = {"blocked_corridor": "楼道堆物堵塞", "food_safety": "食品安全", "graffiti": "涂鸦"}


def hazard(
    hazard_id: int,
    category: str = "blocked_corridor",
    state: str = "dispatched",
    *,
    severity: str = "high",
    overdue: bool = False,
    description: str = "楼道堆放杂物",
    geometry: dict | None = None,
) -> dict:
    """A feature shaped like geo.hazards.records.to_feature's."""
    point = {"type": "Point", "coordinates": [LON + 0.0001 * hazard_id, LAT + 0.0005]}
    return {
        "type": "Feature",
        "id": hazard_id,
        "geometry": point if geometry is None else geometry,
        "properties": {
            "id": hazard_id,
            "kind": "hazard",
            "category": category,
            "category_zh": NAMES_ZH.get(category),
            "severity": severity,
            "description": description,
            "state": state,
            "grid": "01",
            "compound": "留香园",
            "assignee": {"id": 7, "name": "章微琳"} if state != "reported" else None,
            "unrouted": state == "reported",
            "reported_at": "2024-05-01T09:30:12.5+08:00",
            "deadline": "2024-05-04T09:30:12.5+08:00",
            "overdue": overdue,
        },
    }


def markers(layer: folium.FeatureGroup) -> list[folium.Marker]:
    """The markers inside the layer's cluster."""
    (cluster,) = [c for c in layer._children.values() if isinstance(c, MarkerCluster)]
    return [c for c in cluster._children.values() if isinstance(c, folium.Marker)]


def icon_html(marker: folium.Marker) -> str:
    return marker.icon.options["html"]


def glyph_fill(marker: folium.Marker) -> str:
    """Fill of the glyph (the last shape of the marker's SVG)."""
    return re.findall(r'<(?:polygon|circle)[^>]* fill="([^"]+)"', icon_html(marker))[-1]


def legend_body(m: folium.Map) -> str:
    (legend,) = [c for c in m._children.values() if isinstance(c, Legend)]
    return legend.body


def test_one_layer_per_category_in_catalogue_order_then_the_heat_map() -> None:
    hazards = [
        hazard(1, "graffiti"),
        hazard(2, "food_safety"),
        hazard(3),
        hazard(4),
        hazard(5, "food_safety"),
        hazard(6),
        hazard(7, geometry={}),  # no geometry: skipped
    ]
    layers = hazard_layers(hazards)
    assert [layer.title for layer in layers] == [
        "楼道堆物堵塞 blocked_corridor (3)",
        "食品安全 food_safety (2)",
        "涂鸦 graffiti (1)",
        HEAT_TITLE,
    ]
    assert all(isinstance(layer, Overlay) for layer in layers)
    assert [len(markers(layer)) for layer in layers[:3]] == [3, 2, 1]
    corridor = sorted(m.location for m in markers(layers[0]))
    assert corridor == [[LAT + 0.0005, LON + 0.0001 * i] for i in (3, 4, 6)]


def test_glyph_shape_follows_the_category_group() -> None:
    layers = hazard_layers([hazard(1), hazard(2, "food_safety"), hazard(3, "graffiti")])
    shapes = []
    for layer in layers[:3]:
        svg = icon_html(markers(layer)[0])
        found = re.search(r'<polygon points="([^"]+)"', svg)
        shapes.append(len(found.group(1).split()) if found else "circle")
    assert shapes == [3, 4, "circle"]  # fire triangle, food square, unknown category circle


def test_marker_colour_is_the_state_colour() -> None:
    expected = {
        "reported": "#e31a1c",
        "dispatched": "#ff7f00",
        "rectifying": "#ffd92f",
        "rectified": "#1f78b4",
        "verified": "#33a02c",
        "rejected": "#969696",
        "duplicate": "#969696",
    }
    hazards = [hazard(i, state=state) for i, state in enumerate(expected, start=1)]
    (layer, _) = hazard_layers(hazards)
    fills = {
        round((m.location[1] - LON) / 0.0001): glyph_fill(m) for m in markers(layer)
    }  # the hazard id from the marker's longitude
    assert {state: fills[i] for i, state in enumerate(expected, start=1)} == expected


def test_every_hazard_state_has_a_colour() -> None:
    assert set(STATE_COLORS) == {str(s) for s in HazardState}


def test_overdue_hazards_get_a_ring() -> None:
    (layer, _) = hazard_layers([hazard(1, overdue=True), hazard(2)])
    late, on_time = markers(layer)
    ring = f'stroke="{OVERDUE_COLOR}"'
    assert ring in icon_html(late) and ring not in icon_html(on_time)
    assert late.icon.options["class_name"] == "gridline-hazard gridline-hazard-overdue"
    assert on_time.icon.options["class_name"] == "gridline-hazard"
    assert "逾期 Overdue" in legend_body(hazard_map(COMMUNITY, GRIDS, [hazard(1, overdue=True)]))
    assert "逾期 Overdue" not in legend_body(hazard_map(COMMUNITY, GRIDS, [hazard(1)]))


def test_text_is_escaped_in_tooltips_and_popups() -> None:
    evil = '<script>alert("x")</script> ${document.cookie} `tick` \\u'
    html = to_html(hazard_map(COMMUNITY, GRIDS, [hazard(1, description=evil)]))
    assert "<script>alert(" not in html
    assert "${document.cookie}" not in html and "`tick`" not in html
    escaped = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &#36;{document.cookie} &#96;tick"
    assert html.count(escaped) == 2  # tooltip and popup
    assert 'href="/hazards/1"' in html


def test_popup_lists_the_hazard() -> None:
    (layer, _) = hazard_layers([hazard(5, state="rectifying", overdue=True)])
    (marker,) = markers(layer)
    popup = next(c for c in marker._children.values() if isinstance(c, folium.Popup))
    (content,) = popup.html._children.values()
    body = content.data
    for shown in (
        "<th>类别 Category</th><td>楼道堆物堵塞 (blocked_corridor)</td>",
        "<th>状态 State</th><td>整改中 Rectifying</td>",
        "<th>严重程度 Severity</th><td>高 High</td>",
        "<th>网格 Grid</th><td>01</td>",
        "<th>负责人 Assignee</th><td>章微琳</td>",
        "<th>整改期限 Deadline</th><td>2024-05-04 09:30+08:00 "
        '<span class="gridline-overdue">逾期 Overdue</span></td>',
        '<a href="/hazards/5" target="_blank" rel="noopener">详情 Details</a>',
    ):
        assert shown in body


def test_heat_map_is_weighted_by_severity_and_hidden_at_first() -> None:
    hazards = [
        hazard(1, severity="low"),
        hazard(2, severity="critical"),
        hazard(3, severity="medium", state="rejected"),
        hazard(4, severity="high", state="duplicate"),
        hazard(5, "food_safety", severity="high", state="verified"),
    ]
    heat = hazard_layers(hazards)[-1]
    assert heat.title == HEAT_TITLE and heat.show is False
    (layer,) = [c for c in heat._children.values() if isinstance(c, HeatMap)]
    lat = LAT + 0.0005
    assert layer.data == [
        [lat, LON + 0.0001, 0.25],
        [lat, LON + 0.0002, 1.0],
        [lat, LON + 0.0005, 0.75],
    ]
    html = to_html(hazard_map(COMMUNITY, GRIDS, hazards))
    assert "L.heatLayer(" in html
    assert f"{heat.get_name()}.addTo(" not in html


def test_empty_input_gives_a_map_of_grids_only() -> None:
    layers = hazard_layers([])
    assert [(layer.title, layer.is_empty()) for layer in layers] == [(HEAT_TITLE, True)]
    m = hazard_map(COMMUNITY, GRIDS, [])
    html = to_html(m)
    assert "markerClusterGroup" not in html and "L.heatLayer(" not in html
    labels = re.findall(r'"html": "\\u003cdiv\\u003e(\w+)\\u003c/div\\u003e"', html)
    assert labels == ["01", "02"]
    assert "状态 State" not in legend_body(m)


def test_legend_lists_states_present_then_categories() -> None:
    m = hazard_map(COMMUNITY, GRIDS, [hazard(1, state="reported"), hazard(2, "food_safety")])
    body = legend_body(m)
    rows = re.findall(
        r"<span>([^<]+)</span>|<div class=\"gridline-legend-layer\">([^<]+)</div>", body
    )
    shown = [a or b for a, b in rows]
    assert shown == [
        "网格 Grids",
        "测试社区 Test",
        "状态 State",
        "已上报 Reported / 未派发 Unrouted",
        "已派发 Dispatched",
        "楼道堆物堵塞 blocked_corridor (1)",
        "食品安全 food_safety (1)",
        HEAT_TITLE,
        "按严重程度加权 Weighted by severity",
    ]


def test_unknown_state_is_an_error_naming_the_hazard() -> None:
    with pytest.raises(ValueError, match=r"hazard 9: unknown state 'lost'"):
        hazard_layers([hazard(1), hazard(9, state="lost")])


def test_a_hazard_that_is_no_point_is_an_error() -> None:
    with pytest.raises(ValueError, match=r"hazard 4: a Point is expected"):
        hazard_layers([hazard(4, geometry=square(LON, LAT, LON + 0.001, LAT + 0.001))])


def test_input_is_not_modified() -> None:
    hazards = [hazard(1, overdue=True), hazard(2, "food_safety", state="reported")]
    before = copy.deepcopy(hazards)
    hazard_map(COMMUNITY, GRIDS, hazards)
    assert hazards == before


# --- the API page --------------------------------------------------------------------------


def _report(client: TestClient, grid: dict, category: str) -> int:
    point = shape(grid["geometry"]).representative_point()
    body = {
        "category": category,
        "severity": "high",
        "description": "<b>楼道</b> 堆放杂物",
        "lon": point.x,
        "lat": point.y,
        "origin": "patrol",
        "reporter": "章微琳",
    }
    response = client.post("/hazards", json=body)
    assert response.status_code == 201
    return response.json()["id"]


def test_hazard_map_page(client: TestClient) -> None:
    grids = client.get("/grids", params={"community": DEMO, "limit": 100}).json()["features"]
    by_code = {g["properties"]["code"]: g for g in grids}
    first = _report(client, by_code["01"], "blocked_corridor")
    second = _report(client, by_code["02"], "food_safety")

    response = client.get(f"/maps/communities/{DEMO}/hazards")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert html.startswith("<!DOCTYPE html>")
    assert f'href="/hazards/{first}"' in html and f'href="/hazards/{second}"' in html
    assert "&lt;b&gt;楼道&lt;/b&gt;" in html and "<b>楼道</b>" not in html

    food = client.get(f"/maps/communities/{DEMO}/hazards", params={"category": "food_safety"})
    assert f'href="/hazards/{second}"' in food.text
    assert f'href="/hazards/{first}"' not in food.text
    none = client.get(f"/maps/communities/{DEMO}/hazards", params={"state": "verified"}).text
    assert "/hazards/" not in none


def test_hazard_map_rejects_bad_filters(client: TestClient) -> None:
    url = f"/maps/communities/{DEMO}/hazards"
    assert client.get(url, params={"state": "lost"}).json() == {"detail": "state 'lost' unknown"}
    assert client.get(url, params={"category": "nope"}).json() == {
        "detail": "category 'nope' is not in the catalogue"
    }
    response = client.get(url, params={"from": "2024-05-02", "to": "2024-05-01"})
    assert response.status_code == 422
    assert response.json() == {"detail": "from (2024-05-02) is after to (2024-05-01)"}


def test_unknown_community_hazard_map_is_404(client: TestClient) -> None:
    response = client.get("/maps/communities/nope/hazards")
    assert response.status_code == 404
    assert response.json() == {"detail": "community 'nope' not found"}
