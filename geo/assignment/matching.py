"""Match concrete workers to the units of the type solution, one min-cost assignment per type.

Within a type every worker is as good for mentoring, gender and load as any other, so the
assignment maximises, lexicographically: the current roles kept (the unit's grids the worker is
A of now, and the grids whose B arc points into the unit and whose current B is the worker),
then sum(rank of unit load x rank of worker years): heavier units to more experienced workers.
Surplus workers of a type are matched to dummy units: they stay idle.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
from ortools.graph.python import linear_sum_assignment

from geo.assignment.problem import Problem
from geo.assignment.solver import TypeSolution


def _ranks(values: list[float]) -> list[int]:
    order = sorted(range(len(values)), key=lambda i: (values[i], i))
    out = [0] * len(values)
    for rank, i in enumerate(order):
        out[i] = rank
    return out


def match_workers(p: Problem, sol: TypeSolution, wtype: list[int]) -> dict[int, int]:
    """Grid position -> worker position of the A role."""
    units: dict[int, list[int]] = defaultdict(list)
    for g, r in enumerate(sol.root_of):
        units[r].append(g)
    b_into: dict[int, list[int]] = defaultdict(list)
    for g, h in sol.b_to.items():
        b_into[h].append(g)
    a_of: dict[int, int] = {}
    for t in range(len(sol.type_keys)):
        roots = sorted(r for r in units if sol.types[r] == t)
        people = [w for w in range(p.n_workers) if wtype[w] == t]
        if not roots:
            continue
        n, pos = len(people), {w: j for j, w in enumerate(people)}
        if len(roots) > n:
            raise ValueError(f"type {sol.type_keys[t]}: {len(roots)} units for {n} workers")
        gain = np.zeros((n, n), dtype=np.int64)
        for i, r in enumerate(roots):
            for g in units[r]:
                if p.cur_a.get(g) in pos:
                    gain[i, pos[p.cur_a[g]]] += 1
                for src in b_into[g]:
                    if p.cur_b.get(src) in pos:
                        gain[i, pos[p.cur_b[src]]] += 1
        unit_rank = _ranks([sum(p.load(g) for g in units[r]) for r in roots])
        unit_rank += [0] * (n - len(roots))
        years_rank = _ranks([p.workers[w].years for w in people])
        tie = np.outer(np.array(unit_rank), np.array(years_rank))
        tie[len(roots) :, :] = 0
        cost = -(gain * (n**3 + 1) + tie)
        left, right = np.divmod(np.arange(n * n), n)
        lsa = linear_sum_assignment.SimpleLinearSumAssignment()
        lsa.add_arcs_with_cost(left, right, cost.ravel())
        if lsa.solve() != lsa.OPTIMAL:
            raise RuntimeError("worker matching failed")
        for i, r in enumerate(roots):
            w = people[lsa.right_mate(i)]
            for g in units[r]:
                a_of[g] = w
    return a_of
