"""Patrols: a worker's daily plan, village days, and the GPS tracks that prove them.

A worker account plans, reads and uploads tracks only for its own plans (and reads the village
days of its grids' communities); other accounts for the workers and village days of the
communities in their scope. Whatever is outside answers 404 like a missing one.
"""

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query, Response

from api.auth import PrincipalDep, require
from api.deps import RawBodyDep, SessionDep, SettingsDep
from geo.accounts import Principal
from geo.models import AccountRole
from geo.patrol import coverage, plans, views
from geo.patrol.requests import DailyPlanIn, VillageDayIn

router = APIRouter(tags=["patrols"])

VillageDayPlannerDep = Annotated[
    Principal,
    Depends(require(AccountRole.ADMIN, AccountRole.STREET, AccountRole.OFFICE, AccountRole.LEADER)),
]

TRACK_DOC = {
    "requestBody": {
        "required": True,
        "description": "GPX 1.0/1.1 track points with times, or a GeoJSON LineString with "
        "properties.coordTimes / properties.times or epoch seconds as 4th coordinate",
        "content": {
            "application/gpx+xml": {"schema": {"type": "string"}},
            "application/geo+json": {"schema": {"type": "object"}},
        },
    }
}


@router.post("/patrols/plan", status_code=201, summary="Plan a worker's patrol for a day")
def plan_patrol(
    session: SessionDep,
    settings: SettingsDep,
    principal: PrincipalDep,
    body: DailyPlanIn,
    response: Response,
) -> dict[str, Any]:
    """A worker account plans only for itself (403 otherwise); others for the workers of the
    communities in their scope.

    Stops: hazards due for re-inspection or follow-up in the worker's grids (A first, then
    B), places due for their scheduled inspection in the A grids, and ``stops`` given here.
    The walk starts and ends at the community office unless ``start``/``finish`` say
    otherwise, within ``hours`` (default 08:30-12:00) at ``speed_mps`` (default 1.2). Stops
    that do not fit come last, without ``seq``, with the ``reason``."""
    plan_id = plans.plan_daily(session, body, settings, principal)
    response.headers["Location"] = f"/patrols/{plan_id}"
    return views.plan_dict(session, plan_id)


@router.get("/patrols", summary="Patrol plans by worker, day or community, newest first")
def list_patrols(
    session: SessionDep,
    principal: PrincipalDep,
    worker_id: int | None = None,
    date: dt.date | None = None,
    community: Annotated[str | None, Query(description="community code")] = None,
) -> list[dict[str, Any]]:
    return views.list_plans(session, principal, worker_id=worker_id, day=date, community=community)


@router.get("/patrols/{plan_id}", summary="A patrol plan: stops in order, route, reasons")
def get_patrol(session: SessionDep, principal: PrincipalDep, plan_id: int) -> dict[str, Any]:
    return views.plan_dict(session, plan_id, principal)


@router.post(
    "/patrols/{plan_id}/tracks",
    status_code=201,
    summary="Upload the GPS track of a patrol: visited and missed stops, coverage, gaps",
    openapi_extra=TRACK_DOC,
)
def upload_track(
    session: SessionDep,
    settings: SettingsDep,
    principal: PrincipalDep,
    plan_id: int,
    body: RawBodyDep,
    response: Response,
    crs: Annotated[
        Literal["wgs84", "gcj02"], Query(description="gcj02 for tracks from Chinese map apps")
    ] = "wgs84",
    content_type: Annotated[str | None, Header()] = None,
) -> dict[str, Any]:
    track_id = coverage.record_track(
        session, plan_id, body, settings, content_type=content_type, crs=crs, by=principal
    )
    response.headers["Location"] = f"/patrols/{plan_id}/tracks/{track_id}"
    return coverage.track_dict(session, track_id)


@router.get("/patrols/{plan_id}/tracks", summary="Tracks of a plan, oldest first")
def list_tracks(session: SessionDep, principal: PrincipalDep, plan_id: int) -> list[dict[str, Any]]:
    plan = views.plan_dict(session, plan_id, principal)
    return [coverage.track_dict(session, track_id) for track_id in plan["tracks"]]


@router.get("/patrols/{plan_id}/tracks/{track_id}", summary="One track and what it covered")
def get_track(
    session: SessionDep, principal: PrincipalDep, plan_id: int, track_id: int
) -> dict[str, Any]:
    views.plan_row(session, plan_id, principal)  # 404 unless the account may read the plan
    return coverage.track_dict(session, track_id, plan_id)


@router.post("/village-days", status_code=201, summary="Split a community among teams")
def plan_village_day(
    session: SessionDep,
    settings: SettingsDep,
    principal: VillageDayPlannerDep,
    body: VillageDayIn,
    response: Response,
) -> dict[str, Any]:
    """Admin, street, office and leader accounts, for a community in their scope.

    下村日: every stop due in the community, split into ``teams`` contiguous sectors
    balanced by stop count (within 10 % of the mean, at least 2) after a joint solve that
    balances walking time; one walk per team from the office."""
    day_id = plans.plan_village_day(session, body, settings, principal)
    response.headers["Location"] = f"/village-days/{day_id}"
    return views.village_day_dict(session, day_id)


@router.get("/village-days/{day_id}", summary="A village day: each team's sector and walk")
def get_village_day(session: SessionDep, principal: PrincipalDep, day_id: int) -> dict[str, Any]:
    return views.village_day_dict(session, day_id, principal)
