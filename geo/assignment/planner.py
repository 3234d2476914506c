"""The A/B assignment planner: CP-SAT on worker types, then a min-cost matching of workers.

Rules (see ``geo.assignment.model`` for the terms): every grid has exactly one A; a worker is A
of at most one grid while there are at least as many workers as grids, else of at most
ceil(G / W) grids, preferably adjacent ones, and every worker holds one (``shared_worker``
issues). Every grid with a neighbour gets as B the A of an adjacent grid other than its own A;
an island gets the A of the nearest grid by centroid (``island``), and so does a grid whose
neighbours are all held by its own A (``b_not_adjacent``). Surplus workers stay idle
(``idle_worker``); with no worker nothing is assigned (``no_workers``).

The objective (lexicographic; see ``geo.assignment.solver``): coverage rules > stability
(current roles kept) > mentoring pairs > mixed-gender pairs > balance (largest load).

How: the greedy baseline (``geo.assignment.greedy``) gives a first plan. Below
``PlanSettings.lns_from_grids`` grids (half as many with shared workers), one CP-SAT model of
the whole area decides worker types, units and B arcs stage by stage from that hint (usually
proving every stage optimal). Otherwise, or when a stage was not proved optimal, a
large-neighbourhood search (``geo.assignment.lns``) improves the solution region by region
with small CP-SAT models. Concrete workers are then matched to the typed units
(``geo.assignment.matching``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from geo.assignment.greedy import greedy_assign
from geo.assignment.lns import Search
from geo.assignment.matching import match_workers
from geo.assignment.model import Edge, GridInfo, Plan, PlanSettings, Role, WorkerInfo
from geo.assignment.problem import build_problem
from geo.assignment.result import assemble
from geo.assignment.solver import TypeModel, solution_from_assignment

GLOBAL_SHARE = 0.5
"""Share of the time limit for the whole-area CP-SAT model of a small problem (then LNS)."""


def plan(
    grids: Sequence[GridInfo],
    edges: Sequence[Edge],
    workers: Sequence[WorkerInfo],
    current: Sequence[Role] = (),
    settings: PlanSettings = PlanSettings(),  # noqa: B008 (frozen, immutable default)
) -> Plan:
    """Plan the A/B roles of one community (or any set of grids), changing ``current`` little.

    ``current`` holds the existing roles of still-present workers; ``Plan.changes`` lists the
    roles to add and to remove. ``metrics.solver_status`` is "OPTIMAL" when every objective
    stage of the whole-area model was proved optimal, "FEASIBLE" otherwise (the search ran out
    of time or stopped improving), "trivial" when no choice was left (no grid, no worker, or a
    single worker).
    """
    started = time.perf_counter()
    p = build_problem(grids, edges, workers, current, settings)
    if p.n_workers == 0 or p.n_grids == 0:
        return assemble(p, {}, {}, "trivial", started)
    greedy_a, greedy_b = greedy_assign(p)
    if p.n_workers == 1:
        return assemble(p, greedy_a, greedy_b, "trivial", started)
    deadline = started + settings.time_limit_s
    _, wtype = p.type_keys()
    solution = solution_from_assignment(p, greedy_a, greedy_b, "greedy")
    if p.n_grids < settings.lns_from_grids // (2 if p.shared else 1):  # units: a harder model
        model = TypeModel(p)
        model.hint(greedy_a, greedy_b)
        found = model.solve(settings.time_limit_s * GLOBAL_SHARE, deadline)
        solution = found or solution
    a_of = match_workers(p, solution, wtype)
    if solution.status != "OPTIMAL":
        reserve = min(0.5, 0.05 * settings.time_limit_s)  # for the matching and the issues
        solution = Search(p, solution, a_of).run(deadline - reserve, settings.lns_threads)
        a_of = match_workers(p, solution, wtype)
    b_of = {g: a_of[h] for g, h in solution.b_to.items()}
    return assemble(p, a_of, b_of, solution.status, started)
