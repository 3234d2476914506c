"""What a patrol visits: hazards due for a visit, places due for a scheduled inspection, and
points the planner adds by hand.

- **Hazards** (in the worker's grids, or the community's on a village day) are due when their fix
  was reported (state ``rectified``: the re-inspection, 复核) or when their rectification deadline
  falls before the end of the day (states ``dispatched``/``rectifying``: a follow-up visit).
  Priority by severity: low 2, medium 3, high 4, critical 5; one less in a grid where the worker
  is only B (the A worker goes first), never below 1.
- **Scheduled inspections** of shops (food safety), buildings (fire safety) and hydrants, in the
  grids where the worker is A: due when never inspected or when the last inspection is at least
  ``GRIDLINE_PATROL_INTERVALS_DAYS[kind]`` days old at the end of the day. Priority 2 when never
  inspected or overdue by a whole interval, else 1. A building is visited at its first entrance.
- **Extra points** come with the request (default priority 3).

Service times come from ``GRIDLINE_PATROL_SERVICE_S``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from geo import models as m
from geo.db import Settings
from geo.patrol.requests import StopIn
from geo.roster import on_day

SEVERITY_PRIORITY = {"low": 2, "medium": 3, "high": 4, "critical": 5}
INSPECTED_KINDS = ("shop", "building", "hydrant")
INSPECTION_LABELS = {"shop": "食品安全检查", "building": "消防安全检查", "hydrant": "消火栓检查"}


@dataclass(frozen=True)
class Candidate:
    """A stop a plan may include."""

    kind: str
    ref_id: int | None
    label: str
    priority: int
    service_s: int
    lon: float
    lat: float
    role: str | None = None
    window: tuple[dt.time, dt.time] | None = None
    """Local times of the plan's day."""


@dataclass(frozen=True)
class GridRole:
    grid_id: int
    code: str
    role: str


def worker_grids(session: Session, worker_id: int, day: dt.date) -> list[GridRole]:
    """The grids where the worker holds a role on ``day``, A first."""
    rows = session.execute(
        select(m.Assignment.grid_id, m.Grid.code, m.Assignment.role)
        .join(m.Grid, m.Grid.id == m.Assignment.grid_id)
        .where(
            m.Assignment.worker_id == worker_id,
            on_day(m.Assignment.valid_from, m.Assignment.valid_to, day),
        )
        .order_by(m.Assignment.role, m.Grid.code)
    ).all()
    return [GridRole(grid, code, str(role)) for grid, code, role in rows]


HAZARDS_SQL = """
SELECT h.id, h.grid_id, h.state, h.severity, c.name_zh, h.description,
       ST_X(h.geom), ST_Y(h.geom)
FROM hazard h JOIN hazard_category c ON c.code = h.category
WHERE h.grid_id = ANY(:grids)
  AND (h.state = 'rectified'
       OR (h.state IN ('dispatched', 'rectifying') AND h.deadline < :day_end))
ORDER BY h.id
"""


def _day_end(day: dt.date, zone: dt.tzinfo) -> dt.datetime:
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), zone)


def due_hazards(
    session: Session,
    roles: dict[int, str | None],
    day: dt.date,
    settings: Settings,
    zone: dt.tzinfo,
) -> list[Candidate]:
    """Hazards due for a visit in the grids of ``roles`` (grid id -> the worker's role, or
    None on a village day)."""
    rows = session.execute(
        text(HAZARDS_SQL), {"grids": list(roles), "day_end": _day_end(day, zone)}
    ).all()
    out = []
    for hazard_id, grid_id, state, severity, category, description, lon, lat in rows:
        role = roles[grid_id]
        priority = SEVERITY_PRIORITY[severity] - (1 if role == "B" else 0)
        action = "复核" if state == "rectified" else "整改跟进"
        label = f"{category}{action}：{description}"[:200]
        service = settings.patrol_service_s.get("hazard", 0)
        out.append(Candidate("hazard", hazard_id, label, max(priority, 1), service, lon, lat, role))
    return out


PLACES_SQL = """
WITH grids AS (SELECT id, geom FROM grid WHERE id = ANY(:grids)),
places AS (
    SELECT 'building' AS kind, b.id, coalesce(c.name, '') || b.name AS name,
           coalesce(ST_GeometryN(b.entrances, 1), ST_PointOnSurface(b.geom)) AS spot
    FROM building b JOIN grids g ON ST_Covers(g.geom, ST_PointOnSurface(b.geom))
    LEFT JOIN compound c ON c.id = b.compound_id
    UNION ALL
    SELECT s.kind, s.id, coalesce(s.name, s.kind), s.geom
    FROM site_feature s JOIN grids g ON ST_Covers(g.geom, s.geom)
    WHERE s.kind IN ('shop', 'hydrant')
)
SELECT p.kind, p.id, p.name, ST_X(p.spot), ST_Y(p.spot),
       (SELECT max(i.inspected_at) FROM inspection i
        WHERE i.place_kind = p.kind AND i.place_id = p.id) AS last
FROM places p
WHERE p.kind = ANY(:kinds)
ORDER BY p.kind, p.id
"""


def due_inspections(
    session: Session, grids: list[int], day: dt.date, settings: Settings, zone: dt.tzinfo
) -> list[Candidate]:
    """Places in ``grids`` due for their scheduled inspection on ``day``."""
    intervals = {k: v for k, v in settings.patrol_intervals_days.items() if k in INSPECTED_KINDS}
    if not grids or not intervals:
        return []
    end = _day_end(day, zone)
    rows = session.execute(text(PLACES_SQL), {"grids": grids, "kinds": list(intervals)}).all()
    out = []
    for kind, place_id, name, lon, lat, last in rows:
        interval = dt.timedelta(days=intervals[kind])
        if last is not None and end - last < interval:
            continue
        priority = 2 if last is None or end - last >= 2 * interval else 1
        label = f"{name} {INSPECTION_LABELS[kind]}"[:200]
        service = settings.patrol_service_s.get(kind, 0)
        out.append(Candidate(kind, place_id, label, priority, service, lon, lat, "A"))
    return out


def extra_candidate(stop: StopIn, lon: float, lat: float, settings: Settings) -> Candidate:
    """A stop given in the request, at (lon, lat) in WGS84."""
    service = (
        settings.patrol_service_s.get("extra", 0) if stop.service_s is None else stop.service_s
    )
    return Candidate("extra", None, stop.label, stop.priority, service, lon, lat, None, stop.window)
