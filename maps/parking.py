"""Parking maps: a compound's parking layout at true scale, and two versions side by side.

Layouts are the dicts of the parking API (WGS84 lon/lat; see ``layout_map``); the compound, its
buildings, roads and site features are GeoJSON Features. Over a GCJ-02 basemap every position,
painted lines included, is drawn converted by ``to_gcj02``.

Roads are drawn as carriageways of their true width (the centre line buffered by half its
``width_m`` in a local transverse Mercator projection), fire lanes with their clear corridor
hatched. Stalls are filled by kind (accessible ones blue, with a marker) under their painted
lines (white; the non-motor bays' yellow); stall numbers show from zoom ``LABEL_ZOOM`` on and in
every stall's tooltip. Violations are red. The legend opens with the layout's totals.

``compare_map`` draws two versions in the synchronised panes of a ``folium.plugins.DualMap``
(Leaflet.Sync is served like every asset: see ``maps.assets``), the stalls removed outlined red
on the left, those added outlined green on the right.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from html import escape

import folium
import numpy as np
import shapely
from branca.element import MacroElement
from folium.plugins import DualMap
from jinja2 import Template
from pyproj import CRS, Transformer
from shapely.geometry import mapping, shape

from maps import style as s
from maps.base import (
    FONT,
    Legend,
    LegendItem,
    Overlay,
    Stylesheet,
    add_controls,
    add_layers,
    finish_map,
    legend_html,
)
from maps.basemaps import Basemap, CoordTransform, add_basemaps, custom, overlay_crs, projector
from maps.layers import (
    MISSING,
    ROAD_KINDS,
    Field,
    building_layer,
    compound_layer,
    geojson_layer,
    site_feature_layers,
)
from maps.values import number

Draw = Callable[[Sequence[dict]], list[dict]]
Bounds = tuple[float, float, float, float]

MAX_ZOOM = 22
"""Deepest zoom of the parking maps (a 2.5 m stall is ~40 px wide); tiles are scaled up."""
FIT_ZOOM = 21
"""Deepest zoom the map opens at, fitted to the compound."""
LABEL_ZOOM = 20
"""Stall numbers and bay capacities show from this zoom on."""
MATCH_M = 0.5
"""Two versions' stalls are the same stall when of one kind with centroids this close."""
FIRE_LANE_CLEAR_M = 4.0
"""Clear width a fire lane keeps along its centre line (``ParkingParams.fire_lane_clear_m``)."""

STALL_KINDS: dict[str, str] = {
    "perpendicular": "垂直 Perpendicular",
    "parallel": "平行 Parallel",
    "angle_60": "斜列 60° Angled",
    "angle_45": "斜列 45° Angled",
    "angle_30": "斜列 30° Angled",
}
STALL_COLORS: dict[str, str] = {
    "perpendicular": "#fdb863",
    "parallel": "#b2abd2",
    "angle_60": "#80cdc1",
    "angle_45": "#dfc27d",
    "angle_30": "#ffffb3",
}
ACCESSIBLE_COLOR = "#2166ac"
BAY_KINDS: dict[str, str] = {"ebike": "电动车 E-bikes", "bicycle": "自行车 Bicycles"}
STATUSES: dict[str, str] = {
    "draft": "草案 Draft",
    "approved": "已批准 Approved",
    "painted": "已施划 Painted",
}
ROAD_WIDTHS_M: dict[str, float] = {
    "street": 7.0,
    "internal_road": 4.0,
    "fire_lane": 4.0,
    "footpath": 1.5,
}
"""Carriageway width drawn for a road without a usable ``width_m``."""
OTHER_ROAD_WIDTH_M = 3.0

CARRIAGEWAY: s.Style = {"color": "#969696", "weight": 1, "fillColor": "#d9d9d9", "fillOpacity": 0.9}
CARRIAGEWAYS: dict[str, s.Style] = {
    "street": CARRIAGEWAY | {"fillColor": "#bdbdbd"},
    "internal_road": CARRIAGEWAY,
    "fire_lane": CARRIAGEWAY | {"color": "#d7301f"},
    "footpath": CARRIAGEWAY | {"color": "#bdbdbd", "weight": 0.5, "fillColor": "#f0f0f0"},
}
FIRE_CORRIDOR: s.Style = {
    "color": "#d7301f",
    "weight": 1.5,
    "dashArray": "6 4",
    "fillColor": f"url(#{s.HATCH_ID})",
    "fillOpacity": 0.8,
}
AISLE: s.Style = {
    "color": "#bdbdbd",
    "weight": 1,
    "dashArray": "3 3",
    "fillColor": "#ffffff",
    "fillOpacity": 0.6,
}
BAY: s.Style = {"color": "#c51b8a", "weight": 0.5, "fillColor": "#fa9fb5", "fillOpacity": 0.7}
STALL_LINES: s.Style = {"color": "#ffffff", "weight": 1.5, "opacity": 1.0}
BAY_LINES: s.Style = {"color": "#ffd92f", "weight": 1.5, "opacity": 1.0}
VIOLATION: s.Style = {
    "color": "#e31a1c",
    "weight": 3,
    "fillColor": "#e31a1c",
    "fillOpacity": 0.35,
    "radius": 7,
}
REMOVED: s.Style = {"color": "#e31a1c", "weight": 3, "dashArray": "4 3", "fill": False}
ADDED: s.Style = {"color": "#1a9850", "weight": 3, "fill": False}


def stall_style(color: str) -> s.Style:
    """Style of a stall filled with ``color``."""
    return {"color": "#525252", "weight": 0.5, "fillColor": color, "fillOpacity": 0.8}


class ParkingStylesheet(MacroElement):
    """CSS of the stall labels and accessible markers (one copy per page)."""

    _template = Template(
        """
{% macro header(this, kwargs) %}
<style>
.gridline-stall-number div { display: none; position: absolute; left: 0; top: 0;
  transform: translate(-50%, -50%); white-space: nowrap; pointer-events: none;
  font: bold 10px/1 {{ this.font }}; color: #1a1a1a; text-shadow: 0 0 2px #fff, 0 0 2px #fff; }
.gridline-near .gridline-stall-number div { display: block; }
.gridline-accessible div { box-sizing: border-box; width: 100%; height: 100%;
  border-radius: 50%; border: 1.5px solid #fff; background: {{ this.accessible }};
  color: #fff; font: bold 10px/1 {{ this.font }}; display: flex; align-items: center;
  justify-content: center; }
</style>
{% endmacro %}
"""
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "GridlineParkingStylesheet"
        self.font = FONT
        self.accessible = ACCESSIBLE_COLOR


class NearZoom(MacroElement):
    """Marks the map's container ``gridline-near`` from zoom ``LABEL_ZOOM`` on (labels show)."""

    _template = Template(
        """
{% macro script(this, kwargs) %}
(function (map) {
    function mark() {
        map.getContainer().classList.toggle("gridline-near", map.getZoom() >= {{ this.zoom }});
    }
    map.on("zoomend", mark);
    mark();
})({{ this._parent.get_name() }});
{% endmacro %}
"""
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "NearZoom"
        self.zoom = LABEL_ZOOM


# --- values --------------------------------------------------------------------------------


def _props(feature: dict) -> dict:
    return feature.get("properties") or {}


def _count(value: object) -> str:
    n = number(value)
    return MISSING if n is None else f"{n:g}"


def _metres(value: object) -> str:
    n = number(value)
    return MISSING if n is None else f"{n:.1f} m"


def _share(value: object) -> str:
    n = number(value)
    return MISSING if n is None else f"{n:.0%}"


def _change(before: object, after: object, fmt: Callable[[object], str] = _count) -> str:
    """``before → after (+d)``; the difference only when both are numbers."""
    shown = f"{fmt(before)} → {fmt(after)}"
    a, b = number(before), number(after)
    if a is None or b is None:
        return shown
    if a == b:
        return f"{shown} (±0)"
    return f"{shown} ({'+' if b > a else '−'}{fmt(abs(b - a))})"


def _stall_kind(stall: dict) -> str:
    kind = _props(stall).get("kind")
    if kind not in STALL_KINDS:
        raise ValueError(f"stall {_props(stall).get('number')}: unknown kind {kind!r}")
    return kind


def _labelled(labels: Mapping[str, str]) -> Callable[[object], object]:
    return lambda v: labels.get(v, v) if isinstance(v, str) else v


# --- geometry ------------------------------------------------------------------------------


def _features(collection: dict | None) -> list[dict]:
    return [f for f in (collection or {}).get("features") or () if f.get("geometry")]


def _feature(geometry: dict, properties: dict | None = None) -> dict:
    return {"type": "Feature", "geometry": geometry, "properties": properties or {}}


def _bounds(features: Iterable[dict]) -> Bounds:
    boxes = [shape(f["geometry"]).bounds for f in features if f.get("geometry")]
    if not boxes:
        raise ValueError("nothing to draw: neither the compound nor any stall has a geometry")
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def _local(features: Sequence[dict]) -> tuple[Transformer, Transformer]:
    """WGS84 -> metres and back, in a transverse Mercator centred on ``features``."""
    min_lon, min_lat, max_lon, max_lat = _bounds(features)
    local = CRS.from_dict(
        {
            "proj": "tmerc",
            "lon_0": (min_lon + max_lon) / 2,
            "lat_0": (min_lat + max_lat) / 2,
            "k": 1,
            "ellps": "WGS84",
            "units": "m",
        }
    )
    return (
        Transformer.from_crs("EPSG:4326", local, always_xy=True),
        Transformer.from_crs(local, "EPSG:4326", always_xy=True),
    )


def _buffered(features: Sequence[dict], half_widths: Sequence[float]) -> list[dict]:
    """``features`` with their geometry buffered by ``half_widths`` metres (round ends)."""
    if not features:
        return []
    to_m, to_deg = _local(features)
    metric = [
        shapely.transform(shape(f["geometry"]), to_m.transform, interleaved=False) for f in features
    ]
    return [
        {
            **f,
            "geometry": mapping(
                shapely.transform(g.buffer(w), to_deg.transform, interleaved=False)
            ),
        }
        for f, g, w in zip(features, metric, half_widths, strict=True)
    ]


def _road_width(road: dict) -> float:
    props = _props(road)
    width = number(props.get("width_m"))
    if width is not None and width > 0:
        return width
    return ROAD_WIDTHS_M.get(props.get("kind"), OTHER_ROAD_WIDTH_M)


def carriageways(roads: Sequence[dict]) -> list[dict]:
    """Each road as its carriageway: the centre line buffered by half its width."""
    roads = [r for r in roads if r.get("geometry")]
    return _buffered(roads, [_road_width(r) / 2 for r in roads])


def fire_corridors(roads: Sequence[dict]) -> list[dict]:
    """The clear corridor (``FIRE_LANE_CLEAR_M`` wide) along each fire lane."""
    lanes = [r for r in roads if r.get("geometry") and _props(r).get("kind") == "fire_lane"]
    return _buffered(lanes, [FIRE_LANE_CLEAR_M / 2] * len(lanes))


def _unmatched(stalls: Sequence[dict], others: Sequence[dict], to_m: Transformer) -> list[dict]:
    """The ``stalls`` with no stall of ``others`` of their kind within ``MATCH_M`` metres."""
    if not stalls or not others:
        return list(stalls)

    def centres(features: Sequence[dict]) -> np.ndarray:
        points = [shape(f["geometry"]).centroid for f in features]
        x, y = to_m.transform([p.x for p in points], [p.y for p in points])
        return np.column_stack([x, y])

    apart = centres(stalls)[:, None, :] - centres(others)[None, :, :]
    near = np.hypot(apart[..., 0], apart[..., 1]) <= MATCH_M
    kinds = np.array([_stall_kind(f) for f in others])
    same = np.array([_stall_kind(f) for f in stalls])[:, None] == kinds[None, :]
    matched = (near & same).any(axis=1)
    return [f for f, ok in zip(stalls, matched, strict=True) if not ok]


def stall_changes(before: dict, after: dict) -> tuple[list[dict], list[dict]]:
    """(removed, added): the stalls of ``before`` that ``after`` no longer has, and the
    stalls new in ``after``; stalls match by kind and centroids within ``MATCH_M``."""
    old, new = _features(before.get("stalls")), _features(after.get("stalls"))
    if not old or not new:
        return old, new
    to_m, _ = _local([*old, *new])
    return _unmatched(old, new, to_m), _unmatched(new, old, to_m)


# --- drawn payloads ------------------------------------------------------------------------


@dataclass(frozen=True)
class Site:
    """The compound and what is in it, in the drawn coordinates."""

    compound: dict
    buildings: list[dict]
    carriageways: list[dict]
    corridors: list[dict]
    areas: list[dict]
    """Green areas and keep-clear zones (drawn under the stalls)."""
    points: list[dict]
    """Every other site feature: hydrants, gates, trees, shops (drawn over them)."""


AREA_KINDS = frozenset({"green_area", "keep_clear"})


def drawn_site(
    compound: dict,
    buildings: Sequence[dict],
    roads: Sequence[dict],
    site_features: Sequence[dict],
    draw: Draw,
) -> Site:
    """The site with roads as carriageways and fire corridors, all through ``draw``."""
    (compound,) = draw([compound])
    return Site(
        compound=compound,
        buildings=draw(buildings),
        carriageways=draw(carriageways(roads)),
        corridors=draw(fire_corridors(roads)),
        areas=draw([f for f in site_features if _props(f).get("kind") in AREA_KINDS]),
        points=draw([f for f in site_features if _props(f).get("kind") not in AREA_KINDS]),
    )


@dataclass(frozen=True)
class Drawn:
    """A layout's shapes as Features in the drawn coordinates."""

    stalls: list[dict]
    stall_lines: list[dict]
    bays: list[dict]
    bay_lines: list[dict]
    aisles: list[dict]
    violations: list[dict]


def _lines(features: Sequence[dict]) -> list[dict]:
    """The painted lines of stalls or bays, as Features of their own."""
    return [_feature(_props(f)["lines"]) for f in features if _props(f).get("lines")]


def _violations(layout: dict) -> list[dict]:
    """Violations as Features; one without geometry is drawn on its stall, if it has one."""
    stalls = {_props(f).get("number"): f["geometry"] for f in _features(layout.get("stalls"))}
    found = []
    for violation in layout.get("violations") or ():
        geometry = violation.get("geometry") or stalls.get(violation.get("stall"))
        if geometry:
            keys = ("stall", "rule", "message")
            found.append(_feature(geometry, {k: violation.get(k) for k in keys}))
    return found


def drawn_layout(layout: dict, draw: Draw) -> Drawn:
    """The layout's stalls, bays, painted lines, aisles and violations through ``draw``."""
    stalls, bays = _features(layout.get("stalls")), _features(layout.get("bays"))
    return Drawn(
        stalls=draw(stalls),
        stall_lines=draw(_lines(stalls)),
        bays=draw(bays),
        bay_lines=draw(_lines(bays)),
        aisles=draw(_features(layout.get("aisles"))),
        violations=draw(_violations(layout)),
    )


# --- layers --------------------------------------------------------------------------------


def _blank() -> str:
    return '<svg width="28" height="14" aria-hidden="true"></svg>'


def _paint_swatch(style: s.Style) -> str:
    """A painted line on a dark ground (white lines would not show on the legend's)."""
    return (
        '<svg width="28" height="14" viewBox="0 0 28 14" aria-hidden="true">'
        '<rect x="2" y="2" width="24" height="10" fill="#737373"/>'
        f'<line x1="4" y1="7" x2="24" y2="7" stroke="{style["color"]}" stroke-width="2"/></svg>'
    )


def carriageway_layer(roads: Sequence[dict]) -> Overlay:
    """Carriageways of their true width, shaded by road kind."""
    kinds = {_props(r).get("kind") for r in roads}
    legend = [
        LegendItem(s.area_swatch(CARRIAGEWAYS[kind]), label)
        for kind, label in ROAD_KINDS.items()
        if kind in kinds
    ]
    layer = Overlay("道路 Roads（车行道 carriageways）", legend)
    if roads:
        fields = [
            Field("name", "道路 Road"),
            Field("kind", "类型 Kind", _labelled(ROAD_KINDS)),
            Field("width_m", "宽度 Width (m)"),
        ]
        styles = [dict(CARRIAGEWAYS.get(_props(r).get("kind"), CARRIAGEWAY)) for r in roads]
        geojson_layer(roads, fields, styles).add_to(layer)
    return layer


def fire_lane_layer(corridors: Sequence[dict]) -> Overlay:
    """The fire lanes' clear corridors, hatched red."""
    title = f"消防通道 Fire lanes（净宽 clear {FIRE_LANE_CLEAR_M:g} m）"
    layer = Overlay(title, [LegendItem(s.area_swatch(FIRE_CORRIDOR))])
    if corridors:
        fields = [Field("name", "消防通道 Fire lane"), Field("width_m", "宽度 Width (m)")]
        geojson_layer(corridors, fields, lambda _: dict(FIRE_CORRIDOR)).add_to(layer)
    return layer


def aisle_layer(aisles: Sequence[dict]) -> Overlay:
    """The aisles the layout added, light."""
    layer = Overlay("通道 Aisles", [LegendItem(s.area_swatch(AISLE))])
    if aisles:
        folium.GeoJson(
            {"type": "FeatureCollection", "features": list(aisles)},
            style_function=lambda _: dict(AISLE),
            interactive=False,
        ).add_to(layer)
    return layer


def _stall_fill(stall: dict) -> str:
    if _props(stall).get("accessible"):
        return ACCESSIBLE_COLOR
    return STALL_COLORS[_stall_kind(stall)]


def _accessible_marker(stall: dict) -> folium.Marker:
    point = shape(stall["geometry"]).representative_point()
    icon = folium.DivIcon(
        html="<div>♿</div>", icon_size=(14, 14), class_name="gridline-accessible"
    )
    return folium.Marker((point.y, point.x), icon=icon, interactive=False, keyboard=False)


def stall_layer(stalls: Sequence[dict]) -> Overlay:
    """Stalls filled by kind (accessible ones blue, marked ♿), number, kind, angle and source
    in the tooltip."""
    kinds = [k for k in STALL_COLORS if any(_stall_kind(st) == k for st in stalls)]
    swatch = s.palette_swatch([STALL_COLORS[k] for k in kinds], 0.8)
    layer = Overlay(f"车位 Stalls ({len(stalls)})", [LegendItem(swatch)])
    if stalls:
        fields = [
            Field("number", "车位 Stall"),
            Field("kind", "类型 Kind", _labelled(STALL_KINDS)),
            Field("angle", "角度 Angle (°)"),
            Field("source", "来源 Source"),
            Field("accessible", "无障碍 Accessible"),
        ]
        geojson_layer(stalls, fields, [stall_style(_stall_fill(st)) for st in stalls]).add_to(layer)
    for stall in stalls:
        if _props(stall).get("accessible"):
            _accessible_marker(stall).add_to(layer)
    return layer


def bay_layer(bays: Sequence[dict]) -> Overlay:
    """Non-motor bays with their kind and capacity."""
    capacity = sum(number(_props(b).get("capacity")) or 0 for b in bays)
    row = f"{len(bays)} 处 bays · 容量 capacity {capacity:g}"
    layer = Overlay(
        f"非机动车位 Non-motor bays ({len(bays)})", [LegendItem(s.area_swatch(BAY), row)]
    )
    if bays:
        fields = [
            Field("number", "车棚 Bay"),
            Field("kind", "类型 Kind", _labelled(BAY_KINDS)),
            Field("capacity", "容量 Capacity"),
        ]
        geojson_layer(bays, fields, lambda _: dict(BAY)).add_to(layer)
    return layer


def paint_layer(drawn: Drawn, totals: dict) -> Overlay:
    """The painted lines: stalls' white, bays' yellow (lengths from the totals)."""
    painted, nonmotor = number(totals.get("painted_m")), number(totals.get("nonmotor_lines_m"))
    stall_m = painted - nonmotor if painted is not None and nonmotor is not None else None
    legend = [
        LegendItem(_paint_swatch(STALL_LINES), f"车位线 Stall lines {_metres(stall_m)}"),
        LegendItem(_paint_swatch(BAY_LINES), f"非机动车线 Non-motor lines {_metres(nonmotor)}"),
    ]
    layer = Overlay(f"标线 Painted lines ({_metres(painted)})", legend)
    for lines, style in ((drawn.stall_lines, STALL_LINES), (drawn.bay_lines, BAY_LINES)):
        if lines:
            folium.GeoJson(
                {"type": "FeatureCollection", "features": list(lines)},
                style_function=lambda _, style=style: dict(style),
                interactive=False,
            ).add_to(layer)
    return layer


def _label(feature: dict, html: str) -> folium.Marker:
    point = shape(feature["geometry"]).representative_point()
    icon = folium.DivIcon(
        html=f"<div>{html}</div>", icon_size=(0, 0), class_name="gridline-stall-number"
    )
    return folium.Marker((point.y, point.x), icon=icon, interactive=False, keyboard=False)


def label_layer(stalls: Sequence[dict], bays: Sequence[dict]) -> Overlay:
    """Stall numbers and bay capacities, shown from zoom ``LABEL_ZOOM`` on."""
    swatch = (
        '<svg width="28" height="14" aria-hidden="true"><text x="14" y="11" font-size="10"'
        ' font-weight="bold" text-anchor="middle">12</text></svg>'
    )
    layer = Overlay(f"编号 Numbers（缩放 zoom ≥ {LABEL_ZOOM}）", [LegendItem(swatch)])
    for stall in stalls:
        _label(stall, escape(_count(_props(stall).get("number")))).add_to(layer)
    for bay in bays:
        _label(bay, f"{escape(_count(_props(bay).get('capacity')))} 辆").add_to(layer)
    return layer


def violation_layer(violations: Sequence[dict], count: int) -> Overlay:
    """Violations in red, the message in the tooltip; ``count`` includes undrawable ones."""
    layer = Overlay(f"违规 Violations ({count})", [LegendItem(s.area_swatch(VIOLATION))])
    if violations:
        fields = [
            Field("message", "违规 Violation"),
            Field("rule", "规则 Rule"),
            Field("stall", "车位 Stall"),
        ]
        marker = folium.CircleMarker()
        geojson_layer(violations, fields, lambda _: dict(VIOLATION), marker=marker).add_to(layer)
    return layer


def outline_layer(title: str, stalls: Sequence[dict], style: s.Style) -> Overlay:
    """``stalls`` outlined with ``style`` (the stalls a version added or removed)."""
    layer = Overlay(f"{title} ({len(stalls)})", [LegendItem(s.area_swatch(style))])
    if stalls:
        fields = [Field("number", "车位 Stall"), Field("kind", "类型 Kind", _labelled(STALL_KINDS))]
        geojson_layer(stalls, fields, lambda _: dict(style)).add_to(layer)
    return layer


def layout_layers(layout: dict, drawn: Drawn, site: Site) -> list[Overlay]:
    """Every layer of a layout over its site, bottom to top."""
    return [
        compound_layer([site.compound]),
        *site_feature_layers(site.areas),
        building_layer(site.buildings),
        carriageway_layer(site.carriageways),
        fire_lane_layer(site.corridors),
        aisle_layer(drawn.aisles),
        stall_layer(drawn.stalls),
        bay_layer(drawn.bays),
        paint_layer(drawn, layout.get("totals") or {}),
        *site_feature_layers(site.points),
        label_layer(drawn.stalls, drawn.bays),
        violation_layer(drawn.violations, len(layout.get("violations") or ())),
    ]


# --- headings ------------------------------------------------------------------------------


def _name(layout: dict, compound: dict) -> str:
    return str(
        (layout.get("compound") or {}).get("name") or _props(compound).get("name") or MISSING
    )


def _version(layout: dict) -> str:
    status = layout.get("status")
    return f"v{layout.get('version')} · {STATUSES.get(status, status or MISSING)}"


def _kind_rows(by_kind: dict, fmt: Callable[[str], str]) -> list[LegendItem]:
    return [
        LegendItem(s.area_swatch(stall_style(STALL_COLORS[kind])), f"{label} {fmt(kind)}")
        for kind, label in STALL_KINDS.items()
        if number(by_kind.get(kind))
    ]


def layout_heading(layout: dict, compound: dict, prefix: str = "") -> Overlay:
    """A legend-only block: the compound, version and status, stalls by kind, accessible
    stalls, non-motor capacity, painted metres, m² per stall and the ratios to the bounds."""
    t = layout.get("totals") or {}
    by_kind = t.get("by_kind") or {}
    accessible = s.area_swatch(stall_style(ACCESSIBLE_COLOR))
    rows = [
        LegendItem(_blank(), f"车位 Stalls {_count(t.get('stalls'))}"),
        *_kind_rows(by_kind, lambda kind: _count(by_kind.get(kind))),
        LegendItem(accessible, f"无障碍 Accessible {_count(t.get('accessible'))}"),
        LegendItem(
            s.area_swatch(BAY),
            f"非机动车 Non-motor {_count(t.get('nonmotor_capacity'))}"
            f"（{_count(t.get('bays'))} 处 bays）",
        ),
        LegendItem(_blank(), f"标线 Painted {_metres(t.get('painted_m'))}"),
        LegendItem(_blank(), f"每车位 Per stall {_count(t.get('m2_per_stall'))} m²"),
        LegendItem(
            _blank(),
            f"路缘上限 Kerb bound {_count(t.get('kerb_bound'))} ({_share(t.get('kerb_ratio'))})",
        ),
        LegendItem(
            _blank(),
            f"面积上限 Area bound {_count(t.get('area_bound'))} ({_share(t.get('area_ratio'))})",
        ),
    ]
    if layout.get("note"):
        rows.append(LegendItem(_blank(), f"备注 Note: {layout['note']}"))
    title = f"{prefix}{_name(layout, compound)} · 停车方案 Parking layout {_version(layout)}"
    return Overlay(title, rows)


def change_heading(before: dict, after: dict, compound: dict, removed: int, added: int) -> Overlay:
    """A legend-only block: each total before → after with its difference, stalls added and
    removed."""
    b, a = before.get("totals") or {}, after.get("totals") or {}
    kinds_b, kinds_a = b.get("by_kind") or {}, a.get("by_kind") or {}
    kinds = {**kinds_b, **kinds_a}
    rows = [
        LegendItem(_blank(), f"车位 Stalls {_change(b.get('stalls'), a.get('stalls'))}"),
        *_kind_rows(kinds, lambda kind: _change(kinds_b.get(kind, 0), kinds_a.get(kind, 0))),
        LegendItem(
            s.area_swatch(stall_style(ACCESSIBLE_COLOR)),
            f"无障碍 Accessible {_change(b.get('accessible'), a.get('accessible'))}",
        ),
        LegendItem(
            s.area_swatch(BAY),
            f"非机动车 Non-motor {_change(b.get('nonmotor_capacity'), a.get('nonmotor_capacity'))}",
        ),
        LegendItem(
            _blank(), f"标线 Painted {_change(b.get('painted_m'), a.get('painted_m'), _metres)}"
        ),
        LegendItem(s.area_swatch(ADDED), f"新增 Added {added}"),
        LegendItem(s.area_swatch(REMOVED), f"移除 Removed {removed}"),
    ]
    title = (
        f"{_name(after, compound)} · 对比 Compare v{before.get('version')} → "
        f"v{after.get('version')}"
    )
    return Overlay(title, rows)


# --- maps ----------------------------------------------------------------------------------


def _basemaps(tile_url: str | None, attribution: str, basemaps: Sequence[Basemap]) -> list[Basemap]:
    """``basemaps``, or the ``tile_url`` shorthand for one custom basemap (as ``base_map``)."""
    if tile_url is None:
        return list(basemaps)
    if basemaps:
        raise ValueError("give either tile_url or basemaps, not both")
    return [custom(tile_url, attribution)]


def _map_options(bounds: Bounds) -> dict:
    """Options of a map (or both panes of a ``DualMap``) centred on ``bounds``, as
    ``base_map``'s."""
    min_lon, min_lat, max_lon, max_lat = bounds
    centre = ((min_lat + max_lat) / 2, (min_lon + max_lon) / 2)
    return {"location": centre, "zoom_start": 16, "tiles": None, "control_scale": True}


def _prepare(m: folium.Map, bounds: Bounds, basemaps: Sequence[Basemap]) -> None:
    """Give ``m`` its basemaps and the standard controls (as ``base_map``), let it and its
    tiles zoom to ``MAX_ZOOM``, mark it near from ``LABEL_ZOOM`` and fit it to ``bounds``."""
    add_basemaps(m, basemaps)
    add_controls(m, overlay_crs(basemaps))
    m.options["max_zoom"] = MAX_ZOOM
    stack = list(m._children.values())
    while stack:
        child = stack.pop()
        if isinstance(child, folium.TileLayer):
            child.options["max_zoom"] = MAX_ZOOM
        stack.extend(child._children.values())
    m.add_child(NearZoom())
    min_lon, min_lat, max_lon, max_lat = bounds
    m.fit_bounds([[min_lat, min_lon], [max_lat, max_lon]], max_zoom=FIT_ZOOM)


def _finish(
    m: folium.Map,
    layers: Sequence[Overlay],
    legend: Sequence[Overlay],
    *,
    position: str = "bottomright",
    collapsed: bool = False,
) -> folium.Map:
    """Add ``layers`` and the layer control, and a legend at ``position`` of the ``legend``
    blocks (legend-only headings, or layers: those left empty are left out)."""
    add_layers(m, layers)
    finish_map(m, collapsed=collapsed)
    control = next((c for c in m._children.values() if isinstance(c, Legend)), None)
    if control is None:
        control = Legend([])
        m.add_child(control)
    control.position = position
    shown = [b for b in legend if b.legend and not (b in layers and b.is_empty())]
    control.body = legend_html(shown)
    return m


def layout_map(
    layout: dict,
    compound: dict,
    *,
    buildings: Sequence[dict] = (),
    roads: Sequence[dict] = (),
    site_features: Sequence[dict] = (),
    tile_url: str | None = None,
    attribution: str = "",
    basemaps: Sequence[Basemap] = (),
    to_gcj02: CoordTransform | None = None,
) -> folium.Map:
    """A finished map of one parking layout at true scale (zoom up to ``MAX_ZOOM``): the
    compound, green areas and keep-clear zones, buildings, carriageways, fire-lane corridors
    (hatched), aisles, stalls by kind, non-motor bays, painted lines, hydrants and gates,
    stall numbers (from zoom ``LABEL_ZOOM``) and violations (red, the message in the tooltip).

    The legend opens with the layout's totals (``layout_heading``).
    """
    basemaps = _basemaps(tile_url, attribution, basemaps)
    draw = projector(basemaps, to_gcj02)
    site = drawn_site(compound, buildings, roads, site_features, draw)
    drawn = drawn_layout(layout, draw)
    bounds = _bounds([site.compound, *drawn.stalls, *drawn.bays])
    m = folium.Map(**_map_options(bounds))
    _prepare(m, bounds, basemaps)
    m.add_child(Stylesheet())
    m.add_child(ParkingStylesheet())
    heading = layout_heading(layout, compound)
    m.get_root().title = escape(heading.title)
    layers = layout_layers(layout, drawn, site)
    return _finish(m, layers, [heading, *layers])


def compare_map(
    before: dict,
    after: dict,
    compound: dict,
    *,
    buildings: Sequence[dict] = (),
    roads: Sequence[dict] = (),
    site_features: Sequence[dict] = (),
    tile_url: str | None = None,
    attribution: str = "",
    basemaps: Sequence[Basemap] = (),
    to_gcj02: CoordTransform | None = None,
) -> DualMap:
    """Two versions of a layout side by side in synchronised panes: ``before`` on the left
    with the stalls it loses outlined red, ``after`` on the right with the stalls it adds
    outlined green (``stall_changes``). Render with ``to_html`` like a map.

    The left legend shows ``before``'s totals, the right one the changes and ``after``'s
    totals; the layer controls start collapsed.
    """
    basemaps = _basemaps(tile_url, attribution, basemaps)
    draw = projector(basemaps, to_gcj02)
    site = drawn_site(compound, buildings, roads, site_features, draw)
    removed, added = stall_changes(before, after)
    old, new = drawn_layout(before, draw), drawn_layout(after, draw)
    bounds = _bounds([site.compound, *old.stalls, *old.bays, *new.stalls, *new.bays])
    dual = DualMap(**_map_options(bounds))
    for m in (dual.m1, dual.m2):
        _prepare(m, bounds, basemaps)
    dual.m1.add_child(Stylesheet())  # page-wide: once for both panes
    dual.m1.add_child(ParkingStylesheet())

    gone = outline_layer("移除 Removed", draw(removed), REMOVED)
    legend = [layout_heading(before, compound, "修改前 Before · "), gone]
    left = [*layout_layers(before, old, site), gone]
    _finish(dual.m1, left, legend, position="bottomleft", collapsed=True)

    change = change_heading(before, after, compound, len(removed), len(added))
    fresh = outline_layer("新增 Added", draw(added), ADDED)
    legend = [change, layout_heading(after, compound, "修改后 After · "), fresh]
    _finish(dual.m2, [*layout_layers(after, new, site), fresh], legend, collapsed=True)
    dual.get_root().title = escape(change.title)
    return dual
