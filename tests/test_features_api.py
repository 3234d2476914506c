"""CRUD of every layer through the API, paging, grid versions and the 422s of bad geometry."""

from __future__ import annotations

import datetime as dt
import itertools
import math

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.geojson import LAT, LON, cell, collection, feature, polygon, ring

PLACE = "T-330"


@pytest.fixture
def place(client: TestClient) -> dict[str, str]:
    """District, street and community of tests at 121.00E 28.50N (0.02 degree square)."""
    big = polygon(LON - 0.1, LAT - 0.1, LON + 0.1, LAT + 0.1)
    mid = polygon(LON - 0.05, LAT - 0.05, LON + 0.05, LAT + 0.05)
    own = polygon(LON, LAT, LON + 0.02, LAT + 0.02)
    for layer, body in (
        ("districts", feature(big, code=PLACE, name="测试区")),
        ("streets", feature(mid, code=f"{PLACE}-S", name="测试街道", district=PLACE)),
        ("communities", feature(own, code=f"{PLACE}-C", name="测试社区", street=f"{PLACE}-S")),
    ):
        response = client.post(f"/{layer}", json=body)
        assert response.status_code == 201, response.text
    return {"district": PLACE, "street": f"{PLACE}-S", "community": f"{PLACE}-C"}


def grid(code: str, geometry: dict, community: str = f"{PLACE}-C", **extra) -> dict:
    return feature(geometry, code=code, name=f"网格{code}", community=community, **extra)


def test_create_read_update_delete_grid(client: TestClient, place: dict) -> None:
    created = client.post("/grids", json=grid("A1", cell(0, 0), households=120, population=300))
    assert created.status_code == 201
    body = created.json()
    grid_id = body["id"]
    assert created.headers["location"] == f"/grids/{grid_id}"
    assert created.headers["content-type"] == "application/geo+json"
    assert body["properties"] == {
        "id": grid_id,
        "code": "A1",
        "name": "网格A1",
        "households": 120,
        "population": 300,
        "note": None,
        "community": place["community"],
        "valid_from": dt.date.today().isoformat(),
        "valid_to": None,
    }
    assert body["geometry"]["type"] == "Polygon"
    assert client.get(f"/grids/{grid_id}").json() == body

    changed = client.put(f"/grids/{grid_id}", json=grid("A1", cell(0, 0), households=130))
    assert changed.status_code == 200
    assert changed.json()["properties"]["households"] == 130

    assert client.delete(f"/grids/{grid_id}").status_code == 204
    assert (
        client.get("/grids", params={"community": place["community"]}).json()["numberMatched"] == 0
    )
    assert client.put(f"/grids/{grid_id}", json=grid("A1", cell(0, 0))).status_code == 404
    assert client.delete("/grids/999999").json() == {"detail": "grids 999999 not found"}


def test_list_is_a_paged_feature_collection(client: TestClient, place: dict) -> None:
    for i in range(5):
        assert client.post("/grids", json=grid(f"P{i}", cell(i % 4, i // 4))).status_code == 201
    first = client.get("/grids", params={"community": place["community"], "limit": 2}).json()
    assert first["type"] == "FeatureCollection"
    assert (first["numberMatched"], first["numberReturned"]) == (5, 2)
    assert [f["properties"]["code"] for f in first["features"]] == ["P0", "P1"]
    rels = {link["rel"]: link["href"] for link in first["links"]}
    assert set(rels) == {"self", "next"}
    second = client.get(rels["next"].replace("http://testserver", "")).json()
    assert [f["properties"]["code"] for f in second["features"]] == ["P2", "P3"]
    last = client.get(
        "/grids", params={"community": place["community"], "limit": 2, "offset": 4}
    ).json()
    assert [f["properties"]["code"] for f in last["features"]] == ["P4"]
    assert {link["rel"] for link in last["links"]} == {"self", "prev"}
    boxed = client.get("/grids", params={"bbox": f"{LON},{LAT},{LON + 0.004},{LAT + 0.004}"})
    assert [f["properties"]["code"] for f in boxed.json()["features"]] == ["P0"]
    too_many = client.get("/grids", params={"limit": 5000})
    assert too_many.status_code == 422
    assert too_many.json()["detail"] == "limit 5000 exceeds the maximum page size 1000"
    bad_box = client.get("/grids", params={"bbox": "1,2,3"})
    assert bad_box.json()["detail"] == "bbox '1,2,3': four numbers expected, got 3"


def test_redrawn_grid_keeps_its_history(client: TestClient, session: Session, place: dict) -> None:
    grid_id = client.post("/grids", json=grid("H1", cell(0, 0))).json()["id"]
    session.execute(
        text("UPDATE grid SET valid_from = '2024-01-01' WHERE id = :id"), {"id": grid_id}
    )
    bigger = polygon(LON, LAT, LON + 0.01, LAT + 0.005)
    assert client.put(f"/grids/{grid_id}", json=grid("H1", bigger)).status_code == 200

    history = client.get(f"/grids/{grid_id}/history").json()["features"]
    assert [(f["properties"]["valid_from"], f["properties"]["valid_to"]) for f in history] == [
        ("2024-01-01", dt.date.today().isoformat()),
        (dt.date.today().isoformat(), None),
    ]
    assert history[0]["geometry"]["coordinates"] == [ring(LON, LAT, LON + 0.005, LAT + 0.005)]
    assert history[1]["geometry"]["coordinates"] == [ring(LON, LAT, LON + 0.01, LAT + 0.005)]

    def as_of(day: str) -> list:
        params = {"community": place["community"], "as_of": day}
        return client.get("/grids", params=params).json()["features"]

    assert [f["geometry"]["coordinates"] for f in as_of("2024-06-01")] == [
        [ring(LON, LAT, LON + 0.005, LAT + 0.005)]
    ]
    assert as_of("2023-12-31") == []
    today = as_of(dt.date.today().isoformat())
    assert [f["geometry"]["coordinates"] for f in today] == [
        [ring(LON, LAT, LON + 0.01, LAT + 0.005)]
    ]


def test_grid_code_unique_among_current_grids_of_a_community(
    client: TestClient, place: dict
) -> None:
    first = client.post("/grids", json=grid("U1", cell(0, 0))).json()["id"]
    again = client.post("/grids", json=grid("U1", cell(1, 0)))
    assert again.status_code == 422
    assert again.json()["problems"] == [
        {"index": 0, "label": "U1", "reason": "code 'U1' exists in this community"}
    ]
    other = client.post("/grids", json=grid("U2", cell(1, 0))).json()["id"]
    clash = client.put(f"/grids/{other}", json=grid("U1", cell(1, 0)))
    assert clash.status_code == 409
    assert clash.json() == {"detail": "code 'U1' exists in this community"}
    assert client.delete(f"/grids/{first}").status_code == 204
    assert client.post("/grids", json=grid("U1", cell(2, 0))).status_code == 201


def test_clockwise_ring_is_accepted_and_served_counter_clockwise(
    client: TestClient, place: dict
) -> None:
    clockwise = list(reversed(ring(LON, LAT, LON + 0.005, LAT + 0.005)))
    body = client.post("/grids", json=grid("CW", {"type": "Polygon", "coordinates": [clockwise]}))
    assert body.status_code == 201
    served = body.json()["geometry"]["coordinates"][0]
    signed = sum((x2 - x1) * (y2 + y1) for (x1, y1), (x2, y2) in itertools.pairwise(served))
    assert signed < 0  # counter-clockwise (shoelace sum of (x2-x1)(y2+y1) is negative)
    assert sorted(map(tuple, served[:-1])) == sorted(map(tuple, clockwise[:-1]))


BAD_GEOMETRIES = [
    (
        {
            "type": "Polygon",
            "coordinates": [
                [
                    [LON, LAT],
                    [LON + 0.004, LAT + 0.004],
                    [LON + 0.004, LAT],
                    [LON, LAT + 0.004],
                    [LON, LAT],
                ]
            ],
        },
        "invalid geometry: Self-intersection[121.002 28.502]",
    ),
    (
        {"type": "Polygon", "coordinates": [ring(LON, LAT, LON + 0.004, LAT + 0.004)[:-1]]},
        "ring 0 not closed: first position [121.0, 28.5] != last [121.0, 28.504]",
    ),
    (
        {"type": "Polygon", "coordinates": [[[LON, LAT], [LON + 0.004, LAT], [LON, LAT]]]},
        "ring 0 has 3 position(s): too few points, needs 4",
    ),
    ({"type": "Polygon", "coordinates": []}, "empty Polygon"),
    (None, "geometry missing"),
    (
        {
            "type": "Polygon",
            "coordinates": [[[LON, 95.0], [LON + 0.004, 95.0], [LON + 0.004, 95.004], [LON, 95.0]]],
        },
        "lat 95 out of range [-90, 90]",
    ),
    (
        {
            "type": "Polygon",
            "coordinates": [[[y, x] for x, y in ring(LON, LAT, LON + 0.004, LAT + 0.004)]],
        },
        "lat 121 out of range [-90, 90]; coordinates look swapped (lat, lon): "
        "GeoJSON order is lon, lat",
    ),
    (
        {"type": "Polygon", "coordinates": [ring(500000, 3150000, 500400, 3150400)]},
        "coordinates look projected (x=500000, y=3150000), not WGS84 lon/lat: wrong CRS; "
        "GeoJSON must be EPSG:4326 (RFC 7946), or give the source CRS",
    ),
    (
        {"type": "Polygon", "coordinates": [ring(2.30, 48.80, 2.31, 48.81)]},
        "position (2.3, 48.8) is outside the service area (lon 73..136, lat 3..54)",
    ),
    (
        {"type": "LineString", "coordinates": [[LON, LAT], [LON + 1, LAT]]},
        "expected Polygon, got LineString",
    ),
    ({"type": "Circle", "coordinates": [LON, LAT]}, "unknown geometry type 'Circle'"),
]


@pytest.mark.parametrize(("geometry", "reason"), BAD_GEOMETRIES)
def test_bad_geometry_is_a_422_naming_feature_and_reason(
    client: TestClient, place: dict, geometry: dict | None, reason: str
) -> None:
    response = client.post("/grids", json=grid("BAD", geometry))
    assert response.status_code == 422
    assert response.json()["problems"] == [{"index": 0, "label": "BAD", "reason": reason}]
    assert response.json()["detail"] == f"1 bad feature(s): feature 0 (BAD): {reason}"
    assert (
        client.get("/grids", params={"community": place["community"]}).json()["numberMatched"] == 0
    )


def test_self_intersection_reason_is_the_postgis_text(session: Session) -> None:
    wkt = "POLYGON((121 28.5,121.004 28.504,121.004 28.5,121 28.504,121 28.5))"
    reason = session.execute(text("SELECT ST_IsValidReason(ST_GeomFromText(:w))"), {"w": wkt})
    assert reason.scalar() == "Self-intersection[121.002 28.502]"


@pytest.mark.parametrize("value", [math.nan, math.inf])
def test_nan_and_infinity_are_refused(client: TestClient, place: dict, value: float) -> None:
    coords = ring(LON, LAT, LON + 0.004, LAT + 0.004)
    coords[1][0] = value
    body = f'{{"type": "Feature", "properties": {{"code": "N", "name": "n", "community": "{PLACE}-C"}}, "geometry": {{"type": "Polygon", "coordinates": [{coords}]}}}}'  # noqa: E501
    body = body.replace("nan", "NaN").replace("inf", "Infinity").replace("'", '"')
    response = client.post("/grids", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422
    word = "NaN" if math.isnan(value) else "Infinity"
    assert f"coordinate {word}" in response.json()["detail"]


def test_grid_outside_its_community_is_refused(client: TestClient, place: dict) -> None:
    sticking_out = polygon(LON + 0.015, LAT, LON + 0.025, LAT + 0.005)
    response = client.post("/grids", json=grid("OUT", sticking_out))
    assert response.status_code == 422
    (problem,) = response.json()["problems"]
    assert problem["label"] == "OUT"
    assert problem["reason"].startswith("grid outside its community (")
    outside_m2 = float(problem["reason"].split("(")[1].split(" ")[0])
    assert 270_000 < outside_m2 < 272_500  # 0.005 x 0.005 degrees at 28.5N: 555 m x 488 m


def test_wrong_property_types_are_named(client: TestClient, place: dict) -> None:
    response = client.post("/grids", json=grid("W", cell(0, 0), households="many"))
    assert response.status_code == 422
    assert response.json()["problems"][0]["reason"] == (
        "households: Input should be a valid integer, unable to parse string as an integer"
    )
    unknown = client.post("/grids", json=grid("W", cell(0, 0), community="NOPE"))
    assert unknown.json()["problems"][0]["reason"] == "community 'NOPE' not found"


def test_physical_layers_crud_and_compound_linking(client: TestClient, place: dict) -> None:
    community = place["community"]
    compound = client.post(
        "/compounds",
        json=feature(
            polygon(LON + 0.001, LAT + 0.001, LON + 0.004, LAT + 0.004),
            name="测试小区",
            has_property_management=False,
            year_built=1995,
            households=200,
            population=560,
            community=community,
        ),
    )
    assert compound.status_code == 201, compound.text
    compound_id = compound.json()["id"]
    building = client.post(
        "/buildings",
        json=feature(
            polygon(LON + 0.0015, LAT + 0.0015, LON + 0.0025, LAT + 0.0018),
            name="1幢",
            floors=6,
            units=3,
            entrances=[[LON + 0.002, LAT + 0.0015]],
            community=community,
        ),
    )
    assert building.status_code == 201, building.text
    assert building.json()["properties"]["compound_id"] == compound_id
    assert building.json()["properties"]["entrances"] == [[LON + 0.002, LAT + 0.0015]]
    road = client.post(
        "/roads",
        json=feature(
            {
                "type": "LineString",
                "coordinates": [[LON + 0.001, LAT + 0.002], [LON + 0.004, LAT + 0.002]],
            },
            name="内部道路",
            kind="fire_lane",
            width_m=4.5,
            community=community,
        ),
    )
    assert road.status_code == 201
    assert road.json()["properties"]["compound_id"] == compound_id
    hydrant = client.post(
        "/site-features",
        json=feature(
            {"type": "Point", "coordinates": [LON + 0.003, LAT + 0.003]},
            kind="hydrant",
            community=community,
        ),
    )
    assert hydrant.status_code == 201
    wrong_shape = client.post(
        "/site-features",
        json=feature(
            polygon(LON + 0.002, LAT + 0.002, LON + 0.0021, LAT + 0.0021),
            kind="gate",
            community=community,
        ),
    )
    assert wrong_shape.json()["problems"][0]["reason"] == "a gate is a Point, got Polygon"
    bad_kind = client.post(
        "/roads",
        json=feature(
            {"type": "LineString", "coordinates": [[LON, LAT], [LON + 0.001, LAT]]},
            kind="highway",
            width_m=4,
            community=community,
        ),
    )
    assert bad_kind.json()["problems"][0]["reason"].startswith("kind: Input should be 'street'")
    assert client.delete(f"/compounds/{compound_id}").status_code == 204
    building_id = building.json()["id"]
    assert client.get(f"/buildings/{building_id}").json()["properties"]["compound_id"] is None


def test_admin_parent_cannot_be_deleted_while_it_has_children(
    client: TestClient, place: dict
) -> None:
    district_id = client.get(
        "/districts", params={"bbox": f"{LON},{LAT},{LON + 0.01},{LAT + 0.01}"}
    ).json()["features"][0]["id"]
    response = client.delete(f"/districts/{district_id}")
    assert response.status_code == 409
    assert response.json() == {"detail": "districts T-330 still has 1 street(s)"}


def test_workers_crud(client: TestClient, place: dict) -> None:
    body = {
        "name": "章微琳",
        "gender": "female",
        "role": "grid_worker",
        "hire_date": "2020-03-01",
        "phone": "13800000001",
        "community": place["community"],
    }
    created = client.post("/workers", json=body)
    assert created.status_code == 201
    worker = created.json()
    assert worker == {"id": worker["id"], **body, "left_on": None}
    assert (
        client.put(f"/workers/{worker['id']}", json={**body, "role": "grid_leader"}).json()["role"]
        == "grid_leader"
    )
    listed = client.get("/workers", params={"community": place["community"]}).json()
    assert [w["name"] for w in listed] == ["章微琳"]
    future = client.post("/workers", json={**body, "hire_date": "2999-01-01"})
    assert future.status_code == 422
    assert future.json() == {"detail": "hire_date 2999-01-01 is in the future"}
    assert client.post("/workers", json={**body, "gender": "x"}).status_code == 422
    assert client.delete(f"/workers/{worker['id']}").status_code == 204
    assert client.get(f"/workers/{worker['id']}").status_code == 404


def test_failed_import_writes_nothing(client: TestClient, place: dict) -> None:
    good = grid("G1", cell(0, 0))
    bad = grid("G2", {"type": "Polygon", "coordinates": [ring(LON, LAT, 0, 0)[:3]]})
    response = client.post(
        "/grids/import", params={"community": place["community"]}, json=collection(good, bad)
    )
    assert response.status_code == 422
    assert [p["label"] for p in response.json()["problems"]] == ["G2"]
    assert (
        client.get("/grids", params={"community": place["community"]}).json()["numberMatched"] == 0
    )
    ok = client.post(
        "/grids/import",
        params={"community": place["community"]},
        json=collection(good, grid("G2", cell(1, 0))),
    )
    assert ok.status_code == 201
    assert ok.json()["imported"] == 2


def test_statement_timeout_is_a_clean_503(client: TestClient, connection, engine) -> None:
    """A query stuck behind a lock is cancelled by the statement timeout: 503, no SQL text."""
    connection.execute(text("SET LOCAL statement_timeout = 200"))
    with engine.connect() as other, other.begin():
        other.execute(text("LOCK TABLE building IN ACCESS EXCLUSIVE MODE"))
        response = client.get("/buildings", params={"limit": 10})
    assert response.status_code == 503
    assert response.json() == {"detail": "the query took too long and was cancelled"}
