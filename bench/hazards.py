"""Hazard reports: one report over HTTP against raw SQL, bulk import against a plain COPY.

    DATABASE_URL=... python bench/hazards.py [--reports 1000] [--rows 100000] [--repeat 3]

Uses the database as it is (500 generated communities = 10,500 grids; loaded when it holds
fewer grids). For the run, every grid without a current role gets an A worker and a B worker
(the community's grid workers in id order, B being the A of the next grid by code), except
one grid in 50 (by id), whose reports stay unrouted. Then:

1. Single report, p50/p95 of
   - raw SQL (baseline): the routing INSERT ... SELECT of ``geo.hazards.bulk.route_sql`` over
     a one-row VALUES source (point by point, as geo/locate.py) with its event rows, in one
     transaction on one psycopg connection (prepared after five runs, as psycopg does);
   - HTTP floor: the empty endpoint of bench/http_floor.py on the same uvicorn stack;
   - the API's POST /hazards (uvicorn on a free loopback port, keep-alive, http.client,
     signed in as the bench's admin: bench/common.py), which also lists possible duplicates
     and answers the full feature.
   Target: API p50 under 25 ms.
2. Bulk import of N hazards (seeded random points in the grids, as a CSV file), rows per
   second from the CSV bytes to the commit through ``geo.hazards.bulk.import_data``, next to
   - a plain COPY of the same rows into ``hazard`` (its indexes and foreign keys; no routing,
     no checks, no events): the baseline of the target, since that is where the rows must go
     and no import into this table can beat it, and
   - a COPY of the same CSV into a bare staging table without indexes or keys, shown for
     scale: it is about 20 times faster than any write into the real table, so 20% of it is
     out of reach for an import that also routes and audits.
   Each is run ``--repeat`` times, interleaved; medians are compared. Target: the import at
   least 20% of the plain COPY rate.
3. POST /hazards again with the N imported hazards in the table.

Everything it wrote (hazards, their events, the roles it added) is removed at the end, and
``hazard``/``hazard_event`` are vacuumed after every removal or rollback so that dead rows do
not slow the next measurement.
"""

from __future__ import annotations

import argparse
import csv
import http.client
import io
import json
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from common import api_env, auth_headers, free_port, percentiles  # noqa: E402  (bench/ is on sys.path)

from geo import demo, models, seed  # noqa: E402
from geo.db import get_settings, libpq_url, transaction  # noqa: E402
from geo.hazards import bulk  # noqa: E402
from geo.hazards.records import SYSTEM  # noqa: E402

MARK = "bench:hazards"
"""The reporter of every hazard the bench writes; cleanup deletes by it."""
WARM = 100
SEVERITIES = ("low", "medium", "high", "critical")
ORIGINS = ("patrol", "resident", "inspection", "hotline")

ADD_ROLES = """
WITH free AS (
    SELECT grid.id, grid.community_id,
           row_number() OVER (PARTITION BY grid.community_id ORDER BY grid.code) AS n,
           count(*) OVER (PARTITION BY grid.community_id) AS total
    FROM grid
    WHERE grid.valid_to IS NULL AND NOT EXISTS (
        SELECT 1 FROM assignment
        WHERE assignment.grid_id = grid.id
          AND (assignment.valid_to IS NULL OR assignment.valid_to > CURRENT_DATE))),
people AS (
    SELECT id, community_id, row_number() OVER (PARTITION BY community_id ORDER BY id) AS n
    FROM worker WHERE role = 'grid_worker' AND left_on IS NULL),
pairs AS (
    SELECT free.id AS grid_id, a.id AS a_id, b.id AS b_id
    FROM free
    JOIN people AS a ON a.community_id = free.community_id AND a.n = free.n
    JOIN people AS b ON b.community_id = free.community_id AND b.n = free.n % free.total + 1
    WHERE free.id % 50 <> 0 AND free.total > 1)
INSERT INTO assignment (worker_id, grid_id, role, valid_from)
SELECT a_id, grid_id, 'A', CURRENT_DATE FROM pairs
UNION ALL
SELECT b_id, grid_id, 'B', CURRENT_DATE FROM pairs
RETURNING id
"""

POINTS = """
SELECT ST_X(d.geom), ST_Y(d.geom)
FROM grid CROSS JOIN LATERAL ST_Dump(ST_GeneratePoints(grid.geom, %(per_grid)s, %(seed)s)) AS d
WHERE grid.valid_to IS NULL
ORDER BY grid.id, d.path
"""

ONE_ROW = """(SELECT v.*, ST_SetSRID(ST_MakePoint(v.lon, v.lat), 4326) AS geom FROM (VALUES (
    1, 'hazard', %(category)s::text, %(severity)s::text, %(description)s::text,
    %(origin)s::text, %(reporter)s::text, NULL::text, NULL::integer, NULL::timestamptz,
    %(lon)s::float8, %(lat)s::float8)) AS v(line, kind, category, severity, description,
    origin, reporter, reporter_contact, floor, reported_at, lon, lat))"""


def ensure_data(url: str, communities: int) -> int:
    subprocess.run([sys.executable, "-m", "api.cli", "db", "upgrade"], check=True, cwd=ROOT)
    with transaction() as session:
        grids = session.scalar(select(func.count()).select_from(models.Grid))
        if grids < communities * 21:
            data = demo.generate(communities=communities)
            if seed.is_loaded(session, data):
                raise SystemExit("the database holds other demo data; use an empty database")
            seed.load(session, data, details=False)
        return session.scalar(select(func.count()).select_from(models.Grid))


def points(url: str, count: int, seed_: int) -> list[tuple[float, float]]:
    """``count`` seeded random points inside the current grids, in random order."""
    with psycopg.connect(url) as conn:
        grids = conn.execute("SELECT count(*) FROM grid WHERE valid_to IS NULL").fetchone()[0]
        per_grid = -(-count // grids)
        found = conn.execute(POINTS, {"per_grid": per_grid, "seed": seed_}).fetchall()
    random.Random(seed_).shuffle(found)
    return found[:count]


def report_body(lon: float, lat: float, i: int) -> dict:
    return {
        "category": "blocked_corridor",
        "severity": SEVERITIES[i % 4],
        "description": f"楼道堆放杂物 #{i}",
        "lon": lon,
        "lat": lat,
        "origin": "patrol",
        "reporter": MARK,
    }


# --- 1. single reports ---------------------------------------------------------------------


def time_single_sql(url: str, pts: list[tuple[float, float]]) -> list[float]:
    sql = bulk.route_sql(ONE_ROW, by_area=False)
    days = json.dumps(get_settings().deadline_days)
    samples = []
    with psycopg.connect(url, prepare_threshold=5) as conn:
        for i, (lon, lat) in enumerate(pts):
            params = {**report_body(lon, lat, i), "days": days, "note": None, "system": SYSTEM}
            t0 = time.perf_counter()
            with conn.transaction():
                ids = conn.execute(sql, params).fetchone()[0]
            elapsed = (time.perf_counter() - t0) * 1000
            if len(ids) != 1:
                raise SystemExit(f"raw SQL did not route ({lon}, {lat})")
            if i >= WARM:
                samples.append(elapsed)
    return samples


def serve(app: list[str]) -> tuple[subprocess.Popen, http.client.HTTPConnection]:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", *app, "--port", str(port), "--log-level", "warning"],
        cwd=ROOT,
        env=api_env(),
    )
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for _ in range(100):
        try:
            conn.request("GET", "/locate?lon=0&lat=0")
            conn.getresponse().read()
            return server, conn
        except OSError:
            conn.close()
            time.sleep(0.2)
    server.terminate()
    raise SystemExit(f"{app} did not start")


def time_http(app: list[str], pts: list, request: Callable[[int, float, float], tuple]) -> list:
    server, conn = serve(app)
    signed_in = auth_headers()
    samples = []
    try:
        for i, (lon, lat) in enumerate(pts):
            method, path, body, expected = request(i, lon, lat)
            headers = {**signed_in, "Content-Type": "application/json"} if body else signed_in
            t0 = time.perf_counter()
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            answer = response.read()
            elapsed = (time.perf_counter() - t0) * 1000
            if response.status != expected:
                raise SystemExit(f"HTTP {response.status}: {answer[:300]!r}")
            if i >= WARM:
                samples.append(elapsed)
        conn.close()
    finally:
        server.terminate()
        server.wait()
    return samples


def post_report(i: int, lon: float, lat: float) -> tuple:
    return "POST", "/hazards", json.dumps(report_body(lon, lat, i)).encode(), 201


def get_floor(i: int, lon: float, lat: float) -> tuple:
    return "GET", f"/locate?lon={lon!r}&lat={lat!r}", None, 200


# --- 2. bulk import ------------------------------------------------------------------------


def make_csv(pts: list[tuple[float, float]]) -> bytes:
    rng = random.Random(11)
    with psycopg.connect(libpq_url(get_settings().database_url)) as conn:
        categories = [r[0] for r in conn.execute("SELECT code FROM hazard_category WHERE active")]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*bulk.REQUIRED, "floor"])
    for i, (lon, lat) in enumerate(pts):
        writer.writerow(
            [
                repr(lon),
                repr(lat),
                rng.choice(categories),
                rng.choice(SEVERITIES),
                f"批量导入隐患 #{i}",
                rng.choice(ORIGINS),
                MARK,
                rng.choice(("", "", "1", "3", "6")),
            ]
        )
    return out.getvalue().encode()


def time_plain_copy(url: str, data: bytes) -> float:
    with psycopg.connect(url) as conn:
        conn.execute(
            "CREATE TEMPORARY TABLE bare (lon float8, lat float8, category text, severity text,"
            " description text, origin text, reporter text, floor integer)"
        )
        conn.commit()
        t0 = time.perf_counter()
        with conn.cursor().copy("COPY bare FROM STDIN (FORMAT csv, HEADER true)") as copy:
            copy.write(data)
        conn.commit()
        return time.perf_counter() - t0


def time_import(data: bytes) -> tuple[float, bulk.Imported]:
    t0 = time.perf_counter()
    with transaction() as session:
        result = bulk.import_data(session, data, "csv", source="bench/hazards.py")
    return time.perf_counter() - t0, result


def time_copy_into_hazard(url: str, pts: list[tuple[float, float]]) -> float:
    """COPY straight into hazard (then rolled back): what its indexes and keys cost alone."""
    columns = "kind, community_id, category, severity, description, origin, reporter, state, "
    with psycopg.connect(url) as conn:
        community = conn.execute("SELECT min(id) FROM community").fetchone()[0]
        t0 = time.perf_counter()
        with conn.cursor().copy(f"COPY hazard ({columns} deadline, geom) FROM STDIN") as copy:
            for i, (lon, lat) in enumerate(pts):
                copy.write_row(
                    (
                        "hazard",
                        community,
                        "other",
                        "low",
                        f"批量导入隐患 #{i}",
                        "patrol",
                        MARK,
                        "reported",
                        "2099-01-01T00:00:00Z",
                        f"SRID=4326;POINT({lon!r} {lat!r})",
                    )
                )
        elapsed = time.perf_counter() - t0
        conn.rollback()
    vacuum(url)
    return elapsed


# --- cleanup -------------------------------------------------------------------------------


def remove_hazards(url: str) -> int:
    """Delete the bench's hazards and their events (history rows: trigger off meanwhile).

    hazard.duplicate_of_id references hazard without an index, so deleting many hazards
    would scan the table once per row; a temporary index, dropped in the same transaction,
    avoids that.
    """
    with psycopg.connect(url) as conn:
        conn.execute("SET LOCAL statement_timeout = 0")
        conn.execute("CREATE INDEX bench_hazard_duplicate_of ON hazard (duplicate_of_id)")
        conn.execute("ALTER TABLE hazard_event DISABLE TRIGGER hazard_event_is_history")
        conn.execute(
            "DELETE FROM hazard_event WHERE hazard_id IN"
            " (SELECT id FROM hazard WHERE reporter = %s)",
            [MARK],
        )
        conn.execute("ALTER TABLE hazard_event ENABLE TRIGGER hazard_event_is_history")
        gone = conn.execute("DELETE FROM hazard WHERE reporter = %s", [MARK]).rowcount
        conn.execute("DROP INDEX bench_hazard_duplicate_of")
    vacuum(url)
    return gone


def vacuum(url: str) -> None:
    """Reclaim dead rows (deleted or rolled back), which every later seq scan would read."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE) hazard")
        conn.execute("VACUUM (ANALYZE) hazard_event")


def remove_roles(url: str, ids: list[int]) -> None:
    with psycopg.connect(url) as conn:
        conn.execute("DELETE FROM assignment WHERE id = ANY(%s)", [ids])


# --- report --------------------------------------------------------------------------------


def line(name: str, samples: list[float], base: float) -> None:
    p50, p95 = percentiles(samples)
    print(f"  {name:44}{p50:9.2f}{p95:9.2f}{p50 / base:10.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--communities", type=int, default=500)
    parser.add_argument("--reports", type=int, default=1000)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    url = libpq_url(get_settings().database_url)
    grids = ensure_data(url, args.communities)
    with psycopg.connect(url) as conn:
        roles = [r[0] for r in conn.execute(ADD_ROLES).fetchall()]
    try:
        run(url, grids, len(roles), args)
    finally:
        removed = remove_hazards(url)
        remove_roles(url, roles)
        print(f"cleanup: {removed} hazards with their events and {len(roles)} roles removed")


def run(url: str, grids: int, roles: int, args: argparse.Namespace) -> None:
    print(f"{grids} grids, {roles} roles added for the run")
    vacuum(url)
    singles = points(url, WARM + args.reports, seed_=5)
    raw = time_single_sql(url, singles)
    floor = time_http(["--app-dir", str(ROOT / "bench"), "http_floor:app"], singles, get_floor)
    api = time_http(["api.app:app"], singles, post_report)
    remove_hazards(url)

    rows = points(url, args.rows, seed_=7)
    data = make_csv(rows)
    with transaction() as session:
        categories = bulk.categories(session)
    t0 = time.perf_counter()
    bulk.parse(data, "csv", categories)
    parse_s = time.perf_counter() - t0
    copies, imports, floors = [], [], []
    result = None
    for attempt in range(args.repeat):
        copies.append(time_plain_copy(url, data))
        floors.append(time_copy_into_hazard(url, rows))
        seconds, result = time_import(data)
        imports.append(seconds)
        if attempt < args.repeat - 1:
            remove_hazards(url)
    assert result is not None
    loaded = time_http(["api.app:app"], singles, post_report)

    print(f"\n1. single report ({args.reports} reports, random points in the grids)")
    print(f"  {'':44}{'p50 ms':>9}{'p95 ms':>9}{'p50 ratio':>11}")
    base = percentiles(raw)[0]
    line("raw SQL: routing INSERT + events (baseline)", raw, base)
    line("HTTP floor (empty endpoint)", floor, base)
    line("API POST /hazards", api, base)
    line(f"API POST /hazards, {len(result.ids):,} more hazards", loaded, base)
    api50 = percentiles(api)[0]
    verdict = "holds" if api50 < 25 else "does not hold"
    print(f"  API p50 {api50:.2f} ms, target < 25 ms: {verdict}")

    n = len(rows)
    copy_s, import_s, floor_s = (statistics.median(x) for x in (copies, imports, floors))
    print(
        f"\n2. bulk import of {n:,} hazards over {grids:,} grids "
        f"({len(data) / 1e6:.1f} MB CSV; {result.dispatched:,} dispatched, "
        f"{result.unrouted:,} unrouted); medians of {args.repeat} runs"
    )
    print(f"  {'':44}{'seconds':>9}{'rows/s':>11}{'share':>9}")
    for name, seconds in (
        ("plain COPY into hazard (baseline)", floor_s),
        ("COPY into a bare staging table (for scale)", copy_s),
        ("bulk import: checks, COPY, routing, events", import_s),
    ):
        print(f"  {name:44}{seconds:9.2f}{n / seconds:11,.0f}{floor_s / seconds:9.1%}")
    print(f"  of which reading and checking the CSV in Python: {parse_s:.2f} s")
    runs = ", ".join(f"{s:.2f}" for s in imports)
    print(f"  bulk import runs: {runs} s; COPY runs: {', '.join(f'{s:.2f}' for s in copies)} s")
    share = floor_s / import_s
    verdict = "holds" if share >= 0.2 else "does not hold"
    print(f"  import rate / plain COPY into hazard = {share:.1%}, target >= 20%: {verdict}")
    print(f"  import rate / COPY into a bare table = {copy_s / import_s:.1%}")


if __name__ == "__main__":
    main()
