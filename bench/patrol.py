"""Patrol routing and track analysis against baselines measured in the same run.

    python bench/patrol.py [--sizes 20,50,200] [--long 30] [--seed 7] [--quick]

No database needed: everything is built in memory from the generated demo community (蒲江社区),
projected to metres with ``geo.crs.LocalProjection``; the walking network is its roads.

1. Routing. For each size, seeded stops (half building entrances, the rest random points in the
   community outside buildings; priority 3, 60 s service, a 24 h horizon so that every stop
   fits and only the walking length counts) are attached to the network with the buildings as
   obstacles; the office is start and finish. Measured: the distance matrix (connect +
   distances), ``solve`` with its default time limit, and the route lengths of ``solve``, of
   a nearest-neighbour tour on the same matrix and of ``solve`` given ``--long`` seconds of
   guided local search. Targets: 50 stops in under 1 s in all, within 3 % of the long
   solution; 200 stops in under 5 s in all.
2. Track coverage. A 4-hour track at 1 Hz (14,400 samples) walks the solved 50-stop route at
   1.2 m/s, waiting the service time at each stop, over and over, with 3 m GPS noise;
   ``analyse`` (best of 3) checks it against the 50 stops, the network and the community.
   Baseline: the plain numpy distances of all samples to all stops (best of 3), the floor of
   any visit detection. Target: ``analyse`` under 1 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import TypeVar

import networkx as nx
import numpy as np
import shapely
from shapely.geometry import LineString, MultiPoint, MultiPolygon, Point, Polygon, shape

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from geo import demo  # noqa: E402
from geo.crs import LocalProjection  # noqa: E402
from geo.patrol.network import Places, WalkingNetwork  # noqa: E402
from geo.patrol.solver import (  # noqa: E402
    FINISH,
    START,
    Route,
    Visit,
    default_time_limit,
    route_length,
    solve,
)
from geo.patrol.track import analyse  # noqa: E402

TODAY = dt.date(2024, 5, 24)
SPEED_MPS = 1.2
SERVICE_S = 60
HORIZON_S = 24 * 3600
PRIORITY = 3
TRACK_S = 4 * 3600
TRACK_STOPS = 50
NOISE_M = 3.0
VISIT_RADIUS_M = 15.0
REPEAT = 3
T = TypeVar("T")
TARGETS = {50: (1.0, 0.03), 200: (5.0, None)}  # stops: (total seconds, max gap to the long run)


@dataclass(frozen=True)
class Community:
    """The demo community in metres."""

    network: WalkingNetwork
    buildings: list[Polygon]
    area: MultiPolygon
    office: Point
    entrances: np.ndarray
    network_s: float


@dataclass(frozen=True)
class Case:
    """Stops attached to the network and solved with the default time limit."""

    stops: list[Point]
    places: Places
    metres: np.ndarray
    route: Route
    matrix_s: float
    solve_s: float


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        models = [ln for ln in cpuinfo.read_text().splitlines() if ln.startswith("model name")]
        cpu = models[0].split(":", 1)[1].strip() if models else cpu
    return f"{cpu}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}"


def load_community() -> Community:
    data = demo.generate(today=TODAY).communities[0]
    area_ll = shape(data.community["geometry"])
    projection = LocalProjection.for_geometry(area_ll)
    entrances = [p for b in data.buildings for p in b["properties"]["entrances"]]
    lines = [projection.to_metric(shape(r["geometry"])) for r in data.roads]
    started = time.perf_counter()
    network = WalkingNetwork.from_lines(lines)
    network_s = time.perf_counter() - started
    return Community(
        network=network,
        buildings=[projection.to_metric(shape(b["geometry"])) for b in data.buildings],
        area=projection.to_metric(area_ll),
        office=projection.to_metric(Point(data.community["properties"]["office"])),
        entrances=shapely.get_coordinates(projection.to_metric(MultiPoint(entrances))),
        network_s=network_s,
    )


def sample_stops(community: Community, n: int, seed: int) -> list[Point]:
    """Half building entrances, the rest uniform in the community outside buildings."""
    rng = np.random.default_rng([seed, n])
    doors = community.entrances[
        rng.choice(len(community.entrances), min(n // 2, len(community.entrances)), replace=False)
    ]
    blocked = shapely.union_all(community.buildings)
    shapely.prepare(blocked)
    shapely.prepare(community.area)
    west, south, east, north = community.area.bounds
    free: list[np.ndarray] = []
    while sum(map(len, free)) < n - len(doors):
        xy = rng.uniform((west, south), (east, north), size=(4 * n, 2))
        keep = shapely.contains_xy(community.area, *xy.T) & ~shapely.intersects_xy(blocked, *xy.T)
        free.append(xy[keep])
    xy = np.vstack([doors, *free])[:n]
    return list(shapely.points(xy))


def route_case(community: Community, n: int, seed: int) -> Case:
    stops = sample_stops(community, n, seed)
    started = time.perf_counter()
    places = community.network.connect(
        [community.office, community.office, *stops], obstacles=community.buildings
    )
    metres, _ = places.distances()
    matrix_s = time.perf_counter() - started
    started = time.perf_counter()
    solution = solve(metres, visits(n), speed_mps=SPEED_MPS, horizon_s=HORIZON_S)
    solve_s = time.perf_counter() - started
    if solution.dropped:
        raise SystemExit(f"{n} stops: the solver left out {len(solution.dropped)}")
    return Case(stops, places, metres, solution.routes[0], matrix_s, solve_s)


def visits(n: int) -> list[Visit]:
    return [Visit(PRIORITY, SERVICE_S) for _ in range(n)]


def nearest_neighbour(metres: np.ndarray) -> list[int]:
    """Start at node 0, always walk to the nearest stop not yet visited (then to node 1)."""
    left = np.ones(len(metres) - 2, dtype=bool)
    at, order = START, []
    for _ in range(len(left)):
        k = int(np.argmin(np.where(left, metres[at, 2:], np.inf)))
        left[k] = False
        order.append(k)
        at = k + 2
    return order


def timed(func: Callable[[], T]) -> tuple[T, float]:
    started = time.perf_counter()
    result = func()
    return result, time.perf_counter() - started


def best_of(func: Callable[[], T]) -> tuple[T, float]:
    runs = [timed(func) for _ in range(REPEAT)]
    return runs[0][0], min(seconds for _, seconds in runs)


def routing(community: Community, sizes: list[int], long_s: float, seed: int) -> list[str]:
    print(
        f"\n1. routing (default time limit = min(4, 0.2 + 0.01 n) s; GLS {long_s:g} s)\n"
        f"{'stops':>5} {'limit':>6} {'matrix':>7} {'solve':>6} {'total':>6} {'ours m':>8}"
        f" {'NN m':>8} {'ours/NN':>7} {'NN s':>7} {'GLS m':>8} {'GLS s':>6} {'vs GLS':>7}"
    )
    verdicts = []
    for n in sizes:
        case = route_case(community, n, seed)
        ours = route_length(case.metres, case.route.stops)
        tour, nn_s = timed(lambda m=case.metres: nearest_neighbour(m))
        nn = route_length(case.metres, tour)
        long, gls_s = timed(
            lambda m=case.metres, n=n: solve(
                m, visits(n), speed_mps=SPEED_MPS, horizon_s=HORIZON_S, time_limit_s=long_s
            )
        )
        if long.dropped:
            raise SystemExit(f"{n} stops: the long run left out {len(long.dropped)}")
        gls = route_length(case.metres, long.routes[0].stops)
        total = case.matrix_s + case.solve_s
        gap = ours / gls - 1
        print(
            f"{n:>5} {default_time_limit(n):>5.2f}s {case.matrix_s:>6.2f}s {case.solve_s:>5.2f}s"
            f" {total:>5.2f}s {ours:>8.0f} {nn:>8.0f} {ours / nn:>7.3f} {nn_s:>6.4f}s"
            f" {gls:>8.0f} {gls_s:>5.1f}s {100 * gap:>+6.1f}%"
        )
        if n in TARGETS:
            limit_s, max_gap = TARGETS[n]
            checks = {f"under {limit_s:g} s": total < limit_s}
            if max_gap is not None:
                checks[f"within {100 * max_gap:g} % of GLS {long_s:g} s"] = gap <= max_gap
            failed = [k for k, ok in checks.items() if not ok]
            verdicts.append(
                f"{n} stops: "
                + (f"targets hold ({', '.join(checks)})" if not failed else f"MISSED: {failed}")
            )
    return verdicts


def track_xy(case: Case, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The solved route walked at SPEED_MPS with SERVICE_S at each stop, repeated for TRACK_S
    seconds at 1 Hz, with NOISE_M GPS noise."""
    nodes = [START, *(s + 2 for s in case.route.stops), FINISH]
    legs = [case.places.leg(i, j).line for i, j in itertools.pairwise(nodes)]
    line = LineString([legs[0].coords[0], *(c for leg in legs for c in leg.coords[1:])])
    ends = np.cumsum([leg.length for leg in legs])
    # Knots of (time, distance walked): walk each leg, wait at each stop, tour after tour.
    knot_t, knot_d, t, d = [0.0], [0.0], 0.0, 0.0
    while t < TRACK_S:
        for k, (begin, end) in enumerate(itertools.pairwise([0.0, *ends])):
            t += (end - begin) / SPEED_MPS
            knot_t.append(t)
            knot_d.append(d + end)
            if k < len(legs) - 1:
                t += SERVICE_S
                knot_t.append(t)
                knot_d.append(d + end)
        d += line.length
    seconds = np.arange(TRACK_S, dtype=float)
    along = np.interp(seconds, knot_t, knot_d) % line.length
    xy = shapely.get_coordinates(shapely.line_interpolate_point(line, along))
    return xy + rng.normal(0.0, NOISE_M, xy.shape), seconds


def track(community: Community, seed: int) -> str:
    case = route_case(community, TRACK_STOPS, seed)
    xy, seconds = track_xy(case, np.random.default_rng([seed, TRACK_S]))
    stops = [(k, p.x, p.y) for k, p in enumerate(case.stops)]
    where = shapely.get_coordinates(case.stops)
    result, analyse_s = best_of(
        lambda: analyse(
            xy,
            seconds,
            stops,
            community.network.segments,
            community.area,
            visit_radius_m=VISIT_RADIUS_M,
        )
    )
    _, floor_s = best_of(
        lambda: (
            np.hypot(xy[:, 0, None] - where[None, :, 0], xy[:, 1, None] - where[None, :, 1])
            <= VISIT_RADIUS_M
        )
    )
    print(
        f"\n2. track coverage: {len(xy):,} samples x {len(stops)} stops, best of {REPEAT}\n"
        f"  analyse                         {analyse_s:>7.3f} s\n"
        f"  numpy samples x stops distances {floor_s:>7.3f} s"
        f"  (analyse = {analyse_s / floor_s:.0f}x)\n"
        f"  visited {len(result.visits)}/{len(stops)},"
        f" coverage {100 * result.coverage_share:.1f} % ({result.walked_m:,.0f} of"
        f" {result.network_m:,.0f} m), outside {result.outside_s:.0f} s, gaps {len(result.gaps)}"
    )
    ok = analyse_s < 1.0
    return f"track: {'target holds (under 1 s)' if ok else 'MISSED: under 1 s'}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="20,50,200", help="stop counts, comma-separated")
    parser.add_argument("--long", type=float, default=30.0, help="seconds of the long GLS run")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="sizes 20,50 and --long 5")
    args = parser.parse_args()
    sizes = [20, 50] if args.quick else [int(s) for s in args.sizes.split(",")]
    long_s = 5.0 if args.quick else args.long

    print(f"machine: {machine()}; Python {platform.python_version()}")
    print(
        f"ortools {version('ortools')}, shapely {shapely.__version__},"
        f" networkx {nx.__version__}, numpy {np.__version__}"
    )
    community = load_community()
    print(
        f"demo network: {len(community.network.segments)} segments,"
        f" {community.network.length_m / 1000:.1f} km, built in {community.network_s:.2f} s"
    )
    verdicts = routing(community, sizes, long_s, args.seed)
    verdicts.append(track(community, args.seed))
    print()
    print("\n".join(verdicts))


if __name__ == "__main__":
    main()
