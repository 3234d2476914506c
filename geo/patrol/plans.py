"""Patrol plans in PostGIS: a worker's daily walk and a village day's team walks, planned on
the community's walking network, stored with their stops, read back as JSON.

Times are local (Asia/Shanghai); a plan's day runs from ``hours[0]`` to ``hours[1]``. Given the
account planning (``by``; None for the CLI), a worker account plans only its own patrols, any
other only for workers and village days of the communities in its scope (others are not found,
like missing ones).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from geoalchemy2.shape import from_shape, to_shape
from shapely.geometry import MultiPolygon, Point
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from geo import models as m
from geo.accounts import Principal
from geo.crs import LocalProjection, gcj02_to_wgs84
from geo.db import Settings
from geo.errors import Conflict, Forbidden, InvalidInput, NotFound
from geo.patrol import ZONE
from geo.patrol.network import Places, WalkingNetwork
from geo.patrol.requests import DailyPlanIn, PlanOptions, PointIn, VillageDayIn
from geo.patrol.routing import Clock, Walk, plan_walk, why_left_out
from geo.patrol.sectors import split
from geo.patrol.solver import Visit, solve
from geo.patrol.stops import (
    Candidate,
    due_hazards,
    due_inspections,
    extra_candidate,
    worker_grids,
)

ROADS_SQL = """
SELECT ST_AsBinary(r.geom) FROM road r, community c
WHERE c.id = :community AND r.geom && ST_Expand(c.geom, :margin)
"""
NETWORK_MARGIN_DEG = 0.002
"""Roads this far (about 200 m) around the community belong to its walking network."""
TEAM_SLACK = 1.2
"""On a village day no team may take more than this multiple of an even share of the stops."""


@dataclass
class Frame:
    """A community's walking network and a walk's place and time."""

    community_id: int
    area: BaseGeometry
    projection: LocalProjection
    network: WalkingNetwork
    buildings: list[BaseGeometry]
    start: Point
    finish: Point
    starts_at: dt.datetime
    ends_by: dt.datetime
    speed: float

    @property
    def horizon_s(self) -> int:
        return int((self.ends_by - self.starts_at).total_seconds())

    @property
    def clock(self) -> Clock:
        return Clock(self.starts_at)


def _point(given: PointIn | None, crs: str, fallback: Point | None, what: str) -> Point:
    if given is None:
        if fallback is None:
            raise InvalidInput(
                f"the community has no office location: give {what} (lon, lat) or set the "
                "community's office"
            )
        return fallback
    lon, lat = given.lon, given.lat
    if crs == "gcj02":
        lon, lat = gcj02_to_wgs84(lon, lat)
    return Point(float(lon), float(lat))


def network_lines(session: Session, community_id: int) -> list[BaseGeometry]:
    """The road lines (WGS84) of the community's walking network."""
    rows = session.execute(
        text(ROADS_SQL), {"community": community_id, "margin": NETWORK_MARGIN_DEG}
    ).scalars()
    return [shapely.from_wkb(bytes(row)) for row in rows]


def _buildings(session: Session, community_id: int) -> list[BaseGeometry]:
    rows = session.scalars(select(m.Building.geom).where(m.Building.community_id == community_id))
    return [to_shape(row) for row in rows]


def frame(
    session: Session,
    community: m.Community,
    options: PlanOptions,
    day: dt.date,
    settings: Settings,
) -> Frame:
    area = to_shape(community.geom)
    office = to_shape(community.office) if community.office is not None else None
    start = _point(options.start, options.crs, office, "start")
    finish = _point(options.finish, options.crs, office if options.start is None else start, "")
    opens, closes = options.hours or settings.patrol_hours
    projection = LocalProjection.for_geometry(area)
    lines = [projection.to_metric(line) for line in network_lines(session, community.id)]
    return Frame(
        community.id,
        area,
        projection,
        WalkingNetwork.from_lines(lines),
        [projection.to_metric(b) for b in _buildings(session, community.id)],
        start,
        finish,
        dt.datetime.combine(day, opens, ZONE),
        dt.datetime.combine(day, closes, ZONE),
        options.speed_mps or settings.walking_speed_mps,
    )


def _visit(candidate: Candidate, starts_at: dt.datetime) -> Visit:
    window = None
    if candidate.window is not None:
        opens, closes = (
            int((dt.datetime.combine(starts_at.date(), t, ZONE) - starts_at).total_seconds())
            for t in candidate.window
        )
        window = (opens, closes)
    return Visit(candidate.priority, candidate.service_s, window)


def _places(
    fr: Frame, candidates: Sequence[Candidate]
) -> tuple[Places, np.ndarray, np.ndarray, list[Visit]]:
    points = [fr.start, fr.finish, *(Point(c.lon, c.lat) for c in candidates)]
    places = fr.network.connect(
        [fr.projection.to_metric(p) for p in points], obstacles=fr.buildings
    )
    metres, straight = places.distances()
    return places, metres, straight, [_visit(c, fr.starts_at) for c in candidates]


def _check_size(candidates: Sequence[Candidate], settings: Settings) -> None:
    if len(candidates) > settings.patrol_max_stops:
        raise InvalidInput(
            f"{len(candidates)} stops are more than one plan may have "
            f"(GRIDLINE_PATROL_MAX_STOPS = {settings.patrol_max_stops})"
        )


def _worker(session: Session, worker_id: int, by: Principal | None) -> m.Worker:
    """The worker to plan for, if ``by`` may plan their patrols."""
    communities = None
    if by is not None and by.role is m.AccountRole.WORKER:
        if worker_id != by.worker_id:
            raise Forbidden(
                f"a worker account plans only its own patrols (worker {by.worker_id}),"
                f" not worker {worker_id}'s"
            )
    elif by is not None:
        communities = by.scope.community_ids(session)
    worker = session.get(m.Worker, worker_id)
    if worker is None or (communities is not None and worker.community_id not in communities):
        raise NotFound(f"worker {worker_id} not found")
    return worker


def plan_daily(
    session: Session, request: DailyPlanIn, settings: Settings, by: Principal | None = None
) -> int:
    """Plan and store a worker's patrol; the new plan's id."""
    worker = _worker(session, request.worker_id, by)
    grids = worker_grids(session, worker.id, request.date)
    if not grids:
        raise Conflict(f"worker {worker.name} holds no grid on {request.date}")
    community = session.get(m.Community, worker.community_id)
    roles: dict[int, str | None] = {
        g.grid_id: g.role for g in grids if g.role == "A" or request.include_b
    }
    a_grids = [g.grid_id for g in grids if g.role == "A"]
    extra = [extra_candidate(s, *_lonlat(s, request.crs), settings) for s in request.stops]
    candidates = [
        *due_hazards(session, roles, request.date, settings, ZONE),
        *due_inspections(session, a_grids, request.date, settings, ZONE),
        *extra,
    ]
    _check_size(candidates, settings)
    fr = frame(session, community, request, request.date, settings)
    places, metres, straight, visits = _places(fr, candidates)
    walk, dropped = plan_walk(
        places,
        metres,
        straight,
        visits,
        list(range(len(candidates))),
        speed=fr.speed,
        horizon_s=fr.horizon_s,
        time_limit_s=request.time_limit_s,
    )
    reasons = {
        k: why_left_out(k, metres, visits[k], fr.horizon_s, fr.speed, fr.clock) for k in dropped
    }
    plan = m.PatrolPlan(kind=m.PatrolKind.DAILY, worker_id=worker.id)
    return _store(session, fr, plan, request.date, candidates, walk, reasons)


def _lonlat(stop: PointIn, crs: str) -> tuple[float, float]:
    if crs == "gcj02":
        lon, lat = gcj02_to_wgs84(stop.lon, stop.lat)
        return float(lon), float(lat)
    return stop.lon, stop.lat


def plan_village_day(
    session: Session, request: VillageDayIn, settings: Settings, by: Principal | None = None
) -> int:
    """Split the community among teams and plan each team's walk; the village day's id."""
    community = session.scalar(select(m.Community).where(m.Community.code == request.community))
    communities = by.scope.community_ids(session) if by is not None else None
    if community is None or (communities is not None and community.id not in communities):
        raise NotFound(f"community {request.community!r} not found")
    grids = session.scalars(
        select(m.Grid.id).where(m.Grid.community_id == community.id, m.Grid.valid_to.is_(None))
    ).all()
    candidates = [
        *due_hazards(session, dict.fromkeys(grids), request.date, settings, ZONE),
        *due_inspections(session, list(grids), request.date, settings, ZONE),
    ]
    _check_size(candidates, settings)
    fr = frame(session, community, request, request.date, settings)
    places, metres, straight, visits = _places(fr, candidates)
    n, k = len(candidates), request.teams
    joint = solve(
        metres,
        visits,
        speed_mps=fr.speed,
        horizon_s=fr.horizon_s,
        vehicles=k,
        max_stops=max(1, math.ceil(TEAM_SLACK * n / k)),
        time_limit_s=request.time_limit_s,
    )
    seeds = [-1] * n
    for team, route in enumerate(joint.routes):
        for stop in route.stops:
            seeds[stop] = team
    xy = np.array([[p.x, p.y] for p in places.points[2:]]).reshape(n, 2)
    sectors = split(xy, seeds, fr.projection.to_metric(fr.area), k)
    day = m.VillageDay(community_id=community.id, day=request.date, teams=k)
    session.add(day)
    session.flush()
    for team in range(k):
        members = [s for s in range(n) if sectors.teams[s] == team]
        walk, dropped = plan_walk(
            places,
            metres,
            straight,
            visits,
            members,
            speed=fr.speed,
            horizon_s=fr.horizon_s,
            time_limit_s=request.time_limit_s,
        )
        reasons = {
            s: why_left_out(s, metres, visits[s], fr.horizon_s, fr.speed, fr.clock) for s in dropped
        }
        sector = fr.projection.to_wgs84(sectors.areas[team])
        plan = m.PatrolPlan(
            kind=m.PatrolKind.VILLAGE_DAY,
            village_day_id=day.id,
            team=team + 1,
            sector=from_shape(_multipolygon(sector), srid=4326) if not sector.is_empty else None,
        )
        mine = {s: candidates[s] for s in members}
        _store(session, fr, plan, request.date, mine, walk, reasons)
    return day.id


def _multipolygon(geom: BaseGeometry) -> MultiPolygon:
    if isinstance(geom, MultiPolygon):
        return geom
    if geom.geom_type == "Polygon":
        return MultiPolygon([geom])
    return MultiPolygon([g for g in getattr(geom, "geoms", []) if g.geom_type == "Polygon"])


def _store(
    session: Session,
    fr: Frame,
    plan: m.PatrolPlan,
    day: dt.date,
    candidates: Sequence[Candidate] | dict[int, Candidate],
    walk: Walk,
    reasons: dict[int, str],
) -> int:
    """Write ``plan`` with its stops: the walk's in order, then those left out."""
    plan.community_id = fr.community_id
    plan.day = day
    plan.starts_at, plan.ends_by = fr.starts_at, fr.ends_by
    plan.returns_at = fr.clock.at(walk.returns_s)
    plan.speed_mps = fr.speed
    plan.distance_m = walk.distance_m
    plan.straight_m = walk.straight_m
    plan.straight_legs = walk.straight_legs
    plan.start = from_shape(fr.start, srid=4326)
    plan.finish = from_shape(fr.finish, srid=4326)
    if walk.line is not None:
        plan.route = from_shape(fr.projection.to_wgs84(walk.line), srid=4326)
    session.add(plan)
    session.flush()
    lookup = candidates if isinstance(candidates, dict) else dict(enumerate(candidates))
    rows = []
    for seq, (k, arrival, leg) in enumerate(
        zip(walk.order, walk.arrivals_s, walk.legs_m, strict=True), start=1
    ):
        rows.append(_stop_row(plan, lookup[k], seq=seq, arrive_at=fr.clock.at(arrival), leg=leg))
    for k, reason in sorted(reasons.items()):
        rows.append(_stop_row(plan, lookup[k], reason=reason))
    session.add_all(rows)
    session.flush()
    return plan.id


def _stop_row(
    plan: m.PatrolPlan,
    c: Candidate,
    *,
    seq: int | None = None,
    arrive_at: dt.datetime | None = None,
    leg: float | None = None,
    reason: str | None = None,
) -> m.PatrolStop:
    row = m.PatrolStop(
        plan_id=plan.id,
        seq=seq,
        kind=c.kind,
        ref_id=c.ref_id,
        label=c.label,
        role=c.role,
        priority=c.priority,
        service_s=c.service_s,
        arrive_at=arrive_at,
        leg_m=leg,
        reason=reason,
        geom=from_shape(Point(c.lon, c.lat), srid=4326),
    )
    if c.window is not None:
        row.window_start, row.window_end = (
            dt.datetime.combine(plan.day, t, ZONE) for t in c.window
        )
    return row
