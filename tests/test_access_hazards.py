"""Access to hazards and residents' cases by role: what each account sees and may change.

Three hazards are reported by the admin: ``mine`` in a grid the demo worker holds, ``theirs``
in another grid of the demo community, ``far`` in a second community made for the test. An
office account of that second community (``far-office``) joins the six demo accounts.
"""

from __future__ import annotations

import datetime as dt
import struct
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from shapely.geometry import shape
from shapely.ops import nearest_points
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from geo import accounts, db
from geo import models as m
from geo.accounts import Scope
from geo.hazards import records
from tests.geojson import LAT, LON, feature, polygon

DEMO = "330303003001"
FAR = "T-9-C"
NO_COMMUNITY = "999999999999"
MISSING = 2_000_000_000
REPORTER, CONTACT = "章微琳", "13912345678"
ROLES = ("admin", "street", "office", "leader", "worker", "viewer", "far-office")
VISIBLE = {
    "admin": {"mine", "theirs", "far"},
    "street": {"mine", "theirs"},
    "office": {"mine", "theirs"},
    "leader": {"mine", "theirs"},
    "worker": {"mine"},
    "viewer": {"mine", "theirs", "far"},
    "far-office": {"far"},
}
"""The hazards each account may see."""
ROLE_OF = {"far-office": "office"}
"""The role of an account not named after it."""
SIGN_IN = "sign in first: POST /token, then send Authorization: Bearer <token>"
READ_ONLY = "account 'viewer' is read-only (viewer)"

Client = Callable[[str | None], TestClient]


@dataclass(frozen=True)
class Place:
    """The test's hazards (by name) and their points."""

    ids: dict[str, int]
    points: dict[str, tuple[float, float]]

    def visible(self, role: str, names: set[str] | None = None) -> set[int]:
        return {self.ids[n] for n in VISIBLE[role] & (names or set(self.ids))}


def report_body(lon: float, lat: float) -> dict:
    return {
        "category": "blocked_corridor",
        "severity": "high",
        "description": "楼道堆放杂物",
        "lon": lon,
        "lat": lat,
        "origin": "resident",
        "reporter": REPORTER,
        "reporter_contact": CONTACT,
    }


def compound_point(client: TestClient, grids: dict, codes: set[str]) -> tuple[float, float]:
    """A point of a demo compound lying in one of the grids ``codes``."""
    compounds = client.get("/compounds", params={"community": DEMO, "limit": 100}).json()
    for compound in compounds["features"]:
        p = shape(compound["geometry"]).representative_point()
        if any(shape(grids[c]["geometry"]).contains(p) for c in codes):
            return p.x, p.y
    raise AssertionError(f"no compound in grids {sorted(codes)}")


@pytest.fixture
def place(client: TestClient, client_as: Client, demo_grids: dict, session: Session) -> Place:
    worker_grids = set(client_as("worker").get("/me").json()["scope"]["grids"])
    assert worker_grids == {"01"}
    big, mid = (polygon(LON - d, LAT - d, LON + d, LAT + d) for d in (0.1, 0.05))
    own = polygon(LON, LAT, LON + 0.02, LAT + 0.02)
    for layer, body in (
        ("districts", feature(big, code="T-9", name="测试区")),
        ("streets", feature(mid, code="T-9-S", name="测试街道", district="T-9")),
        ("communities", feature(own, code=FAR, name="测试社区", street="T-9-S")),
    ):
        assert client.post(f"/{layer}", json=body).status_code == 201
    points = {
        "mine": compound_point(client, demo_grids, worker_grids),
        "theirs": compound_point(client, demo_grids, set(demo_grids) - worker_grids),
        "far": (LON + 0.01, LAT + 0.01),
    }
    ids = {}
    for name, (lon, lat) in points.items():
        created = client.post("/hazards", json=report_body(lon, lat))
        assert created.status_code == 201, created.text
        ids[name] = created.json()["id"]
    accounts.create(
        session,
        db.get_settings(),
        "far-office",
        "far-office-password",
        m.AccountRole.OFFICE,
        community=FAR,
    )
    return Place(ids, points)


def hazard_count(session: Session) -> int:
    return session.scalar(select(func.count(m.Hazard.id)))


def assert_hidden(response: Response, missing: Response, hidden: object, absent: object) -> None:
    """``response`` (about ``hidden``) is, word for word, the 404 of ``missing`` (about
    ``absent``, which does not exist)."""
    assert response.status_code == missing.status_code == 404
    assert response.headers["content-type"] == missing.headers["content-type"]
    assert response.text == missing.text.replace(str(absent), str(hidden))


def png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


@pytest.fixture
def photo_dir(tmp_path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("GRIDLINE_DATA_DIR", str(tmp_path))
    db.get_settings.cache_clear()
    yield
    monkeypatch.delenv("GRIDLINE_DATA_DIR")
    db.get_settings.cache_clear()


# --- scope as SQL ----------------------------------------------------------------------------


def test_scope_sql_writes_the_scope_as_a_condition() -> None:
    assert records.scope_sql(Scope()) == "true"
    assert records.scope_sql(Scope(communities=frozenset({3, 1}))) == "community_id IN (1, 3)"
    assert records.scope_sql(Scope(grids=frozenset({2})), grid="h.grid_id") == "h.grid_id IN (2)"
    assert records.scope_sql(Scope(grids=frozenset())) == "false"
    assert records.scope_sql(Scope(communities=frozenset())) == "false"


def test_an_empty_scope_sees_no_hazard(place: Place, session: Session) -> None:
    nothing = records.Filters(scope=Scope(grids=frozenset()))
    assert records.query(session, nothing) == ([], 0)
    everywhere, total = records.query(session, records.Filters())
    assert ({f["id"] for f in everywhere}, total) == (set(place.ids.values()), 3)


# --- anonymous -------------------------------------------------------------------------------


def test_anonymous_gets_401_everywhere(place: Place, client_as: Client) -> None:
    anonymous = client_as(None)
    hazard = place.ids["mine"]
    month = dt.datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")
    for method, url in (
        ("GET", "/hazards"),
        ("GET", f"/hazards/{hazard}"),
        ("GET", f"/hazards/{hazard}/events"),
        ("GET", f"/hazards/{hazard}/photos"),
        ("GET", f"/hazards/{hazard}/photos/1"),
        ("POST", "/hazards"),
        ("POST", f"/hazards/{hazard}/transition"),
        ("POST", f"/hazards/{hazard}/merge"),
        ("POST", "/hazards/import"),
        ("PUT", "/hazard-categories/other"),
        ("GET", f"/communities/{DEMO}/hazard-stats"),
        ("GET", f"/communities/{DEMO}/residents-benefited"),
        ("GET", f"/communities/{DEMO}/reports/monthly?month={month}"),
        ("GET", f"/maps/communities/{DEMO}/hazards"),
        ("GET", f"/maps/communities/{DEMO}/hazards.geojson"),
        ("GET", "/open311/v2/requests.json"),
        ("GET", f"/open311/v2/requests/{hazard}.json"),
        ("POST", "/open311/v2/requests.json"),
    ):
        response = anonymous.request(method, url)
        assert (response.status_code, response.json()) == (401, {"detail": SIGN_IN}), url


# --- reading ---------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_lists_hold_exactly_the_hazards_in_scope(
    place: Place, client_as: Client, role: str
) -> None:
    client = client_as(role)

    def listed(**params: object) -> tuple[set[int], int]:
        body = client.get("/hazards", params={"limit": 100, **params}).json()
        return {f["id"] for f in body["features"]}, body["numberMatched"]

    expected = place.visible(role)
    assert listed() == (expected, len(expected))
    lons, lats = zip(place.points["mine"], place.points["theirs"], strict=True)
    box = f"{min(lons) - 0.001},{min(lats) - 0.001},{max(lons) + 0.001},{max(lats) + 0.001}"
    in_box = place.visible(role, {"mine", "theirs"})
    assert listed(bbox=box) == (in_box, len(in_box))
    near = "{},{}".format(*place.points["theirs"])
    close = place.visible(role, {"theirs"})
    assert listed(near=near, radius_m=5) == (close, len(close))
    demo = place.visible(role, {"mine", "theirs"})
    assert listed(community=DEMO) == (demo, len(demo))
    assert listed(community=FAR) == (
        place.visible(role, {"far"}),
        len(place.visible(role, {"far"})),
    )


@pytest.mark.parametrize("role", ROLES)
def test_one_hazard_out_of_scope_is_404_like_a_missing_one(
    place: Place, client_as: Client, role: str
) -> None:
    client = client_as(role)
    for name, hazard in place.ids.items():
        for suffix in ("", "/events", "/photos"):
            response = client.get(f"/hazards/{hazard}{suffix}")
            if name in VISIBLE[role]:
                assert response.status_code == 200, (name, suffix)
            else:
                missing = client.get(f"/hazards/{MISSING}{suffix}")
                assert missing.json() == {"detail": f"hazard {MISSING} not found"}
                assert_hidden(response, missing, hazard, MISSING)
        if name in VISIBLE[role]:
            assert client.get(f"/hazards/{hazard}").json()["id"] == hazard


@pytest.mark.parametrize("role", ROLES)
def test_photos_out_of_scope_are_404_like_a_missing_hazards(
    place: Place, client: TestClient, client_as: Client, role: str, photo_dir: None
) -> None:
    image = png()
    theirs = place.ids["theirs"]
    url = f"/hazards/{theirs}/photos"
    form = {"files": {"file": ("a.png", image, "image/png")}, "data": {"uploaded_by": "韩梅"}}
    photo_id = client.post(url, **form).json()["id"]
    reader = client_as(role)
    one = reader.get(f"{url}/{photo_id}")
    listed = reader.get(url)
    added = reader.post(url, **form)
    if "theirs" in VISIBLE[role]:
        assert (one.status_code, one.content) == (200, image)
        assert [p["id"] for p in listed.json()] == [photo_id]
    else:
        missing_one = reader.get(f"/hazards/{MISSING}/photos/{photo_id}")
        assert missing_one.json() == {"detail": f"photo {photo_id} of hazard {MISSING} not found"}
        assert_hidden(one, missing_one, theirs, MISSING)
        assert_hidden(listed, reader.get(f"/hazards/{MISSING}/photos"), theirs, MISSING)
    if role == "viewer":
        assert (added.status_code, added.json()) == (403, {"detail": READ_ONLY})
    elif "theirs" in VISIBLE[role]:
        assert added.status_code == 201
    else:
        assert_hidden(added, reader.post(f"/hazards/{MISSING}/photos", **form), theirs, MISSING)


@pytest.mark.parametrize("role", ROLES)
def test_reporters_and_contacts_are_hidden_from_viewers_only(
    place: Place, client_as: Client, role: str
) -> None:
    client = client_as(role)
    reporter = None if role == "viewer" else REPORTER
    (name, *_) = sorted(VISIBLE[role])
    hazard = place.ids[name]
    contact = None if role == "viewer" else CONTACT
    one = client.get(f"/hazards/{hazard}").json()["properties"]
    assert (one["reporter"], one["reporter_contact"]) == (reporter, contact)
    listed = client.get("/hazards").json()["features"]
    assert {f["properties"]["reporter"] for f in listed} == {reporter}
    assert {f["properties"]["reporter_contact"] for f in listed} == {contact}
    events = client.get(f"/hazards/{hazard}/events").json()
    assert [(e["action"], e["actor"]) for e in events] == [
        ("reported", reporter),
        ("unrouted" if name == "far" else "dispatched", "system"),
    ]
    if role == "viewer":
        assert CONTACT not in client.get("/hazards").text


# --- reporting and changing ------------------------------------------------------------------


def outside(role: str, point: tuple[float, float]) -> str:
    return f"point ({point[0]:g}, {point[1]:g}) is outside the area account '{role}' serves"


@pytest.mark.parametrize("role", ROLES)
def test_reports_outside_the_area_are_refused_with_403(
    place: Place, client_as: Client, session: Session, role: str
) -> None:
    client = client_as(role)
    for name, point in place.points.items():
        before = hazard_count(session)
        response = client.post("/hazards", json=report_body(*point))
        if role == "viewer":
            assert (response.status_code, response.json()) == (403, {"detail": READ_ONLY})
        elif name in VISIBLE[role]:
            assert response.status_code == 201, (name, response.text)
            assert response.json()["properties"]["reporter"] == REPORTER
            continue
        else:
            assert (response.status_code, response.json()) == (
                403,
                {"detail": outside(role, point)},
            )
        assert hazard_count(session) == before


def across_an_edge(demo_grids: dict) -> tuple[tuple[float, float], tuple[float, float]]:
    """Two points about a metre either side of an edge of grid 01: in it, and in a neighbour."""
    own = shape(demo_grids["01"]["geometry"])
    for code, grid in demo_grids.items():
        other = shape(grid["geometry"])
        edge = own.boundary.intersection(other.boundary)
        if code != "01" and edge.length > 0:
            middle = edge.interpolate(0.5, normalized=True)
            inner, outer = (nearest_points(g.buffer(-1e-5), middle)[0] for g in (own, other))
            return (inner.x, inner.y), (outer.x, outer.y)
    raise AssertionError("grid 01 has no neighbour")


@pytest.mark.parametrize("role", ["admin", "office", "worker"])
def test_possible_duplicates_name_only_hazards_in_scope(
    place: Place, client: TestClient, client_as: Client, demo_grids: dict, role: str
) -> None:
    inner, outer = across_an_edge(demo_grids)
    neighbour = client.post("/hazards", json=report_body(*outer)).json()
    assert neighbour["properties"]["grid"] != "01"
    created = client_as(role).post("/hazards", json=report_body(*inner)).json()
    assert created["properties"]["grid"] == "01"
    expected = [] if role == "worker" else [neighbour["id"]]
    assert [d["id"] for d in created["possible_duplicates"]] == expected


@pytest.mark.parametrize("role", ROLES)
def test_transition_out_of_scope_is_404_like_a_missing_hazard(
    place: Place, client_as: Client, role: str
) -> None:
    client = client_as(role)
    body = {"to": "rectifying", "actor": "韩梅"}
    headers = {"If-Match": "*"}
    for name, hazard in place.ids.items():
        response = client.post(f"/hazards/{hazard}/transition", json=body, headers=headers)
        if role == "viewer":
            assert (response.status_code, response.json()) == (403, {"detail": READ_ONLY})
        elif name in VISIBLE[role] and name != "far":
            assert response.status_code == 200
            assert response.json()["properties"]["state"] == "rectifying"
        elif name in VISIBLE[role]:  # unrouted: reported cannot go to rectifying
            assert response.status_code == 409
        else:
            missing = client.post(f"/hazards/{MISSING}/transition", json=body, headers=headers)
            assert_hidden(response, missing, hazard, MISSING)


@pytest.mark.parametrize("role", ["office", "worker"])
def test_events_take_in_only_merged_duplicates_in_scope(
    place: Place, client: TestClient, client_as: Client, role: str
) -> None:
    mine, theirs = place.ids["mine"], place.ids["theirs"]
    body = {"into": mine, "actor": "韩梅"}
    merged = client.post(f"/hazards/{theirs}/merge", json=body, headers={"If-Match": "*"})
    assert merged.status_code == 200
    events = client_as(role).get(f"/hazards/{mine}/events").json()
    expected = {mine} if role == "worker" else {mine, theirs}
    assert {e["hazard_id"] for e in events} == expected


MERGES = {
    "admin": ("theirs", "far", 200),
    "street": ("mine", "far", 404),
    "office": ("mine", "far", 404),
    "leader": ("theirs", "far", 404),
    "worker": ("mine", "theirs", 404),
    "far-office": ("far", "mine", 404),
}
"""Per role: the hazard merged, the original it is merged into, the answer."""


@pytest.mark.parametrize("role", sorted(MERGES))
def test_merge_into_a_hazard_out_of_scope_is_404_like_a_missing_one(
    place: Place, client_as: Client, role: str
) -> None:
    client = client_as(role)
    duplicate, original = MERGES[role][:2]
    body = {"into": place.ids[original], "actor": "韩梅"}
    url = f"/hazards/{place.ids[duplicate]}/merge"
    response = client.post(url, json=body, headers={"If-Match": "*"})
    if MERGES[role][2] == 200:
        assert response.json()["properties"]["duplicate_of"] == place.ids[original]
        return
    missing = client.post(url, json={**body, "into": MISSING}, headers={"If-Match": "*"})
    assert_hidden(response, missing, place.ids[original], MISSING)
    reversed_ = client.post(
        f"/hazards/{place.ids[original]}/merge",
        json={**body, "into": place.ids[duplicate]},
        headers={"If-Match": "*"},
    )
    missing_first = client.post(
        f"/hazards/{MISSING}/merge",
        json={**body, "into": place.ids[duplicate]},
        headers={"If-Match": "*"},
    )
    assert_hidden(reversed_, missing_first, place.ids[original], MISSING)


def test_viewer_may_not_merge(place: Place, client_as: Client) -> None:
    response = client_as("viewer").post(
        f"/hazards/{place.ids['mine']}/merge",
        json={"into": place.ids["theirs"], "actor": "x"},
        headers={"If-Match": "*"},
    )
    assert (response.status_code, response.json()) == (403, {"detail": READ_ONLY})


IMPORTERS = {"admin", "street", "office", "far-office"}


def csv_of(*points: tuple[float, float]) -> str:
    head = "lon,lat,category,severity,description,origin,reporter\n"
    return head + "".join(f"{x},{y},blocked_corridor,low,杂物,patrol,韩梅\n" for x, y in points)


@pytest.mark.parametrize("role", ROLES)
def test_bulk_import_by_role_and_all_or_nothing_by_area(
    place: Place, client_as: Client, session: Session, role: str
) -> None:
    client = client_as(role)
    headers = {"Content-Type": "text/csv"}
    before = hazard_count(session)
    for names in (("mine", "theirs"), ("far",), ("mine", "far", "theirs", "far")):
        body = csv_of(*(place.points[n] for n in names))
        response = client.post("/hazards/import", content=body, headers=headers)
        if role == "viewer":
            assert (response.status_code, response.json()) == (403, {"detail": READ_ONLY})
        elif role not in IMPORTERS:
            assert (response.status_code, response.json()) == (
                403,
                {"detail": f"a {role} account may not do this (only: admin, street, office)"},
            )
        elif set(names) <= VISIBLE[role]:
            assert response.status_code == 201
            assert response.json()["imported"] == len(names)
            before += len(names)
        else:
            rows = [f"row {i}" for i, n in enumerate(names, start=2) if n not in VISIBLE[role]]
            assert (response.status_code, response.json()) == (
                403,
                {
                    "detail": f"{len(rows)} row(s) outside the area account '{role}' serves,"
                    f" nothing imported: {', '.join(rows)}"
                },
            )
        assert hazard_count(session) == before


@pytest.mark.parametrize("role", ROLES)
def test_only_the_admin_changes_the_category_catalogue(
    place: Place, client_as: Client, role: str
) -> None:
    body = {"code": "graffiti", "group": "other", "name": "Graffiti", "name_zh": "涂鸦"}
    response = client_as(role).put("/hazard-categories/graffiti", json=body)
    if role == "admin":
        assert (response.status_code, response.json()) == (200, {**body, "active": True})
    elif role == "viewer":
        assert (response.status_code, response.json()) == (403, {"detail": READ_ONLY})
    else:
        detail = f"a {ROLE_OF.get(role, role)} account may not do this (only: admin)"
        assert (response.status_code, response.json()) == (403, {"detail": detail})


# --- Open311 ---------------------------------------------------------------------------------

OPEN311 = "/open311/v2"


def open311_form(point: tuple[float, float]) -> dict[str, str]:
    return {
        "service_code": "blocked_corridor",
        "lat": str(point[1]),
        "long": str(point[0]),
        "first_name": "微琳",
        "last_name": "章",
        "phone": CONTACT,
        "email": "zhang@example.cn",
    }


@pytest.mark.parametrize("role", ROLES)
def test_open311_reads_and_submits_within_scope(
    place: Place, client_as: Client, session: Session, role: str
) -> None:
    client = client_as(role)
    listed = client.get(f"{OPEN311}/requests.json")
    assert {int(r["service_request_id"]) for r in listed.json()} == place.visible(role)
    by_id = client.get(
        f"{OPEN311}/requests.json",
        params={"service_request_id": ",".join(str(i) for i in place.ids.values())},
    )
    assert {int(r["service_request_id"]) for r in by_id.json()} == place.visible(role)
    for text_ in (listed.text, by_id.text):
        assert REPORTER not in text_ and CONTACT not in text_ and "example.cn" not in text_
    for name, hazard in place.ids.items():
        one = client.get(f"{OPEN311}/requests/{hazard}.json")
        if name in VISIBLE[role]:
            assert [r["service_request_id"] for r in one.json()] == [str(hazard)]
        else:
            missing = client.get(f"{OPEN311}/requests/{MISSING}.json")
            assert missing.json() == [
                {"code": 404, "description": f"service request '{MISSING}' not found"}
            ]
            assert_hidden(one, missing, hazard, MISSING)
    for name, point in place.points.items():
        before = hazard_count(session)
        posted = client.post(f"{OPEN311}/requests.json", data=open311_form(point))
        if role == "viewer":
            assert (posted.status_code, posted.json()) == (403, {"detail": READ_ONLY})
        elif name in VISIBLE[role]:
            assert posted.status_code == 201
            continue
        else:
            assert (posted.status_code, posted.json()) == (
                403,
                [{"code": 403, "description": outside(role, point)}],
            )
        assert hazard_count(session) == before


# --- statistics and the monthly report -------------------------------------------------------


def close(client: TestClient, hazard: int) -> None:
    for to, actor in (("rectifying", "朱健飞"), ("rectified", "朱健飞"), ("verified", "韩梅")):
        response = client.post(
            f"/hazards/{hazard}/transition",
            json={"to": to, "actor": actor},
            headers={"If-Match": "*"},
        )
        assert response.status_code == 200, response.text


@pytest.mark.parametrize("role", ROLES)
def test_hazard_stats_count_only_the_scope(
    place: Place, client_as: Client, demo_grids: dict, role: str
) -> None:
    client = client_as(role)
    stats = client.get(f"/communities/{DEMO}/hazard-stats")
    demo = VISIBLE[role] & {"mine", "theirs"}
    if not demo:
        missing = client.get(f"/communities/{NO_COMMUNITY}/hazard-stats")
        assert missing.json() == {"detail": f"community {NO_COMMUNITY} not found"}
        assert_hidden(stats, missing, DEMO, NO_COMMUNITY)
    else:
        body = stats.json()
        assert (body["total"]["total"], body["total"]["open"]) == (len(demo), len(demo))
        grids = ["01"] if role == "worker" else sorted(demo_grids)
        assert [r["grid"] for r in body["rows"]] == grids
        assert sum(r["total"] for r in body["rows"]) == len(demo)
        by_compound = client.get(f"/communities/{DEMO}/hazard-stats", params={"by": "compound"})
        listed = client.get("/compounds", params={"community": DEMO, "limit": 100}).json()
        of_mine = client.get(f"/hazards/{place.ids['mine']}").json()["properties"]["compound_id"]
        compounds = [of_mine] if role == "worker" else sorted(f["id"] for f in listed["features"])
        assert [r["compound_id"] for r in by_compound.json()["rows"]] == compounds
    far = client.get(f"/communities/{FAR}/hazard-stats")
    if "far" in VISIBLE[role]:
        assert far.json()["total"]["total"] == 1
    else:
        assert_hidden(
            far, client.get(f"/communities/{NO_COMMUNITY}/hazard-stats"), FAR, NO_COMMUNITY
        )


@pytest.mark.parametrize("role", ROLES)
def test_residents_benefited_and_monthly_report_count_only_the_scope(
    place: Place,
    client: TestClient,
    client_as: Client,
    session: Session,
    demo_grids: dict,
    role: str,
) -> None:
    for name in ("mine", "theirs"):
        close(client, place.ids[name])
    late = client.post("/hazards", json=report_body(*place.points["mine"])).json()["id"]
    session.execute(
        text(
            "UPDATE hazard SET reported_at = now() - interval '2 minutes',"
            " deadline = now() - interval '1 minute' WHERE id = :id"
        ),
        {"id": late},
    )
    reader = client_as(role)
    month = dt.datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")
    benefited = reader.get(f"/communities/{DEMO}/residents-benefited")
    monthly = reader.get(f"/communities/{DEMO}/reports/monthly", params={"month": month})
    closed = VISIBLE[role] & {"mine", "theirs"}
    if not closed:
        for response, url in (
            (benefited, f"/communities/{NO_COMMUNITY}/residents-benefited"),
            (monthly, f"/communities/{NO_COMMUNITY}/reports/monthly?month={month}"),
        ):
            assert_hidden(response, reader.get(url), DEMO, NO_COMMUNITY)
        return
    compounds = {
        client.get(f"/hazards/{place.ids[n]}").json()["properties"]["compound_id"] for n in closed
    }
    body = benefited.json()
    assert {c["compound_id"] for c in body["by_compound"]} == compounds
    assert body["hazards_fixed"] == len(closed)
    report = monthly.json()
    assert (report["summary"]["new"], report["summary"]["closed"]) == (len(closed) + 1, len(closed))
    assert report["benefited"]["hazards_fixed"] == len(closed)
    grids = ["01"] if role == "worker" else sorted(demo_grids)
    assert [r["grid"] for r in report["by_grid"]] == grids
    reporter = None if role == "viewer" else REPORTER
    assert [(o["id"], o["reporter"]) for o in report["overdue"]] == [(late, reporter)]
    csv = reader.get(
        f"/communities/{DEMO}/reports/monthly", params={"month": month, "format": "csv"}
    )
    assert csv.status_code == 200 and REPORTER not in csv.text
    html = reader.get(
        f"/communities/{DEMO}/reports/monthly", params={"month": month, "format": "html"}
    )
    assert html.status_code == 200 and REPORTER not in html.text


# --- maps ------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_hazard_maps_show_only_the_scope(place: Place, client_as: Client, role: str) -> None:
    client = client_as(role)
    for code, names in ((DEMO, {"mine", "theirs"}), (FAR, {"far"})):
        page = client.get(f"/maps/communities/{code}/hazards")
        data = client.get(f"/maps/communities/{code}/hazards.geojson")
        shown = place.visible(role, names)
        if not shown:
            for response, suffix in ((page, ""), (data, ".geojson")):
                missing = client.get(f"/maps/communities/{NO_COMMUNITY}/hazards{suffix}")
                assert missing.json() == {"detail": f"community '{NO_COMMUNITY}' not found"}
                assert_hidden(response, missing, code, NO_COMMUNITY)
            continue
        assert {f["id"] for f in data.json()["features"]} == shown
        assert all("reporter" not in f["properties"] for f in data.json()["features"])
        drawn = {i for i in place.ids.values() if f'href="/hazards/{i}"' in page.text}
        assert drawn == shown
        assert REPORTER not in page.text and CONTACT not in page.text


@pytest.mark.parametrize("role", ROLES)
def test_community_maps_are_reference_data_for_every_account(
    place: Place, client_as: Client, role: str
) -> None:
    client = client_as(role)
    assert client.get(f"/maps/communities/{DEMO}").status_code == 200
    assert client.get(f"/maps/communities/{FAR}").status_code == 200
