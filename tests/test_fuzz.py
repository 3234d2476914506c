"""Hostile input against the OpenAPI schema (schemathesis): no 500s, no response that breaks it.

Every operation of the schema the app serves is called, signed in as the demo admin, with valid
and invalid data that schemathesis derives from the schema. Each operation is one test in its
own rolled-back transaction, and each request runs in a savepoint that is rolled back after it,
so every request sees the demo community and what was made for it here: a hazard with a photo,
a patrol plan with a track, a village day and a parking layout. Two requests in three
have their path ids pointed at those objects (or at the demo's own), so that the fuzzing gets
past the 404s.

The run is bounded and reproducible: a fixed seed, derandomized generation, no example database,
at most ``EXAMPLES`` requests per operation and ``FEW_EXAMPLES`` for the solver-backed ones; no
stateful phase and no coverage phase (its boundary cases ignore those limits: over 13 minutes
here). About 1 minute on an idle 2-core machine, 2 under load. Failures found this way stay as
plain tests in test_fuzz_regressions.py. Checks: no 5xx; status codes, content types, response
bodies and headers as documented.
"""

from __future__ import annotations

import datetime as dt
import re
import zlib
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.python.asgi import ASGIClient
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import Connection, text

from api.app import create_app
from api.auth import RateLimiter
from tests.test_hazards import DEMO, png, report

EXAMPLES = 15
FEW_EXAMPLES = 3
SLOW_OPERATIONS = (
    r"^POST (/compounds/\{compound_id\}/parking-layouts|/parking-layouts/generate"  # layouts
    r"|/patrols/plan|/village-days"  # routing solver
    r"|/communities/\{code\}/assignment-plan(/apply)?"  # CP-SAT
    r"|/communities/\{code\}/topology/repair)$"
)
CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 20260301,
        "request-timeout": 120,  # a slow answer is measured, not cut off mid-transaction
        "generation": {
            "mode": "all",
            "max-examples": EXAMPLES,
            "deterministic": True,
            "database": "none",
        },
        "phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}},
        "operations": [
            {
                "include-name-regex": SLOW_OPERATIONS,
                "generation": {"max-examples": FEW_EXAMPLES},
            }
        ],
    }
)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
DEMO_IDS: dict[str, Any] = {
    "feature_id": 1,  # the demo's first district, street, community, grid, compound...
    "compound_id": 1,
    "worker_id": 1,
    "assignment_id": 1,
    "code": DEMO,
    "username": "worker",
    "collection_id": "grids",
    "layer": "grids",
}

schema = schemathesis.openapi.from_dict(create_app().openapi(), config=CONFIG)


def inside(connection: Connection, table: str) -> tuple[float, float]:
    """A point inside the first row of ``table``."""
    sql = f"SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p FROM {table}"
    return connection.execute(text(f"{sql} ORDER BY id LIMIT 1) s")).one()


def one_stall(connection: Connection) -> dict[str, Any]:
    """A hand-drawn parking layout of the demo's first compound: one 2 x 4 m stall."""
    lon, lat = inside(connection, "compound")
    d = 0.00002
    ring = [[lon, lat], [lon + d, lat], [lon + d, lat + 2 * d], [lon, lat + 2 * d], [lon, lat]]
    stall = {
        "type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "properties": {"number": 1, "kind": "perpendicular"},
    }
    return {"type": "FeatureCollection", "features": [stall]}


class Seeds:
    """Ids for the fuzzer: the demo's, and objects made on first need in the test's transaction."""

    def __init__(self, client: TestClient, connection: Connection) -> None:
        self.client = client
        self.connection = connection
        self.ids = dict(DEMO_IDS)

    def for_path(self, path: str) -> dict[str, Any]:
        """The ids, once the objects named in ``path`` that are not there yet are made."""
        makers = {
            "hazard_id": self._hazard,
            "photo_id": self._hazard,
            "service_request_id": self._hazard,
            "plan_id": self._plan,
            "track_id": self._plan,
            "day_id": self._village_day,
            "version": self._layouts,
        }
        for name in re.findall(r"{(\w+)}", path):
            if name not in self.ids and name in makers:
                self.ids |= makers[name]()
        return self.ids

    def _post(self, path: str, **kwargs: Any) -> dict[str, Any]:
        response = self.client.post(path, **kwargs)
        assert response.status_code == 201, response.text
        return response.json()

    def _hazard(self) -> dict[str, int]:
        hazard = report(self.client, *inside(self.connection, "grid"))
        assert hazard["status"] == 201, hazard
        photo = self._post(
            f"/hazards/{hazard['id']}/photos",
            files={"file": ("a.png", png(), "image/png")},
            data={"uploaded_by": "fuzz"},
        )
        return {
            "hazard_id": hazard["id"],
            "service_request_id": hazard["id"],
            "photo_id": photo["id"],
        }

    def _plan(self) -> dict[str, int]:
        worker = self.connection.execute(
            text("SELECT worker_id FROM assignment WHERE role = 'A' ORDER BY id LIMIT 1")
        ).scalar_one()
        plan = self._post(
            "/patrols/plan",
            json={"worker_id": worker, "date": dt.date.today().isoformat(), "time_limit_s": 0.2},
        )
        start = dt.datetime.combine(dt.date.today(), dt.time(1), dt.UTC)  # 09:00 local
        points = "".join(
            f'<trkpt lon="{lon}" lat="{lat}"><time>{start + dt.timedelta(seconds=10 * i):%FT%TZ}'
            "</time></trkpt>"
            for i, (lon, lat) in enumerate(plan["route"]["coordinates"][:100])
        )
        track = self._post(
            f"/patrols/{plan['id']}/tracks",
            content=f'<gpx version="1.1"><trk><trkseg>{points}</trkseg></trk></gpx>',
            headers={"Content-Type": "application/gpx+xml"},
        )
        return {"plan_id": plan["id"], "track_id": track["id"]}

    def _village_day(self) -> dict[str, int]:
        day = self._post(
            "/village-days",
            json={
                "community": DEMO,
                "date": dt.date.today().isoformat(),
                "teams": 2,
                "time_limit_s": 0.5,
            },
        )
        return {"day_id": day["id"]}

    def _layouts(self) -> dict[str, int]:
        body = {"layout": one_stall(self.connection)}
        layout = self._post(
            f"/compounds/{self.ids['compound_id']}/parking-layouts/import", json=body
        )
        return {"version": layout["version"]}


@pytest.fixture
def seeds(client: TestClient, connection: Connection) -> Seeds:
    return Seeds(client, connection)


@pytest.fixture
def signed_in(app: FastAPI, client: TestClient) -> Iterator[ASGIClient]:
    """A schemathesis session carrying the demo admin's token (``client`` ran the lifespan)."""
    session = ASGIClient(app)  # not entered: that would start a second lifespan
    session.headers["Authorization"] = client.headers["Authorization"]
    yield session
    session.close()


def point_at_seeds(case: schemathesis.Case, ids: dict[str, Any]) -> None:
    """Two cases in three (decided by the generated path) get the known ids in their path."""
    path = case.path_parameters or {}
    if zlib.crc32(repr(sorted(path.items())).encode()) % 3:
        path.update({name: ids[name] for name in path if name in ids})


@schema.parametrize()
@settings(suppress_health_check=list(HealthCheck))  # function-scoped fixtures: see savepoint
def test_api(
    case: schemathesis.Case,
    seeds: Seeds,
    signed_in: ASGIClient,
    app: FastAPI,
    connection: Connection,
) -> None:
    point_at_seeds(case, seeds.for_path(case.path))
    savepoint = connection.begin_nested()
    app.state.rate_limiter = RateLimiter()  # each request on its own, not throttled by the others
    try:
        case.call_and_validate(session=signed_in, app=app, checks=CHECKS)
    finally:
        savepoint.rollback()
