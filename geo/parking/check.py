"""Compliance check of a parking layout against its site (local metric CRS, metres).

Works on generated layouts and on imported or hand-drawn ones, whose stalls may have no
``front`` and no ``lines``. ``check`` returns every violation, ordered as ``RULES`` and then by
stall number. An overlap counts when its area exceeds ``AREA_TOL`` (0.01 m²); a distance limit
is broken only below the limit less ``DIST_TOL`` (1 cm), so a stall touching a limit passes.
Features are named by kind and 1-based position in their site list ("hydrant 2"), roads by
name. Carriageways and fire lane corridors are centre lines grown with flat ends and mitred
bends, as the generator draws them.

Rules:

- ``outside_compound``: more than AREA_TOL of the stall lies outside the compound boundary
  (geometry: that part).
- ``overlap``: two stalls share more than AREA_TOL; reported once per pair, on the lower
  number (geometry: the shared part).
- ``building``, ``tree``, ``hydrant``, ``gate``, ``entrance``: the stall is nearer than its
  clearance (``building_clearance_m``, ``tree_clearance_m``, ...) less DIST_TOL to a building,
  tree, hydrant, gate or building entrance (geometry: the stall's part within the feature grown
  by the clearance). A clearance below DIST_TOL only forbids overlapping the feature.
- ``green_area`` (unless ``params.allow_green``), ``keep_clear``: the stall shares more than
  AREA_TOL with a green area or keep-clear zone (geometry: the shared part).
- ``fire_lane``: the stall shares more than AREA_TOL with the clear corridor of a road of kind
  ``fire_lane``: its centre line grown by ``fire_lane_clear_m / 2`` (geometry: the shared part).
- ``unreachable``: the drivable area is the union of the carriageways of all roads but
  footpaths (centre line grown by half the width) and the ``aisles``; its connected parts
  (parts less than DIST_TOL apart are connected) coming within 1 m of a gate are reachable. A
  stall must have its ``front`` (its polygon when it has none) within 0.5 m of a reachable
  part. Without gates every stall is unreachable (geometry: the front, or the polygon).
- ``carriageway_width``: in front of every stall opening onto a road (the point 0.5 m out
  from the middle of its ``front`` lies on the carriageway; a stall without a front: its
  polygon within 0.5 m of it) or standing on its carriageway, the cross-section of the road
  through the middle of the front must stay clear of stalls for the stall kind's
  ``aisle_m`` (at least ``fire_lane_clear_m`` on a fire lane); on a fire lane with stalls on
  it, also every 1 m. Reported per stall (None for a fire-lane section no stall opens onto);
  geometry: the section.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import networkx as nx
import numpy as np
import shapely
from shapely.geometry import LineString, MultiPolygon, Point, Polygon
from shapely.geometry.base import BaseGeometry

from geo.errors import InvalidInput
from geo.parking.model import ParkingParams, Road, Site, Stall, StallKind

AREA_TOL = 0.01
"""Square metres of overlap below which shapes only touch."""
DIST_TOL = 0.01
"""Metres of slack on every distance limit."""
GATE_REACH_M = 1.0
"""A drivable part this near a gate is entered from it."""
FRONT_REACH_M = 0.5
"""A stall opens onto a drivable part its front is this near."""
NEXT_TO_M = 0.5
"""A stall this near a carriageway needs that road's width as its aisle."""
SECTION_STEP_M = 1.0
FOOTPATH = "footpath"
_KINDS = {k.value for k in StallKind}

RULES = (
    "outside_compound",
    "overlap",
    "building",
    "green_area",
    "tree",
    "keep_clear",
    "fire_lane",
    "hydrant",
    "gate",
    "entrance",
    "unreachable",
    "carriageway_width",
)


@dataclass(frozen=True)
class Violation:
    """One broken rule: the stall's number (None for a road), the rule (one of ``RULES``), a
    message with the figures, and where (metric)."""

    stall: int | None
    rule: str
    message: str
    geometry: BaseGeometry


def check(
    site: Site, stalls: Sequence[Stall], params: ParkingParams, *, aisles: Sequence[Polygon] = ()
) -> list[Violation]:
    """Every violation of ``stalls`` on ``site``; ``aisles`` are drivable areas a generator
    added to the roads. Raises InvalidInput on a bad stall, site feature or aisle."""
    _validate(site, stalls, params, aisles)
    if not stalls:
        return []
    polys = np.array([s.polygon for s in stalls], dtype=object)
    numbers = [s.number for s in stalls]
    fire_lanes = [(k, r) for k, r in enumerate(site.roads) if r.fire_lane]
    green = [] if params.allow_green else site.green
    corridor = f"the {params.fire_lane_clear_m:.2f} m clear corridor of"
    found = [
        *_outside(site.boundary, polys, numbers),
        *_overlaps(polys, numbers),
        *_near("building", site.buildings, params.building_clearance_m, polys, numbers),
        *_overlapping("green_area", _names("green area", green), green, polys, numbers),
        *_near("tree", site.trees, params.tree_clearance_m, polys, numbers),
        *_overlapping(
            "keep_clear",
            _names("keep-clear zone", site.keep_clear),
            site.keep_clear,
            polys,
            numbers,
        ),
        *_overlapping(
            "fire_lane",
            [f"{corridor} {_road_name(k, r)}" for k, r in fire_lanes],
            [_grown(r.line, params.fire_lane_clear_m) for _, r in fire_lanes],
            polys,
            numbers,
        ),
        *_near("hydrant", site.hydrants, params.hydrant_clearance_m, polys, numbers),
        *_near("gate", site.gates, params.gate_clearance_m, polys, numbers),
        *_near("entrance", site.entrances, params.entrance_clearance_m, polys, numbers),
        *_unreachable(site, stalls, aisles),
        *_carriageway_width(site, stalls, polys, params),
    ]
    return sorted(found, key=lambda v: (RULES.index(v.rule), v.stall is None, v.stall or 0))


def _validate(
    site: Site, stalls: Sequence[Stall], params: ParkingParams, aisles: Sequence[Polygon]
) -> None:
    _polygon("the compound boundary", site.boundary)
    for label, geoms in (
        ("building", site.buildings),
        ("green area", site.green),
        ("keep-clear zone", site.keep_clear),
        ("aisle", aisles),
    ):
        for name, geom in zip(_names(label, geoms), geoms, strict=True):
            _polygon(name, geom)
    for k, road in enumerate(site.roads):
        if not isinstance(road.line, LineString) or road.line.length <= 0 or road.width_m <= 0:
            raise InvalidInput(f"{_road_name(k, road)} needs a centre line and a positive width")
    for stall in stalls:
        _polygon(f"stall {stall.number}", stall.polygon, (Polygon,))
        if stall.front is not None and (
            not isinstance(stall.front, LineString) or stall.front.is_empty
        ):
            raise InvalidInput(f"stall {stall.number}: its front is not a line")
        if stall.kind not in _KINDS:
            raise InvalidInput(f"stall {stall.number}: unknown kind {stall.kind!r}")
    repeated = sorted(n for n, count in Counter(s.number for s in stalls).items() if count > 1)
    if repeated:
        raise InvalidInput(f"stall numbers used more than once: {_list(repeated)}")
    missing = sorted({StallKind(s.kind) for s in stalls} - params.aisle_m.keys())
    if missing:
        raise InvalidInput(f"no aisle width (aisle_m) for stall kind {_list(missing)}")


def _polygon(name: str, geom: object, types: tuple[type, ...] = (Polygon, MultiPolygon)) -> None:
    if not isinstance(geom, types) or geom.is_empty:
        raise InvalidInput(f"{name} is not a polygon")
    if not geom.is_valid:
        raise InvalidInput(f"{name} is not a valid polygon: {shapely.is_valid_reason(geom)}")


def _names(label: str, geoms: Sequence[object]) -> list[str]:
    return [f"{label} {k + 1}" for k in range(len(geoms))]


def _road_name(index: int, road: Road) -> str:
    word = "fire lane" if road.fire_lane else "road"
    return f"{word} {road.name or index + 1}"


def _list(items: Sequence[object]) -> str:
    return ", ".join(str(i) for i in items)


def _grown(line: LineString, width: float) -> BaseGeometry:
    """A band of ``width`` along ``line``: flat ends, mitred bends."""
    return line.buffer(width / 2, cap_style="flat", join_style="mitre")


def _drivable(site: Site) -> list[Road]:
    return [r for r in site.roads if r.kind != FOOTPATH]


def _outside(boundary: Polygon, polys: np.ndarray, numbers: list[int]) -> list[Violation]:
    idx = np.flatnonzero(~shapely.within(polys, boundary))
    parts = shapely.difference(polys[idx], boundary)
    area = shapely.area(parts)
    return [
        Violation(
            numbers[i],
            "outside_compound",
            f"stall {numbers[i]} lies {a:.2f} m² outside the compound",
            g,
        )
        for i, a, g in zip(idx, area, parts, strict=True)
        if a > AREA_TOL
    ]


def _overlaps(polys: np.ndarray, numbers: list[int]) -> list[Violation]:
    left, right = shapely.STRtree(polys).query(polys, predicate="intersects")
    pair = left < right
    left, right = left[pair], right[pair]
    shared = shapely.intersection(polys[left], polys[right])
    area = shapely.area(shared)
    out = []
    for i, j, a, g in zip(left, right, area, shared, strict=True):
        if a > AREA_TOL:
            lo, hi = sorted((numbers[i], numbers[j]))
            out.append(Violation(lo, "overlap", f"stalls {lo} and {hi} overlap by {a:.2f} m²", g))
    return out


def _overlapping(
    rule: str,
    names: list[str],
    features: Sequence[BaseGeometry],
    polys: np.ndarray,
    numbers: list[int],
) -> list[Violation]:
    """Stalls sharing more than AREA_TOL with a feature."""
    if not features:
        return []
    feats = np.array(features, dtype=object)
    stall, feat = shapely.STRtree(feats).query(polys, predicate="intersects")
    shared = shapely.intersection(polys[stall], feats[feat])
    area = shapely.area(shared)
    return [
        Violation(numbers[i], rule, f"stall {numbers[i]} overlaps {names[j]} by {a:.2f} m²", g)
        for i, j, a, g in zip(stall, feat, area, shared, strict=True)
        if a > AREA_TOL
    ]


def _near(
    rule: str,
    features: Sequence[BaseGeometry],
    clearance: float,
    polys: np.ndarray,
    numbers: list[int],
) -> list[Violation]:
    """Stalls nearer than ``clearance`` less DIST_TOL to a feature (named by the rule)."""
    names = _names(rule, features)
    limit = clearance - DIST_TOL
    if limit <= 0:
        return _overlapping(rule, names, features, polys, numbers)
    feats = np.array(features, dtype=object)
    stall, feat = shapely.STRtree(feats).query(polys, predicate="dwithin", distance=limit)
    dist = shapely.distance(polys[stall], feats[feat])
    where = shapely.intersection(polys[stall], shapely.buffer(feats[feat], clearance, quad_segs=32))
    return [
        Violation(
            numbers[i],
            rule,
            f"stall {numbers[i]} is {d:.2f} m from {names[j]}; {clearance:.2f} m required",
            g,
        )
        for i, j, d, g in zip(stall, feat, dist, where, strict=True)
    ]


def _unreachable(site: Site, stalls: Sequence[Stall], aisles: Sequence[Polygon]) -> list[Violation]:
    fronts = np.array([s.polygon if s.front is None else s.front for s in stalls], dtype=object)
    parts = shapely.get_parts(
        shapely.union_all([*(_grown(r.line, r.width_m) for r in _drivable(site)), *aisles])
    )
    if not site.gates or not len(parts):
        why = "the site has no gate" if not site.gates else "the site has no road or aisle"
        return [
            Violation(s.number, "unreachable", f"stall {s.number} is unreachable: {why}", g)
            for s, g in zip(stalls, fronts, strict=True)
        ]
    tree = shapely.STRtree(parts)
    graph = nx.Graph()
    graph.add_nodes_from(range(len(parts)))
    graph.add_edges_from(tree.query(parts, predicate="dwithin", distance=DIST_TOL).T.tolist())
    gates = np.array(site.gates, dtype=object)
    entered = set(tree.query(gates, predicate="dwithin", distance=GATE_REACH_M + DIST_TOL)[1])
    reachable = [i for part in nx.connected_components(graph) if part & entered for i in part]
    reached = np.zeros(len(stalls), dtype=bool)
    if reachable:
        hit = shapely.STRtree(parts[reachable]).query(
            fronts, predicate="dwithin", distance=FRONT_REACH_M + DIST_TOL
        )
        reached[hit[0]] = True
    lost = np.flatnonzero(~reached)
    (which, _), dist = tree.query_nearest(fronts[lost], return_distance=True, all_matches=False)
    out = []
    for i, d in zip(lost[which], dist, strict=True):
        n = stalls[i].number
        if d <= FRONT_REACH_M + DIST_TOL:
            why = "it opens onto an aisle or road that no gate connects to"
        else:
            why = f"it is {d:.2f} m from the nearest aisle or road; {FRONT_REACH_M:.2f} m allowed"
        out.append(Violation(n, "unreachable", f"stall {n} is unreachable: {why}", fronts[i]))
    return out


def _carriageway_width(
    site: Site, stalls: Sequence[Stall], polys: np.ndarray, params: ParkingParams
) -> list[Violation]:
    fronts = np.array([s.front if s.front is not None else s.polygon for s in stalls])
    probes = np.array([_probe(s) for s in stalls])
    front_tree, poly_tree = shapely.STRtree(probes), shapely.STRtree(polys)
    out = []
    for k, road in enumerate(site.roads):
        if road.kind == FOOTPATH:
            continue
        surface = _grown(road.line, road.width_m)
        opening = np.sort(front_tree.query(surface, predicate="dwithin", distance=DIST_TOL))
        on_road = poly_tree.query(surface, predicate="intersects")
        on_road = on_road[shapely.area(shapely.intersection(polys[on_road], surface)) > AREA_TOL]
        opening = np.union1d(opening, on_road)
        if not opening.size and not (road.fire_lane and on_road.size):
            continue
        taken = shapely.union_all(polys[np.union1d(opening, on_road)])
        checks: list[tuple[float, float, str, int | None]] = []  # (at, required, why, stall)
        for i in opening:
            kind = StallKind(stalls[i].kind)
            required, why = params.aisle_m[kind], f"{kind} stalls"
            if road.fire_lane and params.fire_lane_clear_m > required:
                required, why = params.fire_lane_clear_m, "a fire lane"
            front = fronts[i]
            middle = (
                shapely.line_interpolate_point(front, 0.5, normalized=True)
                if isinstance(front, LineString)
                else shapely.centroid(front)
            )
            checks.append((road.line.project(middle), required, why, i))
        if road.fire_lane:
            checks += [
                (at, params.fire_lane_clear_m, "a fire lane", None)
                for at in [*np.arange(0.0, road.line.length, SECTION_STEP_M), road.line.length]
            ]
        sections = _sections(road.line, np.array([c[0] for c in checks]), road.width_m)
        clear = road.width_m - shapely.length(shapely.intersection(sections, taken))
        reported: set[int | None] = set()
        for (_, required, why, owner), width, section in zip(checks, clear, sections, strict=True):
            if width >= required - DIST_TOL:
                continue
            crossed = [
                stalls[i].number
                for i in on_road
                if shapely.length(shapely.intersection(polys[i], section)) > DIST_TOL
            ]
            number = stalls[owner].number if owner is not None else min(crossed, default=None)
            if number in reported:
                continue
            reported.add(number)
            figures = (
                f"{width:.2f} m of the {road.width_m:.2f} m carriageway of "
                f"{_road_name(k, road)} clear; {required:.2f} m required for {why}"
            )
            message = f"stall {number} leaves {figures}" if number else f"only {figures}"
            out.append(Violation(number, "carriageway_width", message, section))
    return out


def _probe(stall: Stall) -> BaseGeometry:
    """Where a car leaving the stall drives: ``NEXT_TO_M`` out from the middle of its front
    (a stall without a front: its polygon grown by ``NEXT_TO_M``)."""
    if stall.front is None:
        return stall.polygon.buffer(NEXT_TO_M)
    (x1, y1), (x2, y2) = stall.front.coords[0], stall.front.coords[-1]
    mx, my = (x1 + x2) / 2, (y1 + y2) / 2
    length = math.hypot(x2 - x1, y2 - y1) or 1.0
    nx, ny = (y1 - y2) / length, (x2 - x1) / length
    centre = stall.polygon.centroid
    if nx * (mx - centre.x) + ny * (my - centre.y) < 0:
        nx, ny = -nx, -ny
    return Point(mx + NEXT_TO_M * nx, my + NEXT_TO_M * ny)


def _sections(line: LineString, at: np.ndarray, width: float) -> np.ndarray:
    """Segments of ``width`` across ``line``, centred on it at distances ``at`` along it."""
    xy = shapely.get_coordinates(line)
    step = np.diff(xy, axis=0)
    size = np.hypot(step[:, 0], step[:, 1])
    keep = size > 0
    origin, step, size = xy[:-1][keep], step[keep], size[keep]
    start = np.concatenate([[0.0], np.cumsum(size)[:-1]])
    seg = np.clip(np.searchsorted(start, at, side="right") - 1, 0, len(start) - 1)
    unit = step[seg] / size[seg, None]
    centre = origin[seg] + unit * (at - start[seg])[:, None]
    half = np.column_stack([-unit[:, 1], unit[:, 0]]) * (width / 2)
    return shapely.linestrings(np.stack([centre - half, centre + half], axis=1))
