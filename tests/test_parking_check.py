"""The parking compliance checker on small hand-made sites (pure geometry, no database).

The site: a 100 x 60 m compound, a 6 m road along y = 30 (carriageway y 27..33) entered by a
gate at its west end. Stalls are 2.5 x 5.3 m; ``up(n, x)`` stands beside the road's north
kerb, opening onto it, and is compliant unless a test adds something next to it.
"""

from __future__ import annotations

import time

import pytest
from shapely.geometry import LineString, Point, Polygon, box

from geo.errors import InvalidInput
from geo.parking.check import RULES, Violation, check
from geo.parking.model import ParkingParams, Road, Site, Stall, StallKind

PARAMS = ParkingParams()
KERB = 33.0
MAIN = Road(LineString([(0, 30), (100, 30)]), 6.0, name="main")


def site(**features: object) -> Site:
    features.setdefault("boundary", box(0, 0, 100, 60))
    features.setdefault("roads", [MAIN])
    features.setdefault("gates", [Point(0, 30)])
    return Site(**features)


def stall(
    n: int,
    x: float,
    y: float,
    *,
    width: float = 2.5,
    depth: float = 5.3,
    kind: StallKind = StallKind.PERPENDICULAR,
    opens: str | None = "south",
) -> Stall:
    """A stall over [x, x + width] x [y, y + depth], opening to the south or north (its front),
    or with no front when ``opens`` is None."""
    line = None
    if opens:
        edge = y if opens == "south" else y + depth
        line = LineString([(x, edge), (x + width, edge)])
    return Stall(n, kind, box(x, y, x + width, y + depth), front=line)


def up(n: int, x: float, **kw: object) -> Stall:
    return stall(n, x, KERB, **kw)


def pairs(found: list[Violation]) -> list[tuple[int | None, str]]:
    assert all(v.rule in RULES and not v.geometry.is_empty for v in found)
    return [(v.stall, v.rule) for v in found]


def test_no_stalls() -> None:
    assert check(site(), [], PARAMS) == []


def test_compliant_stalls_beside_the_road_pass() -> None:
    stalls = [up(1, 40), up(2, 42.5), stall(3, 40, 27 - 5.3, opens="north")]
    assert check(site(), stalls, PARAMS) == []


def test_outside_compound() -> None:
    found = check(site(), [up(1, 40), up(2, 98.5)], PARAMS)
    assert pairs(found) == [(2, "outside_compound")]
    assert found[0].geometry.area == pytest.approx(1.0 * 5.3)


def test_overlap_reported_once_per_pair() -> None:
    stalls = [up(1, 40), up(4, 50), up(3, 51), up(2, 52)]
    found = check(site(), stalls, PARAMS)
    assert pairs(found) == [(2, "overlap"), (2, "overlap"), (3, "overlap")]
    assert sorted(v.message for v in found) == [
        "stalls 2 and 3 overlap by 7.95 m²",
        "stalls 2 and 4 overlap by 2.65 m²",
        "stalls 3 and 4 overlap by 7.95 m²",
    ]


def test_building() -> None:
    found = check(site(buildings=[box(60, 38.6, 80, 50)]), [up(1, 40), up(2, 61)], PARAMS)
    assert pairs(found) == [(2, "building")]
    assert found[0].message == "stall 2 is 0.30 m from building 1; 0.50 m required"
    assert found[0].geometry.area == pytest.approx(2.5 * 0.2)


def test_green_area_unless_allowed() -> None:
    green = site(green=[box(60, 36, 70, 45)])
    stalls = [up(1, 40), up(2, 61)]
    assert pairs(check(green, stalls, PARAMS)) == [(2, "green_area")]
    assert check(green, stalls, ParkingParams(allow_green=True)) == []


def test_tree_even_when_green_is_allowed() -> None:
    trees = site(trees=[Point(62, 39)])
    stalls = [up(1, 40), up(2, 61)]
    assert pairs(check(trees, stalls, ParkingParams(allow_green=True))) == [(2, "tree")]


def test_keep_clear() -> None:
    found = check(site(keep_clear=[box(60, 33, 70, 40)]), [up(1, 40), up(2, 61)], PARAMS)
    assert pairs(found) == [(2, "keep_clear")]
    assert found[0].message == "stall 2 overlaps keep-clear zone 1 by 13.25 m²"


def test_fire_lane_corridor() -> None:
    """A 6 m fire lane keeps its middle 4 m clear (y 28..32); parallel stalls need 4 m."""
    lane = Road(MAIN.line, 6.0, kind="fire_lane", name="F")
    parallel = {"width": 6.0, "depth": 2.5, "kind": StallKind.PARALLEL}
    stalls = [stall(1, 40, KERB, **parallel), stall(2, 50, 31.5, **parallel)]
    found = check(site(roads=[lane]), stalls, PARAMS)
    assert pairs(found) == [(2, "fire_lane")]
    assert (
        found[0].message == "stall 2 overlaps the 4.00 m clear corridor of fire lane F by 3.00 m²"
    )


def test_hydrant() -> None:
    found = check(site(hydrants=[Point(62, 40)]), [up(1, 40), up(2, 61)], PARAMS)
    assert pairs(found) == [(2, "hydrant")]
    assert found[0].message == "stall 2 is 1.70 m from hydrant 1; 5.00 m required"


def test_gate() -> None:
    found = check(site(), [up(1, 40), up(2, 5)], PARAMS)
    assert pairs(found) == [(2, "gate")]
    assert found[0].message == "stall 2 is 5.83 m from gate 1; 8.00 m required"


def test_entrance() -> None:
    found = check(site(entrances=[Point(62, 39)]), [up(1, 40), up(2, 61)], PARAMS)
    assert pairs(found) == [(2, "entrance")]


def test_touching_at_the_limit_passes() -> None:
    """Stalls 1 (x 40..42.5) and 2 (x 42.5..45), y 33..38.3, with every feature exactly at its
    limit; then stalls touching a fire lane's clear corridor."""
    at_limit = site(
        boundary=box(0, 0, 100, 38.3),
        buildings=[box(45.5, 34, 50, 40)],
        green=[box(30, 34, 40, 40)],
        keep_clear=[box(40, 38.3, 45, 40)],
        hydrants=[Point(41, 38.3 + 5.0)],
        trees=[Point(41, 38.3 + 1.0)],
        entrances=[Point(40 - 2.0, 36)],
        gates=[Point(0, 30), Point(41, 33 - 8.0)],
    )
    assert check(at_limit, [up(1, 40), up(2, 42.5)], PARAMS) == []
    lane = Road(LineString([(0, 20), (100, 20)]), 4.0, kind="fire_lane")
    parallel = {"width": 6.0, "depth": 2.5, "kind": StallKind.PARALLEL}
    beside = [stall(1, 40, 22, **parallel), stall(2, 40, 18 - 2.5, opens="north", **parallel)]
    assert check(site(roads=[MAIN, lane], gates=[Point(0, 20)]), beside, PARAMS) == []


def test_unreachable_without_a_way_in() -> None:
    far = stall(2, 40, 50)
    found = check(site(), [up(1, 40), far], PARAMS)
    assert pairs(found) == [(2, "unreachable")]
    assert found[0].message == (
        "stall 2 is unreachable: it is 17.00 m from the nearest aisle or road; 0.50 m allowed"
    )
    assert found[0].geometry.equals(far.front)


def test_unreachable_until_the_aisle_joins_the_road() -> None:
    on_aisle = stall(2, 61, 51)
    loose = check(site(), [up(1, 40), on_aisle], PARAMS, aisles=[box(60, 45, 70, 51)])
    assert pairs(loose) == [(2, "unreachable")]
    assert "no gate connects to" in loose[0].message
    joined = check(site(), [up(1, 40), on_aisle], PARAMS, aisles=[box(60, 33, 70, 51)])
    assert joined == []


def test_stalls_without_front_open_by_their_polygon() -> None:
    stalls = [up(1, 40, opens=None), up(2, 50, opens=None), stall(3, 60, 33.6, opens=None)]
    assert pairs(check(site(), stalls, PARAMS)) == [(3, "unreachable")]


def test_no_gate_makes_every_stall_unreachable() -> None:
    found = check(site(gates=[]), [up(2, 50), up(1, 40)], PARAMS)
    assert pairs(found) == [(1, "unreachable"), (2, "unreachable")]
    assert found[0].message == "stall 1 is unreachable: the site has no gate"


def test_footpath_is_not_drivable() -> None:
    path = Road(MAIN.line, 6.0, kind="footpath")
    found = check(site(roads=[path]), [up(1, 40)], PARAMS)
    assert pairs(found) == [(1, "unreachable")]


def test_stalls_on_the_carriageway_narrow_it() -> None:
    """Perpendicular stalls painted on a 6 m road leave 0.7 m; beside it they leave 6 m."""
    on_road = [stall(2, 40, 27), stall(3, 42.5, 27), up(1, 60)]
    found = check(site(), on_road, PARAMS)
    assert pairs(found) == [(2, "carriageway_width"), (3, "carriageway_width")]
    assert found[0].message == (
        "stall 2 leaves 0.70 m of the 6.00 m carriageway of road main clear; "
        "6.00 m required for perpendicular stalls"
    )
    assert found[0].geometry.length == pytest.approx(6.0)


def test_narrow_road_for_its_stalls() -> None:
    """Perpendicular stalls beside a 4 m road: the road itself is too narrow for them."""
    narrow = Road(MAIN.line, 4.0, name="lane")
    found = check(site(roads=[narrow]), [stall(1, 40, 32)], PARAMS)
    assert pairs(found) == [(1, "carriageway_width")]
    assert found[0].message == (
        "stall 1 leaves 4.00 m of the 4.00 m carriageway of road lane clear; "
        "6.00 m required for perpendicular stalls"
    )


def test_parallel_stall_on_a_fire_lane() -> None:
    lane = Road(MAIN.line, 4.0, kind="fire_lane", name="F")
    on_lane = stall(1, 40, 28, width=6.0, depth=2.5, kind=StallKind.PARALLEL)
    found = check(site(roads=[lane]), [on_lane], PARAMS)
    assert pairs(found) == [(1, "fire_lane"), (1, "carriageway_width")]
    assert found[1].message == (
        "stall 1 leaves 1.50 m of the 4.00 m carriageway of fire lane F clear; "
        "4.00 m required for a fire lane"
    )


@pytest.mark.parametrize(
    ("polygon", "reason"),
    [
        (Polygon(), "stall 7 is not a polygon"),
        (Polygon([(0, 0), (2, 2), (2, 0), (0, 2)]), "stall 7 is not a valid polygon"),
    ],
)
def test_bad_stall_polygon(polygon: Polygon, reason: str) -> None:
    with pytest.raises(InvalidInput, match=reason):
        check(site(), [Stall(7, StallKind.PERPENDICULAR, polygon)], PARAMS)


def test_repeated_numbers_and_unknown_kinds() -> None:
    with pytest.raises(InvalidInput, match="used more than once: 1"):
        check(site(), [up(1, 40), up(1, 50)], PARAMS)
    with pytest.raises(InvalidInput, match="stall 3: unknown kind 'diagonal'"):
        check(site(), [up(3, 40, kind="diagonal")], PARAMS)


def test_large_layout_is_compliant_and_fast() -> None:
    """A 2 ha compound: three 6 m roads joined by a spine from the gate, 408 stalls."""
    spine = Road(LineString([(100, 0), (100, 85)]), 6.0, name="spine")
    roads = [spine, *(Road(LineString([(0, y), (200, y)]), 6.0) for y in (15, 50, 85))]
    stalls = [
        stall(k + 1, x, y, opens=side)
        for k, (x, y, side) in enumerate(
            (x0 + 2.5 * i, y, side)
            for road_y in (15, 50, 85)
            for y, side in ((road_y + 3, "south"), (road_y - 3 - 5.3, "north"))
            for x0 in (8, 105)
            for i in range(34)
        )
    ]
    big = Site(
        boundary=box(0, 0, 200, 100),
        buildings=[box(10, 26, 90, 38), box(110, 61, 190, 73)],
        roads=roads,
        gates=[Point(100, 0)],
        hydrants=[Point(104, 30), Point(96, 70)],
        trees=[Point(50, 40), Point(150, 40)],
    )
    start = time.perf_counter()
    assert check(big, stalls, PARAMS) == []
    assert time.perf_counter() - start < 1.0
