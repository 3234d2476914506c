"""Parking layouts of compounds: generate, read, check, import, compare, export, summarise.

Every signed-in account reads; admin, street and office accounts write (generate, check,
import, change status, generate for an uploaded site), for compounds of the communities in
their scope: another compound answers 404 like a missing one.
"""

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from api.auth import require
from api.deps import SessionDep
from geo.accounts import Principal
from geo.models import AccountRole, ParkingLayout
from geo.parking import service, store
from geo.parking.drawings import layout_dxf, site_plan_svg
from geo.parking.model import ParkingParams

router = APIRouter(tags=["parking"])

Crs = Annotated[Literal["wgs84", "gcj02"], Query(description="gcj02 for Chinese web maps")]
WriterDep = Annotated[
    Principal, Depends(require(AccountRole.ADMIN, AccountRole.STREET, AccountRole.OFFICE))
]


class GenerateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    params: ParkingParams = Field(default_factory=ParkingParams)
    note: str | None = Field(None, max_length=2000)


class LayoutIn(BaseModel):
    """A hand-drawn layout: a FeatureCollection of stall Polygons (``number``, ``kind``;
    aisles with ``layer: aisle``), checked with ``params``."""

    model_config = ConfigDict(extra="forbid")

    layout: dict[str, Any]
    params: ParkingParams = Field(default_factory=ParkingParams)
    note: str | None = Field(None, max_length=2000)


class SiteIn(BaseModel):
    """A site described in GeoJSON (see geo/parking/inputs.py), and the parameters."""

    model_config = ConfigDict(extra="forbid")

    site: dict[str, Any]
    params: ParkingParams = Field(default_factory=ParkingParams)


class StatusIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["draft", "approved", "painted"]
    note: str | None = Field(None, max_length=2000)


def _created(response: Response, session: SessionDep, row: ParkingLayout) -> dict[str, Any]:
    path = f"/compounds/{row.compound_id}/parking-layouts/{row.version}"
    response.headers["Location"] = path
    return store.layout_dict(session, row)


@router.post(
    "/compounds/{compound_id}/parking-layouts",
    status_code=201,
    summary="Generate a parking layout (kept as the next draft version)",
)
def generate_layout(
    session: SessionDep,
    principal: WriterDep,
    compound_id: int,
    response: Response,
    body: Annotated[GenerateIn | None, Body()] = None,
) -> dict[str, Any]:
    """Kerb-side stalls along the internal roads, pocket layouts in open paved areas, non-motor
    bays along entrance walls and accessible stalls, every figure from ``params`` (defaults:
    Chinese practice). The answer lists the stalls, bays, aisles, totals and any violation."""
    body = body or GenerateIn()
    row = service.generate_version(session, compound_id, body.params, body.note, principal)
    return _created(response, session, row)


@router.get(
    "/compounds/{compound_id}/parking-layouts", summary="A compound's layout versions (totals)"
)
def list_layouts(session: SessionDep, compound_id: int) -> list[dict[str, Any]]:
    return [store.summary_dict(session, r) for r in store.list_rows(session, compound_id)]


@router.post(
    "/compounds/{compound_id}/parking-layouts/check",
    summary="Check a hand-drawn layout against the compound (nothing is kept)",
)
def check_layout(
    session: SessionDep, principal: WriterDep, compound_id: int, body: LayoutIn, crs: Crs = "wgs84"
) -> dict[str, Any]:
    return service.check_layout(session, compound_id, body.layout, body.params, crs, principal)


@router.post(
    "/compounds/{compound_id}/parking-layouts/import",
    status_code=201,
    summary="Keep a hand-drawn layout as the next draft version",
)
def import_layout(
    session: SessionDep,
    principal: WriterDep,
    compound_id: int,
    body: LayoutIn,
    response: Response,
    crs: Crs = "wgs84",
) -> dict[str, Any]:
    row = service.import_version(
        session, compound_id, body.layout, body.params, crs=crs, note=body.note, by=principal
    )
    return _created(response, session, row)


@router.get(
    "/compounds/{compound_id}/parking-layouts/compare",
    summary="Two versions compared: stalls added and removed, totals changed",
)
def compare_layouts(
    session: SessionDep,
    compound_id: int,
    a: Annotated[int, Query(description="the earlier version")],
    b: Annotated[int, Query(description="the later version")],
) -> dict[str, Any]:
    return store.compare(
        session, store.get_row(session, compound_id, a), store.get_row(session, compound_id, b)
    )


@router.get(
    "/compounds/{compound_id}/parking-layouts/{version}",
    summary="One layout version: stalls, bays, aisles, totals, violations",
)
def get_layout(session: SessionDep, compound_id: int, version: int) -> dict[str, Any]:
    return store.layout_dict(session, store.get_row(session, compound_id, version))


@router.patch(
    "/compounds/{compound_id}/parking-layouts/{version}",
    summary="Approve a layout, mark it painted (or back to draft)",
)
def set_status(
    session: SessionDep, principal: WriterDep, compound_id: int, version: int, body: StatusIn
) -> dict[str, Any]:
    row = store.get_row(session, compound_id, version, principal)
    store.set_status(session, row, body.status, body.note)
    return store.summary_dict(session, row)


EXPORT_TYPES = {
    "geojson": "application/geo+json",
    "dxf": "image/vnd.dxf",
    "svg": "image/svg+xml",
}


@router.get(
    "/compounds/{compound_id}/parking-layouts/{version}/export",
    summary="The layout for the painting crew: GeoJSON (WGS84), DXF (metres), SVG site plan",
    response_class=Response,
    responses={200: {"content": {t: {} for t in EXPORT_TYPES.values()}}},
)
def export_layout(
    session: SessionDep,
    compound_id: int,
    version: int,
    format: Literal["geojson", "dxf", "svg"] = "geojson",
    scale: Annotated[int, Query(ge=50, le=5000, description="SVG scale 1:N")] = 500,
) -> Response:
    """GeoJSON: stalls and bays with their painted lines; DXF: the local metric CRS (a layer
    per stall kind, numbers, the site for reference); SVG: a printable plan at 1:``scale``
    with scale bar and north arrow."""
    row = store.get_row(session, compound_id, version)
    name = f"parking-{compound_id}-v{version}"
    if format == "geojson":
        body = store.layout_dict(session, row)
        features = body["stalls"]["features"] + body["bays"]["features"]
        content = json.dumps(
            {"type": "FeatureCollection", "features": features}, ensure_ascii=False
        ).encode()
    else:
        layout, loaded, _ = store.load(session, row)
        compound = store.summary_dict(session, row)["compound"]["name"] or ""
        title = f"{compound} 停车位规划 v{version} ({row.status})"
        if format == "dxf":
            content = layout_dxf(layout, loaded.site, title=title, crs=loaded.projection.crs.name)
        else:
            content = site_plan_svg(layout, loaded.site, title=title, scale=scale).encode()
    return Response(
        content,
        media_type=EXPORT_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="{name}.{format}"'},
    )


@router.post(
    "/parking-layouts/generate",
    summary="Generate a layout for a site given in GeoJSON (nothing is kept)",
)
def generate_for_site(_: WriterDep, body: SiteIn, crs: Crs = "wgs84") -> dict[str, Any]:
    return service.generate_for_site(body.site, body.params, crs)


@router.get(
    "/communities/{code}/parking-summary",
    summary="Every compound's current layout and the community's totals",
)
def parking_summary(session: SessionDep, code: str) -> dict[str, Any]:
    """Per compound the newest painted layout, else approved, else draft; totals as the
    community reports them: compounds, car spaces, metres of non-motor lines."""
    return store.community_summary(session, code)
