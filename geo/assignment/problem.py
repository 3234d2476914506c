"""The planners' indexed view of their input: grids, adjacency, workers and current roles.

Grids and workers are sorted by id and referred to by position (``g``, ``w``); every planner
works on this view so that both see exactly the same rules.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from geo.assignment.model import ROLE_A, ROLE_B, Edge, GridInfo, PlanSettings, Role, WorkerInfo

NEW, MID, SENIOR = "new", "mid", "senior"


def experience_class(years: float, settings: PlanSettings) -> str:
    """Experience class: new below ``new_years``, senior from ``senior_years`` on, else mid."""
    if years < settings.new_years:
        return NEW
    return SENIOR if years >= settings.senior_years else MID


def is_mentoring(first: str, second: str) -> bool:
    """True for a pair of one new and one experienced (senior) worker."""
    return {first, second} == {NEW, SENIOR}


@dataclass
class Problem:
    """Sorted, indexed planner input; ``cur_a``/``cur_b`` map grid -> worker position."""

    grids: list[GridInfo]
    workers: list[WorkerInfo]
    current: list[Role]
    settings: PlanSettings
    neighbours: list[list[int]]
    xy: np.ndarray
    classes: list[str]
    cur_a: dict[int, int]
    cur_b: dict[int, int]
    _arcs: dict[int, list[tuple[int, int]]] = field(default_factory=dict, repr=False)

    @property
    def n_grids(self) -> int:
        return len(self.grids)

    @property
    def n_workers(self) -> int:
        return len(self.workers)

    @property
    def shared(self) -> bool:
        """More grids than workers: some workers hold several grids."""
        return 0 < self.n_workers < self.n_grids

    @property
    def cap_a(self) -> int:
        """Most grids one worker may hold as A: ceil(G / W), 1 while W >= G."""
        if self.n_workers == 0:
            return 0
        return max(1, math.ceil(self.n_grids / self.n_workers))

    @property
    def cap_b(self) -> int:
        """Most B roles per worker: ``max_b_roles``, raised to ceil(G / W) when there are more
        grids than workers (every grid needs a B from someone)."""
        holders = min(self.n_workers, self.n_grids)
        if holders == 0:
            return self.settings.max_b_roles
        return max(self.settings.max_b_roles, math.ceil(self.n_grids / holders))

    def load(self, g: int) -> float:
        return float(self.grids[g].load)

    def mentoring(self, w: int, v: int) -> bool:
        return is_mentoring(self.classes[w], self.classes[v])

    def mixed(self, w: int, v: int) -> bool:
        return self.workers[w].gender != self.workers[v].gender

    def distance(self, g: int, h: int) -> float:
        return float(np.hypot(*(self.xy[g] - self.xy[h])))

    def type_keys(self) -> tuple[list[tuple[str, str]], list[int]]:
        """Worker types (gender, experience class) present, sorted, and each worker's type."""
        pairs = [(w.gender, c) for w, c in zip(self.workers, self.classes, strict=True)]
        keys = sorted(set(pairs))
        return keys, [keys.index(k) for k in pairs]

    def near_arcs(self, g: int, k: int) -> list[tuple[int, int]]:
        """Arcs of ``g`` to its neighbours (penalty 0), then to its ``k`` nearest non-adjacent
        grids (penalty = rank 1..k)."""
        nbrs = self.neighbours[g]
        far = self.nearest(g, set(nbrs))[:k] if k else []
        return [(h, 0) for h in nbrs] + [(h, i + 1) for i, h in enumerate(far)]

    def b_arcs(self, g: int) -> list[tuple[int, int]]:
        """Candidate B arcs of ``g`` (the B is the A of the arc's head): its neighbours, plus,
        for an island or when workers hold several grids, the ``cap_a + 1`` nearest others (at
        least one of them outside the grid's own unit)."""
        if g not in self._arcs:
            need_far = not self.neighbours[g] or self.shared
            self._arcs[g] = self.near_arcs(g, self.cap_a + 1 if need_far else 0)
        return self._arcs[g]

    def nearest(self, g: int, exclude: set[int] | None = None) -> list[int]:
        """All other grids by increasing centroid distance (ties by position), minus ``exclude``."""
        dist = np.hypot(*(self.xy - self.xy[g]).T)
        order = np.lexsort((np.arange(self.n_grids), dist))
        skip = {g} | (exclude or set())
        return [int(h) for h in order if int(h) not in skip]


def build_problem(
    grids: Sequence[GridInfo],
    edges: Sequence[Edge],
    workers: Sequence[WorkerInfo],
    current: Sequence[Role],
    settings: PlanSettings,
) -> Problem:
    """Index the input; edges with ``shared_m <= 0`` or unknown grids are ignored.

    Current roles of unknown grids or absent workers are ignored here (they still show up as
    removed in the plan's changes); of several current A (or B) roles on one grid the one of
    the lowest worker id counts.
    """
    grid_list = sorted(grids, key=lambda x: x.id)
    worker_list = sorted(workers, key=lambda x: x.id)
    gpos = {x.id: i for i, x in enumerate(grid_list)}
    wpos = {x.id: i for i, x in enumerate(worker_list)}
    if len(gpos) != len(grid_list) or len(wpos) != len(worker_list):
        raise ValueError("grid and worker ids must be unique")
    adjacent: list[set[int]] = [set() for _ in grid_list]
    for e in edges:
        if e.shared_m > 0 and e.a in gpos and e.b in gpos and e.a != e.b:
            adjacent[gpos[e.a]].add(gpos[e.b])
            adjacent[gpos[e.b]].add(gpos[e.a])
    cur_a: dict[int, int] = {}
    cur_b: dict[int, int] = {}
    for r in sorted(current, key=lambda r: (r.grid_id, r.worker_id)):
        if r.grid_id in gpos and r.worker_id in wpos:
            target = cur_a if r.role == ROLE_A else cur_b if r.role == ROLE_B else None
            if target is not None:
                target.setdefault(gpos[r.grid_id], wpos[r.worker_id])
    xy = np.array([x.centroid for x in grid_list], dtype=float).reshape(-1, 2)
    return Problem(
        grids=grid_list,
        workers=worker_list,
        current=list(current),
        settings=settings,
        neighbours=[sorted(s) for s in adjacent],
        xy=xy,
        classes=[experience_class(w.years, settings) for w in worker_list],
        cur_a=cur_a,
        cur_b=cur_b,
    )
