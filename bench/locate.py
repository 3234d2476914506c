"""Locate latency: the HTTP API against the same SQL run directly with psycopg, same run.

    DATABASE_URL=... python bench/locate.py [--communities 500] [--points 2000]

Loads N generated communities (21 grids each; 500 -> 10,500 grids) into the database when it
holds fewer grids, starts the API with uvicorn on a free loopback port, then asks for the same
random points (seeded; about half inside grids) and prints p50/p95 of:

- raw SQL, prepared: LOCATE_SQL on one psycopg connection (psycopg prepares it server-side
  after five runs, as it does for any repeated query) -- the baseline of the target;
- raw SQL, unprepared: the same with prepare_threshold=None (parsed and planned every time);
- HTTP floor: an empty FastAPI endpoint on the same uvicorn stack (bench/http_floor.py);
- the API's GET /locate over HTTP (keep-alive, stdlib http.client as the client, signed in as
  the bench's admin: bench/common.py).

Target: API p50 under 3x the raw query.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import subprocess
import sys
import time
from pathlib import Path

import psycopg
from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parents[1]
WARM = 200
sys.path.insert(0, str(ROOT))

from common import api_env, auth_headers, free_port, percentiles  # noqa: E402  (bench/ is on sys.path)

from geo import demo, models, seed  # noqa: E402
from geo.db import get_settings, libpq_url, transaction  # noqa: E402
from geo.locate import LOCATE_SQL  # noqa: E402


def ensure_data(communities: int) -> tuple[int, tuple[float, float, float, float]]:
    subprocess.run([sys.executable, "-m", "api.cli", "db", "upgrade"], check=True, cwd=ROOT)
    with transaction() as session:
        grids = session.scalar(select(func.count()).select_from(models.Grid))
        if grids < communities * 21:
            started = time.perf_counter()
            data = demo.generate(communities=communities)
            if seed.is_loaded(session, data):
                raise SystemExit("the database holds other demo data; use an empty database")
            seed.load(session, data, details=False)
            print(f"loaded {communities} communities in {time.perf_counter() - started:.0f} s")
        grids = session.scalar(select(func.count()).select_from(models.Grid))
        box = session.execute(select(func.ST_Extent(models.Community.geom))).scalar()
    west, south, east, north = (float(v) for v in box[4:-1].replace(",", " ").split())
    return grids, (west, south, east, north)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--communities", type=int, default=500)
    parser.add_argument("--points", type=int, default=2000)
    args = parser.parse_args()

    grids, (west, south, east, north) = ensure_data(args.communities)
    rng = random.Random(7)
    margin = 0.05 * (east - west)
    points = [
        (rng.uniform(west - margin, east + margin), rng.uniform(south - margin, north + margin))
        for _ in range(args.points)
    ]

    url = libpq_url(get_settings().database_url)
    raw, found = time_sql(url, points, prepare_threshold=5)
    unprepared, _ = time_sql(url, points, prepare_threshold=None)
    floor, _ = time_http(["--app-dir", str(ROOT / "bench"), "http_floor:app"], points)
    api, api_found = time_http(["api.app:app"], points)
    assert api_found == found, (api_found, found)

    print(f"locate on {grids} grids, {len(points)} points ({found} in a grid)")
    print(f"{'':34}{'p50 ms':>9}{'p95 ms':>9}{'p50 ratio':>11}")
    base = percentiles(raw)[0]
    for name, samples in (
        ("raw SQL, prepared (baseline)", raw),
        ("raw SQL, unprepared", unprepared),
        ("HTTP floor (empty endpoint)", floor),
        ("API GET /locate", api),
    ):
        p50, p95 = percentiles(samples)
        print(f"{name:34}{p50:9.3f}{p95:9.3f}{p50 / base:10.2f}x")
    api50 = percentiles(api)[0]
    print(f"API p50 / raw prepared p50 = {api50 / base:.2f} (target < 3)")
    print(f"API p50 - HTTP floor p50 = {api50 - percentiles(floor)[0]:.3f} ms (the query's share)")


def time_sql(url: str, points: list, prepare_threshold: int | None) -> tuple[list[float], int]:
    with psycopg.connect(url, autocommit=True, prepare_threshold=prepare_threshold) as conn:
        cursor = conn.cursor()
        for lon, lat in points[:WARM]:
            cursor.execute(LOCATE_SQL, {"lon": lon, "lat": lat})
            cursor.fetchone()
        samples, found = [], 0
        for lon, lat in points:
            t0 = time.perf_counter()
            cursor.execute(LOCATE_SQL, {"lon": lon, "lat": lat})
            row = cursor.fetchone()
            samples.append((time.perf_counter() - t0) * 1000)
            found += row[6] is not None
    return samples, found


def time_http(app: list[str], points: list) -> tuple[list[float], int]:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", *app, "--port", str(port), "--log-level", "warning"],
        cwd=ROOT,
        env=api_env(),
    )
    signed_in = auth_headers()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        for _ in range(100):
            try:
                conn.request("GET", "/locate?lon=0&lat=0")
                conn.getresponse().read()
                break
            except OSError:
                conn.close()
                time.sleep(0.2)
        samples, found = [], 0
        for i, (lon, lat) in enumerate([*points[:WARM], *points]):
            t0 = time.perf_counter()
            conn.request("GET", f"/locate?lon={lon!r}&lat={lat!r}", headers=signed_in)
            response = conn.getresponse()
            body = response.read()
            elapsed = (time.perf_counter() - t0) * 1000
            if response.status != 200:
                raise SystemExit(f"HTTP {response.status}: {body[:200]!r}")
            if i >= WARM:
                samples.append(elapsed)
                found += json.loads(body).get("grid") is not None
        conn.close()
    finally:
        server.terminate()
        server.wait()
    return samples, found


if __name__ == "__main__":
    main()
