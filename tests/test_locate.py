"""Locate: the administrative units, grid and compound at a point, blind zones, the index."""

from __future__ import annotations

import pytest
import shapely
from fastapi.testclient import TestClient
from shapely.geometry import shape
from sqlalchemy import Connection, text

from geo.crs import wgs84_to_gcj02
from geo.locate import LOCATE_SQL

DEMO = "330303003001"


def demo_grids(demo) -> dict[str, shapely.Polygon]:
    return {f["properties"]["code"]: shape(f["geometry"]) for f in demo.communities[0].grids}


def test_point_inside_a_grid(client: TestClient, demo) -> None:
    grids = demo_grids(demo)
    inside = grids["07"].representative_point()
    body = client.get("/locate", params={"lon": inside.x, "lat": inside.y}).json()
    assert body["district"] == {"code": "330303", "name": "龙湾区"}
    assert body["street"] == {"code": "330303003", "name": "蒲州街道"}
    assert body["community"] == {"code": DEMO, "name": "蒲江社区"}
    assert body["grid"]["code"] == "07"
    assert body["blind_zone"] is False
    assert body["message"] == f"grid 07 of community {DEMO}"


def test_every_grid_is_found_at_its_own_interior_point(client: TestClient, demo) -> None:
    for code, polygon in demo_grids(demo).items():
        p = polygon.representative_point()
        assert client.get("/locate", params={"lon": p.x, "lat": p.y}).json()["grid"]["code"] == code


def test_point_in_a_compound(client: TestClient, demo) -> None:
    compound = demo.communities[0].compounds[0]
    p = shape(compound["geometry"]).representative_point()
    body = client.get("/locate", params={"lon": p.x, "lat": p.y}).json()
    assert body["compound"]["name"] == compound["properties"]["name"]


def test_point_on_a_shared_edge_gets_the_smallest_code(client: TestClient, demo) -> None:
    grids = demo_grids(demo)
    pairs = [(a, b, grids[a].intersection(grids[b])) for a in grids for b in grids if a < b]
    a, b, edge = next((a, b, e) for a, b, e in pairs if e.length > 0)
    on_edge = (
        edge.interpolate(0.5, normalized=True)
        if edge.geom_type == "LineString"
        else (shapely.line_merge(edge).geoms[0].interpolate(0.5, normalized=True))
    )
    assert grids[a].touches(on_edge) or grids[a].boundary.distance(on_edge) < 1e-9
    body = client.get("/locate", params={"lon": on_edge.x, "lat": on_edge.y}).json()
    assert body["grid"]["code"] == min(a, b) == a


def test_blind_zone_and_outside(client: TestClient, demo) -> None:
    grids = client.get("/grids", params={"community": DEMO, "limit": 100}).json()["features"]
    target = next(f for f in grids if f["properties"]["code"] == "11")
    assert client.delete(f"/grids/{target['id']}").status_code == 204
    p = shape(target["geometry"]).representative_point()
    body = client.get("/locate", params={"lon": p.x, "lat": p.y}).json()
    assert body["community"]["code"] == DEMO
    assert body["grid"] is None
    assert body["blind_zone"] is True
    assert body["message"] == f"in community {DEMO} but in no grid: a blind zone (盲区)"
    far = client.get("/locate", params={"lon": 100.0, "lat": 30.0}).json()
    assert far["community"] is None and far["grid"] is None and far["district"] is None
    assert far["blind_zone"] is False
    assert far["message"] == "outside every community"


def test_gcj02_point_from_a_phone(client: TestClient, demo) -> None:
    p = demo_grids(demo)["15"].representative_point()
    lon, lat = wgs84_to_gcj02(p.x, p.y)
    body = client.get("/locate", params={"lon": lon, "lat": lat, "crs": "gcj02"}).json()
    assert body["grid"]["code"] == "15"
    assert body["input"] == {"lon": lon, "lat": lat, "crs": "gcj02"}
    assert abs(body["lon"] - p.x) < 1e-7 and abs(body["lat"] - p.y) < 1e-7
    raw = client.get("/locate", params={"lon": lon, "lat": lat}).json()
    assert raw["lon"] == lon  # without crs=gcj02 the offset point is taken as WGS84


@pytest.mark.parametrize(
    ("params", "detail"),
    [
        ({"lon": 200, "lat": 28}, "lon 200 out of range [-180, 180]"),
        ({"lon": 28, "lat": 120.7}, "lat 120.7 out of range [-90, 90]; lon and lat look swapped"),
    ],
)
def test_bad_points(client: TestClient, params: dict, detail: str) -> None:
    response = client.get("/locate", params=params)
    assert response.status_code == 422
    assert response.json() == {"detail": detail}


def test_bad_crs_and_missing_parameter(client: TestClient) -> None:
    assert client.get("/locate", params={"lon": 120, "lat": 28, "crs": "bd09"}).status_code == 422
    assert client.get("/locate", params={"lon": 120}).status_code == 422


def test_locate_uses_the_gist_index_on_10000_grids(connection: Connection) -> None:
    """10,000 grids of 100 x 100 cells in a test community; the plan must use ix_grid_geom."""
    connection.execute(
        text(
            """
            INSERT INTO district (code, name, geom) VALUES ('IDX', 'idx',
                ST_Multi(ST_MakeEnvelope(109.9, 19.9, 111.1, 21.1, 4326)));
            INSERT INTO street (district_id, code, name, geom)
                SELECT id, 'IDX-S', 'idx', geom FROM district WHERE code = 'IDX';
            INSERT INTO community (street_id, code, name, geom)
                SELECT id, 'IDX-C', 'idx', ST_Multi(ST_MakeEnvelope(110, 20, 111, 21, 4326))
                FROM street WHERE code = 'IDX-S';
            INSERT INTO grid (community_id, code, name, geom)
                SELECT c.id, format('%s-%s', i, j), 'cell',
                       ST_MakeEnvelope(110 + i * 0.01, 20 + j * 0.01,
                                       110 + (i + 1) * 0.01, 20 + (j + 1) * 0.01, 4326)
                FROM community c, generate_series(0, 99) i, generate_series(0, 99) j
                WHERE c.code = 'IDX-C';
            ANALYZE grid; ANALYZE community; ANALYZE street; ANALYZE district; ANALYZE compound;
            """
        )
    )
    count = connection.execute(text("SELECT count(*) FROM grid WHERE code LIKE '%-%'")).scalar()
    assert count == 10_000
    cursor = connection.connection.driver_connection.cursor()
    cursor.execute("EXPLAIN " + LOCATE_SQL, {"lon": 110.505, "lat": 20.505})
    plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "ix_grid_geom" in plan
    assert "Seq Scan on grid" not in plan
    cursor.execute(LOCATE_SQL, {"lon": 110.505, "lat": 20.505})
    assert cursor.fetchone()[7] == "50-50"
