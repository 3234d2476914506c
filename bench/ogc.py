"""OGC API Features and vector tiles: Gridline against tipg and raw SQL, same run.

    DATABASE_URL=... python bench/ogc.py [--requests 200] [--seed 7] [--skip-load]

Needs tipg and httpx (``pip install -e '.[bench,dev]'``). The database (by default
``gridline_bench``, made by ``scripts/local-postgis gridline_bench``) gets 500 generated
communities (10,500 grids) and 1,000,000 hazards when it holds fewer: the missing hazards are
inserted in one INSERT ... SELECT, points spread evenly over the grids by ST_GeneratePoints
(seeded), then the table is vacuumed and analysed. ``--skip-load`` uses the database as it is.

Gridline (``api.app:app``) and tipg (``tipg.main:app``, publishing ``public.grid`` and
``public.hazard`` with the columns Gridline publishes) run one after the other under uvicorn,
one worker each, on a free loopback port; each is warmed up, then asked ``--requests`` times
with one keep-alive httpx client (gzip accepted, as a browser or QGIS would) for:

- grid items, a random bbox of about 1 km² inside the communities' extent, limit 100;
- hazard items, a random bbox of about 0.25 km² (some 1,900 hazards a km² inside the grids,
  which cover two thirds of the extent), limit 100;
- a grids vector tile at zoom 13 (a random tile over the extent).

The same seeded bboxes and tiles go to both servers and to the baseline: the equivalent SQL
(features as GeoJSON text with ST_AsGeoJSON, ST_Intersects, ORDER BY id LIMIT 100, then the
count; ST_AsMVT for tiles) on one psycopg connection, prepared after five runs. It prints
p50/p95 of each and the p50 ratios, and checks on a few bboxes that both servers match and
return the same features.

Target: Gridline's p50 no higher than tipg's for items.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from common import api_env, auth_headers, free_port, percentiles  # noqa: E402  (bench/ is on sys.path)

from geo.db import get_settings, libpq_url  # noqa: E402

COMMUNITIES = 500
GRIDS = COMMUNITIES * 21
HAZARDS = 1_000_000
DEMO_LOAD = ["demo", "load", "--communities", str(COMMUNITIES), "--no-details"]
MARK = "bench:ogc"
"""The reporter of the hazards this bench inserts."""
WARM = 30
CHECKS = 5
ZOOM = 13
KM_PER_DEGREE = 111.32

GRID_COLUMNS = ["code", "name", "community_id", "households", "population", "valid_from"]
HAZARD_COLUMNS = [
    "kind",
    "category",
    "severity",
    "state",
    "origin",
    "community_id",
    "grid_id",
    "reported_at",
    "deadline",
    "closed_at",
]
"""What tipg publishes: Gridline's properties, with ids where Gridline joins for codes."""

INSERT_HAZARDS = """
WITH points AS (
    SELECT grid.id AS grid_id, grid.community_id, d.geom
    FROM grid CROSS JOIN LATERAL ST_Dump(ST_GeneratePoints(grid.geom, %(per_grid)s, %(seed)s)) d
    WHERE grid.valid_to IS NULL
    ORDER BY grid.id, d.path
    LIMIT %(missing)s),
drawn AS (
    SELECT points.*, random() AS r, now() - random() * interval '365 days' AS at
    FROM points)
INSERT INTO hazard (kind, community_id, grid_id, category, severity, description, origin,
                    reporter, state, deadline, reported_at, geom)
SELECT CASE WHEN r < 0.1 THEN 'case' ELSE 'hazard' END,
       community_id, grid_id,
       (%(categories)s::text[])[1 + floor(random() * cardinality(%(categories)s::text[]))::int],
       (ARRAY['low', 'medium', 'high', 'critical'])[1 + floor(random() * 4)::int],
       'bench/ogc.py',
       (ARRAY['patrol', 'resident', 'inspection', 'hotline'])[1 + floor(random() * 4)::int],
       %(mark)s,
       (ARRAY['reported', 'dispatched', 'rectifying', 'rectified', 'verified', 'rejected',
              'duplicate'])[1 + floor(random() * 7)::int],
       at + (1 + floor(random() * 30)::int) * interval '1 day',
       at,
       geom
FROM drawn
"""

GRID_ITEMS = """
SELECT json_build_object('type', 'Feature', 'id', g.id,
    'geometry', ST_AsGeoJSON(g.geom, 7)::json,
    'properties', json_build_object('code', g.code, 'name', g.name, 'community', c.code,
        'households', g.households, 'population', g.population,
        'valid_from', g.valid_from))::text
FROM grid g JOIN community c ON c.id = g.community_id
WHERE g.valid_to IS NULL AND ST_Intersects(g.geom, ST_MakeEnvelope(%s, %s, %s, %s, 4326))
ORDER BY g.id LIMIT 100
"""
GRID_COUNT = """
SELECT count(*) FROM grid g
WHERE g.valid_to IS NULL AND ST_Intersects(g.geom, ST_MakeEnvelope(%s, %s, %s, %s, 4326))
"""
HAZARD_ITEMS = """
SELECT json_build_object('type', 'Feature', 'id', h.id,
    'geometry', ST_AsGeoJSON(h.geom, 7)::json,
    'properties', json_build_object('kind', h.kind, 'category', h.category,
        'severity', h.severity, 'state', h.state, 'origin', h.origin, 'community', c.code,
        'grid', g.code, 'reported_at', h.reported_at, 'deadline', h.deadline,
        'closed_at', h.closed_at))::text
FROM hazard h JOIN community c ON c.id = h.community_id LEFT JOIN grid g ON g.id = h.grid_id
WHERE ST_Intersects(h.geom, ST_MakeEnvelope(%s, %s, %s, %s, 4326))
ORDER BY h.id LIMIT 100
"""
HAZARD_COUNT = """
SELECT count(*) FROM hazard h WHERE ST_Intersects(h.geom, ST_MakeEnvelope(%s, %s, %s, %s, 4326))
"""
GRID_TILE = """
WITH rows AS (
    SELECT g.id, g.code, g.name, c.code AS community, g.households, g.population,
           g.valid_from,
           ST_AsMVTGeom(ST_Transform(g.geom, 3857), ST_TileEnvelope(%(z)s, %(x)s, %(y)s),
                        4096, 64, true) AS geom
    FROM grid g JOIN community c ON c.id = g.community_id
    WHERE g.valid_to IS NULL
      AND g.geom && ST_Transform(ST_TileEnvelope(%(z)s, %(x)s, %(y)s), 4326))
SELECT ST_AsMVT(rows, 'grids', 4096, 'geom', 'id') FROM rows WHERE geom IS NOT NULL
"""

Box = tuple[float, float, float, float]


@dataclass
class Case:
    name: str
    ours: list[str]
    tipg: list[str]
    raw: Callable[[psycopg.Cursor, int], int]
    """Runs the baseline for request i; answers a size (features or bytes)."""
    items: bool


# --- data ----------------------------------------------------------------------------------


def ensure_data(url: str, seed: int) -> tuple[int, int, Box]:
    """Grids and hazards in the database (loaded when missing) and the communities' extent."""
    subprocess.run([sys.executable, "-m", "api.cli", "db", "upgrade"], check=True, cwd=ROOT)
    with psycopg.connect(url) as conn:
        grids = conn.execute("SELECT count(*) FROM grid WHERE valid_to IS NULL").fetchone()[0]
    if grids < GRIDS:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "api.cli", *DEMO_LOAD], check=True, cwd=ROOT)
        print(f"loaded {COMMUNITIES} communities in {time.perf_counter() - started:.0f} s")
    with psycopg.connect(url) as conn:
        conn.execute("SET statement_timeout = 0")
        grids = conn.execute("SELECT count(*) FROM grid WHERE valid_to IS NULL").fetchone()[0]
        hazards = conn.execute("SELECT count(*) FROM hazard").fetchone()[0]
        if hazards < HAZARDS:
            started = time.perf_counter()
            categories = [r[0] for r in conn.execute("SELECT code FROM hazard_category")]
            conn.execute("SELECT setseed(%s)", [(seed % 1000) / 1000])
            added = conn.execute(
                INSERT_HAZARDS,
                {
                    "per_grid": -(-(HAZARDS - hazards) // grids),
                    "seed": seed,
                    "missing": HAZARDS - hazards,
                    "categories": categories,
                    "mark": MARK,
                },
            ).rowcount
            conn.commit()
            inserted = time.perf_counter() - started
            conn.autocommit = True
            conn.execute("VACUUM (ANALYZE) hazard")
            vacuumed = time.perf_counter() - started - inserted
            print(f"inserted {added:,} hazards in {inserted:.1f} s (+ {vacuumed:.1f} s vacuum)")
            hazards += added
        box = conn.execute(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)"
            " FROM (SELECT ST_Extent(geom) AS e FROM community) x"
        ).fetchone()
    return grids, hazards, (box[0], box[1], box[2], box[3])


def boxes(extent: Box, km2: float, count: int, rng: random.Random) -> list[Box]:
    """``count`` random squares of about ``km2`` inside ``extent``."""
    west, south, east, north = extent
    side = math.sqrt(km2)
    dy = side / KM_PER_DEGREE
    dx = side / (KM_PER_DEGREE * math.cos(math.radians((south + north) / 2)))
    found = []
    for _ in range(count):
        x, y = rng.uniform(west, east - dx), rng.uniform(south, north - dy)
        found.append((round(x, 7), round(y, 7), round(x + dx, 7), round(y + dy, 7)))
    return found


def tiles(extent: Box, count: int, rng: random.Random) -> list[tuple[int, int, int]]:
    """``count`` random web mercator tiles at ZOOM over ``extent``."""
    west, south, east, north = extent

    def xy(lon: float, lat: float) -> tuple[int, int]:
        n = 2**ZOOM
        y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
        return int((lon + 180) / 360 * n), int(y)

    (x0, y0), (x1, y1) = xy(west, north), xy(east, south)
    return [(ZOOM, rng.randint(x0, x1), rng.randint(y0, y1)) for _ in range(count)]


# --- servers -------------------------------------------------------------------------------


@contextmanager
def serve(
    app: str, env: dict[str, str], ready: str, cwd: Path, headers: dict[str, str] | None = None
) -> Iterator[httpx.Client]:
    """A uvicorn process (one worker) on a free port, and a keep-alive client to it sending
    ``headers`` (Gridline's token)."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", app, "--port", str(port), "--log-level", "warning"],
        cwd=cwd,
        env=env,
    )
    client = httpx.Client(
        base_url=f"http://127.0.0.1:{port}",
        headers={"Accept-Encoding": "gzip", **(headers or {})},
        timeout=60,
    )
    try:
        for _ in range(300):
            if server.poll() is not None:
                raise SystemExit(f"{app} exited with {server.returncode}")
            try:
                if client.get(ready).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            raise SystemExit(f"{app} did not start")
        yield client
    finally:
        client.close()
        server.terminate()
        server.wait()


def tipg_env(url: str) -> dict[str, str]:
    config = {"public_grid": GRID_COLUMNS, "public_hazard": HAZARD_COLUMNS}
    env = {
        "DATABASE_URL": url,
        "TIPG_DB_SCHEMAS": '["public"]',
        "TIPG_DB_TABLES": '["public.grid", "public.hazard"]',
    }
    for table, columns in config.items():
        env[f"TIPG_TABLE_CONFIG__{table}__PROPERTIES"] = json.dumps(columns)
    return env


def time_http(client: httpx.Client, warm: list[str], paths: list[str]) -> list[float]:
    for path in warm:
        client.get(path).raise_for_status()
    samples = []
    for path in paths:
        t0 = time.perf_counter()
        response = client.get(path)
        response.read()
        samples.append((time.perf_counter() - t0) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{path}: HTTP {response.status_code} {response.text[:300]}")
    return samples


def features(client: httpx.Client, path: str) -> tuple[int, list[int]]:
    body = client.get(path).raise_for_status().json()
    return body["numberMatched"], [f["id"] for f in body["features"]]


def tile_features(client: httpx.Client, path: str) -> int | None:
    """Features in an MVT (None without mapbox-vector-tile to decode it)."""
    try:
        import mapbox_vector_tile
    except ImportError:
        return None
    data = client.get(path).raise_for_status().content
    layers = mapbox_vector_tile.decode(data) if data else {}
    return sum(len(layer["features"]) for layer in layers.values())


# --- raw SQL -------------------------------------------------------------------------------


def items_sql(items: str, count: str, bxs: list[Box]) -> Callable[[psycopg.Cursor, int], int]:
    def run(cursor: psycopg.Cursor, i: int) -> int:
        found = cursor.execute(items, bxs[i]).fetchall()
        cursor.execute(count, bxs[i]).fetchone()
        return len(found)

    return run


def tile_sql(tls: list[tuple[int, int, int]]) -> Callable[[psycopg.Cursor, int], int]:
    def run(cursor: psycopg.Cursor, i: int) -> int:
        z, x, y = tls[i]
        return len(cursor.execute(GRID_TILE, {"z": z, "x": x, "y": y}).fetchone()[0] or b"")

    return run


def time_sql(url: str, run: Callable[[psycopg.Cursor, int], int], n: int) -> list[float]:
    with psycopg.connect(url, autocommit=True) as conn:
        cursor = conn.cursor()
        for i in range(min(WARM, n)):
            run(cursor, i)
        samples = []
        for i in range(n):
            t0 = time.perf_counter()
            run(cursor, i)
            samples.append((time.perf_counter() - t0) * 1000)
    return samples


# --- main ----------------------------------------------------------------------------------


def bbox_query(box: Box) -> str:
    return "bbox=" + ",".join(repr(v) for v in box) + "&limit=100"


def make_cases(extent: Box, n: int, seed: int) -> list[Case]:
    rng = random.Random(seed)
    grid_boxes = boxes(extent, 1.0, n, rng)
    hazard_boxes = boxes(extent, 0.25, n, rng)
    tls = tiles(extent, n, rng)
    return [
        Case(
            "grid items, 1 km² bbox",
            [f"/ogc/collections/grids/items?{bbox_query(b)}" for b in grid_boxes],
            [f"/collections/public.grid/items?{bbox_query(b)}" for b in grid_boxes],
            items_sql(GRID_ITEMS, GRID_COUNT, grid_boxes),
            True,
        ),
        Case(
            "hazard items, 0.25 km² bbox",
            [f"/ogc/collections/hazards/items?{bbox_query(b)}" for b in hazard_boxes],
            [f"/collections/public.hazard/items?{bbox_query(b)}" for b in hazard_boxes],
            items_sql(HAZARD_ITEMS, HAZARD_COUNT, hazard_boxes),
            True,
        ),
        Case(
            f"grids tile, z{ZOOM}",
            [f"/tiles/grids/{z}/{x}/{y}.mvt" for z, x, y in tls],
            [f"/collections/public.grid/tiles/WebMercatorQuad/{z}/{x}/{y}" for z, x, y in tls],
            tile_sql(tls),
            False,
        ),
    ]


def answers(client: httpx.Client, paths: list[str], items: bool) -> list[tuple]:
    """What a server answers to the first CHECKS requests of a case: (matched, ids) for items,
    (features,) for tiles."""
    if items:
        return [features(client, path) for path in paths[:CHECKS]]
    return [(tile_features(client, path),) for path in paths[:CHECKS]]


def compare(case: Case, ours: list[tuple], tipg: list[tuple]) -> None:
    for path, a, b in zip(case.ours[WARM:], ours, tipg, strict=False):
        if not case.items:
            print(f"  check {case.name} {path}: ours {a[0]} features, tipg {b[0]}")
        elif a != b:
            same = " (other ids)" if a[0] == b[0] and len(a[1]) == len(b[1]) else ""
            print(
                f"WARNING {case.name} {path}: ours matched {a[0]} returned {len(a[1])},"
                f" tipg matched {b[0]} returned {len(b[1])}{same}"
            )
        else:
            print(f"  check {case.name}: both matched {a[0]}, returned {len(a[1])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--skip-load", action="store_true")
    args = parser.parse_args()

    database_url = get_settings().database_url
    url = libpq_url(database_url)
    if args.skip_load:
        with psycopg.connect(url) as conn:
            grids, hazards, *box = conn.execute(
                "SELECT (SELECT count(*) FROM grid WHERE valid_to IS NULL),"
                " (SELECT count(*) FROM hazard), ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)"
                " FROM (SELECT ST_Extent(geom) AS e FROM community) x"
            ).fetchone()
        extent: Box = (box[0], box[1], box[2], box[3])
    else:
        grids, hazards, extent = ensure_data(url, args.seed)
    cases = make_cases(extent, WARM + args.requests, args.seed)
    n = args.requests
    print(f"{grids:,} grids, {hazards:,} hazards; tipg {version('tipg')}; {n} requests a case")

    raw = {c.name: time_sql(url, c.raw, WARM + n)[WARM:] for c in cases}
    ours: dict[str, list[float]] = {}
    tipg: dict[str, list[float]] = {}
    checks: dict[str, list[list[tuple]]] = {c.name: [] for c in cases}
    with serve("api.app:app", api_env(), "/health", ROOT, auth_headers()) as client:
        for c in cases:
            ours[c.name] = time_http(client, c.ours[:WARM], c.ours[WARM:])
            checks[c.name].append(answers(client, c.ours[WARM:], c.items))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TIPG_", "GRIDLINE_"))}
    with (
        tempfile.TemporaryDirectory() as scratch,  # no stray .env for tipg's settings
        serve("tipg.main:app", {**env, **tipg_env(url)}, "/healthz", Path(scratch)) as client,
    ):
        for c in cases:
            tipg[c.name] = time_http(client, c.tipg[:WARM], c.tipg[WARM:])
            checks[c.name].append(answers(client, c.tipg[WARM:], c.items))
    for c in cases:
        compare(c, *checks[c.name])

    print(
        f"\n{'case':30}{'ours p50/p95':>16}{'tipg p50/p95':>16}{'raw SQL p50/p95':>18}"
        f"{'ours/tipg':>11}{'ours/raw':>10}"
    )
    holds = True
    for c in cases:
        (o50, o95), (t50, t95), (r50, r95) = (percentiles(s[c.name]) for s in (ours, tipg, raw))
        print(
            f"{c.name:30}{o50:8.2f}/{o95:<7.2f}{t50:8.2f}/{t95:<7.2f}{r50:10.2f}/{r95:<7.2f}"
            f"{o50 / t50:10.2f}x{o50 / r50:9.2f}x"
        )
        holds = holds and (not c.items or o50 <= t50)
    print(f"target (ours p50 <= tipg p50 for items): {'holds' if holds else 'missed'}")


if __name__ == "__main__":
    main()
