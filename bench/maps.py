"""Hazard map size and server render time: Gridline's large-data map against plain Folium.

    python bench/maps.py [--sizes 1000 5000 20000]

For each size, synthetic hazards (pure, no database) are rendered two ways in the same run:
Gridline's ``hazard_map`` (above the threshold: data fetched from ``hazards.geojson``, canvas
markers clustered in the browser) and plain ``folium.Marker``s in one ``MarkerCluster``. It
prints page size and render time (best of 3) and whether the budgets hold (page < 3 MB,
render < 1 s at 20,000).

With ``--browser`` and ``DATABASE_URL`` set (a scratch database holding the demo community,
e.g. the one ``make bench-locate`` prepares), it also imports 20,000 hazards into community
330303003001, serves the API with uvicorn on a free loopback port and measures, for that real
page: the server time of ``GET /maps/communities/330303003001/hazards`` and of its
``hazards.geojson``, and the time to interactive in headless Chromium (navigation start to
every hazard in its cluster, on a second load; budget 3 s). The hazards are removed after.
On the same server it then times the city map of district 330303 (every community of the
database, e.g. 500 communities with 10,500 grids): ``GET /maps/districts/330303`` (budget: under
1 s and 3 MB), its ``grids.geojson``, and the browser time until all grids are drawn on the
canvas (budget 3 s).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import folium
from folium.plugins import MarkerCluster

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from maps import to_html  # noqa: E402
from maps.assets import AssetMode  # noqa: E402
from maps.hazards import hazard_map  # noqa: E402
from tests.test_maps_hazards import COMMUNITY, GRIDS, LAT, LON  # noqa: E402
from tests.test_maps_large import many  # noqa: E402

PAGE_BUDGET = 3_000_000
RENDER_BUDGET_S = 1.0


def gridline(hazards: list[dict]) -> str:
    m = hazard_map(COMMUNITY, GRIDS, hazards, data_url="/maps/communities/x/hazards.geojson")
    return to_html(m, assets=AssetMode.SERVED)


def plain_folium(hazards: list[dict]) -> str:
    m = folium.Map(location=(LAT, LON), zoom_start=16, tiles=None)
    cluster = MarkerCluster().add_to(m)
    for h in hazards:
        lon, lat = h["geometry"]["coordinates"]
        props = h["properties"]
        folium.Marker((lat, lon), tooltip=str(props["id"]), popup=props["description"]).add_to(
            cluster
        )
    return m.get_root().render()


def measure(render: Callable[[list[dict]], str], hazards: list[dict]) -> tuple[int, float]:
    best, size = float("inf"), 0
    for _ in range(3):
        started = time.perf_counter()
        size = len(render(hazards).encode("utf-8"))
        best = min(best, time.perf_counter() - started)
    return size, best


INTERACTIVE_BUDGET_S = 3.0
DEMO = "330303003001"


def browser_phase(count: int) -> None:
    """Server and browser times of the real hazard page with ``count`` stored hazards."""
    import json
    import subprocess
    import urllib.request

    from common import api_env, bench_token, free_port
    from playwright.sync_api import sync_playwright
    from sqlalchemy import text

    from api.auth import COOKIE
    from geo import db
    from geo.hazards import bulk
    from tests.browser.harness import CHROMIUM_ARGS
    from tests.browser.test_large_map import CLUSTER_TOTAL, synthetic_hazards

    subprocess.run([sys.executable, "-m", "api.cli", "db", "upgrade"], check=True, cwd=ROOT)
    with db.transaction() as session:
        collection, _ = synthetic_hazards(session, count)
        ids = bulk.import_data(session, collection, "geojson").ids
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "api.app:app",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=api_env(),
    )
    base = f"http://127.0.0.1:{port}"
    token = bench_token()
    signed_in = {"Authorization": f"Bearer {token}"}
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{base}/health", timeout=2)
                break
            except OSError:
                time.sleep(0.2)
        for path in (
            f"/maps/communities/{DEMO}/hazards",
            f"/maps/communities/{DEMO}/hazards.geojson",
        ):
            timings = []
            for _ in range(3):
                started = time.perf_counter()
                request = urllib.request.Request(base + path, headers=signed_in)
                with urllib.request.urlopen(request, timeout=30) as response:
                    size = len(response.read())
                timings.append(time.perf_counter() - started)
            print(f"  GET {path}: {min(timings):.3f} s, {size / 1e6:.2f} MB")
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS
            )
            context = browser.new_context()  # signed in as the map pages are: by cookie
            context.add_cookies([{"name": COOKIE, "value": token, "url": base}])
            page = context.new_page()
            page.route(
                "**/*", lambda r: r.continue_() if r.request.url.startswith(base) else r.abort()
            )
            ready = f"""() => {{
                const name = Object.keys(window).find((k) => /^map_[0-9a-f]+$/.test(k));
                return Boolean(name && window[name] && window.L && window.L.MarkerClusterGroup)
                    && ({CLUSTER_TOTAL})(name).total >= {count};
            }}"""
            seconds = []
            for _ in range(3):
                page.goto(f"{base}/maps/communities/{DEMO}/hazards", wait_until="commit")
                page.wait_for_function(ready, timeout=30_000, polling=20)
                seconds.append(page.evaluate("() => performance.now()") / 1000)
            city = city_phase(base, context, signed_in)
            browser.close()
        interactive = min(seconds[1:])
        verdict = "holds" if interactive < INTERACTIVE_BUDGET_S else "MISSED"
        print(
            f"  browser time to interactive, {count:,} hazards: {interactive:.2f} s "
            f"(first load {seconds[0]:.2f} s); budget 3 s: {verdict}"
        )
        print("  " + json.dumps({"loads_s": [round(x, 2) for x in seconds]}))
        print(city)
    finally:
        server.terminate()
        server.wait()
        with db.get_engine().begin() as conn:
            conn.execute(text("ALTER TABLE hazard_event DISABLE TRIGGER hazard_event_is_history"))
            conn.execute(text("DELETE FROM hazard_event WHERE hazard_id = ANY(:ids)"), {"ids": ids})
            conn.execute(text("ALTER TABLE hazard_event ENABLE TRIGGER hazard_event_is_history"))
            conn.execute(text("DELETE FROM hazard WHERE id = ANY(:ids)"), {"ids": ids})


CITY = "330303"
"""The demo district: every community of the bench database, with all their grids."""
CITY_GRIDS = """() => {
    const name = Object.keys(window).find((k) => /^map_[0-9a-f]+$/.test(k));
    const map = name && window[name];
    if (!map || !window.L || !window.gridlineGridsDrawn) return 0;
    let drawn = 0;
    map.eachLayer((layer) => {
        if (layer instanceof L.GeoJSON && layer.gridlineCityGrids) {
            layer.eachLayer((grid) => { if (grid._map === map) drawn += 1; });
        }
    });
    return drawn;
}"""


def city_phase(base: str, context: Any, signed_in: dict[str, str]) -> str:
    """Server and browser times of the city map of district ``CITY`` (its page, its
    ``grids.geojson``, and navigation start to every grid drawn, best of the loads after the
    first); returns the report (printed after the hazard phase's)."""
    import urllib.request

    lines = ["city map of district " + CITY + ":"]
    ok = True
    grids = 0
    for path, budget_s, budget_bytes in (
        (f"/maps/districts/{CITY}", RENDER_BUDGET_S, PAGE_BUDGET),
        (f"/maps/districts/{CITY}/grids.geojson", None, None),
    ):
        timings, size, body = [], 0, b""
        for _ in range(3):
            started = time.perf_counter()
            request = urllib.request.Request(base + path, headers=signed_in)
            with urllib.request.urlopen(request, timeout=30) as response:
                body = response.read()
            timings.append(time.perf_counter() - started)
            size = len(body)
        if path.endswith(".geojson"):
            import json

            grids = len(json.loads(body)["features"])
        if budget_s is not None and budget_bytes is not None:
            ok = ok and min(timings) < budget_s and size < budget_bytes
        lines.append(f"  GET {path}: {min(timings):.3f} s, {size / 1e6:.2f} MB")
    page = context.new_page()
    page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(base) else r.abort())
    seconds = []
    for _ in range(3):
        page.goto(f"{base}/maps/districts/{CITY}", wait_until="commit")
        page.wait_for_function(f"() => ({CITY_GRIDS})() >= {grids}", timeout=30_000, polling=20)
        seconds.append(page.evaluate("() => performance.now()") / 1000)
    page.close()
    interactive = min(seconds[1:])
    ok = ok and interactive < INTERACTIVE_BUDGET_S
    lines.append(
        f"  browser: all {grids:,} grids drawn after {interactive:.2f} s "
        f"(first load {seconds[0]:.2f} s)"
    )
    lines.append(
        "  budgets (page < 3 MB, page server time < 1 s, all grids drawn < 3 s): "
        + ("hold" if ok else "MISSED")
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000, 20000])
    parser.add_argument("--browser", action="store_true", help="also the real page (database)")
    args = parser.parse_args()
    sizes = args.sizes
    print(f"{'hazards':>8} {'gridline MB':>12} {'render s':>9} {'folium MB':>10} {'render s':>9}")
    ok = True
    for n in sizes:
        hazards = many(n)
        g_size, g_time = measure(gridline, hazards)
        f_size, f_time = measure(plain_folium, hazards)
        print(f"{n:>8} {g_size / 1e6:>12.3f} {g_time:>9.3f} {f_size / 1e6:>10.3f} {f_time:>9.3f}")
        if n >= 20000:
            ok = ok and g_size < PAGE_BUDGET and g_time < RENDER_BUDGET_S
    print(f"budgets (page < 3 MB, render < 1 s at 20,000): {'hold' if ok else 'MISSED'}")
    if args.browser:
        print("real page, database and browser:")
        browser_phase(max(sizes))


if __name__ == "__main__":
    main()
