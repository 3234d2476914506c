"""Proof of a patrol: a GPS track stored with its plan, and what it covered.

The patrolled area is the worker's grids on the plan's day (A and B) for a daily plan, the team's
sector on a village day. Visited stops get ``visited_at`` (the earliest visit of any track of the
plan); a visited shop, building or hydrant counts as its scheduled inspection, so it is not due
again until its interval has passed. Hazards are not closed by a visit: closing stays an explicit
step of their loop (re-inspection by someone other than who fixed it).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

import numpy as np
import shapely
from geoalchemy2.shape import from_shape, to_shape
from shapely.geometry import LineString, mapping
from shapely.geometry.base import BaseGeometry
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from geo import models as m
from geo.accounts import Principal
from geo.crs import LocalProjection
from geo.db import Settings
from geo.errors import InvalidInput, NotFound
from geo.patrol.gps import read_track
from geo.patrol.plans import network_lines
from geo.patrol.stops import INSPECTED_KINDS
from geo.patrol.track import TrackAnalysis, analyse
from geo.patrol.views import iso, plan_row
from geo.roster import on_day

EDGE_TOLERANCE_M = 0.5
"""The area is grown by this much before the network is clipped to it, so that streets along
its edge (grid edges follow street centre lines) count in full, whatever the rounding."""


def _area(session: Session, plan: m.PatrolPlan) -> BaseGeometry:
    if plan.sector is not None:
        return to_shape(plan.sector)
    grids = session.scalar(
        select(func.ST_Union(m.Grid.geom))
        .join(m.Assignment, m.Assignment.grid_id == m.Grid.id)
        .where(
            m.Assignment.worker_id == plan.worker_id,
            on_day(m.Assignment.valid_from, m.Assignment.valid_to, plan.day),
        )
    )
    if grids is None:
        grids = session.scalar(select(m.Community.geom).where(m.Community.id == plan.community_id))
    return to_shape(grids)


def _utc(times: np.ndarray) -> list[dt.datetime]:
    epoch_ms = times.astype("datetime64[ms]").astype(np.int64).tolist()
    return [dt.datetime.fromtimestamp(ms / 1000, dt.UTC) for ms in epoch_ms]


def record_track(
    session: Session,
    plan_id: int,
    data: bytes,
    settings: Settings,
    *,
    filename: str | None = None,
    content_type: str | None = None,
    crs: Literal["wgs84", "gcj02"] = "wgs84",
    by: Principal | None = None,
) -> int:
    """Read, analyse and store a track for a plan ``by`` may read; the track's id."""
    plan = plan_row(session, plan_id, by)
    track = read_track(
        data,
        filename=filename,
        content_type=content_type,
        crs=crs,
        max_points=settings.track_max_points,
    )
    if len(np.unique(track.lonlat, axis=0)) < 2:
        raise InvalidInput("the track never moves: all its points are at one place")
    area = _area(session, plan)
    projection = LocalProjection.for_geometry(area)
    stops = session.scalars(
        select(m.PatrolStop)
        .where(m.PatrolStop.plan_id == plan.id, m.PatrolStop.seq.is_not(None))
        .order_by(m.PatrolStop.seq)
    ).all()
    places = [(s.id, projection.to_metric(to_shape(s.geom))) for s in stops]
    line = LineString(track.lonlat)
    result = analyse(
        shapely.get_coordinates(projection.to_metric(line)),
        track.seconds,
        [(sid, p.x, p.y) for sid, p in places],
        [projection.to_metric(g) for g in network_lines(session, plan.community_id)],
        projection.to_metric(area).buffer(EDGE_TOLERANCE_M),
        visit_radius_m=settings.visit_radius_m,
        linger_s=settings.visit_linger_s,
        coverage_m=settings.coverage_radius_m,
        edge_m=settings.patrol_edge_m,
    )
    times = _utc(track.times)
    summary = _summary(result, times[0], projection, settings)
    row = m.PatrolTrack(
        plan_id=plan.id, times=times, summary=summary, geom=from_shape(line, srid=4326)
    )
    session.add(row)
    session.flush()
    _mark_visits(session, plan, {s.id: s for s in stops}, result, times[0], row.id)
    return row.id


def _summary(
    result: TrackAnalysis, started: dt.datetime, projection: LocalProjection, settings: Settings
) -> dict[str, Any]:
    def at(seconds: float) -> str | None:
        return iso(started + dt.timedelta(seconds=seconds))

    def lonlat(xy: tuple[float, float]) -> list[float]:
        point = projection.to_wgs84(shapely.Point(xy))
        return [round(point.x, 7), round(point.y, 7)]

    covered = projection.to_wgs84(result.covered) if not result.covered.is_empty else None
    return {
        "started_at": at(0),
        "ended_at": at(result.duration_s),
        "duration_s": round(result.duration_s, 1),
        "length_m": round(result.length_m, 1),
        "visits": [
            {
                "stop": v.stop_id,
                "arrived_at": at(v.arrived_s),
                "left_at": at(v.left_s),
                "linger_s": round(v.linger_s, 1),
                "closest_m": round(v.closest_m, 1),
            }
            for v in result.visits
        ],
        "missed": result.missed,
        "coverage": {
            "share": round(result.coverage_share, 4),
            "walked_m": round(result.walked_m, 1),
            "network_m": round(result.network_m, 1),
            "within_m": settings.coverage_radius_m,
            "covered": mapping(covered) if covered is not None else None,
        },
        "outside_s": round(result.outside_s, 1),
        "gaps": [
            {
                "from": at(g.start_s),
                "to": at(g.end_s),
                "seconds": round(g.seconds, 1),
                "distance_m": round(g.distance_m, 1),
                "start": lonlat(g.start_xy),
                "end": lonlat(g.end_xy),
            }
            for g in result.gaps
        ],
    }


def _mark_visits(
    session: Session,
    plan: m.PatrolPlan,
    stops: dict[int, m.PatrolStop],
    result: TrackAnalysis,
    started: dt.datetime,
    track_id: int,
) -> None:
    for visit in result.visits:
        stop = stops[visit.stop_id]
        arrived = started + dt.timedelta(seconds=visit.arrived_s)
        if stop.visited_at is None or arrived < stop.visited_at:
            stop.visited_at = arrived
        if stop.kind in INSPECTED_KINDS and stop.ref_id is not None:
            session.add(
                m.Inspection(
                    place_kind=stop.kind,
                    place_id=stop.ref_id,
                    inspected_at=arrived,
                    worker_id=plan.worker_id,
                    track_id=track_id,
                )
            )
    session.flush()


def track_dict(session: Session, track_id: int, plan_id: int | None = None) -> dict[str, Any]:
    """A stored track: its line and what it covered."""
    row = session.get(m.PatrolTrack, track_id)
    if row is None or (plan_id is not None and row.plan_id != plan_id):
        raise NotFound(f"patrol track {track_id} not found")
    return {
        "id": row.id,
        "plan": row.plan_id,
        "points": len(row.times),
        "uploaded_at": iso(row.uploaded_at),
        **row.summary,
        "geometry": mapping(to_shape(row.geom)),
    }
