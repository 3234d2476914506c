"""Patrol maps: a worker's plan for the day, the GPS track walked against it, a village day.

Plans, tracks and village days are the plain dicts of the patrol API (WGS84 lon/lat; see
``plan_map``, ``track_map``, ``village_day_map``); grids, the community and the walking network
are GeoJSON Features. Over a GCJ-02 basemap every position is drawn converted by ``to_gcj02``.

Stops are round DivIcons: the **fill** tells the stop's kind on a plan (its team on a village
day, visited green or missed red on a track), the **number** the visiting order and the dark
**ring**, with the size, the priority (1 thin and small to 5 thick and large). Stops that did not
fit into the plan are grey and unnumbered, the reason in their tooltip. Routes are animated
(``folium.plugins.AntPath``, leaflet-ant-path served like every asset: see ``maps.assets``).

The legend opens with a summary of the plan, track or day; all text from the payloads is
HTML-escaped (``maps.hazards.text``). Times are shown as HH:MM in the offset they carry.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from html import escape

import folium
from branca.element import MacroElement
from folium.plugins import AntPath
from jinja2 import Template
from shapely.geometry import shape

from maps import style as s
from maps.base import (
    FONT,
    Legend,
    LegendItem,
    Overlay,
    add_layers,
    base_map,
    finish_map,
    legend_html,
)
from maps.basemaps import Basemap, CoordTransform, projector
from maps.community import community_bounds
from maps.hazards import TOOLTIP_STYLE, grid_outline_layer, text
from maps.layers import (
    MISSING,
    ROAD_KINDS,
    Field,
    _drawable,
    community_outline_layer,
    geojson_layer,
)
from maps.values import number

Draw = Callable[[Sequence[dict]], list[dict]]

KIND_COLORS: dict[str, str] = {
    "hazard": "#d95f02",
    "shop": "#7570b3",
    "building": "#1b9e77",
    "hydrant": s.HYDRANT["fillColor"],
    "extra": "#a6761d",
}
KIND_LABELS: dict[str, str] = {
    "hazard": "隐患 Hazard",
    "shop": "商铺 Shop",
    "building": "楼栋 Building",
    "hydrant": "消防栓 Hydrant",
    "extra": "临时任务 Extra",
}
PLAN_KINDS: dict[str, str] = {"daily": "日常巡查 Daily patrol", "village_day": "巡查日 Village day"}
UNFITTED_COLOR = "#bdbdbd"
VISITED_COLOR = "#33a02c"
MISSED_COLOR = "#e31a1c"
RING_COLOR = "#1a1a1a"
OFFICE_COLOR = s.GATE_COLOR
PRIORITIES = range(1, 6)
STOP_PX = 18
"""Diameter of a priority-1 stop; each priority step adds ``STOP_PX_STEP``."""
STOP_PX_STEP = 2
RING_PX = 1.0
RING_PX_STEP = 0.75
OFFICE_PX = 22

ROUTE_COLOR = "#2166ac"
NETWORK: s.Style = {"color": "#969696", "weight": 2, "opacity": 0.45}
PLANNED: s.Style = {"color": ROUTE_COLOR, "weight": 3, "opacity": 0.4, "dashArray": "6 6"}
WALKED: s.Style = {"color": "#08306b", "weight": 3.5, "opacity": 0.9}
COVERED: s.Style = {"color": VISITED_COLOR, "weight": 10, "opacity": 0.4}
GAP: s.Style = {"color": "#737373", "weight": 2.5, "opacity": 0.9, "dashArray": "4 6"}
SECTOR_FILL_OPACITY = 0.25
ANT_WEIGHT = 5
ANT_DELAY_MS = 800

NETWORK_TITLE = "步行路网 Walking network"
ROUTE_TITLE = "路线 Route"
OFFICE_TITLE = "出发/返回 Start / finish"
PRIORITY_TITLE = "优先级 Priority（圈粗细 ring）"
UNFITTED_LABEL = "未排入 Not fitted"
UNASSIGNED_LABEL = "未指派 Unassigned"


class PatrolStylesheet(MacroElement):
    """CSS of the stop and office markers and of the popups (one copy per page)."""

    _template = Template(
        """
{% macro header(this, kwargs) %}
<style>
.gridline-stop, .gridline-office { background: none; border: none; }
.gridline-stop div { box-sizing: border-box; width: 100%; height: 100%; border-radius: 50%;
  border: solid {{ this.ring }}; display: flex; align-items: center; justify-content: center;
  color: #fff; font: bold 11px/1 {{ this.font }}; text-shadow: 0 0 2px #000; }
.gridline-stop span { position: absolute; top: 100%; left: 50%; transform: translateX(-50%);
  margin-top: 1px; white-space: nowrap; font: bold 11px/1.2 {{ this.font }}; color: #1a1a1a;
  text-shadow: 0 0 2px #fff, 0 0 2px #fff; }
.gridline-patrol-popup { font: 12px/1.4 {{ this.font }}; max-height: 40vh; overflow-y: auto; }
.gridline-patrol-popup th { text-align: left; padding-right: 8px; white-space: nowrap;
  vertical-align: top; font-weight: normal; color: #555; }
</style>
{% endmacro %}
"""
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "GridlinePatrolStylesheet"
        self.font = FONT
        self.ring = RING_COLOR


# --- values --------------------------------------------------------------------------------


def _hhmm(value: object) -> str:
    """An ISO timestamp as HH:MM in its own offset; None as —, anything else as is."""
    if value is None:
        return MISSING
    try:
        return dt.datetime.fromisoformat(str(value)).strftime("%H:%M")
    except ValueError:
        return str(value)


def _km(metres: object) -> str:
    m = number(metres)
    return MISSING if m is None else f"{m / 1000:.2f} km"


def _metres(metres: object) -> str:
    m = number(metres)
    return MISSING if m is None else f"{m:.0f} m"


def _minutes(seconds: object) -> str:
    sec = number(seconds)
    return MISSING if sec is None else f"{sec / 60:.0f} min"


def _duration(seconds: object) -> str:
    sec = number(seconds)
    if sec is None:
        return MISSING
    hours, minutes = divmod(round(sec / 60), 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


def _window(window: object) -> str | None:
    if not isinstance(window, list | tuple) or len(window) != 2:
        return None
    return f"{_hhmm(window[0])}–{_hhmm(window[1])}"


def _team(team: object) -> str:
    return f"第{team}组 Team {team}"


def _who(plan: dict) -> str:
    """The plan's team and worker (plain text)."""
    parts = [_team(plan["team"])] if plan.get("team") is not None else []
    if name := (plan.get("worker") or {}).get("name"):
        parts.append(str(name))
    return " · ".join(parts) or UNASSIGNED_LABEL


def _fitted(stop: dict) -> bool:
    return stop.get("seq") is not None


def _kind(stop: dict) -> str:
    kind = stop.get("kind")
    if kind not in KIND_COLORS:
        raise ValueError(f"stop {stop.get('id')}: unknown kind {kind!r}")
    return kind


def _priority(stop: dict) -> int:
    priority = stop.get("priority")
    if priority not in PRIORITIES or isinstance(priority, bool):
        raise ValueError(f"stop {stop.get('id')}: priority must be 1..5, not {priority!r}")
    return int(priority)


# --- coordinates ---------------------------------------------------------------------------


def _point(position: Sequence[float | None] | None) -> dict | None:
    if position is None or any(v is None for v in position[:2]):
        return None
    return {"type": "Point", "coordinates": list(position[:2])}


def _position(point: dict | None) -> list[float] | None:
    return None if point is None else point["coordinates"]


def _moved(geometries: Sequence[dict | None], draw: Draw) -> list[dict | None]:
    """``geometries`` in the drawn coordinates (wrapped as Features for ``draw``)."""
    features = [{"type": "Feature", "geometry": g, "properties": {}} for g in geometries]
    return [f.get("geometry") for f in draw(features)]


def _drawn_plan(plan: dict, draw: Draw) -> dict:
    """The plan with route, sector, start, finish and stops in the drawn coordinates."""
    stops = list(plan.get("stops") or ())
    route, sector, start, finish, *points = _moved(
        [
            plan.get("route"),
            plan.get("sector"),
            _point(plan.get("start")),
            _point(plan.get("finish")),
            *(_point((stop.get("lon"), stop.get("lat"))) for stop in stops),
        ],
        draw,
    )
    return {
        **plan,
        "route": route,
        "sector": sector,
        "start": _position(start),
        "finish": _position(finish),
        "stops": [
            {**stop, "lon": p["coordinates"][0], "lat": p["coordinates"][1]} if p else stop
            for stop, p in zip(stops, points, strict=True)
        ],
    }


def _drawn_track(track: dict, draw: Draw) -> dict:
    """The track with its line, covered network and gap ends in the drawn coordinates."""
    coverage = track.get("coverage") or {}
    gaps = list(track.get("gaps") or ())
    ends = [_point(gap.get(end)) for gap in gaps for end in ("start", "end")]
    line, covered, *moved = _moved([track.get("geometry"), coverage.get("covered"), *ends], draw)
    return {
        **track,
        "geometry": line,
        "coverage": {**coverage, "covered": covered},
        "gaps": [
            {**gap, "start": _position(a), "end": _position(b)}
            for gap, a, b in zip(gaps, moved[::2], moved[1::2], strict=True)
        ],
    }


def _parts(geometry: dict | None) -> list[list[list[float]]]:
    """The [lat, lon] locations of each part (of two positions or more) of a (Multi)LineString."""
    if not geometry:
        return []
    kind = geometry.get("type")
    if kind == "LineString":
        lines = [geometry["coordinates"]]
    elif kind == "MultiLineString":
        lines = geometry["coordinates"]
    else:
        raise ValueError(f"a LineString or MultiLineString is expected, not {kind}")
    return [[[p[1], p[0]] for p in line] for line in lines if len(line) >= 2]


def _stop_point(stop: dict) -> dict | None:
    return _point((stop.get("lon"), stop.get("lat")))


def _bounds(geometries: Iterable[dict | None]) -> tuple[float, float, float, float]:
    boxes = [shape(g).bounds for g in geometries if g and g.get("coordinates")]
    if not boxes:
        raise ValueError("nothing to draw: no grid, route or stop has a position")
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def _plan_geometries(plan: dict) -> list[dict | None]:
    points = [_point(plan.get("start")), _point(plan.get("finish"))]
    return [plan.get("route"), *points, *(_stop_point(st) for st in plan.get("stops") or ())]


# --- markers -------------------------------------------------------------------------------


def _popup(title: str, rows: Sequence[tuple[str, object]]) -> folium.Popup:
    body = "".join(f"<tr><th>{escape(k)}</th><td>{text(v)}</td></tr>" for k, v in rows)
    html = f'<div class="gridline-patrol-popup"><b>{text(title)}</b><table>{body}</table></div>'
    return folium.Popup(html, max_width=360)


def _stop_rows(stop: dict) -> list[tuple[str, object]]:
    rows: list[tuple[str, object]] = [
        ("类型 Kind", KIND_LABELS[_kind(stop)]),
        ("优先级 Priority", _priority(stop)),
        ("顺序 Order", stop.get("seq")),
        ("计划到达 Planned arrival", _hhmm(stop.get("arrive_at"))),
        ("服务 Service", _minutes(stop.get("service_s"))),
        ("时间窗 Window", _window(stop.get("window"))),
    ]
    if stop.get("visited_at"):
        rows.append(("已到访 Visited", _hhmm(stop["visited_at"])))
    if stop.get("role"):
        rows.append(("角色 Role", f"{stop['role']} 角"))
    if not _fitted(stop):
        rows.append((UNFITTED_LABEL, stop.get("reason")))
    return rows


def stop_icon(stop: dict, color: str, mark: str = "", caption: str = "") -> folium.DivIcon:
    """A round stop icon filled with ``color`` showing ``mark`` (HTML), sized and ringed by
    priority, with an optional ``caption`` (HTML) under it."""
    step = _priority(stop) - 1
    px = STOP_PX + STOP_PX_STEP * step
    ring = RING_PX + RING_PX_STEP * step
    html = f'<div style="background: {color}; border-width: {ring:g}px">{mark}</div>' + (
        f"<span>{caption}</span>" if caption else ""
    )
    return folium.DivIcon(
        html=html, icon_size=(px, px), popup_anchor=(0, -px // 2), class_name="gridline-stop"
    )


def _stop_marker(
    stop: dict, icon: folium.DivIcon, tooltip: str, rows: Sequence[tuple[str, object]]
) -> folium.Marker:
    return folium.Marker(
        location=(stop["lat"], stop["lon"]),
        icon=icon,
        tooltip=folium.Tooltip(tooltip, style=TOOLTIP_STYLE),
        popup=_popup(str(stop.get("label") or f"#{stop.get('id')}"), rows),
    )


def plan_stop_marker(stop: dict, color: str | None = None) -> folium.Marker:
    """A fitted stop numbered by its visiting order, filled with ``color`` (default its kind's
    colour); a stop that did not fit grey and unnumbered, the reason in its tooltip."""
    label = text(stop.get("label"))
    if not _fitted(stop):
        tip = f"{label} · {text(UNFITTED_LABEL)}: {text(stop.get('reason'))}"
        return _stop_marker(stop, stop_icon(stop, UNFITTED_COLOR), tip, _stop_rows(stop))
    fill = color or KIND_COLORS[_kind(stop)]
    tip = f"{text(stop['seq'])}. {label} · {text(_hhmm(stop.get('arrive_at')))}"
    icon = stop_icon(stop, fill, text(stop["seq"]))
    return _stop_marker(stop, icon, tip, _stop_rows(stop))


def _office_svg(px: float, width: float | None = None) -> str:
    return (
        f'<svg width="{width or px:g}" height="{px:g}" viewBox="0 0 22 22" style="display: block"'
        f' aria-hidden="true"><path d="M11 2L2 10h3v9h12v-9h3Z" fill="{OFFICE_COLOR}"'
        ' stroke="#fff" stroke-width="1.5" stroke-linejoin="round"/></svg>'
    )


def _office_marker(position: Sequence[float], tooltip: str) -> folium.Marker:
    icon = folium.DivIcon(
        html=_office_svg(OFFICE_PX), icon_size=(OFFICE_PX, OFFICE_PX), class_name="gridline-office"
    )
    tip = folium.Tooltip(text(tooltip), style=TOOLTIP_STYLE)
    return folium.Marker(location=(position[1], position[0]), icon=icon, tooltip=tip)


# --- layers --------------------------------------------------------------------------------


def _blank() -> str:
    return '<svg width="28" height="14" aria-hidden="true"></svg>'


def _stop_swatch(color: str, priority: int = 3) -> str:
    style = {
        "radius": 4 + 0.5 * (priority - 1),
        "color": RING_COLOR,
        "weight": RING_PX + RING_PX_STEP * (priority - 1),
        "fillColor": color,
        "fillOpacity": 1.0,
    }
    return s.point_swatch(style)


def _line(geometry: dict, style: s.Style, tooltip: str) -> folium.GeoJson:
    """One (Multi)LineString drawn with ``style``; ``tooltip`` is plain text."""
    return folium.GeoJson(
        {"type": "Feature", "geometry": geometry, "properties": {}},
        style_function=lambda _: dict(style),
        tooltip=folium.Tooltip(text(tooltip), style=TOOLTIP_STYLE),
    )


def network_layer(network: Sequence[dict]) -> Overlay:
    """The walking network as faint lines, the road kind in the tooltip."""
    network = _drawable(network)
    layer = Overlay(NETWORK_TITLE, [LegendItem(s.line_swatch(NETWORK))])
    if network:
        kind = Field("kind", "类型 Kind", _road_kind)
        geojson_layer(network, [kind], lambda _: dict(NETWORK)).add_to(layer)
    return layer


def _road_kind(value: object) -> object:
    return ROAD_KINDS.get(value, value) if isinstance(value, str) else value


def _ant_path(locations: list[list[float]], color: str, tooltip: str) -> AntPath:
    return AntPath(
        locations,
        tooltip=folium.Tooltip(text(tooltip), style=TOOLTIP_STYLE),
        color=color,
        weight=ANT_WEIGHT,
        opacity=0.9,
        delay=ANT_DELAY_MS,
        dash_array=[10, 20],
        pulse_color="#ffffff",
    )


def _straight_note(plan: dict) -> str | None:
    network = plan.get("network") or {}
    legs = network.get("straight_legs") or 0
    if legs <= 0:
        return None
    metres = number(network.get("straight_m")) or 0.0
    return f"含直线段 {legs} 段 {metres:.0f} m（无路网）Straight-line legs, no network: {legs}"


def route_layer(plan: dict) -> Overlay:
    """The plan's route animated (one AntPath per part); the legend notes straight-line legs."""
    summary = f"{_km(plan.get('distance_m'))} · {_duration(plan.get('duration_s'))}"
    legend = [LegendItem(s.line_swatch({"color": ROUTE_COLOR, "weight": ANT_WEIGHT}), summary)]
    if note := _straight_note(plan):
        legend.append(LegendItem(_blank(), note))
    layer = Overlay(ROUTE_TITLE, legend)
    for part in _parts(plan.get("route")):
        _ant_path(part, ROUTE_COLOR, f"{ROUTE_TITLE} · {summary}").add_to(layer)
    return layer


def plan_stop_layers(plan: dict) -> tuple[Overlay, Overlay]:
    """The fitted stops by visiting order (legend: one row per kind present) and the stops that
    did not fit (grey)."""
    stops = [st for st in plan.get("stops") or () if _stop_point(st)]
    fitted = sorted((st for st in stops if _fitted(st)), key=lambda st: st["seq"])
    kinds = {_kind(st) for st in fitted}
    legend = [
        LegendItem(_stop_swatch(c), KIND_LABELS[k]) for k, c in KIND_COLORS.items() if k in kinds
    ]
    planned = Overlay(f"巡查点 Stops ({len(fitted)})", legend)
    unfitted = [st for st in stops if not _fitted(st)]
    grey = Overlay(
        f"{UNFITTED_LABEL} ({len(unfitted)})", [LegendItem(_stop_swatch(UNFITTED_COLOR))]
    )
    for stop in fitted:
        plan_stop_marker(stop).add_to(planned)
    for stop in unfitted:
        plan_stop_marker(stop).add_to(grey)
    return planned, grey


def priority_legend(stops: Iterable[dict]) -> Overlay:
    """A legend-only block (never added to a map): one row per priority present."""
    present = sorted({_priority(st) for st in stops})
    rows = [LegendItem(_stop_swatch("#ffffff", p), f"优先级 Priority {p}") for p in present]
    return Overlay(PRIORITY_TITLE, rows)


def office_layer(plan: dict) -> Overlay:
    """The office the route starts from and returns to (two markers if they differ)."""
    layer = Overlay(OFFICE_TITLE, [LegendItem(_office_svg(14, 28))])
    start, finish = plan.get("start"), plan.get("finish")
    leave, back = _hhmm(plan.get("starts_at")), _hhmm(plan.get("returns_at"))
    if start and start == finish:
        _office_marker(start, f"{OFFICE_TITLE} · {leave}–{back}").add_to(layer)
        return layer
    if start:
        _office_marker(start, f"出发 Start · {leave}").add_to(layer)
    if finish:
        _office_marker(finish, f"返回 Finish · {back}").add_to(layer)
    return layer


def plan_heading(plan: dict) -> Overlay:
    """A legend-only block opening the legend: who, when, stops, distance, return time."""
    stops = plan.get("stops") or ()
    fitted = sum(1 for st in stops if _fitted(st))
    kind = PLAN_KINDS.get(plan.get("kind"), "巡查计划 Patrol plan")
    rows = [
        f"计划 {fitted} 个点 stops planned · 未排入 {len(stops) - fitted} not fitted",
        f"距离 Distance {_km(plan.get('distance_m'))} · {_duration(plan.get('duration_s'))}",
        f"出发 Start {_hhmm(plan.get('starts_at'))} · 返回 Back "
        f"{_hhmm(plan.get('returns_at'))}（限 by {_hhmm(plan.get('ends_by'))}）",
    ]
    title = f"{kind} · {_who(plan)} · {plan.get('date') or MISSING}"
    return Overlay(title, [LegendItem(_blank(), row) for row in rows])


# --- finishing -----------------------------------------------------------------------------


def _finish(
    m: folium.Map, layers: Sequence[Overlay], heading: Overlay, extra: Sequence[Overlay] = ()
) -> folium.Map:
    """Add ``layers``, the legend (``heading``, the drawn layers, then legend-only ``extra``
    blocks) and the layer control; the heading's title becomes the page title."""
    m.add_child(PatrolStylesheet())
    add_layers(m, layers)
    finish_map(m)
    legend = next((c for c in m._children.values() if isinstance(c, Legend)), None)
    if legend is None:
        legend = Legend([])
        m.add_child(legend)
    shown = [heading, *(layer for layer in layers if not layer.is_empty()), *extra]
    legend.body = legend_html([block for block in shown if block.legend])
    m.get_root().title = escape(heading.title)
    return m


def plan_map(
    plan: dict,
    grids: Sequence[dict],
    *,
    network: Sequence[dict] = (),
    tile_url: str | None = None,
    attribution: str = "",
    basemaps: Sequence[Basemap] = (),
    to_gcj02: CoordTransform | None = None,
) -> folium.Map:
    """A finished map of one patrol plan: grid outlines, the walking network (faint), the
    animated route, the stops numbered by visiting order (grey when not fitted) and the office.

    The legend opens with the worker, date, stops planned and not fitted, distance and return
    time, then lists the layers (the stop kinds present) and the priorities present.
    """
    draw = projector(basemaps, to_gcj02)
    plan, grids = _drawn_plan(plan, draw), draw(grids)
    planned, unfitted = plan_stop_layers(plan)
    layers = [
        grid_outline_layer(grids),
        network_layer(draw(network)),
        route_layer(plan),
        unfitted,
        planned,
        office_layer(plan),
    ]
    bounds = _bounds([*(g["geometry"] for g in _drawable(grids)), *_plan_geometries(plan)])
    m = base_map(bounds, tile_url, attribution, basemaps=basemaps)
    stops = [st for st in plan.get("stops") or () if _stop_point(st)]
    return _finish(m, layers, plan_heading(plan), [priority_legend(stops)])


# --- tracks --------------------------------------------------------------------------------


def _visit_rows(visit: dict) -> list[tuple[str, object]]:
    return [
        ("实到 Arrived", _hhmm(visit.get("arrived_at"))),
        ("离开 Left", _hhmm(visit.get("left_at"))),
        ("停留 Linger", _minutes(visit.get("linger_s"))),
        ("最近 Closest", _metres(visit.get("closest_m"))),
    ]


def _visited_marker(stop: dict, visit: dict) -> folium.Marker:
    arrived = text(_hhmm(visit.get("arrived_at")))
    icon = stop_icon(stop, VISITED_COLOR, "✓", arrived)
    tip = f"✓ {text(stop.get('label'))} · {arrived}"
    return _stop_marker(stop, icon, tip, [*_stop_rows(stop), *_visit_rows(visit)])


def _missed_marker(stop: dict) -> folium.Marker:
    icon = stop_icon(stop, MISSED_COLOR, "✗")
    tip = f"✗ {text(stop.get('label'))} · 未到访 Missed"
    return _stop_marker(stop, icon, tip, _stop_rows(stop))


def track_stop_layers(plan: dict, track: dict) -> tuple[list[Overlay], tuple[int, int]]:
    """Visited stops (green, arrival time), missed ones (red: listed as missed or fitted and not
    visited) and stops neither fitted nor visited (grey); with (visited, visited + missed)."""
    visits: dict[object, dict] = {}
    for visit in track.get("visits") or ():
        visits.setdefault(visit.get("stop"), visit)
    missed_ids = set(track.get("missed") or ())
    stops = [st for st in plan.get("stops") or () if _stop_point(st)]
    visited = [st for st in stops if st.get("id") in visits]
    missed = [
        st
        for st in stops
        if st.get("id") not in visits and (st.get("id") in missed_ids or _fitted(st))
    ]
    other = [st for st in stops if st not in visited and st not in missed]
    green = Overlay(f"已到访 Visited ({len(visited)})", [LegendItem(_stop_swatch(VISITED_COLOR))])
    red = Overlay(f"未到访 Missed ({len(missed)})", [LegendItem(_stop_swatch(MISSED_COLOR))])
    grey = Overlay(f"{UNFITTED_LABEL} ({len(other)})", [LegendItem(_stop_swatch(UNFITTED_COLOR))])
    for stop in visited:
        _visited_marker(stop, visits[stop["id"]]).add_to(green)
    for stop in missed:
        _missed_marker(stop).add_to(red)
    for stop in other:
        plan_stop_marker(stop).add_to(grey)
    return [grey, red, green], (len(visited), len(visited) + len(missed))


def _coverage_text(coverage: dict) -> str:
    share = number(coverage.get("share"))
    within = number(coverage.get("within_m"))
    return (
        f"路网覆盖 Coverage {MISSING if share is None else f'{share:.0%}'}"
        f" ({_km(coverage.get('walked_m'))} / {_km(coverage.get('network_m'))}"
        + (f", ≤{within:g} m)" if within is not None else ")")
    )


def track_line_layers(plan: dict, track: dict) -> list[Overlay]:
    """Covered network (thick green, under), planned route (faint), walked line, gaps."""
    coverage = track.get("coverage") or {}
    share = number(coverage.get("share"))
    title = "已覆盖路网 Covered network" + ("" if share is None else f" ({share:.0%})")
    covered = Overlay(title, [LegendItem(s.line_swatch(COVERED))])
    if coverage.get("covered"):
        _line(coverage["covered"], COVERED, _coverage_text(coverage)).add_to(covered)
    planned = Overlay("计划路线 Planned route", [LegendItem(s.line_swatch(PLANNED))])
    if plan.get("route"):
        _line(plan["route"], PLANNED, f"{planned.title} · {_km(plan.get('distance_m'))}").add_to(
            planned
        )
    walked = Overlay(
        f"实际轨迹 Walked ({_km(track.get('length_m'))})", [LegendItem(s.line_swatch(WALKED))]
    )
    if track.get("geometry"):
        _line(track["geometry"], WALKED, walked.title).add_to(walked)
    gaps = [g for g in track.get("gaps") or () if g.get("start") and g.get("end")]
    gap_layer = Overlay(f"GPS 中断 Gaps ({len(gaps)})", [LegendItem(s.line_swatch(GAP))])
    for gap in gaps:
        line = {"type": "LineString", "coordinates": [gap["start"], gap["end"]]}
        _line(line, GAP, _gap_text(gap)).add_to(gap_layer)
    return [covered, planned, walked, gap_layer]


def _gap_text(gap: dict) -> str:
    return (
        f"GPS 中断 Gap {_hhmm(gap.get('from'))}–{_hhmm(gap.get('to'))}"
        f" · {_minutes(gap.get('seconds'))} · {_metres(gap.get('distance_m'))}"
    )


def track_heading(plan: dict, track: dict, visited: int, expected: int) -> Overlay:
    """A legend-only block: who, when, visited n/N, coverage, time outside, gaps."""
    rows = [
        f"到访 Visited {visited}/{expected}",
        _coverage_text(track.get("coverage") or {}),
        f"区域外 Outside {_minutes(track.get('outside_s'))}",
        f"GPS 中断 Gaps {len(track.get('gaps') or ())}",
        f"轨迹 Track {_hhmm(track.get('started_at'))}–"
        f"{_hhmm(track.get('ended_at'))} · {_km(track.get('length_m'))}",
    ]
    title = f"巡查轨迹 Patrol track · {_who(plan)} · {plan.get('date') or MISSING}"
    return Overlay(title, [LegendItem(_blank(), row) for row in rows])


def track_map(
    plan: dict,
    grids: Sequence[dict],
    track: dict,
    *,
    network: Sequence[dict] = (),
    tile_url: str | None = None,
    attribution: str = "",
    basemaps: Sequence[Basemap] = (),
    to_gcj02: CoordTransform | None = None,
) -> folium.Map:
    """A finished map of a walked track against its plan: grid outlines, the walking network,
    the covered network (thick green), the planned route (faint), the walked line, GPS gaps
    (dashed grey), then the stops visited (green, ✓ and arrival time) and missed (red).

    The legend opens with visited n/N, the coverage share, minutes outside and the gap count.
    """
    draw = projector(basemaps, to_gcj02)
    plan, track, grids = _drawn_plan(plan, draw), _drawn_track(track, draw), draw(grids)
    stop_layers, (visited, expected) = track_stop_layers(plan, track)
    layers = [
        grid_outline_layer(grids),
        network_layer(draw(network)),
        *track_line_layers(plan, track),
        *stop_layers,
        office_layer(plan),
    ]
    geometries = [*(g["geometry"] for g in _drawable(grids)), *_plan_geometries(plan)]
    m = base_map(
        _bounds([*geometries, track.get("geometry")]), tile_url, attribution, basemaps=basemaps
    )
    stops = [st for st in plan.get("stops") or () if _stop_point(st)]
    return _finish(
        m, layers, track_heading(plan, track, visited, expected), [priority_legend(stops)]
    )


# --- village days --------------------------------------------------------------------------


def _team_key(plan: dict) -> tuple[bool, object]:
    team = plan.get("team")
    return (team is None, team if team is not None else 0)


def team_layer(plan: dict, colour: str) -> Overlay:
    """One team's sector (filled), route (animated) and stops, all in the team colour."""
    stops = [st for st in plan.get("stops") or () if _stop_point(st)]
    fitted = sum(1 for st in stops if _fitted(st))
    summary = (
        f"{fitted} 个点 stops · {_km(plan.get('distance_m'))} · 返回 Back "
        f"{_hhmm(plan.get('returns_at'))}"
    )
    if fitted < len(stops):
        summary += f" · {UNFITTED_LABEL} {len(stops) - fitted}"
    sector = s.grid_style(colour) | {"fillOpacity": SECTOR_FILL_OPACITY}
    layer = Overlay(_who(plan), [LegendItem(s.area_swatch(sector), summary)])
    if plan.get("sector"):
        folium.GeoJson(
            {"type": "Feature", "geometry": plan["sector"], "properties": {}},
            style_function=lambda _: dict(sector),
            tooltip=folium.Tooltip(text(f"{_who(plan)} · {summary}"), style=TOOLTIP_STYLE),
        ).add_to(layer)
    for part in _parts(plan.get("route")):
        _ant_path(part, colour, f"{_who(plan)} · {_km(plan.get('distance_m'))}").add_to(layer)
    for stop in stops:
        plan_stop_marker(stop, colour).add_to(layer)
    return layer


def village_day_heading(village_day: dict, community: dict) -> Overlay:
    """A legend-only block: the community, date, teams, stops and distance in all."""
    plans = village_day.get("plans") or ()
    stops = sum(1 for p in plans for st in p.get("stops") or () if _fitted(st))
    metres = sum(number(p.get("distance_m")) or 0.0 for p in plans)
    name = (community.get("properties") or {}).get("name") or village_day.get("community")
    title = f"巡查日 Village day · {name or MISSING} · {village_day.get('date') or MISSING}"
    row = f"{len(plans)} 组 teams · {stops} 个点 stops · {_km(metres)}"
    return Overlay(title, [LegendItem(_blank(), row)])


def village_day_map(
    village_day: dict,
    community: dict,
    *,
    network: Sequence[dict] = (),
    tile_url: str | None = None,
    attribution: str = "",
    basemaps: Sequence[Basemap] = (),
    to_gcj02: CoordTransform | None = None,
) -> folium.Map:
    """A finished map of a village day: the walking network, one layer per team (its sector
    filled in the team colour, its animated route and its numbered stops, grey when not
    fitted) and the community outline. The legend has one row per team: stops, distance,
    return time.
    """
    draw = projector(basemaps, to_gcj02)
    (community,) = draw([community])
    plans = sorted((_drawn_plan(p, draw) for p in village_day.get("plans") or ()), key=_team_key)
    palette = s.GRID_PALETTE
    teams = [team_layer(plan, palette[i % len(palette)]) for i, plan in enumerate(plans)]
    layers = [network_layer(draw(network)), *teams, community_outline_layer(community)]
    m = base_map(community_bounds(community), tile_url, attribution, basemaps=basemaps)
    stops = [st for p in plans for st in p.get("stops") or () if _stop_point(st)]
    heading = village_day_heading(village_day, community)
    return _finish(m, layers, heading, [priority_legend(stops)])
