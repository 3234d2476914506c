"""Items of a collection: bbox, property filters, CQL2 ``filter``, ``datetime``, paging; one
SQL statement builds the page's features as GeoJSON text, another counts the matches. Rows of a
scoped collection (hazards) outside the account's scope are left out everywhere: pages, counts,
single items (not found, like a missing id) and extents."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.accounts import Scope
from geo.errors import InvalidInput, NotFound
from geo.ogc.collections import Collection
from geo.ogc.cql2 import compile_filter


@dataclass(frozen=True)
class Query:
    """What a client asked for (already parsed)."""

    limit: int
    offset: int = 0
    bbox: tuple[float, float, float, float] | None = None
    properties: Mapping[str, str] | None = None
    filter: str | None = None
    datetime: tuple[dt.datetime | None, dt.datetime | None] | None = None


def scope_condition(collection: Collection, scope: Scope) -> tuple[str, dict[str, Any]]:
    """SQL keeping the rows of ``collection`` within ``scope`` ("true" when not scoped)."""
    if collection.scoped_by is None:
        return "true", {}
    community, grid = collection.scoped_by
    if scope.communities is not None:
        return f"{community} = ANY(:scope_ids)", {"scope_ids": sorted(scope.communities)}
    if scope.grids is not None:
        return f"{grid} = ANY(:scope_ids)", {"scope_ids": sorted(scope.grids)}
    return "true", {}


def _condition(collection: Collection, query: Query, scope: Scope) -> tuple[str, dict[str, Any]]:
    scoped, params = scope_condition(collection, scope)
    parts = [f"({collection.where})", scoped]
    if query.bbox is not None:
        parts.append(
            f"{collection.geometry} && ST_MakeEnvelope(:bx0, :by0, :bx1, :by1, 4326) AND "
            f"ST_Intersects({collection.geometry}, ST_MakeEnvelope(:bx0, :by0, :bx1, :by1, 4326))"
        )
        params.update(zip(("bx0", "by0", "bx1", "by1"), query.bbox, strict=True))
    for i, (name, value) in enumerate((query.properties or {}).items()):
        column = collection.properties[name]
        parts.append(f"{column.sql}::text = :q{i}")
        params[f"q{i}"] = value
    if query.datetime is not None:
        if collection.temporal is None:
            raise InvalidInput(f"collection {collection.id} has no time: datetime is not allowed")
        column = collection.properties[collection.temporal].sql
        start, end = query.datetime
        if start is not None:
            parts.append(f"{column} >= :t0")
            params["t0"] = start
        if end is not None:
            parts.append(f"{column} <= :t1")
            params["t1"] = end
    if query.filter:
        sql, bound = compile_filter(query.filter, collection.queryables)
        parts.append(f"({sql})")
        params.update(bound)
    return " AND ".join(parts), params


def _properties_sql(collection: Collection) -> str:
    pairs = ", ".join(f"'{name}', {c.sql}" for name, c in collection.properties.items())
    return f"json_build_object({pairs})"


def items(
    session: Session, collection: Collection, query: Query, scope: Scope
) -> tuple[list[str], int]:
    """The page's features (GeoJSON text each) and the number matched, within ``scope``."""
    where, params = _condition(collection, query, scope)
    rows = session.execute(
        text(
            f"SELECT json_build_object('type', 'Feature', 'id', {collection.key}, "
            f"'geometry', ST_AsGeoJSON({collection.geometry}, 7)::json, "
            f"'properties', {_properties_sql(collection)})::text "
            f"FROM {collection.source} WHERE {where} "
            f"ORDER BY {collection.key} LIMIT :limit OFFSET :offset"
        ),
        {**params, "limit": query.limit, "offset": query.offset},
    ).scalars()
    features = list(rows)
    matched = session.execute(
        text(f"SELECT count(*) FROM {collection.source} WHERE {where}"), params
    ).scalar_one()
    return features, int(matched)


def item(session: Session, collection: Collection, feature_id: str, scope: Scope) -> str:
    """One feature as GeoJSON text; one outside ``scope`` is not found, like a missing one."""
    try:
        key = int(feature_id)
    except ValueError:
        raise NotFound(f"{collection.id} {feature_id!r} not found") from None
    scoped, params = scope_condition(collection, scope)
    found = session.execute(
        text(
            f"SELECT json_build_object('type', 'Feature', 'id', {collection.key}, "
            f"'geometry', ST_AsGeoJSON({collection.geometry}, 7)::json, "
            f"'properties', {_properties_sql(collection)})::text "
            f"FROM {collection.source} "
            f"WHERE ({collection.where}) AND {scoped} AND {collection.key} = :key"
        ),
        {**params, "key": key},
    ).scalar()
    if found is None:
        raise NotFound(f"{collection.id} {feature_id!r} not found")
    return found


def extent(session: Session, collection: Collection, scope: Scope) -> list[float] | None:
    """The bounding box (lon/lat) of the collection within ``scope``, None when empty."""
    scoped, params = scope_condition(collection, scope)
    box = session.execute(
        text(
            f"SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
            f"(SELECT ST_Extent({collection.geometry}) AS e FROM {collection.source} "
            f"WHERE ({collection.where}) AND {scoped}) x"
        ),
        params,
    ).one()
    return None if box[0] is None else [float(v) for v in box]


def feature_collection(features: list[str], extra: dict[str, Any]) -> str:
    """A FeatureCollection's JSON text around already-serialised features."""
    head = json.dumps({"type": "FeatureCollection", **extra}, ensure_ascii=False)[:-1]
    return f'{head}, "features": [{",".join(features)}]}}'
