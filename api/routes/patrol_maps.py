"""Patrol map pages: a plan, a plan with its GPS track, a village day; each only for an account
that may read the plan or village day (``geo.patrol.views``), else 404 like a missing one."""

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from api.auth import PrincipalDep
from api.deps import SessionDep, SettingsDep
from api.routes.maps import community_feature, map_options, page_html
from geo.accounts import Principal
from geo.db import Settings
from geo.errors import NotFound
from geo.export import collect
from geo.layers import LAYERS
from geo.patrol import coverage, views
from maps.assets import AssetMode
from maps.patrol import plan_map, track_map, village_day_map

router = APIRouter(prefix="/maps", tags=["maps"])


def _layer(session: Session, layer: str, code: str) -> list[dict]:
    return collect(session, LAYERS[layer], code)["features"]


def _plan_grids(session: Session, plan: dict) -> list[dict]:
    """The grids a plan patrols (all the community's on a village day)."""
    grids = _layer(session, "grids", plan["community"])
    wanted = {g["id"] for g in plan["grids"]}
    return [g for g in grids if not wanted or g["id"] in wanted]


def render_plan(
    session: Session,
    settings: Settings,
    plan_id: int,
    assets: AssetMode | None = None,
    by: Principal | None = None,
) -> str:
    plan = views.plan_dict(session, plan_id, by)
    network = _layer(session, "roads", plan["community"])
    m = plan_map(plan, _plan_grids(session, plan), network=network, **map_options(settings))
    return page_html(m, settings, assets)


def render_track(
    session: Session,
    settings: Settings,
    plan_id: int,
    track_id: int | None = None,
    assets: AssetMode | None = None,
    by: Principal | None = None,
) -> str:
    """The plan with a track over it (default: its latest)."""
    plan = views.plan_dict(session, plan_id, by)
    if track_id is None:
        if not plan["tracks"]:
            raise NotFound(f"patrol plan {plan_id} has no track yet")
        track_id = plan["tracks"][-1]
    track = coverage.track_dict(session, track_id, plan_id)
    network = _layer(session, "roads", plan["community"])
    grids = _plan_grids(session, plan)
    m = track_map(plan, grids, track, network=network, **map_options(settings))
    return page_html(m, settings, assets)


def render_village_day(
    session: Session,
    settings: Settings,
    day_id: int,
    assets: AssetMode | None = None,
    by: Principal | None = None,
) -> str:
    day = views.village_day_dict(session, day_id, by)
    community = community_feature(session, day["community"])
    network = _layer(session, "roads", day["community"])
    m = village_day_map(day, community, network=network, **map_options(settings))
    return page_html(m, settings, assets)


@router.get("/patrols/{plan_id}", response_class=HTMLResponse, summary="Patrol plan map")
def plan_page(
    session: SessionDep, settings: SettingsDep, principal: PrincipalDep, plan_id: int
) -> HTMLResponse:
    return HTMLResponse(render_plan(session, settings, plan_id, by=principal))


@router.get(
    "/patrols/{plan_id}/track", response_class=HTMLResponse, summary="Patrol track map (latest)"
)
def track_page(
    session: SessionDep, settings: SettingsDep, principal: PrincipalDep, plan_id: int
) -> HTMLResponse:
    return HTMLResponse(render_track(session, settings, plan_id, by=principal))


@router.get(
    "/patrols/{plan_id}/tracks/{track_id}",
    response_class=HTMLResponse,
    summary="Patrol track map",
)
def one_track_page(
    session: SessionDep,
    settings: SettingsDep,
    principal: PrincipalDep,
    plan_id: int,
    track_id: int,
) -> HTMLResponse:
    return HTMLResponse(render_track(session, settings, plan_id, track_id, by=principal))


@router.get("/village-days/{day_id}", response_class=HTMLResponse, summary="Village-day map")
def village_day_page(
    session: SessionDep, settings: SettingsDep, principal: PrincipalDep, day_id: int
) -> HTMLResponse:
    return HTMLResponse(render_village_day(session, settings, day_id, by=principal))
