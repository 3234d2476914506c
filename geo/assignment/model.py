"""Value types of the A/B assignment planner (pure data, no database).

Terms used throughout the package:

- a grid's *A* worker is its primary worker; its *B* worker (backup) is the A worker of an
  adjacent grid (of the nearest grid by centroid for an island), never the grid's own A;
- a grid's *pair* is (its A worker, its B worker);
- a worker is *new* when hired under ``PlanSettings.new_years`` years ago and *experienced*
  (senior) with at least ``PlanSettings.senior_years`` years; others are *mid*;
- a worker's *load* is the sum of the loads of the grids where they are A plus
  ``b_load_share`` times the sum of the loads of the grids where they are B.
"""

from __future__ import annotations

from dataclasses import dataclass

ROLE_A = "A"
ROLE_B = "B"


@dataclass(frozen=True)
class GridInfo:
    """A grid: ``load`` is computed by the caller, ``centroid`` is metric (x, y) in metres."""

    id: int
    code: str
    load: float
    centroid: tuple[float, float]


@dataclass(frozen=True)
class WorkerInfo:
    """A grid worker; ``gender`` is "female" or "male", ``years`` of experience on the plan date."""

    id: int
    name: str
    gender: str
    years: float


@dataclass(frozen=True)
class Edge:
    """Two grids sharing a boundary of ``shared_m`` metres (> 0); ``a < b``."""

    a: int
    b: int
    shared_m: float


@dataclass(frozen=True, order=True)
class Role:
    """One assignment, existing or proposed: ``worker_id`` is ``role`` ("A" or "B") of a grid."""

    worker_id: int
    grid_id: int
    role: str


@dataclass(frozen=True)
class PlanSettings:
    """Knobs of the planners.

    Objective, lexicographic: coverage rules > stability (current roles kept) > mentoring
    pairs > mixed-gender pairs > balance (the largest worker load). It has no tunable weights:
    the whole-area model solves it in stages (``geo.assignment.solver``), and the regional
    models of the large-area search weight each level by one plus the largest possible swing
    of all levels below it within the region (``geo.assignment.lns``), which is lexicographic.

    ``max_b_roles`` is the rule "nobody carries far more work": a worker is B of at most that
    many grids (of ceil(G / W) when there are more grids than workers) unless the adjacency
    forces more (reported as ``b_overload``). ``seed`` and ``search_workers`` (threads of the
    whole-area model; 1 keeps plans deterministic) go to CP-SAT. From ``lns_from_grids`` grids
    on (half as many when workers hold several grids), the planner improves the greedy plan
    region by region instead of solving one model, ``lns_threads`` regions at a time.
    """

    b_load_share: float = 0.25
    new_years: float = 1.0
    senior_years: float = 3.0
    time_limit_s: float = 20.0
    max_b_roles: int = 2
    seed: int = 20240524
    search_workers: int = 1
    lns_from_grids: int = 64
    lns_threads: int = 2


@dataclass(frozen=True)
class PlanIssue:
    """A rule the plan could not meet (or a notable choice), and what it did instead.

    ``kind`` is one of "island", "b_not_adjacent", "no_backup", "shared_worker",
    "idle_worker", "joined_worker", "no_workers", "b_overload".
    """

    grid_id: int | None
    worker_id: int | None
    kind: str
    message: str


@dataclass(frozen=True, order=True)
class Change:
    """A role ``"added"`` to or ``"removed"`` from the current assignment."""

    kind: str
    role: Role


@dataclass(frozen=True)
class PlanMetrics:
    """Figures of a plan, computed by ``geo.assignment.metrics.compute_metrics`` for every planner.

    ``mixed_gender_pairs``: grids whose pair has two different genders; ``mentoring_pairs``:
    grids whose pair is one new and one experienced worker; both shares are over the grids that
    have a B. ``max_load``/``mean_load`` are over workers with at least one role, and
    ``max_over_mean`` = max_load / mean_load (0 when nobody has a role).
    """

    grids: int
    workers: int
    mixed_gender_pairs: int
    mixed_gender_share: float
    mentoring_pairs: int
    mentoring_share: float
    max_load: float
    mean_load: float
    max_over_mean: float
    solver_status: str
    seconds: float


@dataclass
class Plan:
    """A planned assignment.

    ``roles``: exactly one A per grid; one B per grid (the A of an adjacent grid, or of the
    nearest grid for an island; none when the community has a single grid or no other worker).
    ``changes``: the roles added to and removed from ``current``.
    """

    roles: list[Role]
    issues: list[PlanIssue]
    changes: list[Change]
    metrics: PlanMetrics
