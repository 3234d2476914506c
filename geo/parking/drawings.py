"""Drawings of a parking layout for the painting crew.

``layout_dxf`` is a DXF in the site's local metric CRS (coordinates exactly as given, metres)
with a layer per stall kind; ``site_plan_svg`` is a printable site plan at a true scale with a
scale bar, north arrow and legend.
"""

from __future__ import annotations

import io
import math
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import pairwise

import ezdxf
import shapely
from ezdxf.enums import MTextEntityAlignment, TextEntityAlignment
from ezdxf.layouts import Modelspace
from shapely.geometry import LineString, Point, Polygon
from shapely.geometry.base import BaseGeometry

from geo.parking.model import Bay, Layout, Road, Site, Stall, StallKind
from geo.parking.zones import carriageway

Coord = tuple[float, float]

ACCESSIBLE_LAYER = "STALL_ACCESSIBLE"
NUMBERS_LAYER = "STALL_NUMBERS"
OUTLINES_LAYER = "STALL_OUTLINES"

LAYER_COLORS: dict[str, int] = {
    "STALL_PERPENDICULAR": 2,
    "STALL_ANGLE_60": 30,
    "STALL_ANGLE_45": 40,
    "STALL_ANGLE_30": 50,
    "STALL_PARALLEL": 4,
    ACCESSIBLE_LAYER: 5,
    NUMBERS_LAYER: 7,
    OUTLINES_LAYER: 8,
    "NONMOTOR": 6,
    "AISLES": 254,
    "SITE_BOUNDARY": 140,
    "SITE_BUILDINGS": 9,
    "SITE_GREEN": 3,
    "SITE_ROADS": 251,
    "SITE_CARRIAGEWAY": 253,
    "SITE_FIRE_LANE": 1,
    "SITE_HYDRANTS": 10,
    "SITE_GATES": 210,
    "TITLE": 150,
}
"""Every layer of the DXF with its colour (AutoCAD colour index, all distinct)."""

NUMBER_HEIGHT_M = 0.6
TITLE_HEIGHT_M = 1.5
HYDRANT_RADIUS_M = 0.4
GATE_SIZE_M = 2.0
HATCH_SCALE = 0.2
"""ANSI31 at this scale hatches every 0.64 m in a metric drawing."""
CJK_TEXT_STYLE = "CJK"
"""Text style of the title block: a TrueType font with Chinese glyphs."""


def stall_layer(stall: Stall) -> str:
    """DXF layer of a stall's painted lines: its kind, or ``STALL_ACCESSIBLE``."""
    return ACCESSIBLE_LAYER if stall.accessible else f"STALL_{stall.kind.name}"


def _segments(lines: Iterable[LineString]) -> Iterator[tuple[Coord, Coord]]:
    """Every straight segment of some line strings."""
    for line in lines:
        coords = [(x, y) for x, y, *_ in line.coords]
        yield from pairwise(coords)


def _polygons(geom: BaseGeometry) -> list[Polygon]:
    """The non-empty polygons of a (multi)polygon or collection."""
    return [p for p in shapely.get_parts(geom) if isinstance(p, Polygon) and not p.is_empty]


def _rings(polygon: Polygon) -> list[list[Coord]]:
    """A polygon's exterior and holes as open vertex lists."""
    return [
        [(x, y) for x, y, *_ in ring.coords[:-1]] for ring in (polygon.exterior, *polygon.interiors)
    ]


def _carriageways(roads: Iterable[Road]) -> list[Polygon]:
    return _polygons(shapely.unary_union([carriageway(r) for r in roads]))


EXTENT_ROAD_M = 10.0


def _extent(layout: Layout, site: Site) -> tuple[float, float, float, float]:
    """Bounds (min x, min y, max x, max y) of everything drawn, roads only near the compound
    (an access road may run far out of it)."""
    near = site.boundary.buffer(EXTENT_ROAD_M)
    geoms: list[BaseGeometry] = [
        site.boundary,
        *site.buildings,
        *site.green,
        *site.hydrants,
        *site.gates,
        *(carriageway(r).intersection(near) for r in site.roads),
        *layout.aisles,
        *(s.polygon for s in layout.stalls),
        *(b.polygon for b in layout.bays),
    ]
    minx, miny, maxx, maxy = shapely.GeometryCollection(geoms).bounds
    return minx, miny, maxx, maxy


def _bay_label(bay: Bay) -> str:
    return f"{bay.kind.value} x{bay.capacity}"


def _totals(layout: Layout) -> list[str]:
    """Lines of the totals block: stalls by kind, accessible, non-motor, painted metres."""
    by_kind = Counter(s.kind for s in layout.stalls)
    kinds = ", ".join(f"{k.value} {by_kind[k]}" for k in StallKind if by_kind[k])
    return [
        f"Stalls: {len(layout.stalls)}" + (f" ({kinds})" if kinds else ""),
        f"Accessible: {sum(s.accessible for s in layout.stalls)}",
        f"Non-motor bays: {len(layout.bays)}, capacity {sum(b.capacity for b in layout.bays)}",
        f"Painted lines: {layout.painted_m:.1f} m",
    ]


# --- DXF -------------------------------------------------------------------------------------


def _mtext_escape(text: str) -> str:
    """Plain text as MTEXT content: backslashes and braces literal, newlines as breaks."""
    escaped = text.replace("\\", "\\\\").replace("{", "\\{").replace("}", "\\}")
    return "\\P".join(escaped.splitlines())


def _reading_rotation(stall: Stall) -> float:
    """Rotation (degrees) of a stall's number so it reads from its aisle; 0 without a front."""
    if stall.front is None:
        return 0.0
    (x0, y0), (x1, y1) = stall.front.coords[0][:2], stall.front.coords[-1][:2]
    centroid = stall.polygon.centroid
    up_x, up_y = centroid.x - (x0 + x1) / 2, centroid.y - (y0 + y1) / 2
    return round(math.degrees(math.atan2(-up_x, up_y)), 6) % 360


def _add_rings(msp: Modelspace, polygon: Polygon, layer: str) -> None:
    for ring in _rings(polygon):
        msp.add_lwpolyline(ring, close=True, dxfattribs={"layer": layer})


def _add_text(msp: Modelspace, text: str, at: Point, layer: str, rotation: float = 0.0) -> None:
    entity = msp.add_text(
        text, height=NUMBER_HEIGHT_M, rotation=rotation, dxfattribs={"layer": layer}
    )
    entity.set_placement((at.x, at.y), align=TextEntityAlignment.MIDDLE_CENTER)


def _add_painted(msp: Modelspace, lines: list[LineString], outline: Polygon, layer: str) -> None:
    """Painted lines as LINEs; the outline instead when nothing is painted."""
    if not lines:
        _add_rings(msp, outline, layer)
    for start, end in _segments(lines):
        msp.add_line(start, end, dxfattribs={"layer": layer})


def _dxf_site(msp: Modelspace, site: Site, layout: Layout) -> None:
    """The site and the layout's aisles, for reference."""
    for layer, polygons in (
        ("SITE_BOUNDARY", [site.boundary]),
        ("SITE_BUILDINGS", site.buildings),
        ("SITE_GREEN", site.green),
        ("SITE_CARRIAGEWAY", _carriageways(site.roads)),
        ("AISLES", layout.aisles),
    ):
        for polygon in polygons:
            _add_rings(msp, polygon, layer)
    for road in site.roads:
        centre = [(x, y) for x, y, *_ in road.line.coords]
        msp.add_lwpolyline(centre, dxfattribs={"layer": "SITE_ROADS"})
    for lane in _carriageways(r for r in site.roads if r.fire_lane):
        _add_rings(msp, lane, "SITE_FIRE_LANE")
        hatch = msp.add_hatch(dxfattribs={"layer": "SITE_FIRE_LANE"})
        hatch.set_pattern_fill("ANSI31", scale=HATCH_SCALE)
        for i, ring in enumerate(_rings(lane)):
            flags = (
                ezdxf.const.BOUNDARY_PATH_EXTERNAL if i == 0 else ezdxf.const.BOUNDARY_PATH_DEFAULT
            )
            hatch.paths.add_polyline_path(ring, is_closed=True, flags=flags)
    for hydrant in site.hydrants:
        msp.add_circle(
            (hydrant.x, hydrant.y), HYDRANT_RADIUS_M, dxfattribs={"layer": "SITE_HYDRANTS"}
        )
    for gate in site.gates:
        square = Point(gate.x, gate.y).buffer(GATE_SIZE_M / 2, cap_style="square")
        _add_rings(msp, square, "SITE_GATES")


def layout_dxf(layout: Layout, site: Site, *, title: str = "", crs: str = "") -> bytes:
    """The layout as a DXF (R2010, metres, the site's CRS): a layer per stall kind with the
    painted lines, numbers, one outline per stall, non-motor bays, the site and a title block."""
    doc = ezdxf.new("R2010", units=ezdxf.units.M)
    for name, color in LAYER_COLORS.items():
        doc.layers.add(name, color=color)
    doc.styles.add(CJK_TEXT_STYLE, font="simhei.ttf")
    msp = doc.modelspace()
    _dxf_site(msp, site, layout)
    for stall in layout.stalls:
        _add_painted(msp, stall.lines, stall.polygon, stall_layer(stall))
        msp.add_lwpolyline(
            _rings(stall.polygon)[0], close=True, dxfattribs={"layer": OUTLINES_LAYER}
        )
        _add_text(
            msp, str(stall.number), stall.polygon.centroid, NUMBERS_LAYER, _reading_rotation(stall)
        )
    for bay in layout.bays:
        _add_painted(msp, bay.lines, bay.polygon, "NONMOTOR")
        _add_text(msp, _bay_label(bay), bay.polygon.centroid, "NONMOTOR")

    minx, miny, maxx, maxy = _extent(layout, site)
    block = [title] if title else []
    block += [f"CRS: {crs}"] if crs else []
    mtext = msp.add_mtext(
        "\\P".join(_mtext_escape(line) for line in [*block, *_totals(layout)]),
        dxfattribs={"layer": "TITLE", "char_height": TITLE_HEIGHT_M, "style": CJK_TEXT_STYLE},
    )
    mtext.set_location(
        (minx, maxy + TITLE_HEIGHT_M), attachment_point=MTextEntityAlignment.BOTTOM_LEFT
    )
    doc.set_modelspace_vport(
        height=(maxy - miny) * 1.5 + 10 * TITLE_HEIGHT_M,
        center=((minx + maxx) / 2, (miny + maxy) / 2 + 3 * TITLE_HEIGHT_M),
    )
    stream = io.StringIO()
    doc.write(stream)
    return stream.getvalue().encode("utf-8")


# --- SVG -------------------------------------------------------------------------------------

SVG_NS = "http://www.w3.org/2000/svg"
FONT_FAMILY = "'Noto Sans CJK SC', 'Noto Sans SC', 'Microsoft YaHei', sans-serif"
MARGIN_MM = 10.0
TITLE_BAND_MM = 10.0
SCALE_ROW_MM = 14.0
ROW_MM = 4.5
LEGEND_COLUMN_MM = 48.0
NUMBER_FONT_M = 0.8
SCALE_STEPS_M = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000)
HATCH_ID = "fire-lane-hatch"

KIND_COLORS: dict[StallKind, str] = {
    StallKind.PERPENDICULAR: "#1f77b4",
    StallKind.ANGLE_60: "#ff7f0e",
    StallKind.ANGLE_45: "#2ca02c",
    StallKind.ANGLE_30: "#9467bd",
    StallKind.PARALLEL: "#8c564b",
}
ACCESSIBLE_COLOR = "#0047ab"
FIRE_COLOR = "#d62728"

Style = dict[str, str | float]

BOUNDARY: Style = {"fill": "#fbfbf7", "stroke": "#222222", "stroke-width": 0.5}
GREEN: Style = {"fill": "#cfe8c4", "stroke": "#7cb56b", "stroke-width": 0.2}
CARRIAGEWAY: Style = {"fill": "#ececec", "stroke": "#bdbdbd", "stroke-width": 0.2}
FIRE_LANE: Style = {
    "fill": f"url(#{HATCH_ID})",
    "stroke": FIRE_COLOR,
    "stroke-width": 0.3,
    "stroke-dasharray": "1.5 1",
}
BUILDING: Style = {"fill": "#bdbdbd", "stroke": "#616161", "stroke-width": 0.3}
BAY: Style = {"fill": "#f7d9ee", "stroke": "#c2188b", "stroke-width": 0.3}
HYDRANT: Style = {"fill": FIRE_COLOR, "stroke": "#ffffff", "stroke-width": 0.2}
GATE: Style = {"fill": "#ffd54f", "stroke": "#333333", "stroke-width": 0.3}
HYDRANT_RADIUS_MM = 1.0
GATE_SIZE_MM = 2.5


def _stall_style(kind: StallKind, accessible: bool) -> Style:
    color = ACCESSIBLE_COLOR if accessible else KIND_COLORS[kind]
    return {"fill": "#cfe0ff" if accessible else "#ffffff", "stroke": color, "stroke-width": 0.15}


def _paint_style(color: str) -> Style:
    return {"fill": "none", "stroke": color, "stroke-width": 0.35, "stroke-linecap": "round"}


def _num(value: float) -> str:
    """A length in paper millimetres, to the micrometre."""
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _el(
    parent: ET.Element, tag: str, attrs: Style | None = None, text: str | None = None
) -> ET.Element:
    """A child element; numbers become millimetre strings (ElementTree escapes everything)."""
    element = ET.SubElement(
        parent,
        tag,
        {k: _num(v) if isinstance(v, float | int) else v for k, v in (attrs or {}).items()},
    )
    element.text = text
    return element


@dataclass(frozen=True)
class _Paper:
    """Ground metres to paper millimetres: ``k`` mm per metre, north up."""

    minx: float
    maxy: float
    k: float
    left: float
    top: float

    def xy(self, x: float, y: float) -> Coord:
        return self.left + (x - self.minx) * self.k, self.top + (self.maxy - y) * self.k

    def path(self, geom: BaseGeometry) -> str:
        """SVG path data of polygons (closed rings) or line strings (open)."""
        parts: list[str] = []
        for part in shapely.get_parts(geom):
            rings = [part.exterior, *part.interiors] if isinstance(part, Polygon) else [part]
            closed = isinstance(part, Polygon)
            for ring in rings:
                points = [self.xy(x, y) for x, y, *_ in ring.coords]
                points = points[:-1] if closed else points
                parts.append(
                    "M"
                    + " L".join(f"{_num(px)} {_num(py)}" for px, py in points)
                    + (" Z" if closed else "")
                )
        return " ".join(parts)


def _scale_step(k: float, room_mm: float) -> int:
    """Largest round step (metres) whose two-segment scale bar fits in ``room_mm``."""
    return max((s for s in SCALE_STEPS_M if 2 * s * k <= room_mm), default=SCALE_STEPS_M[0])


def _wheelchair(parent: ET.Element, x: float, y: float, size: float) -> None:
    """A small wheelchair symbol with its top-left corner at (x, y), ``size`` mm square."""
    glyph = _el(
        parent,
        "g",
        {
            "class": "accessible-marker",
            "transform": f"translate({_num(x)} {_num(y)}) scale({_num(size)})",
            "fill": "none",
            "stroke": ACCESSIBLE_COLOR,
            "stroke-width": 0.09,
            "stroke-linecap": "round",
        },
    )
    _el(glyph, "circle", {"cx": 0.5, "cy": 0.1, "r": 0.09, "fill": ACCESSIBLE_COLOR})
    _el(glyph, "path", {"d": "M0.5 0.25 L0.5 0.6 L0.8 0.6 L0.92 0.95 M0.5 0.4 L0.75 0.4"})
    _el(glyph, "circle", {"cx": 0.45, "cy": 0.7, "r": 0.25})


def _scale_bar(parent: ET.Element, x: float, y: float, k: float, scale: int, step: int) -> None:
    """A two-segment scale bar 0-step-2 x step metres with the ratio text below."""
    bar = _el(parent, "g", {"id": "scale-bar", "data-metres": 2 * step, "font-size": 2.5})
    for i in range(2):
        _el(
            bar,
            "rect",
            {
                "x": x + i * step * k,
                "y": y + 4,
                "width": step * k,
                "height": 2,
                "fill": "#000000" if i % 2 == 0 else "#ffffff",
                "stroke": "#000000",
                "stroke-width": 0.2,
            },
        )
    for i, label in enumerate(("0", str(step), f"{2 * step} m")):
        _el(bar, "text", {"x": x + i * step * k, "y": y + 3, "text-anchor": "middle"}, label)
    _el(bar, "text", {"x": x, "y": y + 11, "font-size": 3}, f"1:{scale}")


def _points(*coords: Coord) -> str:
    return " ".join(f"{_num(x)},{_num(y)}" for x, y in coords)


def _north_arrow(parent: ET.Element, cx: float, y: float) -> None:
    """A north arrow (pointing up the sheet) under an "N", its tip 4 mm below ``y``."""
    arrow = _el(parent, "g", {"id": "north-arrow", "stroke": "#000000", "stroke-width": 0.2})
    label = {"x": cx, "y": y + 3, "text-anchor": "middle", "font-size": 3, "stroke": "none"}
    _el(arrow, "text", label, "N")
    tip, notch = (cx, y + 4), (cx, y + 10.5)
    _el(arrow, "polygon", {"points": _points(tip, (cx - 3, y + 13), notch), "fill": "#000000"})
    _el(arrow, "polygon", {"points": _points(tip, (cx + 3, y + 13), notch), "fill": "#ffffff"})


def _legend_items(layout: Layout, site: Site) -> list[tuple[str, str, Style]]:
    """(label, swatch shape, style) of every kind of thing on the plan."""
    kinds = {s.kind for s in layout.stalls if not s.accessible}
    items = [(f"{k.value} stall", "rect", _stall_style(k, False)) for k in StallKind if k in kinds]
    present: list[tuple[bool, str, str, Style]] = [
        (
            any(s.accessible for s in layout.stalls),
            "accessible stall",
            "rect",
            _stall_style(StallKind.PERPENDICULAR, True),
        ),
        (bool(layout.bays), "non-motor bay", "rect", BAY),
        (bool(site.buildings), "building", "rect", BUILDING),
        (bool(site.roads or layout.aisles), "carriageway", "rect", CARRIAGEWAY),
        (any(r.fire_lane for r in site.roads), "fire lane", "rect", FIRE_LANE),
        (bool(site.green), "green", "rect", GREEN),
        (bool(site.hydrants), "hydrant", "circle", HYDRANT),
        (bool(site.gates), "gate", "rect", GATE),
    ]
    return items + [(label, shape, style) for shown, label, shape, style in present if shown]


def _legend(
    parent: ET.Element, x: float, y: float, width: float, layout: Layout, site: Site
) -> float:
    """The legend and totals box at (x, y); its height."""
    items = _legend_items(layout, site)
    totals = _totals(layout)
    columns = max(1, int(width // LEGEND_COLUMN_MM))
    rows = math.ceil(len(items) / columns)
    height = (rows + len(totals)) * ROW_MM + 3
    box = _el(parent, "g", {"id": "legend", "font-size": 3})
    _el(
        box,
        "rect",
        {
            "x": x,
            "y": y,
            "width": width,
            "height": height,
            "fill": "#ffffff",
            "stroke": "#000000",
            "stroke-width": 0.3,
        },
    )
    for i, (label, shape, style) in enumerate(items):
        sx = x + 2 + (i % columns) * LEGEND_COLUMN_MM
        sy = y + 2 + (i // columns) * ROW_MM
        if shape == "circle":
            _el(box, "circle", {"cx": sx + 3, "cy": sy + 1.5, "r": HYDRANT_RADIUS_MM, **style})
        else:
            _el(box, "rect", {"x": sx, "y": sy, "width": 6, "height": 3, **style})
        _el(box, "text", {"x": sx + 8, "y": sy + 2.6}, label)
    for j, line in enumerate(totals):
        _el(box, "text", {"x": x + 2, "y": y + 2 + (rows + j) * ROW_MM + 2.6}, line)
    return height


def _svg_site(root: ET.Element, paper: _Paper, layout: Layout, site: Site) -> None:
    """Ground features below the stalls: compound, green, carriageways, fire lanes,
    buildings, non-motor bays, hydrants and gates."""
    ground = _el(root, "g", {"id": "site"})
    for cls, style, polygons in (
        ("boundary", BOUNDARY, [site.boundary]),
        ("green", GREEN, site.green),
        ("carriageway", CARRIAGEWAY, [*_carriageways(site.roads), *layout.aisles]),
        ("fire-lane", FIRE_LANE, _carriageways(r for r in site.roads if r.fire_lane)),
        ("building", BUILDING, site.buildings),
    ):
        for polygon in polygons:
            _el(
                ground,
                "path",
                {"class": cls, "d": paper.path(polygon), "fill-rule": "evenodd", **style},
            )
    font = NUMBER_FONT_M * paper.k
    for bay in layout.bays:
        _el(
            ground,
            "path",
            {"class": "bay", "data-bay": bay.number, "d": paper.path(bay.polygon), **BAY},
        )
        if bay.lines:
            _el(
                ground,
                "path",
                {
                    "d": paper.path(shapely.MultiLineString(bay.lines)),
                    **_paint_style(str(BAY["stroke"])),
                },
            )
        x, y = paper.xy(bay.polygon.centroid.x, bay.polygon.centroid.y)
        _el(
            ground,
            "text",
            {"x": x, "y": y + 0.35 * font, "font-size": font, "text-anchor": "middle"},
            _bay_label(bay),
        )
    for hydrant in site.hydrants:
        x, y = paper.xy(hydrant.x, hydrant.y)
        _el(
            ground,
            "circle",
            {"class": "hydrant", "cx": x, "cy": y, "r": HYDRANT_RADIUS_MM, **HYDRANT},
        )
    for gate in site.gates:
        x, y = paper.xy(gate.x, gate.y)
        half = GATE_SIZE_MM / 2
        _el(
            ground,
            "rect",
            {
                "class": "gate",
                "x": x - half,
                "y": y - half,
                "width": GATE_SIZE_MM,
                "height": GATE_SIZE_MM,
                **GATE,
            },
        )


def _svg_stalls(root: ET.Element, paper: _Paper, layout: Layout) -> None:
    """One path per stall (``data-stall``), its painted lines, number and accessible marker."""
    group = _el(root, "g", {"id": "stalls"})
    font = NUMBER_FONT_M * paper.k
    for stall in layout.stalls:
        style = _stall_style(stall.kind, stall.accessible)
        _el(
            group,
            "path",
            {
                "class": f"stall {stall.kind.value}",
                "data-stall": stall.number,
                "data-kind": stall.kind.value,
                "d": paper.path(stall.polygon),
                **style,
            },
        )
        if stall.lines:
            _el(
                group,
                "path",
                {
                    "class": "paint",
                    "d": paper.path(shapely.MultiLineString(stall.lines)),
                    **_paint_style(str(style["stroke"])),
                },
            )
        x, y = paper.xy(stall.polygon.centroid.x, stall.polygon.centroid.y)
        _el(
            group,
            "text",
            {
                "class": "stall-number",
                "x": x,
                "y": y + 0.35 * font,
                "font-size": font,
                "text-anchor": "middle",
            },
            str(stall.number),
        )
        if stall.accessible:
            _wheelchair(group, x - 0.6 * font, y + 0.6 * font, 1.2 * font)


def site_plan_svg(layout: Layout, site: Site, *, title: str = "", scale: int = 500) -> str:
    """A printable site plan at 1:``scale`` (paper size in mm, north up) with a scale bar,
    north arrow, title and legend; standalone SVG built with the standard library."""
    k = 1000 / scale
    minx, miny, maxx, maxy = _extent(layout, site)
    map_w, map_h = (maxx - minx) * k, (maxy - miny) * k
    top = MARGIN_MM + (TITLE_BAND_MM if title else 0)
    paper = _Paper(minx=minx, maxy=maxy, k=k, left=MARGIN_MM, top=top)
    width = map_w + 2 * MARGIN_MM

    root = ET.Element(
        "svg",
        {"xmlns": SVG_NS, "version": "1.1", "font-family": FONT_FAMILY, "data-scale": str(scale)},
    )
    if title:
        _el(root, "title", text=title)
    defs = _el(root, "defs")
    hatch = _el(
        defs,
        "pattern",
        {
            "id": HATCH_ID,
            "patternUnits": "userSpaceOnUse",
            "width": 1.2,
            "height": 1.2,
            "patternTransform": "rotate(45)",
        },
    )
    _el(hatch, "path", {"d": "M0 0 L0 1.2", "stroke": FIRE_COLOR, "stroke-width": 0.25})
    background = _el(root, "rect", {"x": 0, "y": 0, "width": width, "fill": "#ffffff"})
    if title:
        _el(
            root,
            "text",
            {
                "id": "title",
                "x": MARGIN_MM,
                "y": MARGIN_MM + 6,
                "font-size": 5,
                "font-weight": "bold",
            },
            title,
        )
    _svg_site(root, paper, layout, site)
    _svg_stalls(root, paper, layout)

    row = top + map_h + 5
    arrow_x = width - MARGIN_MM - 4
    room = min(50.0, arrow_x - 8 - MARGIN_MM)
    _scale_bar(root, MARGIN_MM, row, k, scale, _scale_step(k, room))
    _north_arrow(root, arrow_x, row)
    legend_y = row + SCALE_ROW_MM + 2
    height = legend_y + _legend(root, MARGIN_MM, legend_y, map_w, layout, site) + MARGIN_MM

    background.set("height", _num(height))
    root.set("width", f"{_num(width)}mm")
    root.set("height", f"{_num(height)}mm")
    root.set("viewBox", f"0 0 {_num(width)} {_num(height)}")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")
