"""Walking network, routing solver and walks on small hand-made networks (metres, no database)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from shapely.geometry import LineString, Point, box

from geo.patrol.network import MAX_OFFSET_M, WalkingNetwork, noded
from geo.patrol.routing import Clock, plan_walk, why_left_out
from geo.patrol.solver import Visit, route_length, solve

SPEED = 1.2
OFFICE = Point(0, 0)
CLOCK = Clock(dt.datetime(2026, 11, 27, 8, 30, tzinfo=dt.timezone(dt.timedelta(hours=8))))


def comb() -> WalkingNetwork:
    """A street from x=0 to 400 along y=0, with dead-end lanes north at x=100 (80 m) and
    x=300 (50 m)."""
    return WalkingNetwork.from_lines(
        [
            LineString([(0, 0), (400, 0)]),
            LineString([(100, 0), (100, 80)]),
            LineString([(300, 0), (300, 50)]),
        ]
    )


def walk(network: WalkingNetwork, stops: list[Point], visits: list[Visit], horizon: int = 12600):
    places = network.connect([OFFICE, OFFICE, *stops])
    metres, straight = places.distances()
    result, dropped = plan_walk(
        places,
        metres,
        straight,
        visits,
        list(range(len(stops))),
        speed=SPEED,
        horizon_s=horizon,
        time_limit_s=0.5,
    )
    return result, dropped, metres


def test_lines_are_noded_at_crossings_and_near_misses() -> None:
    lines = [
        LineString([(0, 0), (100, 0)]),
        LineString([(50, -50), (50, 50)]),  # crosses
        LineString([(100.6, 10), (100.6, 60)]),  # ends 0.6 m short of nothing: stays apart
        LineString([(20, 0.5), (20, 40)]),  # ends 0.5 m from the first line: joined
    ]
    parts = noded(lines)
    places = WalkingNetwork(parts).connect([Point(0, 0), Point(20, 40), Point(50, 50)])
    metres, straight = places.distances()
    assert metres[0, 1] == pytest.approx(20 + 0.5 + 39.5, abs=0.02)
    assert metres[0, 2] == pytest.approx(50 + 50, abs=0.02)
    assert not straight[0, 1] and not straight[0, 2]
    assert len(parts) == 2 + 2 + 1 + 2 + 1  # first split at 20 and 50; cross split; connector


def test_known_optimal_order_on_a_comb() -> None:
    stops = [Point(100, 80), Point(200, 0), Point(300, 50)]
    result, dropped, metres = walk(comb(), stops, [Visit(3, 60)] * 3)
    assert dropped == []
    assert result.order in ([0, 1, 2], [2, 1, 0])
    assert result.distance_m == pytest.approx(2 * 300 + 2 * 80 + 2 * 50, abs=0.01)
    assert result.distance_m == pytest.approx(route_length(metres, result.order))
    assert result.line.length == pytest.approx(result.distance_m, abs=0.01)
    assert result.straight_legs == 0
    first_leg = 180.0 if result.order[0] == 0 else 350.0
    assert result.legs_m[0] == pytest.approx(first_leg, abs=0.01)
    assert result.arrivals_s[0] == int(np.ceil(first_leg / SPEED))
    assert result.returns_s == pytest.approx(860 / SPEED + 3 * 60, abs=3)


def test_dead_end_is_walked_along_the_network_not_through_a_building() -> None:
    network = WalkingNetwork.from_lines(
        [LineString([(0, 0), (300, 0)]), LineString([(250, 0), (250, 60), (50, 60)])]
    )
    building = box(20, 10, 200, 50)
    stop = Point(50, 62)
    assert LineString([OFFICE, stop]).intersects(building)
    result, _, metres = walk(network, [stop], [Visit(3, 60)])
    assert metres[0, 2] == pytest.approx(250 + 60 + 200 + 2, abs=0.01)
    assert result.distance_m == pytest.approx(2 * 512, abs=0.02)
    assert not result.line.intersects(building.buffer(-0.01))
    assert result.straight_legs == 0


def test_time_window_changes_the_order_and_is_kept() -> None:
    network = comb()
    stops = [Point(100, 80), Point(300, 50)]
    # Without windows the walk may go either way round; B must be seen before 08:36.
    visits = [Visit(3, 60), Visit(3, 60, (0, 360))]
    result, dropped, _ = walk(network, stops, visits)
    assert dropped == []
    assert result.order == [1, 0]
    assert result.arrivals_s[0] <= 360
    late = [Visit(3, 60, (3600, 4200)), Visit(3, 60)]
    result, _, _ = walk(network, stops, late)
    arrival = dict(zip(result.order, result.arrivals_s, strict=True))
    assert arrival[0] == 3600  # waits for the window to open


def test_stops_that_cannot_fit_are_reported_with_the_reason() -> None:
    network = comb()
    far_west = WalkingNetwork.from_lines([LineString([(-1000, 0), (400, 0)]), *network.segments])
    stops = [Point(400, 0), Point(-1000, 0), Point(300, 50), Point(100, 80)]
    visits = [
        Visit(5, 60),  # 400 m east, must be kept
        Visit(1, 60),  # 1 km west: alone it needs 2000 m = 1667 s + 60 s
        Visit(3, 60, (0, 100)),  # window closes before anyone can get there (292 s)
        Visit(2, 600),  # fits alone, but not after the priority-5 stop
    ]
    horizon = 900
    result, dropped, metres = walk(far_west, stops, visits, horizon=horizon)
    assert result.order == [0]
    assert sorted(dropped) == [1, 2, 3]
    reasons = {k: why_left_out(k, metres, visits[k], horizon, SPEED, CLOCK) for k in dropped}
    assert reasons[1] == "even alone it would end the patrol at 08:59, after 08:45"
    assert reasons[2] == (
        "its time window closes at 08:32, before the earliest possible arrival at 08:35"
    )
    assert reasons[3] == "no time left: stops of priority 2 or higher fill the patrol until 08:45"


def test_places_off_the_network_are_walked_in_a_straight_line() -> None:
    far = Point(200, MAX_OFFSET_M + 100)
    result, _, metres = walk(comb(), [far], [Visit(3, 0)])
    assert result.straight_legs == 2
    assert result.straight_m == pytest.approx(2 * OFFICE.distance(far))
    assert metres[0, 2] == pytest.approx(OFFICE.distance(far))


def test_priorities_decide_what_is_dropped() -> None:
    network = comb()
    stops = [Point(400, 0), Point(100, 80), Point(300, 50)]
    visits = [Visit(1, 0), Visit(2, 0), Visit(2, 0)]
    # 600 s at 1.2 m/s = 720 m: both priority-2 lanes (2 x 300 + 2 x 80 + 2 x 50 = 860 m)
    # do not fit together with the far end (800 m); the two lanes alone do not fit either.
    result, dropped, _ = walk(network, stops, visits, horizon=600)
    assert len(result.order) == 1 and result.order[0] in (1, 2)
    assert 0 in dropped


def test_several_walks_share_the_stops() -> None:
    network = comb()
    stops = [Point(x, 0) for x in (50, 100, 150, 250, 300, 350)]
    places = network.connect([OFFICE, OFFICE, *stops])
    metres, _ = places.distances()
    solution = solve(
        metres, [Visit(3, 300)] * 6, speed_mps=SPEED, horizon_s=12600, vehicles=2, max_stops=3
    )
    assert solution.dropped == []
    assert sorted(len(r.stops) for r in solution.routes) == [3, 3]
    assert sorted(s for r in solution.routes for s in r.stops) == list(range(6))
