"""The worker-assignment (A/B 角) view of a community map.

Every grid has a primary worker (A角) and a backup (B角) who is the A worker of an adjacent grid.
Two layers show this:

- ``A 角 Primary (A)``: each grid filled with its A worker's colour (one colour per worker, so
  a worker holding two grids has the same colour on both) and labelled with its code and the A
  worker's name; a grid without an A worker is hatched red and labelled "无人负责 Unassigned",
  one with an A but no B gets a red dashed outline and "无B角 No backup" in its tooltip.
- ``AB 搭档 A/B pairs``: for each B role whose worker is A of another grid (the B's home grid;
  the nearest one if several), a slightly curved line between the two grids' representative
  points with an arrowhead pointing to the home grid. Mixed-gender pairs are magenta, mentoring
  pairs (one veteran, one newcomer) dashed.

Roles are plain dicts ``{"grid_id", "role": "A" | "B", "worker": {"id", "name", "gender",
"years"}}``; roles of unknown grids, with another role, or without a worker id are ignored, and
a B role of a worker who is also A of the same grid is not a backup (ignored as well).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape

import folium
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from maps import style as s
from maps.base import LegendItem, Overlay, add_layers, base_map, finish_map
from maps.basemaps import Basemap, CoordTransform, projector
from maps.colouring import adjacency, as_shape
from maps.community import community_bounds
from maps.layers import Field, _drawable, _props, community_outline_layer, geojson_layer

PRIMARY_TITLE = "A 角 Primary (A)"
PAIRS_TITLE = "AB 搭档 A/B pairs"
UNASSIGNED_LABEL = "无人负责 Unassigned"
NO_BACKUP_LABEL = "无B角 No backup"

WORKER_PALETTE: tuple[str, ...] = (
    "#4e79a7",
    "#f28e2b",
    "#59a14f",
    "#b07aa1",
    "#f1ce63",
    "#499894",
    "#d37295",
    "#a0cbe8",
    "#9d7660",
    "#8cd17d",
    "#ffbe7d",
    "#d4a6c8",
    "#b6992d",
    "#86bcb6",
    "#fabfd2",
    "#d7b5a6",
    "#79706e",
    "#bab0ac",
)
"""Qualitative palette: Tableau 20 without its two reds (red means "needs attention" here),
strong hues first, greys last."""
WORKER_FILL_OPACITY = 0.5

ALERT_COLOR = s.KEEP_CLEAR["color"]
"""Red of the warnings; also the colour of the shared SVG hatch pattern (``s.HATCH_ID``)."""
UNASSIGNED: s.Style = {
    "color": ALERT_COLOR,
    "weight": 2.5,
    "fillColor": f"url(#{s.HATCH_ID})",
    "fillOpacity": 0.8,
}
NO_BACKUP_OUTLINE: s.Style = {"color": ALERT_COLOR, "weight": 3, "dashArray": "6 4"}
"""Drawn over the worker fill of a grid that has an A worker but no B."""

PAIR_LINE: s.Style = {"color": "#08306b", "weight": 3, "opacity": 0.9}
MIXED_GENDER_COLOR = "#c51b7d"
MENTORING_DASH = "6 4"
VETERAN_YEARS = 3.0
NEWCOMER_YEARS = 1.0
"""A pair is a mentoring pair when one has >= VETERAN_YEARS and the other < NEWCOMER_YEARS."""
PAIR_BOW = 0.15
"""Lines bow to their right by this fraction of their length, so that the two lines of a
reciprocal pair (B of 07 is A of 08 and vice versa) do not overlap."""
PAIR_SEGMENTS = 16
ARROW_AT = 0.6
"""Where along the line the arrowhead sits (clear of the grid labels at the two ends)."""
ARROW_PX = 16

GENDERS = {"female": "女 Female", "male": "男 Male"}


@dataclass(frozen=True)
class Worker:
    id: int
    name: str
    gender: str | None
    years: float | None


@dataclass(eq=False)
class _Grid:
    feature: dict
    shape: BaseGeometry
    point: Point
    a: list[Worker] = field(default_factory=list)
    b: list[Worker] = field(default_factory=list)

    @property
    def code(self) -> str:
        props = _props(self.feature)
        return str(props.get("code") or props.get("id") or "")


@dataclass(frozen=True)
class _Pair:
    grid: _Grid
    backup: Worker
    home: _Grid | None
    """The grid where the backup is A (the nearest one if several), None if nowhere."""


# --- the assignments ---------------------------------------------------------------------------


def _worker(raw: object) -> Worker | None:
    if not isinstance(raw, dict) or raw.get("id") is None:
        return None
    years = raw.get("years")
    is_number = isinstance(years, int | float) and not isinstance(years, bool)
    gender = raw.get("gender")
    return Worker(
        id=raw["id"],
        name=str(raw.get("name") or f"#{raw['id']}"),
        gender=gender if isinstance(gender, str) else None,
        years=float(years) if is_number and math.isfinite(years) else None,
    )


def _assignments(grids: Sequence[dict], roles: Sequence[dict]) -> list[_Grid]:
    """The drawable grids in order, each with its A and B workers (in role order, no repeats)."""
    entries = []
    by_id: dict[object, _Grid] = {}
    for feature in _drawable(grids):
        shape = as_shape(feature)
        entry = _Grid(feature, shape, shape.representative_point())
        entries.append(entry)
        if (grid_id := _props(feature).get("id")) is not None:
            by_id.setdefault(grid_id, entry)
    for role in roles:
        entry = by_id.get(role.get("grid_id"))
        worker = _worker(role.get("worker"))
        kind = role.get("role")
        if entry is None or worker is None or kind not in ("A", "B"):
            continue
        workers = entry.a if kind == "A" else entry.b
        if all(w.id != worker.id for w in workers):
            workers.append(worker)
    for entry in entries:
        entry.b = [w for w in entry.b if all(w.id != a.id for a in entry.a)]
    return entries


def _local(point: Point, lat0: float) -> tuple[float, float]:
    """Equirectangular coordinates around ``lat0``: locally conformal, like the Web Mercator map."""
    return (point.x * math.cos(math.radians(lat0)), point.y)


def _pairs(entries: Sequence[_Grid]) -> list[_Pair]:
    a_grids: dict[int, list[_Grid]] = {}
    for entry in entries:
        for worker in entry.a:
            a_grids.setdefault(worker.id, []).append(entry)

    def distance(g: _Grid, h: _Grid) -> float:
        lat0 = (g.point.y + h.point.y) / 2
        (x0, y0), (x1, y1) = _local(g.point, lat0), _local(h.point, lat0)
        return math.hypot(x1 - x0, y1 - y0)

    pairs = []
    for entry in entries:
        for backup in entry.b:
            homes = [h for h in a_grids.get(backup.id, []) if h is not entry]
            home = min(homes, key=lambda h: distance(entry, h)) if homes else None
            pairs.append(_Pair(entry, backup, home))
    return pairs


def _colours(entries: Sequence[_Grid], palette: Sequence[str]) -> dict[int, str]:
    """A colour per worker who colours a grid (is its first A worker); see ``worker_colours``.

    Neighbours are the workers colouring edge-adjacent grids.
    """
    if not palette:
        raise ValueError("palette must not be empty")
    neighbours: dict[int, set[int]] = {e.a[0].id: set() for e in entries if e.a}
    for i, near in enumerate(adjacency([e.shape for e in entries])):
        for j in near:
            a, b = entries[i].a[:1], entries[j].a[:1]
            if a and b and a[0].id != b[0].id:
                neighbours[a[0].id].add(b[0].id)
    colours: dict[int, str] = {}
    for worker in sorted(neighbours):
        start = worker % len(palette)
        order = [palette[(start + k) % len(palette)] for k in range(len(palette))]
        used = set(colours.values())
        near = {colours[u] for u in neighbours[worker] if u in colours}
        free = [c for c in order if c not in used] or [c for c in order if c not in near] or order
        colours[worker] = free[0]
    return colours


def worker_colours(
    grids: Sequence[dict], roles: Sequence[dict], palette: Sequence[str] = WORKER_PALETTE
) -> dict[int, str]:
    """Worker id -> fill colour, for every worker who is the (first) A worker of a grid.

    Deterministic: workers are coloured in id order, each taking the first colour no other worker
    has, counting from ``palette[id % len(palette)]``; once the palette is used up, the first one
    none of its neighbours has (else its own start colour).
    """
    return _colours(_assignments(grids, roles), palette)


# --- text --------------------------------------------------------------------------------------


def describe(worker: Worker) -> str:
    """Plain text: ``王芳 (女 Female, 3.5 年 yrs)``."""
    details = []
    if worker.gender:
        details.append(GENDERS.get(worker.gender, worker.gender))
    if worker.years is not None:
        details.append(f"{round(worker.years, 1):g} 年 yrs")
    return f"{worker.name} ({', '.join(details)})" if details else worker.name


def _backup_text(pair: _Pair) -> str:
    text = describe(pair.backup)
    return f"{text} — A of {pair.home.code}" if pair.home else text


def _pair_text(pair: _Pair) -> str:
    assert pair.home is not None
    return f"B of {pair.grid.code}: {pair.backup.name} (A of {pair.home.code})"


def _label(point: Point, code: str, text: str, color: str | None = None) -> folium.Marker:
    """A permanent two-line label (see ``.gridline-label`` in ``base``); ``code``, ``text`` HTML."""
    style = f' style="color: {color}"' if color else ""
    return folium.Marker(
        location=(point.y, point.x),
        icon=folium.DivIcon(
            html=f'<div{style}>{code}<br><span style="font-weight: normal">{text}</span></div>',
            icon_size=(0, 0),
            class_name="gridline-label",
        ),
        interactive=False,
        keyboard=False,
    )


# --- layers ------------------------------------------------------------------------------------


def _primary_layer(entries: Sequence[_Grid], pairs: Sequence[_Pair]) -> Overlay:
    colours = _colours(entries, WORKER_PALETTE)
    backups: dict[_Grid, list[str]] = {}
    for pair in pairs:
        backups.setdefault(pair.grid, []).append(_backup_text(pair))

    styles, shown = [], []
    for entry in entries:
        if not entry.a:
            style = dict(UNASSIGNED)
        else:
            style = s.grid_style(colours[entry.a[0].id]) | {"fillOpacity": WORKER_FILL_OPACITY}
            if not entry.b:
                style |= NO_BACKUP_OUTLINE
        styles.append(style)
        props = _props(entry.feature)
        primary = "; ".join(describe(w) for w in entry.a) or UNASSIGNED_LABEL
        shown.append(
            {
                "type": "Feature",
                "geometry": entry.feature["geometry"],
                "properties": {
                    "name": props.get("name"),
                    "code": props.get("code"),
                    "primary": primary,
                    "backup": "; ".join(backups.get(entry, [])) or NO_BACKUP_LABEL,
                    "households": props.get("households"),
                },
            }
        )

    legend = []
    if colours:
        swatch = s.palette_swatch(list(dict.fromkeys(colours.values())))
        legend.append(LegendItem(swatch, "按A角着色 Coloured by A worker"))
    if any(not e.a for e in entries):
        legend.append(LegendItem(s.area_swatch(UNASSIGNED), UNASSIGNED_LABEL))
    if any(e.a and not e.b for e in entries):
        no_backup = s.grid_style("#ffffff") | NO_BACKUP_OUTLINE
        legend.append(LegendItem(s.area_swatch(no_backup), NO_BACKUP_LABEL))
    layer = Overlay(PRIMARY_TITLE, legend)
    if not entries:
        return layer

    fields = [
        Field("name", "网格 Grid"),
        Field("code", "编码 Code"),
        Field("primary", "A角 Primary (A)"),
        Field("backup", "B角 Backup (B)"),
        Field("households", "户数 Households"),
    ]
    geojson_layer(shown, fields, styles).add_to(layer)
    for entry in entries:
        code = escape(entry.code)
        if entry.a:
            names = "、".join(escape(w.name) for w in entry.a)
            _label(entry.point, code, names).add_to(layer)
        else:
            _label(entry.point, code, escape(UNASSIGNED_LABEL), ALERT_COLOR).add_to(layer)
    return layer


def _pair_kind(a: Worker | None, b: Worker) -> tuple[bool, bool, str | None]:
    """(mixed gender, mentoring, plain-text description) of the pair of A worker ``a`` and B."""
    genders = {a.gender, b.gender} if a else {None}
    mixed = genders == {"female", "male"}
    years = sorted(y for y in (a.years if a else None, b.years) if y is not None)
    mentoring = len(years) == 2 and years[0] < NEWCOMER_YEARS and years[1] >= VETERAN_YEARS
    parts = []
    if mixed:
        parts.append("男女搭档 Mixed-gender")
    elif None not in genders and len(genders) == 1:
        parts.append("同性搭档 Same-gender")
    if mentoring:
        parts.append("传帮带 Mentoring")
    return mixed, mentoring, " · ".join(parts) or None


def pair_style(*, mixed: bool, mentoring: bool) -> s.Style:
    """Colour tells a mixed-gender pair, dashes a mentoring pair."""
    style = dict(PAIR_LINE)
    if mixed:
        style["color"] = MIXED_GENDER_COLOR
    if mentoring:
        style["dashArray"] = MENTORING_DASH
    return style


def _curve(start: Point, end: Point) -> tuple[list[list[float]], tuple[float, float], float]:
    """A quadratic Bezier from ``start`` to ``end`` bowing to its right: its [lon, lat]
    coordinates (exactly ``start`` and ``end`` at the ends), the (lon, lat) of the arrowhead and
    the arrowhead's clockwise screen angle from east, in degrees."""
    lat0 = (start.y + end.y) / 2
    k = math.cos(math.radians(lat0))
    (x0, y0), (x2, y2) = _local(start, lat0), _local(end, lat0)
    dx, dy = x2 - x0, y2 - y0
    # control point: the midpoint moved right of the direction of travel by PAIR_BOW * length
    x1, y1 = (x0 + x2) / 2 + PAIR_BOW * dy, (y0 + y2) / 2 - PAIR_BOW * dx

    def at(t: float) -> tuple[float, float]:
        u = 1 - t
        return (u * u * x0 + 2 * u * t * x1 + t * t * x2, u * u * y0 + 2 * u * t * y1 + t * t * y2)

    inner = [at(i / PAIR_SEGMENTS) for i in range(1, PAIR_SEGMENTS)]
    coords = [[start.x, start.y], *([x / k, y] for x, y in inner), [end.x, end.y]]
    ax, ay = at(ARROW_AT)
    t = ARROW_AT
    tx = 2 * (1 - t) * (x1 - x0) + 2 * t * (x2 - x1)
    ty = 2 * (1 - t) * (y1 - y0) + 2 * t * (y2 - y1)
    angle = math.degrees(math.atan2(-ty, tx))  # screen y points down
    return coords, (ax / k, ay), round(angle, 1)


def _arrowhead(lon: float, lat: float, angle: float, color: str) -> folium.Marker:
    half = ARROW_PX / 2
    svg = (
        f'<svg width="{ARROW_PX}" height="{ARROW_PX}" viewBox="{-half} {-half} {ARROW_PX} '
        f'{ARROW_PX}" style="display: block; transform: rotate({angle}deg)" aria-hidden="true">'
        f'<path d="M7 0L-6 -6L-6 6Z" fill="{color}" stroke="#ffffff" stroke-width="1"/>'
        "</svg>"
    )
    icon = folium.DivIcon(html=svg, icon_size=(ARROW_PX, ARROW_PX), class_name="gridline-arrow")
    return folium.Marker(location=(lat, lon), icon=icon, interactive=False, keyboard=False)


def _pairs_layer(pairs: Sequence[_Pair]) -> Overlay:
    drawn = [p for p in pairs if p.home is not None]
    lines, styles, arrows = [], [], []
    kinds = set()
    for pair in drawn:
        assert pair.home is not None
        mixed, mentoring, kind = _pair_kind(pair.grid.a[0] if pair.grid.a else None, pair.backup)
        kinds.add((mixed, mentoring))
        style = pair_style(mixed=mixed, mentoring=mentoring)
        coords, (lon, lat), angle = _curve(pair.grid.point, pair.home.point)
        lines.append(
            {
                "type": "Feature",
                "geometry": {"type": "LineString", "coordinates": coords},
                "properties": {"pair": _pair_text(pair), "kind": kind},
            }
        )
        styles.append(style)
        arrows.append(_arrowhead(lon, lat, angle, style["color"]))

    legend = []
    if any(not mixed for mixed, _ in kinds):
        label = "同性或不详 Same-gender or unknown pair"
        legend.append(LegendItem(s.line_swatch(PAIR_LINE), label))
    if any(mixed for mixed, _ in kinds):
        swatch = s.line_swatch(pair_style(mixed=True, mentoring=False))
        legend.append(LegendItem(swatch, "男女搭档 Mixed-gender pair"))
    if any(mentoring for _, mentoring in kinds):
        swatch = s.line_swatch(pair_style(mixed=False, mentoring=True))
        years = f"≥{VETERAN_YEARS:g} & <{NEWCOMER_YEARS:g} 年 yrs"
        legend.append(LegendItem(swatch, f"传帮带（虚线）Mentoring pair, dashed ({years})"))
    layer = Overlay(PAIRS_TITLE, legend)
    if lines:
        fields = [Field("pair", "AB 搭档 Pair"), Field("kind", "类型 Kind")]
        geojson_layer(lines, fields, styles).add_to(layer)
        for arrow in arrows:
            arrow.add_to(layer)
    return layer


def assignment_layers(grids: list[dict], roles: list[dict]) -> list[Overlay]:
    """The primary-worker layer and the A/B pair layer, in drawing order (pairs on top)."""
    entries = _assignments(grids, roles)
    pairs = _pairs(entries)
    return [_primary_layer(entries, pairs), _pairs_layer(pairs)]


def assignment_map(
    community: dict,
    grids: list[dict],
    roles: list[dict],
    *,
    tile_url: str | None = None,
    attribution: str = "",
    basemaps: Sequence[Basemap] = (),
    to_gcj02: CoordTransform | None = None,
) -> folium.Map:
    """A finished map of who covers which grid: A workers' grids, the outline, then A/B pairs.

    The neighbour-coloured grid layer of ``community_map`` is left out: the A layer replaces it.
    Over a GCJ-02 basemap everything is drawn converted by ``to_gcj02`` (pair lines and labels
    follow the converted grids).
    """
    draw = projector(basemaps, to_gcj02)
    (community,) = draw([community])
    primary, pairs = assignment_layers(draw(grids), roles)
    m = base_map(community_bounds(community), tile_url, attribution, basemaps=basemaps)
    add_layers(m, [primary, community_outline_layer(community), pairs])
    return finish_map(m)
