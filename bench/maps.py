"""Hazard map size and server render time: Gridline's large-data map against plain Folium.

    python bench/maps.py [--sizes 1000 5000 20000]

For each size, synthetic hazards (pure, no database) are rendered two ways in the same run:
Gridline's ``hazard_map`` (above the threshold: data fetched from ``hazards.geojson``, canvas
markers clustered in the browser) and plain ``folium.Marker``s in one ``MarkerCluster``. It
prints page size and render time (best of 3) and whether the budgets hold (page < 3 MB,
render < 1 s at 20,000). The browser time to interactive at 20,000 is measured by
``tests/browser/test_large_map.py`` (set its COUNT to 20_000).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000, 20000])
    sizes = parser.parse_args().sizes
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


if __name__ == "__main__":
    main()
