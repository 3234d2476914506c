"""Maps served as standalone HTML pages."""

import datetime as dt

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from api.deps import SessionDep, SettingsDep
from geo.db import Settings
from geo.errors import NotFound
from geo.export import collect
from geo.features import list_features
from geo.layers import LAYERS
from geo.planning import community_id, planner_input
from maps.assignment import assignment_map
from maps.base import to_html
from maps.community import community_map

router = APIRouter(prefix="/maps", tags=["maps"])


def _community_feature(session: Session, code: str) -> dict:
    page = list_features(session, LAYERS["communities"], code=code)
    if not page.features:
        raise NotFound(f"community {code!r} not found")
    return page.features[0]


def render_community(session: Session, settings: Settings, code: str) -> str:
    """The community map of ``code`` as an HTML document."""
    community = _community_feature(session, code)
    layers = {
        name: collect(session, LAYERS[name], code)["features"]
        for name in ("grids", "compounds", "buildings", "roads", "site-features")
    }
    return to_html(
        community_map(
            community,
            layers["grids"],
            layers["compounds"],
            layers["buildings"],
            layers["roads"],
            layers["site-features"],
            tile_url=settings.tile_url,
            attribution=settings.tile_attribution,
        )
    )


def render_assignments(session: Session, settings: Settings, code: str) -> str:
    """The A/B map of community ``code``: grids by A worker, B in tooltips, pair lines."""
    community = _community_feature(session, code)
    grids = collect(session, LAYERS["grids"], code)["features"]
    _, _, workers, roles = planner_input(session, community_id(session, code), dt.date.today())
    people = {
        w.id: {"id": w.id, "name": w.name, "gender": w.gender, "years": w.years} for w in workers
    }
    role_dicts = [
        {"grid_id": r.grid_id, "role": r.role, "worker": people[r.worker_id]} for r in roles
    ]
    return to_html(
        assignment_map(
            community,
            grids,
            role_dicts,
            tile_url=settings.tile_url,
            attribution=settings.tile_attribution,
        )
    )


@router.get("/communities/{code}/assignments", response_class=HTMLResponse, summary="A/B roles map")
def assignments_page(session: SessionDep, settings: SettingsDep, code: str) -> HTMLResponse:
    return HTMLResponse(render_assignments(session, settings, code))


@router.get("/communities/{code}", response_class=HTMLResponse, summary="Community map")
def community_page(session: SessionDep, settings: SettingsDep, code: str) -> HTMLResponse:
    return HTMLResponse(render_community(session, settings, code))
