"""The A/B assignment planner (pure Python, no database): rules, optimality, re-planning.

The demo community (蒲江社区, 21 grids, 21 grid workers) is rebuilt here from
``geo.demo.generate`` with its own adjacency (shared boundary > 0.01 m in a local metric
projection), independent of the planner's helpers.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter

import pytest
import shapely
from shapely.geometry import shape

from geo import demo
from geo.assignment import (
    Change,
    Edge,
    GridInfo,
    Plan,
    PlanSettings,
    Role,
    WorkerInfo,
    compute_metrics,
    greedy_plan,
    plan,
)
from geo.assignment.inputs import demo_inputs, edges_from_polygons
from geo.crs import LocalProjection

TODAY = dt.date(2024, 5, 24)
SETTINGS = PlanSettings()
PLANNERS = [plan, greedy_plan]


@dataclasses.dataclass
class Demo:
    grids: list[GridInfo]
    edges: list[Edge]
    workers: list[WorkerInfo]
    polygons: list[shapely.Geometry]


@pytest.fixture(scope="module")
def community() -> Demo:
    data = demo.generate(today=TODAY).communities[0]
    lonlat = [shape(f["geometry"]) for f in data.grids]
    projection = LocalProjection.for_geometry(shapely.union_all(lonlat))
    metric = [projection.to_metric(g) for g in lonlat]
    grids = [
        GridInfo(i, f["properties"]["code"], float(f["properties"]["households"]), _xy(geom))
        for i, (f, geom) in enumerate(zip(data.grids, metric, strict=True), start=1)
    ]
    edges = []
    for i in range(len(metric)):
        for j in range(i + 1, len(metric)):
            shared = metric[i].boundary.intersection(metric[j].boundary).length
            if shared > 0.01:
                edges.append(Edge(i + 1, j + 1, shared))
    team = [w for w in data.workers if w["role"] == "grid_worker"]
    workers = [
        WorkerInfo(
            i, w["name"], w["gender"], (TODAY - dt.date.fromisoformat(w["hire_date"])).days / 365.25
        )
        for i, w in enumerate(team, start=1)
    ]
    return Demo(grids, edges, workers, metric)


def _xy(geom: shapely.Geometry) -> tuple[float, float]:
    return geom.centroid.x, geom.centroid.y


def neighbours(edges: list[Edge]) -> dict[int, set[int]]:
    out: dict[int, set[int]] = {}
    for e in edges:
        out.setdefault(e.a, set()).add(e.b)
        out.setdefault(e.b, set()).add(e.a)
    return out


def a_and_b(result: Plan) -> tuple[dict[int, int], dict[int, int]]:
    a_of = {r.grid_id: r.worker_id for r in result.roles if r.role == "A"}
    b_of = {r.grid_id: r.worker_id for r in result.roles if r.role == "B"}
    return a_of, b_of


def check_rules(result: Plan, grids: list[GridInfo], edges: list[Edge]) -> None:
    """Exactly one A and one B per grid, B = the A of an adjacent grid, never the grid's A."""
    nbrs = neighbours(edges)
    per_grid = Counter((r.grid_id, r.role) for r in result.roles)
    for g in grids:
        assert per_grid[g.id, "A"] == 1
        assert per_grid[g.id, "B"] == 1
    a_of, b_of = a_and_b(result)
    for g in grids:
        assert b_of[g.id] != a_of[g.id]
        assert b_of[g.id] in {a_of[h] for h in nbrs[g.id]}


def kinds(result: Plan) -> Counter[str]:
    return Counter(i.kind for i in result.issues)


def classes(workers: list[WorkerInfo]) -> Counter[str]:
    return Counter("new" if w.years < 1 else "senior" if w.years >= 3 else "mid" for w in workers)


# ---------------------------------------------------------------------- the demo community


def test_demo_input(community: Demo) -> None:
    assert len(community.grids) == 21
    assert len(community.workers) == 21
    assert Counter(w.gender for w in community.workers) == {"female": 11, "male": 10}
    assert classes(community.workers) == {"new": 5, "mid": 5, "senior": 11}
    assert len(community.edges) == 38
    ids = [g.id for g in community.grids]
    assert edges_from_polygons(ids, community.polygons) == sorted(
        community.edges, key=lambda e: (e.a, e.b)
    )
    assert demo_inputs(demo.generate(today=TODAY).communities[0], TODAY)[:3] == (
        community.grids,
        community.edges,
        community.workers,
    )


@pytest.mark.parametrize("planner", PLANNERS)
def test_demo_rules(community: Demo, planner) -> None:
    result = planner(community.grids, community.edges, community.workers)
    check_rules(result, community.grids, community.edges)
    a_of, _ = a_and_b(result)
    assert sorted(a_of.values()) == [w.id for w in community.workers]  # nobody is A twice
    assert not any(i.kind in {"island", "shared_worker", "idle_worker"} for i in result.issues)
    b_count = Counter(r.worker_id for r in result.roles if r.role == "B")
    assert "b_overload" in kinds(result) or max(b_count.values()) <= SETTINGS.max_b_roles


def test_demo_optimal(community: Demo) -> None:
    """Mentoring and mixed-gender pairs reach upper bounds computed independently.

    Every worker is A of exactly one grid, so at most #new grids have a new A (mentored by a
    senior B), and the other mentoring pairs are senior-A grids whose B is new: each new worker
    is B of at most ``max_b_roles`` grids (the plan reports no overload), hence
    mentoring <= new + min(senior, max_b_roles x new) = 5 + min(11, 10) = 15. Mixed-gender
    pairs are at most the 21 grids that have a B.
    """
    result = plan(community.grids, community.edges, community.workers)
    count = classes(community.workers)
    bound = count["new"] + min(count["senior"], SETTINGS.max_b_roles * count["new"])
    assert bound == 15
    assert "b_overload" not in kinds(result)
    assert result.metrics.mentoring_pairs == bound
    assert result.metrics.mixed_gender_pairs == len(community.grids) == 21
    assert result.metrics.solver_status == "OPTIMAL"
    # the heaviest grid bounds the largest load from below, and the plan reaches it
    assert result.metrics.max_load == max(g.load for g in community.grids) == 426.0


def test_demo_beats_greedy(community: Demo) -> None:
    best = plan(community.grids, community.edges, community.workers).metrics
    base = greedy_plan(community.grids, community.edges, community.workers).metrics
    assert base.solver_status == "greedy"
    assert best.mixed_gender_share >= base.mixed_gender_share
    assert best.mentoring_share >= base.mentoring_share
    assert best.max_over_mean <= base.max_over_mean
    assert (best.mixed_gender_pairs, best.mentoring_pairs) != (
        base.mixed_gender_pairs,
        base.mentoring_pairs,
    )  # the solver does find better pairs here


def test_large_area_search_on_demo(community: Demo) -> None:
    """The region-by-region search (used from ``lns_from_grids`` grids on) obeys the rules."""
    settings = PlanSettings(lns_from_grids=1, time_limit_s=5)
    result = plan(community.grids, community.edges, community.workers, settings=settings)
    check_rules(result, community.grids, community.edges)
    base = greedy_plan(community.grids, community.edges, community.workers).metrics
    assert result.metrics.solver_status == "FEASIBLE"
    assert result.metrics.mentoring_pairs >= base.mentoring_pairs
    assert result.metrics.max_load <= base.max_load


def test_deterministic(community: Demo) -> None:
    first = plan(community.grids, community.edges, community.workers)
    again = plan(list(reversed(community.grids)), community.edges, community.workers[::-1])
    assert first.roles == again.roles
    assert first.issues == again.issues
    strip = dataclasses.replace(first.metrics, seconds=0.0)
    assert strip == dataclasses.replace(again.metrics, seconds=0.0)


# ---------------------------------------------------------------------- metrics


def test_metrics_by_hand() -> None:
    """Three grids in a row: loads 100, 200, 40; A = 1, 2, 3; B = 2, 1, 2."""
    grids = [
        GridInfo(i, f"{i:02d}", load, (i * 100.0, 0.0)) for i, load in [(1, 100), (2, 200), (3, 40)]
    ]
    workers = [
        WorkerInfo(1, "a", "female", 0.5),  # new
        WorkerInfo(2, "b", "male", 5.0),  # senior
        WorkerInfo(3, "c", "male", 2.0),  # mid
    ]
    roles = [Role(1, 1, "A"), Role(2, 2, "A"), Role(3, 3, "A")]
    roles += [Role(2, 1, "B"), Role(1, 2, "B"), Role(2, 3, "B")]
    m = compute_metrics(grids, workers, roles, SETTINGS, "x", 0.0)
    assert (m.mixed_gender_pairs, m.mentoring_pairs) == (2, 2)  # grid 3: male/male, mid/senior
    assert m.mixed_gender_share == m.mentoring_share == pytest.approx(2 / 3)
    # loads: 1 -> 100 + 0.25*200 = 150; 2 -> 200 + 0.25*(100+40) = 235; 3 -> 40
    assert m.max_load == 235.0
    assert m.mean_load == pytest.approx(425 / 3)
    assert m.max_over_mean == pytest.approx(235 / (425 / 3))


@pytest.mark.parametrize("planner", PLANNERS)
def test_metrics_shared(community: Demo, planner) -> None:
    result = planner(community.grids, community.edges, community.workers)
    again = compute_metrics(
        community.grids, community.workers, result.roles, SETTINGS, result.metrics.solver_status, 0
    )
    assert dataclasses.replace(result.metrics, seconds=0) == again


# ---------------------------------------------------------------------- odd numbers


@pytest.mark.parametrize("planner", PLANNERS)
def test_one_worker_too_many(community: Demo, planner) -> None:
    extra = WorkerInfo(22, "新人", "male", 0.2)
    result = planner(community.grids, community.edges, [*community.workers, extra])
    check_rules(result, community.grids, community.edges)
    with_role = {r.worker_id for r in result.roles}
    idle = {w.id for w in [*community.workers, extra]} - with_role
    assert len(idle) == 1
    assert [(i.kind, i.worker_id) for i in result.issues if i.kind == "idle_worker"] == [
        ("idle_worker", idle.pop())
    ]


@pytest.mark.parametrize("planner", PLANNERS)
def test_one_worker_too_few(community: Demo, planner) -> None:
    workers = community.workers[:20]
    result = planner(community.grids, community.edges, workers)
    check_rules(result, community.grids, community.edges)
    a_of, _ = a_and_b(result)
    held = Counter(a_of.values())
    assert sorted(held.values()) == [1] * 19 + [2]  # everyone works, one holds two grids
    (sharer,) = [w for w, n in held.items() if n == 2]
    first, second = sorted(g for g, w in a_of.items() if w == sharer)
    assert second in neighbours(community.edges)[first]  # the two grids are adjacent
    shared = [i for i in result.issues if i.kind == "shared_worker"]
    assert [(i.worker_id, i.grid_id) for i in shared] == [(sharer, first)]
    assert "adjacent" in shared[0].message and "21 grids for 20 workers" in shared[0].message


@pytest.mark.parametrize("planner", PLANNERS)
def test_island(community: Demo, planner) -> None:
    x, y = community.grids[0].centroid
    island = GridInfo(22, "22", 120.0, (x + 5000.0, y))
    grids = [*community.grids, island]
    workers = [*community.workers, WorkerInfo(22, "岛", "female", 4.0)]
    result = planner(grids, community.edges, workers)
    check_rules(result, community.grids, community.edges)  # the others as usual
    a_of, b_of = a_and_b(result)
    nearest = min(
        community.grids, key=lambda g: (g.centroid[0] - x - 5000.0) ** 2 + (g.centroid[1] - y) ** 2
    )
    assert b_of[22] == a_of[nearest.id] != a_of[22]
    issues = [i for i in result.issues if i.kind == "island"]
    assert [(i.grid_id, i.worker_id) for i in issues] == [(22, a_of[nearest.id])]
    assert f"nearest grid held by someone else, {nearest.code}" in issues[0].message


@pytest.mark.parametrize("planner", PLANNERS)
def test_single_grid(community: Demo, planner) -> None:
    grid = community.grids[0]
    result = planner([grid], [], community.workers[:3])
    assert [r.role for r in result.roles] == ["A"]
    assert kinds(result) == {"no_backup": 1, "idle_worker": 2}
    assert result.metrics.mixed_gender_share == 0.0
    assert result.metrics.max_load == result.metrics.mean_load == grid.load


@pytest.mark.parametrize("planner", PLANNERS)
def test_no_workers(community: Demo, planner) -> None:
    result = planner(community.grids, community.edges, [])
    assert result.roles == [] and result.changes == []
    assert kinds(result) == {"no_workers": 21}
    assert {i.grid_id for i in result.issues} == {g.id for g in community.grids}
    assert result.metrics.max_load == result.metrics.max_over_mean == 0.0


# ---------------------------------------------------------------------- re-planning


def test_replan_when_a_worker_leaves_and_returns(community: Demo) -> None:
    first = plan(community.grids, community.edges, community.workers)
    a_of, b_of = a_and_b(first)
    backups = Counter(b_of.values())
    gone = min(backups, key=lambda w: (-backups[w], w))  # the busiest B leaves
    orphan = next(g for g, w in a_of.items() if w == gone)
    pointed = sorted(g for g, w in b_of.items() if w == gone)
    assert len(pointed) == 2
    stay = [w for w in community.workers if w.id != gone]
    current = [r for r in first.roles if r.worker_id != gone]

    second = plan(community.grids, community.edges, stay, current)
    check_rules(second, community.grids, community.edges)
    assert {(c.kind, c.role.grid_id, c.role.role) for c in second.changes} == {
        ("added", orphan, "A"),
        *(("added", g, "B") for g in pointed),
    }
    assert set(second.roles) == set(current) | {c.role for c in second.changes}
    a2, _ = a_and_b(second)
    taker = a2[orphan]
    assert any(a2[h] == taker for h in neighbours(community.edges)[orphan])  # adjacent
    assert [i.worker_id for i in second.issues if i.kind == "shared_worker"] == [taker]

    back = plan(community.grids, community.edges, community.workers, second.roles)
    check_rules(back, community.grids, community.edges)
    a_changes = {(c.kind, c.role) for c in back.changes if c.role.role == "A"}
    (handed,) = [r.grid_id for k, r in a_changes if k == "removed"]
    assert a_changes == {("removed", Role(taker, handed, "A")), ("added", Role(gone, handed, "A"))}
    b_changes = [c for c in back.changes if c.role.role == "B"]
    _, b2 = a_and_b(second)
    for c in b_changes:  # only B roles that pointed to the worker who handed a grid over
        assert b2[c.role.grid_id] == taker
    assert (
        Counter(c.kind for c in b_changes)["added"] == Counter(c.kind for c in b_changes)["removed"]
    )
    joined = [i for i in back.issues if i.kind == "joined_worker"]
    assert [(i.worker_id, i.grid_id) for i in joined] == [(gone, handed)]
    assert f"taken over from worker {taker} who held 2" in joined[0].message
    assert "shared_worker" not in kinds(back)


def test_replan_unchanged_is_stable(community: Demo) -> None:
    first = plan(community.grids, community.edges, community.workers)
    again = plan(community.grids, community.edges, community.workers, first.roles)
    assert again.changes == []
    assert again.roles == first.roles


def test_new_worker_stays_idle_when_nothing_is_free(community: Demo) -> None:
    first = plan(community.grids, community.edges, community.workers)
    newcomer = WorkerInfo(99, "新来的", "male", 0.1)
    again = plan(community.grids, community.edges, [*community.workers, newcomer], first.roles)
    assert again.changes == []
    idle = [i for i in again.issues if i.kind == "idle_worker"]
    assert [i.worker_id for i in idle] == [99]
    assert "joined, but every grid keeps its current A worker" in idle[0].message


def test_changes_list_roles_of_unknown_workers_as_removed(community: Demo) -> None:
    first = plan(community.grids, community.edges, community.workers)
    stale = Role(1234, community.grids[0].id, "B")
    again = plan(community.grids, community.edges, community.workers, [*first.roles, stale])
    assert Change("removed", stale) in again.changes


def test_neighbours_all_held_by_own_a() -> None:
    """Four grids in a row, two workers: each holds an adjacent pair, so the end grids' only
    neighbour is their own A's grid and their B comes from the nearest grid of the other."""
    grids = [GridInfo(i, f"{i:02d}", 100.0, (i * 200.0, 0.0)) for i in range(1, 5)]
    edges = [Edge(i, i + 1, 200.0) for i in range(1, 4)]
    workers = [WorkerInfo(1, "a", "female", 0.5), WorkerInfo(2, "b", "male", 6.0)]
    result = plan(grids, edges, workers)
    a_of, b_of = a_and_b(result)
    assert a_of[1] == a_of[2] != a_of[3] == a_of[4]
    assert b_of == {1: a_of[3], 2: a_of[3], 3: a_of[1], 4: a_of[1]}
    issues = [(i.kind, i.grid_id, i.worker_id) for i in result.issues if i.grid_id in (1, 4)]
    assert sorted(issues) == [
        ("b_not_adjacent", 1, a_of[3]),
        ("b_not_adjacent", 4, a_of[1]),
        ("shared_worker", 1, a_of[1]),
    ]
    assert kinds(result)["shared_worker"] == 2


def test_greedy_reports_grids_apart() -> None:
    """The baseline, heaviest grids first, can leave a worker with grids apart: it says so."""
    grids = [GridInfo(i, f"{i:02d}", 100.0, (i * 200.0, 0.0)) for i in range(1, 5)]
    edges = [Edge(i, i + 1, 200.0) for i in range(1, 4)]
    workers = [WorkerInfo(1, "a", "female", 0.5), WorkerInfo(2, "b", "male", 6.0)]
    result = greedy_plan(grids, edges, workers)
    a_of, b_of = a_and_b(result)
    assert a_of == {1: 1, 2: 2, 3: 2, 4: 1}
    assert all(b_of[g] != a_of[g] for g in a_of)
    shared = {i.worker_id: i.message for i in result.issues if i.kind == "shared_worker"}
    assert "not all adjacent" in shared[1] and "(02, 03), adjacent" in shared[2]
