"""Grid topology: gaps, overlaps, slivers, grids outside, in pieces or with holes; the repair;
the map of the problems.

Every signed-in account reads the reports and previews; admin, street and community office
accounts apply a repair, to a community in their area (else 404 as for an unknown code).
"""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from api.auth import PrincipalDep
from api.deps import SessionDep, SettingsDep
from api.routes.maps import community_feature, map_options, page_html
from geo import features, topology
from geo.accounts import Principal
from geo.db import Settings
from geo.export import collect
from geo.layers import LAYERS, require_role
from maps.assets import AssetMode
from maps.topology import topology_map

router = APIRouter(tags=["topology"])

MAX_SNAP_M = 10.0


def writer(principal: PrincipalDep) -> Principal:
    require_role(principal, "repair topology")
    return principal


SliverQuery = Annotated[
    float | None,
    Query(
        ge=0, description="pieces smaller than this (m²) are slivers (default GRIDLINE_SLIVER_M2)"
    ),
]
SnapQuery = Annotated[
    float,
    Query(ge=0, le=MAX_SNAP_M, description="vertices this close (m) are snapped onto a neighbour"),
]


@router.get(
    "/communities/{code}/topology",
    summary="Gaps, overlaps, slivers, grids outside, in pieces or with holes",
)
def community_topology(
    session: SessionDep, code: str, sliver_m2: SliverQuery = None
) -> dict[str, Any]:
    return topology.check(session, code, sliver_m2=sliver_m2)


@router.get("/topology", summary="Check every community, or those of a district or street")
def city_topology(
    session: SessionDep,
    within: Annotated[str | None, Query(description="district or street code")] = None,
    sliver_m2: SliverQuery = None,
) -> dict[str, Any]:
    """Totals, and the full report of each community with a problem."""
    return topology.check_all(session, within=within, sliver_m2=sliver_m2)


@router.get(
    "/communities/{code}/topology/repair", summary="Preview the repair of gaps and overlaps"
)
def preview_repair(session: SessionDep, code: str, snap_m: SnapQuery = 0.5) -> dict[str, Any]:
    """Where each gap and overlap would go, each changed grid with its new geometry and the
    area it gains and loses, and the problems that would remain (nothing is written)."""
    return topology.propose_repair(session, code, snap_m=snap_m)


@router.post(
    "/communities/{code}/topology/repair",
    summary="Repair gaps and overlaps: changed grids get a new version from today",
)
def apply_repair(
    session: SessionDep,
    principal: Annotated[Principal, Depends(writer)],
    code: str,
    snap_m: SnapQuery = 0.5,
) -> dict[str, Any]:
    features.community_in_area(session, code, principal)
    return topology.apply_repair(session, code, snap_m=snap_m)


def render_topology(
    session: Session,
    settings: Settings,
    code: str,
    assets: AssetMode | None = None,
    *,
    sliver_m2: float | None = None,
) -> str:
    """The map of the topology problems of community ``code`` as an HTML document."""
    community = community_feature(session, code)
    grids = collect(session, LAYERS["grids"], code)["features"]
    report = topology.check(session, code, sliver_m2=sliver_m2)
    return page_html(
        topology_map(community, grids, report, **map_options(settings)), settings, assets
    )


@router.get(
    "/maps/communities/{code}/topology",
    response_class=HTMLResponse,
    tags=["maps"],
    summary="Map of topology problems",
)
def topology_page(
    session: SessionDep, settings: SettingsDep, code: str, sliver_m2: SliverQuery = None
) -> HTMLResponse:
    return HTMLResponse(render_topology(session, settings, code, sliver_m2=sliver_m2))
