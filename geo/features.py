"""Create, read, update and delete features of any layer, as RFC 7946 GeoJSON.

Writes go through :func:`prepare` (per-feature checks, collecting every problem) and
:func:`insert` / :func:`update` (set-based checks in PostGIS: codes, parents, containment).
Callers run them inside one transaction, so a refused batch leaves nothing behind.

Given the signed-in ``principal``, writes keep to its area (see :mod:`geo.layers`): a stored
feature outside it is missing (NotFound, as for an unknown id), a new version outside it is
refused (:class:`OutsideArea`, naming every such feature). Without one (the CLI, the demo
loader) nothing is restricted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from geoalchemy2.shape import from_shape, to_shape
from pydantic import ValidationError
from shapely.geometry import MultiPoint, Point, mapping
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Select, func, select, text
from sqlalchemy import update as sql_update
from sqlalchemy.orm import Session

from geo import models as m
from geo.accounts import Principal
from geo.db import get_settings
from geo.errors import (
    Conflict,
    FeatureProblem,
    FeaturesRejected,
    Forbidden,
    InvalidInput,
    NotFound,
)
from geo.layers import COMPOUND_MEMBERS, Layer, Properties, in_area, outside_area, plain
from geo.validate import check_lonlat, finish, parse_geometry

POINT_PROPERTIES: dict[str, Callable[[Any], BaseGeometry]] = {
    "entrances": MultiPoint,
    "office": Point,
}
"""Properties holding points of a feature, stored in geometry columns of the same name."""

Transform = Callable[[BaseGeometry], BaseGeometry]


class OutsideArea(Forbidden, FeaturesRejected):
    """Features the account may not write where they are (403, each named; nothing written)."""


@dataclass
class Candidate:
    """A feature that passed the per-feature checks, ready to be written."""

    index: int
    label: str
    properties: Properties
    geom: BaseGeometry
    extras: dict[str, Any] = field(default_factory=dict)


# --- reading -------------------------------------------------------------------------------


def _parent_code(layer: Layer) -> Any:
    parent = layer.parent_model
    return parent.code if parent is not None else None


def _select(layer: Layer) -> Select:
    model, parent = layer.model, layer.parent_model
    if parent is None:
        return select(model, text("NULL"))
    return select(model, parent.code).join(parent, getattr(model, layer.parent_column) == parent.id)


def to_feature(layer: Layer, obj: Any, parent_code: str | None = None) -> dict[str, Any]:
    """The GeoJSON Feature of a stored row."""
    props: dict[str, Any] = {"id": obj.id}
    props.update({name: plain(getattr(obj, name)) for name in layer.fields})
    if layer.parent:
        props[layer.parent] = parent_code
    if isinstance(obj, m.Grid | m.GridVersion):
        props["valid_from"] = plain(obj.valid_from)
        props["valid_to"] = plain(obj.valid_to)
    if isinstance(obj, m.Building):
        entrances = to_shape(obj.entrances) if obj.entrances is not None else None
        props["entrances"] = [[p.x, p.y] for p in entrances.geoms] if entrances else []
    if isinstance(obj, m.Community):
        office = to_shape(obj.office) if obj.office is not None else None
        props["office"] = [office.x, office.y] if office else None
    if layer.name in COMPOUND_MEMBERS:
        props["compound_id"] = obj.compound_id
    return {
        "type": "Feature",
        "id": getattr(obj, "grid_id", obj.id),
        "geometry": mapping(to_shape(obj.geom)),
        "properties": props,
    }


def get_feature(session: Session, layer: Layer, feature_id: int) -> dict[str, Any]:
    row = session.execute(_select(layer).where(layer.model.id == feature_id)).first()
    if row is None:
        raise NotFound(f"{layer.name} {feature_id} not found")
    return to_feature(layer, row[0], row[1])


@dataclass(frozen=True)
class Page:
    features: list[dict[str, Any]]
    matched: int


def list_features(
    session: Session,
    layer: Layer,
    *,
    parent: str | None = None,
    bbox: Sequence[float] | None = None,
    code: str | None = None,
    limit: int | None = 100,
    offset: int = 0,
) -> Page:
    """Current features of a layer, optionally of one parent (by code), with one code, in a
    lon/lat box."""
    query = _select(layer)
    if code is not None:
        if "code" not in layer.fields:
            raise InvalidInput(f"{layer.name} have no code")
        query = query.where(layer.model.code == code)
    if parent is not None:
        if layer.parent_model is None:
            raise InvalidInput(f"{layer.name} have no parent to filter by")
        query = query.where(_parent_code(layer) == parent)
    if bbox is not None:
        query = query.where(func.ST_Intersects(layer.model.geom, func.ST_MakeEnvelope(*bbox, 4326)))
    if layer.model is m.Grid:
        query = query.where(m.Grid.valid_to.is_(None))
    matched = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.execute(query.order_by(layer.model.id).limit(limit).offset(offset))
    return Page([to_feature(layer, obj, code) for obj, code in rows], matched or 0)


def community_in_area(session: Session, code: str, principal: Principal) -> int:
    """The id of community ``code``; NotFound when missing or outside ``principal``'s area."""
    found = session.scalar(select(m.Community.id).where(m.Community.code == code))
    if found is None or not principal.scope.covers(found, None):
        raise NotFound(f"community {code!r} not found")
    return found


def grids_as_of(session: Session, layer: Layer, community: str, day: dt.date) -> list[dict]:
    """The grids of a community as they were on ``day`` (current rows and past versions)."""
    current = session.execute(
        _select(layer).where(
            m.Community.code == community,
            m.Grid.valid_from <= day,
            (m.Grid.valid_to.is_(None)) | (m.Grid.valid_to > day),
        )
    ).all()
    past = session.execute(
        select(m.GridVersion, m.Community.code)
        .join(m.Grid, m.Grid.id == m.GridVersion.grid_id)
        .join(m.Community, m.Community.id == m.Grid.community_id)
        .where(m.Community.code == community, m.GridVersion.valid_from <= day)
        .where(m.GridVersion.valid_to > day)
    ).all()
    features = [to_feature(layer, obj, code) for obj, code in [*current, *past]]
    return sorted(features, key=lambda f: f["properties"]["code"])


def grid_history(session: Session, layer: Layer, grid_id: int) -> list[dict]:
    """Every version of a grid, oldest first, the current one last."""
    current = get_feature(session, layer, grid_id)
    versions = session.scalars(
        select(m.GridVersion).where(m.GridVersion.grid_id == grid_id).order_by(m.GridVersion.id)
    )
    code = current["properties"]["community"]
    return [*(to_feature(layer, v, code) for v in versions), current]


# --- per-feature checks --------------------------------------------------------------------


def prepare(
    layer: Layer,
    features: Iterable[Any],
    *,
    transform: Transform | None = None,
    service_area: Sequence[float] | None = None,
) -> list[Candidate]:
    """Check every feature; raise FeaturesRejected naming each bad one, else the candidates."""
    candidates: list[Candidate] = []
    problems: list[FeatureProblem] = []
    for index, feature in enumerate(features):
        try:
            candidates.append(_prepare_one(layer, feature, index, transform, service_area))
        except InvalidInput as exc:
            problems.append(FeatureProblem(index, _label(layer, feature), str(exc)))
    if problems:
        raise FeaturesRejected(problems)
    return candidates


def _label(layer: Layer, feature: Any) -> str:
    if not isinstance(feature, dict):
        return ""
    props = feature.get("properties") or {}
    value = props.get(layer.label) if isinstance(props, dict) else None
    if value is None:
        value = feature.get("id")
    return "" if value is None else str(value)


def _prepare_one(
    layer: Layer,
    feature: Any,
    index: int,
    transform: Transform | None,
    service_area: Sequence[float] | None,
) -> Candidate:
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        raise InvalidInput("not a GeoJSON Feature")
    raw = feature.get("properties")
    if raw is not None and not isinstance(raw, dict):
        raise InvalidInput("properties must be an object")
    try:
        props = layer.properties.model_validate(raw or {})
    except ValidationError as exc:
        raise InvalidInput(_describe(exc)) from None
    geom = parse_geometry(feature.get("geometry"))
    if transform is not None:
        geom = transform(geom)
    check_lonlat(geom, service_area)
    geom = finish(geom, layer.geometry_type)
    if layer.model is m.SiteFeature:
        _check_site_feature_kind(props.kind, geom)
    extras: dict[str, Any] = {}
    for name, build in POINT_PROPERTIES.items():
        value = getattr(props, name, None)
        if not value:
            continue
        points = build(value)
        if transform is not None:
            points = transform(points)
        try:
            check_lonlat(points, service_area)
        except InvalidInput as exc:
            raise InvalidInput(f"{name}: {exc}") from None
        extras[name] = points
    return Candidate(index, _label(layer, feature), props, geom, extras)


def _check_site_feature_kind(kind: str, geom: BaseGeometry) -> None:
    wants_point = kind in m.POINT_SITE_FEATURES
    if wants_point and geom.geom_type != "Point":
        raise InvalidInput(f"a {kind} is a Point, got {geom.geom_type}")
    if not wants_point and geom.geom_type != "Polygon":
        raise InvalidInput(f"a {kind} is a Polygon, got {geom.geom_type}")


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "properties"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


# --- writing -------------------------------------------------------------------------------


def insert(
    session: Session,
    layer: Layer,
    candidates: Sequence[Candidate],
    *,
    parent: str | None = None,
    principal: Principal | None = None,
) -> list[int]:
    """Insert checked candidates; ``parent`` is the parent's code unless a feature names one.
    Any candidate outside ``principal``'s area refuses them all (OutsideArea)."""
    parents = _resolve_parents(session, layer, candidates, parent)
    if principal is not None:
        _check_area(layer, candidates, parents, parent, principal)
    _check_unique(session, layer, candidates, parents)
    rows = [_new_row(layer, c, parents.get(c.index)) for c in candidates]
    session.add_all(rows)
    session.flush()
    ids = [row.id for row in rows]
    _check_contained(session, layer, dict(zip(ids, candidates, strict=True)))
    _link_compounds(session, layer, ids)
    return ids


def _resolve_parents(
    session: Session, layer: Layer, candidates: Sequence[Candidate], default: str | None
) -> dict[int, int]:
    parent = layer.parent_model
    if parent is None:
        return {}
    wanted = {c.index: getattr(c.properties, layer.parent) or default for c in candidates}
    codes = {code for code in wanted.values() if code}
    found = dict(
        session.execute(select(parent.code, parent.id).where(parent.code.in_(codes))).all()
    )
    problems = []
    for c in candidates:
        code = wanted[c.index]
        if not code:
            problems.append(FeatureProblem(c.index, c.label, f"no {layer.parent} given"))
        elif code not in found:
            problems.append(FeatureProblem(c.index, c.label, f"{layer.parent} {code!r} not found"))
    if problems:
        raise FeaturesRejected(problems)
    return {index: found[code] for index, code in wanted.items()}


def _check_area(
    layer: Layer,
    candidates: Sequence[Candidate],
    parents: dict[int, int],
    default: str | None,
    principal: Principal,
) -> None:
    """OutsideArea naming each candidate whose parent (``default`` unless the feature names
    one) is outside ``principal``'s area."""
    problems = []
    for c in candidates:
        if not in_area(principal, layer, parents.get(c.index)):
            code = getattr(c.properties, layer.parent) or default
            reason = outside_area(principal, f"{layer.parent} {code!r}")
            problems.append(FeatureProblem(c.index, c.label, reason))
    if problems:
        raise OutsideArea(problems)


def _unique_key(layer: Layer, candidate: Candidate, parent_id: int | None) -> tuple | None:
    if layer.model is m.Grid:
        return (parent_id, candidate.properties.code)
    if "code" in layer.fields:
        return (candidate.properties.code,)
    return None


def _check_unique(
    session: Session,
    layer: Layer,
    candidates: Sequence[Candidate],
    parents: dict[int, int],
    exclude_id: int | None = None,
) -> None:
    keys = {c.index: _unique_key(layer, c, parents.get(c.index)) for c in candidates}
    if not any(keys.values()):
        return
    model = layer.model
    query = select(model.id, model.code)
    if model is m.Grid:
        query = query.add_columns(model.community_id).where(model.valid_to.is_(None))
        query = query.where(model.community_id.in_({k[0] for k in keys.values()}))
    query = query.where(model.code.in_({k[-1] for k in keys.values()}))
    if exclude_id is not None:
        query = query.where(model.id != exclude_id)
    taken = {(*row[2:], row[1]) for row in session.execute(query)}
    seen: dict[tuple, int] = {}
    problems = []
    for c in candidates:
        key = keys[c.index]
        where = " in this community" if model is m.Grid else ""
        if key in taken:
            problems.append(FeatureProblem(c.index, c.label, f"code {key[-1]!r} exists{where}"))
        elif key in seen:
            reason = f"code {key[-1]!r} repeats feature {seen[key]}"
            problems.append(FeatureProblem(c.index, c.label, reason))
        seen.setdefault(key, c.index)
    if problems:
        raise FeaturesRejected(problems)


def _new_row(layer: Layer, candidate: Candidate, parent_id: int | None) -> m.Base:
    values = {name: getattr(candidate.properties, name) for name in layer.fields}
    if layer.parent_column:
        values[layer.parent_column] = parent_id
    row = layer.model(**values, geom=from_shape(candidate.geom, srid=4326))
    for name, points in candidate.extras.items():
        setattr(row, name, from_shape(points, srid=4326))
    return row


CONTAINMENT_SQL = """
SELECT f.id, ST_Area(ST_Difference(f.geom, p.geom)::geography) AS outside_m2
FROM {table} f JOIN {parent} p ON p.id = f.{parent}_id
WHERE f.id = ANY(:ids) AND NOT ST_CoveredBy(f.geom, p.geom)
"""
ROAD_REACH_SQL = """
SELECT f.id, 0.0 FROM road f JOIN community p ON p.id = f.community_id
WHERE f.id = ANY(:ids) AND NOT ST_Intersects(f.geom, p.geom)
"""


def _check_contained(session: Session, layer: Layer, written: dict[int, Candidate]) -> None:
    """Features must lie in their parent (roads need only reach their community)."""
    if layer.parent is None:
        return
    tolerance = get_settings().containment_tolerance_m2
    table = layer.model.__tablename__
    sql = (
        ROAD_REACH_SQL
        if layer.model is m.Road
        else CONTAINMENT_SQL.format(table=table, parent=layer.parent)
    )
    problems = []
    for feature_id, outside in session.execute(text(sql), {"ids": list(written)}):
        candidate = written[feature_id]
        polygonal = candidate.geom.geom_type.endswith("Polygon")
        if polygonal and outside <= tolerance:
            continue
        detail = f" ({outside:.1f} m² outside)" if polygonal else ""
        reason = f"outside its {layer.parent}{detail}"
        if layer.model is m.Grid:
            reason = f"grid outside its community{detail}"
        problems.append(FeatureProblem(candidate.index, candidate.label, reason))
    if problems:
        raise FeaturesRejected(sorted(problems, key=lambda p: p.index))


LINK_SQL = """
UPDATE {table} f SET compound_id = (
    SELECT c.id FROM compound c
    WHERE c.community_id = f.community_id AND ST_Covers(c.geom, {anchor})
    ORDER BY c.id LIMIT 1)
WHERE {where}
"""
ANCHORS = {
    "building": "ST_PointOnSurface(f.geom)",
    "road": "ST_LineInterpolatePoint(f.geom, 0.5)",
    "site_feature": "ST_PointOnSurface(f.geom)",
}


def _link_compounds(session: Session, layer: Layer, ids: list[int]) -> None:
    """Set compound_id of new members, or of unlinked members after compounds were added."""
    if layer.model is m.Compound:
        communities = session.scalars(
            select(m.Compound.community_id).where(m.Compound.id.in_(ids)).distinct()
        ).all()
        for table, anchor in ANCHORS.items():
            where = "f.compound_id IS NULL AND f.community_id = ANY(:communities)"
            sql = LINK_SQL.format(table=table, anchor=anchor, where=where)
            session.execute(text(sql), {"communities": list(communities)})
    elif layer.name in COMPOUND_MEMBERS:
        table = layer.model.__tablename__
        sql = LINK_SQL.format(table=table, anchor=ANCHORS[table], where="f.id = ANY(:ids)")
        session.execute(text(sql), {"ids": ids})


def update(
    session: Session,
    layer: Layer,
    feature_id: int,
    candidate: Candidate,
    *,
    today: dt.date | None = None,
    principal: Principal | None = None,
) -> None:
    """Replace a feature's properties and geometry; a grid keeps its previous version. Outside
    ``principal``'s area the stored feature is missing and a new version is refused."""
    obj = _current(session, layer, feature_id, principal)
    parents = {}
    if layer.parent:
        current = _current_parent_code(session, layer, obj)
        parents = _resolve_parents(session, layer, [candidate], current)
        if principal is not None:
            _check_area(layer, [candidate], parents, current, principal)
    try:
        _check_unique(session, layer, [candidate], parents, exclude_id=feature_id)
    except FeaturesRejected as exc:
        raise Conflict(exc.problems[0].reason) from None
    if isinstance(obj, m.Grid):
        _keep_version(session, obj, today or dt.date.today())
    fresh = _new_row(layer, candidate, parents.get(candidate.index))
    extras = [name for name in POINT_PROPERTIES if name in layer.properties.model_fields]
    for column in (*layer.fields, "geom", *extras):
        setattr(obj, column, getattr(fresh, column))
    if layer.parent_column:
        setattr(obj, layer.parent_column, parents[candidate.index])
    if layer.name in COMPOUND_MEMBERS:
        obj.compound_id = None
    session.flush()
    _check_contained(session, layer, {feature_id: candidate})
    _link_compounds(session, layer, [feature_id])


def _current(session: Session, layer: Layer, feature_id: int, principal: Principal | None) -> Any:
    """The current feature, locked; NotFound when missing, retired or outside the area."""
    missing = NotFound(f"{layer.name} {feature_id} not found")
    obj = session.get(layer.model, feature_id, with_for_update=True)
    if obj is None or (isinstance(obj, m.Grid) and obj.valid_to is not None):
        raise missing
    parent_id = getattr(obj, layer.parent_column) if layer.parent_column else None
    if principal is not None and not in_area(principal, layer, parent_id):
        raise missing
    return obj


def _current_parent_code(session: Session, layer: Layer, obj: Any) -> str:
    parent = layer.parent_model
    return session.scalar(select(parent.code).where(parent.id == getattr(obj, layer.parent_column)))


def _keep_version(session: Session, grid: m.Grid, today: dt.date) -> None:
    """Write the grid's current state to its history unless it only started today."""
    if grid.valid_from >= today:
        return
    session.add(
        m.GridVersion(
            grid_id=grid.id,
            code=grid.code,
            name=grid.name,
            households=grid.households,
            population=grid.population,
            note=grid.note,
            geom=grid.geom,
            valid_from=grid.valid_from,
            valid_to=today,
        )
    )
    grid.valid_from = today


def delete(
    session: Session,
    layer: Layer,
    feature_id: int,
    *,
    today: dt.date | None = None,
    principal: Principal | None = None,
) -> None:
    """Delete a feature; a grid is retired (valid_to = today) so its history stays. Outside
    ``principal``'s area the feature is missing."""
    obj = _current(session, layer, feature_id, principal)
    if isinstance(obj, m.Grid):
        obj.valid_to = max(today or dt.date.today(), obj.valid_from)
        session.flush()
        return
    if layer.model in CHILDREN:
        _refuse_if_children(session, layer, obj)
    if isinstance(obj, m.Compound):
        for member in (m.Building, m.Road, m.SiteFeature):
            session.execute(
                sql_update(member).where(member.compound_id == obj.id).values(compound_id=None)
            )
    session.delete(obj)
    session.flush()


CHILDREN = {
    m.District: (m.Street, "district_id"),
    m.Street: (m.Community, "street_id"),
    m.Community: (m.Grid, "community_id"),
}


def _refuse_if_children(session: Session, layer: Layer, obj: Any) -> None:
    child, column = CHILDREN[layer.model]
    count = session.scalar(select(func.count()).where(getattr(child, column) == obj.id))
    if count:
        raise Conflict(f"{layer.name} {obj.code} still has {count} {child.__tablename__}(s)")
