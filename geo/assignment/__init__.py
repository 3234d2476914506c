"""A/B role planning for grid workers (pure Python: CP-SAT, min-cost matching, greedy baseline).

Every grid gets a primary worker (A) and a backup (B) who is the A of an adjacent grid; pairs
mix genders and pair new with experienced workers where possible, loads stay balanced, and
re-planning keeps as many existing roles as the rules allow. ``plan`` is the planner,
``greedy_plan`` the baseline; both return a ``Plan`` scored by ``compute_metrics``.
"""

from geo.assignment.greedy import greedy_plan
from geo.assignment.metrics import compute_metrics
from geo.assignment.model import (
    Change,
    Edge,
    GridInfo,
    Plan,
    PlanIssue,
    PlanMetrics,
    PlanSettings,
    Role,
    WorkerInfo,
)
from geo.assignment.planner import plan

__all__ = [
    "Change",
    "Edge",
    "GridInfo",
    "Plan",
    "PlanIssue",
    "PlanMetrics",
    "PlanSettings",
    "Role",
    "WorkerInfo",
    "compute_metrics",
    "greedy_plan",
    "plan",
]
