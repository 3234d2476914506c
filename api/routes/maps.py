"""Maps served as standalone HTML pages."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from api.deps import SessionDep, SettingsDep
from geo.db import Settings
from geo.errors import NotFound
from geo.export import collect
from geo.layers import LAYERS
from maps.base import to_html
from maps.community import community_map

router = APIRouter(prefix="/maps", tags=["maps"])


def render_community(session: Session, settings: Settings, code: str) -> str:
    """The community map of ``code`` as an HTML document."""
    found = collect(session, LAYERS["communities"])["features"]
    community = next((f for f in found if f["properties"]["code"] == code), None)
    if community is None:
        raise NotFound(f"community {code!r} not found")
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


@router.get("/communities/{code}", response_class=HTMLResponse, summary="Community map")
def community_page(session: SessionDep, settings: SettingsDep, code: str) -> HTMLResponse:
    return HTMLResponse(render_community(session, settings, code))
