"""Tests of the deterministic demo generator (pure: no database)."""

from __future__ import annotations

import datetime
import itertools
import re
from collections.abc import Callable

import networkx as nx
import numpy as np
import pyproj
import pytest
import shapely
from shapely.geometry import Point, shape

from geo.demo import DemoCommunity, DemoData, generate
from geo.patrol.network import WalkingNetwork

TODAY = datetime.date(2024, 5, 24)
GEOD = pyproj.Geod(ellps="WGS84")
TO_UTM = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:32651", always_xy=True)
ROAD_WIDTHS = {
    "street": (12.0, 20.0),
    "internal_road": (3.0, 7.0),
    "fire_lane": (4.0, 6.0),
    "footpath": (1.0, 3.0),
}


@pytest.fixture(scope="module")
def demo() -> DemoData:
    return generate(today=TODAY)


@pytest.fixture(scope="module")
def pujiang(demo: DemoData) -> DemoCommunity:
    return demo.communities[0]


@pytest.fixture(scope="module")
def many() -> DemoData:
    return generate(communities=30, today=TODAY)


def geom(feature: dict) -> shapely.Geometry:
    return shape(feature["geometry"])


def metric(g: shapely.Geometry) -> shapely.Geometry:
    """The geometry in UTM 51N metres."""
    return shapely.transform(g, lambda c: np.column_stack(TO_UTM.transform(c[:, 0], c[:, 1])))


def area_m2(g: shapely.Geometry) -> float:
    return abs(GEOD.geometry_area_perimeter(g)[0])


def props(features: list[dict], key: str) -> list:
    return [f["properties"][key] for f in features]


def all_features(data: DemoData) -> list[dict]:
    out = [data.district, *data.streets]
    for c in data.communities:
        out += [c.community, *c.grids, *c.compounds, *c.buildings, *c.roads, *c.site_features]
    return out


def overlapping_pairs(geoms: list[shapely.Geometry]) -> list[tuple[int, int]]:
    """Index pairs whose interiors overlap (positive intersection area)."""
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    return [
        (int(i), int(j))
        for i, j in zip(left, right, strict=True)
        if i < j and geoms[i].intersection(geoms[j]).area > 0
    ]


def test_counts_codes_and_names(demo: DemoData, pujiang: DemoCommunity) -> None:
    assert demo.district["properties"] == {"code": "330303", "name": "龙湾区"}
    assert [s["properties"] for s in demo.streets] == [{"code": "330303003", "name": "蒲州街道"}]
    assert pujiang.street_code == "330303003"
    office = pujiang.community["properties"].pop("office")
    assert pujiang.community["properties"] == {"code": "330303003001", "name": "蒲江社区"}
    pujiang.community["properties"]["office"] = office
    assert geom(pujiang.community).contains(shapely.Point(office))
    assert props(pujiang.grids, "code") == [f"{i:02d}" for i in range(1, 22)]
    assert props(pujiang.grids, "name") == [f"蒲江社区第{i:02d}网格" for i in range(1, 22)]
    assert 9 <= len(pujiang.compounds) <= 11
    for f in [demo.district, *demo.streets, pujiang.community]:
        assert f["geometry"]["type"] == "MultiPolygon"


def check_workers(community: DemoCommunity) -> None:
    workers = community.workers
    roles = [w["role"] for w in workers]
    assert roles.count("grid_worker") == 21
    assert roles.count("grid_leader") == 1
    assert roles.count("grid_instructor") == 1
    assert roles.count("resident_group") == 2
    assert len({w["name"] for w in workers}) == len(workers)
    grid_workers = [w for w in workers if w["role"] == "grid_worker"]
    genders = [w["gender"] for w in grid_workers]
    assert set(genders) == {"female", "male"}
    assert 9 <= genders.count("female") <= 12
    days = [(TODAY - datetime.date.fromisoformat(w["hire_date"])).days for w in grid_workers]
    assert min(days) >= 0
    assert sum(d < 365 for d in days) >= 4
    assert sum(d >= 3 * 366 for d in days) >= 6
    assert max(days) > 10 * 366
    phones = [w["phone"] for w in workers]
    assert all(re.fullmatch(r"1\d{10}", p) for p in phones)
    assert len(set(phones)) == len(phones)
    for w in workers:
        assert set(w) == {"name", "gender", "role", "hire_date", "phone"}
        assert 2 <= len(w["name"]) <= 3


def test_workers(pujiang: DemoCommunity) -> None:
    check_workers(pujiang)
    assert any(w["name"] == "章微琳" and w["role"] == "grid_worker" for w in pujiang.workers)


def test_community_shape_and_place(demo: DemoData, pujiang: DemoCommunity) -> None:
    community = geom(pujiang.community)
    assert 0.9e6 <= area_m2(community) <= 1.1e6
    # Not a plain rectangle: one corner is cut along the river.
    assert community.area < 0.99 * community.minimum_rotated_rectangle.area
    centre = community.centroid
    assert abs(centre.x - 120.72) < 0.01
    assert abs(centre.y - 27.97) < 0.01
    street = geom(demo.streets[0])
    district = geom(demo.district)
    assert street.contains(community)
    assert district.contains(street)


def check_grids_tile_the_community(pujiang: DemoCommunity) -> None:
    community = geom(pujiang.community)
    grids = [geom(g) for g in pujiang.grids]
    assert all(g.geom_type == "Polygon" for g in grids)
    assert sum(g.area for g in grids) == pytest.approx(community.area, rel=1e-9)
    union = shapely.union_all(grids)
    assert union.symmetric_difference(community).area < 1e-9 * community.area
    for a, b in itertools.combinations(grids, 2):
        assert a.intersection(b).area == 0
    # Neighbours share edges exactly (T-junction vertices are in both).
    assert all(community.covers(g) for g in grids)


def test_geometries_valid_closed_rounded(demo: DemoData) -> None:
    for feature in all_features(demo):
        assert feature["type"] == "Feature"
        g = geom(feature)
        assert g.is_valid, feature["properties"]
        coords = shapely.get_coordinates(g)
        assert np.all(np.abs(coords[:, 0] - 120.8) < 1.0)
        assert np.all(np.abs(coords[:, 1] - 28.0) < 1.0)
        assert np.array_equal(np.round(coords, 7), coords)
        gj = feature["geometry"]
        polygons = {"Polygon": [gj["coordinates"]], "MultiPolygon": gj["coordinates"]}
        for rings in polygons.get(gj["type"], []):
            assert all(ring[0] == ring[-1] and len(ring) >= 4 for ring in rings)
            assert shapely.LinearRing(rings[0]).is_ccw


def check_geometry_types(pujiang: DemoCommunity) -> None:
    assert {f["geometry"]["type"] for f in pujiang.grids} == {"Polygon"}
    assert {f["geometry"]["type"] for f in pujiang.compounds} == {"Polygon"}
    assert {f["geometry"]["type"] for f in pujiang.buildings} == {"Polygon"}
    assert {f["geometry"]["type"] for f in pujiang.roads} == {"LineString"}
    for f in pujiang.site_features:
        kind = f["properties"]["kind"]
        expected = "Point" if kind in ("gate", "hydrant", "tree", "shop") else "Polygon"
        assert kind in ("gate", "hydrant", "tree", "shop", "green_area", "keep_clear")
        assert f["geometry"]["type"] == expected


def check_compounds(pujiang: DemoCommunity) -> None:
    grids = [geom(g) for g in pujiang.grids]
    names = props(pujiang.compounds, "name")
    assert len(set(names)) == len(names)
    assert sum(not p for p in props(pujiang.compounds, "has_property_management")) >= 5
    assert all(1988 <= y <= 2015 for y in props(pujiang.compounds, "year_built"))
    for c in pujiang.compounds:
        poly = geom(c)
        assert sum(g.contains(poly) for g in grids) == 1
        p = c["properties"]
        mine = [
            b["properties"] for b in pujiang.buildings if b["properties"]["compound"] == p["name"]
        ]
        assert mine
        assert p["households"] == sum(b["floors"] * b["units"] * 2 for b in mine)
        assert 2.6 * p["households"] - 1 <= p["population"] <= 3.0 * p["households"] + 1


def test_named_compounds(pujiang: DemoCommunity) -> None:
    by_name = {c["properties"]["name"]: c["properties"] for c in pujiang.compounds}
    assert {"留香园", "和家锦园", "江前里"} <= set(by_name)
    assert by_name["留香园"]["has_property_management"] is True
    assert by_name["和家锦园"]["has_property_management"] is False
    assert 1990 <= by_name["和家锦园"]["year_built"] <= 1999
    assert by_name["江前里"]["has_property_management"] is False
    assert by_name["江前里"]["year_built"] < by_name["留香园"]["year_built"]


def check_buildings(pujiang: DemoCommunity) -> None:
    compounds = {c["properties"]["name"]: geom(c) for c in pujiang.compounds}
    buildings = [geom(b) for b in pujiang.buildings]
    assert overlapping_pairs(buildings) == []
    tree = shapely.STRtree(buildings)
    assert all(len(tree.query(b, predicate="intersects")) == 1 for b in buildings)
    for feature, footprint in zip(pujiang.buildings, buildings, strict=True):
        p = feature["properties"]
        assert compounds[p["compound"]].contains(footprint)
        assert re.fullmatch(r"\d+幢", p["name"])
        assert 5 <= p["floors"] <= 7 or 11 <= p["floors"] <= 18
        assert 2 <= p["units"] <= 4
        minx, miny, maxx, maxy = metric(footprint).bounds
        assert 29.9 <= maxx - minx <= 60.1  # long axis east-west
        assert 9.9 <= maxy - miny <= 14.1
        assert len(p["entrances"]) == p["units"]
        m = metric(footprint)
        for lon, lat in p["entrances"]:
            e = metric(Point(lon, lat))
            assert not footprint.contains(Point(lon, lat))
            assert m.distance(e) <= 1.0
            assert e.y <= m.bounds[1] + 0.01  # on the south face
    names = {(b["properties"]["compound"], b["properties"]["name"]) for b in pujiang.buildings}
    assert len(names) == len(pujiang.buildings)


def check_roads(pujiang: DemoCommunity) -> None:
    community = geom(pujiang.community)
    buildings = shapely.union_all([metric(geom(b)) for b in pujiang.buildings])
    for road in pujiang.roads:
        p = road["properties"]
        low, high = ROAD_WIDTHS[p["kind"]]
        assert low <= p["width_m"] <= high, p
        assert p["name"]
        line = geom(road)
        assert community.covers(line), p
        assert metric(line).buffer(p["width_m"] / 2, cap_style="flat").disjoint(buildings), p
    streets = [r for r in pujiang.roads if r["properties"]["kind"] == "street"]
    assert len(streets) == 4
    for c in pujiang.compounds:
        poly = geom(c)
        inside = [r["properties"] for r in pujiang.roads if poly.covers(geom(r))]
        assert any(r["kind"] == "fire_lane" and r["width_m"] >= 4.0 for r in inside)
        assert any(r["kind"] == "internal_road" and 5.0 <= r["width_m"] <= 7.0 for r in inside)


def check_site_features(pujiang: DemoCommunity) -> None:
    community = geom(pujiang.community)
    compounds = [geom(c) for c in pujiang.compounds]
    buildings = [geom(b) for b in pujiang.buildings]
    sites = [(f["properties"]["kind"], geom(f)) for f in pujiang.site_features]
    assert all(community.contains(g) for _, g in sites)
    assert not any(b.intersects(g) for _, g in sites if _ != "green_area" for b in buildings)
    gates = [g for k, g in sites if k == "gate"]
    keep_clear = [g for k, g in sites if k == "keep_clear"]
    for poly in compounds:
        assert any(poly.boundary.distance(g) < 1e-9 for g in gates)
    for gate in gates:
        assert any(metric(z).distance(metric(gate)) < 1.0 for z in keep_clear)
    main_roads = [
        metric(geom(r)) for r in pujiang.roads if r["properties"]["name"].endswith("主路")
    ]
    widths = {
        r["properties"]["name"]: r["properties"]["width_m"]
        for r in pujiang.roads
        if r["properties"]["name"].endswith("主路")
    }
    hydrants = [metric(g) for k, g in sites if k == "hydrant"]
    assert len(hydrants) >= len(compounds)
    for h in hydrants:
        gaps = [
            road.distance(h) - w / 2 for road, w in zip(main_roads, widths.values(), strict=True)
        ]
        assert 0.95 <= min(gaps) <= 2.05  # 1-2 m, give or take the 1e-7 degree rounding
    greens = [g for k, g in sites if k == "green_area"]
    assert sum(any(c.contains(g) for g in greens) for c in compounds) >= 3
    assert sum(k == "tree" for k, _ in sites) >= 3


def check_walking_network(pujiang: DemoCommunity) -> None:
    """Every road, footpath and gate joins one network; shops face the streets."""
    lines = [metric(geom(r)) for r in pujiang.roads]
    network = WalkingNetwork.from_lines(lines)
    gates = [metric(geom(f)) for f in pujiang.site_features if f["properties"]["kind"] == "gate"]
    places = network.connect(gates)
    assert nx.number_connected_components(places.graph) == 1
    assert max(places.offsets) < 0.01  # each gate is on its access footpath
    footpaths = [r for r in pujiang.roads if r["properties"]["kind"] == "footpath"]
    assert len(footpaths) == len(pujiang.compounds) + 1  # an access path each, the perimeter
    shops = [metric(geom(f)) for f in pujiang.site_features if f["properties"]["kind"] == "shop"]
    streets = [
        (metric(geom(r)), r["properties"]["width_m"])
        for r in pujiang.roads
        if r["properties"]["kind"] == "street"
    ]
    assert len(shops) >= 20
    for shop in shops:
        gaps = [line.distance(shop) - width / 2 for line, width in streets]
        assert any(abs(gap - 5.0) < 0.1 for gap in gaps)  # 5 m from its kerb
        assert min(gaps) > 4.0  # and off every other street


def check_population(pujiang: DemoCommunity) -> None:
    grid_pop = props(pujiang.grids, "population")
    total = sum(grid_pop)
    assert 11_000 <= total <= 13_000
    compound_pop = sum(props(pujiang.compounds, "population"))
    assert compound_pop < total
    grids = [geom(g) for g in pujiang.grids]
    for grid, feature in zip(grids, pujiang.grids, strict=True):
        inside = [c["properties"] for c in pujiang.compounds if grid.contains(geom(c))]
        p = feature["properties"]
        extra = p["households"] - sum(c["households"] for c in inside)
        assert 60 <= extra <= 250
        extra_pop = p["population"] - sum(c["population"] for c in inside)
        assert 2.6 * extra - 1 <= extra_pop <= 3.0 * extra + 1


CHECKS = (
    check_workers,
    check_walking_network,
    check_grids_tile_the_community,
    check_geometry_types,
    check_compounds,
    check_buildings,
    check_roads,
    check_site_features,
    check_population,
)


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_pujiang(pujiang: DemoCommunity, check: Callable[[DemoCommunity], None]) -> None:
    check(pujiang)


def test_pujiang_streets(pujiang: DemoCommunity) -> None:
    names = [r["properties"]["name"] for r in pujiang.roads if r["properties"]["kind"] == "street"]
    assert sorted(names) == sorted(["蒲江路", "留香路", "蒲州东路", "江前路"])


def test_deterministic(demo: DemoData) -> None:
    assert generate(today=TODAY) == demo
    other = generate(seed=7, today=TODAY)
    assert other != demo
    assert other.communities[0].grids != demo.communities[0].grids
    assert other.communities[0].community["properties"]["name"] == "蒲江社区"
    later = generate(today=TODAY + datetime.timedelta(days=30))
    assert later.communities[0].grids == demo.communities[0].grids
    assert later.communities[0].workers != demo.communities[0].workers


def test_several_communities(many: DemoData, demo: DemoData) -> None:
    assert len(many.communities) == 30
    assert many.communities[0] == demo.communities[0]
    codes = [c.community["properties"]["code"] for c in many.communities]
    assert len(set(codes)) == 30
    names = [c.community["properties"]["name"] for c in many.communities]
    assert len(set(names)) == 30
    assert [s["properties"]["code"] for s in many.streets] == ["330303003", "330303004"]
    streets = {s["properties"]["code"]: geom(s) for s in many.streets}
    district = geom(many.district)
    polys = [geom(c.community) for c in many.communities]
    assert overlapping_pairs(polys) == []
    assert shapely.STRtree(polys).query(polys, predicate="intersects").shape[1] == 30
    for c, poly in zip(many.communities, polys, strict=True):
        code = c.community["properties"]["code"]
        assert code.startswith(c.street_code) and len(code) == 12
        assert streets[c.street_code].contains(poly)
        assert len(c.grids) == 21
        assert sum(g.area for g in map(geom, c.grids)) == pytest.approx(poly.area, rel=1e-9)
        assert 11_000 <= sum(props(c.grids, "population")) <= 13_000
    assert all(district.contains(s) for s in streets.values())
    assert overlapping_pairs(list(streets.values())) == []
    assert sum(c.street_code == "330303003" for c in many.communities) == 20
    for c in many.communities[1:]:
        for check in CHECKS:
            check(c)
    assert geom(many.communities[1].community).centroid.distance(polys[0].centroid) > 0.01


def test_scale_500() -> None:
    data = generate(communities=500, today=TODAY)
    assert sum(len(c.grids) for c in data.communities) == 10_500
    assert len(data.streets) == 25
    codes = {c.community["properties"]["code"] for c in data.communities}
    assert len(codes) == 500
    polys = [geom(c.community) for c in data.communities]
    assert overlapping_pairs(polys) == []
