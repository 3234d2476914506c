"""Mapbox vector tiles (MVT) of the grids, hazards and parking stalls, made by PostGIS
(ST_AsMVT), from the same allow-listed collections as OGC API Features (hazards without
personal data and only within the account's scope)."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from geo.accounts import Scope
from geo.errors import NotFound
from geo.ogc.collections import COLLECTIONS, Collection
from geo.ogc.items import scope_condition

TILE_LAYERS = {"grids": "grids", "hazards": "hazards", "stalls": "parking-stalls"}
"""Tile layer name -> the collection it draws."""
EXTENT = 4096
BUFFER = 64
MAX_ZOOM = 22
MIN_ZOOM = 0


def layer(name: str) -> Collection:
    if name not in TILE_LAYERS:
        raise NotFound(f"tile layer {name!r} not found; layers: {', '.join(TILE_LAYERS)}")
    return COLLECTIONS[TILE_LAYERS[name]]


def check_tile(z: int, x: int, y: int) -> None:
    """Refuse a tile outside the pyramid (NotFound: no such tile)."""
    if not MIN_ZOOM <= z <= MAX_ZOOM or not (0 <= x < 2**z and 0 <= y < 2**z):
        raise NotFound(f"no tile {z}/{x}/{y}: zoom {MIN_ZOOM}-{MAX_ZOOM}, x and y below 2^zoom")


def tile(session: Session, name: str, z: int, x: int, y: int, scope: Scope) -> bytes:
    """The MVT of layer ``name`` at z/x/y (web mercator) within ``scope``; empty bytes when
    nothing is there."""
    check_tile(z, x, y)
    source = layer(name)
    scoped, params = scope_condition(source, scope)
    columns = ", ".join(f"{c.sql} AS {prop}" for prop, c in source.properties.items())
    sql = f"""
        WITH bounds AS (SELECT ST_TileEnvelope(:z, :x, :y) AS box),
        rows AS (
            SELECT {source.key} AS id, {columns},
                   ST_AsMVTGeom(ST_Transform({source.geometry}, 3857), bounds.box,
                                {EXTENT}, {BUFFER}, true) AS geom
            FROM {source.source}, bounds
            WHERE ({source.where}) AND {scoped}
              AND {source.geometry} && ST_Transform(bounds.box, 4326)
        )
        SELECT ST_AsMVT(rows, :name, {EXTENT}, 'geom', 'id') FROM rows
    """  # ST_AsMVT skips rows clipped away (NULL geom); filtering them would clip twice
    found = session.execute(text(sql), {**params, "z": z, "x": x, "y": y, "name": name}).scalar()
    return bytes(found or b"")


def fields(name: str) -> dict[str, str]:
    """The attributes of a tile layer and their types, for TileJSON."""
    kinds = {"text": "String", "number": "Number", "integer": "Number", "boolean": "Boolean"}
    return {p: kinds.get(c.type, "String") for p, c in layer(name).properties.items()}
