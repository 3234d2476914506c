"""The community map served by the API and written by the CLI."""

from __future__ import annotations

import json
import re

from fastapi.testclient import TestClient

DEMO = "330303003001"


def test_community_map_page(client: TestClient) -> None:
    response = client.get(f"/maps/communities/{DEMO}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert html.startswith("<!DOCTYPE html>")
    labels = re.findall(r'"html": "\\u003cdiv\\u003e(\w+)\\u003c/div\\u003e"', html)
    assert sorted(labels) == [f"{i:02d}" for i in range(1, 22)]
    for name in ("留香园", "和家锦园", "江前里"):  # inside the page's GeoJSON, JSON-escaped
        assert json.dumps(name)[1:-1] in html
    assert "L.map(" in html


def test_unknown_community_map_is_404(client: TestClient) -> None:
    response = client.get("/maps/communities/nope")
    assert response.status_code == 404
    assert response.json() == {"detail": "community 'nope' not found"}


def test_index_lists_community_maps(client: TestClient) -> None:
    html = client.get("/").text
    assert f'<a href="/maps/communities/{DEMO}">蒲江社区 ({DEMO})</a>' in html
    assert client.get("/health").json() == {"status": "ok", "database": "ok"}


def test_assignment_map_page(client: TestClient) -> None:
    client.post(f"/communities/{DEMO}/assignment-plan/apply")
    html = client.get(f"/maps/communities/{DEMO}/assignments").text
    assert html.startswith("<!DOCTYPE html>")
    assert "AB 搭档 A/B pairs" in html or json.dumps("AB 搭档 A/B pairs")[1:-1] in html
    assert html.count('"pair": "B of ') == 21
    assert client.get("/maps/communities/nope/assignments").status_code == 404


def test_api_documentation_is_served(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    for path in (
        "/locate",
        "/grids",
        "/hazards",
        "/communities/{code}/assignment-plan",
        "/open311/v2/requests.json",
        "/maps/communities/{code}/hazards",
    ):
        assert path in spec["paths"], path
    assert client.get("/docs").status_code == 200
