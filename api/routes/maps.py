"""Maps served as standalone HTML pages, and the index of them."""

import datetime as dt
import json
import logging
from dataclasses import replace
from html import escape
from typing import Annotated, Literal, TypedDict
from urllib.parse import quote, urlencode

import folium
from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import SessionDep, SettingsDep
from geo import models as m
from geo.crs import wgs84_to_gcj02
from geo.db import Settings
from geo.errors import InvalidInput, NotFound
from geo.export import collect
from geo.features import list_features
from geo.hazards import records
from geo.layers import LAYERS
from geo.planning import community_id, planner_input
from maps.assets import INSTALL_HINT, AssetMode, missing_assets
from maps.assignment import assignment_map
from maps.base import to_html
from maps.basemaps import GCJ02, Basemap, CoordTransform, basemap, overlay_crs, transform_features
from maps.community import community_map
from maps.hazards import hazard_collection, hazard_map, is_large

router = APIRouter(prefix="/maps", tags=["maps"])
log = logging.getLogger(__name__)

MAP_PAGES: tuple[tuple[str, str], ...] = (
    ("社区地图 Community map", "/maps/communities/{code}"),
    ("AB角地图 A/B roles map", "/maps/communities/{code}/assignments"),
    ("隐患地图 Hazard map", "/maps/communities/{code}/hazards"),
)
"""Every map page of a community: its title and path (``{code}``: the community code)."""


def page_html(m: folium.Map, settings: Settings, assets: AssetMode | None = None) -> str:
    """``m`` as HTML; ``assets`` defaults to the service's own ``/assets/`` per the settings."""
    if assets is None:
        assets = AssetMode.SERVED if settings.self_hosted_assets else AssetMode.CDN
    if assets is AssetMode.SERVED and missing_assets():
        log.warning("map page served without its scripts: %s", INSTALL_HINT)
    return to_html(m, assets=assets)


class MapOptions(TypedDict):
    """Keyword arguments of the map builders choosing the basemaps."""

    basemaps: list[Basemap]
    to_gcj02: CoordTransform


def map_options(settings: Settings) -> MapOptions:
    """The map builders' basemap arguments: the configured basemaps, in order, and the
    WGS84 -> GCJ-02 conversion the overlays go through over a GCJ-02 basemap."""
    basemaps = [
        basemap(
            name,
            tianditu_key=settings.tianditu_key,
            tile_url=settings.tile_url,
            tile_attribution=settings.tile_attribution,
            tile_crs=settings.tile_crs,
        )
        for name in settings.basemaps
    ]
    return {"basemaps": basemaps, "to_gcj02": wgs84_to_gcj02}


def _community_feature(session: Session, code: str) -> dict:
    page = list_features(session, LAYERS["communities"], code=code)
    if not page.features:
        raise NotFound(f"community {code!r} not found")
    return page.features[0]


def render_community(
    session: Session, settings: Settings, code: str, assets: AssetMode | None = None
) -> str:
    """The community map of ``code`` as an HTML document (``assets``: see ``page_html``)."""
    community = _community_feature(session, code)
    layers = {
        name: collect(session, LAYERS[name], code)["features"]
        for name in ("grids", "compounds", "buildings", "roads", "site-features")
    }
    return page_html(
        community_map(
            community,
            layers["grids"],
            layers["compounds"],
            layers["buildings"],
            layers["roads"],
            layers["site-features"],
            **map_options(settings),
        ),
        settings,
        assets,
    )


def render_assignments(
    session: Session, settings: Settings, code: str, assets: AssetMode | None = None
) -> str:
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
    return page_html(
        assignment_map(
            community,
            grids,
            role_dicts,
            **map_options(settings),
        ),
        settings,
        assets,
    )


@router.get("/communities/{code}/assignments", response_class=HTMLResponse, summary="A/B roles map")
def assignments_page(session: SessionDep, settings: SettingsDep, code: str) -> HTMLResponse:
    return HTMLResponse(render_assignments(session, settings, code))


def _hazard_features(
    session: Session, code: str, filters: records.Filters | None
) -> tuple[dict, list[dict]]:
    """The community feature of ``code`` and its hazards narrowed by ``filters`` (checked)."""
    community = _community_feature(session, code)
    f = filters or records.Filters()
    if f.state is not None and f.state not in {s.value for s in m.HazardState}:
        raise InvalidInput(f"state {f.state!r} unknown")
    if f.category is not None and session.get(m.HazardCategory, f.category) is None:
        raise InvalidInput(f"category {f.category!r} is not in the catalogue")
    if f.since is not None and f.until is not None and f.since > f.until:
        raise InvalidInput(f"from ({f.since}) is after to ({f.until})")
    hazards, _ = records.query(session, replace(f, community=code), limit=None)
    return community, hazards


def hazard_data_url(code: str, filters: records.Filters | None, crs: str) -> str:
    """The page's URL of the compact hazards of ``code`` under the page's filters, in ``crs``."""
    f = filters or records.Filters()
    params = {
        "state": f.state,
        "category": f.category,
        "from": f.since.isoformat() if f.since else None,
        "to": f.until.isoformat() if f.until else None,
        "crs": crs if crs == GCJ02 else None,
    }
    query = urlencode({k: v for k, v in params.items() if v is not None})
    path = f"/maps/communities/{quote(code, safe='')}/hazards.geojson"
    return f"{path}?{query}" if query else path


def render_hazards(
    session: Session,
    settings: Settings,
    code: str,
    filters: records.Filters | None = None,
    assets: AssetMode | None = None,
) -> str:
    """The hazard map of community ``code``; ``filters`` narrow the hazards (its community is
    ignored). With many hazards a served page fetches them from ``hazards.geojson`` (same
    filters); a standalone page (``AssetMode.INLINE``) carries them inlined."""
    community, hazards = _hazard_features(session, code, filters)
    grids = collect(session, LAYERS["grids"], code)["features"]
    options = map_options(settings)
    data_url = None
    if assets is not AssetMode.INLINE and is_large(hazards):
        data_url = hazard_data_url(code, filters, overlay_crs(options["basemaps"]))
    return page_html(
        hazard_map(community, grids, hazards, data_url=data_url, **options),
        settings,
        assets,
    )


@router.get("/communities/{code}/hazards", response_class=HTMLResponse, summary="Hazard map")
def hazards_page(
    session: SessionDep,
    settings: SettingsDep,
    code: str,
    state: str | None = None,
    category: str | None = None,
    since: Annotated[dt.date | None, Query(alias="from")] = None,
    until: Annotated[dt.date | None, Query(alias="to")] = None,
) -> HTMLResponse:
    filters = records.Filters(state=state, category=category, since=since, until=until)
    return HTMLResponse(render_hazards(session, settings, code, filters))


@router.get(
    "/communities/{code}/hazards.geojson",
    summary="Hazards of the hazard map (compact GeoJSON)",
    response_class=Response,
    responses={200: {"content": {"application/geo+json": {}}}},
)
def hazards_geojson(
    session: SessionDep,
    code: str,
    state: str | None = None,
    category: str | None = None,
    since: Annotated[dt.date | None, Query(alias="from")] = None,
    until: Annotated[dt.date | None, Query(alias="to")] = None,
    crs: Literal["wgs84", "gcj02"] = "wgs84",
) -> Response:
    """The hazards the hazard map draws, with the same filters: points rounded to 6 decimals,
    only the properties of the tooltip and popup (raw text), no nulls. ``crs=gcj02`` gives
    them converted for a GCJ-02 basemap (the map page asks so over one)."""
    filters = records.Filters(state=state, category=category, since=since, until=until)
    _, hazards = _hazard_features(session, code, filters)
    if crs == GCJ02:
        hazards = transform_features(hazards, wgs84_to_gcj02)
    body = json.dumps(hazard_collection(hazards), ensure_ascii=False, separators=(",", ":"))
    return Response(body.encode("utf-8"), media_type="application/geo+json")


@router.get("/communities/{code}", response_class=HTMLResponse, summary="Community map")
def community_page(session: SessionDep, settings: SettingsDep, code: str) -> HTMLResponse:
    return HTMLResponse(render_community(session, settings, code))


@router.get("", response_class=HTMLResponse, summary="Index of the map pages")
def maps_index(session: SessionDep) -> HTMLResponse:
    """Every map page of every community, with links."""
    rows = session.execute(
        select(m.Community.code, m.Community.name).order_by(m.Community.code)
    ).all()
    items = "".join(
        f"<li>{escape(name)} ({escape(code)}): "
        + " · ".join(
            f'<a href="{escape(path.format(code=quote(code, safe="")))}">{escape(title)}</a>'
            for title, path in MAP_PAGES
        )
        for code, name in rows
    )
    return HTMLResponse(
        "<!doctype html><meta charset=utf-8><title>Gridline maps 地图</title>"
        '<h1>地图 Maps</h1><p><a href="/">Gridline</a></p>'
        f"<ul>{items or '<li>no communities yet'}</ul>"
    )
