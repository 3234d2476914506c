"""The parking generator on hand-made compounds whose answers are worked out by hand."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import replace

import pytest
from shapely.geometry import LineString, Point, Polygon, box

from geo.parking.check import check
from geo.parking.generate import generate, totals
from geo.parking.kerb import kerb_stalls
from geo.parking.model import ParkingParams, Road, Site, StallKind
from geo.parking.pocket import pocket_layout
from geo.parking.zones import Blocker, carriageway, obstacles

PP = ParkingParams(kinds=[StallKind.PERPENDICULAR, StallKind.PARALLEL])


def kerb(site: Site, params: ParkingParams = PP) -> Counter:
    outside = box(-500, -500, 500, 500).difference(site.boundary)
    stalls = kerb_stalls(site, params, Blocker([obstacles(site, params), outside]))
    return Counter((s.kind.value, s.source.rsplit(":", 1)[-1]) for s in stalls)


ROAD = Road(LineString([(0, 0), (100, 0)]), 6.0, "internal_road", "R")


def test_a_6_m_road_with_room_on_one_side_gets_perpendicular_stalls_there() -> None:
    """A 6 m road is exactly the perpendicular aisle: 100 m / 2.5 m = 40 stalls beside it,
    on the side with 6 m of paved ground; the other kerb is the compound's edge."""
    site = Site(boundary=box(0, -3, 100, 9), roads=[ROAD])
    assert kerb(site) == Counter({("perpendicular", "left"): 40})


def test_with_3_m_of_ground_the_kerb_takes_parallel_stalls() -> None:
    """2.5 m deep parallel stalls fit in 3 m, 6 m each: floor(100 / 6) = 16."""
    site = Site(boundary=box(0, -3, 100, 6), roads=[ROAD])
    assert kerb(site) == Counter({("parallel", "left"): 16})


def test_no_stall_when_the_carriageway_left_would_be_too_narrow() -> None:
    """Parallel stalls painted on the 6 m road would leave 3.5 m < 3.8 m: none."""
    assert kerb(Site(boundary=box(0, -3, 100, 3), roads=[ROAD])) == Counter()


def test_a_9_m_road_takes_parallel_stalls_on_both_kerbs() -> None:
    """9 - 2 x 2.5 = 4.0 m left >= 3.8 m: 16 stalls each side."""
    wide = Road(ROAD.line, 9.0, "internal_road", "W")
    site = Site(boundary=box(0, -4.5, 100, 4.5), roads=[wide])
    assert kerb(site) == Counter({("parallel", "left"): 16, ("parallel", "right"): 16})


def test_a_4_m_fire_lane_gets_no_stalls() -> None:
    """Not on it (4 m must stay clear) and, by default, not opening onto it either; allowed
    to, 45-degree stalls (3.8 m aisle) beside it would fit: floor((100 - 3.75) / 3.54) = 27."""
    lane = Road(ROAD.line, 4.0, "fire_lane", "F")
    for boundary in (box(0, -2, 100, 2), box(0, -2, 100, 9)):
        assert kerb(Site(boundary=boundary, roads=[lane]), ParkingParams()) == Counter()
    allowed = ParkingParams(park_along_fire_lanes=True)
    beside = kerb(Site(boundary=box(0, -2, 100, 9), roads=[lane]), allowed)
    assert beside == Counter({("angle_45", "left"): 27})


def test_gates_and_hydrants_interrupt_the_kerb() -> None:
    """A hydrant at x = 50 with 5 m clearance leaves [0, 45] and [55, 100] beside the road:
    18 + 18 perpendicular stalls."""
    site = Site(boundary=box(0, -3, 100, 9), roads=[ROAD], hydrants=[Point(50, 3.5)])
    free = [(0.0, 50 - math.sqrt(25 - 0.5**2)), (50 + math.sqrt(25 - 0.5**2), 100.0)]
    expected = sum(math.floor((b - a) / 2.5) for a, b in free)
    assert kerb(site) == Counter({("perpendicular", "left"): expected})
    assert expected == 36


def test_an_open_rectangle_takes_two_double_loaded_modules() -> None:
    """A 50 x 34 m paved rectangle east of a 6 m road (the gate at its south end): rows run
    east-west with their aisles opening onto the road; 34 m holds two double-loaded modules
    (2 x 16.6 m), each of two rows of floor(50 / 2.5) = 20 stalls: 80. North-south rows could
    only face the road: 13."""
    area = box(0, 0, 50, 34)
    road = Road(LineString([(-3, -12), (-3, 34)]), 6.0, "internal_road", "access")
    reach = carriageway(road)
    found, aisles = pocket_layout(area, area.union(reach), reach, ParkingParams(), "pocket:1")
    stalls = [replace(s, number=n) for n, s in enumerate(found, start=1)]
    assert len(stalls) == 80
    assert all(area.buffer(1e-6).contains(s.polygon) for s in stalls)
    assert {round(s.polygon.bounds[3] - s.polygon.bounds[1], 3) for s in stalls} == {5.3}
    assert len(aisles) == 2 and all(a.area == pytest.approx(50 * 6.0) for a in aisles)
    site = Site(boundary=Polygon(area.union(reach).exterior), roads=[road], gates=[Point(-3, -12)])
    assert check(site, stalls, ParkingParams(), aisles=aisles) == []


def courtyard() -> Site:
    """A 120 x 90 m compound: a loop road, two slab buildings with entrances, a fire lane
    along the east side, a hydrant, a tree, a green area and a gate."""
    boundary = box(0, 0, 120, 90)
    loop = Road(
        LineString([(60, 0), (60, 45), (10, 45), (10, 80), (110, 80)]), 6.0, "internal_road", "loop"
    )
    fire = Road(LineString([(115, 0), (115, 90)]), 4.0, "fire_lane", "fire")
    buildings = [box(20, 55, 50, 67), box(70, 20, 100, 32)]
    entrances = [Point(30, 54.5), Point(40, 54.5), Point(80, 19.5), Point(90, 19.5)]
    return Site(
        boundary=boundary,
        buildings=buildings,
        entrances=entrances,
        roads=[loop, fire],
        gates=[Point(60, 0)],
        hydrants=[Point(64, 30)],
        green=[box(15, 5, 45, 25)],
        trees=[Point(100, 60)],
    )


def test_a_generated_layout_breaks_no_rule_and_adds_up() -> None:
    site, params = courtyard(), ParkingParams()
    result = generate(site, params)
    layout = result.layout
    assert len(layout.stalls) > 40
    assert check(site, layout.stalls, params, aisles=layout.aisles) == []
    assert [s.number for s in layout.stalls] == list(range(1, len(layout.stalls) + 1))
    assert [b.number for b in layout.bays] == list(range(1, len(layout.bays) + 1))
    figures = totals(layout, site, params)
    assert figures["stalls"] == len(layout.stalls) == result.kerb + result.pocket
    assert figures["accessible"] == max(1, math.ceil(0.005 * (len(layout.stalls) + 1))) or (
        figures["accessible"] >= 1
    )
    assert sum(figures["by_kind"].values()) == figures["stalls"]
    painted = sum(line.length for s in layout.stalls for line in s.lines)
    bays = sum(line.length for b in layout.bays for line in b.lines)
    assert figures["painted_m"] == pytest.approx(painted + bays, abs=0.1)
    assert figures["nonmotor_lines_m"] == pytest.approx(bays, abs=0.1)
    assert all(1 <= b.capacity <= params.nonmotor_group_max for b in layout.bays)
    assert figures["nonmotor_capacity"] == sum(b.capacity for b in layout.bays)
    for bay in layout.bays:
        assert not any(bay.polygon.intersects(carriageway(r)) for r in site.roads)
        assert all(
            bay.polygon.distance(e) >= params.entrance_clearance_m - 0.01 for e in site.entrances
        )
    assert figures["kerb_bound"] == math.floor(
        2 * sum(r.line.intersection(site.boundary).length for r in site.roads) / 2.5
    )


def test_accessible_stalls_are_two_stalls_merged_near_an_entrance() -> None:
    site, params = courtyard(), ParkingParams(accessible_share=0.05)
    layout = generate(site, params).layout
    accessible = [s for s in layout.stalls if s.accessible]
    assert len(accessible) == math.ceil(0.05 * (len(layout.stalls) + len(accessible)))
    for s in accessible:
        assert s.polygon.area == pytest.approx(2 * 2.5 * 5.3, rel=1e-6)
    assert check(site, layout.stalls, params, aisles=layout.aisles) == []


def test_green_areas_may_be_converted_when_allowed() -> None:
    site = courtyard()
    kept = generate(site, ParkingParams()).layout
    converted = generate(site, ParkingParams(allow_green=True)).layout
    green = site.green[0]
    assert not any(s.polygon.intersection(green).area > 0.01 for s in kept.stalls)
    assert sum(s.polygon.intersection(green).area > 0.01 for s in converted.stalls) > 0
    assert len(converted.stalls) > len(kept.stalls)
