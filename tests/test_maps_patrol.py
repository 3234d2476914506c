"""Patrol maps: pure tests of maps/patrol.py with synthetic plans, tracks and village days."""

from __future__ import annotations

import copy
import json
import re

import folium
import numpy as np
import pytest

from maps.assets import AssetMode
from maps.base import Legend, to_html
from maps.basemaps import gaode
from maps.patrol import (
    KIND_COLORS,
    MISSED_COLOR,
    UNFITTED_COLOR,
    VISITED_COLOR,
    plan_map,
    track_map,
    village_day_map,
)
from maps.style import GRID_PALETTE
from tests.test_map_assets import CDN_HOSTS, is_local, references

LON, LAT = 120.72, 27.97
DAY = "2026-11-27"


def at(clock: str) -> str:
    return f"{DAY}T{clock}:00+08:00"


def square(x0: float, y0: float, x1: float, y1: float) -> dict:
    ring = [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]
    return {"type": "Polygon", "coordinates": [ring]}


COMMUNITY = {
    "type": "Feature",
    "geometry": square(LON, LAT, LON + 0.01, LAT + 0.01),
    "properties": {"code": "330303003001", "name": "测试社区 Test"},
}
GRIDS = [
    {
        "type": "Feature",
        "geometry": square(LON + 0.005 * i, LAT, LON + 0.005 * (i + 1), LAT + 0.01),
        "properties": {"code": f"0{i + 1}", "name": f"网格{i + 1}"},
    }
    for i in range(2)
]
NETWORK = [
    {
        "type": "Feature",
        "geometry": {"type": "LineString", "coordinates": [[LON, LAT + 0.001], [LON + 0.01, LAT]]},
        "properties": {"kind": "footpath"},
    }
]


def stop(
    stop_id: int,
    seq: int | None,
    kind: str = "hazard",
    *,
    priority: int = 3,
    reason: str | None = None,
    arrive: str | None = "09:05",
    window: list[str] | None = None,
) -> dict:
    return {
        "id": stop_id,
        "seq": seq,
        "kind": kind,
        "label": f"{stop_id % 100}幢 楼道堆物",
        "priority": priority,
        "service_s": 300,
        "window": window,
        "arrive_at": at(arrive) if seq is not None and arrive else None,
        "depart_at": None,
        "leg_m": 123.4 if seq is not None else None,
        "reason": reason,
        "role": "A",
        "lon": LON + 0.001 * (stop_id % 100),
        "lat": LAT + 0.002,
        "visited_at": None,
    }


def plan(
    stops: list[dict] | None = None,
    *,
    route: dict | None = None,
    straight_legs: int = 0,
    team: int | None = None,
    plan_id: int = 12,
) -> dict:
    default_route = {
        "type": "LineString",
        "coordinates": [[LON + 0.001 * i, LAT + 0.001 * (i % 2)] for i in range(5)],
    }
    return {
        "id": plan_id,
        "kind": "village_day" if team else "daily",
        "community": "330303003001",
        "date": DAY,
        "worker": {"id": 3, "name": "陈静"},
        "team": team,
        "starts_at": at("08:30"),
        "ends_by": at("12:00"),
        "returns_at": "2026-11-27T11:41:10+08:00",
        "speed_mps": 1.2,
        "distance_m": 3456.7,
        "duration_s": 11470,
        "start": [LON, LAT],
        "finish": [LON, LAT],
        "network": {"straight_m": 85.0 * straight_legs, "straight_legs": straight_legs},
        "route": default_route if route is None else route,
        "sector": None,
        "stops": stops if stops is not None else default_stops(),
    }


def default_stops() -> list[dict]:
    return [
        stop(101, 1, "hazard", priority=5, window=[at("09:00"), at("10:00")]),
        stop(102, 2, "shop", priority=1, arrive="09:40"),
        stop(103, 3, "hydrant", arrive="10:15"),
        stop(104, None, "building", reason="超出返回时间 Would return after 12:00"),
    ]


def served(m: folium.Map) -> str:
    return to_html(m, assets=AssetMode.SERVED)


def ant_paths(html: str) -> list[list[list[float]]]:
    """The locations of every AntPath of the page, in order."""
    found = re.findall(r"L\.polyline\.antPath\(\s*(\[.*?\]\]),", html, re.S)
    return [json.loads(locations) for locations in found]


def div_icons(html: str) -> list[tuple[str, str]]:
    """(className, html) of every DivIcon of the page, in order."""
    icons = []
    for body in re.findall(r"= L\.divIcon\((\{.*?\})\);", html, re.S):
        inner = json.loads(re.search(r'"html": ("(?:[^"\\]|\\.)*")', body).group(1))
        icons.append((re.search(r'"className": "([^"]*)"', body).group(1), inner))
    return icons


def stop_icons(html: str) -> list[str]:
    return [inner for name, inner in div_icons(html) if name == "gridline-stop"]


def mark(icon: str) -> str:
    """What a stop icon shows inside its circle."""
    return re.search(r"<div[^>]*>([^<]*)</div>", icon).group(1)


def fill(icon: str) -> str:
    return re.search(r"background: (#[0-9a-f]{6})", icon).group(1)


def tooltips(html: str) -> list[str]:
    return re.findall(r"bindTooltip\(\s*`<div[^>]*>\s*(.*?)\s*</div>`", html, re.S)


def legend_body(m: folium.Map) -> str:
    (legend,) = [c for c in m._children.values() if isinstance(c, Legend)]
    return legend.body


def markers(m: folium.Map) -> list[folium.Marker]:
    found = []

    def walk(element: object) -> None:
        for child in element._children.values():
            if isinstance(child, folium.Marker):
                found.append(child)
            walk(child)

    walk(m)
    return found


# --- plan map ------------------------------------------------------------------------------


def test_route_is_an_ant_path_per_part() -> None:
    html = served(plan_map(plan(), GRIDS))
    (locations,) = ant_paths(html)
    assert len(locations) == 5
    assert locations[0] == [LAT, LON] and locations[-1] == [LAT, LON + 0.004]

    multi = {
        "type": "MultiLineString",
        "coordinates": [
            [[LON, LAT], [LON + 0.001, LAT], [LON + 0.002, LAT]],
            [[LON + 0.002, LAT], [LON + 0.003, LAT], [LON + 0.004, LAT], [LON, LAT]],
        ],
    }
    assert [len(p) for p in ant_paths(served(plan_map(plan(route=multi), GRIDS)))] == [3, 4]
    assert "/assets/leaflet-ant-path/dist/leaflet-ant-path.js" in references(html)


def test_fitted_stops_are_numbered_by_kind_and_sized_by_priority() -> None:
    icons = stop_icons(served(plan_map(plan(), GRIDS)))
    numbered = [icon for icon in icons if mark(icon)]
    assert [mark(icon) for icon in numbered] == ["1", "2", "3"]
    assert [fill(icon) for icon in numbered] == [
        KIND_COLORS["hazard"],
        KIND_COLORS["shop"],
        KIND_COLORS["hydrant"],
    ]
    rings = [re.search(r"border-width: ([\d.]+)px", icon).group(1) for icon in numbered]
    assert [float(r) for r in rings] == [4.0, 1.0, 2.5]  # priorities 5, 1, 3


def test_unfitted_stops_are_grey_without_number_and_say_why() -> None:
    html = served(plan_map(plan(), GRIDS))
    grey = [icon for icon in stop_icons(html) if fill(icon) == UNFITTED_COLOR]
    assert len(grey) == 1 and mark(grey[0]) == ""
    (tip,) = [t for t in tooltips(html) if "超出返回时间" in t]
    assert "未排入 Not fitted: 超出返回时间 Would return after 12:00" in tip


def test_popup_shows_arrival_service_and_window() -> None:
    html = served(plan_map(plan(), GRIDS))
    for shown in (
        "<th>计划到达 Planned arrival</th><td>09:05</td>",
        "<th>服务 Service</th><td>5 min</td>",
        "<th>时间窗 Window</th><td>09:00–10:00</td>",
        "<th>优先级 Priority</th><td>5</td>",
        "<th>类型 Kind</th><td>隐患 Hazard</td>",
    ):
        assert shown in html


def test_plan_legend_has_the_summary_kinds_and_priorities() -> None:
    m = plan_map(plan(), GRIDS, network=NETWORK)
    body = legend_body(m)
    for shown in (
        "日常巡查 Daily patrol · 陈静 · 2026-11-27",
        "计划 3 个点 stops planned · 未排入 1 not fitted",
        "距离 Distance 3.46 km",
        "返回 Back 11:41",
        "巡查点 Stops (3)",
        "隐患 Hazard",
        "商铺 Shop",
        "消防栓 Hydrant",
        "未排入 Not fitted (1)",
        "优先级 Priority 1",
        "优先级 Priority 5",
        "步行路网 Walking network",
    ):
        assert shown in body, shown
    assert "楼栋 Building" not in body  # only an unfitted stop is a building
    assert "临时任务 Extra" not in body
    assert "直线段" not in body
    straight = legend_body(plan_map(plan(straight_legs=2), GRIDS))
    assert "含直线段 2 段 170 m（无路网）" in straight
    assert "<title>日常巡查 Daily patrol · 陈静 · 2026-11-27</title>" in served(m)


def test_text_is_escaped() -> None:
    evil = stop(101, 1)
    evil["label"] = "<script>alert(1)</script> ${x} `y`"
    html = served(plan_map(plan([evil]), GRIDS))
    assert "<script>alert(1)" not in html and "${x}" not in html and "`y`" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &#36;{x} &#96;y&#96;" in html


def test_unknown_kind_is_an_error_naming_the_stop() -> None:
    with pytest.raises(ValueError, match=r"stop 105: unknown kind 'kiosk'"):
        plan_map(plan([stop(105, 1, "kiosk")]), GRIDS)


# --- track map -----------------------------------------------------------------------------


def track() -> dict:
    line = [[LON + 0.001 * i, LAT + 0.002] for i in range(6)]
    return {
        "id": 5,
        "plan": 12,
        "points": 14400,
        "started_at": at("08:31"),
        "ended_at": at("11:50"),
        "duration_s": 14400,
        "length_m": 9000.0,
        "geometry": {"type": "LineString", "coordinates": line},
        "visits": [
            {
                "stop": 101,
                "arrived_at": at("09:07"),
                "left_at": at("09:13"),
                "linger_s": 65.0,
                "closest_m": 3.2,
            },
            {
                "stop": 103,
                "arrived_at": at("10:20"),
                "left_at": at("10:26"),
                "linger_s": 300.0,
                "closest_m": 1.0,
            },
        ],
        "missed": [102],
        "coverage": {
            "share": 0.73,
            "walked_m": 2100.0,
            "network_m": 2877.0,
            "within_m": 20.0,
            "covered": {"type": "LineString", "coordinates": line[:3]},
        },
        "outside_s": 120.0,
        "gaps": [
            {
                "from": at("10:40"),
                "to": at("10:45"),
                "seconds": 300.0,
                "distance_m": 410.0,
                "start": [LON + 0.002, LAT + 0.003],
                "end": [LON + 0.006, LAT + 0.003],
            }
        ],
    }


def test_track_map_counts_visits_coverage_outside_and_gaps() -> None:
    m = track_map(plan(), GRIDS, track(), network=NETWORK)
    body = legend_body(m)
    for shown in (
        "到访 Visited 2/3",
        "路网覆盖 Coverage 73% (2.10 km / 2.88 km, ≤20 m)",
        "区域外 Outside 2 min",
        "GPS 中断 Gaps 1",
        "已到访 Visited (2)",
        "未到访 Missed (1)",
        "已覆盖路网 Covered network (73%)",
    ):
        assert shown in body, shown
    html = served(m)
    icons = stop_icons(html)
    visited = [icon for icon in icons if fill(icon) == VISITED_COLOR]
    missed = [icon for icon in icons if fill(icon) == MISSED_COLOR]
    assert [mark(icon) for icon in visited] == ["✓", "✓"]
    assert ["<span>09:07</span>" in icon for icon in visited] == [True, False]
    assert "<span>10:20</span>" in visited[1]
    assert [mark(icon) for icon in missed] == ["✗"]
    assert "<th>实到 Arrived</th><td>09:07</td>" in html
    assert "GPS 中断 Gap 10:40–10:45 · 5 min · 410 m" in html
    assert ant_paths(html) == []  # the planned route is drawn faint, not animated


def test_unvisited_unfitted_stops_stay_grey_on_the_track_map() -> None:
    html = served(track_map(plan(), GRIDS, track()))
    grey = [icon for icon in stop_icons(html) if fill(icon) == UNFITTED_COLOR]
    assert len(grey) == 1 and mark(grey[0]) == ""


# --- village day ---------------------------------------------------------------------------


def village_day() -> dict:
    plans = []
    for team in (2, 1, 3):  # drawn in team order
        x0 = LON + 0.003 * (team - 1)
        sector = square(x0, LAT, x0 + 0.003, LAT + 0.01)
        stops = [stop(100 * team + 1, 1), stop(100 * team + 2, 2, "shop")]
        if team == 3:
            stops.append(stop(303, None, reason="时间不够 No time"))
        plans.append(plan(stops, team=team, plan_id=20 + team) | {"sector": sector})
    return {"id": 3, "community": "330303003001", "date": DAY, "teams": 3, "plans": plans}


def test_one_sector_layer_per_team_in_distinct_colours() -> None:
    m = village_day_map(village_day(), COMMUNITY, network=NETWORK)
    teams = [c for c in m._children.values() if getattr(c, "title", "").startswith("第")]
    assert [t.title for t in teams] == [f"第{i}组 Team {i} · 陈静" for i in (1, 2, 3)]
    colours = []
    for team in teams:
        (sector,) = [c for c in team._children.values() if isinstance(c, folium.GeoJson)]
        colours.append(sector.style_function(None)["fillColor"])
    assert colours == list(GRID_PALETTE[:3])
    html = served(m)
    assert len(ant_paths(html)) == 3
    numbered = [icon for icon in stop_icons(html) if mark(icon)]
    assert [fill(icon) for icon in numbered] == [c for c in colours for _ in range(2)]
    body = legend_body(m)
    assert "2 个点 stops · 3.46 km · 返回 Back 11:41 · 未排入 Not fitted 1" in body
    assert "巡查日 Village day · 测试社区 Test · 2026-11-27" in body
    assert "3 组 teams · 6 个点 stops · 10.37 km" in body


# --- coordinates and assets ----------------------------------------------------------------


def shift(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return lon + 0.01, lat + 0.002


def test_gcj02_basemap_draws_stops_routes_and_tracks_converted() -> None:
    m = plan_map(plan(), GRIDS, basemaps=[gaode()], to_gcj02=shift)
    first = next(mk for mk in markers(m) if mark(mk.icon.options["html"]) == "1")
    assert first.location == pytest.approx([LAT + 0.002 + 0.002, LON + 0.001 + 0.01])
    (route,) = ant_paths(served(m))
    assert route[0] == pytest.approx([LAT + 0.002, LON + 0.01])

    m = track_map(plan(), GRIDS, track(), basemaps=[gaode()], to_gcj02=shift)
    gap = re.search(r'"coordinates": \[\[([\d.]+), ([\d.]+)\], \[[\d.]+, [\d.]+\]\]', served(m))
    assert [float(gap.group(1)), float(gap.group(2))] == pytest.approx(
        [LON + 0.002 + 0.01, LAT + 0.003 + 0.002]
    )
    with pytest.raises(ValueError, match="to_gcj02"):
        plan_map(plan(), GRIDS, basemaps=[gaode()])


def test_pages_name_no_external_host() -> None:
    maps = [
        plan_map(plan(), GRIDS, network=NETWORK),
        track_map(plan(), GRIDS, track()),
        village_day_map(village_day(), COMMUNITY),
    ]
    for m in maps:
        urls = references(served(m))
        assert urls and [u for u in urls if not is_local(u)] == []
        inline = to_html(m, assets=AssetMode.INLINE)
        assert [u for u in references(inline) if not u.startswith(("data:", "#"))] == []
        assert "<script src" not in inline and "<link " not in inline
        assert not any(host in inline for host in CDN_HOSTS)
    assert "L.polyline.antPath" in inline and "r.polyline.antPath=" in inline  # its own code


def test_input_is_not_modified() -> None:
    day, p, t = village_day(), plan(), track()
    before = copy.deepcopy((day, p, t))
    plan_map(p, GRIDS, basemaps=[gaode()], to_gcj02=shift)
    track_map(p, GRIDS, t, basemaps=[gaode()], to_gcj02=shift)
    village_day_map(day, COMMUNITY, basemaps=[gaode()], to_gcj02=shift)
    assert (day, p, t) == before
