"""The hazard map: where the hazards and residents' cases of a community are, and how far along.

Hazards are the GeoJSON Features of ``geo.hazards.records.to_feature``. Each marker is an
inline-SVG glyph (no icon fonts, no images): its **fill** tells the state (red reported, orange
dispatched, yellow rectifying, blue rectified, green verified, grey rejected or duplicate), its
**shape** the category group (triangle fire, square food, pentagon structural, diamond traffic,
hexagon sanitation, circle anything else), and a purple **ring** marks an overdue hazard.

Layers, bottom to top: thin grid outlines labelled by code, the community outline, one
toggleable layer per category (markers clustered inside it; a cluster holding an overdue hazard
gets the ring too) and a heat map weighted by severity, hidden at first. Rejected and duplicate
hazards stay out of the heat map: one is no hazard, the other is counted by its original.

All text from a feature is HTML-escaped, and the characters that mean something inside the
JavaScript template literals Folium wraps tooltips and popups in (`` ` ``, ``$``, ``\\``) are
written as entities. Features without geometry are skipped; an unknown state or severity is a
``ValueError`` naming the hazard.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from html import escape
from urllib.parse import quote

import folium
from branca.element import MacroElement
from folium.elements import JSCSSMixin
from folium.plugins import HeatMap, MarkerCluster
from jinja2 import Template

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
from maps.layers import (
    GRID_TITLE,
    MISSING,
    Field,
    _drawable,
    add_grid_labels,
    community_outline_layer,
    geojson_layer,
)

# --- states, categories, severities ---------------------------------------------------------

STATE_COLORS: Mapping[str, str] = {
    "reported": "#e31a1c",
    "dispatched": "#ff7f00",
    "rectifying": "#ffd92f",
    "rectified": "#1f78b4",
    "verified": "#33a02c",
    "rejected": "#969696",
    "duplicate": "#969696",
}
STATE_LABELS: Mapping[str, str] = {
    "reported": "已上报 Reported",
    "dispatched": "已派发 Dispatched",
    "rectifying": "整改中 Rectifying",
    "rectified": "已整改待复核 Rectified",
    "verified": "已复核 Verified",
    "rejected": "已驳回 Rejected",
    "duplicate": "重复 Duplicate",
}
UNROUTED_LABEL = "未派发 Unrouted"
OVERDUE_COLOR = "#6a3d9a"
OVERDUE_LABEL = "逾期 Overdue"
STATES_TITLE = "状态 State"

SEVERITY_WEIGHTS: Mapping[str, float] = {"low": 0.25, "medium": 0.5, "high": 0.75, "critical": 1.0}
SEVERITY_LABELS: Mapping[str, str] = {
    "low": "低 Low",
    "medium": "中 Medium",
    "high": "高 High",
    "critical": "严重 Critical",
}
KIND_LABELS: Mapping[str, str] = {"hazard": "隐患 Hazard", "case": "诉求 Case"}
HEAT_EXCLUDED = frozenset({"rejected", "duplicate"})
HEAT_TITLE = "热力图 Heat map"
HEAT_GRADIENT: Mapping[float, str] = {
    0.25: "#2c7bb6",
    0.5: "#abd9e9",
    0.75: "#fdae61",
    1.0: "#d7191c",
}

CATEGORY_GROUPS: Mapping[str, str] = {
    "blocked_corridor": "fire",
    "indoor_ebike_charging": "fire",
    "missing_extinguisher": "fire",
    "blocked_fire_lane": "fire",
    "food_safety": "food",
    "structural": "structural",
    "traffic_parking": "traffic",
    "sanitation": "sanitation",
    "other": "other",
}
"""Group of each category of the seeded catalogue; other categories are drawn as ``other``."""


@dataclass(frozen=True)
class Glyph:
    """A marker shape: a regular polygon (``sides`` 0 is a circle) turned by ``rotation``
    degrees from point-up, drawn at ``scale`` times the nominal radius (equal visual weight)."""

    sides: int
    rotation: float = 0.0
    scale: float = 1.0


GROUP_GLYPHS: Mapping[str, Glyph] = {
    "fire": Glyph(3, scale=1.25),
    "food": Glyph(4, rotation=45, scale=1.1),
    "structural": Glyph(5, scale=1.05),
    "traffic": Glyph(4, scale=1.15),
    "sanitation": Glyph(6, scale=1.05),
    "other": Glyph(0, scale=0.9),
}
CATEGORY_SWATCH_COLOR = "#737373"
"""Neutral fill of the category glyphs in the legend (colour belongs to the state)."""

ICON_PX = 26
GLYPH_R = 7.5
RING_R = 11.0
RING_WIDTH = 2.5
CLUSTER_PX = 32
TOOLTIP_STYLE = f"font: 12px/1.4 {FONT}; max-width: 320px; white-space: normal;"

# --- text --------------------------------------------------------------------------------

_JS_TEMPLATE_CHARS = str.maketrans({"`": "&#96;", "$": "&#36;", "\\": "&#92;"})


def text(value: object) -> str:
    """``value`` as HTML text, safe inside a JavaScript template literal; None as —."""
    if value is None or value == "":
        return MISSING
    return escape(str(value)).translate(_JS_TEMPLATE_CHARS).replace("\n", "<br>")


def _when(value: object) -> object:
    """An ISO timestamp to the minute (``2024-05-01 14:03+08:00``); anything else as is."""
    if not isinstance(value, str):
        return value
    try:
        return dt.datetime.fromisoformat(value).isoformat(sep=" ", timespec="minutes")
    except ValueError:
        return value


def _props(feature: dict) -> dict:
    return feature.get("properties") or {}


def _state(feature: dict) -> str:
    props = _props(feature)
    state = props.get("state")
    if state not in STATE_COLORS:
        raise ValueError(f"hazard {props.get('id')}: unknown state {state!r}")
    return state


def _weight(feature: dict) -> float:
    props = _props(feature)
    severity = props.get("severity")
    if severity not in SEVERITY_WEIGHTS:
        raise ValueError(f"hazard {props.get('id')}: unknown severity {severity!r}")
    return SEVERITY_WEIGHTS[severity]


def _lonlat(feature: dict) -> tuple[float, float]:
    geometry = feature["geometry"]
    if geometry.get("type") != "Point":
        raise ValueError(f"hazard {_props(feature).get('id')}: a Point is expected")
    lon, lat = geometry["coordinates"][:2]
    return lon, lat


def glyph_of(category: object) -> Glyph:
    """The marker shape of a category (by its group)."""
    group = CATEGORY_GROUPS.get(category, "other") if isinstance(category, str) else "other"
    return GROUP_GLYPHS[group]


# --- SVG ---------------------------------------------------------------------------------


def glyph_svg(glyph: Glyph, cx: float, cy: float, r: float, fill: str) -> str:
    """One glyph centred on (cx, cy), filled with ``fill``, outlined dark."""
    paint = f'fill="{escape(fill)}" stroke="#262626" stroke-width="1.2"'
    radius = r * glyph.scale
    if glyph.sides == 0:
        return f'<circle cx="{cx:g}" cy="{cy:g}" r="{radius:.2f}" {paint}/>'
    points = " ".join(
        f"{cx + radius * math.sin(a):.2f},{cy - radius * math.cos(a):.2f}"
        for a in (math.radians(glyph.rotation + 360 * k / glyph.sides) for k in range(glyph.sides))
    )
    return f'<polygon points="{points}" {paint} stroke-linejoin="round"/>'


def _ring(cx: float, cy: float, r: float) -> str:
    return (
        f'<circle cx="{cx:g}" cy="{cy:g}" r="{r:g}" fill="none" stroke="{OVERDUE_COLOR}" '
        f'stroke-width="{RING_WIDTH:g}"/>'
    )


def marker_svg(glyph: Glyph, fill: str, *, overdue: bool) -> str:
    """The marker of a hazard: its glyph in its state colour, ringed when overdue."""
    c = ICON_PX / 2
    ring = _ring(c, c, RING_R) if overdue else ""
    return (
        f'<svg width="{ICON_PX}" height="{ICON_PX}" viewBox="0 0 {ICON_PX} {ICON_PX}" '
        f'style="display: block" aria-hidden="true">{ring}{glyph_svg(glyph, c, c, GLYPH_R, fill)}'
        "</svg>"
    )


def _swatch(body: str) -> str:
    return f'<svg width="28" height="14" viewBox="0 0 28 14" aria-hidden="true">{body}</svg>'


def glyph_swatch(glyph: Glyph, fill: str) -> str:
    """A legend swatch of a glyph."""
    return _swatch(glyph_svg(glyph, 14, 7, 5.2, fill))


def overdue_swatch() -> str:
    """A legend swatch of the overdue ring around a plain dot."""
    return _swatch(_ring(14, 7, 5.5) + glyph_svg(GROUP_GLYPHS["other"], 14, 7, 3.0, "#ffffff"))


# --- page CSS and cluster icons ------------------------------------------------------------


class HazardStylesheet(MacroElement):
    """CSS of the hazard markers, clusters and popups (one copy per page)."""

    _template = Template(
        """
{% macro header(this, kwargs) %}
<style>
.gridline-hazard { background: none; border: none; }
.gridline-hazard-cluster { background: none; border: none; }
.gridline-hazard-cluster div { box-sizing: border-box; width: {{ this.px }}px;
  height: {{ this.px }}px; border-radius: 50%; background: rgba(51, 51, 51, 0.85);
  border: 2px solid #fff; color: #fff; text-align: center;
  font: bold 12px/{{ this.px - 4 }}px {{ this.font }}; }
.gridline-hazard-cluster-overdue div { box-shadow: 0 0 0 3px {{ this.overdue }}; }
.gridline-hazard-popup { font: 12px/1.4 {{ this.font }}; max-height: 40vh; overflow-y: auto; }
.gridline-hazard-popup th { text-align: left; padding-right: 8px; white-space: nowrap;
  vertical-align: top; font-weight: normal; color: #555; }
.gridline-overdue { color: {{ this.overdue }}; font-weight: bold; }
</style>
{% endmacro %}
"""
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "GridlineHazardStylesheet"
        self.px = CLUSTER_PX
        self.font = FONT
        self.overdue = OVERDUE_COLOR


CLUSTER_ICON_JS = f"""function (cluster) {{
    var overdue = cluster.getAllChildMarkers().some(function (marker) {{
        return (marker.options.icon.options.className || "").indexOf("gridline-hazard-overdue")
            >= 0;
    }});
    return L.divIcon({{
        html: "<div>" + cluster.getChildCount() + "</div>",
        className: "gridline-hazard-cluster" + (overdue ? " gridline-hazard-cluster-overdue" : ""),
        iconSize: L.point({CLUSTER_PX}, {CLUSTER_PX})
    }});
}}"""
"""Neutral grey cluster icons (state colours stay with the markers), ringed if any is overdue."""

# --- layers --------------------------------------------------------------------------------


def _tooltip(props: dict, state: str) -> str:
    parts = [f"#{text(props.get('id'))}", text(props.get("category_zh") or props.get("category"))]
    parts.append(text(STATE_LABELS[state]))
    if props.get("overdue"):
        parts.append(f'<span class="gridline-overdue">{text(OVERDUE_LABEL)}</span>')
    description = str(props.get("description") or "")
    if len(description) > 60:
        description = description[:59] + "…"
    return " · ".join(parts) + (f"<br>{text(description)}" if description else "")


def _popup(props: dict, state: str) -> str:
    hazard_id = props.get("id")
    assignee = props.get("assignee") or {}
    state_label = STATE_LABELS[state]
    if state == "reported" and props.get("unrouted"):
        state_label += f" · {UNROUTED_LABEL}"
    deadline = text(_when(props.get("deadline")))
    if props.get("overdue"):
        deadline += f' <span class="gridline-overdue">{text(OVERDUE_LABEL)}</span>'
    category = props.get("category")
    rows = [
        ("描述 Description", text(props.get("description"))),
        ("类别 Category", f"{text(props.get('category_zh'))} ({text(category)})"),
        ("类型 Kind", text(KIND_LABELS.get(props.get("kind"), props.get("kind")))),
        ("状态 State", text(state_label)),
        ("严重程度 Severity", text(SEVERITY_LABELS.get(props.get("severity"), None))),
        ("网格 Grid", text(props.get("grid"))),
        ("小区 Compound", text(props.get("compound"))),
        ("负责人 Assignee", text(assignee.get("name"))),
        ("上报 Reported", text(_when(props.get("reported_at")))),
        ("整改期限 Deadline", deadline),
    ]
    body = "".join(f"<tr><th>{escape(k)}</th><td>{v}</td></tr>" for k, v in rows)
    href = text(f"/hazards/{quote(str(hazard_id), safe='')}")
    return (
        f'<div class="gridline-hazard-popup"><b>#{text(hazard_id)}</b><table>{body}</table>'
        f'<a href="{href}" target="_blank" rel="noopener">详情 Details</a></div>'
    )


def hazard_marker(feature: dict) -> folium.Marker:
    """The marker of one hazard (a Point feature), with tooltip and popup."""
    props = _props(feature)
    state = _state(feature)
    overdue = bool(props.get("overdue"))
    lon, lat = _lonlat(feature)
    svg = marker_svg(glyph_of(props.get("category")), STATE_COLORS[state], overdue=overdue)
    icon = folium.DivIcon(
        html=svg,
        icon_size=(ICON_PX, ICON_PX),
        popup_anchor=(0, -ICON_PX // 2 + 2),
        class_name="gridline-hazard" + (" gridline-hazard-overdue" if overdue else ""),
    )
    return folium.Marker(
        location=(lat, lon),
        icon=icon,
        tooltip=folium.Tooltip(_tooltip(props, state), style=TOOLTIP_STYLE),
        popup=folium.Popup(_popup(props, state), max_width=360),
    )


def _category_key(category: str) -> tuple[int, int, str]:
    groups = list(GROUP_GLYPHS)
    codes = list(CATEGORY_GROUPS)
    group = CATEGORY_GROUPS.get(category, "other")
    return groups.index(group), codes.index(category) if category in codes else len(codes), category


def category_layer(category: str, hazards: Sequence[dict]) -> Overlay:
    """One category's hazards, clustered, titled "中文名 code (count)"."""
    name_zh = next(
        (_props(h).get("category_zh") for h in hazards if _props(h).get("category_zh")), None
    )
    title = f"{name_zh} {category} ({len(hazards)})" if name_zh else f"{category} ({len(hazards)})"
    layer = Overlay(title, [LegendItem(glyph_swatch(glyph_of(category), CATEGORY_SWATCH_COLOR))])
    cluster = MarkerCluster(
        control=False,
        icon_create_function=CLUSTER_ICON_JS,
        options={"showCoverageOnHover": False, "maxClusterRadius": 40},
    )
    for hazard in hazards:
        hazard_marker(hazard).add_to(cluster)
    cluster.add_to(layer)
    return layer


def heat_layer(hazards: Sequence[dict]) -> Overlay:
    """A heat map of the hazards weighted by severity, hidden until switched on."""
    points = [
        [lat, lon, _weight(h)]
        for h in _drawable(hazards)
        for lon, lat in [_lonlat(h)]
        if _state(h) not in HEAT_EXCLUDED
    ]
    swatch = s.palette_swatch(list(HEAT_GRADIENT.values()), fill_opacity=1.0)
    layer = Overlay(
        HEAT_TITLE, [LegendItem(swatch, "按严重程度加权 Weighted by severity")], show=False
    )
    if points:
        HeatMap(
            points,
            control=False,
            radius=22,
            blur=16,
            min_opacity=0.3,
            gradient={str(k): v for k, v in HEAT_GRADIENT.items()},
        ).add_to(layer)
    return layer


def hazard_layers(hazards: list[dict]) -> list[Overlay]:
    """One clustered layer per category present (catalogue order), then the heat map."""
    drawn = _drawable(hazards)
    by_category: dict[str, list[dict]] = {}
    for hazard in drawn:
        _state(hazard)  # fail before drawing anything
        _lonlat(hazard)
        by_category.setdefault(str(_props(hazard).get("category")), []).append(hazard)
    layers = [category_layer(c, by_category[c]) for c in sorted(by_category, key=_category_key)]
    heat = heat_layer(drawn)
    if layers:
        layers[0].add_child(HazardStylesheet())
    return [*layers, heat]


def state_legend(summary: HazardSummary) -> Overlay:
    """A legend-only block (never added to a map): the states present and the overdue ring."""
    items = []
    for state, color in STATE_COLORS.items():
        if state in summary.states:
            label = STATE_LABELS[state]
            if state == "reported" and summary.unrouted:
                label += f" / {UNROUTED_LABEL}"
            items.append(LegendItem(glyph_swatch(GROUP_GLYPHS["other"], color), label))
    if summary.overdue:
        items.append(LegendItem(overdue_swatch(), f"{OVERDUE_LABEL}（圈 ring）"))
    return Overlay(STATES_TITLE, items)


GRID_OUTLINE: s.Style = {"color": s.GRID_LINE_COLOR, "weight": 1, "opacity": 0.8, "fill": False}


def grid_outline_layer(grids: Sequence[dict]) -> Overlay:
    """Grids as thin outlines (no fill, so they never cover a marker), labelled by code."""
    grids = _drawable(grids)
    layer = Overlay(GRID_TITLE, [LegendItem(s.area_swatch(GRID_OUTLINE))])
    if not grids:
        return layer
    fields = [Field("name", "网格 Grid"), Field("code", "编码 Code")]
    geojson_layer(grids, fields, lambda _: dict(GRID_OUTLINE)).add_to(layer)
    add_grid_labels(grids, layer)
    return layer


# --- large data: one compact payload drawn on a canvas, clustered in the browser ------------

LARGE_THRESHOLD = 500
"""Above this many drawable hazards the map draws them in the browser from one compact payload
(canvas circle markers in chunk-loaded clusters) instead of one folium Marker per hazard."""
POINT_RADIUS = 6
OVERDUE_WEIGHT = 3.0
COORD_DIGITS = 6
"""Decimals kept of a coordinate in the payload (about 0.1 m)."""
CATEGORY_LEGEND_GLYPH = GROUP_GLYPHS["other"]
"""Large maps draw every hazard as a circle: the category legend shows circles too."""

_HTML_SAFE_JSON = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)


@dataclass(frozen=True)
class HazardSummary:
    """What the layers and the legend of a hazard map need to know of its drawable hazards:
    how many, each category's Chinese name (None when unknown) and count, the states present,
    whether any is unrouted or overdue. Made from the features (``of``) or from the counts the
    database grouped by category and state (``from_groups``): a large map served with a
    ``data_url`` needs nothing more, its browser fetches the hazards."""

    count: int
    categories: Mapping[str, tuple[str | None, int]]
    states: frozenset[str]
    unrouted: bool
    overdue: bool

    @property
    def large(self) -> bool:
        """Too many for one folium Marker each (see ``LARGE_THRESHOLD``)."""
        return self.count > LARGE_THRESHOLD

    @classmethod
    def of(cls, hazards: Sequence[dict]) -> HazardSummary:
        """The summary of ``hazards``; ValueError naming a hazard whose state, severity or
        point is not drawable."""
        groups = []
        for hazard in _drawable(hazards):
            props = _props(hazard)
            state = _state(hazard)
            _weight(hazard)
            _lonlat(hazard)
            groups.append(
                {
                    "category": props.get("category"),
                    "category_zh": props.get("category_zh"),
                    "state": state,
                    "count": 1,
                    "unrouted": bool(props.get("unrouted")),
                    "overdue": bool(props.get("overdue")),
                }
            )
        return cls.from_groups(groups)

    @classmethod
    def from_groups(cls, groups: Iterable[Mapping]) -> HazardSummary:
        """The summary of rows ``category, category_zh, state, count, unrouted, overdue``
        (``unrouted``/``overdue``: whether any hazard of the row is)."""
        categories: dict[str, tuple[str | None, int]] = {}
        states: set[str] = set()
        count, unrouted, overdue = 0, False, False
        for row in groups:
            if row["state"] not in STATE_COLORS:
                raise ValueError(f"unknown hazard state {row['state']!r}")
            category = str(row["category"])
            name_zh, n = categories.get(category, (None, 0))
            categories[category] = (name_zh or row["category_zh"] or None, n + row["count"])
            states.add(row["state"])
            count += row["count"]
            unrouted = unrouted or bool(row["unrouted"])
            overdue = overdue or bool(row["overdue"])
        return cls(count, categories, frozenset(states), unrouted, overdue)


def compact_feature(feature: dict) -> dict:
    """A hazard Feature reduced to what the large map shows: the point (rounded), the
    properties of the tooltip and popup (raw text: the page sets it as DOM text), no nulls."""
    props = _props(feature)
    state = _state(feature)
    _weight(feature)
    lon, lat = _lonlat(feature)
    assignee = props.get("assignee") or {}
    shown = {
        "id": props.get("id"),
        "kind": props.get("kind"),
        "category": str(props.get("category")),
        "category_zh": props.get("category_zh"),
        "state": state,
        "severity": props.get("severity"),
        "description": props.get("description"),
        "grid": props.get("grid"),
        "compound": props.get("compound"),
        "assignee": assignee.get("name"),
        "reported_at": _when(props.get("reported_at")),
        "deadline": _when(props.get("deadline")),
        "overdue": bool(props.get("overdue")) or None,
        "unrouted": bool(props.get("unrouted")) or None,
    }
    return {
        "type": "Feature",
        "id": feature.get("id", props.get("id")),
        "geometry": {
            "type": "Point",
            "coordinates": [round(lon, COORD_DIGITS), round(lat, COORD_DIGITS)],
        },
        "properties": {k: v for k, v in shown.items() if v is not None and v != ""},
    }


def hazard_collection(hazards: Sequence[dict]) -> dict:
    """The compact FeatureCollection of the drawable hazards (see ``compact_feature``)."""
    return {
        "type": "FeatureCollection",
        "features": [compact_feature(h) for h in _drawable(hazards)],
    }


def script_json(value: object) -> str:
    """``value`` as compact JSON that is safe inside an HTML ``<script>`` element."""
    dumped = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return dumped.translate(_HTML_SAFE_JSON)


class HazardCluster(JSCSSMixin, MacroElement):
    """An empty leaflet.markercluster group (chunked loading, grey icons ringed when overdue)
    inside a category layer; ``LargeHazards`` fills it in the browser."""

    _template = Template(
        """
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = L.markerClusterGroup({
    chunkedLoading: true,
    showCoverageOnHover: false,
    maxClusterRadius: 40,
    iconCreateFunction: {{ this.icon_js }}
});
{{ this.get_name() }}.addTo({{ this._parent.get_name() }});
{% endmacro %}
"""
    )
    default_js = MarkerCluster.default_js
    default_css = MarkerCluster.default_css

    def __init__(self) -> None:
        super().__init__()
        self._name = "HazardCluster"
        self.icon_js = LARGE_CLUSTER_ICON_JS


class HeatSlot(JSCSSMixin, MacroElement):
    """Where ``LargeHazards`` puts the heat map (a layer group inside the heat overlay)."""

    _template = Template(
        """
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = L.layerGroup().addTo({{ this._parent.get_name() }});
{% endmacro %}
"""
    )
    default_js = HeatMap.default_js

    def __init__(self) -> None:
        super().__init__()
        self._name = "HeatSlot"


LARGE_CLUSTER_ICON_JS = f"""function (cluster) {{
    var overdue = cluster.getAllChildMarkers().some(function (marker) {{
        return marker.options.overdue === true;
    }});
    return L.divIcon({{
        html: "<div>" + cluster.getChildCount() + "</div>",
        className: "gridline-hazard-cluster" + (overdue ? " gridline-hazard-cluster-overdue" : ""),
        iconSize: L.point({CLUSTER_PX}, {CLUSTER_PX})
    }});
}}"""


class LargeHazards(MacroElement):
    """Draws the hazards of a large map in the browser, from ``data_url`` (fetched) or from the
    inlined compact payload: one canvas ``L.circleMarker`` per hazard in its category's
    cluster group, filled with its state colour and ringed purple when overdue, with tooltip
    and popup built as DOM text (never parsed as HTML), and the heat map weighted by severity.
    ``window.gridlineHazards`` is a promise of how many were drawn."""

    _template = Template(
        """
{% macro script(this, kwargs) %}
window.gridlineHazards = (function () {
    var map = {{ this._parent.get_name() }};
    var clusters = { {%- for category, name in this.clusters %}
        {{ category|tojson }}: {{ name }}{{ "," if not loop.last }}
    {%- endfor %} };
    var heat = {{ this.heat or "null" }};
    var config = {{ this.config }};
    var renderer = L.canvas({ padding: 0.5 });

    function el(tag, className, text) {
        var node = document.createElement(tag);
        if (className) node.className = className;
        if (text !== undefined) node.textContent = text;
        return node;
    }
    function shown(value) {
        var none = value === undefined || value === null || value === "";
        return none ? config.missing : String(value);
    }
    function stateLabel(p) {
        var label = config.stateLabels[p.state];
        return p.state === "reported" && p.unrouted ? label + " · " + config.unrouted : label;
    }
    function tooltip(layer) {
        var p = layer.feature.properties;
        var box = el("div");
        box.appendChild(document.createTextNode(
            ["#" + shown(p.id), shown(p.category_zh || p.category), config.stateLabels[p.state]]
                .join(" · ")));
        if (p.overdue) {
            box.appendChild(document.createTextNode(" · "));
            box.appendChild(el("span", "gridline-overdue", config.overdue));
        }
        var text = p.description ? String(p.description) : "";
        if (text.length > 60) text = text.slice(0, 59) + "…";
        if (text) {
            box.appendChild(el("br"));
            box.appendChild(document.createTextNode(text));
        }
        return box;
    }
    function popup(layer) {
        var p = layer.feature.properties;
        var box = el("div", "gridline-hazard-popup");
        box.appendChild(el("b", null, "#" + shown(p.id)));
        var table = el("table");
        var rows = [
            [config.rows.description, shown(p.description)],
            [config.rows.category, shown(p.category_zh) + " (" + shown(p.category) + ")"],
            [config.rows.kind, shown(config.kindLabels[p.kind] || p.kind)],
            [config.rows.state, stateLabel(p)],
            [config.rows.severity, shown(config.severityLabels[p.severity])],
            [config.rows.grid, shown(p.grid)],
            [config.rows.compound, shown(p.compound)],
            [config.rows.assignee, shown(p.assignee)],
            [config.rows.reported, shown(p.reported_at)],
            [config.rows.deadline, shown(p.deadline)]
        ];
        rows.forEach(function (row, i) {
            var tr = el("tr");
            tr.appendChild(el("th", null, row[0]));
            var td = el("td", null, row[1]);
            if (i === rows.length - 1 && p.overdue) {
                td.appendChild(document.createTextNode(" "));
                td.appendChild(el("span", "gridline-overdue", config.overdue));
            }
            tr.appendChild(td);
            table.appendChild(tr);
        });
        box.appendChild(table);
        var link = el("a", null, config.details);
        link.href = "/hazards/" + encodeURIComponent(String(p.id));
        link.target = "_blank";
        link.rel = "noopener";
        box.appendChild(link);
        return box;
    }
    function draw(data) {
        var byCategory = {};
        var points = [];
        data.features.forEach(function (feature) {
            var p = feature.properties;
            var cluster = clusters[p.category];
            var xy = feature.geometry && feature.geometry.coordinates;
            if (!cluster || !xy) return;
            var marker = L.circleMarker([xy[1], xy[0]], {
                renderer: renderer,
                radius: config.radius,
                fillColor: config.stateColors[p.state] || config.missing_color,
                fillOpacity: 0.95,
                color: p.overdue ? config.overdueColor : "#262626",
                weight: p.overdue ? config.overdueWeight : 1,
                overdue: p.overdue === true
            });
            marker.feature = feature;
            marker.bindTooltip(tooltip, { className: "gridline-hazard-tooltip" });
            marker.bindPopup(popup, { maxWidth: 360 });
            (byCategory[p.category] = byCategory[p.category] || []).push(marker);
            if (config.heatExcluded.indexOf(p.state) < 0 && p.severity in config.weights) {
                points.push([xy[1], xy[0], config.weights[p.severity]]);
            }
        });
        var drawn = 0;
        Object.keys(byCategory).forEach(function (category) {
            clusters[category].addLayers(byCategory[category]);
            drawn += byCategory[category].length;
        });
        if (heat && points.length) L.heatLayer(points, config.heat).addTo(heat);
        return drawn;
    }
    {% if this.data_url %}
    return fetch({{ this.data_url|tojson }}, { headers: { Accept: "application/geo+json" } })
        .then(function (response) {
            if (!response.ok) throw new Error("hazards: HTTP " + response.status);
            return response.json();
        })
        .then(draw)
        .catch(function (error) {
            console.error("Gridline hazard map: " + error);
            throw error;
        });
    {% else %}
    return Promise.resolve(draw({{ this.payload }}));
    {% endif %}
})();
{% endmacro %}
"""
    )

    def __init__(
        self,
        clusters: Sequence[tuple[str, str]],
        heat: str | None,
        *,
        data_url: str | None = None,
        payload: dict | None = None,
    ) -> None:
        super().__init__()
        if (data_url is None) == (payload is None):
            raise ValueError("give either data_url or payload")
        self._name = "LargeHazards"
        self.clusters = list(clusters)
        self.heat = heat
        self.data_url = data_url
        self.payload = script_json(payload) if payload is not None else None
        self.config = script_json(
            {
                "radius": POINT_RADIUS,
                "overdueWeight": OVERDUE_WEIGHT,
                "overdueColor": OVERDUE_COLOR,
                "stateColors": STATE_COLORS,
                "stateLabels": STATE_LABELS,
                "kindLabels": KIND_LABELS,
                "severityLabels": SEVERITY_LABELS,
                "weights": SEVERITY_WEIGHTS,
                "heatExcluded": sorted(HEAT_EXCLUDED),
                "heat": {
                    "radius": 22,
                    "blur": 16,
                    "minOpacity": 0.3,
                    "gradient": {str(k): v for k, v in HEAT_GRADIENT.items()},
                },
                "missing": MISSING,
                "missing_color": "#969696",
                "unrouted": UNROUTED_LABEL,
                "overdue": OVERDUE_LABEL,
                "details": "详情 Details",
                "rows": {
                    "description": "描述 Description",
                    "category": "类别 Category",
                    "kind": "类型 Kind",
                    "state": "状态 State",
                    "severity": "严重程度 Severity",
                    "grid": "网格 Grid",
                    "compound": "小区 Compound",
                    "assignee": "负责人 Assignee",
                    "reported": "上报 Reported",
                    "deadline": "整改期限 Deadline",
                },
            }
        )


def _category_title(category: str, name_zh: str | None, count: int) -> str:
    return f"{name_zh} {category} ({count})" if name_zh else f"{category} ({count})"


def large_hazard_layers(
    summary: HazardSummary, data_url: str | None = None, payload: dict | None = None
) -> tuple[list[Overlay], LargeHazards]:
    """The layers of a large map (one per category of ``summary``, then the heat map), each
    holding an empty slot, and the element that fills them in the browser: from ``data_url``
    (which must answer the compact collection of the summarised hazards) or, without it, from
    ``payload`` (``hazard_collection`` of them) inlined in the page. Add the layers to the map,
    then the element."""
    layers: list[Overlay] = []
    clusters: list[tuple[str, str]] = []
    swatch = glyph_swatch(CATEGORY_LEGEND_GLYPH, CATEGORY_SWATCH_COLOR)
    for category in sorted(summary.categories, key=_category_key):
        title = _category_title(category, *summary.categories[category])
        layer = Overlay(title, [LegendItem(swatch)])
        cluster = HazardCluster()
        layer.add_child(cluster)
        layers.append(layer)
        clusters.append((category, cluster.get_name()))
    heat = Overlay(
        HEAT_TITLE,
        [
            LegendItem(
                s.palette_swatch(list(HEAT_GRADIENT.values()), fill_opacity=1.0),
                "按严重程度加权 Weighted by severity",
            )
        ],
        show=False,
    )
    slot = HeatSlot()
    heat.add_child(slot)
    if layers:
        layers[0].add_child(HazardStylesheet())
    loader = LargeHazards(clusters, slot.get_name(), data_url=data_url, payload=payload)
    return [*layers, heat], loader


def hazard_map(
    community: dict,
    grids: list[dict],
    hazards: Sequence[dict] | HazardSummary,
    *,
    tile_url: str | None = None,
    attribution: str = "",
    basemaps: Sequence[Basemap] = (),
    to_gcj02: CoordTransform | None = None,
    data_url: str | None = None,
) -> folium.Map:
    """A finished hazard map of one community: grid outlines, outline, categories, heat map.

    The legend lists the grids and the outline, then the states (and the overdue ring), then the
    categories by shape and the heat map. Over a GCJ-02 basemap everything is drawn converted by
    ``to_gcj02`` (markers and heat map included).

    Above ``LARGE_THRESHOLD`` hazards the markers are drawn in the browser (see
    ``large_hazard_layers``): fetched from ``data_url`` when given (it must answer
    ``hazard_collection`` of the same hazards, in the same coordinates as drawn here), else
    from a compact payload inlined in the page. ``hazards`` may then be just their
    ``HazardSummary``, with ``data_url``.
    """
    draw = projector(basemaps, to_gcj02)
    (community,) = draw([community])
    grids = draw(grids)
    loader: LargeHazards | None = None
    if isinstance(hazards, HazardSummary):
        if data_url is None or not hazards.large:
            raise ValueError("a map drawn from a summary is large and fetches its data_url")
        summary = hazards
        layers, loader = large_hazard_layers(summary, data_url)
    else:
        hazards = draw(list(hazards))
        summary = HazardSummary.of(hazards)
        if summary.large:
            payload = None if data_url is not None else hazard_collection(hazards)
            layers, loader = large_hazard_layers(summary, data_url, payload)
        else:
            layers = hazard_layers(hazards)
    states = state_legend(summary)
    below: list[Overlay] = [grid_outline_layer(grids), community_outline_layer(community)]
    m = base_map(community_bounds(community), tile_url, attribution, basemaps=basemaps)
    add_layers(m, [*below, *layers])
    if loader is not None:
        m.add_child(loader)
    finish_map(m)
    shown = [layer for layer in [*below, *layers] if not layer.is_empty()]
    if states.legend:
        shown.insert(len([b for b in below if not b.is_empty()]), states)
    for child in m._children.values():
        if isinstance(child, Legend):
            child.body = legend_html(shown)
    return m
