"""A/B roles on grids: adjacency, manual assignment rules, history, coverage, locate."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from shapely.geometry import shape
from sqlalchemy import Connection, text
from sqlalchemy.exc import IntegrityError

from geo import db
from geo.crs import LocalProjection

DEMO = "330303003001"


@pytest.fixture
def ids(client: TestClient, connection: Connection) -> dict:
    """Grid ids by code and grid-worker ids by name of the demo community, whose A/B roles
    (applied when the demo is loaded) are removed for these tests, which start from none."""
    connection.execute(text("DELETE FROM assignment"))
    grids = client.get("/grids", params={"community": DEMO, "limit": 100}).json()["features"]
    workers = client.get("/workers", params={"community": DEMO}).json()
    return {
        "grid": {f["properties"]["code"]: f["id"] for f in grids},
        "geom": {f["properties"]["code"]: shape(f["geometry"]) for f in grids},
        "worker": [w["id"] for w in workers if w["role"] == "grid_worker"],
    }


def adjacency(client: TestClient) -> list[dict]:
    return client.get(f"/communities/{DEMO}/adjacency").json()


def test_adjacency_is_shared_edges_with_their_length(client: TestClient, ids: dict) -> None:
    pairs = adjacency(client)
    geoms = ids["geom"]
    projection = LocalProjection.for_geometry(geoms["01"])
    expected = {}
    for a in geoms:
        for b in geoms:
            if a < b:
                shared = geoms[a].boundary.intersection(geoms[b].boundary)
                length = projection.to_metric(shared).length
                if length > 0.01:
                    expected[(a, b)] = length
    assert {(p["a_code"], p["b_code"]) for p in pairs} == set(expected)
    for p in pairs:
        assert abs(p["shared_m"] - expected[(p["a_code"], p["b_code"])]) < 0.5
    corner_only = [
        (a, b)
        for a in geoms
        for b in geoms
        if a < b and geoms[a].touches(geoms[b]) and (a, b) not in expected
    ]
    assert corner_only, "the demo has grids meeting only at a corner"
    assert client.get("/communities/nope/adjacency").status_code == 404


def neighbour_pair(client: TestClient) -> tuple[str, str, str]:
    """Two adjacent grid codes and one grid adjacent to neither."""
    pairs = adjacency(client)
    a, b = pairs[0]["a_code"], pairs[0]["b_code"]
    touching = {p["a_code"] for p in pairs if b in (p["b_code"],)} | {
        p["b_code"] for p in pairs if p["a_code"] == b
    }
    far = next(code for code in (f"{i:02d}" for i in range(1, 22)) if code not in touching | {a, b})
    return a, b, far


def post(client: TestClient, worker: int, grid: int, role: str, **extra) -> dict:
    response = client.post(
        "/assignments", json={"worker_id": worker, "grid_id": grid, "role": role, **extra}
    )
    return {"status": response.status_code, **response.json()}


def test_manual_assignment_rules(client: TestClient, ids: dict) -> None:
    a, b, far = neighbour_pair(client)
    w1, w2, w3 = ids["worker"][:3]
    grid = ids["grid"]
    first = post(client, w1, grid[a], "A")
    assert first["status"] == 201
    assert (first["grid"], first["role"], first["valid_to"]) == (a, "A", None)
    second_a = post(client, w2, grid[a], "A")
    assert second_a["status"] == 409
    assert second_a["detail"].startswith(f"grid {a} already has A worker ")
    twice = post(client, w1, grid[b], "A")
    assert twice["status"] == 409
    assert twice["detail"].endswith(
        f"is already A of grid {a}; a worker is A of one grid at a time "
        "(set GRIDLINE_ALLOW_MULTIPLE_A to allow more)"
    )
    own_b = post(client, w1, grid[a], "B")
    assert own_b["status"] == 409
    assert (
        own_b["detail"].endswith(f"is already A of grid {a}")
        or "cannot also be its B" in (own_b["detail"])
    )
    nobody = post(client, w3, grid[b], "B")
    assert nobody["status"] == 409
    assert nobody["detail"].startswith("a B worker must be the A worker of an adjacent grid;")
    assert post(client, w2, grid[b], "A")["status"] == 201
    assert post(client, w1, grid[b], "B")["status"] == 201  # A of a, which touches b
    assert post(client, w3, grid[far], "A")["status"] == 201
    not_adjacent = post(client, w3, grid[a], "B")
    assert not_adjacent["status"] == 409
    assert f"is A of {far}, not adjacent" in not_adjacent["detail"]
    assert post(client, 999999, grid[a], "B")["status"] == 404
    assert (
        client.post(
            "/assignments", json={"worker_id": w1, "grid_id": grid[a], "role": "C"}
        ).status_code
        == 422
    )


def test_allow_multiple_a_setting(
    client: TestClient, ids: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b, _ = neighbour_pair(client)
    w1 = ids["worker"][0]
    assert post(client, w1, ids["grid"][a], "A")["status"] == 201
    monkeypatch.setenv("GRIDLINE_ALLOW_MULTIPLE_A", "true")
    db.get_settings.cache_clear()
    try:
        assert post(client, w1, ids["grid"][b], "A")["status"] == 201
    finally:
        monkeypatch.delenv("GRIDLINE_ALLOW_MULTIPLE_A")
        db.get_settings.cache_clear()


def test_history_by_date_and_period(client: TestClient, ids: dict) -> None:
    a, _, far = neighbour_pair(client)
    w1, w2 = ids["worker"][:2]
    grid = ids["grid"]
    first = post(client, w1, grid[a], "A", valid_from="2026-01-01")
    ended = client.post(f"/assignments/{first['id']}/end", json={"valid_to": "2026-03-10"})
    assert ended.status_code == 200
    assert ended.json()["valid_to"] == "2026-03-10"
    assert post(client, w2, grid[a], "A", valid_from="2026-03-10")["status"] == 201
    assert post(client, w1, grid[far], "A", valid_from="2026-03-20")["status"] == 201

    def who(day: str) -> list[str]:
        rows = client.get("/assignments", params={"grid_id": grid[a], "on": day}).json()
        return [(r["worker_id"], r["role"]) for r in rows]

    assert who("2025-12-31") == []
    assert who("2026-03-09") == [(w1, "A")]
    assert who("2026-03-10") == [(w2, "A")]
    march = client.get(
        "/assignments", params={"worker_id": w1, "from": "2026-03-01", "to": "2026-03-31"}
    ).json()
    assert sorted((r["grid"], r["valid_from"], r["valid_to"]) for r in march) == sorted(
        [(a, "2026-01-01", "2026-03-10"), (far, "2026-03-20", None)]
    )
    april = client.get(
        "/assignments", params={"worker_id": w1, "from": "2026-04-01", "to": "2026-04-30"}
    ).json()
    assert [r["grid"] for r in april] == [far]
    bad_end = client.post(f"/assignments/{first['id']}/end", json={"valid_to": "2025-01-01"})
    assert bad_end.status_code == 409
    assert bad_end.json() == {"detail": f"assignment {first['id']} already ended on 2026-03-10"}


def test_the_database_refuses_two_a_workers_on_one_day(connection: Connection, ids: dict) -> None:
    grid = ids["grid"]["01"]
    w1, w2 = ids["worker"][:2]
    connection.execute(
        text(
            "INSERT INTO assignment (worker_id, grid_id, role, valid_from)"
            " VALUES (:w, :g, 'A', '2026-01-01')"
        ),
        {"w": w1, "g": grid},
    )
    with (
        pytest.raises(IntegrityError, match="ex_assignment_one_a_per_grid"),
        connection.begin_nested(),
    ):
        connection.execute(
            text(
                "INSERT INTO assignment (worker_id, grid_id, role, valid_from, valid_to)"
                " VALUES (:w, :g, 'A', '2025-06-01', '2026-01-02')"
            ),
            {"w": w2, "g": grid},
        )


def test_plan_apply_coverage_and_locate(client: TestClient, ids: dict) -> None:
    before = client.get(f"/communities/{DEMO}/coverage").json()
    assert len(before["grids_without_a"]) == 21
    assert len(before["workers_without_grid"]) == 21
    proposal = client.post(f"/communities/{DEMO}/assignment-plan").json()
    assert sum(r["role"] == "A" for r in proposal["roles"]) == 21
    assert sum(r["role"] == "B" for r in proposal["roles"]) == 21
    assert (
        client.get(f"/communities/{DEMO}/coverage").json()["grids_without_a"]
        == before["grids_without_a"]
    )  # a proposal writes nothing
    applied = client.post(
        f"/communities/{DEMO}/assignment-plan/apply", json={"roles": proposal["roles"]}
    )
    assert applied.status_code == 200
    assert len(applied.json()["added"]) == 42 and applied.json()["ended"] == []
    after = client.get(f"/communities/{DEMO}/coverage").json()
    assert (after["grids_without_a"], after["grids_without_b"]) == ([], [])
    assert after["workers_without_grid"] == []
    assert len(after["pairs"]) == 21
    assert after["max_load"] >= after["mean_load"] > 0

    inside = ids["geom"]["07"].representative_point()
    found = client.get("/locate", params={"lon": inside.x, "lat": inside.y}).json()
    a_role = next(r for r in proposal["roles"] if r["grid"] == "07" and r["role"] == "A")
    b_role = next(r for r in proposal["roles"] if r["grid"] == "07" and r["role"] == "B")
    assert found["responsible"]["a"]["id"] == a_role["worker_id"]
    assert found["responsible"]["a"]["name"] == a_role["worker"]
    assert [p["id"] for p in found["responsible"]["b"]] == [b_role["worker_id"]]

    again = client.post(f"/communities/{DEMO}/assignment-plan/apply").json()
    assert again["added"] == [] and again["ended"] == []


def test_worker_leaving_ends_roles_and_replanning_changes_little(
    client: TestClient, ids: dict
) -> None:
    client.post(f"/communities/{DEMO}/assignment-plan/apply")
    roles = client.get("/assignments", params={"community": DEMO, "on": dt.date.today()}).json()
    leaver = roles[0]["worker_id"]
    home = next(r["grid"] for r in roles if r["worker_id"] == leaver and r["role"] == "A")
    worker = client.get(f"/workers/{leaver}").json()
    body = {k: worker[k] for k in ("name", "gender", "role", "hire_date", "phone", "community")}
    today = dt.date.today().isoformat()
    assert client.put(f"/workers/{leaver}", json={**body, "left_on": today}).status_code == 200
    gap = client.get(f"/communities/{DEMO}/coverage").json()
    assert gap["grids_without_a"] == [home]
    proposal = client.post(f"/communities/{DEMO}/assignment-plan").json()
    changed_grids = {c["grid"] for c in proposal["changes"]}
    pointed_at_leaver = {r["grid"] for r in roles if r["worker_id"] == leaver and r["role"] == "B"}
    assert changed_grids <= {home} | pointed_at_leaver  # only what the departure forces
    assert {c["grid"] for c in proposal["changes"] if c["role"] == "A"} == {home}
    applied = client.post(
        f"/communities/{DEMO}/assignment-plan/apply", json={"roles": proposal["roles"]}
    ).json()
    assert {ids["grid"][home]} >= {r["grid_id"] for r in applied["ended"]}
    covered = client.get(f"/communities/{DEMO}/coverage").json()
    assert (covered["grids_without_a"], covered["grids_without_b"]) == ([], [])


def test_grid_load_counts_households_buildings_and_open_hazards(
    client: TestClient,
    session,
    ids: dict,
) -> None:
    from geo.planning import community_id, grid_loads

    community = community_id(session, DEMO)
    before = grid_loads(session, community)
    grid = ids["grid"]["07"]
    households, buildings = session.execute(
        text(
            "SELECT g.households, (SELECT count(*) FROM building b"
            " WHERE ST_Covers(g.geom, ST_PointOnSurface(b.geom))) FROM grid g WHERE g.id = :g"
        ),
        {"g": grid},
    ).one()
    assert before[grid] == households + 5.0 * buildings
    p = ids["geom"]["07"].representative_point()
    for _ in range(2):
        client.post(
            "/hazards",
            json={
                "category": "sanitation",
                "severity": "low",
                "description": "垃圾堆放",
                "lon": p.x,
                "lat": p.y,
                "origin": "patrol",
                "reporter": "x",
            },
        )
    assert grid_loads(session, community)[grid] == before[grid] + 2 * 20.0
