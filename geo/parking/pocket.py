"""Pocket layouts: perpendicular stalls in open paved areas reachable from a road.

An open area is the compound less buildings, green areas, trees, keep-clear zones, every
clearance, fire-lane corridors, every carriageway and the kerb stalls; only parts of at least
``min_pocket_m2`` that touch a carriageway connected to a gate are used.

Each area is tried at several orientations: its edge directions, its minimum rotated
rectangle, the bearings of the roads it touches and a sweep every ``SWEEP_DEG`` degrees. At
each orientation rows run along x and **modules** are stacked along y: a single-loaded module
(a stall row with its aisle above or below) or a double-loaded one (stalls, aisle, stalls). An
aisle may lie on an existing road (a row facing the road), and it only serves stalls if its
stretch reaches a carriageway connected to a gate. An exact dynamic programme over module start
positions (a ``STEP_M`` grid) finds the stack with the most stalls; in each row every free
stretch takes as many stalls as fit. The best orientation wins.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.affinity import rotate, translate
from shapely.geometry import Polygon, box
from shapely.geometry.base import BaseGeometry

from geo.parking.model import ParkingParams, Stall, StallKind
from geo.parking.rows import ToWorld, fits, row
from geo.parking.zones import GRID_M, Interval, band_free, intersect

STEP_M = 0.25
SWEEP_DEG = 15.0
TOUCH_M = 0.01
EDGE_M = 5.0
"""Only edges at least this long suggest a row direction."""
KIND = StallKind.PERPENDICULAR


@dataclass(frozen=True)
class Module:
    """Stall rows (y offset of the row, facing up or down) and the aisle (y offset) of one
    module, and its height."""

    rows: tuple[tuple[float, bool], ...]
    aisle: float
    height: float


def modules(params: ParkingParams) -> list[Module]:
    d, a = params.depth(KIND), params.aisle_m[KIND]
    return [
        Module(((0.0, True),), d, d + a),  # stalls, aisle above
        Module(((a, False),), 0.0, a + d),  # aisle, stalls above it facing down
        Module(((0.0, True), (d + a, False)), d, 2 * d + a),  # double-loaded
    ]


@dataclass(frozen=True)
class Plan:
    """The best stack found at one orientation."""

    stalls: int
    angle: float
    placed: tuple[tuple[Module, float], ...]


def orientations(area: Polygon, roads: BaseGeometry) -> list[float]:
    """Candidate row directions in degrees [0, 180), near-duplicates (< 2 degrees) dropped."""
    angles: list[float] = [k * SWEEP_DEG for k in range(int(180 / SWEEP_DEG))]
    for geom in (area, area.minimum_rotated_rectangle):
        coords = np.asarray(geom.exterior.coords)
        d = np.diff(coords, axis=0)
        long_enough = np.hypot(d[:, 0], d[:, 1]) > EDGE_M
        angles += np.degrees(np.arctan2(d[long_enough, 1], d[long_enough, 0])).tolist()
    for line in shapely.get_parts(shapely.boundary(roads)) if not roads.is_empty else []:
        coords = np.asarray(line.coords)
        d = np.diff(coords, axis=0)
        angles += np.degrees(np.arctan2(d[:, 1], d[:, 0])).tolist()
    out: list[float] = []
    for angle in sorted(a % 180.0 for a in angles):
        if not out or angle - out[-1] >= 2.0:
            out.append(angle)
    if len(out) > 1 and out[-1] - out[0] >= 178.0:
        out.pop()
    return out


class _Stack:
    """The dynamic programme at one orientation (area rotated so rows run along x)."""

    def __init__(
        self, area: Polygon, aisles: BaseGeometry, reach: BaseGeometry, params: ParkingParams
    ) -> None:
        self.area, self.aisles, self.reach, self.params = area, aisles, reach, params
        self.depth, self.aisle = params.depth(KIND), params.aisle_m[KIND]
        low = area.bounds[1] - self.aisle
        self.ys = low + STEP_M * np.arange(int((area.bounds[3] - low) / STEP_M) + 1)
        self._bands: dict[tuple[str, float], list[list[Interval]]] = {}
        self._aisles: dict[float, list[list[Interval]]] = {}

    def stall_free(self, offset: float) -> list[list[Interval]]:
        """Per start k: x-intervals where a stall row at ys[k] + offset lies in the area."""
        key = ("stalls", offset)
        if key not in self._bands:
            self._bands[key] = band_free(self.area, self.ys + offset, self.depth)
        return self._bands[key]

    def served(self, offset: float) -> list[list[Interval]]:
        """Per start k: stretches of the aisle at ys[k] + offset that lie in the aisle region
        and reach a gate-connected carriageway."""
        if offset not in self._aisles:
            free = band_free(self.aisles, self.ys + offset, self.aisle)
            flat = [(k, a, b) for k, stretches in enumerate(free) for a, b in stretches]
            served: list[list[Interval]] = [[] for _ in self.ys]
            if flat:
                ks = np.array([k for k, _, _ in flat])
                y0 = self.ys[ks] + offset
                boxes = shapely.box(
                    np.array([a for _, a, _ in flat]),
                    y0,
                    np.array([b for _, _, b in flat]),
                    y0 + self.aisle,
                )
                near = shapely.dwithin(boxes, self.reach, TOUCH_M)
                for (k, a, b), ok in zip(flat, near.tolist(), strict=True):
                    if ok:
                        served[k].append((a, b))
            self._aisles[offset] = served
        return self._aisles[offset]

    def stretches(self, module: Module, k: int) -> list[tuple[float, bool, list[Interval]]]:
        """Each stall row of ``module`` started at ys[k]: its y, facing, usable stretches."""
        served = self.served(module.aisle)[k]
        return [
            (self.ys[k] + offset, up, intersect(self.stall_free(offset)[k], served))
            for offset, up in module.rows
        ]

    def value(self, module: Module, k: int) -> int:
        return sum(
            fits(b - a, KIND, self.params)
            for _, _, usable in self.stretches(module, k)
            for a, b in usable
        )

    def solve(self) -> tuple[int, list[tuple[Module, int]]]:
        n = len(self.ys)
        best = [0] * (n + 1)
        choice: list[tuple[Module, int] | None] = [None] * (n + 1)
        for k in range(n - 1, -1, -1):
            best[k], choice[k] = best[k + 1], None
            for module in self.mods:
                nxt = min(n, k + math.ceil(module.height / STEP_M - 1e-9))
                v = self.value(module, k)
                if v and v + best[nxt] > best[k]:
                    best[k], choice[k] = v + best[nxt], (module, nxt)
        placed, k = [], 0
        while k < n:
            step = choice[k]
            if step is None:
                k += 1
                continue
            placed.append((step[0], k))
            k = step[1]
        return best[0], placed

    @property
    def mods(self) -> list[Module]:
        return modules(self.params)

    def build(
        self, module: Module, k: int, to_world: ToWorld, label: str
    ) -> tuple[list[Stall], Polygon]:
        """The stalls and the aisle (the part inside the area) of ``module`` at ys[k]."""
        stalls: list[Stall] = []
        pitch = self.params.pitch(KIND)
        for y, up, usable in self.stretches(module, k):
            front, back = (y + self.depth, y) if up else (y, y + self.depth)
            for a, b in usable:
                count = fits(b - a, KIND, self.params)
                start = a + (b - a - count * pitch) / 2
                stalls += row(to_world, KIND, self.params, start, count, front, back, label)
        y = self.ys[k] + module.aisle
        aisle = shapely.union_all(
            [box(x0, y, x1, y + self.aisle) for x0, x1 in self.served(module.aisle)[k]]
        ).intersection(self.area)
        return stalls, to_world(aisle)


def pocket_layout(
    area: Polygon,
    aisles: BaseGeometry,
    reach: BaseGeometry,
    params: ParkingParams,
    label: str,
) -> tuple[list[Stall], list[Polygon]]:
    """The most stalls in ``area`` (stall rows inside it, aisles inside ``aisles`` = the area
    and the carriageways, reaching ``reach``), over all orientations; also the aisles used."""
    cx, cy = area.centroid.x, area.centroid.y
    near = reach.intersection(area.buffer(params.aisle_m[KIND] + TOUCH_M))
    local = [
        shapely.make_valid(shapely.set_precision(translate(g, -cx, -cy), GRID_M))
        for g in (area, aisles, reach)
    ]
    best: tuple[int, float, _Stack | None, list[tuple[Module, int]]] = (0, 0.0, None, [])
    for angle in orientations(area, near):
        stack = _Stack(*(rotate(g, -angle, origin=(0, 0)) for g in local), params)
        count, placed = stack.solve()
        if count > best[0]:
            best = (count, angle, stack, placed)
    _, angle, stack, placed = best
    if stack is None:
        return [], []

    def back(geom: BaseGeometry) -> BaseGeometry:
        return translate(rotate(geom, angle, origin=(0, 0)), cx, cy)

    stalls: list[Stall] = []
    aisle_parts: list[Polygon] = []
    for module, k in placed:
        mine, aisle = stack.build(module, k, back, label)
        stalls += mine
        aisle_parts += [p for p in shapely.get_parts(aisle) if p.area > 0.01]
    return stalls, aisle_parts
