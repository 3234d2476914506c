"""Village-day sectors (包片): a community split among teams into contiguous, balanced parts.

1. The teams' walks are solved together first (``solver.solve`` with one vehicle per team, the
   longest walk minimised): stops that are walked by one team lie together.
2. Every place gets the part of the community nearer to it than to any other stop (Voronoi
   cells clipped to the community), so the sectors cover the community with no gap.
3. Contiguity: while a team's cells fall into several pieces, its smallest stray piece goes to
   the neighbouring team sharing the longest border with it.
4. Balance: while the largest and smallest teams differ by more than ``tolerance`` stops, a
   border place of the fuller team moves to a lighter neighbour when the move keeps both
   contiguous and narrows the difference (the place with the longest border to the receiver
   first).

A sector is the union of its team's cells: one polygon per team.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import networkx as nx
import numpy as np
import shapely
from shapely.geometry import MultiPoint, Polygon
from shapely.geometry.base import BaseGeometry

BORDER_M = 0.01
"""Cells sharing a border at least this long are neighbours."""


def default_tolerance(stops: int, teams: int) -> int:
    """Allowed difference in stops between the fullest and the emptiest team: 10 % of the
    mean, at least 2."""
    return max(2, math.ceil(0.1 * stops / max(teams, 1)))


@dataclass(frozen=True)
class Sectors:
    """The team (0-based) of every stop, and each team's sector (metric)."""

    teams: list[int]
    areas: list[BaseGeometry]


def _places(xy: np.ndarray) -> tuple[np.ndarray, list[list[int]]]:
    """Distinct places (to 0.1 m) and the stops at each."""
    keys = np.round(xy, 1)
    uniq, inverse = np.unique(keys, axis=0, return_inverse=True)
    members: list[list[int]] = [[] for _ in range(len(uniq))]
    for stop, place in enumerate(inverse.ravel().tolist()):
        members[place].append(stop)
    return uniq, members


def _cells(points: np.ndarray, area: BaseGeometry) -> list[BaseGeometry]:
    """The Voronoi cell of each point, clipped to ``area``."""
    if len(points) == 1:
        return [area]
    voronoi = shapely.voronoi_polygons(MultiPoint(points), extend_to=area, ordered=True)
    return [cell.intersection(area) for cell in shapely.get_parts(voronoi)]


def _borders(cells: Sequence[BaseGeometry]) -> nx.Graph:
    graph = nx.Graph()
    graph.add_nodes_from(range(len(cells)))
    tree = shapely.STRtree(cells)
    for i, cell in enumerate(cells):
        for j in tree.query(cell, predicate="intersects"):
            if j > i:
                shared = cell.boundary.intersection(cells[j].boundary).length
                if shared >= BORDER_M:
                    graph.add_edge(i, int(j), length=shared)
    return graph


class _Partition:
    """Places assigned to teams over the border graph of their cells."""

    def __init__(self, graph: nx.Graph, team: list[int], weight: list[int], teams: int):
        self.graph, self.team, self.weight, self.teams = graph, team, weight, teams

    def members(self, t: int) -> list[int]:
        return [p for p, owner in enumerate(self.team) if owner == t]

    def load(self, t: int) -> int:
        return sum(self.weight[p] for p in self.members(t))

    def pieces(self, t: int) -> list[set[int]]:
        return list(nx.connected_components(self.graph.subgraph(self.members(t))))

    def border(self, places: set[int], t: int) -> float:
        """Length of border between ``places`` and team ``t``."""
        return sum(
            d["length"]
            for p in places
            for q, d in self.graph[p].items()
            if self.team[q] == t and q not in places
        )

    def join_strays(self) -> None:
        while True:
            strays = [
                (len(piece), t, piece)
                for t in range(self.teams)
                for piece in sorted(self.pieces(t), key=len)[:-1]
            ]
            if not strays:
                return
            _, owner, piece = min(strays, key=lambda s: (s[0], s[1]))
            others = {self.team[q] for p in piece for q in self.graph[p]} - {owner}
            target = max(sorted(others), key=lambda t: self.border(piece, t))
            for p in piece:
                self.team[p] = target

    def _stays_whole(self, place: int, t: int) -> bool:
        rest = [p for p in self.members(t) if p != place]
        return bool(rest) and nx.is_connected(self.graph.subgraph(rest))

    def fill_empty(self) -> None:
        """A team without places takes one from the fullest team that can spare it."""
        for t in range(self.teams):
            if self.members(t):
                continue
            for heavy in sorted(range(self.teams), key=lambda u: -self.load(u)):
                spare = [p for p in self.members(heavy) if self._stays_whole(p, heavy)]
                if spare:
                    self.team[spare[0]] = t
                    break

    def balance(self, tolerance: int) -> None:
        while True:
            loads = [self.load(t) for t in range(self.teams)]
            if max(loads) - min(loads) <= tolerance:
                return
            move = self._best_move(loads)
            if move is None:
                return
            place, target = move
            self.team[place] = target

    def _best_move(self, loads: list[int]) -> tuple[int, int] | None:
        for heavy in sorted(range(self.teams), key=lambda t: -loads[t]):
            options = []
            for p in self.members(heavy):
                for t in {self.team[q] for q in self.graph[p]} - {heavy}:
                    w = self.weight[p]
                    if w and loads[t] + w < loads[heavy] and self._stays_whole(p, heavy):
                        options.append((loads[t], -self.border({p}, t), p, t))
            if options:
                _, _, place, target = min(options)
                return place, target
        return None


def split(
    xy: np.ndarray,
    seed_teams: Sequence[int],
    area: BaseGeometry,
    teams: int,
    tolerance: int | None = None,
) -> Sectors:
    """Contiguous sectors of ``area`` for ``teams`` teams around the stops ``xy`` (n x 2,
    metric). ``seed_teams`` is each stop's team from the joint solve (-1: left out)."""
    n = len(xy)
    if n == 0:
        return Sectors([], [area] + [Polygon()] * (teams - 1))
    places, members = _places(np.asarray(xy, dtype=float))
    cells = _cells(places, area)
    graph = _borders(cells)
    team = []
    for stops in members:
        votes = Counter(seed_teams[s] for s in stops if seed_teams[s] >= 0)
        team.append(votes.most_common(1)[0][0] if votes else -1)
    _adopt_unseeded(graph, team, places, teams)
    partition = _Partition(graph, team, [len(s) for s in members], teams)
    partition.join_strays()
    partition.fill_empty()
    partition.balance(default_tolerance(n, teams) if tolerance is None else tolerance)
    stop_team = [0] * n
    for place, stops in enumerate(members):
        for s in stops:
            stop_team[s] = partition.team[place]
    areas = []
    for t in range(teams):
        owned = [cells[p] for p in partition.members(t)]
        areas.append(shapely.union_all(owned) if owned else Polygon())
    return Sectors(stop_team, areas)


def _adopt_unseeded(graph: nx.Graph, team: list[int], places: np.ndarray, teams: int) -> None:
    """Places no team walked join the team of the nearest place that has one (by border graph
    distance); with no seeds at all, places are dealt out west to east."""
    if all(t < 0 for t in team):
        order = np.argsort(places[:, 0], kind="stable")
        for rank, p in enumerate(order.tolist()):
            team[p] = rank * teams // len(order)
        return
    seeded = [p for p, t in enumerate(team) if t >= 0]
    reach = nx.multi_source_dijkstra_path(graph, seeded, weight=None)
    for p, t in enumerate(team):
        if t < 0:
            path = reach.get(p)
            if path is None:
                dist = np.hypot(*(places[seeded] - places[p]).T)
                team[p] = team[seeded[int(np.argmin(dist))]]
            else:
                team[p] = team[path[0]]
