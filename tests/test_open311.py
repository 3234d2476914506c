"""Open311 GeoReport v2: services, submitting (routed like any report), reading, errors."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from shapely.geometry import shape
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from geo import models as m
from geo.errors import InvalidInput
from geo.hazards import open311

DEMO = "330303003001"
BASE = "/open311/v2"
REQUEST_FIELDS = {
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
}


@pytest.fixture
def grids(client: TestClient) -> dict:
    """The demo community's grids (code -> feature), no A/B plan applied."""
    found = client.get("/grids", params={"community": DEMO, "limit": 100}).json()["features"]
    return {f["properties"]["code"]: f for f in found}


def apply_plan(client: TestClient) -> None:
    assert client.post(f"/communities/{DEMO}/assignment-plan/apply").status_code == 200


def inside(feature: dict) -> tuple[float, float]:
    p = shape(feature["geometry"]).representative_point()
    return p.x, p.y


def submit(client: TestClient, lon: float, lat: float, **fields: str) -> Response:
    form = {"service_code": "blocked_corridor", "lat": str(lat), "long": str(lon), **fields}
    return client.post(f"{BASE}/requests.json", data=form)


def created_id(response: Response) -> str:
    assert response.status_code == 201, response.text
    return response.json()[0]["service_request_id"]


def a_worker(client: TestClient, session: Session, grid_id: int) -> str:
    rows = client.get("/assignments", params={"grid_id": grid_id, "on": dt.date.today()}).json()
    (worker_id,) = [r["worker_id"] for r in rows if r["role"] == "A"]
    return session.get(m.Worker, worker_id).name


def read(client: TestClient, **params: str) -> Response:
    return client.get(f"{BASE}/requests.json", params=params)


def ids(client: TestClient, **params: str) -> list[str]:
    response = read(client, **params)
    assert response.status_code == 200, response.text
    return [r["service_request_id"] for r in response.json()]


def error(response: Response) -> tuple[int, list[dict]]:
    return response.status_code, response.json()


def test_services_are_the_active_catalogue(client: TestClient, session: Session) -> None:
    assert client.put(
        "/hazard-categories/other",
        json={
            "code": "other",
            "group": "other",
            "name": "Other",
            "name_zh": "其他",
            "active": False,
        },
    ).is_success
    services = client.get(f"{BASE}/services.json").json()
    catalogue = session.execute(
        select(m.HazardCategory.code, m.HazardCategory.group)
        .where(m.HazardCategory.active)
        .order_by(m.HazardCategory.group, m.HazardCategory.code)
    ).all()
    assert [(s["service_code"], s["group"]) for s in services] == [tuple(c) for c in catalogue]
    assert "other" not in [s["service_code"] for s in services]
    assert len(services) == 8
    corridor = next(s for s in services if s["service_code"] == "blocked_corridor")
    assert corridor == {
        "service_code": "blocked_corridor",
        "service_name": "Corridor or stairwell blocked with belongings (楼道堆物堵塞)",
        "description": (
            "楼道堆物堵塞: routed to the grid worker of the location; "
            "to be fixed within 14 days at the default severity (medium)"
        ),
        "metadata": False,
        "type": "realtime",
        "keywords": "fire,楼道堆物堵塞",
        "group": "fire",
    }
    refused = submit(client, 120.7, 27.9, service_code="other")
    assert error(refused) == (
        400,
        [
            {
                "code": 400,
                "description": "service_code 'other' is not a service; "
                "GET services.json lists them",
            }
        ],
    )


def test_round_trip_with_the_spec_names_and_types(
    client: TestClient, grids: dict, session: Session
) -> None:
    lon, lat = inside(grids["07"])
    posted = submit(
        client,
        lon,
        lat,
        description="三楼楼道堆满纸箱",
        first_name="微琳",
        last_name="章",
        email="zwl@example.org",
        phone="13800000000",
        media_url="https://example.org/p/1.jpg",
        **{"attribute[severity]": "high", "api_key": "anything", "jurisdiction_id": "wz"},
    )
    assert posted.status_code == 201
    (answer,) = posted.json()
    assert set(answer) == {"service_request_id", "service_notice", "account_id"}
    assert answer["account_id"] is None and isinstance(answer["service_request_id"], str)
    request_id = answer["service_request_id"]

    got = client.get(f"{BASE}/requests/{request_id}.json")
    assert got.status_code == 200
    (request,) = got.json()
    assert set(request) == REQUEST_FIELDS
    assert request["service_request_id"] == request_id
    assert request["status"] == "open"
    assert request["service_code"] == "blocked_corridor"
    assert request["service_name"] == "Corridor or stairwell blocked with belongings (楼道堆物堵塞)"
    assert request["description"] == "三楼楼道堆满纸箱"
    assert request["media_url"] == "https://example.org/p/1.jpg"
    assert isinstance(request["lat"], float) and isinstance(request["long"], float)
    assert (request["lat"], request["long"]) == (lat, lon)
    assert request["address"].startswith("蒲江社区")
    assert (request["address_id"], request["zipcode"]) == (None, None)
    times = {
        k: dt.datetime.fromisoformat(request[k])
        for k in ("requested_datetime", "updated_datetime", "expected_datetime")
    }
    assert all(t.utcoffset() is not None for t in times.values())
    assert times["expected_datetime"] - times["requested_datetime"] == dt.timedelta(days=7)
    assert request["service_notice"] == answer["service_notice"]
    assert client.get(f"{BASE}/requests.json").json() == [request]

    hazard = session.get(m.Hazard, int(request_id))
    assert (hazard.kind, hazard.origin, hazard.severity) == ("case", "resident", "high")
    assert hazard.reporter == "章微琳"
    assert hazard.reporter_contact == "13800000000 / zwl@example.org"
    assert hazard.description == "三楼楼道堆满纸箱\nmedia_url: https://example.org/p/1.jpg"
    assert hazard.grid_id == grids["07"]["id"]


def test_defaults_medium_severity_anonymous_and_the_service_name(
    client: TestClient, grids: dict, session: Session
) -> None:
    request_id = created_id(
        submit(client, *inside(grids["02"]), first_name="Anna", last_name="Li", phone="110")
    )
    hazard = session.get(m.Hazard, int(request_id))
    assert (hazard.severity, hazard.reporter, hazard.reporter_contact) == (
        "medium",
        "Anna Li",
        "110",
    )
    assert hazard.description == "楼道堆物堵塞"
    anonymous = session.get(m.Hazard, int(created_id(submit(client, *inside(grids["02"])))))
    assert (anonymous.reporter, anonymous.reporter_contact) == ("匿名居民", None)
    (request,) = client.get(f"{BASE}/requests/{anonymous.id}.json").json()
    assert request["media_url"] is None
    expected = dt.datetime.fromisoformat(request["expected_datetime"])
    assert expected - dt.datetime.fromisoformat(request["requested_datetime"]) == dt.timedelta(
        days=14
    )


def test_a_posted_request_is_routed_to_the_grids_a_worker(
    client: TestClient, grids: dict, session: Session
) -> None:
    session.execute(text("DELETE FROM assignment"))  # from no roles (the demo loads some)
    point = inside(grids["07"])
    before = created_id(submit(client, *point))
    (unrouted,) = client.get(f"{BASE}/requests/{before}.json").json()
    assert unrouted["agency_responsible"] == "蒲江社区 / 社区办公室"
    assert unrouted["service_notice"] == (
        "in a grid nobody holds: queued at the community office for dispatch"
    )
    assert unrouted["status_notes"] == "the grid has no A worker; community office queue"

    apply_plan(client)
    name = a_worker(client, session, grids["07"]["id"])
    posted = submit(client, *point)
    after = created_id(posted)
    (routed,) = client.get(f"{BASE}/requests/{after}.json").json()
    assert routed["agency_responsible"] == f"蒲江社区 网格07 / {name}"
    assert routed["status_notes"] == f"routed to grid 07: A {name}"
    assert posted.json()[0]["service_notice"] == (
        f"routed to 蒲江社区 网格07 / {name}; to be fixed by {routed['expected_datetime']}"
    )
    hazard = session.get(m.Hazard, int(after))
    assert (hazard.state, hazard.assignee_id is not None) == ("dispatched", True)

    assert client.delete(f"/grids/{grids['11']['id']}").status_code == 204
    blind = created_id(submit(client, *inside(grids["11"])))
    (queued,) = client.get(f"{BASE}/requests/{blind}.json").json()
    assert queued["agency_responsible"] == "蒲江社区 / 社区办公室"
    assert queued["service_notice"] == (
        "in no grid (blind zone): queued at the community office for dispatch"
    )


def transition(client: TestClient, hazard_id: str, to: str, note: str) -> None:
    etag = client.get(f"/hazards/{hazard_id}").headers["etag"]
    response = client.post(
        f"/hazards/{hazard_id}/transition",
        json={"to": to, "actor": "社区办公室", "note": note},
        headers={"If-Match": etag},
    )
    assert response.status_code == 200, response.text


def test_filters_by_status_service_dates_and_id_list(
    client: TestClient, grids: dict, session: Session
) -> None:
    apply_plan(client)
    lon, lat = inside(grids["15"])
    case = created_id(submit(client, lon, lat))
    closed = created_id(submit(client, lon + 0.002, lat, service_code="sanitation"))
    transition(client, closed, "rejected", "私人院内，不属社区处置")
    old = created_id(submit(client, lon + 0.001, lat))
    session.execute(
        text("UPDATE hazard SET reported_at = now() - interval '100 days' WHERE id = :id"),
        {"id": int(old)},
    )
    worker_found = client.post(
        "/hazards",
        json={
            "category": "indoor_ebike_charging",
            "severity": "critical",
            "description": "电动车楼道充电",
            "lon": lon,
            "lat": lat + 0.0005,
            "origin": "patrol",
            "reporter": "网格员",
        },
    ).json()
    hazard = str(worker_found["id"])
    # all reported in this test's transaction share one time: newest first is highest id first
    recent = [hazard, closed, case]
    assert ids(client) == recent
    assert ids(client, status="open") == [hazard, case]
    assert ids(client, status="closed") == [closed]
    assert ids(client, status="open,closed") == recent
    assert ids(client, service_code="sanitation") == [closed]
    assert ids(client, service_code="sanitation,indoor_ebike_charging") == [hazard, closed]

    (rejected,) = read(client, status="closed").json()
    assert rejected["status_notes"] == "私人院内，不属社区处置"
    assert rejected["service_notice"] == "rejected by the community; see status_notes"

    now = session.scalar(select(func.now()))
    window = {
        "start_date": (now - dt.timedelta(days=101)).isoformat(),
        "end_date": (now - dt.timedelta(days=99)).isoformat(),
    }
    assert ids(client, **window) == [old]
    assert ids(client, start_date=window["start_date"]) == [old]
    assert ids(client, end_date=now.isoformat()) == recent
    assert ids(client, start_date="2000-01-01T00:00:00Z") == []
    unencoded = (now - dt.timedelta(days=1)).astimezone(dt.timezone(dt.timedelta(hours=8)))
    raw = f"{BASE}/requests.json?start_date={unencoded.isoformat(timespec='seconds')}"
    assert "+08:00" in raw
    assert [r["service_request_id"] for r in client.get(raw).json()] == recent

    listed = f"{old},{closed}"
    assert ids(client, service_request_id=listed, status="open") == [closed, old]
    assert ids(client, service_request_id="999999999") == []


def test_errors_use_the_spec_body_and_write_nothing(
    client: TestClient, grids: dict, session: Session
) -> None:
    count = select(func.count()).select_from(m.Hazard)
    before = session.scalar(count)
    lon, lat = inside(grids["05"])
    url = f"{BASE}/requests.json"
    cases = [
        (
            client.post(url, data={"lat": str(lat), "long": str(lon)}),
            "service_code is required; GET services.json lists them",
        ),
        (
            submit(client, lon, lat, service_code="volcano"),
            "service_code 'volcano' is not a service; GET services.json lists them",
        ),
        (
            client.post(url, data={"service_code": "sanitation", "address_string": "留香园3幢"}),
            "lat long are required: requests are routed to a grid by their point; "
            "addresses are not geocoded",
        ),
        (
            client.post(url, data={"service_code": "sanitation", "lat": str(lat)}),
            "long is required",
        ),
        (submit(client, 100.0, 30.0), "point (100, 30) is outside every community"),
        (submit(client, lon, 95.0), "lat 95 out of range [-90, 90]"),
        (submit(client, lon, lat, long="east"), "long 'east' is not a number"),
        (
            submit(client, lon, lat, **{"attribute[severity]": "urgent"}),
            "attribute[severity] 'urgent' unknown; one of low, medium, high, critical",
        ),
        (
            submit(client, lon, lat, **{"attribute[floor]": "3"}),
            "attribute[floor] unknown; the only attribute is attribute[severity]",
        ),
        (
            submit(client, lon, lat, media_url="file:///etc/passwd"),
            "media_url 'file:///etc/passwd' is not an http(s) URL",
        ),
        (
            submit(client, lon, lat, email="nobody"),
            "email 'nobody' is not an e-mail address",
        ),
        (
            submit(client, lon, lat, description="x" * 4001),
            "description has 4001 characters; at most 4000",
        ),
        (
            client.post(url, json={"service_code": "sanitation", "lat": lat, "long": lon}),
            "send the request as application/x-www-form-urlencoded",
        ),
        (read(client, status="pending"), "status 'pending' unknown; open or closed"),
        (read(client, service_code="volcano"), "service_code 'volcano' is not a service"),
        (read(client, service_request_id="7,x"), "service_request_id 'x' is not a request id"),
        (
            read(client, start_date="2024-05-01"),
            "start_date '2024-05-01' needs a timezone (Z or +hh:mm)",
        ),
        (read(client, end_date="yesterday"), "end_date 'yesterday' is not an ISO 8601 date-time"),
        (
            read(client, start_date="2024-01-01T00:00:00Z", end_date="2024-06-01T00:00:00Z"),
            "start_date to end_date may span at most 90 days",
        ),
        (
            read(client, start_date="2024-02-01T00:00:00Z", end_date="2024-01-01T00:00:00Z"),
            "end_date is before start_date",
        ),
    ]
    for response, description in cases:
        assert error(response) == (400, [{"code": 400, "description": description}])
    assert session.scalar(count) == before
    for missing in ("999999999", "abc"):
        assert error(client.get(f"{BASE}/requests/{missing}.json")) == (
            404,
            [{"code": 404, "description": f"service request {missing!r} not found"}],
        )


def test_a_failure_after_the_report_leaves_nothing_behind(
    client: TestClient, grids: dict, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*args: object) -> None:
        raise InvalidInput("read back failed")

    monkeypatch.setattr(open311, "get", fail)
    count = select(func.count()).select_from(m.Hazard)
    events = select(func.count()).select_from(m.HazardEvent)
    before = (session.scalar(count), session.scalar(events))
    response = submit(client, *inside(grids["05"]))
    assert error(response) == (400, [{"code": 400, "description": "read back failed"}])
    assert (session.scalar(count), session.scalar(events)) == before
