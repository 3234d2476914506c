"""A compound's parking layout: kerb stalls, pocket layouts, non-motor bays, accessible stalls,
numbers and totals (pure Shapely, metric)."""

from __future__ import annotations

import itertools
import math
from collections import Counter
from dataclasses import dataclass, replace
from typing import Any

import shapely
from shapely.geometry import Polygon, box
from shapely.geometry.base import BaseGeometry

from geo.parking.kerb import kerb_stalls
from geo.parking.model import Bay, Layout, ParkingParams, Site, Stall, StallKind
from geo.parking.nonmotor import bays
from geo.parking.pocket import pocket_layout
from geo.parking.zones import (
    Blocker,
    carriageway,
    drivable_roads,
    obstacles,
    reachable_carriageway,
)

AREA_PER_STALL_M2 = 19.0
"""A double-loaded 90-degree module's area per stall: the area upper bound's divisor."""
ACCESSIBLE_KINDS = (StallKind.PERPENDICULAR, StallKind.ANGLE_60)


def _outside(site: Site) -> BaseGeometry:
    return box(*site.boundary.buffer(100).bounds).difference(site.boundary)


def open_area(site: Site, params: ParkingParams, taken: list[Stall]) -> BaseGeometry:
    """Ground left for pockets: the compound less obstacles, carriageways and ``taken``."""
    roads = [carriageway(r) for r in site.roads]
    blocked = shapely.union_all([obstacles(site, params), *roads, *(s.polygon for s in taken)])
    return site.boundary.difference(blocked)


def _pockets(
    site: Site, params: ParkingParams, taken: list[Stall]
) -> tuple[list[Stall], list[Polygon]]:
    """Pocket layouts in each open area touching a gate-connected carriageway; an aisle may
    run over a carriageway only where the road is as wide as the aisle (and not a fire lane,
    unless ``park_along_fire_lanes``)."""
    if StallKind.PERPENDICULAR not in params.kinds:
        return [], []
    reach = reachable_carriageway(site)
    if reach.is_empty:
        return [], []
    aisle = params.aisle_m[StallKind.PERPENDICULAR]
    wide = (
        shapely.union_all(
            [
                carriageway(r)
                for r in drivable_roads(site)
                if r.width_m >= aisle - 1e-9 and (params.park_along_fire_lanes or not r.fire_lane)
            ]
        )
        .intersection(reach)
        .difference(shapely.union_all([s.polygon for s in taken]))
    )
    stalls: list[Stall] = []
    aisles: list[Polygon] = []
    areas = sorted(
        (p for p in shapely.get_parts(open_area(site, params, taken)) if isinstance(p, Polygon)),
        key=lambda p: -p.area,
    )
    for n, area in enumerate(areas, start=1):
        if area.area < params.min_pocket_m2 or area.distance(reach) > 0.5:
            continue
        region = area.union(wide.intersection(area.buffer(10.0)))
        found, used = pocket_layout(area, region, reach, params, f"pocket:{n}")
        stalls += found
        aisles += used
    return stalls, aisles


def _accessible(stalls: list[Stall], site: Site, params: ParkingParams) -> list[Stall]:
    """Turn the pairs of neighbouring stalls nearest to entrances into accessible stalls (the
    second stall's space is the access aisle), until the required share is met."""
    if not stalls:
        return stalls
    wanted = max(1, math.ceil(params.accessible_share * len(stalls)))
    by_source: dict[str, list[int]] = {}
    for i, s in enumerate(stalls):
        by_source.setdefault(s.source, []).append(i)
    pairs = []
    for members in by_source.values():
        for i, j in itertools.pairwise(members):
            a, b = stalls[i], stalls[j]
            wide_enough = params.pitch(a.kind) >= params.accessible_aisle_m
            touching = a.polygon.intersection(b.polygon).length > 0.5
            if a.kind in ACCESSIBLE_KINDS and a.kind == b.kind and wide_enough and touching:
                pairs.append((i, j))
    doors = shapely.union_all(site.entrances) if site.entrances else None
    pairs.sort(key=lambda p: stalls[p[0]].polygon.distance(doors) if doors else 0.0)
    merged: dict[int, Stall] = {}
    gone: set[int] = set()
    for i, j in pairs:
        if len(merged) >= wanted:
            break
        if {i, j} & (gone | set(merged)):
            continue
        a, b = stalls[i], stalls[j]
        merged[i] = replace(
            a,
            polygon=a.polygon.union(b.polygon).normalize(),
            lines=a.lines + b.lines,
            accessible=True,
            front=shapely.line_merge(shapely.union_all([a.front, b.front])),
        )
        gone.add(j)
    return [merged.get(i, s) for i, s in enumerate(stalls) if i not in gone]


@dataclass(frozen=True)
class Generated:
    layout: Layout
    kerb: int
    pocket: int


def _kerb_first(site: Site, params: ParkingParams) -> tuple[list[Stall], list[Polygon]]:
    kerb = kerb_stalls(site, params, Blocker([obstacles(site, params), _outside(site)]))
    pocket, aisles = _pockets(site, params, kerb)
    return kerb + pocket, aisles


def _pockets_first(site: Site, params: ParkingParams) -> tuple[list[Stall], list[Polygon]]:
    pocket, aisles = _pockets(site, params, [])
    blocker = Blocker(
        [obstacles(site, params), _outside(site), *(s.polygon for s in pocket), *aisles]
    )
    return kerb_stalls(site, params, blocker, pocket) + pocket, aisles


def generate(site: Site, params: ParkingParams) -> Generated:
    """The layout of ``site``, the better of two orders: kerb stalls first (the cheapest
    ground) then pockets in what is left, or pockets first (their aisles may then reach the
    road where kerb stalls would have walled them off) then kerb stalls around them; then
    accessible stalls and non-motor bays. Stalls and bays are numbered from 1."""
    stalls, aisles = max(
        (_kerb_first(site, params), _pockets_first(site, params)), key=lambda r: len(r[0])
    )
    stalls = _accessible(stalls, site, params)
    cars = [s.polygon for s in stalls]
    bay_blocker = Blocker(
        [obstacles(site, params), _outside(site), *cars, *aisles]
        + [carriageway(r) for r in site.roads]
    )
    found: list[Bay] = bays(site, params, bay_blocker)
    stalls = [replace(s, number=n) for n, s in enumerate(stalls, start=1)]
    found = [replace(b, number=n) for n, b in enumerate(found, start=1)]
    kerb_count = sum(1 for s in stalls if s.source.startswith("kerb:"))
    return Generated(Layout(stalls, found, aisles), kerb_count, len(stalls) - kerb_count)


def bounds(site: Site, params: ParkingParams) -> dict[str, float]:
    """Simple upper bounds: both kerbs of every drivable road inside the compound over the
    stall pitch; the open ground over 19 m2 (a double-loaded module's area per stall)."""
    kerb = sum(2 * r.line.intersection(site.boundary).length for r in drivable_roads(site))
    ground = open_area(site, params, []).area
    return {
        "kerb_bound": math.floor(kerb / params.pitch(StallKind.PERPENDICULAR)),
        "area_bound": math.floor(ground / AREA_PER_STALL_M2),
    }


def totals(layout: Layout, site: Site, params: ParkingParams) -> dict[str, Any]:
    """Counts, lengths and ratios of a layout."""
    stalls = layout.stalls
    kinds = Counter(s.kind.value for s in stalls)
    kerb = sum(1 for s in stalls if s.source.startswith("kerb:"))
    limit = bounds(site, params)
    used = sum(s.polygon.area for s in stalls) + sum(a.area for a in layout.aisles)
    return {
        "stalls": len(stalls),
        "by_kind": {k.value: kinds.get(k.value, 0) for k in StallKind},
        "accessible": sum(1 for s in stalls if s.accessible),
        "kerb_stalls": kerb,
        "pocket_stalls": len(stalls) - kerb,
        "bays": len(layout.bays),
        "nonmotor_capacity": sum(b.capacity for b in layout.bays),
        "painted_m": round(layout.painted_m, 1),
        "nonmotor_lines_m": round(layout.nonmotor_lines_m, 1),
        "m2_per_stall": round(used / len(stalls), 1) if stalls else None,
        **limit,
        "kerb_ratio": round(kerb / limit["kerb_bound"], 3) if limit["kerb_bound"] else None,
        "area_ratio": (
            round((len(stalls) - kerb) / limit["area_bound"], 3) if limit["area_bound"] else None
        ),
    }
