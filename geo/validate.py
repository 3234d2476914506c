"""Geometry checks shared by the API, the CLI and the importers.

A GeoJSON geometry goes through three steps, each raising :class:`InvalidInput` with a reason
that names the problem:

1. :func:`parse_geometry` — structure: known type, nesting, numbers, no NaN/Infinity, rings
   closed with enough positions, not empty. Coordinates may still be in any CRS.
2. :func:`check_lonlat` — once in WGS84: longitude/latitude in range, not swapped, not
   projected metres, inside the service area.
3. :func:`finish` — the layer's geometry type, OGC validity (reason text from GEOS, the same
   library and wording as PostGIS ``ST_IsValidReason``) and RFC 7946 orientation (exterior
   rings counter-clockwise, holes clockwise).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon, shape
from shapely.geometry.base import BaseGeometry

from geo.db import get_settings
from geo.errors import InvalidInput

GEOMETRY_TYPES = ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon")
_DEPTH = {
    "Point": 0,
    "MultiPoint": 1,
    "LineString": 1,
    "MultiLineString": 2,
    "Polygon": 2,
    "MultiPolygon": 3,
}


def parse_geometry(obj: Any) -> BaseGeometry:
    """A shapely geometry from a GeoJSON geometry object, after the structural checks."""
    if obj is None:
        raise InvalidInput("geometry missing")
    if not isinstance(obj, dict):
        raise InvalidInput("geometry must be a GeoJSON geometry object")
    kind = obj.get("type")
    if kind == "GeometryCollection":
        raise InvalidInput("GeometryCollection is not supported; send one geometry per feature")
    if kind not in GEOMETRY_TYPES:
        raise InvalidInput(f"unknown geometry type {kind!r}")
    coords = obj.get("coordinates")
    if coords is None:
        raise InvalidInput(f"{kind} has no coordinates")
    _check_nesting(coords, _DEPTH[kind], kind)
    if _is_empty(coords):
        raise InvalidInput(f"empty {kind}")
    if kind == "LineString":
        _check_line(coords, "LineString")
    elif kind == "MultiLineString":
        for i, line in enumerate(coords):
            _check_line(line, f"line {i}")
    elif kind == "Polygon":
        _check_rings(coords, "")
    elif kind == "MultiPolygon":
        for i, rings in enumerate(coords):
            _check_rings(rings, f"polygon {i} ")
    return shape(obj)


def _check_nesting(coords: Any, depth: int, kind: str) -> None:
    if depth == 0:
        _check_position(coords, kind)
        return
    if not isinstance(coords, list | tuple):
        raise InvalidInput(f"{kind} coordinates are not nested as GeoJSON requires")
    for item in coords:
        _check_nesting(item, depth - 1, kind)


def _check_position(pos: Any, kind: str) -> None:
    if not isinstance(pos, list | tuple) or not 2 <= len(pos) <= 3:
        raise InvalidInput(f"{kind} position {pos!r} is not [lon, lat]")
    for value in pos:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidInput(f"coordinate {value!r} is not a number")
        # JSON integers have no size limit; one beyond the float range cannot be a coordinate
        if isinstance(value, int) and abs(value) > sys.float_info.max:
            raise InvalidInput("coordinate out of range: an integer beyond 1.8e308")
        if math.isnan(value):
            raise InvalidInput("coordinate NaN")
        if math.isinf(value):
            raise InvalidInput("coordinate Infinity")


def _is_empty(coords: Any) -> bool:
    if not isinstance(coords, list | tuple):
        return False
    if not coords:
        return True
    if isinstance(coords[0], list | tuple):
        return all(_is_empty(c) for c in coords)
    return False


def _check_line(line: list, what: str) -> None:
    if len(line) < 2:
        raise InvalidInput(f"{what} has {len(line)} position(s): too few points, needs 2")


def _check_rings(rings: list, prefix: str) -> None:
    if not rings:
        raise InvalidInput(f"{prefix}has no rings")
    for i, ring in enumerate(rings):
        name = f"{prefix}ring {i}"
        if len(ring) < 4:
            raise InvalidInput(f"{name} has {len(ring)} position(s): too few points, needs 4")
        first, last = list(ring[0][:2]), list(ring[-1][:2])
        if first != last:
            raise InvalidInput(f"{name} not closed: first position {first} != last {last}")


def check_lonlat(geom: BaseGeometry, service_area: Sequence[float] | None = None) -> None:
    """Refuse coordinates that are not plausible WGS84 lon/lat inside the service area."""
    xy = shapely.get_coordinates(geom)
    if not len(xy):
        raise InvalidInput("empty geometry")
    if not np.isfinite(xy).all():
        raise InvalidInput("coordinate NaN or Infinity after transformation")
    lon, lat = xy[:, 0], xy[:, 1]
    if (np.abs(xy) > 1000).any():
        x, y = xy[(np.abs(xy) > 1000).any(axis=1).argmax()]
        raise InvalidInput(
            f"coordinates look projected (x={x:.0f}, y={y:.0f}), not WGS84 lon/lat: wrong CRS; "
            "GeoJSON must be EPSG:4326 (RFC 7946), or give the source CRS"
        )
    bad_lat = np.abs(lat) > 90
    if bad_lat.any():
        value = float(lat[bad_lat.argmax()])
        swapped = (np.abs(lon) <= 90).all() and (np.abs(lat) <= 180).all()
        hint = "; coordinates look swapped (lat, lon): GeoJSON order is lon, lat" if swapped else ""
        raise InvalidInput(f"lat {value:g} out of range [-90, 90]{hint}")
    bad_lon = np.abs(lon) > 180
    if bad_lon.any():
        raise InvalidInput(f"lon {float(lon[bad_lon.argmax()]):g} out of range [-180, 180]")
    if service_area is not None:
        west, south, east, north = service_area
        outside = (lon < west) | (lon > east) | (lat < south) | (lat > north)
        if outside.any():
            x, y = xy[outside.argmax()]
            inside_if_swapped = west <= y <= east and south <= x <= north
            hint = "; coordinates look swapped (lat, lon)" if inside_if_swapped else ""
            raise InvalidInput(
                f"position ({x:g}, {y:g}) is outside the service area "
                f"(lon {west:g}..{east:g}, lat {south:g}..{north:g}){hint}"
            )


def finish(geom: BaseGeometry, geometry_type: str) -> BaseGeometry:
    """Coerce to the layer's geometry type, require OGC validity and orient rings (RFC 7946).

    ``geometry_type`` is the column type: POINT, MULTIPOINT, LINESTRING, POLYGON, MULTIPOLYGON,
    or GEOMETRY (any of point/polygon, checked by the layer). More than
    ``GRIDLINE_MAX_VERTICES`` vertices are refused.
    """
    limit = get_settings().max_vertices
    vertices = shapely.get_num_coordinates(geom)
    if vertices > limit:
        raise InvalidInput(
            f"geometry has {vertices:,} vertices, more than GRIDLINE_MAX_VERTICES = {limit:,}"
        )
    geom = _coerce(geom, geometry_type)
    if not geom.is_valid:
        raise InvalidInput(f"invalid geometry: {shapely.is_valid_reason(geom)}")
    if isinstance(geom, Polygon | MultiPolygon):
        geom = shapely.orient_polygons(geom)
    return geom


def _coerce(geom: BaseGeometry, geometry_type: str) -> BaseGeometry:
    got = geom.geom_type.upper()
    if geometry_type == "GEOMETRY" or got == geometry_type:
        return geom
    if geometry_type == "MULTIPOLYGON" and got == "POLYGON":
        return MultiPolygon([geom])
    if got.startswith("MULTI") and got[5:] == geometry_type and len(geom.geoms) == 1:
        return geom.geoms[0]
    if got.startswith("MULTI") and got[5:] == geometry_type:
        raise InvalidInput(
            f"expected {_title(geometry_type)}, got {geom.geom_type} with {len(geom.geoms)} parts;"
            " split it into one feature per part"
        )
    raise InvalidInput(f"expected {_title(geometry_type)}, got {geom.geom_type}")


def _title(geometry_type: str) -> str:
    return {t.upper(): t for t in GEOMETRY_TYPES}[geometry_type]
