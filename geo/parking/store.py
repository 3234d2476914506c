"""Parking layouts as versions in PostGIS: save, read back (as JSON or in metres), change
status, compare two versions, and the community-wide summary.

A compound's versions are numbered 1, 2, ...; each is ``draft``, then ``approved``, then
``painted`` (an approved layout may go back to draft). The summary takes, per compound, the
newest painted layout, else the newest approved, else the newest draft. Given the account
changing a layout (``by``; None for reads and the CLI), a compound whose community is outside its
scope is not found, like a missing one.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import shapely
from geoalchemy2.shape import from_shape, to_shape
from shapely.geometry import MultiLineString, MultiPolygon, Polygon, mapping
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from geo import models as m
from geo.accounts import Principal
from geo.errors import Conflict, NotFound
from geo.parking.check import Violation, check
from geo.parking.generate import totals
from geo.parking.inputs import Loaded, site_from_db
from geo.parking.model import Bay, BayKind, Layout, ParkingParams, Stall, StallKind

STATUS_NEXT = {
    m.LayoutStatus.DRAFT: {m.LayoutStatus.APPROVED},
    m.LayoutStatus.APPROVED: {m.LayoutStatus.PAINTED, m.LayoutStatus.DRAFT},
    m.LayoutStatus.PAINTED: set(),
}
MATCH_M = 0.5
"""Stalls of two versions are the same when of one kind with centroids this close."""


def _multiline(lines: list) -> MultiLineString | None:
    return MultiLineString([list(line.coords) for line in lines]) if lines else None


def save(
    session: Session,
    compound_id: int,
    layout: Layout,
    loaded: Loaded,
    params: ParkingParams,
    *,
    origin: str,
    note: str | None = None,
) -> m.ParkingLayout:
    """Store ``layout`` (metres) as the compound's next version, a draft."""
    wgs = loaded.projection.to_wgs84
    version = (
        session.scalar(
            select(func.max(m.ParkingLayout.version)).where(
                m.ParkingLayout.compound_id == compound_id
            )
        )
        or 0
    ) + 1
    aisles = [wgs(a) for a in layout.aisles]
    row = m.ParkingLayout(
        compound_id=compound_id,
        version=version,
        status=m.LayoutStatus.DRAFT,
        origin=origin,
        params=params.model_dump(mode="json"),
        totals=totals(layout, loaded.site, params),
        note=note,
        aisles=from_shape(MultiPolygon(aisles), srid=4326) if aisles else None,
    )
    session.add(row)
    session.flush()
    session.add_all(
        m.ParkingStall(
            layout_id=row.id,
            number=s.number,
            kind=s.kind.value,
            angle=s.angle,
            accessible=s.accessible,
            source=s.source,
            geom=from_shape(wgs(s.polygon), srid=4326),
            lines=from_shape(wgs(_multiline(s.lines)), srid=4326) if s.lines else None,
            front=from_shape(wgs(s.front), srid=4326) if s.front is not None else None,
        )
        for s in layout.stalls
    )
    session.add_all(
        m.ParkingBay(
            layout_id=row.id,
            number=b.number,
            kind=b.kind.value,
            capacity=b.capacity,
            geom=from_shape(wgs(b.polygon), srid=4326),
            lines=from_shape(wgs(_multiline(b.lines)), srid=4326) if b.lines else None,
        )
        for b in layout.bays
    )
    session.flush()
    return row


def in_scope(session: Session, compound_id: int, by: Principal) -> bool:
    """Whether compound ``compound_id`` exists within ``by``'s scope."""
    communities = by.scope.community_ids(session)
    community = session.scalar(select(m.Compound.community_id).where(m.Compound.id == compound_id))
    return community is not None and (communities is None or community in communities)


def get_row(
    session: Session, compound_id: int, version: int, by: Principal | None = None
) -> m.ParkingLayout:
    """Version ``version`` of the compound's layout (not found outside ``by``'s scope)."""
    row = session.scalar(
        select(m.ParkingLayout).where(
            m.ParkingLayout.compound_id == compound_id, m.ParkingLayout.version == version
        )
    )
    if row is None or (by is not None and not in_scope(session, compound_id, by)):
        raise NotFound(f"compound {compound_id} has no parking layout version {version}")
    return row


def load(session: Session, row: m.ParkingLayout) -> tuple[Layout, Loaded, ParkingParams]:
    """A stored layout back in metres, with its compound's site as it is now."""
    loaded = site_from_db(session, row.compound_id)
    metric = loaded.projection.to_metric
    stalls = [
        Stall(
            number=s.number,
            kind=StallKind(s.kind),
            polygon=metric(to_shape(s.geom)),
            lines=list(metric(to_shape(s.lines)).geoms) if s.lines is not None else [],
            angle=s.angle,
            accessible=s.accessible,
            source=s.source,
            front=metric(to_shape(s.front)) if s.front is not None else None,
        )
        for s in session.scalars(
            select(m.ParkingStall)
            .where(m.ParkingStall.layout_id == row.id)
            .order_by(m.ParkingStall.number)
        )
    ]
    bays = [
        Bay(
            number=b.number,
            kind=BayKind(b.kind),
            polygon=metric(to_shape(b.geom)),
            capacity=b.capacity,
            lines=list(metric(to_shape(b.lines)).geoms) if b.lines is not None else [],
        )
        for b in session.scalars(
            select(m.ParkingBay)
            .where(m.ParkingBay.layout_id == row.id)
            .order_by(m.ParkingBay.number)
        )
    ]
    aisles: list[Polygon] = []
    if row.aisles is not None:
        aisles = list(metric(to_shape(row.aisles)).geoms)
    return Layout(stalls, bays, aisles), loaded, ParkingParams.model_validate(row.params)


def violation_dicts(violations: list[Violation], loaded: Loaded) -> list[dict[str, Any]]:
    return [
        {
            "stall": v.stall,
            "rule": v.rule,
            "message": v.message,
            "geometry": mapping(loaded.projection.to_wgs84(v.geometry)),
        }
        for v in violations
    ]


def _collection(features: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": features}


def summary_dict(session: Session, row: m.ParkingLayout) -> dict[str, Any]:
    compound = session.get(m.Compound, row.compound_id)
    return {
        "id": row.id,
        "compound": {"id": row.compound_id, "name": compound.name if compound else None},
        "version": row.version,
        "status": str(row.status),
        "origin": row.origin,
        "created_at": row.created_at.isoformat() if row.created_at else None,
        "note": row.note,
        "totals": row.totals,
    }


def layout_json(layout: Layout, loaded: Loaded, params: ParkingParams) -> dict[str, Any]:
    """Stalls, bays, aisles and violations of a layout (metres) as GeoJSON (WGS84)."""
    wgs = loaded.projection.to_wgs84

    def feature(geom: Any, props: dict[str, Any], fid: int | None = None) -> dict[str, Any]:
        return {"type": "Feature", "id": fid, "geometry": mapping(wgs(geom)), "properties": props}

    def lines(items: list) -> dict | None:
        return mapping(wgs(_multiline(items))) if items else None

    stalls = [
        feature(
            s.polygon,
            {
                "number": s.number,
                "kind": s.kind.value,
                "angle": s.angle,
                "accessible": s.accessible,
                "source": s.source,
                "lines": lines(s.lines),
            },
            s.number,
        )
        for s in layout.stalls
    ]
    bays = [
        feature(
            b.polygon,
            {
                "number": b.number,
                "kind": b.kind.value,
                "capacity": b.capacity,
                "lines": lines(b.lines),
            },
            b.number,
        )
        for b in layout.bays
    ]
    violations = check(loaded.site, layout.stalls, params, aisles=layout.aisles)
    return {
        "totals": totals(layout, loaded.site, params),
        "stalls": _collection(stalls),
        "bays": _collection(bays),
        "aisles": _collection([feature(a, {}) for a in layout.aisles]),
        "violations": violation_dicts(violations, loaded),
    }


def layout_dict(session: Session, row: m.ParkingLayout) -> dict[str, Any]:
    """A stored layout as JSON (WGS84), checked against the compound as it is now; ``totals``
    are those stored with the version."""
    layout, loaded, params = load(session, row)
    body = layout_json(layout, loaded, params)
    return {**body, **summary_dict(session, row), "params": row.params}


def list_rows(session: Session, compound_id: int) -> list[m.ParkingLayout]:
    if session.get(m.Compound, compound_id) is None:
        raise NotFound(f"compound {compound_id} not found")
    return list(
        session.scalars(
            select(m.ParkingLayout)
            .where(m.ParkingLayout.compound_id == compound_id)
            .order_by(m.ParkingLayout.version)
        )
    )


def set_status(
    session: Session, row: m.ParkingLayout, status: str, note: str | None = None
) -> None:
    target = m.LayoutStatus(status)
    if target != row.status and target not in STATUS_NEXT[row.status]:
        allowed = ", ".join(sorted(STATUS_NEXT[row.status])) or "none: it is final"
        raise Conflict(f"a {row.status} layout cannot become {target}; allowed: {allowed}")
    row.status = target
    if note is not None:
        row.note = note
    session.flush()


def _centroids(session: Session, row: m.ParkingLayout) -> list[tuple[int, str, Any]]:
    rows = session.execute(
        select(m.ParkingStall.number, m.ParkingStall.kind, m.ParkingStall.geom).where(
            m.ParkingStall.layout_id == row.id
        )
    ).all()
    return [(n, kind, to_shape(geom)) for n, kind, geom in rows]


def compare(session: Session, a: m.ParkingLayout, b: m.ParkingLayout) -> dict[str, Any]:
    """Stalls removed (in ``a`` only) and added (in ``b`` only), kept, and totals changes."""
    loaded = site_from_db(session, a.compound_id)
    metric = loaded.projection.to_metric
    before = [(n, k, metric(g).centroid) for n, k, g in _centroids(session, a)]
    after = [(n, k, metric(g).centroid) for n, k, g in _centroids(session, b)]
    tree = shapely.STRtree([c for _, _, c in after]) if after else None
    matched: dict[int, int] = {}
    taken: set[int] = set()
    for n, kind, c in before:
        if tree is None:
            break
        for j in sorted(
            tree.query(c, predicate="dwithin", distance=MATCH_M).tolist(),
            key=lambda j: after[j][2].distance(c),
        ):
            if j not in taken and after[j][1] == kind:
                matched[n] = after[j][0]
                taken.add(j)
                break
    removed = sorted(n for n, _, _ in before if n not in matched)
    added = sorted(after[j][0] for j in range(len(after)) if j not in taken)
    keys = ("stalls", "accessible", "bays", "nonmotor_capacity", "painted_m", "nonmotor_lines_m")
    change = {k: round((b.totals.get(k) or 0) - (a.totals.get(k) or 0), 1) for k in keys}
    kinds = {
        k: b.totals["by_kind"].get(k, 0) - a.totals["by_kind"].get(k, 0)
        for k in b.totals["by_kind"]
    }
    return {
        "compound": a.compound_id,
        "before": summary_dict(session, a),
        "after": summary_dict(session, b),
        "removed": removed,
        "added": added,
        "kept": len(matched),
        "change": {**change, "by_kind": kinds},
    }


SUMMARY_SQL = """
SELECT DISTINCT ON (l.compound_id) l.id
FROM parking_layout l JOIN compound c ON c.id = l.compound_id
WHERE c.community_id = :community
ORDER BY l.compound_id,
         CASE l.status WHEN 'painted' THEN 0 WHEN 'approved' THEN 1 ELSE 2 END, l.version DESC
"""


def community_summary(session: Session, code: str) -> dict[str, Any]:
    """Per compound its current layout (painted, else approved, else newest draft), and the
    community's totals: compounds, car spaces, non-motor lines and capacity."""
    community = session.scalar(select(m.Community).where(m.Community.code == code))
    if community is None:
        raise NotFound(f"community {code!r} not found")
    ids = session.execute(text(SUMMARY_SQL), {"community": community.id}).scalars()
    rows = [session.get(m.ParkingLayout, i) for i in ids]
    layouts = [summary_dict(session, r) for r in rows if r is not None]
    total = {
        "compounds": len(layouts),
        "stalls": sum(x["totals"]["stalls"] for x in layouts),
        "accessible": sum(x["totals"]["accessible"] for x in layouts),
        "nonmotor_lines_m": round(sum(x["totals"]["nonmotor_lines_m"] for x in layouts), 1),
        "nonmotor_capacity": sum(x["totals"]["nonmotor_capacity"] for x in layouts),
        "painted_m": round(sum(x["totals"]["painted_m"] for x in layouts), 1),
        "by_status": {
            s.value: sum(1 for x in layouts if x["status"] == s.value) for s in m.LayoutStatus
        },
    }
    return {"community": code, "as_of": dt.date.today().isoformat(), **total, "layouts": layouts}
