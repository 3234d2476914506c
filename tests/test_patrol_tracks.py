"""GPS tracks of patrols on the demo community: visits, coverage, inspections, bad uploads."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from fastapi.testclient import TestClient
from shapely import wkt
from shapely.geometry import LineString, Point, shape
from sqlalchemy import text
from sqlalchemy.engine import Connection

from geo.crs import LocalProjection, wgs84_to_gcj02
from tests.test_hazards import DEMO
from tests.test_patrol_plans import TODAY, a_role, plan

LINE = LineString([(120.72, 27.97), (120.7205, 27.97)])
START = dt.datetime.combine(TODAY, dt.time(0, 31), dt.UTC)  # 08:31 local
AREA_SQL = """
SELECT ST_Union(g.geom) FROM grid g JOIN assignment a ON a.grid_id = g.id
WHERE a.worker_id = :worker AND a.valid_from <= :day AND (a.valid_to IS NULL OR a.valid_to > :day)
"""
LONGEST_ROAD_SQL = f"""
SELECT ST_AsText(r.geom) FROM road r
WHERE r.kind IN ('street', 'internal_road') AND ST_Length(r.geom::geography) > 700
ORDER BY ST_Length(ST_Intersection(r.geom, ({AREA_SQL}))::geography) DESC, r.id LIMIT 1
"""
COVERAGE_SQL = f"""
WITH area AS ({AREA_SQL}),
net AS (
    SELECT ST_Intersection(
        ST_Transform(ST_Union(r.geom), 32651),
        ST_Buffer(ST_Transform((SELECT * FROM area), 32651), 0.5)
    ) AS geom
    FROM road r, community c WHERE c.code = :code AND r.geom && ST_Expand(c.geom, 0.002)
)
SELECT ST_Length(ST_Intersection(net.geom,
           ST_Buffer(ST_Transform(ST_GeomFromText(:track, 4326), 32651), 20)))
       / ST_Length(net.geom)
FROM net
"""
NOTHING_DUE_SQL = """
INSERT INTO inspection (place_kind, place_id, inspected_at)
SELECT 'building', id, now() FROM building
UNION ALL SELECT kind, id, now() FROM site_feature WHERE kind IN ('shop', 'hydrant')
"""


def walk(route: LineString, pauses: list[Point], speed: float = 1.2) -> list[tuple[Point, int]]:
    """Samples at 1 Hz walking ``route`` (lon/lat), pausing 60 s where it first reaches each
    of ``pauses``."""
    projection = LocalProjection.for_geometry(route)
    line = projection.to_metric(route)
    waits = sorted(line.project(projection.to_metric(p)) for p in pauses)
    samples, along, t = [], 0.0, 0
    while along <= line.length:
        here = projection.to_wgs84(line.interpolate(along))
        samples.append((here, t))
        while waits and along >= waits[0]:
            waits.pop(0)
            for _ in range(60):
                t += 1
                samples.append((here, t))
        along += speed
        t += 1
    return samples


def gpx(samples: list[tuple[Point, int]], gcj02: bool = False) -> bytes:
    points = []
    for p, t in samples:
        lon, lat = wgs84_to_gcj02(p.x, p.y) if gcj02 else (p.x, p.y)
        when = (START + dt.timedelta(seconds=t)).strftime("%Y-%m-%dT%H:%M:%SZ")
        points.append(f'<trkpt lat="{lat:.8f}" lon="{lon:.8f}"><time>{when}</time></trkpt>')
    return (
        '<?xml version="1.0"?><gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1">'
        f"<trk><trkseg>{''.join(points)}</trkseg></trk></gpx>"
    ).encode()


def upload(client: TestClient, plan_id: int, body: bytes, **params) -> dict:
    response = client.post(
        f"/patrols/{plan_id}/tracks",
        content=body,
        params=params,
        headers={"Content-Type": "application/gpx+xml"},
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_a_track_visiting_7_of_10_stops_gives_exactly_those_7(
    client: TestClient, connection: Connection, demo_grids: dict
) -> None:
    worker, _ = a_role(client, demo_grids)
    connection.execute(text(NOTHING_DUE_SQL))
    params = {"worker": worker, "day": TODAY, "code": DEMO}
    road = wkt.loads(connection.execute(text(LONGEST_ROAD_SQL), params).scalar_one())
    projection = LocalProjection.for_geometry(road)
    metric = projection.to_metric(road)
    spots = [projection.to_wgs84(metric.interpolate(50 + 60 * k)) for k in range(10)]
    stops = [
        {"lon": p.x, "lat": p.y, "label": f"点{k}", "service_s": 60} for k, p in enumerate(spots)
    ]
    body = plan(client, worker_id=worker, stops=stops)
    fitted = [s for s in body["stops"] if s["seq"] is not None]
    assert len(fitted) == 10 and {s["kind"] for s in fitted} == {"extra"}
    skipped = {fitted[k]["id"] for k in (3, 6, 8)}
    visited = [s for s in fitted if s["id"] not in skipped]
    samples = walk(shape(body["route"]), [Point(s["lon"], s["lat"]) for s in visited])
    track = upload(client, body["id"], gpx(samples))

    assert [v["stop"] for v in track["visits"]] == [s["id"] for s in visited]
    assert set(track["missed"]) == skipped
    assert all(v["linger_s"] >= 60 for v in track["visits"])
    assert track["points"] == len(samples)
    assert track["duration_s"] == samples[-1][1]
    line = LineString([p for p, _ in samples])
    expected = connection.execute(text(COVERAGE_SQL), {**params, "track": line.wkt}).scalar_one()
    assert expected > 0.05
    assert track["coverage"]["share"] == pytest.approx(expected, abs=0.01)
    assert track["gaps"] == []
    assert 0 <= track["outside_s"] <= track["duration_s"]

    again = client.get(f"/patrols/{body['id']}").json()
    assert again["tracks"] == [track["id"]]
    marked = {s["id"] for s in again["stops"] if s["visited_at"]}
    assert marked == {s["id"] for s in visited}
    first = next(v for v in track["visits"] if v["stop"] == visited[0]["id"])
    assert first["arrived_at"] == again["stops"][0]["visited_at"]

    converted = upload(client, body["id"], gpx(samples, gcj02=True), crs="gcj02")
    assert [v["stop"] for v in converted["visits"]] == [s["id"] for s in visited]
    assert client.get(f"/patrols/{body['id']}/tracks").json()[1]["id"] == converted["id"]


def test_a_visited_place_counts_as_its_inspection(
    client: TestClient, connection: Connection, demo_grids: dict
) -> None:
    worker, _ = a_role(client, demo_grids)
    body = plan(client, worker_id=worker)
    first = body["stops"][0]
    assert first["kind"] in ("shop", "building", "hydrant")
    here = Point(first["lon"], first["lat"])
    projection = LocalProjection.for_geometry(here)
    metric = projection.to_metric(here)
    approach = LineString([(metric.x - 60, metric.y), (metric.x + 60, metric.y)])
    samples = walk(projection.to_wgs84(approach), [here])
    track = upload(client, body["id"], gpx(samples))
    assert [v["stop"] for v in track["visits"]] == [first["id"]]
    rows = connection.execute(
        text("SELECT place_kind, place_id, worker_id, track_id FROM inspection")
    ).all()
    assert rows == [(first["kind"], first["ref"], worker, track["id"])]
    later = plan(client, worker_id=worker)
    assert (first["kind"], first["ref"]) not in {(s["kind"], s["ref"]) for s in later["stops"]}
    assert len(later["stops"]) == len(body["stops"]) - 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "the upload is empty: expected a GPX or GeoJSON track"),
        (b"<gpx><trk><trkseg></trkseg></trk></gpx>", "the track has no points"),
        (
            json.dumps(
                {"type": "LineString", "coordinates": [[120.72, 27.97], [120.721, 27.97]]}
            ).encode(),
            "time",
        ),
    ],
)
def test_bad_tracks_are_refused_and_nothing_is_stored(
    client: TestClient, connection: Connection, demo_grids: dict, body: bytes, message: str
) -> None:
    worker, _ = a_role(client, demo_grids)
    plan_id = plan(client, worker_id=worker)["id"]
    response = client.post(f"/patrols/{plan_id}/tracks", content=body)
    assert response.status_code == 422
    assert message in response.json()["detail"]
    assert connection.execute(text("SELECT count(*) FROM patrol_track")).scalar_one() == 0
    missing = client.post("/patrols/99999/tracks", content=gpx(walk(LINE, [])))
    assert missing.status_code == 404
