"""Ordering the stops of one or more walks: OR-Tools routing over a walking-distance matrix.

Node 0 is where the walks start, node 1 where they end (the community office for both, by
default), nodes 2.. the stops. Distances and times are registered as matrices
(``RegisterTransitMatrix``), never as a Python callback per arc. The time of an arc is the walk
plus the service time at its origin; a stop's time window bounds when its service starts, and
waiting for a window to open is allowed.

Every stop is optional with a penalty for leaving it out of ``DROP_BASE x 3^(priority - 1)``,
where ``DROP_BASE`` exceeds the longest possible walk: so a stop that fits is never left out to
save walking, and one stop of priority p outweighs two stops of priority p - 1.

The arc cost is the walking distance (in decimetres). With several walks (a village day) the
longest walking time is also minimised (a span cost), and ``max_stops`` caps the stops per walk.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from ortools.constraint_solver import pywrapcp, routing_enums_pb2

START, FINISH = 0, 1


@dataclass(frozen=True)
class Visit:
    """A stop to schedule: priority 1 (lowest) to 5, service seconds, optional window in
    seconds from the start of the walk."""

    priority: int
    service_s: int
    window: tuple[int, int] | None = None


@dataclass(frozen=True)
class Route:
    """One walk: stop indexes (into the visits) in order, their service start times and the
    time back at the finish, in seconds from the start."""

    stops: list[int]
    arrivals: list[int]
    returns_s: int


@dataclass(frozen=True)
class Solution:
    routes: list[Route]
    dropped: list[int]
    status: str


def default_time_limit(stops: int) -> float:
    """Seconds of search: enough to converge on the demo network (see bench/patrol.py)."""
    return min(4.0, 0.2 + 0.01 * stops)


def _int_matrix(values: np.ndarray) -> list[list[int]]:
    return np.ceil(values).astype(np.int64).tolist()


def solve(
    metres: np.ndarray,
    visits: Sequence[Visit],
    *,
    speed_mps: float,
    horizon_s: int,
    vehicles: int = 1,
    max_stops: int | None = None,
    time_limit_s: float | None = None,
) -> Solution:
    """Order ``visits`` into ``vehicles`` walks within ``horizon_s``; ``metres`` is the
    (2 + n) x (2 + n) walking-distance matrix of start, finish and the stops."""
    n = len(visits)
    if metres.shape != (n + 2, n + 2):
        raise ValueError(f"distance matrix is {metres.shape}, expected {(n + 2, n + 2)}")
    manager = pywrapcp.RoutingIndexManager(n + 2, vehicles, [START] * vehicles, [FINISH] * vehicles)
    routing = pywrapcp.RoutingModel(manager)

    cost = routing.RegisterTransitMatrix(_int_matrix(metres * 10.0))
    routing.SetArcCostEvaluatorOfAllVehicles(cost)
    service = np.array([0, 0, *(v.service_s for v in visits)], dtype=float)
    seconds = metres / speed_mps + service[:, None]
    time = routing.RegisterTransitMatrix(_int_matrix(seconds))
    routing.AddDimension(time, horizon_s, horizon_s, True, "time")
    clock = routing.GetDimensionOrDie("time")
    for k, visit in enumerate(visits):
        if visit.window is not None:
            lo, hi = visit.window
            clock.CumulVar(manager.NodeToIndex(k + 2)).SetRange(max(lo, 0), min(hi, horizon_s))
    if vehicles > 1:
        clock.SetGlobalSpanCostCoefficient(10)
    if max_stops is not None:
        counts = routing.RegisterUnaryTransitVector([0, 0] + [1] * n)
        routing.AddDimension(counts, 0, max_stops, True, "stops")

    drop_base = int(horizon_s * speed_mps * 10 * vehicles) + 1
    for k, visit in enumerate(visits):
        penalty = drop_base * 3 ** (visit.priority - 1)
        routing.AddDisjunction([manager.NodeToIndex(k + 2)], penalty)

    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    params.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    )
    limit = default_time_limit(n) if time_limit_s is None else time_limit_s
    params.time_limit.FromMilliseconds(max(1, math.ceil(limit * 1000)))
    found = routing.SolveWithParameters(params)
    status = routing.status()
    status_name = routing_enums_pb2.RoutingSearchStatus.Value.Name(status)
    if found is None:
        return Solution([Route([], [], 0) for _ in range(vehicles)], list(range(n)), status_name)
    routes = []
    visited: set[int] = set()
    for vehicle in range(vehicles):
        stops, arrivals = [], []
        index = routing.NextVar(routing.Start(vehicle))
        index = found.Value(index)
        while not routing.IsEnd(index):
            node = manager.IndexToNode(index)
            stops.append(node - 2)
            arrivals.append(found.Min(clock.CumulVar(index)))
            index = found.Value(routing.NextVar(index))
        routes.append(Route(stops, arrivals, found.Min(clock.CumulVar(index))))
        visited.update(stops)
    return Solution(routes, [k for k in range(n) if k not in visited], status_name)


def route_length(metres: np.ndarray, stops: Sequence[int]) -> float:
    """Walking length of start -> stops (indexes into the visits) -> finish."""
    nodes = [START, *(s + 2 for s in stops), FINISH]
    return float(sum(metres[a, b] for a, b in itertools.pairwise(nodes)))
