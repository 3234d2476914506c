"""Which district, street, community, grid and compound contain a point.

One SQL statement, each level found through its GiST index. The levels are kept consistent:
the grid and the compound are searched only in the community found, and the street and the
district are those of the community when there is one.

The answer names the grid's current A worker and B worker(s) under ``responsible``, with their
phones for the roles that see personal data (:func:`masked`).

Rule for points on boundaries (documented in the README): a point on a shared edge or vertex
touches several areas; of those, the one with the smallest code wins (compounds: smallest id).
A point inside the community but in no grid is a blind zone (盲区) and is reported as such.
"""

from __future__ import annotations

from typing import Any

from geo.accounts import Principal
from geo.crs import gcj02_to_wgs84
from geo.errors import InvalidInput

LOCATE_SQL = """
WITH pt AS (SELECT ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326) AS geom),
c AS (
    SELECT community.id, community.code, community.name, community.street_id
    FROM community, pt WHERE ST_Intersects(community.geom, pt.geom)
    ORDER BY community.code LIMIT 1),
s AS (
    SELECT street.id, street.code, street.name, street.district_id
    FROM street, pt
    WHERE street.id = (SELECT street_id FROM c)
       OR (NOT EXISTS (SELECT 1 FROM c) AND ST_Intersects(street.geom, pt.geom))
    ORDER BY street.code LIMIT 1),
d AS (
    SELECT district.code, district.name
    FROM district, pt
    WHERE district.id = (SELECT district_id FROM s)
       OR (NOT EXISTS (SELECT 1 FROM s) AND ST_Intersects(district.geom, pt.geom))
    ORDER BY district.code LIMIT 1),
g AS (
    SELECT grid.id, grid.code, grid.name
    FROM grid, pt
    WHERE grid.valid_to IS NULL AND ST_Intersects(grid.geom, pt.geom)
      AND grid.community_id = (SELECT id FROM c)
    ORDER BY grid.code LIMIT 1),
k AS (
    SELECT compound.id, compound.name
    FROM compound, pt
    WHERE ST_Intersects(compound.geom, pt.geom) AND compound.community_id = (SELECT id FROM c)
    ORDER BY compound.id LIMIT 1),
r AS (
    SELECT assignment.role, worker.id, worker.name, worker.phone
    FROM assignment JOIN worker ON worker.id = assignment.worker_id
    WHERE assignment.grid_id = (SELECT id FROM g) AND assignment.valid_from <= CURRENT_DATE
      AND (assignment.valid_to IS NULL OR assignment.valid_to > CURRENT_DATE))
SELECT (SELECT code FROM d), (SELECT name FROM d),
       (SELECT code FROM s), (SELECT name FROM s),
       (SELECT code FROM c), (SELECT name FROM c),
       (SELECT id FROM g), (SELECT code FROM g), (SELECT name FROM g),
       (SELECT id FROM k), (SELECT name FROM k),
       (SELECT json_agg(json_build_object('role', role, 'id', id, 'name', name, 'phone', phone)
                        ORDER BY role, id) FROM r)
"""

CRS_NAMES = ("wgs84", "gcj02")


def to_wgs84(lon: float, lat: float, crs: str) -> tuple[float, float]:
    """Check a phone's or a user's point and return it in WGS84."""
    if crs not in CRS_NAMES:
        raise InvalidInput(f"crs {crs!r} unknown; use one of {', '.join(CRS_NAMES)}")
    if not -180 <= lon <= 180:
        raise InvalidInput(f"lon {lon:g} out of range [-180, 180]")
    if not -90 <= lat <= 90:
        hint = "; lon and lat look swapped" if -90 <= lon <= 90 and -180 <= lat <= 180 else ""
        raise InvalidInput(f"lat {lat:g} out of range [-90, 90]{hint}")
    if crs == "gcj02":
        lon, lat = gcj02_to_wgs84(lon, lat)
    return float(lon), float(lat)


def locate(cursor: Any, lon: float, lat: float) -> dict[str, Any]:
    """Run the locate query on a psycopg cursor; ``lon``/``lat`` in WGS84."""
    cursor.execute(LOCATE_SQL, {"lon": lon, "lat": lat})
    return describe(cursor.fetchone(), lon, lat)


async def locate_async(connection: Any, lon: float, lat: float) -> dict[str, Any]:
    """The same on a psycopg AsyncConnection (the API's hot path)."""
    cursor = await connection.execute(LOCATE_SQL, {"lon": lon, "lat": lat})
    return describe(await cursor.fetchone(), lon, lat)


def describe(row: tuple, lon: float, lat: float) -> dict[str, Any]:
    """The answer for one row of LOCATE_SQL."""
    d_code, d_name, s_code, s_name, c_code, c_name, g_id, g_code, g_name, k_id, k_name, roles = row
    community = {"code": c_code, "name": c_name} if c_code else None
    blind = community is not None and g_id is None
    if community is None:
        message = "outside every community"
    elif blind:
        message = f"in community {c_code} but in no grid: a blind zone (盲区)"
    else:
        message = f"grid {g_code} of community {c_code}"
    return {
        "lon": lon,
        "lat": lat,
        "district": {"code": d_code, "name": d_name} if d_code else None,
        "street": {"code": s_code, "name": s_name} if s_code else None,
        "community": community,
        "grid": {"id": g_id, "code": g_code, "name": g_name} if g_id else None,
        "compound": {"id": k_id, "name": k_name} if k_id else None,
        "responsible": _responsible(roles or []) if g_id else None,
        "blind_zone": blind,
        "message": message,
    }


def _responsible(roles: list[dict[str, Any]]) -> dict[str, Any]:
    """The grid's A worker and its B workers (who to call about this place)."""
    strip = [{k: v for k, v in r.items() if k != "role"} for r in roles]
    a = [p for p, r in zip(strip, roles, strict=True) if r["role"] == "A"]
    b = [p for p, r in zip(strip, roles, strict=True) if r["role"] == "B"]
    return {"a": a[0] if a else None, "b": b}


def masked(answer: dict[str, Any], principal: Principal) -> dict[str, Any]:
    """``answer`` with the responsible workers' personal data hidden from ``principal`` if its
    role may not see it."""
    responsible = answer["responsible"]
    if responsible is None or principal.personal_data:
        return answer
    a = principal.mask(responsible["a"]) if responsible["a"] else None
    b = [principal.mask(worker) for worker in responsible["b"]]
    return {**answer, "responsible": {"a": a, "b": b}}
