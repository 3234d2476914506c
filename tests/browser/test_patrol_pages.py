"""The patrol map pages in headless Chromium: a daily plan, its GPS track and a village day,
drawn from committed plans with no request leaving 127.0.0.1 and no script errors."""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from shapely.geometry import Point, shape
from sqlalchemy import text
from sqlalchemy.engine import Engine

from geo import db, planning
from tests.browser.harness import Server, Tab, api, assert_clean, close, open_map
from tests.test_patrol_tracks import gpx, walk

DEMO = "330303003001"
TEAMS = 3


def post(server: Server, path: str, body: bytes, content_type: str) -> Any:
    request = server.request(path, body, **{"Content-Type": content_type})
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.status == 201
        return json.load(response)


@pytest.fixture(scope="module")
def patrols(engine: Engine, server: Server) -> Iterator[dict[str, Any]]:
    """A/B roles, a worker's plan with a track visiting its first three stops, and a
    three-team village day, committed through the server and removed afterwards."""
    with engine.connect() as conn:
        last = conn.execute(text("SELECT coalesce(max(id), 0) FROM assignment")).scalar_one()
    try:
        with db.transaction(engine) as s:
            planning.apply_plan(s, DEMO, planning.plan_community(s, DEMO).roles)
        roles = api(server, f"/assignments?community={DEMO}")
        worker = next(r["worker_id"] for r in roles if r["role"] == "A")
        plan = post(
            server,
            "/patrols/plan",
            json.dumps({"worker_id": worker, "date": roles[0]["valid_from"]}).encode(),
            "application/json",
        )
        fitted = [s for s in plan["stops"] if s["seq"] is not None]
        samples = walk(shape(plan["route"]), [Point(s["lon"], s["lat"]) for s in fitted[:3]])
        track = post(server, f"/patrols/{plan['id']}/tracks", gpx(samples), "application/gpx+xml")
        body = {"community": DEMO, "date": plan["date"], "teams": TEAMS, "time_limit_s": 1}
        day = post(server, "/village-days", json.dumps(body).encode(), "application/json")
        yield {"plan": plan, "track": track, "day": day}
    finally:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM inspection"))
            conn.execute(text("DELETE FROM patrol_plan"))
            conn.execute(text("DELETE FROM village_day"))
            conn.execute(text("DELETE FROM assignment WHERE id > :id"), {"id": last})


def test_plan_page_numbers_every_planned_stop_along_the_route(
    tab: Tab, server: Server, artifacts: Path, patrols: dict[str, Any]
) -> None:
    plan = patrols["plan"]
    page = open_map(tab, server, f"/maps/patrols/{plan['id']}", artifacts / "patrol-plan.png")
    names = [o["name"] for o in page.overlays()]
    assert names[:3] == ["网格 Grids", "步行路网 Walking network", "路线 Route"]
    fitted = [s for s in plan["stops"] if s["seq"] is not None]
    numbers = page.page.locator(".gridline-stop div").all_inner_texts()
    assert sorted(int(n) for n in numbers if n) == [s["seq"] for s in fitted]
    first = page.page.locator(".gridline-stop div", has_text=re.compile(r"^1$"))
    expected = page.pixel(fitted[0]["lon"], fitted[0]["lat"])
    for _ in range(30):  # the fit to the route may still be zooming or panning: let it settle
        box = first.bounding_box()
        assert box is not None
        where = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        if close(where, expected):
            break
        page.page.wait_for_timeout(100)
        expected = page.pixel(fitted[0]["lon"], fitted[0]["lat"])
    assert close(where, expected)
    assert page.page.locator("path.leaflet-ant-path").count() >= 1
    assert_clean(tab)


def test_track_page_shows_visited_and_missed_stops(
    tab: Tab, server: Server, artifacts: Path, patrols: dict[str, Any]
) -> None:
    plan, track = patrols["plan"], patrols["track"]
    visited = len(track["visits"])
    assert visited >= 3  # paused at the first three; others may be passed close enough
    page = open_map(
        tab, server, f"/maps/patrols/{plan['id']}/track", artifacts / "patrol-track.png"
    )
    legend = page.page.locator(".gridline-legend").inner_text()
    planned = plan["counts"]["planned"]
    assert f"{visited}/{planned}" in legend.replace(" ", "")
    assert page.page.locator(".gridline-stop").count() == len(plan["stops"])
    assert_clean(tab)


def test_village_day_page_draws_one_sector_per_team(
    tab: Tab, server: Server, artifacts: Path, patrols: dict[str, Any]
) -> None:
    day = patrols["day"]
    page = open_map(tab, server, f"/maps/village-days/{day['id']}", artifacts / "village-day.png")
    teams = [o for o in page.overlays() if o["name"].startswith("第")]
    assert [o["name"].split(" ")[0] for o in teams] == [f"第{t}组" for t in range(1, TEAMS + 1)]
    for team, plan in zip(teams, day["plans"], strict=True):
        assert team["markers"] == len(plan["stops"])
    assert page.page.locator("path.leaflet-ant-path").count() >= TEAMS
    assert_clean(tab)
