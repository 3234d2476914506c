"""Between PostGIS and the A/B planner: its inputs from the database, its plan as JSON,
the coverage report of a community."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict
from typing import Any

from geoalchemy2.shape import to_shape
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from geo import models as m
from geo.adjacency import adjacency
from geo.assignment import Edge, GridInfo, Plan, PlanSettings, Role, WorkerInfo, plan
from geo.crs import LocalProjection
from geo.db import get_settings
from geo.errors import NotFound
from geo.hazards.lifecycle import OPEN
from geo.roster import Applied, active_grid_worker, apply_roles, on_day

LOAD_PARTS_SQL = """
SELECT g.id, g.households,
       (SELECT count(*) FROM building b WHERE b.community_id = g.community_id
          AND ST_Covers(g.geom, ST_PointOnSurface(b.geom))),
       (SELECT count(*) FROM hazard h WHERE h.grid_id = g.id AND h.state = ANY(:open))
FROM grid g
WHERE g.community_id = :community_id AND g.valid_to IS NULL
"""


def community_id(session: Session, code: str) -> int:
    found = session.scalar(select(m.Community.id).where(m.Community.code == code))
    if found is None:
        raise NotFound(f"community {code!r} not found")
    return found


def grid_loads(session: Session, community: int) -> dict[int, float]:
    """A grid's load in households-equivalents: households + weight x buildings + weight x
    open hazards (GRIDLINE_LOAD_WEIGHT_BUILDING, GRIDLINE_LOAD_WEIGHT_HAZARD)."""
    settings = get_settings()
    rows = session.execute(
        text(LOAD_PARTS_SQL),
        {"community_id": community, "open": [str(state) for state in OPEN]},
    )
    return {
        grid: households
        + settings.load_weight_building * buildings
        + settings.load_weight_hazard * hazards
        for grid, households, buildings, hazards in rows
    }


def planner_input(
    session: Session, community: int, day: dt.date
) -> tuple[list[GridInfo], list[Edge], list[WorkerInfo], list[Role]]:
    """Grids with loads and metric centroids, adjacency, grid workers, their current roles."""
    loads = grid_loads(session, community)
    rows = session.execute(
        select(m.Grid.id, m.Grid.code, m.Grid.geom)
        .where(m.Grid.community_id == community, m.Grid.valid_to.is_(None))
        .order_by(m.Grid.code)
    ).all()
    shapes = {grid_id: to_shape(geom) for grid_id, _, geom in rows}
    grids = []
    if shapes:
        projection = LocalProjection.for_geometry(next(iter(shapes.values())))
        for grid_id, code, _ in rows:
            centre = projection.to_metric(shapes[grid_id].representative_point())
            grids.append(GridInfo(grid_id, code, float(loads[grid_id]), (centre.x, centre.y)))
    edges = [Edge(p.a, p.b, p.shared_m) for p in adjacency(session, community)]
    people = session.execute(
        select(m.Worker.id, m.Worker.name, m.Worker.gender, m.Worker.hire_date)
        .where(active_grid_worker(community, day))
        .order_by(m.Worker.id)
    ).all()
    workers = [
        WorkerInfo(w, name, str(gender), (day - hired).days / 365.25)
        for w, name, gender, hired in people
    ]
    present = {w.id for w in workers}
    current = [
        Role(w, g, str(r))
        for w, g, r in session.execute(
            select(m.Assignment.worker_id, m.Assignment.grid_id, m.Assignment.role).where(
                m.Assignment.grid_id.in_(list(shapes)),
                on_day(m.Assignment.valid_from, m.Assignment.valid_to, day),
            )
        )
        if w in present
    ]
    return grids, edges, workers, current


def plan_community(session: Session, code: str, day: dt.date | None = None) -> Plan:
    """The proposed A/B roles of a community (nothing is written)."""
    day = day or dt.date.today()
    grids, edges, workers, current = planner_input(session, community_id(session, code), day)
    settings = get_settings()
    return plan(grids, edges, workers, current, PlanSettings(b_load_share=settings.b_load_share))


def plan_json(session: Session, code: str, result: Plan) -> dict[str, Any]:
    """A plan with grid codes and worker names next to the ids."""
    community = community_id(session, code)
    codes = dict(
        session.execute(
            select(m.Grid.id, m.Grid.code).where(m.Grid.community_id == community)
        ).all()
    )
    names = dict(
        session.execute(
            select(m.Worker.id, m.Worker.name).where(m.Worker.community_id == community)
        ).all()
    )

    def role(r: Role) -> dict[str, Any]:
        return {
            "worker_id": r.worker_id,
            "worker": names.get(r.worker_id),
            "grid_id": r.grid_id,
            "grid": codes.get(r.grid_id),
            "role": r.role,
        }

    return {
        "community": code,
        "roles": [role(r) for r in sorted(result.roles, key=lambda r: (codes[r.grid_id], r.role))],
        "issues": [asdict(issue) for issue in result.issues],
        "changes": [{"kind": c.kind, **role(c.role)} for c in result.changes],
        "metrics": asdict(result.metrics),
    }


def apply_plan(
    session: Session, code: str, roles: list[Role], day: dt.date | None = None
) -> Applied:
    """Write ``roles`` as the community's roles from ``day`` (default today)."""
    keys = [(r.worker_id, r.grid_id, r.role) for r in roles]
    return apply_roles(session, community_id(session, code), keys, day)


def coverage(session: Session, code: str, day: dt.date | None = None) -> dict[str, Any]:
    """Grids without A or B, workers without a grid, loads and overloads, the A/B pairs."""
    day = day or dt.date.today()
    community = community_id(session, code)
    grids, _, workers, roles = planner_input(session, community, day)
    settings = get_settings()
    code_of = {g.id: g.code for g in grids}
    load_of = {g.id: g.load for g in grids}
    name_of = {w.id: w.name for w in workers}
    a_of = {r.grid_id: r.worker_id for r in roles if r.role == "A"}
    home = {}
    for grid_id, worker_id in sorted(a_of.items(), key=lambda item: code_of[item[0]]):
        home.setdefault(worker_id, grid_id)
    loads = {w.id: 0.0 for w in workers}
    for r in roles:
        share = 1.0 if r.role == "A" else settings.b_load_share
        loads[r.worker_id] = loads.get(r.worker_id, 0.0) + share * load_of[r.grid_id]
    busy = {w: load for w, load in loads.items() if load > 0}
    mean = sum(busy.values()) / len(busy) if busy else 0.0
    pairs = [
        {
            "grid": code_of[r.grid_id],
            "a": name_of.get(a_of.get(r.grid_id)),
            "b": name_of.get(r.worker_id),
            "b_home_grid": code_of.get(home.get(r.worker_id)),
        }
        for r in sorted(roles, key=lambda r: code_of[r.grid_id])
        if r.role == "B"
    ]
    with_b = {p["grid"] for p in pairs}
    return {
        "community": code,
        "date": day.isoformat(),
        "grids": len(grids),
        "grid_workers": len(workers),
        "grids_without_a": sorted(code_of[g.id] for g in grids if g.id not in a_of),
        "grids_without_b": sorted(g.code for g in grids if g.code not in with_b),
        "workers_without_grid": [
            {"id": w.id, "name": w.name}
            for w in workers
            if not any(r.worker_id == w.id for r in roles)
        ],
        "loads": [
            {"worker_id": w, "name": name_of[w], "load": round(load, 1)}
            for w, load in sorted(busy.items(), key=lambda item: -item[1])
        ],
        "max_load": round(max(busy.values()), 1) if busy else 0.0,
        "mean_load": round(mean, 1),
        "overloaded_workers": [
            {"worker_id": w, "name": name_of[w], "load": round(load, 1)}
            for w, load in busy.items()
            if load > settings.overload_ratio * mean
        ],
        "pairs": pairs,
    }
