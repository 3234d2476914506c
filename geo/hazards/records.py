"""Hazard records: report with routing, read, query, change state under If-Match, merge.

Routing uses the same point lookup as ``/locate`` (so boundary rules agree): the grid,
compound and community at the point; the grid's A worker becomes the assignee and its B the
backup. A point in a community but in no grid, or in a grid nobody holds, stays *reported*
in the community office's unrouted queue; a point in no grid is also flagged as a blind zone.
Every change writes a ``hazard_event`` row in the same transaction.

Access: every reader takes the account's :class:`~geo.accounts.Scope` (default everywhere, for
the CLI); a hazard outside it is "not found", exactly like a missing one. A report by an
account (``by``) is refused with Forbidden when its point is routed outside the account's area.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from geoalchemy2.shape import from_shape
from shapely.geometry import Point
from sqlalchemy import ColumnElement, Select, and_, bindparam, func, or_, select, text
from sqlalchemy.orm import Session, aliased

from geo import models as m
from geo.accounts import Principal, Scope
from geo.db import get_settings
from geo.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
)
from geo.hazards.lifecycle import FINAL, OPEN, check_reinspection, check_transition, deadline
from geo.locate import locate, to_wgs84

SYSTEM = "system"
EVERYWHERE = Scope()


def in_scope(scope: Scope, hazard: Any = m.Hazard) -> list[ColumnElement[bool]]:
    """The conditions keeping ``hazard`` rows (the table or an alias) inside ``scope`` (none
    for everywhere)."""
    clause = scope.clause(hazard.community_id, hazard.grid_id)
    return [] if clause is None else [clause]


def scope_sql(scope: Scope, community: str = "community_id", grid: str = "grid_id") -> str:
    """``scope`` as a SQL condition on the columns ``community`` and ``grid``, for hand-written
    statements (the ids are integers, written as literals)."""
    if scope.communities is not None:
        column, ids = community, scope.communities
    elif scope.grids is not None:
        column, ids = grid, scope.grids
    else:
        return "true"
    listed = ", ".join(str(int(i)) for i in sorted(ids))
    return f"{column} IN ({listed})" if listed else "false"


def area_of(who: Principal) -> str:
    """How a refusal names the area account ``who`` serves."""
    return f"the area account {who.username!r} serves"


def require_community(session: Session, scope: Scope, community_id: int, not_found: str) -> None:
    """NotFound(``not_found``) unless ``scope`` touches the community (a worker's: through its
    grids), so its hazard figures are as hidden as a missing community's."""
    touched = scope.community_ids(session)
    if touched is not None and community_id not in touched:
        raise NotFound(not_found)


@dataclass(frozen=True)
class Report:
    """What a worker or resident reports."""

    category: str
    severity: str
    description: str
    lon: float
    lat: float
    origin: str
    reporter: str
    kind: str = "hazard"
    crs: str = "wgs84"
    reporter_contact: str | None = None
    building_id: int | None = None
    floor: int | None = None


def _event(
    session: Session,
    hazard: m.Hazard,
    actor: str,
    action: str,
    before: str | None,
    note: str | None,
    *,
    to: m.HazardState | None = None,
) -> None:
    """Record ``action`` on ``hazard``: from ``before`` to ``to`` (its state by default)."""
    session.add(
        m.HazardEvent(
            hazard_id=hazard.id,
            actor=actor,
            action=action,
            from_state=before,
            to_state=str(to or hazard.state),
            note=note,
        )
    )


def report(
    session: Session, data: Report, by: Principal | None = None
) -> tuple[m.Hazard, list[dict[str, Any]]]:
    """Record a hazard, route it, and list open hazards it may duplicate (those ``by`` may see).

    Forbidden, before anything is written, when ``by`` does not serve the routed place."""
    category = session.get(m.HazardCategory, data.category)
    if category is None or not category.active:
        raise InvalidInput(f"category {data.category!r} is not in the catalogue")
    lon, lat = to_wgs84(data.lon, data.lat, data.crs)
    cursor = session.connection().connection.driver_connection.cursor()
    found = locate(cursor, lon, lat)
    if found["community"] is None:
        raise InvalidInput(f"point ({lon:g}, {lat:g}) is outside every community")
    community_id, building_at, now = session.execute(
        _PLACE, {"code": found["community"]["code"], "lon": lon, "lat": lat}
    ).one()
    grid_id = found["grid"]["id"] if found["grid"] else None
    if by is not None and not by.scope.covers(community_id, grid_id):
        raise Forbidden(f"point ({lon:g}, {lat:g}) is outside {area_of(by)}")
    if data.building_id is not None:
        _check_building(session, data.building_id, community_id)
    responsible = found["responsible"] or {"a": None, "b": []}
    assignee = responsible["a"]["id"] if responsible["a"] else None
    backup = responsible["b"][0]["id"] if responsible["b"] else None
    hazard = m.Hazard(
        kind=data.kind,
        community_id=community_id,
        grid_id=grid_id,
        compound_id=found["compound"]["id"] if found["compound"] else None,
        building_id=data.building_id or building_at,
        floor=data.floor,
        category=data.category,
        severity=data.severity,
        description=data.description,
        origin=data.origin,
        reporter=data.reporter,
        reporter_contact=data.reporter_contact,
        state=m.HazardState.REPORTED if assignee is None else m.HazardState.DISPATCHED,
        assignee_id=assignee,
        backup_id=backup if assignee is not None else None,
        blind_zone=found["blind_zone"],
        reported_at=now,
        deadline=deadline(now, data.severity, get_settings().deadline_days),
        geom=from_shape(Point(lon, lat), srid=4326),
    )
    session.add(hazard)
    session.flush()
    reported = m.HazardState.REPORTED
    _event(session, hazard, data.reporter, "reported", None, None, to=reported)
    if assignee is not None:
        note = f"routed to grid {found['grid']['code']}: A {responsible['a']['name']}"
        _event(session, hazard, SYSTEM, "dispatched", "reported", note)
    else:
        why = "blind zone: in no grid" if hazard.blind_zone else "the grid has no A worker"
        _event(session, hazard, SYSTEM, "unrouted", "reported", f"{why}; community office queue")
    session.flush()
    return hazard, possible_duplicates(session, hazard, by.scope if by else EVERYWHERE)


_PLACE = text(
    """
    SELECT community.id,
           (SELECT building.id FROM building
            WHERE building.community_id = community.id
              AND ST_Intersects(building.geom, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))
            ORDER BY building.id LIMIT 1),
           now()
    FROM community WHERE community.code = :code
    """
)
"""The reported point's community id, the building there (lowest id) and the transaction's
time: one round trip."""


def _check_building(session: Session, building_id: int, community_id: int) -> None:
    owner = session.scalar(select(m.Building.community_id).where(m.Building.id == building_id))
    if owner is None:
        raise InvalidInput(f"building {building_id} not found")
    if owner != community_id:
        raise InvalidInput(f"building {building_id} is not in the community at the point")


ASSIGNEE, BACKUP = aliased(m.Worker, name="assignee_w"), aliased(m.Worker, name="backup_w")
"""Aliases made once: a fresh alias per call defeats SQLAlchemy's statement cache (~3 ms)."""

_DUPLICATES = """
SELECT other.id, other.state, other.description,
       ST_Distance(Geography(other.geom), Geography(hazard.geom)) AS distance_m
FROM hazard AS other JOIN hazard ON hazard.id = :hazard_id
WHERE other.id <> hazard.id AND other.category = hazard.category
  AND other.state::text = ANY(:open)
  -- the box test uses the GiST index (a box surely holding the circle); the geography test
  -- is exact, in metres
  AND other.geom && ST_Expand(
      hazard.geom,
      :radius / 110000.0 / greatest(cos(radians(ST_Y(hazard.geom))), 0.01),
      :radius / 110000.0)
  AND ST_DWithin(Geography(other.geom), Geography(hazard.geom), :radius)
  AND {scope}
ORDER BY distance_m, other.id
"""
OPEN_STATES = sorted(str(s) for s in OPEN)


def possible_duplicates(
    session: Session, hazard: m.Hazard, scope: Scope = EVERYWHERE
) -> list[dict[str, Any]]:
    """Open hazards of the same category within the duplicate radius, nearest first, inside
    ``scope``. Hand-written SQL: it runs on every report, and building the statement with
    SQLAlchemy's expression language cost a third of a report's time."""
    sql = _DUPLICATES.format(scope=scope_sql(scope, "other.community_id", "other.grid_id"))
    params = {
        "hazard_id": hazard.id,
        "open": OPEN_STATES,
        "radius": float(get_settings().duplicate_radius_m),
    }
    return [
        {"id": i, "state": s, "description": d, "distance_m": round(float(dist), 1)}
        for i, s, d, dist in session.execute(text(sql), params)
    ]


def load(
    session: Session, hazard_id: int, *, for_update: bool = False, scope: Scope = EVERYWHERE
) -> m.Hazard:
    """The hazard; NotFound when missing or outside ``scope`` (the same answer)."""
    query = select(m.Hazard).where(m.Hazard.id == hazard_id, *in_scope(scope))
    if for_update:
        query = query.with_for_update()
    hazard = session.scalars(query).first()
    if hazard is None:
        raise NotFound(f"hazard {hazard_id} not found")
    return hazard


def etag(hazard: m.Hazard) -> str:
    return f'"{hazard.id}-{hazard.version}"'


def check_version(hazard: m.Hazard, if_match: str | None) -> None:
    """If-Match must name the current version: 428 without it, 412 when stale."""
    if not if_match:
        raise PreconditionRequired(
            f"hazard {hazard.id}: send If-Match with the ETag from GET /hazards/{hazard.id}"
        )
    if if_match.strip().removeprefix("W/") != etag(hazard) and if_match.strip() != "*":
        raise PreconditionFailed(
            f"hazard {hazard.id} changed since you read it (now {etag(hazard)}); "
            "read it again and retry"
        )


def transition(
    session: Session,
    hazard_id: int,
    target: str,
    actor: str,
    if_match: str | None,
    note: str | None = None,
    assignee_id: int | None = None,
    scope: Scope = EVERYWHERE,
) -> m.Hazard:
    """Move a hazard to ``target`` under the loop's rules; one event row per change."""
    hazard = load(session, hazard_id, for_update=True, scope=scope)
    check_version(hazard, if_match)
    to = m.HazardState(target)
    if to == m.HazardState.DUPLICATE:
        raise Conflict("mark a duplicate with POST /hazards/{id}/merge, naming the original")
    before = hazard.state
    check_transition(before, to)
    if to == m.HazardState.DISPATCHED:
        _dispatch(session, hazard, assignee_id)
    elif assignee_id is not None:
        raise InvalidInput("assignee_id goes with a dispatch only")
    if to == m.HazardState.RECTIFIED:
        hazard.rectified_by = actor
    if to == m.HazardState.VERIFIED:
        check_reinspection(hazard.rectified_by, actor)
    if to == m.HazardState.RECTIFYING and before == m.HazardState.RECTIFIED:
        hazard.rectified_by = None
    if to in FINAL:
        hazard.closed_at = session.scalar(select(func.now()))
    hazard.state = to
    hazard.version += 1
    session.flush()
    _event(session, hazard, actor, str(to), str(before), note)
    session.flush()
    return hazard


def _dispatch(session: Session, hazard: m.Hazard, assignee_id: int | None) -> None:
    if assignee_id is None:
        if hazard.grid_id is None:
            raise InvalidInput("a hazard in no grid needs assignee_id to be dispatched")
        row = session.execute(
            text(
                "SELECT min(worker_id) FILTER (WHERE role = 'A'),"
                " min(worker_id) FILTER (WHERE role = 'B') FROM assignment"
                " WHERE grid_id = :g AND valid_from <= CURRENT_DATE"
                " AND (valid_to IS NULL OR valid_to > CURRENT_DATE)"
            ),
            {"g": hazard.grid_id},
        ).one()
        if row[0] is None:
            raise Conflict("the grid has no A worker; give assignee_id")
        hazard.assignee_id, hazard.backup_id = row
        return
    worker = session.get(m.Worker, assignee_id)
    if worker is None or worker.community_id != hazard.community_id:
        raise InvalidInput(f"worker {assignee_id} is not a worker of the hazard's community")
    hazard.assignee_id = assignee_id


def merge(
    session: Session,
    hazard_id: int,
    into: int,
    actor: str,
    if_match: str | None,
    note: str | None,
    scope: Scope = EVERYWHERE,
) -> m.Hazard:
    """Mark ``hazard_id`` a duplicate of ``into``; both keep their histories. Both must be
    inside ``scope``."""
    if hazard_id == into:
        raise InvalidInput("a hazard cannot duplicate itself")
    first, second = sorted((hazard_id, into))
    load(session, first, for_update=True, scope=scope)
    load(session, second, for_update=True, scope=scope)
    hazard, original = load(session, hazard_id), load(session, into)
    check_version(hazard, if_match)
    if original.state == m.HazardState.DUPLICATE:
        raise Conflict(f"hazard {into} is itself a duplicate of {original.duplicate_of_id}")
    before = hazard.state
    check_transition(before, m.HazardState.DUPLICATE)
    hazard.state = m.HazardState.DUPLICATE
    hazard.duplicate_of_id = into
    hazard.closed_at = session.scalar(select(func.now()))
    hazard.version += 1
    original.version += 1
    session.flush()
    _event(session, hazard, actor, "duplicate", str(before), note or f"duplicate of #{into}")
    _event(session, original, actor, "merged", str(original.state), f"absorbed #{hazard_id}")
    session.flush()
    return hazard


# --- reading -------------------------------------------------------------------------------


HAZARD_COLUMNS = (
    "id", "kind", "category", "severity", "description", "origin", "reporter",
    "reporter_contact", "state",
    "grid_id", "compound_id", "building_id", "floor", "assignee_id", "backup_id", "blind_zone",
    "rectified_by", "duplicate_of_id", "reported_at", "deadline", "closed_at", "version",
)  # fmt: skip


def _view_query() -> Select:
    """Plain columns (no ORM objects, no WKB parsing): lists of 20,000 stay fast."""
    assignee, backup = ASSIGNEE, BACKUP
    return (
        select(
            *(getattr(m.Hazard, name) for name in HAZARD_COLUMNS),
            func.ST_X(m.Hazard.geom).label("lon"),
            func.ST_Y(m.Hazard.geom).label("lat"),
            m.Community.code.label("community"),
            m.Grid.code.label("grid"),
            m.Compound.name.label("compound"),
            assignee.name.label("assignee"),
            backup.name.label("backup"),
            m.HazardCategory.name_zh.label("category_zh"),
            func.now().label("now"),
        )
        .join(m.Community, m.Community.id == m.Hazard.community_id)
        .join(m.HazardCategory, m.HazardCategory.code == m.Hazard.category)
        .outerjoin(m.Grid, m.Grid.id == m.Hazard.grid_id)
        .outerjoin(m.Compound, m.Compound.id == m.Hazard.compound_id)
        .outerjoin(assignee, assignee.id == m.Hazard.assignee_id)
        .outerjoin(backup, backup.id == m.Hazard.backup_id)
    )


VIEW = _view_query()
"""Built once (a statement is immutable: each reader adds its conditions to a copy)."""
_BY_ID = VIEW.where(m.Hazard.id == bindparam("hazard_id"))


def to_feature(r: dict[str, Any]) -> dict[str, Any]:
    """The GeoJSON Feature of one row of ``_view_query`` (as a dict by column label; overdue
    is judged at the row's ``now``, the transaction's time)."""
    state = m.HazardState(r["state"])
    return {
        "type": "Feature",
        "id": r["id"],
        "geometry": {"type": "Point", "coordinates": [r["lon"], r["lat"]]},
        "properties": {
            "id": r["id"],
            "kind": str(r["kind"]),
            "category": r["category"],
            "category_zh": r["category_zh"],
            "severity": str(r["severity"]),
            "description": r["description"],
            "origin": str(r["origin"]),
            "reporter": r["reporter"],
            "reporter_contact": r["reporter_contact"],
            "state": str(state),
            "community": r["community"],
            "grid_id": r["grid_id"],
            "grid": r["grid"],
            "compound_id": r["compound_id"],
            "compound": r["compound"],
            "building_id": r["building_id"],
            "floor": r["floor"],
            "assignee": {"id": r["assignee_id"], "name": r["assignee"]} if r["assignee"] else None,
            "backup": {"id": r["backup_id"], "name": r["backup"]} if r["backup"] else None,
            "blind_zone": r["blind_zone"],
            "unrouted": state == m.HazardState.REPORTED and r["assignee_id"] is None,
            "rectified_by": r["rectified_by"],
            "duplicate_of": r["duplicate_of_id"],
            "reported_at": r["reported_at"].isoformat(),
            "deadline": r["deadline"].isoformat(),
            "overdue": state in OPEN and r["deadline"] < r["now"],
            "closed_at": r["closed_at"].isoformat() if r["closed_at"] else None,
            "version": r["version"],
        },
    }


def get(session: Session, hazard_id: int, scope: Scope = EVERYWHERE) -> dict[str, Any]:
    """One hazard as a Feature; NotFound when missing or outside ``scope`` (the same answer)."""
    conditions = in_scope(scope)
    if conditions:
        rows = _rows(session, VIEW.where(m.Hazard.id == hazard_id, *conditions))
    else:  # a statement made once keeps its cache key: no rebuilding on every report
        rows = _rows(session, _BY_ID, {"hazard_id": hazard_id})
    if not rows:
        raise NotFound(f"hazard {hazard_id} not found")
    return to_feature(rows[0])


def _rows(
    session: Session, query: Select, params: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Rows as dicts, through the Core connection (no ORM row processing)."""
    result = session.connection().execute(query, params)
    keys = list(result.keys())
    return [dict(zip(keys, row, strict=True)) for row in result]


@dataclass(frozen=True)
class Filters:
    """Query filters of the hazard list; all optional. ``scope`` is the reader's area."""

    community: str | None = None
    grid_id: int | None = None
    compound_id: int | None = None
    category: str | None = None
    state: str | None = None
    kind: str | None = None
    since: dt.date | None = None
    until: dt.date | None = None
    bbox: tuple[float, float, float, float] | None = None
    near: tuple[float, float] | None = None
    radius_m: float | None = None
    overdue: bool = False
    unrouted: bool = False
    scope: Scope = EVERYWHERE


def _conditions(f: Filters) -> list[ColumnElement[bool]]:
    """The WHERE conditions of ``f`` on the hazard table (joined to its community)."""
    conditions = in_scope(f.scope)
    if f.community is not None:
        conditions.append(m.Community.code == f.community)
    if f.grid_id is not None:
        conditions.append(m.Hazard.grid_id == f.grid_id)
    if f.compound_id is not None:
        conditions.append(m.Hazard.compound_id == f.compound_id)
    if f.category is not None:
        conditions.append(m.Hazard.category == f.category)
    if f.state is not None:
        conditions.append(m.Hazard.state == f.state)
    if f.kind is not None:
        conditions.append(m.Hazard.kind == f.kind)
    if f.since is not None:
        conditions.append(m.Hazard.reported_at >= f.since)
    if f.until is not None and f.until < dt.date.max:  # no day after the last one
        conditions.append(m.Hazard.reported_at < f.until + dt.timedelta(days=1))
    if f.bbox is not None:
        conditions.append(func.ST_Intersects(m.Hazard.geom, func.ST_MakeEnvelope(*f.bbox, 4326)))
    if (f.near is None) != (f.radius_m is None):
        raise InvalidInput("near and radius_m go together")
    if f.near is not None:
        centre = func.ST_SetSRID(func.ST_MakePoint(*f.near), 4326)
        conditions.append(
            func.ST_DWithin(func.Geography(m.Hazard.geom), func.Geography(centre), f.radius_m)
        )
    if f.overdue:
        conditions.append(_OVERDUE)
    if f.unrouted:
        conditions.append(_UNROUTED)
    return conditions


_OVERDUE = and_(m.Hazard.state.in_([str(s) for s in OPEN]), m.Hazard.deadline < func.now())
_UNROUTED = and_(m.Hazard.state == m.HazardState.REPORTED, m.Hazard.assignee_id.is_(None))
"""What ``overdue`` and ``unrouted`` of ``to_feature`` mean, as SQL."""


def query(
    session: Session, filters: Filters, limit: int | None = 100, offset: int = 0
) -> tuple[list[dict[str, Any]], int]:
    """Hazards matching the filters, newest first, and how many match in all."""
    q = VIEW.where(*_conditions(filters))
    total = session.scalar(select(func.count()).select_from(q.subquery())) or 0
    rows = _rows(
        session,
        q.order_by(m.Hazard.reported_at.desc(), m.Hazard.id.desc()).limit(limit).offset(offset),
    )
    return [to_feature(row) for row in rows], total


def counts(session: Session, filters: Filters) -> list[dict[str, Any]]:
    """The hazards matching the filters counted by category and state: rows of ``category``,
    ``category_zh``, ``state``, ``count`` and whether any of them is ``unrouted`` or
    ``overdue`` (as in ``to_feature``). What a map legend needs, without the hazards."""
    grouped = (
        select(
            m.Hazard.category,
            m.HazardCategory.name_zh.label("category_zh"),
            m.Hazard.state,
            func.count().label("count"),
            func.bool_or(_UNROUTED).label("unrouted"),
            func.bool_or(_OVERDUE).label("overdue"),
        )
        .join(m.Community, m.Community.id == m.Hazard.community_id)
        .join(m.HazardCategory, m.HazardCategory.code == m.Hazard.category)
        .where(*_conditions(filters))
        .group_by(m.Hazard.category, m.HazardCategory.name_zh, m.Hazard.state)
        .order_by(m.Hazard.category, m.Hazard.state)
    )
    return [{**row, "state": str(row["state"])} for row in _rows(session, grouped)]


def events(session: Session, hazard_id: int, scope: Scope = EVERYWHERE) -> list[dict[str, Any]]:
    """The hazard's history, with that of the duplicates merged into it, oldest first (all
    inside ``scope``)."""
    load(session, hazard_id, scope=scope)
    merged = select(m.Hazard.id).where(m.Hazard.duplicate_of_id == hazard_id, *in_scope(scope))
    rows = session.scalars(
        select(m.HazardEvent)
        .where(or_(m.HazardEvent.hazard_id == hazard_id, m.HazardEvent.hazard_id.in_(merged)))
        .order_by(m.HazardEvent.at, m.HazardEvent.id)
    )
    return [
        {
            "id": e.id,
            "hazard_id": e.hazard_id,
            "at": e.at.isoformat(),
            "actor": e.actor,
            "action": e.action,
            "from": e.from_state,
            "to": e.to_state,
            "note": e.note,
        }
        for e in rows
    ]
