"""Non-motor-vehicle bays (非机动车停放区) along the entrance walls of buildings.

Along each wall with a stairwell entrance, a strip ``nonmotor_depth_m`` deep starting
``building_clearance_m`` from the wall (too shallow for a car) is cleared of entrance,
hydrant and gate clearances, carriageways, fire-lane corridors, car stalls, green areas,
trees and keep-clear zones; each free stretch is cut into bays of at most
``nonmotor_group_max`` e-bikes (``ebike_pitch_m`` each) separated by ``nonmotor_gap_m``, at
least ``MIN_BIKES`` per bay. A bay's painted outline is its rectangle.
"""

from __future__ import annotations

import itertools
import math

from shapely.geometry import LineString, Point, Polygon, box

from geo.parking.model import Bay, BayKind, ParkingParams, Site
from geo.parking.zones import Blocker, Frame

MIN_BIKES = 3


def _entrance_walls(building: Polygon, entrances: list[Point]) -> list[tuple]:
    """The exterior walls (start, end) of ``building`` nearest to any of ``entrances``."""
    coords = list(building.exterior.coords)
    walls = [(a, b) for a, b in itertools.pairwise(coords) if a != b]
    chosen = set()
    for entrance in entrances:
        distances = [LineString(w).distance(entrance) for w in walls]
        chosen.add(min(range(len(walls)), key=distances.__getitem__))
    return [walls[i] for i in sorted(chosen)]


def _outward(building: Polygon, a: tuple, b: tuple) -> int:
    """+1 when the left of wall a->b is outside the building, else -1."""
    probe = Frame.of(a, b).to_world(Point(LineString([a, b]).length / 2, 0.1))
    return -1 if building.contains(probe) else 1


def bays(site: Site, params: ParkingParams, blocker: Blocker) -> list[Bay]:
    """E-bike bays along the entrance walls; ``blocker`` holds everything they must avoid."""
    out: list[Bay] = []
    pitch, depth = params.ebike_pitch_m, params.nonmotor_depth_m
    group = params.nonmotor_group_max * pitch
    for building in site.buildings:
        near = [e for e in site.entrances if building.distance(e) < 3.0]
        if not near:
            continue
        for a, b in _entrance_walls(building, near):
            frame = Frame.of(a, b)
            length = LineString([a, b]).length
            side = _outward(building, a, b)
            t0 = side * params.building_clearance_m
            t1 = side * (params.building_clearance_m + depth)
            wall: list[Bay] = []
            for lo, hi in blocker.free(frame, length, t0, t1):
                start = lo
                while hi - start >= MIN_BIKES * pitch - 1e-9:
                    bikes = min(params.nonmotor_group_max, math.floor((hi - start) / pitch + 1e-9))
                    rect = box(start, min(t0, t1), start + bikes * pitch, max(t0, t1))
                    polygon = frame.to_world(rect)
                    ring = list(polygon.exterior.coords)
                    lines = [LineString(pair) for pair in itertools.pairwise(ring)]
                    wall.append(Bay(0, BayKind.EBIKE, polygon, bikes, lines))
                    start += min(bikes * pitch, group) + params.nonmotor_gap_m
            blocker.add([bay.polygon for bay in wall])
            out += wall
    return out
