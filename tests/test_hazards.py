"""Hazards: routing, the closed loop, deadlines, re-inspection, audit, If-Match, duplicates,
photos."""

from __future__ import annotations

import datetime as dt
import itertools
import struct
import threading
import zlib

import pytest
from fastapi.testclient import TestClient
from geoalchemy2.shape import to_shape
from shapely.geometry import shape
from sqlalchemy import Connection, Engine, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from geo import db
from geo import models as m
from geo.errors import Conflict
from geo.hazards import records
from geo.hazards.lifecycle import TRANSITIONS, check_transition

DEMO = "330303003001"


def report(client: TestClient, lon: float, lat: float, **extra) -> dict:
    body = {
        "category": "blocked_corridor",
        "severity": "high",
        "description": "楼道堆放杂物",
        "lon": lon,
        "lat": lat,
        "origin": "patrol",
        "reporter": "章微琳",
        **extra,
    }
    response = client.post("/hazards", json=body)
    return {"status": response.status_code, "etag": response.headers.get("etag"), **response.json()}


def inside(feature: dict) -> tuple[float, float]:
    p = shape(feature["geometry"]).representative_point()
    return p.x, p.y


def roles_of(client: TestClient, grid_id: int) -> dict:
    rows = client.get("/assignments", params={"grid_id": grid_id, "on": dt.date.today()}).json()
    return {r["role"]: r["worker_id"] for r in rows}


def test_report_inside_a_grid_is_dispatched_to_its_a_with_b_as_backup(
    client: TestClient, demo_grids: dict
) -> None:
    grid = demo_grids["07"]
    created = report(client, *inside(grid))
    assert created["status"] == 201
    props = created["properties"]
    roles = roles_of(client, grid["id"])
    assert (props["grid"], props["state"], props["community"]) == ("07", "dispatched", DEMO)
    assert props["assignee"]["id"] == roles["A"]
    assert props["backup"]["id"] == roles["B"]
    assert props["blind_zone"] is False and props["unrouted"] is False
    assert created["etag"] == f'"{created["id"]}-1"'
    assert [e["action"] for e in client.get(f"/hazards/{created['id']}/events").json()] == [
        "reported",
        "dispatched",
    ]


def test_report_on_a_shared_edge_goes_to_the_smallest_code(
    client: TestClient, demo_grids: dict
) -> None:
    a, b = shape(demo_grids["01"]["geometry"]), shape(demo_grids["02"]["geometry"])
    edge = a.boundary.intersection(b.boundary)
    point = (
        edge.interpolate(0.5, normalized=True)
        if edge.geom_type == "LineString"
        else (edge.geoms[0].interpolate(0.5, normalized=True))
    )
    created = report(client, point.x, point.y)
    assert created["properties"]["grid"] == "01"


def test_blind_zone_goes_to_the_unrouted_queue(client: TestClient, demo_grids: dict) -> None:
    grid = demo_grids["11"]
    assert client.delete(f"/grids/{grid['id']}").status_code == 204
    created = report(client, *inside(grid))
    props = created["properties"]
    assert (props["state"], props["grid"], props["assignee"]) == ("reported", None, None)
    assert props["blind_zone"] is True and props["unrouted"] is True
    queue = client.get("/hazards", params={"community": DEMO, "unrouted": True}).json()
    assert [f["id"] for f in queue["features"]] == [created["id"]]
    events = client.get(f"/hazards/{created['id']}/events").json()
    assert events[-1]["note"] == "blind zone: in no grid; community office queue"
    no_worker = client.post(
        f"/hazards/{created['id']}/transition",
        json={"to": "dispatched", "actor": "社区办公室"},
        headers={"If-Match": created["etag"]},
    )
    assert no_worker.status_code == 422
    worker = client.get("/workers", params={"community": DEMO}).json()[0]["id"]
    dispatched = client.post(
        f"/hazards/{created['id']}/transition",
        json={"to": "dispatched", "actor": "社区办公室", "assignee_id": worker},
        headers={"If-Match": created["etag"]},
    )
    assert dispatched.status_code == 200
    assert dispatched.json()["properties"]["assignee"]["id"] == worker


def test_outside_every_community_is_refused(client: TestClient) -> None:
    created = report(client, 100.0, 30.0)
    assert created["status"] == 422
    assert created["detail"] == "point (100, 30) is outside every community"
    unknown = report(client, 120.72, 27.97, category="volcano")
    assert (unknown["status"], unknown["detail"]) == (
        422,
        "category 'volcano' is not in the catalogue",
    )


def test_transition_table_allows_exactly_the_loop() -> None:
    S = m.HazardState
    allowed = {
        (S.REPORTED, S.DISPATCHED),
        (S.REPORTED, S.REJECTED),
        (S.REPORTED, S.DUPLICATE),
        (S.DISPATCHED, S.DISPATCHED),
        (S.DISPATCHED, S.RECTIFYING),
        (S.DISPATCHED, S.REJECTED),
        (S.DISPATCHED, S.DUPLICATE),
        (S.RECTIFYING, S.RECTIFIED),
        (S.RECTIFIED, S.VERIFIED),
        (S.RECTIFIED, S.RECTIFYING),
    }
    for a, b in itertools.product(S, S):
        if (a, b) in allowed:
            check_transition(a, b)
        else:
            with pytest.raises(Conflict, match=f"cannot go from {a} to {b}"):
                check_transition(a, b)
    assert sum(len(v) for v in TRANSITIONS.values()) == len(allowed)


def step(client: TestClient, hazard: dict, to: str, actor: str) -> dict:
    response = client.post(
        f"/hazards/{hazard['id']}/transition",
        json={"to": to, "actor": actor},
        headers={"If-Match": hazard["etag"]},
    )
    return {"status": response.status_code, "etag": response.headers.get("etag"), **response.json()}


def test_closed_loop_with_reinspection_by_someone_else(client: TestClient, demo_grids) -> None:
    hazard = report(client, *inside(demo_grids["05"]))
    forbidden = step(client, hazard, "verified", "王主任")
    assert forbidden["status"] == 409
    assert forbidden["detail"] == (
        "cannot go from dispatched to verified; "
        "allowed: dispatched, duplicate, rectifying, rejected"
    )
    hazard = step(client, hazard, "rectifying", "章微琳")
    hazard = step(client, hazard, "rectified", "章微琳")
    assert hazard["properties"]["rectified_by"] == "章微琳"
    same = step(client, hazard, "verified", "章微琳")
    assert same["status"] == 409
    assert same["detail"] == (
        "closing needs a re-inspection by someone other than 章微琳, who reported the fix"
    )
    events_before = client.get(f"/hazards/{hazard['id']}/events").json()
    closed = step(client, hazard, "verified", "网格长 王强")
    assert closed["status"] == 200
    assert closed["properties"]["state"] == "verified"
    assert closed["properties"]["closed_at"] is not None
    events = client.get(f"/hazards/{hazard['id']}/events").json()
    assert len(events) == len(events_before) + 1
    assert [(e["from"], e["to"], e["actor"]) for e in events[2:]] == [
        ("dispatched", "rectifying", "章微琳"),
        ("rectifying", "rectified", "章微琳"),
        ("rectified", "verified", "网格长 王强"),
    ]
    final = step(client, closed, "rectifying", "章微琳")
    assert final["status"] == 409 and final["detail"].endswith("allowed: none: it is final")


def test_if_match_is_required_and_must_be_current(client: TestClient, demo_grids) -> None:
    hazard = report(client, *inside(demo_grids["03"]))
    url = f"/hazards/{hazard['id']}/transition"
    body = {"to": "rectifying", "actor": "章微琳"}
    missing = client.post(url, json=body)
    assert missing.status_code == 428
    moved = client.post(url, json=body, headers={"If-Match": hazard["etag"]})
    assert moved.status_code == 200
    assert moved.headers["etag"] == f'"{hazard["id"]}-2"'
    stale = client.post(
        url, json={"to": "rectified", "actor": "x"}, headers={"If-Match": hazard["etag"]}
    )
    assert stale.status_code == 412
    assert stale.json()["detail"].startswith(f"hazard {hazard['id']} changed since you read it")
    events = client.get(f"/hazards/{hazard['id']}/events").json()
    assert [e["action"] for e in events] == ["reported", "dispatched", "rectifying"]


def test_deadline_by_severity_and_overdue_listing(
    client: TestClient, demo_grids: dict, session: Session
) -> None:
    hazard = report(client, *inside(demo_grids["09"]), severity="critical")
    props = hazard["properties"]
    reported = dt.datetime.fromisoformat(props["reported_at"])
    assert dt.datetime.fromisoformat(props["deadline"]) - reported == dt.timedelta(days=1)
    low = report(client, *inside(demo_grids["10"]), severity="low")["properties"]
    assert dt.datetime.fromisoformat(low["deadline"]) - dt.datetime.fromisoformat(
        low["reported_at"]
    ) == dt.timedelta(days=30)
    assert client.get("/hazards", params={"overdue": True}).json()["numberMatched"] == 0
    session.execute(
        text("UPDATE hazard SET deadline = now() - interval '1 hour' WHERE id = :id"),
        {"id": hazard["id"]},
    )
    overdue = client.get("/hazards", params={"overdue": True, "community": DEMO}).json()
    assert [f["id"] for f in overdue["features"]] == [hazard["id"]]
    assert overdue["features"][0]["properties"]["overdue"] is True


def test_duplicates_are_suggested_and_merged_keeping_both_histories(
    client: TestClient, demo_grids: dict
) -> None:
    lon, lat = inside(demo_grids["12"])
    first = report(client, lon, lat)
    near = report(client, lon + 0.0001, lat)  # about 10 m east
    assert [d["id"] for d in near["possible_duplicates"]] == [first["id"]]
    assert 9 < near["possible_duplicates"][0]["distance_m"] < 11
    other_kind = report(client, lon, lat, category="sanitation")
    assert other_kind["possible_duplicates"] == []
    far = report(client, lon + 0.0005, lat)  # about 50 m
    assert first["id"] not in [d["id"] for d in far["possible_duplicates"]]
    merged = client.post(
        f"/hazards/{near['id']}/merge",
        json={"into": first["id"], "actor": "章微琳"},
        headers={"If-Match": near["etag"]},
    )
    assert merged.status_code == 200
    assert merged.json()["properties"]["state"] == "duplicate"
    assert merged.json()["properties"]["duplicate_of"] == first["id"]
    history = client.get(f"/hazards/{first['id']}/events").json()
    assert {e["hazard_id"] for e in history} == {first["id"], near["id"]}
    assert [e["action"] for e in history if e["hazard_id"] == near["id"]] == [
        "reported",
        "dispatched",
        "duplicate",
    ]
    assert history[-1]["note"] == f"absorbed #{near['id']}"
    again = client.post(
        f"/hazards/{first['id']}/merge",
        json={"into": near["id"], "actor": "x"},
        headers={"If-Match": client.get(f"/hazards/{first['id']}").headers["etag"]},
    )
    assert again.status_code == 409


def test_queries_by_category_state_dates_bbox_and_radius(
    client: TestClient, demo_grids: dict
) -> None:
    lon, lat = inside(demo_grids["15"])
    a = report(client, lon, lat)
    b = report(client, lon + 0.003, lat, category="sanitation")

    def ids(**params: object) -> list[int]:
        return [f["id"] for f in client.get("/hazards", params=params).json()["features"]]

    assert ids(category="sanitation") == [b["id"]]
    assert ids(near=f"{lon},{lat}", radius_m=100) == [a["id"]]
    assert set(ids(near=f"{lon},{lat}", radius_m=400)) == {a["id"], b["id"]}
    assert ids(bbox=f"{lon - 0.0005},{lat - 0.0005},{lon + 0.0005},{lat + 0.0005}") == [a["id"]]
    assert set(ids(state="dispatched", grid_id=demo_grids["15"]["id"])) <= {a["id"], b["id"]}
    today = dt.date.today().isoformat()
    assert set(ids(**{"from": today, "to": today})) == {a["id"], b["id"]}
    assert ids(**{"to": "2000-01-01"}) == []
    assert client.get("/hazards", params={"near": "x"}).status_code == 422
    assert client.get("/hazards", params={"near": f"{lon},{lat}"}).json()["detail"] == (
        "near and radius_m go together"
    )


def png(width: int = 1, height: int = 1) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00" + b"\xff\x00\x00" * width)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def test_photos_are_checked_stored_and_served(
    client: TestClient,
    demo_grids: dict,
    tmp_path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GRIDLINE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("GRIDLINE_PHOTO_MAX_BYTES", "200")
    db.get_settings.cache_clear()
    try:
        hazard = report(client, *inside(demo_grids["16"]))
        url = f"/hazards/{hazard['id']}/photos"
        image = png()
        up = client.post(
            url, files={"file": ("a.png", image, "image/png")}, data={"uploaded_by": "章微琳"}
        )
        assert up.status_code == 201
        assert up.json()["content_type"] == "image/png" and up.json()["size"] == len(image)
        served = client.get(up.json()["url"])
        assert served.content == image
        assert served.headers["content-type"] == "image/png"
        fake = client.post(
            url, files={"file": ("x.png", b"<svg/>", "image/png")}, data={"uploaded_by": "x"}
        )
        assert fake.status_code == 415
        big = client.post(
            url,
            files={"file": ("b.png", image + b"\0" * 300, "image/png")},
            data={"uploaded_by": "x"},
        )
        assert big.status_code == 413
        assert [p["id"] for p in client.get(url).json()] == [up.json()["id"]]
        assert len(list(tmp_path.rglob("*.png"))) == 1
    finally:
        monkeypatch.delenv("GRIDLINE_DATA_DIR")
        monkeypatch.delenv("GRIDLINE_PHOTO_MAX_BYTES")
        db.get_settings.cache_clear()


def test_history_rows_cannot_be_edited(connection: Connection, client, demo_grids) -> None:
    hazard = report(client, *inside(demo_grids["17"]))
    with (
        pytest.raises(DBAPIError, match="history and cannot be changed"),
        connection.begin_nested(),
    ):
        connection.execute(
            text("UPDATE hazard_event SET note = 'x' WHERE hazard_id = :id"), {"id": hazard["id"]}
        )


def test_two_concurrent_updates_never_both_win(engine: Engine, demo) -> None:
    """Two real sessions move the same hazard with the same If-Match: exactly one wins (the
    demo's A/B roles, committed at load, route it)."""
    with db.transaction(engine) as s:
        grid = s.scalars(
            select(m.Grid.geom)
            .join(m.Community)
            .where(m.Community.code == DEMO, m.Grid.code == "20")
        ).one()
        point = to_shape(grid).representative_point()
        hazard, _ = records.report(
            s,
            records.Report(
                category="blocked_fire_lane",
                severity="high",
                description="消防通道停车",
                lon=point.x,
                lat=point.y,
                origin="patrol",
                reporter="章微琳",
            ),
        )
        hazard_id, tag = hazard.id, records.etag(hazard)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def attempt(actor: str) -> None:
        try:
            with db.transaction(engine) as s:
                barrier.wait()
                records.transition(s, hazard_id, "rectifying", actor, tag)
            outcomes.append("won")
        except Exception as exc:
            outcomes.append(type(exc).__name__)

    try:
        threads = [threading.Thread(target=attempt, args=(a,)) for a in ("甲", "乙")]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert sorted(outcomes) == ["PreconditionFailed", "won"]
        with db.transaction(engine) as s:
            states = s.scalars(
                text(
                    "SELECT to_state FROM hazard_event WHERE hazard_id = :h ORDER BY id"
                ).bindparams(h=hazard_id)
            ).all()
        assert states == ["reported", "dispatched", "rectifying"]
    finally:
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE hazard_event DISABLE TRIGGER hazard_event_is_history"))
            conn.execute(text("DELETE FROM hazard_event WHERE hazard_id = :h"), {"h": hazard_id})
            conn.execute(text("ALTER TABLE hazard_event ENABLE TRIGGER hazard_event_is_history"))
            conn.execute(text("DELETE FROM hazard WHERE id = :h"), {"h": hazard_id})


def test_a_failed_update_rolls_back_its_audit_rows(
    client: TestClient, session: Session, demo_grids: dict
) -> None:
    """State change and event row live in one transaction: a failure later loses both."""
    hazard = report(client, *inside(demo_grids["18"]))
    count = "SELECT count(*) FROM hazard_event WHERE hazard_id = :h"
    before = session.execute(text(count), {"h": hazard["id"]}).scalar()
    with pytest.raises(RuntimeError, match="after the event"), session.begin_nested():
        records.transition(session, hazard["id"], "rectifying", "章微琳", hazard["etag"])
        assert session.execute(text(count), {"h": hazard["id"]}).scalar() == before + 1
        raise RuntimeError("failure after the event row was written")
    session.expire_all()
    assert session.execute(text(count), {"h": hazard["id"]}).scalar() == before
    assert records.load(session, hazard["id"]).state == m.HazardState.DISPATCHED
