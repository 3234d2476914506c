"""Limits on what one request may ask: vertices per geometry, features per import, the area of a
bbox query; each refused with the reason and nothing written."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import Connection

from api.deps import bbox_km2
from geo import db

DEMO = "330303003001"


@pytest.fixture
def limits(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("GRIDLINE_MAX_VERTICES", "50")
    monkeypatch.setenv("GRIDLINE_MAX_IMPORT_FEATURES", "2")
    monkeypatch.setenv("GRIDLINE_MAX_BBOX_KM2", "100")
    db.get_settings.cache_clear()
    yield
    monkeypatch.undo()
    db.get_settings.cache_clear()


def ring(n: int, lon: float = 120.7205, lat: float = 27.9705, r: float = 0.0001) -> list:
    points = [
        [lon + r * math.cos(2 * math.pi * k / n), lat + r * math.sin(2 * math.pi * k / n)]
        for k in range(n)
    ]
    return [*points, points[0]]


def site_feature(n: int) -> dict:
    return {
        "type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": [ring(n)]},
        "properties": {"kind": "keep_clear", "name": f"{n} vertices", "community": DEMO},
    }


def count(connection: Connection) -> int:
    return connection.execute(text("SELECT count(*) FROM site_feature")).scalar_one()


def test_a_geometry_with_too_many_vertices_is_refused(
    client: TestClient, connection: Connection, limits: None
) -> None:
    before = count(connection)
    assert client.post("/site-features", json=site_feature(40)).status_code == 201
    response = client.post("/site-features", json=site_feature(60))
    assert response.status_code == 422
    assert "geometry has 61 vertices, more than GRIDLINE_MAX_VERTICES = 50" in response.text
    assert count(connection) == before + 1


def test_an_import_with_too_many_features_is_refused(
    client: TestClient, connection: Connection, limits: None
) -> None:
    before = count(connection)
    body = {"type": "FeatureCollection", "features": [site_feature(10)] * 3}
    response = client.post(
        f"/site-features/import?community={DEMO}",
        content=json.dumps(body),
        headers={"Content-Type": "application/geo+json"},
    )
    assert response.status_code == 413
    assert response.json()["detail"] == (
        "3 features are more than one import may hold (GRIDLINE_MAX_IMPORT_FEATURES = 2); "
        "split the file"
    )
    assert count(connection) == before


def test_a_bbox_larger_than_allowed_is_refused(client: TestClient, limits: None) -> None:
    small = client.get("/grids", params={"bbox": "120.71,27.96,120.73,27.98"})
    assert small.status_code == 200
    large = client.get("/grids", params={"bbox": "120,27,121,28"})
    assert large.status_code == 422
    assert large.json()["detail"] == (
        "bbox '120,27,121,28' covers 10,967 km², more than GRIDLINE_MAX_BBOX_KM2 = 100"
    )


def test_bbox_area_is_the_spherical_area() -> None:
    assert bbox_km2(0, 0, 1, 1) == pytest.approx(12_364, rel=1e-3)
    assert bbox_km2(120, 27, 121, 28) == pytest.approx(10_967, rel=1e-3)
