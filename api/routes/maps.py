"""Maps served as standalone HTML pages, and the index of them.

The hazard map and its data show only the hazards inside the account's scope; the hazard map of
a community the scope does not touch is 404, like a missing community's. The other maps are
reference data, open to every signed-in account.
"""

import datetime as dt
import json
import logging
from dataclasses import replace
from html import escape
from typing import Annotated, Literal, TypedDict
from urllib.parse import quote, urlencode

import folium
from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from api.auth import PrincipalDep
from api.deps import SessionDep, SettingsDep
from api.responses import GeoJSONResponse
from geo import models as m
from geo.accounts import Principal
from geo.crs import wgs84_to_gcj02
from geo.db import Settings
from geo.errors import InvalidInput, NotFound
from geo.export import collect
from geo.features import list_features
from geo.hazards import records
from geo.layers import LAYERS
from geo.patrol.views import readable_plans
from geo.planning import community_id, planner_input
from maps.assets import INSTALL_HINT, AssetMode, missing_assets
from maps.assignment import assignment_map
from maps.base import to_html
from maps.basemaps import GCJ02, Basemap, CoordTransform, basemap, overlay_crs, transform_features
from maps.city import city_map, grid_collection
from maps.community import community_map
from maps.hazards import HazardSummary, hazard_collection, hazard_map

router = APIRouter(prefix="/maps", tags=["maps"])
log = logging.getLogger(__name__)

MAP_PAGES: tuple[tuple[str, str], ...] = (
    ("社区地图 Community map", "/maps/communities/{code}"),
    ("AB角地图 A/B roles map", "/maps/communities/{code}/assignments"),
    ("隐患地图 Hazard map", "/maps/communities/{code}/hazards"),
    ("拓扑检查 Topology", "/maps/communities/{code}/topology"),
)
"""Every map page of a community: its title and path (``{code}``: the community code)."""

CityKind = Literal["district", "street"]
CITY_PAGES: dict[CityKind, tuple[str, str]] = {
    "district": ("区地图 District map", "/maps/districts/{code}"),
    "street": ("街道地图 Street map", "/maps/streets/{code}"),
}
"""The city map of a district and of a street: its title and path (``{code}``: its code)."""


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


def community_feature(session: Session, code: str) -> dict:
    page = list_features(session, LAYERS["communities"], code=code)
    if not page.features:
        raise NotFound(f"community {code!r} not found")
    return page.features[0]


def render_community(
    session: Session, settings: Settings, code: str, assets: AssetMode | None = None
) -> str:
    """The community map of ``code`` as an HTML document (``assets``: see ``page_html``)."""
    community = community_feature(session, code)
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
    community = community_feature(session, code)
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


def _hazard_filters(
    session: Session, code: str, filters: records.Filters | None
) -> tuple[dict, records.Filters]:
    """The community feature of ``code`` and ``filters`` (checked) narrowed to it; NotFound
    when the filters' scope does not touch the community."""
    community = community_feature(session, code)
    f = filters or records.Filters()
    records.require_community(session, f.scope, community["id"], f"community {code!r} not found")
    if f.state is not None and f.state not in {s.value for s in m.HazardState}:
        raise InvalidInput(f"state {f.state!r} unknown")
    if f.category is not None and session.get(m.HazardCategory, f.category) is None:
        raise InvalidInput(f"category {f.category!r} is not in the catalogue")
    if f.since is not None and f.until is not None and f.since > f.until:
        raise InvalidInput(f"from ({f.since}) is after to ({f.until})")
    return community, replace(f, community=code)


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
    *,
    standalone: bool = False,
) -> str:
    """The hazard map of community ``code``; ``filters`` narrow the hazards (its community is
    ignored, its scope is the reader's). With many hazards a served page fetches them from
    ``hazards.geojson`` (same filters); a ``standalone`` file (the CLI's) carries them inlined,
    whatever its assets."""
    community, f = _hazard_filters(session, code, filters)
    grids = collect(session, LAYERS["grids"], code)["features"]
    options = map_options(settings)
    hazards: list[dict] | HazardSummary
    data_url = None
    summary = None if standalone else HazardSummary.from_groups(records.counts(session, f))
    if summary is not None and summary.large:
        hazards = summary
        data_url = hazard_data_url(code, filters, overlay_crs(options["basemaps"]))
    else:
        hazards, _ = records.query(session, f, limit=None)
    return page_html(
        hazard_map(community, grids, hazards, data_url=data_url, **options),
        settings,
        assets,
    )


@router.get("/communities/{code}/hazards", response_class=HTMLResponse, summary="Hazard map")
def hazards_page(
    session: SessionDep,
    settings: SettingsDep,
    principal: PrincipalDep,
    code: str,
    state: str | None = None,
    category: str | None = None,
    since: Annotated[dt.date | None, Query(alias="from")] = None,
    until: Annotated[dt.date | None, Query(alias="to")] = None,
) -> HTMLResponse:
    filters = records.Filters(
        state=state, category=category, since=since, until=until, scope=principal.scope
    )
    return HTMLResponse(render_hazards(session, settings, code, filters))


@router.get(
    "/communities/{code}/hazards.geojson",
    summary="Hazards of the hazard map (compact GeoJSON)",
    response_class=GeoJSONResponse,
)
def hazards_geojson(
    session: SessionDep,
    principal: PrincipalDep,
    code: str,
    state: str | None = None,
    category: str | None = None,
    since: Annotated[dt.date | None, Query(alias="from")] = None,
    until: Annotated[dt.date | None, Query(alias="to")] = None,
    crs: Literal["wgs84", "gcj02"] = "wgs84",
) -> GeoJSONResponse:
    """The hazards the hazard map draws, with the same filters: points rounded to 6 decimals,
    only the properties of the tooltip and popup (raw text), no nulls. ``crs=gcj02`` gives
    them converted for a GCJ-02 basemap (the map page asks so over one)."""
    filters = records.Filters(
        state=state, category=category, since=since, until=until, scope=principal.scope
    )
    _, f = _hazard_filters(session, code, filters)
    hazards, _ = records.query(session, f, limit=None)
    if crs == GCJ02:
        hazards = transform_features(hazards, wgs84_to_gcj02)
    return GeoJSONResponse(hazard_collection(hazards))


@router.get("/communities/{code}", response_class=HTMLResponse, summary="Community map")
def community_page(session: SessionDep, settings: SettingsDep, code: str) -> HTMLResponse:
    return HTMLResponse(render_community(session, settings, code))


# --- city maps: a district or street with all its communities and grids -------------------

_CITY_MODELS: dict[CityKind, type[m.District] | type[m.Street]] = {
    "district": m.District,
    "street": m.Street,
}


def _geometry(geojson: str) -> dict:
    return json.loads(geojson)


def _city_area(session: Session, kind: CityKind, code: str) -> tuple[int, dict]:
    """The id and Feature (name, code, kind) of the district or street ``code``."""
    model = _CITY_MODELS[kind]
    row = session.execute(
        select(model.id, model.name, func.ST_AsGeoJSON(model.geom, 6)).where(model.code == code)
    ).one_or_none()
    if row is None:
        raise NotFound(f"{kind} {code!r} not found")
    area_id, name, geometry = row
    feature = {
        "type": "Feature",
        "geometry": _geometry(geometry),
        "properties": {"name": name, "code": code, "kind": kind},
    }
    return area_id, feature


def _in_city(kind: CityKind, area_id: int) -> ColumnElement[bool]:
    """The condition on ``Community`` of lying in the district or street ``area_id``."""
    if kind == "street":
        return m.Community.street_id == area_id
    streets = select(m.Street.id).where(m.Street.district_id == area_id)
    return m.Community.street_id.in_(streets)


def _city_communities(session: Session, kind: CityKind, area_id: int) -> list[dict]:
    rows = session.execute(
        select(m.Community.code, m.Community.name, func.ST_AsGeoJSON(m.Community.geom, 6))
        .where(_in_city(kind, area_id))
        .order_by(m.Community.code)
    ).all()
    return [
        {"type": "Feature", "geometry": _geometry(g), "properties": {"code": c, "name": n}}
        for c, n, g in rows
    ]


def _city_grid_count(session: Session, kind: CityKind, area_id: int) -> int:
    return (
        session.scalar(
            select(func.count(m.Grid.id))
            .join(m.Community, m.Grid.community_id == m.Community.id)
            .where(_in_city(kind, area_id), m.Grid.valid_to.is_(None))
        )
        or 0
    )


def _city_grids(session: Session, kind: CityKind, area_id: int) -> list[dict]:
    """The current grids of the city, geometry rounded to 6 decimals by PostGIS."""
    rows = session.execute(
        select(
            m.Grid.code,
            m.Community.code,
            m.Grid.name,
            m.Grid.households,
            func.ST_AsGeoJSON(m.Grid.geom, 6),
        )
        .join(m.Community, m.Grid.community_id == m.Community.id)
        .where(_in_city(kind, area_id), m.Grid.valid_to.is_(None))
        .order_by(m.Community.code, m.Grid.code)
    ).all()
    return [
        {
            "type": "Feature",
            "geometry": _geometry(geometry),
            "properties": {"code": code, "community": community, "name": name, "households": h},
        }
        for code, community, name, h, geometry in rows
    ]


def city_data_url(kind: CityKind, code: str, crs: str) -> str:
    """The city page's URL of its compact grids, in ``crs``."""
    path = f"/maps/{kind}s/{quote(code, safe='')}/grids.geojson"
    return f"{path}?crs={GCJ02}" if crs == GCJ02 else path


def render_city(
    session: Session,
    settings: Settings,
    kind: CityKind,
    code: str,
    assets: AssetMode | None = None,
    *,
    inline_grids: bool | None = None,
) -> str:
    """The city map of district or street ``code``. A served page fetches its grids from
    ``grids.geojson``; a standalone page (``inline_grids``, by default when ``assets`` is
    ``AssetMode.INLINE``) carries them inlined."""
    area_id, area = _city_area(session, kind, code)
    communities = _city_communities(session, kind, area_id)
    options = map_options(settings)
    if inline_grids is None:
        inline_grids = assets is AssetMode.INLINE
    if inline_grids:
        grids = _city_grids(session, kind, area_id)
        built = city_map(area, communities, grids, **options)
    else:
        built = city_map(
            area,
            communities,
            data_url=city_data_url(kind, code, overlay_crs(options["basemaps"])),
            grid_count=_city_grid_count(session, kind, area_id),
            **options,
        )
    return page_html(built, settings, assets)


def city_kind(session: Session, code: str) -> CityKind:
    """Whether ``code`` is a district's or a street's (``NotFound`` if neither)."""
    for kind, model in _CITY_MODELS.items():
        if session.scalar(select(model.id).where(model.code == code)) is not None:
            return kind
    raise NotFound(f"no district or street {code!r}")


def city_grids_geojson(session: Session, kind: CityKind, code: str, crs: str) -> GeoJSONResponse:
    area_id, _ = _city_area(session, kind, code)
    grids = _city_grids(session, kind, area_id)
    if crs == GCJ02:
        grids = transform_features(grids, wgs84_to_gcj02)
    return GeoJSONResponse(grid_collection(grids))


GRIDS_GEOJSON_DOC = (
    "The grids the city map draws: coordinates rounded to 6 decimals, properties code, "
    "community (its code), name and households only. ``crs=gcj02`` gives them converted for a "
    "GCJ-02 basemap (the map page asks so over one)."
)


@router.get("/districts/{code}", response_class=HTMLResponse, summary="District map")
def district_page(session: SessionDep, settings: SettingsDep, code: str) -> HTMLResponse:
    return HTMLResponse(render_city(session, settings, "district", code))


@router.get("/streets/{code}", response_class=HTMLResponse, summary="Street map")
def street_page(session: SessionDep, settings: SettingsDep, code: str) -> HTMLResponse:
    return HTMLResponse(render_city(session, settings, "street", code))


@router.get(
    "/districts/{code}/grids.geojson",
    summary="Grids of the district map (compact GeoJSON)",
    description=GRIDS_GEOJSON_DOC,
    response_class=GeoJSONResponse,
)
def district_grids(
    session: SessionDep, code: str, crs: Literal["wgs84", "gcj02"] = "wgs84"
) -> GeoJSONResponse:
    return city_grids_geojson(session, "district", code, crs)


@router.get(
    "/streets/{code}/grids.geojson",
    summary="Grids of the street map (compact GeoJSON)",
    description=GRIDS_GEOJSON_DOC,
    response_class=GeoJSONResponse,
)
def street_grids(
    session: SessionDep, code: str, crs: Literal["wgs84", "gcj02"] = "wgs84"
) -> GeoJSONResponse:
    return city_grids_geojson(session, "street", code, crs)


@router.get("", response_class=HTMLResponse, summary="Index of the map pages")
def maps_index(session: SessionDep, principal: PrincipalDep) -> HTMLResponse:
    """Every map page: the city map of every district and street, then every community's, then
    the latest patrols the account may read."""
    rows = session.execute(
        select(m.Community.code, m.Community.name).order_by(m.Community.code)
    ).all()
    cities = []
    for kind, model in _CITY_MODELS.items():
        title, path = CITY_PAGES[kind]
        for code, name in session.execute(select(model.code, model.name).order_by(model.code)):
            href = escape(path.format(code=quote(code, safe="")))
            cities.append(
                f'<li><a href="{href}">{escape(title)}: {escape(name)} ({escape(code)})</a>'
            )
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
        f"<h2>城市地图 City maps</h2><ul>{''.join(cities) or '<li>no districts yet'}</ul>"
        f"<h2>社区地图 Community maps</h2><ul>{items or '<li>no communities yet'}</ul>"
        f"<h2>巡查 Patrols (latest {PATROLS_LISTED})</h2>"
        f"<ul>{_patrol_items(session, principal)}</ul>"
    )


PATROLS_LISTED = 20


def _patrol_items(session: Session, principal: Principal) -> str:
    """Links to the latest patrol plans (and their tracks) and village days ``principal`` may
    read."""
    plans = session.execute(
        select(m.PatrolPlan.id, m.PatrolPlan.day, m.Worker.name, m.PatrolPlan.village_day_id)
        .outerjoin(m.Worker, m.Worker.id == m.PatrolPlan.worker_id)
        .where(readable_plans(session, principal))
        .order_by(m.PatrolPlan.id.desc())
        .limit(PATROLS_LISTED)
    ).all()
    tracked = set(
        session.scalars(
            select(m.PatrolTrack.plan_id).where(m.PatrolTrack.plan_id.in_([p[0] for p in plans]))
        )
    )
    items, days = [], set()
    for plan_id, day, worker, village_day in plans:
        if village_day is not None:
            if village_day not in days:
                days.add(village_day)
                items.append(
                    f'<li><a href="/maps/village-days/{village_day}">巡查日 Village day '
                    f"{village_day}</a> ({day})"
                )
            continue
        track = (
            f' · <a href="/maps/patrols/{plan_id}/track">轨迹 Track</a>'
            if plan_id in tracked
            else ""
        )
        items.append(
            f'<li><a href="/maps/patrols/{plan_id}">巡查计划 Plan {plan_id}</a>: '
            f"{escape(worker or '')} ({day}){track}"
        )
    return "".join(items) or "<li>no patrol plans yet"
