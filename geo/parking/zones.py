"""Where stalls may not go, and 1-D free intervals along a row: the shared geometry of the
kerb and pocket generators."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.affinity import affine_transform
from shapely.geometry import LineString, Point, Polygon, box
from shapely.geometry.base import BaseGeometry

from geo.parking.model import ParkingParams, Road, Site

Interval = tuple[float, float]
EPS = 1e-6
GRID_M = 0.001
"""Overlays of rotated geometries snap to this grid (robust, and far below painting accuracy)."""


def carriageway(road: Road) -> BaseGeometry:
    """The road's carriageway: its centre line grown by half its width, flat ends."""
    return road.line.buffer(road.width_m / 2, cap_style="flat", join_style="mitre")


def fire_corridor(road: Road, params: ParkingParams) -> BaseGeometry:
    """The clear corridor a fire lane keeps along its centre line."""
    return road.line.buffer(params.fire_lane_clear_m / 2, cap_style="flat", join_style="mitre")


def _grown(points: Iterable[Point], distance: float) -> list[BaseGeometry]:
    return [p.buffer(distance) for p in points] if distance > 0 else list(points)


def obstacles(site: Site, params: ParkingParams) -> BaseGeometry:
    """Everything a stall must keep clear of, clearances included (roads apart)."""
    parts: list[BaseGeometry] = [
        *(b.buffer(params.building_clearance_m) for b in site.buildings),
        *site.keep_clear,
        *_grown(site.trees, params.tree_clearance_m),
        *_grown(site.hydrants, params.hydrant_clearance_m),
        *_grown(site.gates, params.gate_clearance_m),
        *_grown(site.entrances, params.entrance_clearance_m),
        *(fire_corridor(r, params) for r in site.roads if r.fire_lane),
    ]
    if not params.allow_green:
        parts += site.green
    return shapely.union_all(parts) if parts else Polygon()


def drivable_roads(site: Site) -> list[Road]:
    """Roads a car may use inside the compound (footpaths are not)."""
    return [r for r in site.roads if r.kind != "footpath"]


def reachable_carriageway(site: Site, aisles: Sequence[BaseGeometry] = ()) -> BaseGeometry:
    """The parts of the drivable area (carriageways and aisles) connected to a gate."""
    pieces = [carriageway(r) for r in drivable_roads(site)] + list(aisles)
    if not pieces or not site.gates:
        return Polygon()
    merged = shapely.get_parts(shapely.union_all(pieces))
    gates = shapely.union_all(site.gates)
    return shapely.union_all([p for p in merged if p.distance(gates) <= 1.0])


@dataclass(frozen=True)
class Frame:
    """A local frame along a straight segment: s along it from its start, t to its left."""

    origin: tuple[float, float]
    angle: float

    @classmethod
    def of(cls, a: tuple[float, float], b: tuple[float, float]) -> Frame:
        return cls(a, math.atan2(b[1] - a[1], b[0] - a[0]))

    def to_world(self, geom: BaseGeometry) -> BaseGeometry:
        c, s = math.cos(self.angle), math.sin(self.angle)
        return affine_transform(geom, [c, -s, s, c, self.origin[0], self.origin[1]])

    def to_local(self, geom: BaseGeometry) -> BaseGeometry:
        c, s = math.cos(self.angle), math.sin(self.angle)
        x0, y0 = self.origin
        return affine_transform(geom, [c, s, -s, c, -(c * x0 + s * y0), s * x0 - c * y0])


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Overlapping or touching intervals joined, sorted."""
    out: list[list[float]] = []
    for a, b in sorted(intervals):
        if out and a <= out[-1][1] + EPS:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [(a, b) for a, b in out]


def subtract(span: Interval, blocked: Iterable[Interval]) -> list[Interval]:
    """``span`` without the ``blocked`` intervals."""
    free, start = [], span[0]
    for a, b in merge(blocked):
        if b <= start or a >= span[1]:
            continue
        if a > start:
            free.append((start, a))
        start = max(start, b)
    if start < span[1]:
        free.append((start, span[1]))
    return free


def intersect(left: Sequence[Interval], right: Sequence[Interval]) -> list[Interval]:
    out = []
    for a, b in left:
        for c, d in right:
            lo, hi = max(a, c), min(b, d)
            if hi - lo > EPS:
                out.append((lo, hi))
    return out


def _edges(region: BaseGeometry) -> np.ndarray:
    """Every boundary edge of ``region`` as rows (x1, y1, x2, y2)."""
    rows = []
    for ring in shapely.get_parts(shapely.boundary(region)):
        coords = shapely.get_coordinates(ring)
        rows.append(np.hstack([coords[:-1], coords[1:]]))
    return np.vstack(rows) if rows else np.zeros((0, 4))


BAND_CHUNK = 16
"""Bands are scanned this many at a time, against only the edges near them."""


def _stretches(
    edges: np.ndarray, ys: np.ndarray, height: float, left: float, right: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows (index into ``ys``), starts and ends of the stretches between the x-extents of the
    edges crossing each band's interior."""
    x1, y1, x2, y2 = (col[None, :] for col in edges.T)
    low, high = np.minimum(y1, y2), np.maximum(y1, y2)
    bottom, top = ys[:, None], ys[:, None] + height
    hit = (high > bottom + EPS) & (low < top - EPS)
    level = high - low < EPS
    rise = np.where(level, 1.0, y2 - y1)
    t_a = np.where(level, 0.0, (np.clip(bottom, low, high) - y1) / rise)
    t_b = np.where(level, 1.0, (np.clip(top, low, high) - y1) / rise)
    xa, xb = x1 + t_a * (x2 - x1), x1 + t_b * (x2 - x1)
    lo = np.where(hit, np.minimum(xa, xb), np.inf)
    hi = np.where(hit, np.maximum(xa, xb), -np.inf)
    order = np.argsort(lo, axis=1, kind="stable")
    lo, hi = np.take_along_axis(lo, order, axis=1), np.take_along_axis(hi, order, axis=1)
    column = np.full((len(ys), 1), left)
    starts = np.hstack([column, np.maximum(np.maximum.accumulate(hi, axis=1), left)])
    ends = np.minimum(np.hstack([lo, np.full((len(ys), 1), right)]), right)
    valid = np.arange(starts.shape[1])[None, :] <= hit.sum(axis=1)[:, None]
    rows, cols = np.nonzero(valid & (ends - starts > EPS))
    return rows, starts[rows, cols], ends[rows, cols]


def band_free(region: BaseGeometry, ys: np.ndarray, height: float) -> list[list[Interval]]:
    """For each y in ``ys`` (ascending), the x-intervals where the band [y, y + height] lies
    wholly inside ``region``: the boundary edges crossing a band's interior block their
    x-extent inside it; each stretch between blocked ones is inside or outside as a whole
    (tested at its middle)."""
    out: list[list[Interval]] = [[] for _ in ys]
    if region.is_empty or len(ys) == 0:
        return out
    edges = _edges(region)
    low = np.minimum(edges[:, 1], edges[:, 3])
    high = np.maximum(edges[:, 1], edges[:, 3])
    left, right = region.bounds[0], region.bounds[2]
    rows, starts, ends = [], [], []
    for i0 in range(0, len(ys), BAND_CHUNK):
        chunk = ys[i0 : i0 + BAND_CHUNK]
        near = (high > chunk[0]) & (low < chunk[-1] + height)
        r, a, b = _stretches(edges[near], chunk, height, left, right)
        rows.append(r + i0)
        starts.append(a)
        ends.append(b)
    row, start, end = np.concatenate(rows), np.concatenate(starts), np.concatenate(ends)
    if len(row):
        shapely.prepare(region)
        inside = shapely.contains_xy(region, (start + end) / 2, ys[row] + height / 2)
        for i, a, b in zip(
            row[inside].tolist(), start[inside].tolist(), end[inside].tolist(), strict=True
        ):
            out[i].append((a, b))
    return out


class Blocker:
    """Geometries that block stalls, indexed for strip queries; more can be added."""

    def __init__(self, geoms: Iterable[BaseGeometry] = ()) -> None:
        self.parts: list[BaseGeometry] = []
        self.tree: shapely.STRtree | None = None
        self.add(geoms)

    def add(self, geoms: Iterable[BaseGeometry]) -> None:
        for geom in geoms:
            self.parts += [p for p in shapely.get_parts(geom) if not p.is_empty]
        self.tree = shapely.STRtree(self.parts) if self.parts else None

    def free(self, frame: Frame, length: float, t0: float, t1: float) -> list[Interval]:
        """Free s-intervals of the strip [0, length] x [t0, t1] of ``frame``."""
        local = box(0.0, min(t0, t1), length, max(t0, t1))
        if self.tree is None:
            return [(0.0, length)]
        world = frame.to_world(local)
        blocked = []
        for i in self.tree.query(world, predicate="intersects"):
            hit = frame.to_local(self.parts[i].intersection(world))
            for p in shapely.get_parts(hit):
                if p.area > EPS:  # touching along an edge does not block
                    blocked.append((p.bounds[0], p.bounds[2]))
        return subtract((0.0, length), blocked)


def segments(line: LineString) -> list[tuple[tuple[float, float], tuple[float, float]]]:
    coords = list(line.coords)
    return [(a, b) for a, b in itertools.pairwise(coords) if a != b]
