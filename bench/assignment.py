"""A/B planner against the greedy baseline: time and quality on 21, 500 and 2,000 grids.

    python bench/assignment.py [--sizes 21 500 2000] [--time-limit 20] [--seed 7]

21 grids are the demo community (蒲江社区, workers from the demo team); larger sizes are
synthetic connected tilings in metres: a Voronoi diagram of a jittered lattice of seeded points
clipped to a square (about 250 m per grid), loads drawn like the demo's households, as many
workers as grids (genders ~50/50, ~20% under 1 year, ~50% with 3+ years).

Targets: 21 grids under 1 s, 2,000 grids under 30 s, and for every size the planner at least as
good as greedy on mixed-gender share, mentoring share (higher is better) and max/mean load
(lower is better). The "bound" rows are the best figures possible (see ``bounds``). No database
needed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import random
import sys
from pathlib import Path

import shapely
from shapely.geometry import MultiPoint, box

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from geo import demo  # noqa: E402
from geo.assignment import (  # noqa: E402
    Edge,
    GridInfo,
    Plan,
    PlanSettings,
    WorkerInfo,
    greedy_plan,
    plan,
)
from geo.assignment.inputs import demo_inputs, edges_from_polygons  # noqa: E402

TODAY = dt.date(2024, 5, 24)
CELL_M = 250.0
TARGET_S = {21: 1.0, 2000: 30.0}
EPS = 1e-9


def demo_case() -> tuple[list[GridInfo], list[Edge], list[WorkerInfo]]:
    grids, edges, workers, _ = demo_inputs(demo.generate(today=TODAY).communities[0], TODAY)
    return grids, edges, workers


def synthetic_case(n: int, seed: int) -> tuple[list[GridInfo], list[Edge], list[WorkerInfo]]:
    """``n`` grids tiling a square (jittered-lattice Voronoi), ``n`` workers."""
    rng = random.Random(f"{seed}:{n}")
    cols = math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    cells = rng.sample(range(rows * cols), n)
    points = [
        (
            (c % cols + 0.5 + rng.uniform(-0.35, 0.35)) * CELL_M,
            (c // cols + 0.5 + rng.uniform(-0.35, 0.35)) * CELL_M,
        )
        for c in sorted(cells)
    ]
    frame = box(0, 0, cols * CELL_M, rows * CELL_M)
    cells_poly = shapely.voronoi_polygons(MultiPoint(points), extend_to=frame, ordered=True)
    polygons = [poly.intersection(frame) for poly in cells_poly.geoms]
    grids = []
    for i, poly in enumerate(polygons, start=1):
        households = rng.randint(60, 250) + (rng.randint(50, 250) if rng.random() < 0.48 else 0)
        c = poly.centroid
        grids.append(GridInfo(i, f"{i:04d}", float(households), (c.x, c.y)))
    edges = edges_from_polygons([g.id for g in grids], polygons)
    workers = []
    for i in range(1, n + 1):
        u = rng.random()
        years = (
            rng.uniform(0.1, 0.95)
            if u < 0.2
            else rng.uniform(1.0, 2.95)
            if u < 0.5
            else (rng.uniform(3.0, 13.0))
        )
        gender = "female" if rng.random() < 0.5 else "male"
        workers.append(WorkerInfo(i, f"worker {i}", gender, round(years, 2)))
    return grids, edges, workers


def bounds(grids: list[GridInfo], workers: list[WorkerInfo], settings: PlanSettings) -> str:
    """Best figures possible with one grid per worker: mixed share <= 1; mentoring pairs <= new
    + min(senior, max_b_roles x new) (new A grids get a senior B, senior A grids a new B, a new
    worker backs at most max_b_roles grids); max load >= the heaviest grid's load."""
    new = sum(w.years < settings.new_years for w in workers)
    senior = sum(w.years >= settings.senior_years for w in workers)
    mentoring = min(len(grids), new + min(senior, settings.max_b_roles * new)) / len(grids)
    total = sum(g.load for g in grids) * (1 + settings.b_load_share)
    floor = max(g.load for g in grids) / (total / min(len(grids), len(workers)))
    return f"{len(grids):>6} {'bound':<8} {'':>8} {1.0:>7.3f} {mentoring:>7.3f} {floor:>9.3f}"


def row(label: str, result: Plan) -> str:
    m = result.metrics
    return (
        f"{m.grids:>6} {label:<8} {m.seconds:>8.2f} {m.mixed_gender_share:>7.3f}"
        f" {m.mentoring_share:>7.3f} {m.max_over_mean:>9.3f}  {m.solver_status}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[21, 500, 2000])
    parser.add_argument("--time-limit", type=float, default=20.0)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    settings = PlanSettings(time_limit_s=args.time_limit)
    print(f"{'grids':>6} {'planner':<8} {'seconds':>8} {'mixed':>7} {'mentor':>7} {'max/mean':>9}")
    verdicts = []
    for n in args.sizes:
        grids, edges, workers = demo_case() if n == 21 else synthetic_case(n, args.seed)
        base = greedy_plan(grids, edges, workers, settings=settings)
        best = plan(grids, edges, workers, settings=settings)
        print(row("greedy", base))
        print(row("plan", best))
        print(bounds(grids, workers, settings))
        g, p = base.metrics, best.metrics
        print(
            f"{'':>6} {'vs greedy':<8} {p.seconds / max(g.seconds, 1e-6):>7.0f}x"
            f" {p.mixed_gender_share - g.mixed_gender_share:>+7.3f}"
            f" {p.mentoring_share - g.mentoring_share:>+7.3f}"
            f" {p.max_over_mean / g.max_over_mean:>8.3f}x"
        )
        checks = {
            "mixed": p.mixed_gender_share >= g.mixed_gender_share - EPS,
            "mentoring": p.mentoring_share >= g.mentoring_share - EPS,
            "max/mean": p.max_over_mean <= g.max_over_mean + EPS,
        }
        if n in TARGET_S:
            checks[f"under {TARGET_S[n]:.0f} s"] = p.seconds < TARGET_S[n]
        failed = [k for k, ok in checks.items() if not ok]
        verdicts.append(
            f"{n} grids: "
            + ("targets hold (" + ", ".join(checks) + ")" if not failed else f"MISSED: {failed}")
        )
    print()
    print("\n".join(verdicts))


if __name__ == "__main__":
    main()
