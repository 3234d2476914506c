"""The one function that scores a plan, whichever planner made it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from geo.assignment.model import (
    ROLE_A,
    GridInfo,
    PlanMetrics,
    PlanSettings,
    Role,
    WorkerInfo,
)
from geo.assignment.problem import experience_class, is_mentoring


def compute_metrics(
    grids: Sequence[GridInfo],
    workers: Sequence[WorkerInfo],
    roles: Sequence[Role],
    settings: PlanSettings,
    solver_status: str,
    seconds: float,
) -> PlanMetrics:
    """Figures of ``roles``.

    A grid's pair is (its A worker, its B worker). ``mixed_gender_pairs`` counts grids whose
    pair has different genders, ``mentoring_pairs`` grids whose pair is one new and one
    experienced worker; shares are over the grids that have a B. A worker's load is the sum of
    the loads of their A grids plus ``b_load_share`` x the sum of the loads of their B grids;
    ``max_load``/``mean_load`` are over workers with at least one role.
    """
    load = {g.id: float(g.load) for g in grids}
    people = {w.id: w for w in workers}
    a_of: dict[int, int] = {}
    b_of: dict[int, int] = {}
    worker_load: dict[int, float] = defaultdict(float)
    for r in roles:
        share = 1.0 if r.role == ROLE_A else settings.b_load_share
        worker_load[r.worker_id] += share * load[r.grid_id]
        (a_of if r.role == ROLE_A else b_of)[r.grid_id] = r.worker_id
    paired = [(people[a_of[g]], people[b]) for g, b in b_of.items() if g in a_of]
    mixed = sum(a.gender != b.gender for a, b in paired)
    mentoring = sum(
        is_mentoring(experience_class(a.years, settings), experience_class(b.years, settings))
        for a, b in paired
    )
    loads = list(worker_load.values())
    max_load = max(loads, default=0.0)
    mean_load = sum(loads) / len(loads) if loads else 0.0
    return PlanMetrics(
        grids=len(grids),
        workers=len(workers),
        mixed_gender_pairs=mixed,
        mixed_gender_share=mixed / len(b_of) if b_of else 0.0,
        mentoring_pairs=mentoring,
        mentoring_share=mentoring / len(b_of) if b_of else 0.0,
        max_load=max_load,
        mean_load=mean_load,
        max_over_mean=max_load / mean_load if mean_load > 0 else 0.0,
        solver_status=solver_status,
        seconds=seconds,
    )
