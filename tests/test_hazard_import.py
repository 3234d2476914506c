"""Bulk import of hazards: all or nothing, every bad row named, routed exactly like a single
report (both routing plans), events, GCJ-02, unrouted and blind-zone counts, API and CLI."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections import Counter
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from geoalchemy2.shape import to_shape
from shapely.geometry import Point, shape
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from geo import models as m
from geo.crs import gcj02_to_wgs84, wgs84_to_gcj02
from geo.hazards import bulk, records
from geo.hazards.records import Report

DEMO = "330303003001"
HEADER = ["lon", "lat", "category", "severity", "description", "origin", "reporter"]


@pytest.fixture
def grids(client: TestClient) -> dict[str, dict]:
    """Apply an A/B plan to the demo community; grid code -> feature."""
    assert client.post(f"/communities/{DEMO}/assignment-plan/apply").status_code == 200
    found = client.get("/grids", params={"community": DEMO, "limit": 100}).json()["features"]
    return {f["properties"]["code"]: f for f in found}


def inside(feature: dict) -> tuple[float, float]:
    p = shape(feature["geometry"]).representative_point()
    return p.x, p.y


def row(lon: float, lat: float, **extra: object) -> dict:
    return {
        "lon": repr(lon),
        "lat": repr(lat),
        "category": "blocked_corridor",
        "severity": "high",
        "description": "楼道堆放杂物",
        "origin": "patrol",
        "reporter": "章微琳",
        **extra,
    }


def to_csv(rows: list[dict]) -> str:
    columns = list(dict.fromkeys([*HEADER, *(k for r in rows for k in r)]))
    out = io.StringIO()
    writer = csv.DictWriter(out, columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def hazard_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(m.Hazard))


def routing(hazard: m.Hazard) -> tuple:
    return (
        hazard.community_id,
        hazard.grid_id,
        hazard.compound_id,
        hazard.building_id,
        hazard.assignee_id,
        hazard.backup_id,
        hazard.blind_zone,
        str(hazard.state),
        hazard.deadline - hazard.reported_at,
    )


def event_rows(session: Session, hazard_id: int) -> list[tuple]:
    rows = session.scalars(
        select(m.HazardEvent)
        .where(m.HazardEvent.hazard_id == hazard_id)
        .order_by(m.HazardEvent.at, m.HazardEvent.id)
    )
    return [(e.actor, e.action, e.from_state, e.to_state, e.note) for e in rows]


def shared_vertex(grids: dict[str, dict]) -> tuple[tuple[float, float], list[str]]:
    """A vertex shared by three or more grids, and the codes of the grids touching it."""
    seen: Counter = Counter()
    for feature in grids.values():
        ring = shape(feature["geometry"]).exterior.coords[:-1]
        seen.update(set(ring))
    vertex = min(v for v, n in seen.items() if n >= 3)
    touching = [c for c, f in grids.items() if shape(f["geometry"]).intersects(Point(vertex))]
    return vertex, sorted(touching)


@pytest.mark.parametrize("by_area", [False, True], ids=["point-by-point", "area-by-area"])
def test_bulk_rows_are_routed_exactly_like_single_reports(
    client: TestClient, grids: dict, session: Session, by_area: bool
) -> None:
    a, b = shape(grids["01"]["geometry"]), shape(grids["02"]["geometry"])
    edge = a.boundary.intersection(b.boundary)
    line = edge if edge.geom_type == "LineString" else edge.geoms[0]
    midpoint = line.interpolate(0.5, normalized=True)
    vertex, touching = shared_vertex(grids)
    assert len(touching) >= 3
    touching = [c for c in touching if c != "11"]  # grid 11 is retired below
    assert len(touching) >= 2  # the tie-break by code is exercised
    compound = session.scalars(select(m.Compound).order_by(m.Compound.id)).first()
    building = session.scalars(select(m.Building).order_by(m.Building.id)).first()
    in_compound = to_shape(compound.geom).representative_point()
    in_building = to_shape(building.geom).representative_point()
    # grid 11 retired: a blind zone; grid 05 without its A worker: unrouted
    assert client.delete(f"/grids/{grids['11']['id']}").status_code == 204
    session.execute(
        delete(m.Assignment).where(
            m.Assignment.grid_id == grids["05"]["id"], m.Assignment.role == "A"
        )
    )
    points = {
        "07": inside(grids["07"]),
        "15": inside(grids["15"]),
        "edge 01/02": (midpoint.x, midpoint.y),
        "vertex": vertex,
        "compound": (in_compound.x, in_compound.y),
        "building": (in_building.x, in_building.y),
        "blind zone": inside(grids["11"]),
        "no A": inside(grids["05"]),
    }
    single = {}
    for name, (lon, lat) in points.items():
        hazard, _ = records.report(
            session,
            Report("blocked_corridor", "high", "楼道堆放杂物", lon, lat, "patrol", "章微琳"),
        )
        single[name] = (routing(hazard), event_rows(session, hazard.id)[1:])

    parsed = bulk.parse(to_csv([row(*p) for p in points.values()]), "csv", bulk.categories(session))
    result = bulk.import_hazards(session, parsed, by_area=by_area, source="test.csv")
    hazards = [session.get(m.Hazard, i) for i in result.ids]
    imported = {
        name: (routing(h), event_rows(session, h.id)[1:])
        for name, h in zip(points, hazards, strict=True)
    }
    assert imported == single
    code = {g["id"]: c for c, g in grids.items()}
    assert [code.get(h.grid_id) for h in hazards] == [
        "07",
        "15",
        "01",
        touching[0],
        code[hazards[4].grid_id],
        code[hazards[5].grid_id],
        None,
        "05",
    ]
    assert hazards[4].compound_id == compound.id and hazards[5].building_id == building.id
    assert (result.dispatched, result.unrouted, result.blind_zone) == (6, 2, 1)
    assert event_rows(session, hazards[0].id)[0] == (
        "章微琳",
        "reported",
        None,
        "reported",
        "imported from test.csv",
    )


def test_a_bad_row_refuses_the_file_and_every_bad_row_is_named(
    client: TestClient, grids: dict, session: Session
) -> None:
    lon, lat = inside(grids["07"])
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(days=2)).isoformat()
    rows = [
        row(lon, lat),  # row 2
        {**row(lon, lat), "lon": "120,72"},  # row 3
        {**row(lon, lat), "lat": "NaN"},  # row 4
        row(lat, lon),  # row 5: swapped
        row(lon, lat, category="volcano", floor="3"),  # row 6
        row(lon, lat, severity="urgent", origin="wechat"),  # row 7
        row(100.0, 30.0),  # row 8
        row(lon, lat, floor="3.5"),  # row 9
        row(lon, lat, description="两行\n描述"),  # rows 10-11: good
        row(lon, lat, reported_at=future),  # row 12
        row(lon, lat, reported_at="yesterday", reporter=""),  # row 13
    ]
    before = hazard_count(session)
    response = client.post(
        "/hazards/import",
        content=to_csv(rows).encode(),
        headers={"Content-Type": "text/csv"},
    )
    assert response.status_code == 422
    body = response.json()
    assert [(p["index"], p["label"], p["reason"]) for p in body["problems"]] == [
        (3, "row 3", "lon '120,72' is not a number"),
        (4, "row 4", "lat is NaN"),
        (5, "row 5", f"lat {lon:g} out of range [-90, 90]; lon and lat look swapped"),
        (6, "row 6", "category 'volcano' is not in the catalogue"),
        (
            7,
            "row 7",
            "severity 'urgent' unknown; use one of low, medium, high, critical; "
            "origin 'wechat' unknown; use one of patrol, resident, inspection, hotline",
        ),
        (8, "row 8", "point (100, 30) is outside every community"),
        (9, "row 9", "floor '3.5' is not a whole number"),
        (12, "row 12", f"reported_at {future} is in the future"),
        (
            13,
            "row 13",
            "reporter missing; reported_at 'yesterday' is not an ISO 8601 date-time",
        ),
    ]
    assert body["detail"].startswith("9 bad row(s), nothing imported: row 3: lon '120,72'")
    assert hazard_count(session) == before


def test_placement_problems_name_swapped_points(grids: dict, session: Session) -> None:
    lon, lat = inside(grids["07"])
    # both in range, so only the database can tell: (lat, lon) swapped is in a community
    # Only the database can tell when both are in range; built by hand since east of 90°E a
    # swapped latitude is already out of range when the file is read.
    swapped = (2, "hazard", "other", "low", "d", "patrol", "r", None, None, None, lat, lon)
    before = hazard_count(session)
    with pytest.raises(bulk.RowsRejected) as caught:
        bulk.import_hazards(session, bulk.Parsed("row", rows=[swapped]))
    assert [str(p) for p in caught.value.problems] == [
        f"row 2: point ({lat:g}, {lon:g}) is outside every community; lon and lat look swapped"
    ]
    assert hazard_count(session) == before


def test_geojson_import_with_optional_properties(client: TestClient, grids: dict) -> None:
    lon, lat = inside(grids["07"])
    reported = "2024-05-20T09:30:00+08:00"
    collection = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [lon, lat]},
                "properties": {
                    **{k: v for k, v in row(lon, lat).items() if k not in ("lon", "lat")},
                    "kind": "case",
                    "floor": 4,
                    "reporter_contact": "13800000000",
                    "reported_at": reported,
                    "state": "ignored: not a column",
                },
            },
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": list(inside(grids["15"]))},
                "properties": {**row(0, 0, severity="critical"), "lon": "ignored"},
            },
        ],
    }
    response = client.post(
        "/hazards/import",
        content=json.dumps(collection),
        headers={"Content-Type": "application/geo+json"},
    )
    assert response.status_code == 201
    summary = response.json()
    assert summary == {
        "imported": 2,
        "first_id": summary["first_id"],
        "last_id": summary["first_id"] + 1,
        "dispatched": 2,
        "unrouted": 0,
        "blind_zone": 0,
    }
    first = client.get(f"/hazards/{summary['first_id']}").json()["properties"]
    assert (first["kind"], first["grid"], first["state"], first["floor"]) == (
        "case",
        "07",
        "dispatched",
        4,
    )
    assert dt.datetime.fromisoformat(first["reported_at"]) == dt.datetime.fromisoformat(reported)
    assert dt.datetime.fromisoformat(first["deadline"]) - dt.datetime.fromisoformat(
        reported
    ) == dt.timedelta(days=7)
    events = client.get(f"/hazards/{summary['first_id']}/events").json()
    assert [(e["action"], e["note"]) for e in events] == [
        ("reported", "imported from POST /hazards/import"),
        ("dispatched", f"routed to grid 07: A {first['assignee']['name']}"),
    ]
    assert dt.datetime.fromisoformat(events[0]["at"]) == dt.datetime.fromisoformat(reported)
    second = client.get(f"/hazards/{summary['last_id']}").json()["properties"]
    assert (second["grid"], second["severity"], second["kind"]) == ("15", "critical", "hazard")


def test_bad_geojson_features_are_named_by_index(client: TestClient, grids: dict) -> None:
    lon, lat = inside(grids["07"])
    props = {k: v for k, v in row(lon, lat).items() if k not in ("lon", "lat")}
    collection = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [lon, lat]},
                "properties": props,
            },
            {
                "type": "Feature",
                "geometry": {"type": "LineString", "coordinates": [[1, 2]]},
                "properties": props,
            },
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": ["120", lat]},
                "properties": {**props, "floor": 300},
            },
            "not a feature",
        ],
    }
    response = client.post("/hazards/import?format=geojson", json=collection)
    assert response.status_code == 422
    assert [(p["index"], p["reason"]) for p in response.json()["problems"]] == [
        (1, "geometry must be a Point, got LineString"),
        (2, "lon '120' is not a number; floor 300 out of range [-10, 200]"),
        (3, "not a GeoJSON Feature"),
    ]


def test_gcj02_coordinates_are_converted(client: TestClient, grids: dict, session: Session) -> None:
    lon, lat = inside(grids["09"])
    g_lon, g_lat = wgs84_to_gcj02(lon, lat)
    response = client.post(
        "/hazards/import?format=csv&from_gcj02=true", content=to_csv([row(g_lon, g_lat)])
    )
    assert response.status_code == 201
    hazard = session.get(m.Hazard, response.json()["first_id"])
    point = to_shape(hazard.geom)
    expected = gcj02_to_wgs84(g_lon, g_lat)
    assert abs(point.x - expected[0]) < 1e-9 and abs(point.y - expected[1]) < 1e-9
    assert abs(point.x - lon) < 1e-7 and abs(point.y - lat) < 1e-7
    assert hazard.grid_id == grids["09"]["id"]


def test_unrouted_and_blind_zone_rows_are_counted(
    client: TestClient, grids: dict, session: Session
) -> None:
    assert client.delete(f"/grids/{grids['11']['id']}").status_code == 204
    session.execute(
        delete(m.Assignment).where(
            m.Assignment.grid_id == grids["05"]["id"], m.Assignment.role == "A"
        )
    )
    session.flush()
    points = [inside(grids[c]) for c in ("11", "05", "07", "11")]
    response = client.post(
        "/hazards/import", content=to_csv([row(*p) for p in points]), params={"format": "csv"}
    )
    assert response.status_code == 201
    summary = response.json()
    assert (summary["imported"], summary["dispatched"], summary["unrouted"]) == (4, 1, 3)
    assert summary["blind_zone"] == 2
    queue = client.get("/hazards", params={"community": DEMO, "unrouted": True}).json()
    assert sorted(f["id"] for f in queue["features"]) == [
        summary["first_id"],
        summary["first_id"] + 1,
        summary["last_id"],
    ]
    notes = [
        client.get(f"/hazards/{summary['first_id'] + i}/events").json()[-1]["note"]
        for i in range(2)
    ]
    assert notes == [
        "blind zone: in no grid; community office queue",
        "the grid has no A worker; community office queue",
    ]


def test_file_level_errors(client: TestClient) -> None:
    missing = client.post(
        "/hazards/import?format=csv", content="lon,lat,category,severity,colour\n1,2,3,4,5\n"
    )
    assert missing.status_code == 422
    assert missing.json()["detail"] == (
        "CSV header: missing column(s) description, origin, reporter; unknown column(s) colour; "
        "expected lon, lat, category, severity, description, origin, reporter "
        "[, kind, reporter_contact, floor, reported_at]"
    )
    short = client.post(
        "/hazards/import?format=csv",
        content=to_csv([row(120.7, 27.9, reporter="a\x00b")]).replace("\n", "\n120.7,27.9\n\n", 1),
    )
    assert [(p["index"], p["reason"]) for p in short.json()["problems"]] == [
        (2, "2 values where the header has 7"),
        (4, "reporter contains a NUL character"),
    ]
    empty = client.post("/hazards/import?format=csv", content=",".join(HEADER) + "\n")
    assert (empty.status_code, empty.json()["detail"]) == (422, "no hazards to import")
    media = client.post("/hazards/import", content=b"x", headers={"Content-Type": "text/plain"})
    assert media.status_code == 415
    gbk = client.post("/hazards/import?format=csv", content="描述".encode("gbk"))
    assert gbk.status_code == 422 and gbk.json()["detail"].startswith("the CSV is not UTF-8")
    polygon = client.post("/hazards/import?format=geojson", json={"type": "Feature"})
    assert polygon.json()["detail"] == "expected a GeoJSON FeatureCollection of Points"


def test_cli_imports_csv_and_geojson(
    gridline, grids: dict, session: Session, tmp_path: Path
) -> None:
    good = tmp_path / "hazards.csv"
    good.write_text(to_csv([row(*inside(grids["07"])), row(*inside(grids["08"]))]), "utf-8")
    assert gridline("import", "hazards", good) == (
        0,
        "imported 2 hazards (2 dispatched, 0 unrouted)\n",
        "",
    )
    lon, lat = inside(grids["07"])
    g_lon, g_lat = wgs84_to_gcj02(lon, lat)
    props = {k: v for k, v in row(0, 0).items() if k not in ("lon", "lat")}
    gcj = tmp_path / "hazards.geojson"
    gcj.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "geometry": {"type": "Point", "coordinates": [g_lon, g_lat]},
                        "properties": props,
                    }
                ],
            }
        )
    )
    code, out, _ = gridline("import", "hazards", gcj, "--from-gcj02")
    assert (code, out) == (0, "imported 1 hazards (1 dispatched, 0 unrouted)\n")
    bad = tmp_path / "bad.csv"
    bad.write_text(to_csv([row(*inside(grids["07"])), row(100.0, 30.0)]), "utf-8")
    before = hazard_count(session)
    assert gridline("import", "hazards", bad) == (
        1,
        "",
        "gridline: bad.csv: row 3: point (100, 30) is outside every community\n"
        "gridline: 1 bad feature(s); nothing imported\n",
    )
    assert hazard_count(session) == before
    assert gridline("import", "hazards", good, "--crs", "EPSG:4547")[2] == (
        "gridline: hazards take no option but --from-gcj02\n"
    )
