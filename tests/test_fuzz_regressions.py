"""Each failure the hostile-input testing found (test_fuzz.py, and probes with the values its
generators rarely make: NUL, 2^31, 2^63, 10^400, 9999-12-31), as fixed requests with the exact
answer expected. F1-F9 number the findings; the last test keeps the schema declaring the
statuses and media types that routes answer."""

from __future__ import annotations

import json

import httpx
import pytest
import schemathesis
from fastapi.testclient import TestClient
from sqlalchemy.engine import Connection

from api.app import create_app
from api.deps import MAX_OFFSET
from tests.test_fuzz import Seeds, one_stall
from tests.test_hazards import DEMO

DOCUMENT = create_app().openapi()
SERVED = schemathesis.openapi.from_dict(DOCUMENT)
INT4_OVER = 2**31  # one more than the largest id
BIG = 10**400  # a JSON integer beyond the float range
POLYGON = [[[120.72, 27.97], [120.722, 27.97], [120.722, 27.972], [120.72, 27.97]]]
JSON = {"Content-Type": "application/json"}
WORKER = {"gender": "female", "role": "grid_worker", "hire_date": "2020-01-01", "community": DEMO}


def conforms(response: httpx.Response, method: str, path: str) -> None:
    """The response as the served OpenAPI document describes it (raises otherwise)."""
    SERVED[path][method].validate_response(response)


def validation(response: httpx.Response) -> tuple[list, str]:
    """``loc`` and ``msg`` of the only field FastAPI refused."""
    (error,) = response.json()["detail"]
    return error["loc"], error["msg"]


def grid(coordinates: list) -> dict:
    return {
        "type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": coordinates},
        "properties": {"code": "22", "name": "第22网格", "community": DEMO},
    }


# --- F1: a refusal with a reason must match the documented 422 --------------------------------


def test_a_refusal_with_a_reason_matches_the_documented_422(client: TestClient) -> None:
    response = client.get("/locate", params={"lon": 120.7, "lat": 91})
    assert response.status_code == 422
    assert response.json() == {"detail": "lat 91 out of range [-90, 90]"}
    conforms(response, "GET", "/locate")


def test_refused_features_match_the_documented_422(client: TestClient) -> None:
    response = client.post("/grids", json=grid([POLYGON[0][1:]]))
    assert response.status_code == 422
    assert response.json() == {
        "detail": "1 bad feature(s): feature 0 (22): ring 0 has 3 position(s): too few points,"
        " needs 4",
        "problems": [
            {
                "index": 0,
                "label": "22",
                "reason": "ring 0 has 3 position(s): too few points, needs 4",
            }
        ],
    }
    conforms(response, "POST", "/grids")


# --- F2: integers beyond the 32-bit id columns ---------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", f"/grids/{INT4_OVER}", None),
        ("DELETE", f"/compounds/{INT4_OVER}", None),
        ("GET", f"/hazards?grid_id={INT4_OVER}", None),
        ("GET", f"/compounds/1/parking-layouts/{INT4_OVER}", None),
        ("POST", "/patrols/plan", {"worker_id": INT4_OVER, "date": "2026-03-02"}),
        ("GET", f"/maps/village-days/{INT4_OVER}", None),
    ],
)
def test_an_id_beyond_32_bits_is_refused(
    client: TestClient, method: str, path: str, body: dict | None
) -> None:
    response = client.request(method, path, json=body)
    assert response.status_code == 422
    assert response.json() == {"detail": "a number is out of range"}


# --- F3: NUL characters -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/grids?community=%00", None),
        ("GET", "/audit?table=%00", None),
        ("GET", "/communities/%00/topology", None),
        ("PATCH", "/accounts/a%00", {"active": True}),
        ("POST", "/workers", {**WORKER, "name": "章\x00"}),
    ],
)
def test_a_nul_character_is_refused(
    client: TestClient, method: str, path: str, body: dict | None
) -> None:
    response = client.request(method, path, json=body)
    assert response.status_code == 422
    assert response.json() == {"detail": "text must not contain NUL (0x00) characters"}


def test_signing_in_with_a_nul_character_is_refused(client_as) -> None:
    response = client_as(None).post("/token", data={"username": "a\x00", "password": "x"})
    assert response.status_code == 422
    assert response.json() == {"detail": "text must not contain NUL (0x00) characters"}


# --- F4: the export's file name ---------------------------------------------------------------


def test_an_export_of_a_parent_code_in_chinese_names_the_file_encoded(client: TestClient) -> None:
    response = client.get("/grids/export", params={"community": "蒲江"})
    assert response.status_code == 200
    assert response.json() == {"type": "FeatureCollection", "features": []}
    assert response.headers["content-disposition"] == (
        "attachment; filename*=utf-8''grids-%E8%92%B2%E6%B1%9F.geojson"
    )


def test_an_export_cannot_break_its_headers(client: TestClient) -> None:
    response = client.get("/grids/export", params={"community": 'a"\r\nX-Evil: 1'})
    assert response.status_code == 200
    assert "x-evil" not in response.headers
    assert response.headers["content-disposition"] == (
        "attachment; filename*=utf-8''grids-a%22%0D%0AX-Evil%3A%201.geojson"
    )


def test_a_plain_export_keeps_its_plain_file_name(client: TestClient) -> None:
    response = client.get("/grids/export", params={"community": DEMO, "format": "gpkg"})
    assert response.status_code == 200
    assert response.headers["content-disposition"] == f'attachment; filename="grids-{DEMO}.gpkg"'


# --- F5: parking parameters that stall the generator or crash it -------------------------------


@pytest.fixture
def layout(connection: Connection) -> dict:
    return one_stall(connection)


@pytest.mark.parametrize(
    ("params", "loc", "message"),
    [
        ({"stall_width_m": 0.05}, ["stall_width_m"], "Input should be greater than or equal to 2"),
        (
            {"ebike_pitch_m": 1e-6},
            ["ebike_pitch_m"],
            "Input should be greater than or equal to 0.4",
        ),
        (
            {"fire_lane_clear_m": 1e308},
            ["fire_lane_clear_m"],
            "Input should be less than or equal to 12",
        ),
        (
            {"aisle_m": {"perpendicular": -5}},
            ["aisle_m", "perpendicular"],
            "Input should be greater than or equal to 2.5",
        ),
    ],
    ids=["stall_width_m", "ebike_pitch_m", "fire_lane_clear_m", "aisle_m"],
)
def test_parking_parameters_out_of_scale_are_refused(
    client: TestClient, layout: dict, params: dict, loc: list, message: str
) -> None:
    body = {"layout": layout, "params": params}
    response = client.post("/compounds/1/parking-layouts/check", json=body)
    assert response.status_code == 422
    assert validation(response) == (["body", "params", *loc], message)


def test_aisles_given_for_some_stall_kinds_keep_the_others(client: TestClient) -> None:
    params = {"aisle_m": {"perpendicular": 6.5}, "kinds": ["perpendicular"], "min_pocket_m2": 1e6}
    response = client.post("/compounds/1/parking-layouts", json={"params": params})
    assert response.status_code == 201, response.text
    assert response.json()["params"]["aisle_m"] == {
        "perpendicular": 6.5,
        "angle_60": 4.5,
        "angle_45": 3.8,
        "angle_30": 3.5,
        "parallel": 3.8,
    }


# --- F6: page offsets beyond PostgreSQL's bigint -----------------------------------------------


@pytest.mark.parametrize("path", ["/grids", "/audit"])
def test_an_offset_beyond_a_bigint_is_refused(client: TestClient, path: str) -> None:
    response = client.get(path, params={"offset": MAX_OFFSET + 1})
    assert response.status_code == 422
    assert validation(response) == (
        ["query", "offset"],
        "Input should be less than or equal to 9223372036854775807",
    )


def test_the_largest_offset_is_an_empty_page(client: TestClient) -> None:
    response = client.get("/grids", params={"offset": MAX_OFFSET})
    assert response.status_code == 200
    assert response.json()["features"] == []


def test_an_ogc_offset_beyond_a_bigint_is_an_empty_page(client: TestClient) -> None:
    response = client.get("/ogc/collections/grids/items", params={"offset": 10**20})
    assert response.status_code == 200
    assert response.json()["numberReturned"] == 0


# --- F7: JSON integers beyond the float range -------------------------------------------------


def test_a_coordinate_beyond_the_float_range_is_refused(client: TestClient) -> None:
    body = json.dumps(grid([[[BIG, 27.97], *POLYGON[0][1:]]]))
    response = client.post("/grids", content=body, headers=JSON)
    assert response.status_code == 422
    reason = "coordinate out of range: an integer beyond 1.8e308"
    assert response.json() == {
        "detail": f"1 bad feature(s): feature 0 (22): {reason}",
        "problems": [{"index": 0, "label": "22", "reason": reason}],
    }


def test_a_cql2_bbox_number_beyond_the_float_range_is_refused(client: TestClient) -> None:
    cql = f"S_INTERSECTS(geometry,BBOX({BIG},0,1,1))"
    response = client.get("/ogc/collections/grids/items", params={"filter": cql})
    assert response.status_code == 400
    assert response.json() == {"detail": f"number {BIG} at position 28 is out of range"}


def test_a_hazard_import_with_a_coordinate_beyond_the_float_range_is_refused(
    client: TestClient,
) -> None:
    feature = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [BIG, 27.97]},
        "properties": {
            "category": "blocked_corridor",
            "severity": "high",
            "description": "x",
            "origin": "patrol",
            "reporter": "r",
        },
    }
    response = client.post(
        "/hazards/import?format=geojson",
        content=json.dumps({"type": "FeatureCollection", "features": [feature]}),
        headers={"Content-Type": "application/geo+json"},
    )
    assert response.status_code == 422
    assert response.json()["detail"] == "1 bad row(s), nothing imported: feature 0: lon is infinite"


def test_a_parking_layout_with_a_coordinate_beyond_the_float_range_is_refused(
    client: TestClient,
) -> None:
    stall = {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [[[BIG, 27.97]]]}}
    body = json.dumps({"layout": {"type": "FeatureCollection", "features": [stall]}})
    response = client.post("/compounds/1/parking-layouts/check", content=body, headers=JSON)
    assert response.status_code == 422
    assert response.json() == {
        "detail": "feature 0: not a GeoJSON geometry (int too large to convert to float)"
    }


def test_a_track_with_a_coordinate_beyond_the_float_range_is_refused(
    client: TestClient, connection: Connection
) -> None:
    plan_id = Seeds(client, connection).for_path("/patrols/{plan_id}")["plan_id"]
    track = {
        "type": "Feature",
        "geometry": {"type": "LineString", "coordinates": [[BIG, 27.97], [120.72, 27.97]]},
        "properties": {"times": [1, 2]},
    }
    response = client.post(
        f"/patrols/{plan_id}/tracks",
        content=json.dumps(track),
        headers={"Content-Type": "application/geo+json"},
    )
    assert response.status_code == 422
    assert response.json() == {"detail": "point 0 has a non-finite coordinate"}


# --- F8: the last day of the calendar ---------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/hazards",
        f"/communities/{DEMO}/hazard-stats",
        f"/communities/{DEMO}/residents-benefited",
        f"/maps/communities/{DEMO}/hazards",
        f"/maps/communities/{DEMO}/hazards.geojson",
    ],
)
def test_to_the_last_day_of_the_calendar_is_open_ended(client: TestClient, path: str) -> None:
    assert client.get(path, params={"to": "9999-12-31"}).status_code == 200


def test_the_last_month_of_the_calendar_has_not_started(client: TestClient) -> None:
    response = client.get(f"/communities/{DEMO}/reports/monthly", params={"month": "9999-12"})
    assert response.status_code == 422
    assert response.json() == {"detail": "month '9999-12' has not started yet"}


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/patrols/plan", {"worker_id": 1}),
        ("/village-days", {"community": DEMO, "teams": 2}),
    ],
)
def test_a_plan_for_the_last_day_of_the_calendar_is_refused(
    client: TestClient, path: str, body: dict
) -> None:
    response = client.post(path, json={**body, "date": "9999-12-31"})
    assert response.status_code == 422
    assert validation(response) == (
        ["body", "date"],
        "Input should be less than or equal to 9999-12-30",
    )


# --- F9: Open311 request ids beyond the id column ---------------------------------------------


def test_an_open311_request_id_beyond_32_bits_is_not_found(client: TestClient) -> None:
    response = client.get("/open311/v2/requests/99999999999999999999.json")
    assert response.status_code == 404
    assert response.json() == [
        {"code": 404, "description": "service request '99999999999999999999' not found"}
    ]


def test_open311_requests_by_an_id_beyond_32_bits_are_none(client: TestClient) -> None:
    response = client.get(
        "/open311/v2/requests.json", params={"service_request_id": "99999999999999999999"}
    )
    assert response.status_code == 200
    assert response.json() == []


# --- Declared as answered: statuses and media types (status and content type checks) --------


def test_the_schema_declares_the_statuses_and_media_types_answered() -> None:
    error_body = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    errors = {"400", "401", "403", "404", "409", "412", "413", "415", "422", "428", "429", "503"}
    paths = DOCUMENT["paths"]
    hazard = paths["/hazards/{hazard_id}"]["get"]["responses"]
    assert set(hazard) == {"200", *errors}
    assert hazard["200"]["content"] == {"application/geo+json": {"schema": {}}}
    assert hazard["404"]["content"] == error_body
    assert hazard["429"]["headers"]["Retry-After"]["required"] is True
    map_page = paths["/maps/communities/{code}"]["get"]["responses"]
    assert map_page["200"]["content"] == {"text/html": {"schema": {"type": "string"}}}
    assert map_page["404"]["content"] == error_body  # errors are JSON whatever the page is
    assert set(paths["/token"]["post"]["responses"]) == {"200", "400", "401", "422", "429", "503"}
    assert set(paths["/grids/export"]["get"]["responses"]["200"]["content"]) == {
        "application/geo+json",
        "application/geopackage+sqlite3",
    }
    photo = paths["/hazards/{hazard_id}/photos/{photo_id}"]["get"]["responses"]["200"]
    assert set(photo["content"]) == {"image/jpeg", "image/png", "image/webp"}
    queryables = paths["/ogc/collections/{collection_id}/queryables"]["get"]["responses"]["200"]
    assert set(queryables["content"]) == {"application/schema+json"}
    open311 = paths["/open311/v2/requests/{service_request_id}.json"]["get"]["responses"]
    (spec_error,) = open311["404"]["content"].values()
    assert spec_error["schema"]["items"] == {"$ref": "#/components/schemas/SpecError"}
    assert open311["401"]["content"] == error_body  # signing in is the API's, not Open311's
    assert DOCUMENT["components"]["schemas"]["SpecError"]["required"] == ["code", "description"]
    assert DOCUMENT["components"]["schemas"]["ErrorBody"]["required"] == ["detail"]
