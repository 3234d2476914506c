"""Turn an assignment (grid -> A worker, grid -> B worker) into a Plan with issues and changes.

Both planners end here, so their roles, issues, changes and metrics follow the same rules.
"""

from __future__ import annotations

import time
from collections import defaultdict

from geo.assignment.metrics import compute_metrics
from geo.assignment.model import ROLE_A, ROLE_B, Change, Plan, PlanIssue, Role
from geo.assignment.problem import Problem


def assemble(
    p: Problem,
    a_of: dict[int, int],
    b_of: dict[int, int],
    status: str,
    started: float,
    extra_issues: list[PlanIssue] | None = None,
) -> Plan:
    """The Plan of ``a_of``/``b_of`` (grid position -> worker position)."""
    roles = sorted(
        [Role(p.workers[w].id, p.grids[g].id, ROLE_A) for g, w in a_of.items()]
        + [Role(p.workers[w].id, p.grids[g].id, ROLE_B) for g, w in b_of.items()],
        key=lambda r: (r.grid_id, r.role, r.worker_id),
    )
    new, old = set(roles), set(p.current)
    changes = sorted(
        [Change("removed", r) for r in old - new] + [Change("added", r) for r in new - old],
        key=lambda c: (c.role.grid_id, c.role.role, c.kind, c.role.worker_id),
    )
    issues = [*(extra_issues or []), *_grid_issues(p, a_of, b_of), *_worker_issues(p, a_of, b_of)]
    metrics = compute_metrics(
        p.grids, p.workers, roles, p.settings, status, time.perf_counter() - started
    )
    return Plan(roles=roles, issues=issues, changes=changes, metrics=metrics)


def _held(p: Problem, a_of: dict[int, int]) -> dict[int, list[int]]:
    held: dict[int, list[int]] = defaultdict(list)
    for g in sorted(a_of):
        held[a_of[g]].append(g)
    return held


def _grid_issues(p: Problem, a_of: dict[int, int], b_of: dict[int, int]) -> list[PlanIssue]:
    out: list[PlanIssue] = []
    held = _held(p, a_of)
    for g, grid in enumerate(p.grids):
        if not p.workers:
            out.append(PlanIssue(grid.id, None, "no_workers", "no grid worker: nobody assigned"))
            continue
        if g not in b_of:
            why = (
                "the community has a single grid"
                if p.n_grids == 1
                else "no other worker holds a grid"
            )
            out.append(PlanIssue(grid.id, None, "no_backup", f"no B: {why}"))
            continue
        b = b_of[g]
        if any(a_of.get(h) == b for h in p.neighbours[g]):
            continue
        src = min(held[b], key=lambda h: (p.distance(g, h), h))
        where = f"the nearest grid held by someone else, {p.grids[src].code}"
        where += f" ({p.distance(g, src):.0f} m between centroids)"
        if not p.neighbours[g]:
            out.append(
                PlanIssue(
                    grid.id, p.workers[b].id, "island", f"no adjacent grid: B is the A of {where}"
                )
            )
        else:
            msg = f"every adjacent grid is held by this grid's own A: B is the A of {where}"
            out.append(PlanIssue(grid.id, p.workers[b].id, "b_not_adjacent", msg))
    return out


def _contiguous(p: Problem, grids: list[int]) -> bool:
    seen, todo, inside = {grids[0]}, [grids[0]], set(grids)
    while todo:
        for h in p.neighbours[todo.pop()]:
            if h in inside and h not in seen:
                seen.add(h)
                todo.append(h)
    return seen == inside


def _worker_issues(p: Problem, a_of: dict[int, int], b_of: dict[int, int]) -> list[PlanIssue]:
    out: list[PlanIssue] = []
    held = _held(p, a_of)
    b_count = defaultdict(int)
    for w in b_of.values():
        b_count[w] += 1
    had_role = set(p.cur_a.values()) | set(p.cur_b.values())
    for w, worker in enumerate(p.workers):
        mine = held.get(w, [])
        codes = ", ".join(p.grids[g].code for g in mine)
        if not mine:
            msg = f"{p.n_workers} workers for {p.n_grids} grids: no A grid left"
            if p.cur_a and w not in had_role:
                msg += "; joined, but every grid keeps its current A worker (no worker holds two"
                msg += " grids and no swap is free)"
            msg += "; idle, and B of no grid (a B is always the A of a neighbouring grid)"
            out.append(PlanIssue(None, worker.id, "idle_worker", msg))
        if len(mine) > 1:
            shape = (
                "adjacent" if _contiguous(p, mine) else "not all adjacent (no adjacent grid free)"
            )
            msg = (
                f"{p.n_grids} grids for {p.n_workers} workers: A of {len(mine)} grids ({codes}),"
                f" {shape}; at most {p.cap_a} per worker"
            )
            out.append(PlanIssue(p.grids[mine[0]].id, worker.id, "shared_worker", msg))
        if mine and p.current and w not in had_role:
            msg = _joined(p, w, mine)
            out.append(PlanIssue(p.grids[mine[0]].id, worker.id, "joined_worker", msg))
        if b_count[w] > p.cap_b:
            msg = (
                f"B of {b_count[w]} grids (rule: at most {p.cap_b}): the adjacency"
                " leaves no other choice"
            )
            out.append(PlanIssue(None, worker.id, "b_overload", msg))
    return out


def _joined(p: Problem, w: int, mine: list[int]) -> str:
    parts = []
    counts = defaultdict(int)
    for v in p.cur_a.values():
        counts[v] += 1
    for g in mine:
        prev = p.cur_a.get(g)
        code = p.grids[g].code
        if prev is None:
            parts.append(f"grid {code}, whose A left")
        elif counts[prev] > 1:
            parts.append(
                f"grid {code}, taken over from worker {p.workers[prev].id} who held {counts[prev]}"
            )
        else:
            parts.append(f"grid {code} in a swap with worker {p.workers[prev].id}")
    return "new in the plan: A of " + "; ".join(parts)
