"""Stored plans, village days and tracks as JSON (what the API returns and the maps draw).

Given the account asking (``by``; None for the CLI, which may read everything), a plan or village
day it may not read is not found, exactly like a missing one: a worker account reads its own
plans and the village days of its grids' communities, any other account the plans and village
days of the communities in its scope.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from geoalchemy2.shape import to_shape
from shapely.geometry import mapping
from sqlalchemy import ColumnElement, and_, or_, select, true
from sqlalchemy.orm import Session

from geo import models as m
from geo.accounts import Principal
from geo.errors import NotFound
from geo.patrol import ZONE
from geo.patrol.stops import worker_grids


def iso(value: dt.datetime | None) -> str | None:
    """Local time (Asia/Shanghai) with its offset."""
    return value.astimezone(ZONE).isoformat() if value is not None else None


def _geometry(value: Any) -> dict | None:
    return mapping(to_shape(value)) if value is not None else None


def _xy(value: Any) -> list[float]:
    point = to_shape(value)
    return [point.x, point.y]


def stop_dict(stop: m.PatrolStop) -> dict[str, Any]:
    lon, lat = _xy(stop.geom)
    window = None
    if stop.window_start is not None and stop.window_end is not None:
        window = [iso(stop.window_start), iso(stop.window_end)]
    depart = None
    if stop.arrive_at is not None:
        depart = stop.arrive_at + dt.timedelta(seconds=stop.service_s)
    return {
        "id": stop.id,
        "seq": stop.seq,
        "kind": stop.kind,
        "ref": stop.ref_id,
        "label": stop.label,
        "role": stop.role,
        "priority": stop.priority,
        "service_s": stop.service_s,
        "window": window,
        "arrive_at": iso(stop.arrive_at),
        "depart_at": iso(depart),
        "leg_m": None if stop.leg_m is None else round(stop.leg_m, 1),
        "reason": stop.reason,
        "lon": lon,
        "lat": lat,
        "visited_at": iso(stop.visited_at),
    }


def _summary(session: Session, plan: m.PatrolPlan) -> dict[str, Any]:
    worker = session.get(m.Worker, plan.worker_id) if plan.worker_id is not None else None
    community = session.get(m.Community, plan.community_id)
    return {
        "id": plan.id,
        "kind": str(plan.kind),
        "community": community.code if community else None,
        "date": plan.day.isoformat(),
        "worker": {"id": worker.id, "name": worker.name} if worker else None,
        "village_day": plan.village_day_id,
        "team": plan.team,
        "starts_at": iso(plan.starts_at),
        "ends_by": iso(plan.ends_by),
        "returns_at": iso(plan.returns_at),
        "speed_mps": plan.speed_mps,
        "distance_m": round(plan.distance_m, 1),
        "duration_s": round((plan.returns_at - plan.starts_at).total_seconds()),
    }


def readable_plans(session: Session, by: Principal) -> ColumnElement[bool]:
    """The condition on ``patrol_plan`` rows ``by`` may read (and upload tracks for)."""
    communities = by.scope.community_ids(session)
    in_scope = true() if communities is None else m.PatrolPlan.community_id.in_(sorted(communities))
    if by.role is m.AccountRole.WORKER:
        team_walk = and_(m.PatrolPlan.village_day_id.is_not(None), in_scope)
        return or_(m.PatrolPlan.worker_id == by.worker_id, team_walk)
    return in_scope


def plan_row(session: Session, plan_id: int, by: Principal | None = None) -> m.PatrolPlan:
    """Plan ``plan_id``; not found when missing or ``by`` may not read it."""
    query = select(m.PatrolPlan).where(m.PatrolPlan.id == plan_id)
    if by is not None:
        query = query.where(readable_plans(session, by))
    plan = session.scalar(query)
    if plan is None:
        raise NotFound(f"patrol plan {plan_id} not found")
    return plan


def plan_dict(session: Session, plan_id: int, by: Principal | None = None) -> dict[str, Any]:
    """A plan with its stops (visiting order, then those left out) and route."""
    plan = plan_row(session, plan_id, by)
    stops = session.scalars(
        select(m.PatrolStop)
        .where(m.PatrolStop.plan_id == plan.id)
        .order_by(m.PatrolStop.seq.asc().nulls_last(), m.PatrolStop.id)
    ).all()
    tracks = session.scalars(
        select(m.PatrolTrack.id).where(m.PatrolTrack.plan_id == plan.id).order_by(m.PatrolTrack.id)
    ).all()
    fitted = [s for s in stops if s.seq is not None]
    grids = []
    if plan.worker_id is not None:
        grids = [
            {"id": g.grid_id, "code": g.code, "role": g.role}
            for g in worker_grids(session, plan.worker_id, plan.day)
        ]
    return {
        **_summary(session, plan),
        "start": _xy(plan.start),
        "finish": _xy(plan.finish),
        "grids": grids,
        "network": {"straight_m": round(plan.straight_m, 1), "straight_legs": plan.straight_legs},
        "counts": {"planned": len(fitted), "left_out": len(stops) - len(fitted)},
        "route": _geometry(plan.route),
        "sector": _geometry(plan.sector),
        "stops": [stop_dict(s) for s in stops],
        "tracks": list(tracks),
    }


def list_plans(
    session: Session,
    by: Principal,
    *,
    worker_id: int | None = None,
    day: dt.date | None = None,
    community: str | None = None,
) -> list[dict[str, Any]]:
    """Summaries of the plans ``by`` may read, newest first."""
    query = select(m.PatrolPlan).where(readable_plans(session, by)).order_by(m.PatrolPlan.id.desc())
    if worker_id is not None:
        query = query.where(m.PatrolPlan.worker_id == worker_id)
    if day is not None:
        query = query.where(m.PatrolPlan.day == day)
    if community is not None:
        query = query.join(m.Community, m.Community.id == m.PatrolPlan.community_id).where(
            m.Community.code == community
        )
    return [_summary(session, plan) for plan in session.scalars(query)]


def village_day_dict(
    session: Session, village_day_id: int, by: Principal | None = None
) -> dict[str, Any]:
    """A village day with its team walks; not found when missing or outside ``by``'s scope."""
    day = session.get(m.VillageDay, village_day_id)
    communities = by.scope.community_ids(session) if by is not None else None
    if day is None or (communities is not None and day.community_id not in communities):
        raise NotFound(f"village day {village_day_id} not found")
    community = session.get(m.Community, day.community_id)
    plans = session.scalars(
        select(m.PatrolPlan.id)
        .where(m.PatrolPlan.village_day_id == day.id)
        .order_by(m.PatrolPlan.team)
    ).all()
    return {
        "id": day.id,
        "community": community.code if community else None,
        "date": day.day.isoformat(),
        "teams": day.teams,
        "plans": [plan_dict(session, plan_id) for plan_id in plans],
    }
