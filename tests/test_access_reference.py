"""Who may change reference data (features, workers, A/B roles, topology repairs), where, and
who sees workers' phones: every role, inside and outside its area."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from shapely.geometry import shape

from tests.geojson import LAT, LON, cell, collection, feature, polygon

DEMO = "330303003001"
STREET = "330303003"
FAR = "X-9"
"""District, street (``X-9-S``) and community (``X-9-C``) of another street, at 121.00E 28.50N."""
FAR_COMMUNITY = f"{FAR}-C"
TODAY = dt.date.today().isoformat()
TOMORROW = (dt.date.today() + dt.timedelta(days=1)).isoformat()
WRITERS = ["admin", "street", "office"]
AREA_WRITERS = ["street", "office"]
SIGN_IN = {"detail": "sign in first: POST /token, then send Authorization: Bearer <token>"}
READ_ONLY = {"detail": "account 'viewer' is read-only (viewer)"}
BELOW_COMMUNITY = ["grids", "compounds", "buildings", "roads", "site-features"]
LABELS = {"grids": "code", "compounds": "name", "buildings": "name", "roads": "name"}
WORKER = {
    "name": "章微琳",
    "gender": "female",
    "role": "grid_worker",
    "hire_date": "2020-03-01",
    "phone": "13800000001",
    "left_on": None,
    "community": DEMO,
}

ROLE_KEYS = frozenset(
    ("id", "worker_id", "worker", "grid_id", "grid", "community", "role", "valid_from", "valid_to")
)
"""The keys of an A/B role as listed (no personal data among them)."""

ClientAs = Callable[[str | None], TestClient]


@pytest.fixture
def far(client: TestClient) -> None:
    """A district, street and community outside the demo street (made by the admin)."""
    for layer, body in (
        ("districts", feature(polygon(LON - 0.1, LAT - 0.1, LON + 0.1, LAT + 0.1), code=FAR)),
        (
            "streets",
            feature(
                polygon(LON - 0.05, LAT - 0.05, LON + 0.05, LAT + 0.05),
                code=f"{FAR}-S",
                district=FAR,
            ),
        ),
        (
            "communities",
            feature(
                polygon(LON, LAT, LON + 0.02, LAT + 0.02), code=FAR_COMMUNITY, street=f"{FAR}-S"
            ),
        ),
    ):
        body["properties"]["name"] = body["properties"]["code"]
        assert client.post(f"/{layer}", json=body).status_code == 201


@pytest.fixture
def inside(demo) -> dict[str, Any]:
    """A geometry inside the demo community (its first grid's)."""
    return demo.communities[0].grids[0]["geometry"]


def grid(code: str, geometry: dict, community: str = DEMO) -> dict[str, Any]:
    return feature(geometry, code=code, name=f"网格{code}", community=community)


def created_id(response: Any) -> int:
    assert response.status_code == 201, response.text
    return response.json()["id"]


def outside(role: str, what: str) -> str:
    return f"{what} is outside the area account {role!r} serves"


def rejected(role: str, *named: tuple[int, str, str]) -> dict[str, Any]:
    """The 403 body of features (index, label, parent) outside the area of account ``role``."""
    problems = [
        {"index": i, "label": label, "reason": outside(role, parent)} for i, label, parent in named
    ]
    head = "; ".join(f"feature {p['index']} ({p['label']}): {p['reason']}" for p in problems)
    return {"detail": f"{len(problems)} bad feature(s): {head}", "problems": problems}


def count(client: TestClient, layer: str, community: str) -> int:
    return client.get(f"/{layer}", params={"community": community}).json()["numberMatched"]


# --- reads ---------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["street", "office", "leader", "worker", "viewer"])
def test_reference_reads_are_open_to_every_account(
    client: TestClient, client_as: ClientAs, demo_grids: dict, role: str
) -> None:
    grid_id = demo_grids["01"]["id"]
    paths = [
        f"/grids/{grid_id}",
        f"/grids?community={DEMO}",
        "/communities",
        f"/assignments?community={DEMO}",
        f"/communities/{DEMO}/topology",
        f"/communities/{DEMO}/topology/repair",
        f"/communities/{DEMO}/coverage",
    ]
    reader = client_as(role)
    for path in paths:
        response = reader.get(path)
        assert response.status_code == 200, path
        assert response.json() == client.get(path).json(), path


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/grids/1"),
        ("POST", "/grids"),
        ("PUT", "/grids/1"),
        ("DELETE", "/grids/1"),
        ("POST", "/grids/import"),
        ("GET", "/workers"),
        ("POST", "/workers"),
        ("DELETE", "/workers/1"),
        ("POST", "/assignments"),
        ("POST", "/assignments/1/end"),
        ("POST", f"/communities/{DEMO}/assignment-plan"),
        ("POST", f"/communities/{DEMO}/assignment-plan/apply"),
        ("POST", f"/communities/{DEMO}/topology/repair"),
        ("GET", "/locate?lon=120.72&lat=27.97"),
    ],
)
def test_anonymous_is_401(client_as: ClientAs, method: str, path: str) -> None:
    response = client_as(None).request(method, path, json={})
    assert response.status_code == 401
    assert response.json() == SIGN_IN


# --- features: who may write which layer ---------------------------------------------------


@pytest.mark.parametrize(
    ("role", "layer", "detail"),
    [
        ("leader", "grids", "a leader account may not change grids (only: admin, street, office)"),
        (
            "worker",
            "buildings",
            "a worker account may not change buildings (only: admin, street, office)",
        ),
        ("viewer", "roads", READ_ONLY["detail"]),
        (
            "office",
            "communities",
            "an office account may not change communities (only: admin, street)",
        ),
        ("office", "streets", "an office account may not change streets (only: admin)"),
        ("street", "streets", "a street account may not change streets (only: admin)"),
        ("street", "districts", "a street account may not change districts (only: admin)"),
    ],
)
def test_layer_writes_refused_by_role(
    client_as: ClientAs, role: str, layer: str, detail: str
) -> None:
    """Refused before the body is even read (``{}`` would be a 422), whatever the id."""
    writer = client_as(role)
    for method, path in (
        ("POST", f"/{layer}"),
        ("POST", f"/{layer}/import"),
        ("PUT", f"/{layer}/1"),
        ("DELETE", f"/{layer}/1"),
    ):
        response = writer.request(method, path, json={})
        assert (response.status_code, response.json()) == (403, {"detail": detail}), path


@pytest.mark.parametrize("role", WRITERS)
@pytest.mark.parametrize("layer", BELOW_COMMUNITY)
def test_layers_below_community_written_inside_the_area(
    client: TestClient, client_as: ClientAs, role: str, layer: str
) -> None:
    source = client.get(f"/{layer}", params={"community": DEMO, "limit": 1}).json()["features"][0]
    label = LABELS.get(layer, "name")
    copy = {**source, "properties": {**source["properties"], label: "T1"}}
    writer = client_as(role)

    created = writer.post(f"/{layer}", json=copy)
    new_id = created_id(created)
    expected = {**copy, "id": new_id, "properties": {**copy["properties"], "id": new_id}}
    if layer == "grids":
        expected["properties"]["valid_from"] = TODAY
    assert created.json() == expected

    renamed = {**copy, "properties": {**copy["properties"], label: "T2"}}
    replaced = writer.put(f"/{layer}/{new_id}", json=renamed)
    assert replaced.status_code == 200
    assert replaced.json()["properties"][label] == "T2"
    assert writer.delete(f"/{layer}/{new_id}").status_code == 204
    gone = writer.delete(f"/{layer}/{new_id}")
    assert (gone.status_code, gone.json()) == (404, {"detail": f"{layer} {new_id} not found"})


def test_street_writes_communities_of_its_street(
    client_as: ClientAs, far: None, inside: dict
) -> None:
    street = client_as("street")
    body = feature(inside, code="T-C2", name="新社区", street=STREET)
    community_id = created_id(street.post("/communities", json=body))
    # the new community is in the street's area at once: its grids too
    created_id(street.post("/grids", json=grid("T1", inside, community="T-C2")))
    renamed = {**body, "properties": {**body["properties"], "name": "改名社区"}}
    assert street.put(f"/communities/{community_id}", json=renamed).json()["properties"] == {
        "id": community_id,
        "code": "T-C2",
        "name": "改名社区",
        "street": STREET,
        "office": None,
    }
    moved = {**body, "properties": {**body["properties"], "street": f"{FAR}-S"}}
    response = street.put(f"/communities/{community_id}", json=moved)
    assert response.status_code == 403
    assert response.json() == rejected("street", (0, "T-C2", f"street '{FAR}-S'"))

    away = feature(
        polygon(LON, LAT, LON + 0.01, LAT + 0.01), code="T-C3", name="远", street=f"{FAR}-S"
    )
    response = street.post("/communities", json=away)
    assert response.status_code == 403
    assert response.json() == rejected("street", (0, "T-C3", f"street '{FAR}-S'"))


@pytest.mark.parametrize("role", AREA_WRITERS)
def test_features_outside_the_area(
    client: TestClient, client_as: ClientAs, far: None, inside: dict, role: str
) -> None:
    writer = client_as(role)
    far_grid = client.post("/grids", json=grid("E1", cell(0, 0), FAR_COMMUNITY)).json()
    far_id = far_grid["id"]

    response = writer.post("/grids", json=grid("E2", cell(1, 0), FAR_COMMUNITY))
    assert response.status_code == 403
    assert response.json() == rejected(role, (0, "E2", f"community '{FAR_COMMUNITY}'"))
    assert count(client, "grids", FAR_COMMUNITY) == 1

    # an existing feature outside the area is missing: the same 404 as an unknown id
    missing = {"detail": f"grids {far_id} not found"}
    for method in ("PUT", "DELETE"):
        response = writer.request(method, f"/grids/{far_id}", json=grid("E1", cell(0, 0)))
        assert (response.status_code, response.json()) == (404, missing)
    assert client.get(f"/grids/{far_id}").json() == far_grid

    compound = feature(
        cell(2, 2), name="远方小区", has_property_management=True, community=FAR_COMMUNITY
    )
    compound_id = created_id(client.post("/compounds", json=compound))
    while_there = writer.put(f"/compounds/{compound_id}", json=compound)
    assert client.delete(f"/compounds/{compound_id}").status_code == 204
    once_gone = writer.put(f"/compounds/{compound_id}", json=compound)
    assert (while_there.status_code, while_there.json()) == (
        once_gone.status_code,
        once_gone.json(),
    )
    assert once_gone.status_code == 404

    # a feature of the area may not be moved out of it
    own = client.post("/grids", json=grid("T1", inside)).json()
    response = writer.put(f"/grids/{own['id']}", json=grid("T1", cell(0, 1), FAR_COMMUNITY))
    assert response.status_code == 403
    assert response.json() == rejected(role, (0, "T1", f"community '{FAR_COMMUNITY}'"))
    assert client.get(f"/grids/{own['id']}").json() == own


@pytest.mark.parametrize("role", AREA_WRITERS)
def test_import_with_a_feature_outside_the_area_writes_nothing(
    client: TestClient, client_as: ClientAs, far: None, demo, role: str
) -> None:
    geometries = [g["geometry"] for g in demo.communities[0].grids[:2]]
    ours = [grid(f"T{i}", g) for i, g in enumerate(geometries)]
    theirs = [grid("E1", cell(0, 0), FAR_COMMUNITY), grid("E2", cell(1, 0), FAR_COMMUNITY)]
    before = count(client, "grids", DEMO)
    writer = client_as(role)

    response = writer.post("/grids/import", json=collection(ours[0], theirs[0], ours[1], theirs[1]))
    assert response.status_code == 403
    assert response.json() == rejected(
        role,
        (1, "E1", f"community '{FAR_COMMUNITY}'"),
        (3, "E2", f"community '{FAR_COMMUNITY}'"),
    )
    assert (count(client, "grids", DEMO), count(client, "grids", FAR_COMMUNITY)) == (before, 0)

    by_parent = writer.post(
        "/grids/import",
        params={"community": FAR_COMMUNITY},
        json=collection(feature(cell(0, 0), code="E3", name="E3")),
    )
    assert by_parent.status_code == 403
    assert by_parent.json() == rejected(role, (0, "E3", f"community '{FAR_COMMUNITY}'"))

    response = writer.post("/grids/import", json=collection(*ours))
    assert response.status_code == 201
    assert response.json()["imported"] == 2
    assert count(client, "grids", DEMO) == before + 2


def test_admin_imports_anywhere(client: TestClient, far: None, inside: dict) -> None:
    response = client.post(
        "/grids/import",
        json=collection(grid("T1", inside), grid("E1", cell(0, 0), FAR_COMMUNITY)),
    )
    assert response.status_code == 201
    assert response.json()["imported"] == 2


# --- workers -------------------------------------------------------------------------------


def test_worker_phones_hidden_from_viewers_only(client: TestClient, client_as: ClientAs) -> None:
    every = client.get("/workers").json()
    assert len(every) == 25 and all(w["phone"] for w in every)
    assert client_as("viewer").get("/workers").json() == [{**w, "phone": None} for w in every]
    for role in ("street", "office", "leader", "worker"):
        assert client_as(role).get("/workers").json() == every, role
    one = every[0]
    assert client_as("viewer").get(f"/workers/{one['id']}").json() == {**one, "phone": None}
    assert client_as("office").get(f"/workers/{one['id']}").json() == one


@pytest.mark.parametrize(
    ("role", "body"),
    [
        (
            "leader",
            {"detail": "a leader account may not change workers (only: admin, street, office)"},
        ),
        (
            "worker",
            {"detail": "a worker account may not change workers (only: admin, street, office)"},
        ),
        ("viewer", READ_ONLY),
    ],
)
def test_worker_writes_refused_by_role(client_as: ClientAs, role: str, body: dict) -> None:
    writer = client_as(role)
    for method, path in (("POST", "/workers"), ("PUT", "/workers/1"), ("DELETE", "/workers/1")):
        response = writer.request(method, path, json={})
        assert (response.status_code, response.json()) == (403, body), path


@pytest.mark.parametrize("role", WRITERS)
def test_worker_writes_inside_the_area(client_as: ClientAs, role: str) -> None:
    writer = client_as(role)
    created = writer.post("/workers", json=WORKER)
    worker_id = created_id(created)
    assert created.json() == {"id": worker_id, **WORKER}
    replaced = writer.put(f"/workers/{worker_id}", json={**WORKER, "role": "grid_leader"})
    assert replaced.json() == {"id": worker_id, **WORKER, "role": "grid_leader"}
    assert writer.delete(f"/workers/{worker_id}").status_code == 204


def test_admin_writes_workers_anywhere(client: TestClient, far: None) -> None:
    for community in (FAR_COMMUNITY, None):
        created = client.post("/workers", json={**WORKER, "community": community})
        assert created.json() == {"id": created_id(created), **WORKER, "community": community}


@pytest.mark.parametrize("role", AREA_WRITERS)
def test_worker_writes_outside_the_area(
    client: TestClient, client_as: ClientAs, far: None, role: str
) -> None:
    writer = client_as(role)
    for community, what in (
        (FAR_COMMUNITY, f"community '{FAR_COMMUNITY}'"),
        (None, "a worker of no community"),
    ):
        response = writer.post("/workers", json={**WORKER, "community": community})
        assert (response.status_code, response.json()) == (403, {"detail": outside(role, what)})
    assert client.get("/workers", params={"community": FAR_COMMUNITY}).json() == []

    far_worker = client.post("/workers", json={**WORKER, "community": FAR_COMMUNITY}).json()
    path = f"/workers/{far_worker['id']}"
    while_there = [writer.put(path, json=WORKER), writer.delete(path)]
    assert client.get(path).json() == far_worker
    assert client.delete(path).status_code == 204
    once_gone = [writer.put(path, json=WORKER), writer.delete(path)]
    missing = (404, {"detail": f"worker {far_worker['id']} not found"})
    assert [(r.status_code, r.json()) for r in while_there + once_gone] == [missing] * 4

    own_id = created_id(writer.post("/workers", json=WORKER))
    moved = writer.put(f"/workers/{own_id}", json={**WORKER, "community": FAR_COMMUNITY})
    assert moved.status_code == 403
    assert moved.json() == {"detail": outside(role, f"community '{FAR_COMMUNITY}'")}
    assert client.get(f"/workers/{own_id}").json() == {"id": own_id, **WORKER}


# --- A/B roles and plans -------------------------------------------------------------------


@pytest.fixture
def newcomer(client: TestClient, inside: dict) -> dict[str, int]:
    """A new grid T1 (no roles yet) and a new grid worker of the demo community."""
    return {
        "grid": created_id(client.post("/grids", json=grid("T1", inside))),
        "worker": created_id(client.post("/workers", json={**WORKER, "phone": None})),
    }


@pytest.mark.parametrize("role", ["leader", "worker", "viewer"])
def test_assignment_writes_refused_by_role(client_as: ClientAs, role: str) -> None:
    writer = client_as(role)
    refused = {
        "detail": f"a {role} account may not change assignments (only: admin, street, office)"
    }
    if role == "viewer":
        refused = READ_ONLY
    for path in (
        "/assignments",
        "/assignments/1/end",
        f"/communities/{DEMO}/assignment-plan/apply",
    ):
        response = writer.post(path, json={})
        assert (response.status_code, response.json()) == (403, refused), path


@pytest.mark.parametrize("role", ["admin", "street", "office", "leader"])
def test_plan_proposal_open_to_leaders_too(
    client: TestClient, client_as: ClientAs, role: str
) -> None:
    path = f"/communities/{DEMO}/assignment-plan"
    response = client_as(role).post(path)
    assert response.status_code == 200
    expected = client.post(path).json()
    proposal = response.json()
    proposal["metrics"]["seconds"] = expected["metrics"]["seconds"]  # the solver's own time
    assert proposal == expected


@pytest.mark.parametrize(
    ("role", "body"),
    [
        (
            "worker",
            {
                "detail": "a worker account may not ask for assignment plans"
                " (only: admin, street, office, leader)"
            },
        ),
        ("viewer", READ_ONLY),
    ],
)
def test_plan_proposal_refused_by_role(client_as: ClientAs, role: str, body: dict) -> None:
    response = client_as(role).post(f"/communities/{DEMO}/assignment-plan")
    assert (response.status_code, response.json()) == (403, body)


@pytest.mark.parametrize("role", WRITERS)
def test_assignment_writes_inside_the_area(
    client: TestClient, client_as: ClientAs, newcomer: dict[str, int], role: str
) -> None:
    writer = client_as(role)
    today = client.get("/assignments", params={"community": DEMO, "on": TODAY}).json()
    roles = [{k: r[k] for k in ("worker_id", "grid_id", "role")} for r in today]
    applied = writer.post(f"/communities/{DEMO}/assignment-plan/apply", json={"roles": roles})
    assert applied.json() == {"community": DEMO, "added": [], "ended": []}

    body = {"worker_id": newcomer["worker"], "grid_id": newcomer["grid"], "role": "A"}
    created = writer.post("/assignments", json=body)
    assignment_id = created_id(created)
    expected = {
        "id": assignment_id,
        **body,
        "worker": WORKER["name"],
        "grid": "T1",
        "community": DEMO,
        "valid_from": TODAY,
        "valid_to": None,
    }
    assert created.json() == expected
    ended = writer.post(f"/assignments/{assignment_id}/end", json={"valid_to": TOMORROW})
    assert ended.json() == {**expected, "valid_to": TOMORROW}


@pytest.mark.parametrize("role", AREA_WRITERS)
def test_assignment_writes_outside_the_area(
    client: TestClient, client_as: ClientAs, far: None, newcomer: dict[str, int], role: str
) -> None:
    far_grid = created_id(client.post("/grids", json=grid("E1", cell(0, 0), FAR_COMMUNITY)))
    far_worker = created_id(client.post("/workers", json={**WORKER, "community": FAR_COMMUNITY}))
    far_role = client.post(
        "/assignments", json={"worker_id": far_worker, "grid_id": far_grid, "role": "A"}
    ).json()
    writer = client_as(role)

    def refused(worker_id: int, grid_id: int) -> tuple[int, dict]:
        body = {"worker_id": worker_id, "grid_id": grid_id, "role": "B"}
        response = writer.post("/assignments", json=body)
        return response.status_code, response.json()

    assert refused(far_worker, far_grid) == (404, {"detail": f"grid {far_grid} not found"})
    assert refused(newcomer["worker"], far_grid) == (404, {"detail": f"grid {far_grid} not found"})
    assert refused(far_worker, newcomer["grid"]) == (
        404,
        {"detail": f"worker {far_worker} not found"},
    )
    assert refused(far_worker, 999999) == (404, {"detail": "grid 999999 not found"})

    for assignment_id in (far_role["id"], 999999):
        response = writer.post(f"/assignments/{assignment_id}/end")
        assert (response.status_code, response.json()) == (
            404,
            {"detail": f"assignment {assignment_id} not found"},
        )
    assert client.get(f"/assignments/{far_role['id']}").json() == far_role

    for code in (FAR_COMMUNITY, "NO-SUCH"):
        response = writer.post(f"/communities/{code}/assignment-plan/apply")
        assert (response.status_code, response.json()) == (
            404,
            {"detail": f"community {code!r} not found"},
        )


def test_assignment_listings_carry_no_personal_data(
    client: TestClient, client_as: ClientAs
) -> None:
    listed = client.get("/assignments", params={"community": DEMO, "on": TODAY}).json()
    assert listed and {frozenset(r) for r in listed} == {ROLE_KEYS}
    viewer = client_as("viewer")
    assert viewer.get("/assignments", params={"community": DEMO, "on": TODAY}).json() == listed
    assert viewer.get(f"/assignments/{listed[0]['id']}").json() == listed[0]


# --- topology repair -----------------------------------------------------------------------


@pytest.mark.parametrize("role", ["leader", "worker", "viewer"])
def test_topology_repair_refused_by_role(client_as: ClientAs, role: str) -> None:
    response = client_as(role).post(f"/communities/{DEMO}/topology/repair")
    refused = {"detail": f"a {role} account may not repair topology (only: admin, street, office)"}
    assert (response.status_code, response.json()) == (
        403,
        READ_ONLY if role == "viewer" else refused,
    )


@pytest.mark.parametrize("role", AREA_WRITERS)
def test_topology_repair_inside_and_outside_the_area(
    client: TestClient, client_as: ClientAs, far: None, role: str
) -> None:
    writer = client_as(role)
    response = writer.post(f"/communities/{DEMO}/topology/repair")
    assert response.status_code == 200
    assert response.json() == client.post(f"/communities/{DEMO}/topology/repair").json()
    assert response.json()["applied"] is True and response.json()["changes"] == []
    for code in (FAR_COMMUNITY, "NO-SUCH"):
        response = writer.post(f"/communities/{code}/topology/repair")
        assert (response.status_code, response.json()) == (
            404,
            {"detail": f"community {code!r} not found"},
        )


# --- locate --------------------------------------------------------------------------------


def test_locate_hides_the_responsible_phones_from_viewers_only(
    client: TestClient, client_as: ClientAs, demo_grids: dict
) -> None:
    point = shape(demo_grids["01"]["geometry"]).representative_point()
    params = {"lon": point.x, "lat": point.y}
    answer = client.get("/locate", params=params).json()
    people = [answer["responsible"]["a"], *answer["responsible"]["b"]]
    assert len(people) >= 2 and all(p["phone"] for p in people)

    masked = client_as("viewer").get("/locate", params=params).json()
    assert masked == {
        **answer,
        "responsible": {
            "a": {**answer["responsible"]["a"], "phone": None},
            "b": [{**p, "phone": None} for p in answer["responsible"]["b"]],
        },
    }
    for role in ("street", "office", "leader", "worker"):
        assert client_as(role).get("/locate", params=params).json() == answer, role
