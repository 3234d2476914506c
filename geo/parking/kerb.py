"""Kerb-side stalls along a compound's internal roads and fire lanes.

For every straight piece of road and each side, each stall kind is tried in two places: **on
the carriageway** (the stalls take its edge, the rest stays open) or **beside it** (on the
paved ground along the kerb, the whole road stays the aisle). Each option is packed exactly:
the free stretches of its strip (clear of buildings, green areas, trees, keep-clear zones,
hydrant, gate and entrance clearances, fire-lane corridors, crossing roads and stalls already
placed) each take as many stalls as fit. The pair of options for the two sides that gives the
most stalls while the carriageway left is at least the widest aisle the chosen kinds need (and
the fire-lane clear width on a fire lane) wins; ties keep more carriageway.
Roads are taken longest first, their pieces in order; fire lanes only when
``park_along_fire_lanes``.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import shapely
from shapely.geometry import LineString, Point, box

from geo.parking.model import ParkingParams, Road, Site, Stall, StallKind
from geo.parking.rows import fill
from geo.parking.zones import Blocker, Frame, carriageway, drivable_roads, segments

ON_CARRIAGEWAY, BESIDE = "carriageway", "beside"


@dataclass(frozen=True)
class Option:
    """One side's choice: a kind placed on or beside the carriageway, and its stalls."""

    kind: StallKind | None
    place: str
    stalls: list[Stall]

    def taken(self, params: ParkingParams) -> float:
        """Carriageway width the stalls take."""
        if self.kind is None or self.place != ON_CARRIAGEWAY or not self.stalls:
            return 0.0
        return params.depth(self.kind)


NONE = Option(None, BESIDE, [])


def _options(
    road: Road,
    frame: Frame,
    length: float,
    side: int,
    blocker: Blocker,
    params: ParkingParams,
    label: str,
) -> list[Option]:
    half = road.width_m / 2
    out = [NONE]
    for kind in params.kinds:
        depth = params.depth(kind)
        for place in (ON_CARRIAGEWAY, BESIDE):
            if place == ON_CARRIAGEWAY:
                front, back = side * (half - depth), side * half
            else:
                front, back = side * half, side * (half + depth)
            free = blocker.free(frame, length, front, back)
            where = f"kerb:{label}:{'left' if side > 0 else 'right'}"
            stalls = fill(frame.to_world, kind, params, free, front, back, where)
            if stalls:
                out.append(Option(kind, place, stalls))
    return out


def _required(road: Road, left: Option, right: Option, params: ParkingParams) -> float:
    needed = [params.aisle_m[o.kind] for o in (left, right) if o.kind is not None and o.stalls]
    if road.fire_lane:
        needed.append(params.fire_lane_clear_m)
    return max(needed, default=0.0)


def _best(
    road: Road, lefts: list[Option], rights: list[Option], params: ParkingParams, floor: float
) -> tuple[Option, Option]:
    best, score = (NONE, NONE), (-1, -1.0)
    for left, right in itertools.product(lefts, rights):
        remaining = road.width_m - left.taken(params) - right.taken(params)
        if remaining + 1e-9 < max(floor, _required(road, left, right, params)):
            continue
        candidate = (len(left.stalls) + len(right.stalls), remaining)
        if candidate > score:
            best, score = (left, right), candidate
    return best


def _probe(stall: Stall) -> Point:
    """Half a metre out from the middle of the stall's front: where its car drives."""
    front = stall.front
    mid = front.interpolate(0.5, normalized=True)
    (x1, y1), (x2, y2) = front.coords[0], front.coords[-1]
    length = math.hypot(x2 - x1, y2 - y1) or 1.0
    nx, ny = (y1 - y2) / length, (x2 - x1) / length
    centre = stall.polygon.centroid
    if nx * (mid.x - centre.x) + ny * (mid.y - centre.y) < 0:
        nx, ny = -nx, -ny
    return Point(mid.x + 0.5 * nx, mid.y + 0.5 * ny)


def kerb_stalls(
    site: Site, params: ParkingParams, blocker: Blocker, facing: list[Stall] = ()
) -> list[Stall]:
    """Stalls along every drivable road inside the compound; ``blocker`` gets them added.
    Stalls already placed that open onto a road (``facing``) keep their aisle width there."""
    probes = [(_probe(s), params.aisle_m[s.kind]) for s in facing if s.front is not None]
    roads = sorted(
        (r for r in drivable_roads(site) if params.park_along_fire_lanes or not r.fire_lane),
        key=lambda r: -r.line.length,
    )
    placed: list[Stall] = []
    for road in roads:
        crossing = [
            carriageway(r).buffer(params.junction_clearance_m, cap_style="flat")
            for r in site.roads
            if r is not road
        ]
        local = Blocker(blocker.parts)
        local.add(crossing)
        label = road.name or "road"
        for piece in shapely.get_parts(road.line.intersection(site.boundary)):
            if not isinstance(piece, LineString):
                continue
            for a, b in segments(piece):
                frame = Frame.of(a, b)
                length = LineString([a, b]).length
                own = frame.to_world(box(0, -road.width_m / 2, length, road.width_m / 2))
                rest = carriageway(road).difference(own.buffer(0.01))
                local.add([rest])
                floor = max((need for p, need in probes if own.intersects(p)), default=0.0)
                lefts = _options(road, frame, length, 1, local, params, label)
                rights = _options(road, frame, length, -1, local, params, label)
                left, right = _best(road, lefts, rights, params, floor)
                chosen = left.stalls + right.stalls
                local.add([s.polygon for s in chosen])
                blocker.add([s.polygon for s in chosen])
                placed += chosen
    return placed
