"""The A/B assignment planner: CP-SAT on worker types, then a min-cost matching of workers.

Rules (see ``geo.assignment.model`` for the terms): every grid has exactly one A; a worker is A
of at most one grid while there are at least as many workers as grids, else of at most
ceil(G / W) grids, preferably adjacent ones, and every worker holds one (``shared_worker``
issues). Every grid with a neighbour gets as B the A of an adjacent grid other than its own A;
an island gets the A of the nearest grid by centroid (``island``), and so does a grid whose
neighbours are all held by its own A (``b_not_adjacent``). Surplus workers stay idle
(``idle_worker``); with no worker nothing is assigned (``no_workers``).

The objective (lexicographic; see ``geo.assignment.solver``): coverage rules > stability
(current roles kept) > mentoring pairs > mixed-gender pairs > balance (largest load). The
greedy baseline's plan is the solver's first hint, and its plan is returned (with a
``solver_fallback`` issue) should CP-SAT find nothing in time.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from geo.assignment.greedy import greedy_assign
from geo.assignment.lns import Search
from geo.assignment.matching import match_workers
from geo.assignment.model import Edge, GridInfo, Plan, PlanIssue, PlanSettings, Role, WorkerInfo
from geo.assignment.problem import build_problem
from geo.assignment.result import assemble
from geo.assignment.solver import TypeModel


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
    stage was proved optimal, "FEASIBLE" when a stage ran out of time, "trivial" when no choice
    was left (no grid, no worker or one worker) and "greedy-fallback" when CP-SAT failed.
    """
    started = time.perf_counter()
    p = build_problem(grids, edges, workers, current, settings)
    if p.n_workers == 0 or p.n_grids == 0:
        return assemble(p, {}, {}, "trivial", started)
    greedy_a, greedy_b = greedy_assign(p)
    if p.n_workers == 1:
        return assemble(p, greedy_a, greedy_b, "trivial", started)
    if p.n_grids >= settings.lns_from_grids:
        search = Search(p, greedy_a, greedy_b)
        solution = search.run(started + settings.time_limit_s)
        wtype = search.wtype
    else:
        model = TypeModel(p)
        model.hint(greedy_a, greedy_b)
        solution = model.solve(settings.time_limit_s - (time.perf_counter() - started))
        wtype = model.wtype
    if solution is None:
        issue = PlanIssue(
            None, None, "solver_fallback", "CP-SAT found no plan in time: greedy plan returned"
        )
        return assemble(p, greedy_a, greedy_b, "greedy-fallback", started, [issue])
    a_of = match_workers(p, solution, wtype)
    b_of = {g: a_of[h] for g, h in solution.b_to.items()}
    return assemble(p, a_of, b_of, solution.status, started)
