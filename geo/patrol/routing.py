"""Walks through the stops, in metres and seconds: the solver's order turned into legs along the
walking network, arrival times, the walked line, and a reason for every stop left out."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from shapely.geometry import LineString

from geo.patrol.network import Places
from geo.patrol.solver import FINISH, START, Visit, solve


@dataclass(frozen=True)
class Walk:
    """One walk: stops (candidate indexes) in order with service start times and the walking
    metres from the previous place; the time back at the finish; the line walked (metric)."""

    order: list[int]
    arrivals_s: list[int]
    legs_m: list[float]
    returns_s: int
    distance_m: float
    straight_m: float
    straight_legs: int
    line: LineString | None


@dataclass(frozen=True)
class Clock:
    """Seconds from the start of a walk as local wall-clock times, for messages."""

    starts_at: dt.datetime

    def at(self, seconds: float) -> dt.datetime:
        return self.starts_at + dt.timedelta(seconds=round(seconds))

    def hhmm(self, seconds: float) -> str:
        """The time to the nearest minute."""
        return self.at(60 * round(seconds / 60)).strftime("%H:%M")


def why_left_out(
    k: int, metres: np.ndarray, visit: Visit, horizon_s: int, speed: float, clock: Clock
) -> str:
    """Why stop ``k`` (a candidate index; row k + 2 of ``metres``) is not in any walk."""
    earliest = metres[START, k + 2] / speed
    if visit.window is not None:
        opens, closes = visit.window
        if closes < earliest:
            return (
                f"its time window closes at {clock.hhmm(closes)}, before the earliest possible "
                f"arrival at {clock.hhmm(earliest)}"
            )
        if opens >= horizon_s:
            return f"its time window opens at {clock.hhmm(opens)}, after the patrol ends"
        earliest = max(earliest, opens)
    done = earliest + visit.service_s + metres[k + 2, FINISH] / speed
    if done > horizon_s:
        return (
            f"even alone it would end the patrol at {clock.hhmm(done)}, after "
            f"{clock.hhmm(horizon_s)}"
        )
    return (
        f"no time left: stops of priority {visit.priority} or higher fill the patrol "
        f"until {clock.hhmm(horizon_s)}"
    )


def walk_of(
    places: Places,
    metres: np.ndarray,
    straight: np.ndarray,
    order: list[int],
    arrivals: list[int],
    returns_s: int,
) -> Walk:
    """The legs and line of visiting ``order`` (candidate indexes) from start to finish."""
    nodes = [START, *(k + 2 for k in order), FINISH]
    coords: list[tuple[float, float]] = []
    legs, straight_m, straight_legs = [], 0.0, 0
    for a, b in itertools.pairwise(nodes):
        legs.append(float(metres[a, b]))
        if straight[a, b]:
            straight_m += float(metres[a, b])
            straight_legs += 1
        leg = places.leg(a, b)
        for c in leg.line.coords:
            if not coords or c != coords[-1]:
                coords.append(c)
    line = LineString(coords) if len(coords) > 1 else None
    return Walk(
        order,
        arrivals,
        legs[:-1],
        returns_s,
        float(sum(legs)),
        straight_m,
        straight_legs,
        line,
    )


def plan_walk(
    places: Places,
    metres: np.ndarray,
    straight: np.ndarray,
    visits: Sequence[Visit],
    members: Sequence[int],
    *,
    speed: float,
    horizon_s: int,
    time_limit_s: float | None = None,
) -> tuple[Walk, list[int]]:
    """The best single walk through the candidates ``members``; also those left out."""
    nodes = [START, FINISH, *(k + 2 for k in members)]
    sub = metres[np.ix_(nodes, nodes)]
    solution = solve(
        sub,
        [visits[k] for k in members],
        speed_mps=speed,
        horizon_s=horizon_s,
        time_limit_s=time_limit_s,
    )
    (route,) = solution.routes
    order = [members[i] for i in route.stops]
    walk = walk_of(places, metres, straight, order, route.arrivals, route.returns_s)
    return walk, [members[i] for i in solution.dropped]
