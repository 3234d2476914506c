"""Parking maps: pure tests of maps/parking.py with synthetic layouts of a small compound."""

from __future__ import annotations

import copy
import json
import math
import re
from html import escape

import folium
import numpy as np
import pytest
from folium.plugins import DualMap

from maps.assets import AssetMode
from maps.base import Legend, Overlay, to_html
from maps.basemaps import gaode
from maps.parking import (
    ACCESSIBLE_COLOR,
    ADDED,
    BAY_LINES,
    FIRE_CORRIDOR,
    FIT_ZOOM,
    MAX_ZOOM,
    REMOVED,
    STALL_COLORS,
    STALL_KINDS,
    STALL_LINES,
    VIOLATION,
    compare_map,
    layout_map,
    stall_changes,
)
from maps.style import HATCH_ID
from tests.test_map_assets import CDN_HOSTS, is_local, references

LON, LAT = 120.72, 27.97
M_PER_DEG_LAT = 110_574.0
M_PER_DEG_LON = 111_320.0 * math.cos(math.radians(LAT))


def at(x: float, y: float) -> list[float]:
    """Metres east and north of the compound's south-west corner as [lon, lat]."""
    return [LON + x / M_PER_DEG_LON, LAT + y / M_PER_DEG_LAT]


def box(x0: float, y0: float, x1: float, y1: float) -> dict:
    ring = [at(x0, y0), at(x1, y0), at(x1, y1), at(x0, y1), at(x0, y0)]
    return {"type": "Polygon", "coordinates": [ring]}


def feature(geometry: dict, **properties: object) -> dict:
    return {"type": "Feature", "geometry": geometry, "properties": properties}


COMPOUND = feature(box(0, 0, 80, 60), name="和家锦园", has_property_management=True)
BUILDINGS = [feature(box(10, 45, 40, 57), name="1幢"), feature(box(45, 45, 75, 57), name="2幢")]
ROADS = [
    feature(
        {"type": "LineString", "coordinates": [at(0, 30), at(80, 30)]},
        kind="internal_road",
        width_m=6.0,
        name="和家锦园主路",
    ),
    feature(
        {"type": "LineString", "coordinates": [at(3, 0), at(3, 60)]},
        kind="fire_lane",
        width_m=4.0,
        name="西侧消防通道",
    ),
    feature(
        {"type": "LineString", "coordinates": [at(-20, -8), at(100, -8)]},
        kind="street",
        width_m=12.0,
        name="锦园路",
    ),
]
SITE_FEATURES = [
    feature({"type": "Point", "coordinates": at(40, 0)}, kind="gate", name="南门"),
    feature({"type": "Point", "coordinates": at(62, 34)}, kind="hydrant", name="消火栓1"),
    feature({"type": "Point", "coordinates": at(70, 20)}, kind="tree"),
    feature(box(50, 5, 75, 20), kind="green_area", name="中心绿地"),
    feature(box(30, 5, 40, 12), kind="keep_clear", name="登高场地"),
]


def stall(number: int, x: float, kind: str = "perpendicular", *, accessible: bool = False) -> dict:
    """A stall north of the main road, ``x`` metres east (2.5 m wide, 5.3 m deep)."""
    x1, y0, y1 = x + 2.5, 33.0, 38.3
    lines = [[at(x, y0), at(x, y1)], [at(x1, y0), at(x1, y1)]]
    return feature(
        box(x, y0, x1, y1),
        number=number,
        kind=kind,
        angle=90.0 if kind == "perpendicular" else 60.0,
        accessible=accessible,
        source="kerb:和家锦园主路:left",
        lines={"type": "MultiLineString", "coordinates": lines},
    )


def bay() -> dict:
    outline = [[at(20, 22), at(40, 22), at(40, 24), at(20, 24), at(20, 22)]]
    return feature(
        box(20, 22, 40, 24),
        number=1,
        kind="ebike",
        capacity=25,
        lines={"type": "MultiLineString", "coordinates": outline},
    )


def layout(
    stalls: list[dict],
    *,
    version: int = 2,
    violations: list[dict] | None = None,
    painted_m: float = 612.4,
) -> dict:
    by_kind = {kind: 0 for kind in STALL_KINDS}
    for st in stalls:
        kind = st["properties"]["kind"]
        by_kind[kind] = by_kind.get(kind, 0) + 1
    return {
        "id": 7,
        "compound": {"id": 3, "name": "和家锦园"},
        "version": version,
        "status": "draft",
        "created_at": "2026-11-27T10:00:00+08:00",
        "note": None,
        "totals": {
            "stalls": len(stalls),
            "by_kind": by_kind,
            "accessible": sum(1 for st in stalls if st["properties"]["accessible"]),
            "bays": 1,
            "nonmotor_capacity": 25,
            "painted_m": painted_m,
            "nonmotor_lines_m": 44.0,
            "m2_per_stall": 14.2,
            "kerb_bound": 50,
            "area_bound": 70,
            "kerb_ratio": 0.84,
            "area_ratio": 0.6,
        },
        "stalls": {"type": "FeatureCollection", "features": stalls},
        "bays": {"type": "FeatureCollection", "features": [bay()]},
        "aisles": {"type": "FeatureCollection", "features": [feature(box(10, 38.3, 40, 44.3))]},
        "violations": violations if violations is not None else [],
    }


def sample_stalls() -> list[dict]:
    """Six perpendicular stalls (the first accessible), two at 60 degrees and one parallel."""
    stalls = [stall(i + 1, 8 + 2.5 * i, accessible=i == 0) for i in range(6)]
    stalls += [stall(7, 25, "angle_60"), stall(8, 27.5, "angle_60"), stall(9, 30, "parallel")]
    return stalls


VIOLATIONS = [
    {
        "stall": None,
        "rule": "hydrant",
        "message": "hydrant 消火栓1 has stalls within 3.1 m < 5 m",
        "geometry": {"type": "Point", "coordinates": at(62, 34)},
    },
    {
        "stall": 3,
        "rule": "entrance",
        "message": "stall 3 is 1.2 m from 1幢 entrance",
        "geometry": None,
    },
]


def sample() -> dict:
    return layout(sample_stalls(), violations=copy.deepcopy(VIOLATIONS))


def site() -> dict:
    return {"buildings": BUILDINGS, "roads": ROADS, "site_features": SITE_FEATURES}


def served(m: folium.Map | DualMap) -> str:
    return to_html(m, assets=AssetMode.SERVED)


def shapes(html: str) -> list[tuple[dict, dict]]:
    """(feature, Leaflet style) of every feature of every folium GeoJson of the page."""
    found = []
    for name, data in re.findall(r"(geo_json_\w+)_add\((\{.*\})\);$", html, re.M):
        styler = re.search(rf"function {name}_styler\(feature\) \{{(.*?)var {name} =", html, re.S)
        by_id: dict[str, dict] = {}
        for cases, style in re.findall(r'((?:case "[^"]*": )+)\s*return (\{.*?\});', styler[1]):
            for case in re.findall(r'case "([^"]*)"', cases):
                by_id[case] = json.loads(style)
        default = json.loads(re.search(r"default:\s*return (\{.*?\});", styler[1])[1])
        for f in json.loads(data)["features"]:
            found.append((f, by_id.get(f.get("id"), default)))
    return found


def stall_shapes(html: str) -> list[tuple[dict, dict]]:
    return [(f, st) for f, st in shapes(html) if "source" in f["properties"]]


def legend_body(m: folium.Map) -> str:
    (legend,) = [c for c in m._children.values() if isinstance(c, Legend)]
    return legend.body


def overlay(m: folium.Map, title: str) -> Overlay:
    (layer,) = [c for c in m._children.values() if getattr(c, "title", "").startswith(title)]
    return layer


def overlay_features(m: folium.Map, title: str) -> list[dict]:
    layer = overlay(m, title)
    return [
        f
        for child in layer._children.values()
        if isinstance(child, folium.GeoJson)
        for f in child.data["features"]
    ]


def div_icons(html: str, class_name: str) -> list[str]:
    icons = []
    for body in re.findall(r"= L\.divIcon\((\{.*?\})\);", html, re.S):
        if f'"className": "{class_name}"' in body:
            icons.append(json.loads(re.search(r'"html": ("(?:[^"\\]|\\.)*")', body)[1]))
    return icons


def metres_north(geometry: dict) -> float:
    lats = [p[1] for ring in geometry["coordinates"] for p in ring]
    return (max(lats) - min(lats)) * M_PER_DEG_LAT


# --- layout map ----------------------------------------------------------------------------


def test_one_shape_per_stall_filled_by_kind() -> None:
    html = served(layout_map(sample(), COMPOUND, **site()))
    drawn = stall_shapes(html)
    assert [f["properties"]["number"] for f, _ in drawn] == list(range(1, 10))
    labels = {label: kind for kind, label in STALL_KINDS.items()}
    for f, style in drawn:
        kind = labels[f["properties"]["kind"]]
        accessible = f["properties"]["accessible"] == "是 Yes"
        assert style["fillColor"] == (ACCESSIBLE_COLOR if accessible else STALL_COLORS[kind])
    assert [
        f["properties"]["number"] for f, st in drawn if st["fillColor"] == ACCESSIBLE_COLOR
    ] == [1]
    assert len(set(STALL_COLORS.values()) | {ACCESSIBLE_COLOR}) == len(STALL_COLORS) + 1
    assert div_icons(html, "gridline-accessible") == ["<div>♿</div>"]
    assert drawn[0][0]["properties"]["source"] == "kerb:和家锦园主路:left"
    assert drawn[6][0]["properties"]["kind"] == "斜列 60° Angled"


def test_painted_lines_are_drawn_over_the_stalls_and_bays() -> None:
    m = layout_map(sample(), COMPOUND, **site())
    html = served(m)
    lines = [(f, st) for f, st in shapes(html) if f["geometry"]["type"] == "MultiLineString"]
    white = [f for f, st in lines if st["color"] == STALL_LINES["color"]]
    yellow = [f for f, st in lines if st["color"] == BAY_LINES["color"]]
    assert len(white) == 9 and len(yellow) == 1
    assert white[0]["geometry"]["coordinates"][0] == [at(8, 33), at(8, 38.3)]
    titles = [getattr(c, "title", "") for c in m._children.values()]
    stalls = titles.index("车位 Stalls (9)")
    assert stalls < titles.index("标线 Painted lines (612.4 m)")
    assert titles.index("非机动车位 Non-motor bays (1)") > stalls


def test_roads_are_carriageways_of_their_width_and_fire_lanes_hatched() -> None:
    html = served(layout_map(sample(), COMPOUND, **site()))
    drawn = shapes(html)
    road = next(f for f, _ in drawn if f["properties"].get("name") == "和家锦园主路")
    assert road["geometry"]["type"] == "Polygon"
    assert metres_north(road["geometry"]) == pytest.approx(6.0, abs=0.05)
    street = next(f for f, _ in drawn if f["properties"].get("name") == "锦园路")
    assert metres_north(street["geometry"]) == pytest.approx(12.0, abs=0.05)
    corridors = [f for f, st in drawn if st.get("fillColor") == f"url(#{HATCH_ID})"]
    names = [f["properties"]["name"] for f in corridors]
    assert "西侧消防通道" in names and "和家锦园主路" not in names
    lane = next(f for f in corridors if f["properties"]["name"] == "西侧消防通道")
    lons = [p[0] for p in lane["geometry"]["coordinates"][0]]
    assert (max(lons) - min(lons)) * M_PER_DEG_LON == pytest.approx(4.0, abs=0.05)
    assert f'<pattern id="{HATCH_ID}"' in html
    assert FIRE_CORRIDOR["dashArray"] in html


def test_violations_layer_counts_and_says_why() -> None:
    m = layout_map(sample(), COMPOUND, **site())
    html = served(m)
    assert "违规 Violations (2)" in legend_body(m)
    drawn = overlay_features(m, "违规 Violations")
    assert [f["properties"]["message"] for f in drawn] == [escape(v["message"]) for v in VIOLATIONS]
    assert drawn[0]["geometry"]["type"] == "Point"
    assert drawn[1]["geometry"] == stall(3, 13)["geometry"]  # no geometry: drawn on its stall
    red = [(f, st) for f, st in shapes(html) if "message" in f["properties"]]
    assert [st["color"] for _, st in red] == [VIOLATION["color"]] * 2
    assert red[0][0]["properties"]["message"] == "hydrant 消火栓1 has stalls within 3.1 m &lt; 5 m"
    clean = layout_map(layout(sample_stalls()), COMPOUND, **site())
    assert "违规 Violations" not in served(clean)


def test_legend_opens_with_the_layout_totals() -> None:
    m = layout_map(sample(), COMPOUND, **site())
    body = legend_body(m)
    for shown in (
        "和家锦园 · 停车方案 Parking layout v2 · 草案 Draft",
        "车位 Stalls 9",
        "垂直 Perpendicular 6",
        "斜列 60° Angled 2",
        "平行 Parallel 1",
        "无障碍 Accessible 1",
        "非机动车 Non-motor 25（1 处 bays）",
        "标线 Painted 612.4 m",
        "每车位 Per stall 14.2 m²",
        "路缘上限 Kerb bound 50 (84%)",
        "面积上限 Area bound 70 (60%)",
        "车位线 Stall lines 568.4 m",
        "消防通道 Fire lanes（净宽 clear 4 m）",
    ):
        assert shown in body, shown
    assert "斜列 45°" not in body  # kinds without stalls are left out
    assert body.index("车位 Stalls 9") < body.index("道路 Roads")
    assert "<title>和家锦园 · 停车方案 Parking layout v2 · 草案 Draft</title>" in served(m)


def test_true_scale_zoom_and_stall_numbers() -> None:
    m = layout_map(sample(), COMPOUND, basemaps=[gaode()], to_gcj02=lambda x, y: (x, y), **site())
    assert m.options["max_zoom"] == MAX_ZOOM
    html = served(m)
    assert html.count(f'"maxZoom": {MAX_ZOOM}') >= 2  # the map and its tiles
    assert f'"maxZoom": {FIT_ZOOM}' in html  # opens fitted to the compound, up to zoom 21
    numbers = div_icons(html, "gridline-stall-number")
    assert numbers == [f"<div>{i}</div>" for i in range(1, 10)] + ["<div>25 辆</div>"]
    assert 'classList.toggle("gridline-near", map.getZoom() >= 20)' in html


def shift(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return lon + 0.01, lat + 0.002


def test_gcj02_basemap_draws_stalls_lines_and_roads_converted() -> None:
    m = layout_map(sample(), COMPOUND, basemaps=[gaode()], to_gcj02=shift, **site())
    html = served(m)
    first, _ = stall_shapes(html)[0]
    ring = stall(1, 8)["geometry"]["coordinates"][0]
    drawn = np.array(first["geometry"]["coordinates"][0])
    assert drawn == pytest.approx(np.add(ring, [0.01, 0.002]))
    lines = [f for f, _ in shapes(html) if f["geometry"]["type"] == "MultiLineString"]
    assert lines[0]["geometry"]["coordinates"][0][0] == pytest.approx(
        [at(8, 33)[0] + 0.01, at(8, 33)[1] + 0.002]
    )
    road = next(f for f, _ in shapes(html) if f["properties"].get("name") == "和家锦园主路")
    lats = [p[1] for p in road["geometry"]["coordinates"][0]]
    assert min(lats) == pytest.approx(at(0, 27)[1] + 0.002, abs=1e-7)
    with pytest.raises(ValueError, match="to_gcj02"):
        layout_map(sample(), COMPOUND, basemaps=[gaode()])


def test_unknown_stall_kind_is_an_error_naming_the_stall() -> None:
    with pytest.raises(ValueError, match=r"stall 4: unknown kind 'tandem'"):
        layout_map(layout([stall(4, 10, "tandem")]), COMPOUND)


def test_text_is_escaped() -> None:
    evil = sample()
    evil["compound"]["name"] = "<script>alert(1)</script>"
    evil["violations"][0]["message"] = "<img src=x onerror=alert(1)>"
    html = served(layout_map(evil, COMPOUND, **site()))
    assert "<script>alert(1)" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


# --- compare map ---------------------------------------------------------------------------


def pair() -> tuple[dict, dict]:
    """Ten stalls before; after: the first eight (nudged 0.3 m) and four new ones."""
    before = [stall(i + 1, 8 + 2.5 * i) for i in range(10)]
    after = [stall(i + 1, 8.3 + 2.5 * i) for i in range(8)]
    after += [stall(9 + i, 45 + 2.5 * i, "angle_60") for i in range(4)]
    return layout(before, version=1, painted_m=600.0), layout(after, version=2)


def test_stall_changes_match_by_kind_and_centroid() -> None:
    before, after = pair()
    removed, added = stall_changes(before, after)
    assert [f["properties"]["number"] for f in removed] == [9, 10]
    assert [f["properties"]["number"] for f in added] == [9, 10, 11, 12]
    same_place = layout([stall(1, 8, "angle_60"), stall(2, 10.5)])
    moved = layout([stall(1, 8), stall(2, 11.1)])  # stall 2 moved 0.6 m
    removed, added = stall_changes(layout([stall(1, 8), stall(2, 10.5)]), same_place)
    assert [f["properties"]["number"] for f in removed + added] == [1, 1]
    removed, added = stall_changes(layout([stall(1, 8), stall(2, 10.5)]), moved)
    assert [f["properties"]["number"] for f in removed + added] == [2, 2]


def test_compare_map_draws_both_versions_side_by_side() -> None:
    before, after = pair()
    dual = compare_map(before, after, COMPOUND, **site())
    left, right = dual.m1, dual.m2
    assert len(overlay_features(left, "车位 Stalls (10)")) == 10
    assert len(overlay_features(right, "车位 Stalls (12)")) == 12
    removed = overlay_features(left, "移除 Removed (2)")
    added = overlay_features(right, "新增 Added (4)")
    assert [f["properties"]["number"] for f in removed] == [9, 10]
    assert [f["properties"]["number"] for f in added] == [9, 10, 11, 12]
    html = served(dual)
    outlines = [st for f, st in shapes(html) if set(f["properties"]) == {"number", "kind"}]
    assert sum(st == REMOVED for st in outlines) == 2
    assert sum(st == ADDED for st in outlines) == 4
    left_legend = legend_body(left)
    assert "修改前 Before · 和家锦园 · 停车方案 Parking layout v1" in left_legend
    assert "移除 Removed (2)" in left_legend and "道路 Roads" not in left_legend  # compact
    body = legend_body(right)
    for shown in (
        "和家锦园 · 对比 Compare v1 → v2",
        "车位 Stalls 10 → 12 (+2)",
        "垂直 Perpendicular 10 → 8 (−2)",
        "斜列 60° Angled 0 → 4 (+4)",
        "标线 Painted 600.0 m → 612.4 m (+12.4 m)",
        "非机动车 Non-motor 25 → 25 (±0)",
        "新增 Added 4",
        "移除 Removed 2",
        "修改后 After · 和家锦园 · 停车方案 Parking layout v2",
    ):
        assert shown in body, shown
    assert "<title>和家锦园 · 对比 Compare v1 → v2</title>" in html


def test_compare_panes_are_synchronised_with_a_local_script() -> None:
    before, after = pair()
    dual = compare_map(before, after, COMPOUND, **site())
    html = served(dual)
    one, two = dual.m1.get_name(), dual.m2.get_name()
    assert f"{one}.sync({two});" in html and f"{two}.sync({one});" in html
    urls = references(html)
    assert "/assets/leaflet.sync/L.Map.Sync.js" in urls
    assert urls.index("/assets/leaflet/dist/leaflet.js") < urls.index(
        "/assets/leaflet.sync/L.Map.Sync.js"
    )
    assert [u for u in urls if not is_local(u)] == []
    for pane in (one, two):  # each pane has its controls and legend
        assert "L.control.fullscreen" in html
        assert re.search(rf"\.addTo\({pane}\);", html)
    assert html.count("var layer_control_") == 2
    assert html.count('id="gridline-hatch"') == 1  # the page-wide stylesheet once


def test_pages_name_no_external_host() -> None:
    before, after = pair()
    pages = [
        layout_map(sample(), COMPOUND, **site()),
        compare_map(before, after, COMPOUND, **site()),
    ]
    for m in pages:
        urls = references(served(m))
        assert urls and [u for u in urls if not is_local(u)] == []
        inline = to_html(m, assets=AssetMode.INLINE)
        assert [u for u in references(inline) if not u.startswith(("data:", "#"))] == []
        assert "<script src" not in inline and "<link " not in inline
        assert not any(host in inline for host in CDN_HOSTS)
        assert "cdn.jsdelivr" not in inline
    assert "L.Map.include({" in inline and "sync: function (map, options)" in inline


def test_input_is_not_modified() -> None:
    one, (before, after) = sample(), pair()
    kept = copy.deepcopy((one, before, after))
    layout_map(one, COMPOUND, basemaps=[gaode()], to_gcj02=shift, **site())
    compare_map(before, after, COMPOUND, basemaps=[gaode()], to_gcj02=shift, **site())
    assert (one, before, after) == kept
