"""Bulk import of hazards from CSV or GeoJSON: all or nothing, routed set-based in SQL.

Rows are checked in Python (numbers, NaN, ranges, swapped lon/lat, catalogue, severity,
origin, kind, floor, date, text lengths), converted from GCJ-02 when asked, loaded with COPY
into a temporary staging table, then written by one statement: an ``INSERT ... SELECT`` that
routes every point with the rule of :mod:`geo.locate` and :func:`geo.hazards.records.report`
(the community with the smallest code, in it the current grid with the smallest code and the
compound and building with the smallest id containing the point; the grid's current A worker
as assignee, its B with the smallest id as backup), and an ``INSERT ... SELECT`` of the event
rows ("reported", then "dispatched" or "unrouted"), both in one savepoint.

A bad row, a point outside every community or a ``reported_at`` in the future refuses the
whole file, naming every bad row: CSV rows are numbered as in the file (the header is row 1,
as in a spreadsheet), GeoJSON features by their index in ``features``. A ``reported_at``
without a UTC offset is read in the database session's time zone. An import by an account
(``by``) is refused whole, with Forbidden naming the rows, when any row is routed outside the
area the account serves.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from geo import models as m
from geo.accounts import Principal
from geo.crs import gcj02_to_wgs84, is_wgs84
from geo.db import get_settings
from geo.errors import FeatureProblem, FeaturesRejected, Forbidden, InvalidInput
from geo.hazards.records import SYSTEM, area_of, scope_sql
from geo.locate import to_wgs84

Format = Literal["csv", "geojson"]

REQUIRED = ("lon", "lat", "category", "severity", "description", "origin", "reporter")
OPTIONAL = ("kind", "reporter_contact", "floor", "reported_at")
STAGE_COLUMNS = (
    "line",
    "kind",
    "category",
    "severity",
    "description",
    "origin",
    "reporter",
    "reporter_contact",
    "floor",
    "reported_at",
    "lon",
    "lat",
)
SEVERITIES = tuple(s.value for s in m.Severity)
ORIGINS = tuple(o.value for o in m.Origin)
KINDS = tuple(k.value for k in m.CaseKind)
DESCRIPTION_MAX = 4000
NAME_MAX = 200
FLOOR_RANGE = (-10, 200)


@dataclass(frozen=True)
class RowProblem(FeatureProblem):
    """A bad row: ``index`` is its row number (CSV) or feature index (GeoJSON)."""

    def __str__(self) -> str:
        return f"{self.label}: {self.reason}"


class RowsRejected(FeaturesRejected):
    """Bad rows refused the whole import; nothing was written."""

    def __init__(self, problems: list[FeatureProblem]) -> None:
        super().__init__(problems)
        head = "; ".join(str(p) for p in problems[:3])
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        self.args = (f"{len(problems)} bad row(s), nothing imported: {head}{more}",)


@dataclass
class Parsed:
    """Checked rows in staging column order (lon/lat as given) and the bad rows."""

    unit: str
    rows: list[tuple] = field(default_factory=list)
    problems: list[FeatureProblem] = field(default_factory=list)

    def label(self, index: int) -> str:
        return f"{self.unit} {index}"

    def reject(self, index: int, reasons: list[str]) -> None:
        self.problems.append(RowProblem(index, self.label(index), "; ".join(reasons)))


@dataclass(frozen=True)
class Imported:
    """What an import wrote: hazard ids in file order, and how they were routed."""

    ids: list[int]
    dispatched: int
    unrouted: int
    blind_zone: int

    def summary(self) -> dict[str, Any]:
        return {
            "imported": len(self.ids),
            "first_id": self.ids[0] if self.ids else None,
            "last_id": self.ids[-1] if self.ids else None,
            "dispatched": self.dispatched,
            "unrouted": self.unrouted,
            "blind_zone": self.blind_zone,
        }


# --- checking one row ----------------------------------------------------------------------


def _number(value: Any, name: str, why: list[str], strict: bool) -> float | None:
    if value is None or value == "":
        why.append(f"{name} missing")
        return None
    if isinstance(value, bool) or (strict and not isinstance(value, int | float)):
        why.append(f"{name} {value!r} is not a number")
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        why.append(f"{name} {value!r} is not a number")
        return None
    except OverflowError:  # a JSON integer beyond the float range
        number = math.inf
    if math.isnan(number):
        why.append(f"{name} is NaN")
    elif math.isinf(number):
        why.append(f"{name} is infinite")
    else:
        return number
    return None


def _text(value: Any, name: str, why: list[str], limit: int, required: bool) -> str | None:
    if value is not None and not isinstance(value, str):
        why.append(f"{name} must be text")
        return None
    text = (value or "").strip()
    if not text:
        if required:
            why.append(f"{name} missing")
        return None
    if len(text) > limit:
        why.append(f"{name} longer than {limit} characters")
    if "\x00" in text:
        why.append(f"{name} contains a NUL character")
    return text


def _choice(value: Any, name: str, allowed: tuple[str, ...], why: list[str]) -> str | None:
    text = _text(value, name, why, NAME_MAX, required=True)
    if text is not None and text not in allowed:
        why.append(f"{name} {text!r} unknown; use one of {', '.join(allowed)}")
    return text


def _floor(value: Any, why: list[str]) -> int | None:
    if value is None or value == "":
        return None
    try:
        if isinstance(value, bool | float):
            raise ValueError
        floor = int(value)
    except (TypeError, ValueError):
        why.append(f"floor {value!r} is not a whole number")
        return None
    if not FLOOR_RANGE[0] <= floor <= FLOOR_RANGE[1]:
        why.append(f"floor {floor} out of range [{FLOOR_RANGE[0]}, {FLOOR_RANGE[1]}]")
    return floor


def _moment(value: Any, why: list[str]) -> dt.datetime | None:
    if value is None or value == "":
        return None
    try:
        if not isinstance(value, str):
            raise TypeError
        return dt.datetime.fromisoformat(value.strip())
    except (TypeError, ValueError):
        why.append(f"reported_at {value!r} is not an ISO 8601 date-time")
        return None


def check_row(
    get: Callable[[str], Any], line: int, categories: frozenset[str], strict: bool = False
) -> tuple[tuple | None, list[str]]:
    """One row in staging column order, or None and the reasons it is bad.

    ``get`` returns a field's raw value (None when absent); ``strict`` wants JSON numbers for
    lon/lat (GeoJSON) where CSV gives text.
    """
    why: list[str] = []
    lon = _number(get("lon"), "lon", why, strict)
    lat = _number(get("lat"), "lat", why, strict)
    if lon is not None and lat is not None:
        try:
            to_wgs84(lon, lat, "wgs84")
        except InvalidInput as exc:
            why.append(str(exc))
    category = _text(get("category"), "category", why, NAME_MAX, required=True)
    if category is not None and category not in categories:
        why.append(f"category {category!r} is not in the catalogue")
    severity = _choice(get("severity"), "severity", SEVERITIES, why)
    origin = _choice(get("origin"), "origin", ORIGINS, why)
    kind = _choice(get("kind") or "hazard", "kind", KINDS, why)
    description = _text(get("description"), "description", why, DESCRIPTION_MAX, required=True)
    reporter = _text(get("reporter"), "reporter", why, NAME_MAX, required=True)
    contact = _text(get("reporter_contact"), "reporter_contact", why, NAME_MAX, required=False)
    floor = _floor(get("floor"), why)
    reported_at = _moment(get("reported_at"), why)
    if why:
        return None, why
    row = (line, kind, category, severity, description, origin, reporter, contact, floor)
    return (*row, reported_at, lon, lat), why


# --- reading files -------------------------------------------------------------------------


def parse_csv(text: str, categories: frozenset[str]) -> Parsed:
    """Rows of a CSV with a header row; unknown columns are refused (they are usually typos)."""
    parsed = Parsed("row")
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff")))
    try:
        header = next(reader, None)
        if header is None:
            raise InvalidInput("the CSV is empty")
        names = [h.strip().lower() for h in header]
        _check_header(names)
        width = len(names)
        last = reader.line_num
        for record in reader:
            line, last = last + 1, reader.line_num
            if not any(v.strip() for v in record):
                continue
            if len(record) != width:
                parsed.reject(line, [f"{len(record)} values where the header has {width}"])
                continue
            values = dict(zip(names, (v.strip() for v in record), strict=True))
            row, why = check_row(values.get, line, categories)
            if row is None:
                parsed.reject(line, why)
            else:
                parsed.rows.append(row)
    except csv.Error as exc:
        raise InvalidInput(f"row {reader.line_num}: unreadable CSV ({exc})") from None
    return parsed


def _check_header(names: list[str]) -> None:
    missing = [n for n in REQUIRED if n not in names]
    unknown = [n for n in names if n not in REQUIRED + OPTIONAL]
    repeated = sorted({n for n in names if names.count(n) > 1})
    problems = []
    if missing:
        problems.append(f"missing column(s) {', '.join(missing)}")
    if unknown:
        problems.append(f"unknown column(s) {', '.join(unknown)}")
    if repeated:
        problems.append(f"repeated column(s) {', '.join(repeated)}")
    if problems:
        expected = ", ".join(REQUIRED) + " [, " + ", ".join(OPTIONAL) + "]"
        raise InvalidInput(f"CSV header: {'; '.join(problems)}; expected {expected}")


def parse_geojson(obj: Any, categories: frozenset[str]) -> Parsed:
    """Point features of a FeatureCollection; properties other than the columns are ignored."""
    if not isinstance(obj, dict) or obj.get("type") != "FeatureCollection":
        raise InvalidInput("expected a GeoJSON FeatureCollection of Points")
    features = obj.get("features")
    if not isinstance(features, list):
        raise InvalidInput("the FeatureCollection has no features list")
    declared = obj.get("crs")
    name = declared.get("properties", {}).get("name") if isinstance(declared, dict) else None
    if declared is not None and not (isinstance(name, str) and is_wgs84(name)):
        raise InvalidInput("hazards are imported in WGS84 (or GCJ-02 with from_gcj02) only")
    parsed = Parsed("feature")
    for index, feature in enumerate(features):
        point, why = _point(feature)
        if point is None:
            parsed.reject(index, why)
            continue
        props = dict(feature.get("properties") or {}, lon=point[0], lat=point[1])
        row, why = check_row(props.get, index, categories, strict=True)
        if row is None:
            parsed.reject(index, why)
        else:
            parsed.rows.append(row)
    return parsed


def _point(feature: Any) -> tuple[tuple[Any, Any] | None, list[str]]:
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        return None, ["not a GeoJSON Feature"]
    if not isinstance(feature.get("properties") or {}, dict):
        return None, ["properties must be an object"]
    geometry = feature.get("geometry")
    kind = geometry.get("type") if isinstance(geometry, dict) else None
    if kind != "Point":
        return None, [f"geometry must be a Point, got {kind or 'none'}"]
    coords = geometry.get("coordinates")
    if not isinstance(coords, list) or len(coords) not in (2, 3):
        return None, ["Point coordinates must be [lon, lat]"]
    return (coords[0], coords[1]), []


def parse(data: bytes | str | Mapping, fmt: Format, categories: frozenset[str]) -> Parsed:
    """Parse a request body or file content; a mapping is an already decoded GeoJSON object."""
    if fmt == "csv":
        try:
            text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
        except UnicodeDecodeError as exc:
            reason = f"{exc.reason} at byte {exc.start}"
            raise InvalidInput(f"the CSV is not UTF-8 text ({reason})") from None
        if not isinstance(text, str):
            raise InvalidInput("a CSV import needs text")
        return parse_csv(text, categories)
    if fmt == "geojson":
        if isinstance(data, bytes | str):
            try:
                data = json.loads(data)
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise InvalidInput(f"not valid JSON ({exc})") from None
        return parse_geojson(data, categories)
    raise InvalidInput(f"format {fmt!r} unknown; use csv or geojson")


def format_of(path: Path) -> Format:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".geojson", ".json"):
        return "geojson"
    raise InvalidInput(f"{path.name}: hazards are imported from .csv or .geojson files")


# --- writing -------------------------------------------------------------------------------

STAGE_SQL = """
CREATE TEMPORARY TABLE hazard_stage (
    line integer NOT NULL, kind text, category text, severity text, description text,
    origin text, reporter text, reporter_contact text, floor integer,
    reported_at timestamptz, lon double precision, lat double precision,
    geom geometry(Point, 4326)
        GENERATED ALWAYS AS (ST_SetSRID(ST_MakePoint(lon, lat), 4326)) STORED
) ON COMMIT DROP
"""

TIMEOUT_MS_PER_ROW = 1
"""The import statement may run this much longer than other statements, per row."""

AREA_ROUTING_SHARE = 3
"""Route area by area (each polygon probes a GiST index on the staged points) rather than
point by point (each point probes the polygons' indexes) once the rows number at least a third
of the polygons: measured on 10,500 grids, the two cross between 3,000 and 10,000 rows."""

POLYGONS_SQL = """
SELECT coalesce(sum(greatest(reltuples, 0)), 0) FROM pg_class
WHERE oid IN ('community'::regclass, 'grid'::regclass, 'compound'::regclass,
              'building'::regclass)
"""

_ASSIGNED = """
    LEFT JOIN LATERAL (
        SELECT min(worker_id) FILTER (WHERE role = 'A') AS a,
               min(worker_id) FILTER (WHERE role = 'B') AS b
        FROM assignment
        WHERE assignment.grid_id = g.id AND assignment.valid_from <= CURRENT_DATE
          AND (assignment.valid_to IS NULL OR assignment.valid_to > CURRENT_DATE)) AS r ON true
    WHERE s.reported_at IS NULL OR s.reported_at <= now()"""

_ROUTED = """routed AS (
    SELECT s.line, s.kind, s.category, s.severity, s.description, s.origin, s.reporter,
           s.reporter_contact, s.floor, coalesce(s.reported_at, now()) AS reported_at, s.geom,
           c.id AS community_id, g.id AS grid_id, k.id AS compound_id, b.id AS building_id,
           r.a, r.b
    FROM {source} AS s"""

POINT_ROUTING = (
    _ROUTED
    + """
    CROSS JOIN LATERAL (
        SELECT community.id FROM community
        WHERE ST_Intersects(community.geom, s.geom)
        ORDER BY community.code LIMIT 1) AS c
    LEFT JOIN LATERAL (
        SELECT grid.id FROM grid
        WHERE grid.valid_to IS NULL AND grid.community_id = c.id
          AND ST_Intersects(grid.geom, s.geom)
        ORDER BY grid.code LIMIT 1) AS g ON true
    LEFT JOIN LATERAL (
        SELECT compound.id FROM compound
        WHERE compound.community_id = c.id AND ST_Intersects(compound.geom, s.geom)
        ORDER BY compound.id LIMIT 1) AS k ON true
    LEFT JOIN LATERAL (
        SELECT building.id FROM building
        WHERE building.community_id = c.id AND ST_Intersects(building.geom, s.geom)
        ORDER BY building.id LIMIT 1) AS b ON true"""
    + _ASSIGNED
    + ")"
)
"""Routing by one index probe per point and level, as geo/locate.py does."""


def _first_area(name: str, table: str, order: str, current: str = "true") -> str:
    """Per staged point, the first area of ``table`` (by ``order``) in the point's community.

    The hits are materialised first, and OFFSET 0 keeps the lateral subquery from being
    flattened, so that every area probes the points' index once (the planner would otherwise
    probe the areas' index once per point, several times slower).
    """
    return f"""{name}_hits AS MATERIALIZED (
    SELECT s.line, {table}.id, {table}.community_id, {table}.{order} AS rank
    FROM {table}
    CROSS JOIN LATERAL (
        SELECT line FROM {{source}} AS s WHERE ST_Intersects({table}.geom, s.geom)
        OFFSET 0) AS s
    WHERE {current}),
{name} AS (
    SELECT DISTINCT ON (h.line) h.line, h.id
    FROM {name}_hits AS h JOIN c ON c.line = h.line AND c.id = h.community_id
    ORDER BY h.line, h.rank)"""


AREA_ROUTING = f"""c AS (
    SELECT DISTINCT ON (s.line) s.line, community.id
    FROM community
    CROSS JOIN LATERAL (
        SELECT line FROM {{source}} AS s WHERE ST_Intersects(community.geom, s.geom)
        OFFSET 0) AS s
    ORDER BY s.line, community.code),
{_first_area("g", "grid", "code", "grid.valid_to IS NULL")},
{_first_area("k", "compound", "id")},
{_first_area("b", "building", "id")},
{_ROUTED}
    JOIN c ON c.line = s.line
    LEFT JOIN g ON g.line = s.line
    LEFT JOIN k ON k.line = s.line
    LEFT JOIN b ON b.line = s.line{_ASSIGNED})"""
"""The same rule area by area: every polygon finds its staged points; per point, the
community with the smallest code, then in it the grid with the smallest code, the compound
and the building with the smallest id. Needs a GiST index on the source's geom."""

WRITE = """
ins AS (
    INSERT INTO hazard (kind, community_id, grid_id, compound_id, building_id, floor, category,
                        severity, description, origin, reporter, reporter_contact, state,
                        assignee_id, backup_id, blind_zone, reported_at, deadline, geom)
    SELECT kind, community_id, grid_id, compound_id, building_id, floor, category, severity,
           description, origin, reporter, reporter_contact,
           CASE WHEN a IS NULL THEN 'reported' ELSE 'dispatched' END,
           a, CASE WHEN a IS NOT NULL THEN b END, grid_id IS NULL, reported_at,
           reported_at + make_interval(secs => (%(days)s::jsonb ->> severity)::float8 * 86400),
           geom
    FROM routed ORDER BY line
    RETURNING id, reporter, reported_at, state, grid_id, assignee_id, blind_zone
),
events AS (
    INSERT INTO hazard_event (hazard_id, at, actor, action, from_state, to_state, note)
    SELECT ins.id, e.at, e.actor, e.action, e.from_state, e.to_state, e.note
    FROM ins
    LEFT JOIN grid ON grid.id = ins.grid_id
    LEFT JOIN worker ON worker.id = ins.assignee_id
    CROSS JOIN LATERAL (VALUES
        (1, ins.reported_at, ins.reporter, 'reported', NULL, 'reported', %(note)s::text),
        (2, now(), %(system)s::text,
         CASE WHEN ins.assignee_id IS NULL THEN 'unrouted' ELSE 'dispatched' END,
         'reported', ins.state,
         CASE WHEN ins.assignee_id IS NOT NULL
              THEN 'routed to grid ' || grid.code || ': A ' || worker.name
              WHEN ins.blind_zone THEN 'blind zone: in no grid; community office queue'
              ELSE 'the grid has no A worker; community office queue' END)
    ) AS e(seq, at, actor, action, from_state, to_state, note)
    ORDER BY ins.id, e.seq
)
SELECT coalesce(array_agg(id ORDER BY id), '{}'),
       count(*) FILTER (WHERE assignee_id IS NOT NULL),
       count(*) FILTER (WHERE assignee_id IS NULL),
       count(*) FILTER (WHERE blind_zone)
FROM ins
"""


def route_sql(source: str, by_area: bool = False) -> str:
    """One statement: the routing INSERT ... SELECT of hazards and the INSERT ... SELECT of
    their events, over ``source``.

    ``source`` is a FROM item with the staging columns and ``geom`` (indexed when
    ``by_area``). Parameters: ``days`` (JSON of the deadline days by severity), ``note`` (of
    the "reported" events), ``system`` (actor of the routing events). Rows outside every
    community or reported in the future are left out; the caller compares counts. Answers the
    new ids (in row order) and how many were dispatched, unrouted and in a blind zone.
    """
    routing = AREA_ROUTING if by_area else POINT_ROUTING
    return "WITH " + routing.format(source=source) + "," + WRITE


PLACEMENT_SQL = """
SELECT line, lon, lat, reported_at, future, inside,
       NOT inside AND EXISTS (
           SELECT 1 FROM community
           WHERE ST_Intersects(community.geom, ST_SetSRID(ST_MakePoint(lat, lon), 4326)))
FROM (
    SELECT s.line, s.lon, s.lat, s.reported_at, coalesce(s.reported_at > now(), false) AS future,
           EXISTS (
               SELECT 1 FROM community
               WHERE ST_Intersects(community.geom, s.geom)) AS inside
    FROM hazard_stage AS s) AS checked
WHERE future OR NOT inside
ORDER BY line
"""


def categories(session: Session) -> frozenset[str]:
    """Codes of the active categories of the catalogue."""
    query = select(m.HazardCategory.code).where(m.HazardCategory.active)
    return frozenset(session.scalars(query))


def import_hazards(
    session: Session,
    parsed: Parsed,
    *,
    from_gcj02: bool = False,
    source: str = "bulk import",
    by_area: bool | None = None,
    by: Principal | None = None,
) -> Imported:
    """Write the parsed rows, routed, with their events; RowsRejected names every bad row,
    Forbidden every row outside the area ``by`` serves (nothing is written either way).

    ``by_area`` picks the routing plan (default: see AREA_ROUTING_SHARE); both give the same
    answer.
    """
    if not parsed.rows and not parsed.problems:
        raise InvalidInput("no hazards to import")
    rows = _to_wgs84(parsed.rows) if from_gcj02 else parsed.rows
    with session.begin_nested():
        cursor = session.connection().connection.driver_connection.cursor()
        if by_area is None:
            cursor.execute(POLYGONS_SQL)
            by_area = len(rows) * AREA_ROUTING_SHARE >= cursor.fetchone()[0]
        _stage(cursor, rows, index=by_area)
        if parsed.problems:
            raise RowsRejected(_merge(parsed.problems, _placement(cursor, parsed)))
        params = {
            "days": json.dumps(get_settings().deadline_days),
            "note": f"imported from {source}"[:4000],
            "system": SYSTEM,
        }
        budget_ms = get_settings().statement_timeout_ms + len(rows) * TIMEOUT_MS_PER_ROW
        with _settings(cursor, jit="off", work_mem="64MB", statement_timeout=str(budget_ms)):
            cursor.execute(route_sql("hazard_stage", by_area), params)
            ids, dispatched, unrouted, blind = cursor.fetchone()
        if len(ids) != len(rows):
            raise RowsRejected(_placement(cursor, parsed))
        if by is not None:
            _check_reach(cursor, by, parsed, ids)
        cursor.execute("DROP TABLE hazard_stage")
    return Imported(list(ids), dispatched, unrouted, blind)


@contextmanager
def _settings(cursor: Any, **values: str) -> Iterator[None]:
    """Transaction-local settings for one statement, put back afterwards (a rolled-back
    savepoint puts them back by itself)."""
    before = {}
    for name, value in values.items():
        cursor.execute("SELECT current_setting(%s), set_config(%s, %s, true)", (name, name, value))
        before[name] = cursor.fetchone()[0]
    yield
    for name, value in before.items():
        cursor.execute("SELECT set_config(%s, %s, true)", (name, value))


def import_data(
    session: Session,
    data: bytes | str | Mapping,
    fmt: Format,
    *,
    from_gcj02: bool = False,
    source: str = "bulk import",
    by: Principal | None = None,
) -> Imported:
    """Parse and import a CSV or GeoJSON body in the caller's transaction (by account ``by``)."""
    parsed = parse(data, fmt, categories(session))
    return import_hazards(session, parsed, from_gcj02=from_gcj02, source=source, by=by)


def import_file(session: Session, path: Path, *, from_gcj02: bool = False) -> Imported:
    """Import a .csv or .geojson file in the caller's transaction."""
    fmt = format_of(path)
    if not path.is_file():
        raise InvalidInput(f"{path}: no such file")
    return import_data(session, path.read_bytes(), fmt, from_gcj02=from_gcj02, source=path.name)


def _to_wgs84(rows: list[tuple]) -> list[tuple]:
    """Rows with lon/lat (the last two values) taken from GCJ-02 to WGS84, vectorised."""
    if not rows:
        return rows
    coords = np.array([row[-2:] for row in rows], dtype=float)
    lon, lat = gcj02_to_wgs84(coords[:, 0], coords[:, 1])
    return [(*row[:-2], x, y) for row, x, y in zip(rows, lon.tolist(), lat.tolist(), strict=True)]


def _stage(cursor: Any, rows: list[tuple], index: bool) -> None:
    cursor.execute(STAGE_SQL)
    with cursor.copy(f"COPY hazard_stage ({', '.join(STAGE_COLUMNS)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    if index:
        cursor.execute("CREATE INDEX ON hazard_stage USING gist (geom)")


def _placement(cursor: Any, parsed: Parsed) -> list[FeatureProblem]:
    """Staged rows outside every community or reported in the future."""
    cursor.execute(PLACEMENT_SQL)
    problems: list[FeatureProblem] = []
    for line, lon, lat, reported_at, future, inside, swapped in cursor.fetchall():
        why = []
        if not inside:
            hint = "; lon and lat look swapped" if swapped else ""
            why.append(f"point ({lon:g}, {lat:g}) is outside every community{hint}")
        if future:
            why.append(f"reported_at {reported_at.astimezone(dt.UTC).isoformat()} is in the future")
        problems.append(RowProblem(line, parsed.label(line), "; ".join(why)))
    return problems


def _check_reach(cursor: Any, by: Principal, parsed: Parsed, ids: list[int]) -> None:
    """Forbidden naming the rows just written outside the area ``by`` serves (the caller's
    savepoint then undoes the whole import). ``ids`` are in row order."""
    cursor.execute(
        f"SELECT id FROM hazard WHERE id = ANY(%s) AND NOT ({scope_sql(by.scope)}) ORDER BY id",
        (ids,),
    )
    line_of = {hazard_id: row[0] for hazard_id, row in zip(ids, parsed.rows, strict=True)}
    labels = [parsed.label(line_of[hazard_id]) for (hazard_id,) in cursor.fetchall()]
    if labels:
        more = f" (and {len(labels) - 3} more)" if len(labels) > 3 else ""
        raise Forbidden(
            f"{len(labels)} row(s) outside {area_of(by)}, nothing imported: "
            f"{', '.join(labels[:3])}{more}"
        )


def _merge(*groups: list[FeatureProblem]) -> list[FeatureProblem]:
    return sorted((p for group in groups for p in group), key=lambda p: p.index)
