"""Daily patrol plans and village days on the demo community, through the API."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from shapely import wkt
from shapely.geometry import Point, shape
from sqlalchemy import text
from sqlalchemy.engine import Connection

from tests.test_hazards import DEMO, inside, report, step

TODAY = dt.date.today()
OFFICE_SQL = "SELECT ST_X(office), ST_Y(office) FROM community WHERE code = :code"

A_PLACES_SQL = """
WITH g AS (SELECT geom FROM grid WHERE id = :grid)
SELECT (SELECT count(*) FROM building b, g WHERE ST_Covers(g.geom, ST_PointOnSurface(b.geom)))
     + (SELECT count(*) FROM site_feature s, g
        WHERE s.kind IN ('shop', 'hydrant') AND ST_Covers(g.geom, s.geom))
"""


def a_role(client: TestClient, demo_grids: dict) -> tuple[int, dict]:
    """A worker who is A of exactly one grid and B of at least one; that grid's feature."""
    roles = client.get("/assignments", params={"community": DEMO, "on": TODAY}).json()
    by_worker: dict[int, list[dict]] = {}
    for r in roles:
        by_worker.setdefault(r["worker_id"], []).append(r)
    for worker, held in sorted(by_worker.items()):
        a = [r for r in held if r["role"] == "A"]
        if len(a) == 1 and any(r["role"] == "B" for r in held):
            grid = next(f for f in demo_grids.values() if f["id"] == a[0]["grid_id"])
            return worker, grid
    raise AssertionError("the demo plan has no worker with one A and a B grid")


def plan(client: TestClient, **body) -> dict:
    response = client.post("/patrols/plan", json={"date": TODAY.isoformat(), **body})
    assert response.status_code == 201, response.text
    assert response.headers["location"] == f"/patrols/{response.json()['id']}"
    return response.json()


def minutes(iso: str) -> float:
    t = dt.datetime.fromisoformat(iso)
    return t.hour * 60 + t.minute + t.second / 60


def test_daily_plan_visits_the_places_due_in_the_a_grid(
    client: TestClient,
    connection: Connection,
    demo_grids: dict,
) -> None:
    worker, grid = a_role(client, demo_grids)
    expected = connection.execute(text(A_PLACES_SQL), {"grid": grid["id"]}).scalar_one()
    body = plan(client, worker_id=worker)
    stops = body["stops"]
    assert len(stops) == expected
    assert {s["kind"] for s in stops} <= {"shop", "building", "hydrant"}
    assert all(s["priority"] == 2 and s["role"] == "A" for s in stops)  # never inspected
    fitted = [s for s in stops if s["seq"] is not None]
    assert [s["seq"] for s in fitted] == list(range(1, len(fitted) + 1))
    assert body["counts"] == {"planned": len(fitted), "left_out": len(stops) - len(fitted)}
    assert all(s["reason"] for s in stops if s["seq"] is None)
    arrivals = [minutes(s["arrive_at"]) for s in fitted]
    assert arrivals == sorted(arrivals)
    assert arrivals[0] > 8 * 60 + 30 and minutes(body["returns_at"]) <= 12 * 60
    assert body["starts_at"].endswith("08:30:00+08:00")
    office = list(connection.execute(text(OFFICE_SQL), {"code": DEMO}).one())
    route = shape(body["route"])
    assert route.coords[0] == pytest.approx(tuple(office)) == route.coords[-1]
    assert body["start"] == pytest.approx(office) and body["finish"] == pytest.approx(office)
    assert body["network"] == {"straight_m": 0.0, "straight_legs": 0}
    for s in fitted:
        assert route.distance(Point(s["lon"], s["lat"])) < 1e-6
    walked = connection.execute(
        text("SELECT ST_Length(ST_GeomFromText(:wkt, 4326)::geography)"), {"wkt": route.wkt}
    ).scalar_one()
    assert walked == pytest.approx(body["distance_m"], rel=0.01)
    assert sum(s["leg_m"] for s in fitted) < body["distance_m"]
    crossing = connection.execute(
        text(
            "SELECT count(*) FROM building "
            "WHERE ST_Intersects(ST_Buffer(geom::geography, -0.5)::geometry, "
            "ST_GeomFromText(:wkt, 4326))"
        ),
        {"wkt": route.wkt},
    ).scalar_one()
    assert crossing == 0
    got = client.get(f"/patrols/{body['id']}").json()
    assert got == body


def test_hazards_due_come_first_and_b_grids_after_a(
    client: TestClient,
    demo_grids: dict,
) -> None:
    worker, grid = a_role(client, demo_grids)
    roles = client.get("/assignments", params={"worker_id": worker, "on": TODAY}).json()
    b_grid = next(
        f
        for f in demo_grids.values()
        if f["id"] == next(r["grid_id"] for r in roles if r["role"] == "B")
    )
    fixed = report(client, *inside(grid), severity="high")
    fixed = step(client, fixed, "rectifying", "店主")
    fixed = step(client, fixed, "rectified", "店主")
    backup = report(client, *inside(b_grid), severity="high")
    backup = step(client, backup, "rectifying", "物业")
    backup = step(client, backup, "rectified", "物业")
    report(client, *inside(grid), severity="low")  # deadline in 30 days: not due
    body = plan(client, worker_id=worker)
    hazards = {s["ref"]: s for s in body["stops"] if s["kind"] == "hazard"}
    assert set(hazards) == {fixed["id"], backup["id"]}
    assert hazards[fixed["id"]]["priority"] == 4 and hazards[fixed["id"]]["role"] == "A"
    assert hazards[backup["id"]]["priority"] == 3 and hazards[backup["id"]]["role"] == "B"
    assert hazards[fixed["id"]]["label"].startswith("楼道堆物堵塞复核")
    only_a = plan(client, worker_id=worker, include_b=False)
    assert {s["ref"] for s in only_a["stops"] if s["kind"] == "hazard"} == {fixed["id"]}


def test_extra_stops_with_windows_and_a_short_morning(
    client: TestClient,
    demo_grids: dict,
) -> None:
    worker, grid = a_role(client, demo_grids)
    lon, lat = inside(grid)
    extra = {"lon": lon, "lat": lat, "label": "走访独居老人", "priority": 5, "service_s": 1200}
    body = plan(
        client,
        worker_id=worker,
        stops=[{**extra, "window": ["10:00", "10:30"]}],
        hours=["08:30", "11:00"],
    )
    visit = next(s for s in body["stops"] if s["kind"] == "extra")
    assert visit["seq"] is not None and visit["label"] == "走访独居老人"
    assert 600 <= minutes(visit["arrive_at"]) <= 630
    assert visit["window"][0].endswith("10:00:00+08:00")
    assert minutes(visit["depart_at"]) == pytest.approx(minutes(visit["arrive_at"]) + 20)
    short = plan(client, worker_id=worker, hours=["08:30", "08:50"])
    left = [s for s in short["stops"] if s["seq"] is None]
    assert left and short["counts"]["planned"] + len(left) == len(short["stops"])
    assert all(s["reason"] for s in left)
    assert minutes(short["returns_at"]) <= 8 * 60 + 50


def test_bad_requests_are_refused_with_the_reason(
    client: TestClient,
    demo_grids: dict,
) -> None:
    worker, _ = a_role(client, demo_grids)
    response = client.post("/patrols/plan", json={"worker_id": 99999, "date": "2026-01-01"})
    assert response.status_code == 404
    assert response.json()["detail"] == "worker 99999 not found"
    response = client.post("/patrols/plan", json={"worker_id": worker, "date": "1999-01-01"})
    assert response.status_code == 409
    assert response.json()["detail"].endswith("holds no grid on 1999-01-01")
    response = client.post(
        "/patrols/plan",
        json={"worker_id": worker, "date": TODAY.isoformat(), "hours": ["12:00", "08:30"]},
    )
    assert response.status_code == 422
    assert "hours must end after they start" in response.text
    assert client.get("/patrols/99999").status_code == 404


def test_without_an_office_the_start_must_be_given(
    client: TestClient,
    connection: Connection,
    demo_grids: dict,
) -> None:
    worker, grid = a_role(client, demo_grids)
    connection.execute(text("UPDATE community SET office = NULL"))
    response = client.post("/patrols/plan", json={"worker_id": worker, "date": TODAY.isoformat()})
    assert response.status_code == 422
    assert response.json()["detail"] == (
        "the community has no office location: give start (lon, lat) or set the community's office"
    )
    lon, lat = inside(grid)
    body = plan(client, worker_id=worker, start={"lon": lon, "lat": lat})
    assert body["start"] == pytest.approx([lon, lat]) == body["finish"]


def test_village_day_sectors_are_contiguous_balanced_and_cover_the_community(
    client: TestClient,
    connection: Connection,
    demo_grids: dict,
) -> None:
    response = client.post(
        "/village-days",
        json={"community": DEMO, "date": TODAY.isoformat(), "teams": 3, "time_limit_s": 1},
    )
    assert response.status_code == 201, response.text
    day = response.json()
    assert day["teams"] == 3 and [p["team"] for p in day["plans"]] == [1, 2, 3]
    counts = [len(p["stops"]) for p in day["plans"]]
    total = connection.execute(
        text(
            "SELECT (SELECT count(*) FROM building) + "
            "(SELECT count(*) FROM site_feature WHERE kind IN ('shop', 'hydrant'))"
        )
    ).scalar_one()
    assert sum(counts) == total
    assert max(counts) - min(counts) <= max(2, -(-total // 30))  # 10 % of the mean, at least 2
    sectors = [shape(p["sector"]) for p in day["plans"]]
    assert all(len(s.geoms) == 1 for s in sectors)  # each one piece
    community = wkt.loads(
        connection.execute(
            text("SELECT ST_AsText(geom) FROM community WHERE code = :code"), {"code": DEMO}
        ).scalar_one()
    )
    union = sectors[0].union(sectors[1]).union(sectors[2])
    assert union.symmetric_difference(community).area < 1e-10
    for p, sector in zip(day["plans"], sectors, strict=True):
        assert all(sector.buffer(1e-7).contains(Point(s["lon"], s["lat"])) for s in p["stops"])
        assert p["kind"] == "village_day" and p["worker"] is None
    assert client.get(f"/village-days/{day['id']}").json() == day


def test_patrol_map_pages_are_listed_and_served(client: TestClient, demo_grids: dict) -> None:
    worker, _ = a_role(client, demo_grids)
    body = plan(client, worker_id=worker)
    day = client.post(
        "/village-days",
        json={"community": DEMO, "date": TODAY.isoformat(), "teams": 2, "time_limit_s": 0.5},
    ).json()
    index = client.get("/maps").text
    assert f'<a href="/maps/patrols/{body["id"]}">' in index
    assert f'<a href="/maps/village-days/{day["id"]}">' in index
    assert f"/maps/patrols/{body['id']}/track" not in index
    page = client.get(f"/maps/patrols/{body['id']}")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "/assets/leaflet-ant-path" in page.text
    assert page.text.count('"className": "gridline-stop"') == len(body["stops"])
    missing = client.get(f"/maps/patrols/{body['id']}/track")
    assert missing.status_code == 404
    assert missing.json()["detail"] == f"patrol plan {body['id']} has no track yet"
    assert client.get(f"/maps/village-days/{day['id']}").status_code == 200
    assert client.get("/maps/village-days/99999").status_code == 404
