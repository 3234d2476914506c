"""Village-day sectors on hand-made areas (metres, no database)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from shapely.geometry import Point, Polygon, box

from geo.patrol.sectors import default_tolerance, split

AREA = box(0, 0, 900, 600)


def grid_points(nx: int, ny: int, width: float = 900, height: float = 600) -> np.ndarray:
    xs = (np.arange(nx) + 0.5) * width / nx
    ys = (np.arange(ny) + 0.5) * height / ny
    return np.array([(x, y) for x in xs for y in ys])


def check(xy: np.ndarray, sectors, teams: int, area: Polygon, tolerance: int) -> list[int]:
    counts = [sectors.teams.count(t) for t in range(teams)]
    assert max(counts) - min(counts) <= tolerance
    assert all(isinstance(a, Polygon) for a in sectors.areas)  # contiguous: one piece each
    assert sum(a.area for a in sectors.areas) == pytest.approx(area.area)
    for i, j in itertools.combinations(range(teams), 2):
        assert sectors.areas[i].intersection(sectors.areas[j]).area == pytest.approx(0, abs=1e-6)
    for (x, y), team in zip(xy, sectors.teams, strict=True):
        assert sectors.areas[team].buffer(1e-6).contains(Point(x, y))
    return counts


def test_even_seeds_give_three_equal_strips() -> None:
    xy = grid_points(9, 6)
    seeds = [int(x // 300) for x, _ in xy]
    sectors = split(xy, seeds, AREA, 3)
    assert check(xy, sectors, 3, AREA, 0) == [18, 18, 18]
    assert sectors.areas[0].equals(box(0, 0, 300, 600))


def test_stray_stops_join_a_neighbour_and_the_sectors_stay_whole() -> None:
    xy = grid_points(9, 6)
    seeds = [int(x // 300) for x, _ in xy]
    seeds[0] = 2  # a stop in the west corner walked by the east team
    seeds[30] = -1  # a stop no team reached
    sectors = split(xy, seeds, AREA, 3)
    check(xy, sectors, 3, AREA, default_tolerance(len(xy), 3))
    assert sectors.teams[0] == 0


def test_unbalanced_seeds_are_rebalanced_within_the_tolerance() -> None:
    xy = grid_points(12, 5)
    seeds = [0 if x < 600 else 1 for x, _ in xy]  # 40 against 20 stops
    sectors = split(xy, seeds, AREA, 2, tolerance=2)
    counts = check(xy, sectors, 2, AREA, 2)
    assert sum(counts) == 60


def test_stops_at_one_place_stay_together_and_an_l_shaped_area_is_covered() -> None:
    area = Polygon([(0, 0), (900, 0), (900, 300), (300, 300), (300, 600), (0, 600)])
    xy = np.array(
        [(x, y) for x in range(50, 900, 100) for y in range(50, 600, 100) if x < 300 or y < 300]
    )
    xy = np.vstack([xy, xy[:3]])  # three places with two stops each
    seeds = [0 if y > 250 else 1 for _, y in xy]
    sectors = split(xy, seeds, area, 2)
    check(xy, sectors, 2, area, default_tolerance(len(xy), 2))
    n = len(xy) - 3
    assert [sectors.teams[k] for k in range(3)] == [sectors.teams[n + k] for k in range(3)]


def test_no_stops_leaves_the_whole_area_to_the_first_team() -> None:
    sectors = split(np.zeros((0, 2)), [], AREA, 3)
    assert sectors.teams == []
    assert sectors.areas[0].equals(AREA)
    assert all(a.is_empty for a in sectors.areas[1:])
