"""Topology of a community's current grids: gaps (blind zones), overlaps, slivers, grids
sticking out of their community, grids in pieces or with holes; and a repair closing gaps and
overlaps that writes each changed grid as a new boundary version.

How the check works (PostGIS; four statements whatever the number of communities):

- The boundaries of each community and of its current grids are noded together with
  snap-rounding to ``GRID_SIZE_DEG`` (1e-8 degree, about 1 mm): ``ST_Union(lines, gridSize)``,
  GEOS OverlayNG with a fixed precision. Vertices and edges closer than that become one, so
  floating noise (re-projected coordinates, a vertex a hair off its neighbour's edge) vanishes.
- ``ST_Polygonize`` cuts the community into faces, and a point inside each face says whether it
  lies in the community and which grids cover it: none (in the community) is a **gap**, two or
  more an **overlap** (a place in three grids is one overlap naming three grids, counted once),
  any outside the community means those grids **stick out**.
- Faces thinner on average than ``NOISE_WIDTH_M`` (1 cm; 2 x area / perimeter) are rounding
  noise and never reported. Gaps, overlaps and a grid's part outside smaller than ``sliver_m2``
  (``GRIDLINE_SLIVER_M2``, default 1 m²) are **slivers**, reported apart.
- A grid is **not contiguous** when it falls apart once its edges move 5 mm inwards (parts
  joined only by a neck thinner than about 1 cm; the ``grid`` column holds single polygons, whose
  interior is connected by OGC validity, so a neck is how a grid in pieces gets stored), and has
  **holes** when it has interior rings (not noise).
- Areas are in m² and lengths in m on the WGS84 spheroid (``::geography``); geometries are
  GeoJSON (WGS84, exterior rings counter-clockwise).

Repair rules (``propose_repair``; faces as above, from the grids after snapping):

1. Snapping: each grid's vertices within ``snap_m`` of the community boundary or of a grid with
   a smaller code are snapped onto it (``ST_Snap``), so near misses close instead of leaving
   splinters. ``snap_m`` is turned into degrees at 111,320 m per degree, so no vertex moves
   farther than ``snap_m``.
2. Overlaps: a place covered by several grids stays with the grid of the smallest code, the grid
   ``/locate`` already answers there, and is cut from the others.
3. Gaps: a gap goes to the grid sharing the longest boundary with it (ties: the smallest code).
   A gap touching no grid (sharing no edge) cannot be given.
4. Parts outside the community are cut off.
5. A grid left in several parts keeps its largest; every other part goes to the grid sharing
   the longest boundary with it.

Grids whose geometry changes only by noise keep their geometry (no new version). Applying writes
each changed grid through ``geo.features.update``, the path of a grid ``PUT``: the previous
boundary goes to ``grid_version`` and the new one is valid from today (a grid whose version
started today is overwritten, as by a ``PUT``). It is refused (``Conflict``) when a gap cannot
be given or a grid would be left empty or in several parts. Holes filled by other grids and
grids joined by a thin neck are left as they are.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from geo import models as m
from geo.adjacency import MIN_SHARED_M
from geo.db import get_settings
from geo.errors import Conflict, GridlineError, NotFound
from geo.features import get_feature, prepare, update
from geo.layers import LAYERS
from geo.planning import community_id

GRID_SIZE_DEG = 1e-8
"""Snap-rounding precision of the overlay (about 1 mm)."""
NOISE_WIDTH_M = 0.01
"""Pieces thinner than this on average (2 x area / perimeter) are rounding noise."""
METRES_PER_DEGREE = 111_320.0
"""Metres per degree of latitude, to turn metric tolerances into degrees (never larger)."""
TIMEOUT_MS_PER_GRID = 2
"""Extra statement time allowed per grid checked by ``check_all``."""
AREA_DIGITS = 4
LENGTH_DIGITS = 2
GEOJSON_DIGITS = 8

PROBLEMS = ("gaps", "overlaps", "slivers", "outside", "not_contiguous", "holes")

# -- the check ------------------------------------------------------------------------------

COMMUNITIES_SQL = """
SELECT c.id, c.code, count(g.id)
FROM community c LEFT JOIN grid g ON g.community_id = c.id AND g.valid_to IS NULL
WHERE c.id = ANY(:ids)
GROUP BY c.id, c.code
"""

GRIDS_SQL = """
SELECT id, code FROM grid WHERE community_id = ANY(:ids) AND valid_to IS NULL
"""

FACES_SQL = """
WITH c AS (
    SELECT id, geom FROM community WHERE id = ANY(:ids)
), faces AS (
    SELECT lines.community_id, d.path[1] AS n, d.geom, ST_PointOnSurface(d.geom) AS pt
    FROM (
        SELECT c.id AS community_id, ST_Union(b.geom, :grid_size) AS geom
        FROM c CROSS JOIN LATERAL (
            SELECT ST_Boundary(c.geom) AS geom
            UNION ALL
            SELECT ST_Boundary(g.geom) FROM grid g
            WHERE g.community_id = c.id AND g.valid_to IS NULL
        ) b
        GROUP BY c.id
    ) lines
    CROSS JOIN LATERAL ST_Dump(ST_Polygonize(ARRAY[lines.geom])) d
), labelled AS (
    SELECT f.community_id, f.n, f.geom, ST_Intersects(c.geom, f.pt) AS inside,
           ARRAY(SELECT g.id FROM grid g
                 WHERE g.community_id = f.community_id AND g.valid_to IS NULL
                   AND ST_Intersects(g.geom, f.pt)
                 ORDER BY g.code, g.id) AS covering
    FROM faces f JOIN c ON c.id = f.community_id
), problems AS (
    SELECT l.*, a.area_m2
    FROM labelled l
    CROSS JOIN LATERAL (
        SELECT ST_Area(l.geom::geography) AS area_m2, ST_Perimeter(l.geom::geography) AS perimeter_m
    ) a
    WHERE (l.inside AND cardinality(l.covering) <> 1
           OR NOT l.inside AND cardinality(l.covering) > 0)
      AND 2 * a.area_m2 >= :noise_width * a.perimeter_m
), touching AS (
    SELECT s.community_id, s.n,
           json_agg(json_build_object('id', s.id, 'shared_m', s.shared_m)
                    ORDER BY s.shared_m DESC) AS grids
    FROM (
        SELECT p.community_id, p.n, gid AS id, sum(ST_Length(ST_CollectionExtract(
                   ST_Intersection(ST_Boundary(p.geom), ST_Boundary(o.geom)), 2
               )::geography)) AS shared_m
        FROM problems p
        JOIN labelled o ON o.community_id = p.community_id AND o.n <> p.n AND o.geom && p.geom
        CROSS JOIN LATERAL unnest(o.covering) gid
        WHERE p.inside AND cardinality(p.covering) = 0
        GROUP BY p.community_id, p.n, gid
    ) s
    WHERE s.shared_m > :min_shared
    GROUP BY s.community_id, s.n
)
SELECT p.community_id, p.inside, p.covering, p.area_m2,
       ST_AsGeoJSON(ST_ForcePolygonCCW(p.geom), :digits), t.grids
FROM problems p LEFT JOIN touching t USING (community_id, n)
"""

GRID_SHAPE_SQL = """
SELECT g.id, g.community_id, parts.areas, holes.n, holes.area_m2,
       ST_AsGeoJSON(ST_ForcePolygonCCW(holes.geom), :digits)
FROM grid g
CROSS JOIN LATERAL (
    SELECT array_agg(a ORDER BY a DESC) AS areas
    FROM ST_Dump(ST_Buffer(g.geom, -:half_noise_deg, 'quad_segs=2')) d
    CROSS JOIN LATERAL ST_Area(d.geom::geography) a
) parts
CROSS JOIN LATERAL (
    SELECT count(*) AS n, sum(a.area_m2) AS area_m2, ST_Collect(h.geom) AS geom
    FROM ST_Dump(g.geom) p
    CROSS JOIN LATERAL generate_series(1, ST_NumInteriorRings(p.geom)) i
    CROSS JOIN LATERAL (SELECT ST_MakePolygon(ST_InteriorRingN(p.geom, i)) AS geom) h
    CROSS JOIN LATERAL (
        SELECT ST_Area(h.geom::geography) AS area_m2, ST_Perimeter(h.geom::geography) AS perimeter_m
    ) a
    WHERE 2 * a.area_m2 >= :noise_width * a.perimeter_m
) holes
WHERE g.community_id = ANY(:ids) AND g.valid_to IS NULL
  AND (cardinality(parts.areas) > 1 OR holes.n > 0)
"""


def _tolerances() -> dict[str, float]:
    return {
        "grid_size": GRID_SIZE_DEG,
        "noise_width": NOISE_WIDTH_M,
        "half_noise_deg": NOISE_WIDTH_M / 2 / METRES_PER_DEGREE,
        "min_shared": MIN_SHARED_M,
        "digits": GEOJSON_DIGITS,
    }


def _area(value: float) -> float:
    return round(float(value), AREA_DIGITS)


def _multipolygon(geometries: Sequence[dict]) -> dict:
    """One GeoJSON MultiPolygon of Polygon geometries."""
    return {"type": "MultiPolygon", "coordinates": [g["coordinates"] for g in geometries]}


def _empty_report(code: str, grids: int, sliver_m2: float) -> dict[str, Any]:
    return {
        "community": code,
        "grids": grids,
        "ok": True,
        "sliver_m2": sliver_m2,
        "tolerance": {"grid_size_deg": GRID_SIZE_DEG, "noise_width_m": NOISE_WIDTH_M},
        "counts": dict.fromkeys(PROBLEMS, 0),
        "gap_area_m2": 0.0,
        "overlap_area_m2": 0.0,
        **{name: [] for name in PROBLEMS},
    }


def _check(session: Session, ids: list[int], sliver_m2: float) -> dict[int, dict[str, Any]]:
    """The report of each community of ``ids`` (by id)."""
    params = {"ids": ids, **_tolerances()}
    with _settings(session, jit="off"):
        communities = session.execute(text(COMMUNITIES_SQL), params).all()
        codes = dict(session.execute(text(GRIDS_SQL), params).all())
        faces = session.execute(text(FACES_SQL), params).all()
        shapes = session.execute(text(GRID_SHAPE_SQL), params).all()
    reports = {cid: _empty_report(code, n, sliver_m2) for cid, code, n in communities}

    def ref(grid_id: int) -> dict[str, Any]:
        return {"id": grid_id, "code": codes[grid_id]}

    outside: dict[tuple[int, int], list[tuple[float, dict]]] = {}
    for cid, inside, covering, area, geojson, touching in faces:
        report, geometry = reports[cid], json.loads(geojson)
        if not inside:
            for grid_id in covering:
                outside.setdefault((cid, grid_id), []).append((area, geometry))
        if inside and not covering:
            grids = [
                {**ref(t["id"]), "shared_m": round(t["shared_m"], LENGTH_DIGITS)}
                for t in touching or []
            ]
            kind = "gap"
        elif len(covering) > 1:
            grids, kind = [ref(g) for g in covering], "overlap"
        else:
            continue
        piece = {"area_m2": _area(area), "grids": grids, "geometry": geometry}
        if area < sliver_m2:
            report["slivers"].append({"kind": kind, **piece})
        else:
            report[f"{kind}s"].append(piece)
            report[f"{kind}_area_m2"] += area
    for (cid, grid_id), pieces in outside.items():
        area = sum(a for a, _ in pieces)
        geometry = _multipolygon([g for _, g in pieces])
        if area < sliver_m2:
            reports[cid]["slivers"].append(
                {
                    "kind": "outside",
                    "area_m2": _area(area),
                    "grids": [ref(grid_id)],
                    "geometry": geometry,
                }
            )
        else:
            reports[cid]["outside"].append(
                {**ref(grid_id), "area_m2": _area(area), "geometry": geometry}
            )
    for grid_id, cid, parts, holes, hole_area, holes_geojson in shapes:
        if parts and len(parts) > 1:
            reports[cid]["not_contiguous"].append(
                {**ref(grid_id), "parts": len(parts), "part_areas_m2": [_area(a) for a in parts]}
            )
        if holes:
            reports[cid]["holes"].append(
                {
                    **ref(grid_id),
                    "holes": holes,
                    "area_m2": _area(hole_area),
                    "geometry": json.loads(holes_geojson),
                }
            )
    for report in reports.values():
        _finish(report)
    return reports


def _finish(report: dict[str, Any]) -> None:
    """Sort the findings, count them, round the totals."""
    for name in ("gaps", "overlaps", "slivers", "outside"):
        report[name].sort(key=lambda p: (-p["area_m2"], [g["code"] for g in p.get("grids", [p])]))
    for name in ("not_contiguous", "holes"):
        report[name].sort(key=lambda p: p["code"])
    report["counts"] = {name: len(report[name]) for name in PROBLEMS}
    report["ok"] = not any(report["counts"].values())
    report["gap_area_m2"] = _area(report["gap_area_m2"])
    report["overlap_area_m2"] = _area(report["overlap_area_m2"])


def _sliver(sliver_m2: float | None) -> float:
    return get_settings().sliver_m2 if sliver_m2 is None else sliver_m2


def check(
    session: Session, community_code: str, *, sliver_m2: float | None = None
) -> dict[str, Any]:
    """Gaps, overlaps, slivers, grids outside, in pieces or with holes of one community."""
    cid = community_id(session, community_code)
    return _check(session, [cid], _sliver(sliver_m2))[cid]


def _communities_within(session: Session, within: str | None) -> list[int]:
    """Ids of every community, or of those of district or street ``within``."""
    query = select(m.Community.id).order_by(m.Community.code)
    if within is None:
        return list(session.scalars(query))
    street = session.scalar(select(m.Street.id).where(m.Street.code == within))
    if street is not None:
        return list(session.scalars(query.where(m.Community.street_id == street)))
    district = session.scalar(select(m.District.id).where(m.District.code == within))
    if district is None:
        raise NotFound(f"no district or street {within!r}")
    streets = select(m.Street.id).where(m.Street.district_id == district)
    return list(session.scalars(query.where(m.Community.street_id.in_(streets))))


@contextmanager
def _settings(session: Session, **values: str) -> Iterator[None]:
    """Transaction-local settings, put back afterwards (after an error, the rollback of the
    transaction or savepoint puts them back). ``jit=off``: PostGIS functions look so costly to
    the planner that it compiles each statement to machine code, for longer than it runs."""
    before = {
        name: session.scalar(
            text("SELECT current_setting(:name), set_config(:name, :value, true)"),
            {"name": name, "value": value},
        )
        for name, value in values.items()
    }
    yield
    for name, value in before.items():
        session.execute(
            text("SELECT set_config(:name, :value, true)"), {"name": name, "value": value}
        )


def check_all(
    session: Session, *, within: str | None = None, sliver_m2: float | None = None
) -> dict[str, Any]:
    """The check of every community (or those of district or street ``within``), set-wise:
    the same statements as ``check``, once for all. Full reports of the communities with
    problems only, and the totals."""
    started = time.perf_counter()
    ids = _communities_within(session, within)
    grids = session.scalar(
        select(func.count(m.Grid.id)).where(m.Grid.community_id.in_(ids), m.Grid.valid_to.is_(None))
    )
    budget = get_settings().statement_timeout_ms + (grids or 0) * TIMEOUT_MS_PER_GRID
    with _settings(session, statement_timeout=str(budget)):
        reports = _check(session, ids, _sliver(sliver_m2))
    problems = sorted((r for r in reports.values() if not r["ok"]), key=lambda r: r["community"])
    return {
        "within": within,
        "communities": len(reports),
        "grids": grids or 0,
        "sliver_m2": _sliver(sliver_m2),
        "counts": {name: sum(r["counts"][name] for r in reports.values()) for name in PROBLEMS},
        "communities_with_problems": len(problems),
        "seconds": round(time.perf_counter() - started, 3),
        "problems": problems,
    }


# -- the repair -----------------------------------------------------------------------------

REPAIR_SQL = """
WITH c AS (
    SELECT geom FROM community WHERE id = :community_id
), g AS (
    SELECT id, code, geom FROM grid WHERE community_id = :community_id AND valid_to IS NULL
), snapped AS (
    SELECT g.id, g.code,
           ST_CollectionExtract(ST_MakeValid(ST_Snap(g.geom, ref.geom, :snap_deg)), 3) AS geom
    FROM g CROSS JOIN LATERAL (
        SELECT ST_Collect(b.geom) AS geom FROM (
            SELECT ST_Boundary(c.geom) AS geom FROM c
            UNION ALL
            SELECT ST_Boundary(h.geom) FROM g h
            WHERE h.code < g.code AND h.geom && ST_Expand(g.geom, :snap_deg)
        ) b
    ) ref
), faces AS (
    SELECT d.path[1] AS n, d.geom, ST_PointOnSurface(d.geom) AS pt
    FROM (
        SELECT ST_Union(b.geom, :grid_size) AS geom FROM (
            SELECT ST_Boundary(geom) AS geom FROM c
            UNION ALL
            SELECT ST_Boundary(geom) FROM snapped
        ) b
    ) lines
    CROSS JOIN LATERAL ST_Dump(ST_Polygonize(ARRAY[lines.geom])) d
), labelled AS (
    SELECT f.n, f.geom, ST_Intersects(c.geom, f.pt) AS inside,
           ARRAY(SELECT s.id FROM snapped s WHERE ST_Intersects(s.geom, f.pt)
                 ORDER BY s.code, s.id) AS covering
    FROM faces f CROSS JOIN c
), gap_owner AS (
    SELECT DISTINCT ON (s.n) s.n, s.id, s.shared_m
    FROM (
        SELECT p.n, gid AS id, sum(ST_Length(ST_CollectionExtract(
                   ST_Intersection(ST_Boundary(p.geom), ST_Boundary(o.geom)), 2
               )::geography)) AS shared_m
        FROM labelled p
        JOIN labelled o ON o.n <> p.n AND o.geom && p.geom
        CROSS JOIN LATERAL unnest(o.covering) gid
        WHERE p.inside AND cardinality(p.covering) = 0
        GROUP BY p.n, gid
    ) s
    JOIN g ON g.id = s.id
    WHERE s.shared_m > :min_shared
    ORDER BY s.n, s.shared_m DESC, g.code, g.id
), owned AS (
    SELECT geom, covering[1] AS id FROM labelled WHERE inside AND cardinality(covering) > 0
    UNION ALL
    SELECT l.geom, o.id FROM labelled l JOIN gap_owner o USING (n)
), merged AS (
    SELECT id, ST_Union(geom, :grid_size) AS geom FROM owned GROUP BY id
), parts AS (
    SELECT m.id, d.path[1] AS k, d.geom,
           row_number() OVER (PARTITION BY m.id ORDER BY ST_Area(d.geom) DESC) AS rank
    FROM merged m CROSS JOIN LATERAL ST_Dump(m.geom) d
), strays AS (
    SELECT DISTINCT ON (p.id, p.k) p.id AS from_id, p.k, o.id AS to_id
    FROM parts p
    JOIN merged o ON o.id <> p.id AND o.geom && p.geom
    CROSS JOIN LATERAL ST_Length(ST_CollectionExtract(
        ST_Intersection(ST_Boundary(p.geom), ST_Boundary(o.geom)), 2
    )::geography) shared_m
    JOIN g ON g.id = o.id
    WHERE p.rank > 1 AND shared_m > :min_shared
    ORDER BY p.id, p.k, shared_m DESC, g.code, g.id
), final AS (
    SELECT coalesce(s.to_id, p.id) AS id, ST_Union(p.geom, :grid_size) AS geom
    FROM parts p LEFT JOIN strays s ON s.from_id = p.id AND s.k = p.k
    GROUP BY 1
), pieces AS (
    SELECT l.*, a.area_m2
    FROM labelled l
    CROSS JOIN LATERAL (
        SELECT ST_Area(l.geom::geography) AS area_m2, ST_Perimeter(l.geom::geography) AS perimeter_m
    ) a
    WHERE l.inside AND cardinality(l.covering) <> 1
      AND 2 * a.area_m2 >= :noise_width * a.perimeter_m
)
-- per current grid: its new geometry, the area gained (area_m2) and lost, its parts
SELECT 'grid' AS kind, g.id, NULL::int[] AS others, NULL::float AS shared_m,
       gained.area_m2, lost.area_m2 AS lost_m2, ST_NumGeometries(f.geom) AS parts,
       ST_AsGeoJSON(ST_ForcePolygonCCW(f.geom), :digits) AS geometry
FROM g LEFT JOIN final f USING (id)
CROSS JOIN LATERAL (
    SELECT coalesce(f.geom, ST_GeomFromText('POLYGON EMPTY', 4326)) AS geom
) new
CROSS JOIN LATERAL (
    SELECT coalesce(sum(a.area_m2), 0) AS area_m2
    FROM ST_Dump(ST_Difference(new.geom, g.geom, :grid_size)) d
    CROSS JOIN LATERAL (
        SELECT ST_Area(d.geom::geography) AS area_m2, ST_Perimeter(d.geom::geography) AS perimeter_m
    ) a
    WHERE 2 * a.area_m2 >= :noise_width * a.perimeter_m
) gained
CROSS JOIN LATERAL (
    SELECT coalesce(sum(a.area_m2), 0) AS area_m2
    FROM ST_Dump(ST_Difference(g.geom, new.geom, :grid_size)) d
    CROSS JOIN LATERAL (
        SELECT ST_Area(d.geom::geography) AS area_m2, ST_Perimeter(d.geom::geography) AS perimeter_m
    ) a
    WHERE 2 * a.area_m2 >= :noise_width * a.perimeter_m
) lost
UNION ALL
-- per gap and overlap: who gets it, who loses it, its area
SELECT CASE WHEN cardinality(p.covering) = 0 THEN 'gap' ELSE 'overlap' END,
       coalesce(o.id, p.covering[1]), p.covering[2:], o.shared_m, p.area_m2, NULL, NULL,
       ST_AsGeoJSON(ST_ForcePolygonCCW(p.geom), :digits)
FROM pieces p LEFT JOIN gap_owner o USING (n)
"""


def _proposal(session: Session, code: str, snap_m: float) -> dict[str, Any]:
    """What the repair would do (nothing written): pieces given away, changed grids, and why
    it cannot be applied (``blocked``), if so."""
    cid = community_id(session, code)
    codes = dict(
        session.execute(
            select(m.Grid.id, m.Grid.code).where(
                m.Grid.community_id == cid, m.Grid.valid_to.is_(None)
            )
        ).all()
    )

    def ref(grid_id: int) -> dict[str, Any]:
        return {"id": grid_id, "code": codes[grid_id]}

    params = {"community_id": cid, "snap_deg": snap_m / METRES_PER_DEGREE, **_tolerances()}
    gaps, overlaps, changes, blocked = [], [], [], []
    with _settings(session, jit="off"):
        rows = session.execute(text(REPAIR_SQL), params).all()
    for kind, grid_id, others, shared, area, lost, parts, geojson in rows:
        geometry = json.loads(geojson) if geojson else None
        if kind == "gap":
            to = {**ref(grid_id), "shared_m": round(shared, LENGTH_DIGITS)} if grid_id else None
            gaps.append({"area_m2": _area(area), "to": to, "geometry": geometry})
        elif kind == "overlap":
            overlaps.append(
                {
                    "area_m2": _area(area),
                    "kept_by": ref(grid_id),
                    "cut_from": [ref(o) for o in others],
                    "geometry": geometry,
                }
            )
        elif area > 0 or lost > 0:
            changes.append(
                {
                    **ref(grid_id),
                    "gained_m2": _area(area),
                    "lost_m2": _area(lost),
                    "geometry": geometry,
                }
            )
            if geometry is None:
                blocked.append(f"grid {codes[grid_id]} would be left empty")
            elif parts > 1:
                blocked.append(f"grid {codes[grid_id]} would be left in {parts} parts")
    blocked.extend(
        f"a gap of {g['area_m2']} m² shares no edge with any grid" for g in gaps if not g["to"]
    )
    return {
        "community": code,
        "snap_m": snap_m,
        "applied": False,
        "gaps": sorted(gaps, key=lambda p: -p["area_m2"]),
        "overlaps": sorted(overlaps, key=lambda p: -p["area_m2"]),
        "changes": sorted(changes, key=lambda c: c["code"]),
        "blocked": "; ".join(blocked) or None,
    }


def _write(session: Session, changes: Sequence[dict[str, Any]]) -> None:
    """Write each changed grid like a ``PUT`` (its previous boundary kept as a version)."""
    layer = LAYERS["grids"]
    service_area = get_settings().service_area
    for change in changes:
        feature = get_feature(session, layer, change["id"])
        (candidate,) = prepare(
            layer, [{**feature, "geometry": change["geometry"]}], service_area=service_area
        )
        update(session, layer, change["id"], candidate)


def propose_repair(session: Session, code: str, *, snap_m: float = 0.5) -> dict[str, Any]:
    """The repair of community ``code`` as a preview (see the module's rules): the gaps and
    overlaps and where they go, each changed grid with its new geometry and the area it gains
    and loses, and ``remaining``: the check of the community once repaired (the changes are
    written in a savepoint, checked and rolled back)."""
    proposal = _proposal(session, code, snap_m)
    proposal["before"] = check(session, code)["counts"]
    proposal["remaining"] = None
    if proposal["blocked"] is None:
        savepoint = session.begin_nested()
        try:
            _write(session, proposal["changes"])
            proposal["remaining"] = check(session, code)
        except GridlineError as exc:
            proposal["blocked"] = str(exc)
        finally:
            savepoint.rollback()
    return proposal


def apply_repair(session: Session, code: str, *, snap_m: float = 0.5) -> dict[str, Any]:
    """Apply the repair of community ``code`` in the caller's transaction: each changed grid
    gets a new boundary version from today. ``Conflict`` when it cannot be applied."""
    session.execute(
        select(m.Grid.id)
        .where(m.Grid.community_id == community_id(session, code), m.Grid.valid_to.is_(None))
        .with_for_update()
    )
    proposal = _proposal(session, code, snap_m)
    if proposal["blocked"]:
        raise Conflict(f"the repair of community {code} cannot be applied: {proposal['blocked']}")
    proposal["before"] = check(session, code)["counts"]
    _write(session, proposal["changes"])
    proposal["applied"] = True
    proposal["remaining"] = check(session, code)
    return proposal
