"""Parking map pages: a layout at true scale over its compound, and two versions side by side."""

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from api.deps import SessionDep, SettingsDep
from api.routes.maps import map_options, page_html
from geo.db import Settings
from geo.features import get_feature
from geo.layers import LAYERS
from geo.parking import store
from geo.parking.inputs import near_ids
from maps.assets import AssetMode
from maps.parking import compare_map, layout_map

router = APIRouter(prefix="/maps", tags=["maps"])


def _site_features(session: Session, compound_id: int) -> dict:
    """The compound and what lies in or by it, as GeoJSON Features."""
    layers = {"buildings": "building", "roads": "road", "site_features": "site_feature"}
    out = {
        name: [
            get_feature(session, LAYERS[name.replace("_", "-")], i)
            for i in near_ids(session, table, compound_id)
        ]
        for name, table in layers.items()
    }
    return {"compound": get_feature(session, LAYERS["compounds"], compound_id), **out}


def render_layout(
    session: Session,
    settings: Settings,
    compound_id: int,
    version: int,
    assets: AssetMode | None = None,
) -> str:
    layout = store.layout_dict(session, store.get_row(session, compound_id, version))
    site = _site_features(session, compound_id)
    m = layout_map(layout, site.pop("compound"), **site, **map_options(settings))
    return page_html(m, settings, assets)


def render_compare(
    session: Session,
    settings: Settings,
    compound_id: int,
    before: int,
    after: int,
    assets: AssetMode | None = None,
) -> str:
    a = store.layout_dict(session, store.get_row(session, compound_id, before))
    b = store.layout_dict(session, store.get_row(session, compound_id, after))
    site = _site_features(session, compound_id)
    m = compare_map(a, b, site.pop("compound"), **site, **map_options(settings))
    return page_html(m, settings, assets)


@router.get(
    "/compounds/{compound_id}/parking/compare",
    response_class=HTMLResponse,
    summary="Two parking layout versions side by side",
)
def compare_page(
    session: SessionDep,
    settings: SettingsDep,
    compound_id: int,
    a: Annotated[int, Query(description="the earlier version")],
    b: Annotated[int, Query(description="the later version")],
) -> HTMLResponse:
    return HTMLResponse(render_compare(session, settings, compound_id, a, b))


@router.get(
    "/compounds/{compound_id}/parking/{version}",
    response_class=HTMLResponse,
    summary="A parking layout at true scale over its compound",
)
def layout_page(
    session: SessionDep, settings: SettingsDep, compound_id: int, version: int
) -> HTMLResponse:
    return HTMLResponse(render_layout(session, settings, compound_id, version))
