"""Colours, Leaflet path styles and legend swatches shared by every map layer.

Styles are plain Leaflet path-option dicts; the legend swatches are drawn from the same dicts
so a layer and its legend entry cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

Style = dict[str, Any]

GRID_PALETTE: tuple[str, ...] = (
    "#66c2a5",
    "#fc8d62",
    "#8da0cb",
    "#e78ac3",
    "#a6d854",
    "#ffd92f",
    "#e5c494",
    "#b3b3b3",
)
"""Qualitative palette (ColorBrewer Set2) for grid fills; neighbours never share a colour."""

HATCH_ID = "gridline-hatch"
"""Id of the SVG pattern (defined once per page by ``base.Stylesheet``) for hatched fills."""

OUTLINE: Style = {"color": "#1a1a1a", "weight": 4, "opacity": 0.9, "fill": False}
GRID_LINE_COLOR = "#4d4d4d"
GRID_FILL_OPACITY = 0.35


def grid_style(fill: str) -> Style:
    """Style of one grid polygon filled with ``fill``."""
    return {
        "color": GRID_LINE_COLOR,
        "weight": 1.5,
        "fillColor": fill,
        "fillOpacity": GRID_FILL_OPACITY,
    }


COMPOUND_MANAGED: Style = {
    "color": "#1f78b4",
    "weight": 2,
    "fillColor": "#1f78b4",
    "fillOpacity": 0.05,
}
COMPOUND_UNMANAGED: Style = {
    "color": "#ff7f00",
    "weight": 2.5,
    "dashArray": "6 4",
    "fillColor": "#ff7f00",
    "fillOpacity": 0.08,
}
BUILDING: Style = {"color": "#616161", "weight": 1, "fillColor": "#9e9e9e", "fillOpacity": 0.7}

ROAD_STYLES: Mapping[str, Style] = {
    "street": {"color": "#8c8c8c", "weight": 6, "opacity": 0.9, "lineCap": "butt"},
    "internal_road": {"color": "#a6a6a6", "weight": 3, "opacity": 0.9},
    "fire_lane": {"color": "#d7301f", "weight": 3, "opacity": 0.9, "dashArray": "8 6"},
    "footpath": {"color": "#737373", "weight": 1.5, "dashArray": "1 4", "lineCap": "round"},
}
"""Per road kind; ``weight`` is the default used when a road has no usable ``width_m``."""
ROAD_DEFAULT: Style = {"color": "#8c8c8c", "weight": 2, "opacity": 0.9}
ROAD_WEIGHT_PX_PER_M = 0.5
ROAD_WEIGHT_RANGE = (1.0, 10.0)


def road_style(kind: object, width_m: object) -> Style:
    """Style of a road of ``kind``; its line weight follows ``width_m`` (about 0.5 px per metre)."""
    style = dict(ROAD_STYLES.get(kind, ROAD_DEFAULT) if isinstance(kind, str) else ROAD_DEFAULT)
    is_number = isinstance(width_m, int | float) and not isinstance(width_m, bool)
    if is_number and width_m > 0:
        low, high = ROAD_WEIGHT_RANGE
        style["weight"] = round(min(max(width_m * ROAD_WEIGHT_PX_PER_M, low), high), 1)
    return style


HYDRANT: Style = {
    "fill": True,
    "radius": 5,
    "color": "#99000d",
    "weight": 1.5,
    "fillColor": "#e31a1c",
    "fillOpacity": 1.0,
}
TREE: Style = {
    "fill": True,
    "radius": 3,
    "color": "#1b7837",
    "weight": 1,
    "fillColor": "#5aae61",
    "fillOpacity": 0.9,
}
SHOP: Style = {
    "fill": True,
    "radius": 4,
    "color": "#54278f",
    "weight": 1.5,
    "fillColor": "#9e9ac8",
    "fillOpacity": 1.0,
}
GREEN_AREA: Style = {"color": "#1b7837", "weight": 1, "fillColor": "#74c476", "fillOpacity": 0.5}
KEEP_CLEAR: Style = {
    "color": "#e31a1c",
    "weight": 2,
    "dashArray": "4 4",
    "fillColor": f"url(#{HATCH_ID})",
    "fillOpacity": 0.8,
}
OTHER_AREA: Style = {"color": "#525252", "weight": 1, "fillColor": "#bdbdbd", "fillOpacity": 0.4}
OTHER_POINT: Style = {
    "fill": True,
    "radius": 4,
    "color": "#525252",
    "weight": 1,
    "fillColor": "#bdbdbd",
    "fillOpacity": 1.0,
}
GATE_COLOR = "#1f4e79"
GATE: Style = {"color": GATE_COLOR, "weight": 2, "fillColor": GATE_COLOR, "fillOpacity": 0.3}
"""Used only if a gate is mapped as a line or polygon; gate points use a diamond icon."""

# --- legend swatches: small inline SVGs (no external assets) -------------------------------

_W, _H = 28, 14


def _svg(body: str) -> str:
    return (
        f'<svg width="{_W}" height="{_H}" viewBox="0 0 {_W} {_H}" aria-hidden="true">{body}</svg>'
    )


def _attrs(**attrs: object) -> str:
    return "".join(
        f' {name.replace("_", "-")}="{escape(str(value))}"'
        for name, value in attrs.items()
        if value is not None
    )


def line_swatch(style: Style) -> str:
    """A horizontal line drawn with ``style``."""
    return _svg(
        "<line"
        + _attrs(
            x1=2,
            y1=_H / 2,
            x2=_W - 2,
            y2=_H / 2,
            stroke=style.get("color", "#3388ff"),
            stroke_width=min(float(style.get("weight", 3)), _H - 2),
            stroke_dasharray=style.get("dashArray"),
            stroke_linecap=style.get("lineCap", "round"),
        )
        + "/>"
    )


def area_swatch(style: Style) -> str:
    """A rectangle outlined and filled with ``style``."""
    filled = style.get("fill", True)
    return _svg(
        "<rect"
        + _attrs(
            x=2,
            y=2,
            width=_W - 4,
            height=_H - 4,
            stroke=style.get("color", "#3388ff"),
            stroke_width=min(float(style.get("weight", 3)), 4),
            stroke_dasharray=style.get("dashArray"),
            fill=style.get("fillColor", style.get("color", "#3388ff")) if filled else "none",
            fill_opacity=style.get("fillOpacity", 0.2) if filled else None,
        )
        + "/>"
    )


def point_swatch(style: Style) -> str:
    """A circle marker drawn with ``style``."""
    return _svg(
        "<circle"
        + _attrs(
            cx=_W / 2,
            cy=_H / 2,
            r=min(float(style.get("radius", 5)), _H / 2 - 1),
            stroke=style.get("color", "#3388ff"),
            stroke_width=style.get("weight", 1),
            fill=style.get("fillColor", style.get("color", "#3388ff")),
            fill_opacity=style.get("fillOpacity", 0.2),
        )
        + "/>"
    )


def palette_swatch(colors: Sequence[str], fill_opacity: float = GRID_FILL_OPACITY * 2) -> str:
    """Side-by-side blocks of ``colors`` (for layers coloured per feature)."""
    colors = list(colors)[:4] or ["#cccccc"]
    width = (_W - 4) / len(colors)
    blocks = "".join(
        "<rect"
        + _attrs(
            x=2 + i * width, y=2, width=width, height=_H - 4, fill=color, fill_opacity=fill_opacity
        )
        + "/>"
        for i, color in enumerate(colors)
    )
    frame = (
        "<rect"
        + _attrs(
            x=2,
            y=2,
            width=_W - 4,
            height=_H - 4,
            fill="none",
            stroke=GRID_LINE_COLOR,
            stroke_width=1,
        )
        + "/>"
    )
    return _svg(blocks + frame)


def gate_swatch() -> str:
    """The diamond drawn for gates (see the ``.gridline-gate`` CSS rule in ``base``)."""
    c = _W / 2, _H / 2
    points = f"{c[0]},{c[1] - 6} {c[0] + 6},{c[1]} {c[0]},{c[1] + 6} {c[0] - 6},{c[1]}"
    return _svg("<polygon" + _attrs(points=points, fill=GATE_COLOR, stroke="#ffffff") + "/>")
