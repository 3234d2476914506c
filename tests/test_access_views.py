"""Who may read and change patrols, village days, parking layouts, OGC API hazards and hazard
tiles: every demo role, accounts of another street and community, a worker account holding no
grid, and no account at all. Outside its scope an account gets exactly what a missing id gets."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import mapbox_vector_tile
import pytest
from fastapi.testclient import TestClient
from geoalchemy2.shape import from_shape
from httpx import Response
from shapely.geometry import MultiPolygon, box
from sqlalchemy import Select, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from geo import accounts, db
from geo import models as m
from tests.test_hazards import DEMO, inside, report
from tests.test_ogc import tile_of
from tests.test_patrol_tracks import LINE, gpx, walk

ClientAs = Callable[[str | None], TestClient]

TODAY = dt.date.today()
DEMO_ROLES = ("admin", "street", "office", "leader", "worker", "viewer")
OUTSIDERS = ("street2", "office2", "leader2", "idle")
"""Accounts that none of the demo community's hazards, patrols or compounds belong to."""
EVERYONE = DEMO_ROLES + OUTSIDERS
OTHER_STREET, OTHER_COMMUNITY = "330303099", "330303099001"
PASSWORD = "outside-the-demo-area"
MISSING = 999999
PLAN = {"date": TODAY.isoformat(), "include_b": False, "time_limit_s": 0.1}
VILLAGE_DAY = {"community": DEMO, "date": TODAY.isoformat(), "teams": 2, "time_limit_s": 0.2}
WORLD = [-180.0, -85.05, 180.0, 85.05]
READ_ONLY = "account 'viewer' is read-only (viewer)"
WRITERS = "admin, street, office"
"""Who may change parking layouts."""
SIGN_IN = {"detail": "sign in first: POST /token, then send Authorization: Bearer <token>"}


@pytest.fixture
def outsiders(session: Session) -> None:
    """A second street with one community, their street, office and leader accounts, and a
    worker account (``idle``) for a worker who holds no grid today."""
    settings = db.get_settings()
    district = session.scalar(select(m.District.id))
    area = from_shape(MultiPolygon([box(121.5, 28.5, 121.51, 28.51)]), srid=4326)
    street = m.Street(code=OTHER_STREET, name="外街道", district_id=district, geom=area)
    session.add(street)
    session.flush()
    session.add(m.Community(code=OTHER_COMMUNITY, name="外社区", street_id=street.id, geom=area))
    session.flush()
    accounts.create(
        session, settings, "street2", PASSWORD, m.AccountRole.STREET, street=OTHER_STREET
    )
    for name, role in (("office2", m.AccountRole.OFFICE), ("leader2", m.AccountRole.LEADER)):
        accounts.create(session, settings, name, PASSWORD, role, community=OTHER_COMMUNITY)
    idle = session.scalar(
        select(m.Worker.id).where(m.Worker.id.not_in(_holding(m.Assignment.worker_id)))
    )
    accounts.create(session, settings, "idle", PASSWORD, m.AccountRole.WORKER, worker_id=idle)


def _holding(column: InstrumentedAttribute[int]) -> Select[tuple[int]]:
    """``column`` of today's A/B assignments."""
    return select(column).where(
        m.Assignment.valid_from <= TODAY,
        or_(m.Assignment.valid_to.is_(None), m.Assignment.valid_to > TODAY),
    )


def own_worker(client_as: ClientAs) -> int:
    return client_as("worker").get("/me").json()["worker_id"]


def other_worker(session: Session, own: int) -> int:
    """A worker other than ``own`` who is A of a grid today."""
    a_workers = _holding(m.Assignment.worker_id).where(m.Assignment.role == m.AssignmentRole.A)
    return session.scalar(
        select(m.Worker.id).where(m.Worker.id.in_(a_workers), m.Worker.id != own).limit(1)
    )


def assert_hidden(
    response: Response, missing: Response, key: object, absent: object = MISSING
) -> None:
    """``response`` (about ``key``) is byte for byte the 404 of ``missing`` (about ``absent``)."""
    assert missing.status_code == 404, missing.text
    assert response.status_code == 404, response.text[:300]
    assert response.headers["content-type"] == missing.headers["content-type"]
    assert response.content == missing.content.replace(str(absent).encode(), str(key).encode())


def assert_refused(response: Response, role: str, allowed: str) -> None:
    """403 for a role that may never do this (the viewer: no write at all)."""
    assert response.status_code == 403, response.text
    assert response.json()["detail"] == (
        READ_ONLY if role == "viewer" else f"a {role} account may not do this (only: {allowed})"
    )


# --- OGC API Features and vector tiles --------------------------------------------------------


def split_grids(client: TestClient, client_as: ClientAs) -> tuple[dict, dict]:
    """A demo grid the demo worker holds today and one it does not."""
    held = client_as("worker").get("/me").json()["scope"]["grids"]
    grids = client.get("/grids", params={"community": DEMO, "limit": 100}).json()["features"]
    mine = next(g for g in grids if g["properties"]["code"] in held)
    other = next(g for g in grids if g["properties"]["code"] not in held)
    return mine, other


def by_account(whole: list[int], workers: list[int]) -> dict[str, list[int]]:
    """What each account sees of some demo records: ``whole`` (the demo accounts of the whole
    community or everywhere), ``workers`` (the demo worker), nothing (the outsiders)."""
    everywhere = ("admin", "street", "office", "leader", "viewer")
    return {**{n: whole for n in everywhere}, "worker": workers, **{n: [] for n in OUTSIDERS}}


def test_ogc_hazards_are_limited_to_the_scope_and_other_collections_open(
    client: TestClient, client_as: ClientAs, outsiders: None
) -> None:
    mine, other = split_grids(client, client_as)
    h_in, h_out = (report(client, *inside(g)) for g in (mine, other))
    assert h_in["status"] == h_out["status"] == 201
    seen = by_account([h_in["id"], h_out["id"]], [h_in["id"]])
    grids = client.get("/ogc/collections/grids/items").json()
    assert grids["numberMatched"] == 21
    for name in EVERYONE:
        account = client_as(name)
        page = account.get("/ogc/collections/hazards/items").json()
        assert [f["id"] for f in page["features"]] == seen[name], name
        assert (page["numberMatched"], page["numberReturned"]) == (len(seen[name]),) * 2
        missing = account.get(f"/ogc/collections/hazards/items/{MISSING}")
        for hazard in (h_in["id"], h_out["id"]):
            one = account.get(f"/ogc/collections/hazards/items/{hazard}")
            if hazard in seen[name]:
                assert one.status_code == 200 and one.json()["id"] == hazard
                assert "reporter" not in one.json()["properties"]
            else:
                assert_hidden(one, missing, hazard)
        extent = account.get("/ogc/collections/hazards").json()["extent"]["spatial"]["bbox"]
        assert len(extent) == (1 if seen[name] else 0), name
        other_page = account.get("/ogc/collections/grids/items").json()
        assert {k: v for k, v in other_page.items() if k != "timeStamp"} == {
            k: v for k, v in grids.items() if k != "timeStamp"
        }
    lon, lat = inside(mine)
    west, south, east, north = (
        client_as("worker").get("/ogc/collections/hazards").json()["extent"]["spatial"]["bbox"][0]
    )
    assert (west, south, east, north) == pytest.approx((lon, lat, lon, lat), abs=1e-5)
    anonymous = client_as(None)
    for path in ("/ogc/collections/hazards/items", f"/ogc/collections/hazards/items/{MISSING}"):
        response = anonymous.get(path)
        assert (response.status_code, response.json()) == (401, SIGN_IN)


def test_hazard_tiles_are_limited_to_the_scope_and_grid_tiles_open(
    client: TestClient, client_as: ClientAs, outsiders: None
) -> None:
    mine, other = split_grids(client, client_as)
    h_in, h_out = (report(client, *inside(g))["id"] for g in (mine, other))
    seen = by_account([h_in, h_out], [h_in])
    z = next(
        z for z in range(16, -1, -1) if tile_of(*inside(mine), z) == tile_of(*inside(other), z)
    )
    x, y = tile_of(*inside(mine), z)
    grid_tile = client.get(f"/tiles/grids/{z}/{x}/{y}.mvt").content
    assert grid_tile
    for name in EVERYONE:
        account = client_as(name)
        response = account.get(f"/tiles/hazards/{z}/{x}/{y}.mvt")
        assert response.status_code == 200
        assert response.headers["cache-control"] == "private, max-age=60"
        if seen[name]:
            decoded = mapbox_vector_tile.decode(response.content)
            assert sorted(f["id"] for f in decoded["hazards"]["features"]) == seen[name], name
        else:
            assert response.content == b"", name
        bounds = account.get("/tiles/hazards.json").json()["bounds"]
        assert (bounds == WORLD) == (not seen[name]), name
        assert account.get(f"/tiles/grids/{z}/{x}/{y}.mvt").content == grid_tile
    anonymous = client_as(None).get(f"/tiles/hazards/{z}/{x}/{y}.mvt")
    assert (anonymous.status_code, anonymous.json()) == (401, SIGN_IN)


# --- patrols ----------------------------------------------------------------------------------


def test_planning_a_patrol_by_role(session: Session, client_as: ClientAs, outsiders: None) -> None:
    own = own_worker(client_as)
    other = other_worker(session, own)
    for name, worker in (
        ("worker", own),
        ("admin", other),
        ("street", other),
        ("office", other),
        ("leader", other),
    ):
        response = client_as(name).post("/patrols/plan", json={**PLAN, "worker_id": worker})
        assert response.status_code == 201, (name, response.text)
        assert response.json()["worker"]["id"] == worker
    worker = client_as("worker")
    for asked in (other, MISSING):
        refused = worker.post("/patrols/plan", json={**PLAN, "worker_id": asked})
        assert refused.status_code == 403
        assert refused.json()["detail"] == (
            f"a worker account plans only its own patrols (worker {own}), not worker {asked}'s"
        )
    viewer = client_as("viewer").post("/patrols/plan", json={**PLAN, "worker_id": own})
    assert (viewer.status_code, viewer.json()["detail"]) == (403, READ_ONLY)
    anonymous = client_as(None).post("/patrols/plan", json={**PLAN, "worker_id": own})
    assert (anonymous.status_code, anonymous.json()) == (401, SIGN_IN)
    missing = client_as("admin").post("/patrols/plan", json={**PLAN, "worker_id": MISSING})
    assert missing.json() == {"detail": f"worker {MISSING} not found"}
    for name in ("street2", "office2", "leader2"):
        for asked in (own, other):
            response = client_as(name).post("/patrols/plan", json={**PLAN, "worker_id": asked})
            assert_hidden(response, missing, asked)
    plans = client_as("admin").get("/patrols").json()
    assert [p["worker"]["id"] for p in plans] == [other, other, other, other, own]


def test_plans_tracks_and_their_maps_by_role(
    session: Session, client: TestClient, client_as: ClientAs, outsiders: None
) -> None:
    own = own_worker(client_as)
    other = other_worker(session, own)
    worker = client_as("worker")
    mine = worker.post("/patrols/plan", json={**PLAN, "worker_id": own}).json()["id"]
    theirs = client.post("/patrols/plan", json={**PLAN, "worker_id": other}).json()["id"]
    track = gpx(walk(LINE, []))
    headers = {"Content-Type": "application/gpx+xml"}
    uploaded = worker.post(f"/patrols/{mine}/tracks", content=track, headers=headers)
    assert uploaded.status_code == 201, uploaded.text
    track_id = uploaded.json()["id"]
    sees = by_account([theirs, mine], [mine])
    expected = {plan_id: client.get(f"/patrols/{plan_id}").json() for plan_id in (mine, theirs)}
    statuses = {  # of each page for my plan (with a track) and theirs (without)
        "/patrols/{}": (200, 200),
        "/patrols/{}/tracks": (200, 200),
        f"/patrols/{{}}/tracks/{track_id}": (200, 404),
        "/maps/patrols/{}": (200, 200),
        "/maps/patrols/{}/track": (200, 404),
        f"/maps/patrols/{{}}/tracks/{track_id}": (200, 404),
    }
    for name in EVERYONE:
        account = client_as(name)
        assert [p["id"] for p in account.get("/patrols").json()] == sees[name], name
        for path, answers in statuses.items():
            missing = account.get(path.format(MISSING))
            for plan_id, status in zip((mine, theirs), answers, strict=True):
                response = account.get(path.format(plan_id))
                if plan_id in sees[name]:
                    assert response.status_code == status, (name, path, plan_id)
                else:
                    assert_hidden(response, missing, plan_id)
        if theirs in sees[name]:
            assert account.get(f"/patrols/{theirs}").json() == expected[theirs]
            assert account.get(f"/patrols/{theirs}/tracks").json() == []
        if mine in sees[name]:
            assert account.get(f"/patrols/{mine}").json() == expected[mine]
            assert [t["id"] for t in account.get(f"/patrols/{mine}/tracks").json()] == [track_id]
    missing = worker.post(f"/patrols/{MISSING}/tracks", content=track, headers=headers)
    assert missing.json() == {"detail": f"patrol plan {MISSING} not found"}
    refused = worker.post(f"/patrols/{theirs}/tracks", content=track, headers=headers)
    assert_hidden(refused, missing, theirs)
    for name in ("street2", "office2", "leader2", "idle"):
        response = client_as(name).post(f"/patrols/{mine}/tracks", content=track, headers=headers)
        assert_hidden(response, missing, mine)
    viewer = client_as("viewer").post(f"/patrols/{mine}/tracks", content=track, headers=headers)
    assert (viewer.status_code, viewer.json()["detail"]) == (403, READ_ONLY)
    for name in ("admin", "street", "office", "leader"):
        response = client_as(name).post(f"/patrols/{theirs}/tracks", content=track, headers=headers)
        assert response.status_code == 201, (name, response.text)
    assert len(client.get(f"/patrols/{theirs}/tracks").json()) == 4
    assert len(client.get(f"/patrols/{mine}/tracks").json()) == 1
    anonymous = client_as(None).get(f"/patrols/{mine}")
    assert (anonymous.status_code, anonymous.json()) == (401, SIGN_IN)


def test_village_days_by_role(client_as: ClientAs, outsiders: None) -> None:
    made = {}
    for name in ("admin", "street", "office", "leader"):
        response = client_as(name).post("/village-days", json=VILLAGE_DAY)
        assert response.status_code == 201, (name, response.text)
        made[name] = response.json()
        assert (made[name]["community"], made[name]["teams"]) == (DEMO, 2)
    day = made["admin"]
    team_plan = day["plans"][0]["id"]
    for name in ("worker", "viewer", "idle"):
        refused = client_as(name).post("/village-days", json=VILLAGE_DAY)
        role = "worker" if name == "idle" else name
        assert_refused(refused, role, "admin, street, office, leader")
    anonymous = client_as(None).post("/village-days", json=VILLAGE_DAY)
    assert (anonymous.status_code, anonymous.json()) == (401, SIGN_IN)
    absent = "330303999999"
    missing = client_as("admin").post("/village-days", json={**VILLAGE_DAY, "community": absent})
    assert missing.json() == {"detail": f"community '{absent}' not found"}
    for name in ("street2", "office2", "leader2"):
        response = client_as(name).post("/village-days", json=VILLAGE_DAY)
        assert_hidden(response, missing, DEMO, absent)
    for name in EVERYONE:
        account = client_as(name)
        for path in ("/village-days/{}", "/maps/village-days/{}"):
            response = account.get(path.format(day["id"]))
            if name in DEMO_ROLES:
                assert response.status_code == 200, (name, path)
            else:
                assert_hidden(response, account.get(path.format(MISSING)), day["id"])
        plan = account.get(f"/patrols/{team_plan}")
        if name in DEMO_ROLES:
            assert account.get(f"/village-days/{day['id']}").json() == day
            assert plan.json() == day["plans"][0]
        else:
            assert_hidden(plan, account.get(f"/patrols/{MISSING}"), team_plan)
    team_plans = sorted(p["id"] for d in made.values() for p in d["plans"])
    assert sorted(p["id"] for p in client_as("worker").get("/patrols").json()) == team_plans
    assert client_as("idle").get("/patrols").json() == []


# --- parking layouts --------------------------------------------------------------------------


LON, LAT, D = 120.7, 27.9, 0.00001  # about 1.1 m of latitude per D
SITE = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "geometry": {
                "type": "Polygon",
                "coordinates": [
                    [
                        [LON, LAT],
                        [LON + 30 * D, LAT],
                        [LON + 30 * D, LAT + 20 * D],
                        [LON, LAT + 20 * D],
                        [LON, LAT],
                    ]
                ],
            },
            "properties": {"layer": "compound"},
        },
        {
            "type": "Feature",
            "geometry": {
                "type": "LineString",
                "coordinates": [[LON + 15 * D, LAT], [LON + 15 * D, LAT + 18 * D]],
            },
            "properties": {"layer": "road", "kind": "internal_road", "width_m": 6.5},
        },
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [LON + 15 * D, LAT]},
            "properties": {"kind": "gate"},
        },
    ],
}
"""A small site uploaded as GeoJSON (see ``geo/parking/inputs.py``)."""
FAST = {"params": {"kinds": ["perpendicular"], "min_pocket_m2": 1e6}}
"""Generation parameters that keep the tests quick: kerb-side stalls only, no pockets."""


def test_parking_layout_writes_by_role_and_reads_for_all(
    session: Session, client_as: ClientAs, outsiders: None
) -> None:
    compound = session.scalar(select(m.Compound.id).where(m.Compound.name == "江前里"))
    base = "/compounds/{}/parking-layouts"
    version = 0
    for name in ("admin", "street", "office"):
        account = client_as(name)
        generated = account.post(base.format(compound), json=FAST)
        assert generated.status_code == 201, (name, generated.text)
        version += 1
        assert generated.json()["version"] == version
        stalls = generated.json()["stalls"]["features"][:3]
        drawn = {"layout": {"type": "FeatureCollection", "features": stalls}}
        checked = account.post(f"{base.format(compound)}/check", json=drawn)
        assert (checked.status_code, checked.json()["stalls"]) == (200, 3)
        imported = account.post(f"{base.format(compound)}/import", json=drawn)
        assert imported.status_code == 201
        version += 1
        assert (imported.json()["version"], imported.json()["origin"]) == (version, "imported")
        approved = account.patch(f"{base.format(compound)}/{version}", json={"status": "approved"})
        assert (approved.status_code, approved.json()["status"]) == (200, "approved")
        site = account.post("/parking-layouts/generate", json={"site": SITE, **FAST})
        assert site.status_code == 200 and site.json()["totals"]["stalls"] > 0
    writes = (
        ("post", base, None),
        ("post", base + "/check", {"layout": {"type": "FeatureCollection", "features": []}}),
        ("post", base + "/import", {"layout": {"type": "FeatureCollection", "features": []}}),
        ("patch", base + "/1", {"status": "approved"}),
    )
    for name in ("leader", "worker", "viewer", "leader2"):
        account = client_as(name)
        role = "leader" if name == "leader2" else name
        for method, path, body in writes:
            response = account.request(method, path.format(compound), json=body)
            assert_refused(response, role, WRITERS)
        site = account.post("/parking-layouts/generate", json={"site": SITE})
        assert_refused(site, role, WRITERS)
    for name in ("street2", "office2"):
        account = client_as(name)
        for method, path, body in writes:
            missing = account.request(method, path.format(MISSING), json=body)
            response = account.request(method, path.format(compound), json=body)
            assert_hidden(response, missing, compound)
        site = account.post("/parking-layouts/generate", json={"site": SITE, **FAST})
        assert site.status_code == 200
    anonymous = client_as(None).post(base.format(compound))
    assert (anonymous.status_code, anonymous.json()) == (401, SIGN_IN)
    listed = client_as("admin").get(base.format(compound)).json()
    assert [(v["version"], v["status"]) for v in listed] == [
        (1, "draft"),
        (2, "approved"),
        (3, "draft"),
        (4, "approved"),
        (5, "draft"),
        (6, "approved"),
    ]
    first = client_as("admin").get(f"{base.format(compound)}/1").json()
    for name in EVERYONE:
        account = client_as(name)
        assert account.get(base.format(compound)).json() == listed, name
        assert account.get(f"{base.format(compound)}/1").json() == first, name
        assert account.get(f"/maps/compounds/{compound}/parking/1").status_code == 200
        assert account.get(f"/communities/{DEMO}/parking-summary").status_code == 200
