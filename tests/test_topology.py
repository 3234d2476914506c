"""Grid topology: gaps, overlaps, slivers, grids outside, in pieces or with holes; the repair.

Hand-made communities are drawn in UTM 51N metres (EPSG:32651) and inserted by SQL inside the
test's transaction (the API refuses grids outside their community). Expected areas come from
PostGIS geography on the same rectangles, independently of ``geo.topology``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from api.routes.maps import community_feature
from geo import topology
from geo.crs import wgs84_to_gcj02
from geo.errors import Conflict
from geo.export import collect
from geo.layers import LAYERS
from maps.basemaps import basemap
from maps.topology import topology_map

DEMO = "330303003001"
STREET = "330303003"
CODE = "330303003901"
X0, Y0 = 331_000.0, 3_094_000.0
"""South-west corner of the hand-made communities (UTM 51N), about 121.28°E 27.95°N."""
PAST = dt.date(2024, 1, 1)
REL = 0.005

Ring = Sequence[tuple[float, float]]


def wkt(*rings: Ring) -> str:
    """A UTM polygon (local metres from X0, Y0) as WKT; rings are closed here."""
    parts = [
        "(" + ", ".join(f"{X0 + x} {Y0 + y}" for x, y in [*ring, ring[0]]) + ")" for ring in rings
    ]
    return f"POLYGON({', '.join(parts)})"


def rect(x0: float, y0: float, x1: float, y1: float) -> list[tuple[float, float]]:
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]


def expected_m2(connection: Connection, polygon: str) -> float:
    """The area on the spheroid of a UTM polygon drawn in lon/lat like the grids."""
    return connection.scalar(
        text("SELECT ST_Area(ST_Transform(ST_GeomFromText(:w, 32651), 4326)::geography)"),
        {"w": polygon},
    )


def make_community(
    connection: Connection, grids: dict[str, str], outline: str | None = None, code: str = CODE
) -> dict[str, int]:
    """A community (default 300 x 200 m) and its grids (code -> WKT) valid since 2024; ids."""
    community = connection.scalar(
        text(
            "INSERT INTO community (code, name, street_id, geom) VALUES (:code, '拓扑测试',"
            " (SELECT id FROM street WHERE code = :street),"
            " ST_Multi(ST_Transform(ST_GeomFromText(:w, 32651), 4326))) RETURNING id"
        ),
        {"code": code, "street": STREET, "w": outline or wkt(rect(0, 0, 300, 200))},
    )
    return {
        grid: connection.scalar(
            text(
                "INSERT INTO grid (community_id, code, name, geom, valid_from)"
                " VALUES (:c, :code, :name, ST_Transform(ST_GeomFromText(:w, 32651), 4326), :day)"
                " RETURNING id"
            ),
            {"c": community, "code": grid, "name": f"网格 {grid}", "w": w, "day": PAST},
        )
        for grid, w in grids.items()
    }


GAP = rect(80, 100, 100, 110)
"""20 x 10 m, cut out of grid 001 along its edge with 002."""
OVERLAP = rect(195, 50, 200, 60)
"""5 x 10 m of grid 003 reaching into 002."""
FLAWED = {
    "001": wkt(
        [(0, 0), (100, 0), (100, 100), (80, 100), (80, 110), (100, 110), (100, 200), (0, 200)]
    ),
    "002": wkt(rect(100, 0, 200, 200)),
    "003": wkt(
        [(200, 0), (300, 0), (300, 200), (200, 200), (200, 60), (195, 60), (195, 50), (200, 50)]
    ),
}


@pytest.fixture
def flawed(connection: Connection) -> dict[str, int]:
    """300 x 200 m in three grids with one 20 x 10 m gap and one 10 x 5 m overlap."""
    return make_community(connection, FLAWED)


def codes(grids: list[dict]) -> list[str]:
    return [g["code"] for g in grids]


def test_gap_and_overlap_reported_with_exact_areas(
    session: Session, connection: Connection, flawed: dict[str, int]
) -> None:
    report = topology.check(session, CODE)
    assert report["counts"] == {
        "gaps": 1,
        "overlaps": 1,
        "slivers": 0,
        "outside": 0,
        "not_contiguous": 0,
        "holes": 0,
    }
    assert not report["ok"]
    (gap,) = report["gaps"]
    assert gap["area_m2"] == pytest.approx(expected_m2(connection, wkt(GAP)), rel=REL)
    assert gap["area_m2"] == pytest.approx(200, rel=REL)
    assert [(g["code"], g["id"]) for g in gap["grids"]] == [
        ("001", flawed["001"]),
        ("002", flawed["002"]),
    ]
    assert [g["shared_m"] for g in gap["grids"]] == pytest.approx([50, 10], rel=REL)
    (overlap,) = report["overlaps"]
    assert overlap["area_m2"] == pytest.approx(expected_m2(connection, wkt(OVERLAP)), rel=REL)
    assert codes(overlap["grids"]) == ["002", "003"]
    for piece, expected in ((gap, GAP), (overlap, OVERLAP)):
        assert piece["geometry"]["type"] == "Polygon"
        same = connection.scalar(
            text(
                "SELECT ST_Area(ST_SymDifference(ST_GeomFromGeoJSON(:g),"
                " ST_Transform(ST_GeomFromText(:w, 32651), 4326))::geography)"
            ),
            {"g": json.dumps(piece["geometry"]), "w": wkt(expected)},
        )
        assert same < 0.001 * piece["area_m2"]  # vertices rounded to 1e-8 degree
    assert report["gap_area_m2"] == gap["area_m2"]
    assert report["overlap_area_m2"] == overlap["area_m2"]


def test_check_over_the_api(client: TestClient, flawed: dict[str, int]) -> None:
    body = client.get(f"/communities/{CODE}/topology").json()
    assert (body["counts"]["gaps"], body["counts"]["overlaps"]) == (1, 1)
    assert client.get("/communities/nope/topology").status_code == 404
    assert client.get(f"/communities/{CODE}/topology", params={"sliver_m2": -1}).status_code == 422


def test_demo_community_is_clean(session: Session) -> None:
    report = topology.check(session, DEMO)
    assert report["ok"] and report["grids"] == 21
    assert not any(report["counts"].values())
    repair = topology.propose_repair(session, DEMO)
    assert repair["changes"] == [] and repair["gaps"] == [] and repair["overlaps"] == []
    assert repair["remaining"]["ok"]


def test_floating_noise_is_no_problem(session: Session, connection: Connection) -> None:
    """Neighbours a hair apart (1e-10 degree, ~0.01 mm) tile their community exactly."""
    ids = make_community(
        connection, {"001": wkt(rect(0, 0, 150, 200)), "002": wkt(rect(150, 0, 300, 200))}
    )
    connection.execute(
        text("UPDATE grid SET geom = ST_Translate(geom, 1e-10, -1e-10) WHERE id = :id"),
        {"id": ids["002"]},
    )
    assert topology.check(session, CODE)["ok"]


def test_repair_preview_writes_nothing(client: TestClient, flawed: dict[str, int]) -> None:
    preview = client.get(f"/communities/{CODE}/topology/repair").json()
    assert preview["applied"] is False and preview["blocked"] is None
    assert preview["before"]["gaps"] == 1 and preview["before"]["overlaps"] == 1
    (gap,) = preview["gaps"]
    assert gap["to"]["code"] == "001" and gap["to"]["shared_m"] == pytest.approx(50, rel=REL)
    (overlap,) = preview["overlaps"]
    assert overlap["kept_by"]["code"] == "002" and codes(overlap["cut_from"]) == ["003"]
    changes = {c["code"]: c for c in preview["changes"]}
    assert set(changes) == {"001", "003"}
    assert changes["001"]["gained_m2"] == pytest.approx(gap["area_m2"], rel=REL)
    assert changes["001"]["lost_m2"] == 0
    assert changes["003"]["lost_m2"] == pytest.approx(overlap["area_m2"], rel=REL)
    assert changes["003"]["gained_m2"] == 0
    assert changes["001"]["geometry"]["type"] == "Polygon"
    remaining = preview["remaining"]
    assert remaining["ok"], remaining["counts"]
    assert client.get(f"/communities/{CODE}/topology").json()["counts"]["gaps"] == 1
    history = client.get(f"/grids/{flawed['001']}/history").json()["features"]
    assert len(history) == 1


def test_repair_applied_closes_both_and_keeps_history(
    client: TestClient, connection: Connection, flawed: dict[str, int]
) -> None:
    old = client.get(f"/grids/{flawed['001']}").json()["geometry"]
    applied = client.post(f"/communities/{CODE}/topology/repair")
    assert applied.status_code == 200, applied.text
    assert applied.json()["applied"] is True
    after = client.get(f"/communities/{CODE}/topology").json()
    assert after["counts"]["gaps"] == 0 and after["counts"]["overlaps"] == 0
    assert after["ok"]
    today = dt.date.today().isoformat()
    for code in ("001", "003"):
        history = client.get(f"/grids/{flawed[code]}/history").json()["features"]
        assert len(history) == 2
        assert history[0]["properties"]["valid_from"] == PAST.isoformat()
        assert history[0]["properties"]["valid_to"] == today
        assert history[1]["properties"]["valid_from"] == today
    history = client.get(f"/grids/{flawed['001']}/history").json()["features"]
    assert history[0]["geometry"] == old
    old_area, new_area = (
        connection.scalar(
            text("SELECT ST_Area(ST_GeomFromGeoJSON(:g)::geography)"),
            {"g": json.dumps(f["geometry"])},
        )
        for f in history
    )
    assert new_area - old_area == pytest.approx(expected_m2(connection, wkt(GAP)), rel=REL)
    assert len(client.get(f"/grids/{flawed['002']}/history").json()["features"]) == 1
    again = client.get(f"/communities/{CODE}/topology/repair").json()
    assert again["changes"] == []


def test_slivers_reported_apart(session: Session, connection: Connection) -> None:
    """A 1 x 0.5 m notch is a sliver below 1 m², a gap below a smaller threshold."""
    make_community(
        connection,
        {
            "001": wkt(
                [
                    (0, 0),
                    (150, 0),
                    (150, 100),
                    (149, 100),
                    (149, 100.5),
                    (150, 100.5),
                    (150, 200),
                    (0, 200),
                ]
            ),
            "002": wkt(rect(150, 0, 300, 200)),
        },
    )
    report = topology.check(session, CODE)
    assert report["counts"]["gaps"] == 0 and report["counts"]["slivers"] == 1
    (sliver,) = report["slivers"]
    assert sliver["kind"] == "gap"
    assert sliver["area_m2"] == pytest.approx(0.5, rel=REL)
    assert codes(sliver["grids"]) == ["001", "002"]
    fine = topology.check(session, CODE, sliver_m2=0.1)
    assert fine["counts"]["gaps"] == 1 and fine["counts"]["slivers"] == 0
    assert topology.propose_repair(session, CODE)["remaining"]["ok"]


def test_grid_in_pieces(session: Session, connection: Connection) -> None:
    """001: two blocks joined by a 4 mm neck (one valid polygon), beside 004 and 005."""
    hourglass = [
        (0, 0),
        (100, 0),
        (100, 95),
        (50.004, 95),
        (50.004, 105),
        (100, 105),
        (100, 200),
        (0, 200),
        (0, 105),
        (50, 105),
        (50, 95),
        (0, 95),
    ]
    make_community(
        connection,
        {
            "001": wkt(hourglass),
            "002": wkt(rect(100, 0, 300, 200)),
            "004": wkt(rect(0, 95, 50, 105)),
            "005": wkt(rect(50.004, 95, 100, 105)),
        },
    )
    report = topology.check(session, CODE)
    (pieces,) = report["not_contiguous"]
    assert pieces["code"] == "001" and pieces["parts"] == 2
    assert pieces["part_areas_m2"] == pytest.approx([9500, 9500], rel=REL)
    assert report["counts"]["gaps"] == report["counts"]["overlaps"] == 0


def test_grid_with_holes(session: Session, connection: Connection) -> None:
    """002 has two 10 x 10 m holes: one filled by grid 003, the other a gap the repair fills."""
    enclave, empty = rect(150, 50, 160, 60), rect(200, 50, 210, 60)
    ids = make_community(
        connection,
        {
            "001": wkt(rect(0, 0, 100, 200)),
            "002": wkt(rect(100, 0, 300, 200), enclave, empty),
            "003": wkt(enclave),
        },
    )
    report = topology.check(session, CODE)
    (holes,) = report["holes"]
    assert (holes["code"], holes["holes"]) == ("002", 2)
    expected = expected_m2(connection, wkt(enclave)) + expected_m2(connection, wkt(empty))
    assert holes["area_m2"] == pytest.approx(expected, rel=REL)
    (gap,) = report["gaps"]
    assert gap["area_m2"] == pytest.approx(expected_m2(connection, wkt(empty)), rel=REL)
    assert [(g["code"], g["shared_m"]) for g in gap["grids"]] == [
        ("002", pytest.approx(40, rel=REL))
    ]
    applied = topology.apply_repair(session, CODE)
    assert [(c["id"], c["lost_m2"]) for c in applied["changes"]] == [(ids["002"], 0)]
    remaining = applied["remaining"]
    assert remaining["counts"]["gaps"] == 0
    assert [(h["code"], h["holes"]) for h in remaining["holes"]] == [("002", 1)]


def test_three_grids_over_one_place(session: Session, connection: Connection) -> None:
    """An overlap of three grids is one overlap naming all three, counted once."""
    make_community(
        connection,
        {
            "001": wkt(rect(0, 0, 160, 200)),
            "002": wkt(rect(140, 0, 300, 200)),
            "000": wkt(rect(130, 90, 170, 110)),
        },
    )
    report = topology.check(session, CODE)
    triple = [o for o in report["overlaps"] if len(o["grids"]) == 3]
    assert [codes(o["grids"]) for o in triple] == [["000", "001", "002"]]
    assert triple[0]["area_m2"] == pytest.approx(400, rel=REL)
    in_two_or_more = (rect(140, 0, 160, 200), rect(130, 90, 140, 110), rect(160, 90, 170, 110))
    total = sum(expected_m2(connection, wkt(r)) for r in in_two_or_more)
    assert report["overlap_area_m2"] == pytest.approx(total, rel=REL)
    repair = topology.propose_repair(session, CODE)
    kept = {tuple(codes(o["cut_from"])): o["kept_by"]["code"] for o in repair["overlaps"]}
    assert kept[("001", "002")] == "000"
    assert repair["remaining"]["ok"]


def test_grid_sticking_out(session: Session, connection: Connection) -> None:
    outside = rect(300, 0, 310, 200)
    ids = make_community(
        connection,
        {"001": wkt(rect(0, 0, 150, 200)), "002": wkt(rect(150, 0, 310, 200))},
    )
    report = topology.check(session, CODE)
    (out,) = report["outside"]
    assert (out["code"], out["id"]) == ("002", ids["002"])
    assert out["area_m2"] == pytest.approx(expected_m2(connection, wkt(outside)), rel=REL)
    assert report["counts"]["gaps"] == report["counts"]["overlaps"] == 0
    (sliver,) = topology.check(session, CODE, sliver_m2=5000)["slivers"]
    assert (sliver["kind"], codes(sliver["grids"])) == ("outside", ["002"])
    applied = topology.apply_repair(session, CODE)
    (change,) = applied["changes"]
    assert change["code"] == "002" and change["lost_m2"] == pytest.approx(out["area_m2"], rel=REL)
    assert applied["remaining"]["ok"]


def test_snapping_closes_a_near_miss(session: Session, connection: Connection) -> None:
    """002 stops 0.3 m short of 001: snapped within 0.5 m, given as a gap without snapping."""
    make_community(
        connection, {"001": wkt(rect(0, 0, 150, 200)), "002": wkt(rect(150.3, 0, 300, 200))}
    )
    (gap,) = topology.check(session, CODE)["gaps"]
    assert gap["area_m2"] == pytest.approx(60, rel=0.01)
    snapped = topology.propose_repair(session, CODE, snap_m=0.5)
    assert snapped["gaps"] == []
    assert codes(snapped["changes"]) == ["002"]
    assert snapped["changes"][0]["gained_m2"] == pytest.approx(gap["area_m2"], rel=REL)
    assert snapped["remaining"]["ok"]
    unsnapped = topology.propose_repair(session, CODE, snap_m=0)
    (given,) = unsnapped["gaps"]
    assert given["to"]["code"] == "001"  # both share 200 m: the smallest code
    assert codes(unsnapped["changes"]) == ["001"]
    assert unsnapped["remaining"]["ok"]


def test_gap_touching_no_grid_blocks_the_repair(
    session: Session, client: TestClient, connection: Connection
) -> None:
    """A part of the community away from every grid cannot be given to any."""
    island = rect(400, 0, 450, 50)
    outline = f"MULTIPOLYGON({wkt(rect(0, 0, 300, 200))[7:]}, {wkt(island)[7:]})"
    make_community(connection, {"001": wkt(rect(0, 0, 300, 200))}, outline=outline)
    (gap,) = topology.check(session, CODE)["gaps"]
    assert gap["grids"] == []
    assert gap["area_m2"] == pytest.approx(expected_m2(connection, wkt(island)), rel=REL)
    preview = client.get(f"/communities/{CODE}/topology/repair").json()
    assert "shares no edge with any grid" in preview["blocked"]
    assert preview["remaining"] is None and preview["gaps"][0]["to"] is None
    response = client.post(f"/communities/{CODE}/topology/repair")
    assert response.status_code == 409
    assert "shares no edge" in response.json()["detail"]


def test_grid_swallowed_by_a_smaller_code_blocks_the_repair(
    session: Session, connection: Connection
) -> None:
    make_community(
        connection, {"001": wkt(rect(0, 0, 300, 200)), "002": wkt(rect(100, 50, 200, 150))}
    )
    (overlap,) = topology.check(session, CODE)["overlaps"]
    assert codes(overlap["grids"]) == ["001", "002"]
    preview = topology.propose_repair(session, CODE)
    assert preview["blocked"] == "grid 002 would be left empty"
    with pytest.raises(Conflict, match="left empty"):
        topology.apply_repair(session, CODE)


def test_parts_cut_off_go_to_the_longest_border(session: Session, connection: Connection) -> None:
    """000 crosses 001 and 002: each keeps its larger part; the parts cut off (10,000 m² each)
    share 100 m with 000 and with each other: they go to 000 (the smallest code)."""
    ids = make_community(
        connection,
        {
            "000": wkt(rect(100, 0, 120, 200)),
            "001": wkt(rect(0, 0, 300, 100)),
            "002": wkt(rect(0, 100, 300, 200)),
        },
    )
    repair = topology.propose_repair(session, CODE)
    assert repair["blocked"] is None and repair["remaining"]["ok"]
    changes = {c["code"]: c for c in repair["changes"]}
    part = expected_m2(connection, wkt(rect(0, 0, 100, 100)))
    assert changes["000"]["gained_m2"] == pytest.approx(2 * part, rel=REL)
    assert changes["001"]["lost_m2"] == pytest.approx(
        part + expected_m2(connection, wkt(rect(100, 0, 120, 100))), rel=REL
    )
    topology.apply_repair(session, CODE)
    parts = connection.execute(
        text("SELECT code, ST_NumGeometries(ST_Multi(geom)) FROM grid WHERE id = ANY(:ids)"),
        {"ids": list(ids.values())},
    ).all()
    assert sorted(parts) == [("000", 1), ("001", 1), ("002", 1)]


def test_check_all_is_set_wise(session: Session, flawed: dict[str, int]) -> None:
    result = topology.check_all(session, within=STREET)
    assert result["communities"] == 2 and result["grids"] == 24
    assert [r["community"] for r in result["problems"]] == [CODE]
    assert result["counts"]["gaps"] == 1 and result["counts"]["overlaps"] == 1
    assert topology.check_all(session)["communities_with_problems"] == 1


def test_cli(gridline, flawed: dict[str, int], tmp_path: Path) -> None:
    code, out, _ = gridline("topology", "check", CODE)
    assert code == 1 and "gap 200" in out and "overlap 50" in out
    assert gridline("topology", "check", DEMO)[:2] == (
        0,
        f"community {DEMO}: 21 grids, no problems\n",
    )
    code, out, _ = gridline("topology", "repair", CODE)
    assert code == 0 and "goes to 001" in out and "nothing written" in out
    code, out, _ = gridline("topology", "repair", CODE, "--apply")
    assert code == 0 and "applied: 2 grid(s)" in out
    assert gridline("topology", "check", CODE)[0] == 0
    code, out, _ = gridline("topology", "check-all", "--within", STREET)
    assert code == 0 and "2 communities, 24 grids" in out
    html = tmp_path / "topology.html"
    assert gridline("map", "topology", CODE, "-o", html)[0] == 0
    assert "Gaps (0)" in html.read_text(encoding="utf-8")


def test_map_page_has_the_problems(client: TestClient, flawed: dict[str, int]) -> None:
    response = client.get(f"/maps/communities/{CODE}/topology")
    assert response.status_code == 200
    page = response.text
    for title in ("Gaps (1)", "Overlaps (1)", "Slivers (0)", "Outside the community (0)"):
        assert title in page
    assert '"area": "200.0 m\\u00b2"' in page and '"area": "50.0 m\\u00b2"' in page
    assert client.get(f"/maps/communities/{DEMO}/topology").status_code == 200
    assert client.get("/maps/communities/nope/topology").status_code == 404


def test_map_over_a_gcj02_basemap(session: Session, flawed: dict[str, int]) -> None:
    """Problems are drawn converted like every overlay over Gaode (GCJ-02)."""
    report = topology.check(session, CODE)
    community = community_feature(session, CODE)
    grids = collect(session, LAYERS["grids"], CODE)["features"]
    m = topology_map(community, grids, report, basemaps=[basemap("gaode")], to_gcj02=wgs84_to_gcj02)
    html = m.get_root().render()
    lon, lat = report["gaps"][0]["geometry"]["coordinates"][0][0]
    moved = wgs84_to_gcj02(np.array([lon]), np.array([lat]))
    assert f"{float(moved[0][0])}" in html and f"{lon}" not in html
