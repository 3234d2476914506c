"""The walking network: road centre lines (streets, internal roads, fire lanes, footpaths) noded
into a networkx graph in metres, places attached to their nearest edge, and the walking
distances and paths between places.

Lines are taken as connected wherever they cross or touch (the data has no bridges or tunnels:
draw a footbridge as lines that do not cross) and where a line ends within ``snap_m`` of another
line (hand-drawn lines that stop just short of a junction). A place is attached to the closest
point of the nearest line, and walks the straight access segment to it. Where a place is further
than ``max_offset_m`` from every line, or two places lie on parts of the network that do not
connect, the walk between them is a straight line and is marked ``straight``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import networkx as nx
import numpy as np
import shapely
from shapely.geometry import LineString, MultiLineString, Point
from shapely.geometry.base import BaseGeometry
from shapely.ops import substring

SNAP_M = 1.0
"""A line ending this close to another line is joined to it."""
WALL_M = 0.25
"""Obstacles are shrunk by this much before access lines are checked against them."""
MAX_OFFSET_M = 150.0
"""A place further than this from every line is reached in a straight line."""

GRID_M = 0.01
"""Noding snaps coordinates to this grid, so lines meeting at a point share one node."""

Node = tuple[float, float]


def _key(x: float, y: float) -> Node:
    return (round(x, 3), round(y, 3))


def _snap_connectors(lines: Sequence[LineString], snap_m: float) -> list[LineString]:
    """Short segments joining line ends that stop within ``snap_m`` of another line."""
    tree = shapely.STRtree(lines)
    out = []
    for i, line in enumerate(lines):
        for end in (Point(line.coords[0]), Point(line.coords[-1])):
            for j in tree.query(end, predicate="dwithin", distance=snap_m):
                other = lines[j]
                gap = other.distance(end)
                if j != i and gap > 0:
                    target = other.interpolate(other.project(end))
                    out.append(LineString([end, target]))
    return out


def noded(lines: Iterable[LineString], snap_m: float = SNAP_M) -> list[LineString]:
    """The lines split at every crossing and junction (snap-rounded to ``GRID_M``; overlapping
    lines dissolved into one), short gaps at line ends closed."""
    parts = [line for line in lines if not line.is_empty and line.length > 0]
    if not parts:
        return []
    parts += _snap_connectors(parts, snap_m)
    split = shapely.get_parts(shapely.unary_union(MultiLineString(parts), grid_size=GRID_M))
    return [s for s in split if s.length > 1e-6]


@dataclass(frozen=True)
class Leg:
    """The walk from one place to another."""

    length_m: float
    straight: bool
    line: LineString


@dataclass
class WalkingNetwork:
    """A noded walking network in a metric CRS."""

    segments: list[LineString]
    tree: shapely.STRtree = field(init=False, repr=False)

    @classmethod
    def from_lines(cls, lines: Iterable[LineString], snap_m: float = SNAP_M) -> WalkingNetwork:
        return cls(noded(lines, snap_m))

    def __post_init__(self) -> None:
        self.tree = shapely.STRtree(self.segments)

    @property
    def length_m(self) -> float:
        return float(sum(s.length for s in self.segments))

    def connect(
        self,
        points: Sequence[Point],
        max_offset_m: float = MAX_OFFSET_M,
        obstacles: Sequence[BaseGeometry] = (),
    ) -> Places:
        """Attach ``points`` to the network: each splits the nearest segment it can reach in a
        straight line without crossing an obstacle (a building: its outline shrunk by
        ``WALL_M``, so doors just outside and paths along walls are fine)."""
        points = list(points)
        nodes: list[Node | None] = [None] * len(points)
        offsets = np.zeros(len(points))
        cuts: dict[int, list[float]] = {}
        walls = shapely.STRtree([o.buffer(-WALL_M) for o in obstacles]) if obstacles else None
        if self.segments and points:
            (idx_point, idx_seg), dist = self.tree.query_nearest(
                points, return_distance=True, all_matches=False
            )
            for p, s, d in zip(idx_point.tolist(), idx_seg.tolist(), dist.tolist(), strict=True):
                if d > max_offset_m:
                    continue
                if walls is not None and _blocked(walls, points[p], self.segments[s]):
                    s, d = self._clear_segment(points[p], max_offset_m, walls, (s, d))
                seg = self.segments[s]
                at = seg.project(points[p])
                landing = seg.interpolate(at)
                nodes[p] = _key(landing.x, landing.y)
                offsets[p] = d
                cuts.setdefault(s, []).append(at)
        graph = nx.Graph()
        for s, seg in enumerate(self.segments):
            stops = sorted({0.0, seg.length, *cuts.get(s, ())})
            for a, b in itertools.pairwise(stops):
                if b - a > 1e-9:
                    _add_edge(graph, substring(seg, a, b) if len(stops) > 2 else seg)
        for node in nodes:
            if node is not None and node not in graph:
                graph.add_node(node)
        return Places(graph, points, nodes, offsets)

    def _clear_segment(
        self, point: Point, max_offset_m: float, walls: shapely.STRtree, nearest: tuple[int, float]
    ) -> tuple[int, float]:
        """The nearest segment reached without crossing a wall (else the nearest one)."""
        near = self.tree.query(point, predicate="dwithin", distance=max_offset_m)
        for s in sorted(near.tolist(), key=lambda s: self.segments[s].distance(point)):
            if not _blocked(walls, point, self.segments[s]):
                return s, self.segments[s].distance(point)
        return nearest


def _blocked(walls: shapely.STRtree, point: Point, segment: LineString) -> bool:
    access = LineString([point, segment.interpolate(segment.project(point))])
    return len(walls.query(access, predicate="intersects")) > 0


def _add_edge(graph: nx.Graph, piece: LineString) -> None:
    coords = list(piece.coords)
    u, v = _key(*coords[0]), _key(*coords[-1])
    if u == v:
        return
    length = piece.length
    if graph.has_edge(u, v) and graph.edges[u, v]["length"] <= length:
        return
    graph.add_edge(u, v, length=length, coords=coords, start=u)


@dataclass
class Places:
    """Points attached to a walking network: distances and walks between them."""

    graph: nx.Graph
    points: list[Point]
    nodes: list[Node | None]
    offsets: np.ndarray
    _pred: dict[int, dict[Node, list[Node]]] = field(default_factory=dict, repr=False)

    def distances(self) -> tuple[np.ndarray, np.ndarray]:
        """Walking distances in metres between all points, and where each is a straight line."""
        n = len(self.points)
        xy = np.array([(p.x, p.y) for p in self.points]).reshape(n, 2)
        crow = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])
        metres = crow.copy()
        straight = np.ones((n, n), dtype=bool)
        np.fill_diagonal(straight, False)
        by_node: dict[Node, list[int]] = {}
        for i, node in enumerate(self.nodes):
            if node is not None:
                by_node.setdefault(node, []).append(i)
        for node, sources in by_node.items():
            pred, dist = nx.dijkstra_predecessor_and_distance(self.graph, node, weight="length")
            for i in sources:
                self._pred[i] = pred
            for target, targets in by_node.items():
                if target in dist:
                    for i in sources:
                        for j in targets:
                            metres[i, j] = self.offsets[i] + dist[target] + self.offsets[j]
                            straight[i, j] = False
        np.fill_diagonal(metres, 0.0)
        return metres, straight

    def leg(self, i: int, j: int) -> Leg:
        """The walk from point ``i`` to point ``j`` (call ``distances`` first)."""
        a, b = self.points[i], self.points[j]
        start, end = self.nodes[i], self.nodes[j]
        pred = self._pred.get(i)
        if start is None or end is None or pred is None or (end != start and end not in pred):
            line = LineString([a, b])
            return Leg(line.length, i != j, line)
        path = [end]
        while path[-1] != start:
            path.append(pred[path[-1]][0])
        path.reverse()
        coords: list[tuple[float, float]] = [(a.x, a.y), start]
        for u, v in itertools.pairwise(path):
            edge = self.graph.edges[u, v]
            piece = edge["coords"] if edge["start"] == u else edge["coords"][::-1]
            coords += piece[1:]
        coords.append((b.x, b.y))
        kept = [c for k, c in enumerate(coords) if k == 0 or c != coords[k - 1]]
        if len(kept) < 2:
            kept = [kept[0], kept[0]]
        line = LineString(kept)
        return Leg(line.length, False, line)
