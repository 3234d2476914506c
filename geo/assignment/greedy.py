"""The greedy baseline: same rules as the solver, no optimisation beyond one pass.

1. Current A roles of present workers are kept (at most ``cap_a`` per worker, and only as long
   as every worker can still get a grid).
2. The other grids, by descending load, go to a worker without a grid (the one making the most
   mentoring, then mixed-gender pairs with already assigned neighbours, then the lowest id);
   once everyone has a grid, to the least-loaded worker holding an adjacent grid (not its
   current B if possible; any worker with room if none is free).
3. B roles, grids by descending load: the current B if still the A of an adjacent grid, else the
   A of the adjacent grid giving a mentoring pair, then a mixed-gender pair, then the least
   loaded worker, preferring workers still under ``max_b_roles``; islands (and grids whose
   neighbours are all their own A's) take the nearest grid held by someone else.
"""

from __future__ import annotations

import time
from collections import defaultdict, deque
from collections.abc import Sequence

from geo.assignment.model import Edge, GridInfo, Plan, PlanSettings, Role, WorkerInfo
from geo.assignment.problem import Problem, build_problem
from geo.assignment.result import assemble


def greedy_plan(
    grids: Sequence[GridInfo],
    edges: Sequence[Edge],
    workers: Sequence[WorkerInfo],
    current: Sequence[Role] = (),
    settings: PlanSettings = PlanSettings(),  # noqa: B008 (frozen, immutable default)
) -> Plan:
    """Plan A/B roles greedily (the baseline of ``plan``); ``solver_status`` is "greedy"."""
    started = time.perf_counter()
    p = build_problem(grids, edges, workers, current, settings)
    a_of, b_of = greedy_assign(p)
    return assemble(p, a_of, b_of, "greedy", started)


def by_load(p: Problem) -> list[int]:
    """Grid positions by descending load, ties by position."""
    return sorted(range(p.n_grids), key=lambda g: (-p.load(g), g))


def greedy_assign(p: Problem) -> tuple[dict[int, int], dict[int, int]]:
    """Greedy grid -> A worker and grid -> B worker maps (positions)."""
    if p.n_workers == 0:
        return {}, {}
    a_of = _assign_a(p)
    return a_of, _assign_b(p, a_of)


def _assign_a(p: Problem) -> dict[int, int]:
    cap = p.cap_a
    a_of: dict[int, int] = {}
    count = [0] * p.n_workers
    load = [0.0] * p.n_workers
    for first in (True, False):  # each worker's first current grid, then further ones
        for g in sorted(p.cur_a):
            w = p.cur_a[g]
            if g in a_of or (count[w] > 0) == first or count[w] >= cap:
                continue
            idle = sum(c == 0 for c in count)
            if not first and p.n_grids - len(a_of) - 1 < idle:
                continue  # keeping it would leave a worker without a grid
            a_of[g], count[w], load[w] = w, count[w] + 1, load[w] + p.load(g)
    kinds = [(w.gender, c) for w, c in zip(p.workers, p.classes, strict=True)]
    free: dict[tuple[str, str], deque[int]] = defaultdict(deque)
    for w in range(p.n_workers):
        if count[w] == 0:
            free[kinds[w]].append(w)  # by increasing position
    for g in by_load(p):
        if g in a_of:
            continue
        open_kinds = [k for k, ws in free.items() if ws]
        if open_kinds:  # workers of a kind are alike: pick the kind, then its first worker
            kind = max(open_kinds, key=lambda k: (*_fit(p, a_of, g, free[k][0]), -free[k][0]))
            w = free[kind].popleft()
        else:
            near = {a_of[h] for h in p.neighbours[g] if h in a_of}
            pool = [w for w in sorted(near) if count[w] < cap]
            pool = pool or [w for w in range(p.n_workers) if count[w] < cap]
            w = min(pool, key=lambda w: (w == p.cur_b.get(g), load[w], w))  # keep its B
        a_of[g], count[w], load[w] = w, count[w] + 1, load[w] + p.load(g)
    return a_of


def _fit(p: Problem, a_of: dict[int, int], g: int, w: int) -> tuple[int, int]:
    """(mentoring, mixed-gender) pairs ``w`` on ``g`` would make with assigned neighbours."""
    others = [a_of[h] for h in p.neighbours[g] if h in a_of]
    return sum(p.mentoring(w, v) for v in others), sum(p.mixed(w, v) for v in others)


def _assign_b(p: Problem, a_of: dict[int, int]) -> dict[int, int]:
    b_of: dict[int, int] = {}
    if p.n_grids < 2 or len(set(a_of.values())) < 2:
        return b_of
    load = [0.0] * p.n_workers
    for g, w in a_of.items():
        load[w] += p.load(g)
    b_count = [0] * p.n_workers
    cap = p.cap_b
    for g in by_load(p):
        a = a_of[g]
        cands = sorted({a_of[h] for h in p.neighbours[g]} - {a})
        if not cands:  # island, or every neighbour is held by this grid's own A
            src = next(h for h in p.nearest(g) if a_of[h] != a)
            cands = [a_of[src]]
        keep = p.cur_b.get(g)
        if keep in cands and b_count[keep] < cap:
            b = keep
        else:
            pool = [v for v in cands if b_count[v] < cap] or cands
            b = max(pool, key=lambda v: (p.mentoring(a, v), p.mixed(a, v), -load[v], -v))
        b_of[g] = b
        b_count[b] += 1
        load[b] += p.settings.b_load_share * p.load(g)
    return b_of
