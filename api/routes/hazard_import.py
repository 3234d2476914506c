"""Bulk import of hazards from CSV or GeoJSON, all or nothing (see geo.hazards.bulk).

Only admin, street and community office accounts import, and only inside their area.
"""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query

from api.auth import require
from api.deps import RawBodyDep, SessionDep
from geo.accounts import Principal
from geo.errors import UnsupportedMediaType
from geo.hazards import bulk
from geo.models import AccountRole

router = APIRouter(tags=["hazards"])

ImporterDep = Annotated[
    Principal, Depends(require(AccountRole.ADMIN, AccountRole.STREET, AccountRole.OFFICE))
]

FORMATS: dict[str, bulk.Format] = {
    "text/csv": "csv",
    "application/json": "geojson",
    "application/geo+json": "geojson",
}

BODY_DOC = {
    "requestBody": {
        "required": True,
        "description": "a CSV file with a header row, or a GeoJSON FeatureCollection of Points",
        "content": {
            "text/csv": {
                "schema": {"type": "string"},
                "example": "lon,lat,category,severity,description,origin,reporter\n"
                "120.7205,27.9702,blocked_corridor,high,楼道堆放杂物,patrol,章微琳\n",
            },
            "application/geo+json": {"schema": {"type": "object"}},
        },
    }
}


@router.post(
    "/hazards/import",
    status_code=201,
    summary="Import hazards from CSV or GeoJSON, routed, all or nothing",
    openapi_extra=BODY_DOC,
)
def import_hazards(
    session: SessionDep,
    principal: ImporterDep,
    body: RawBodyDep,
    format: Annotated[
        Literal["csv", "geojson"] | None,
        Query(description="csv or geojson; by default from the Content-Type"),
    ] = None,
    from_gcj02: Annotated[bool, Query(description="lon/lat are GCJ-02 (Gaode, Tencent)")] = False,
    content_type: Annotated[str | None, Header()] = None,
) -> dict[str, Any]:
    """Columns (CSV) or properties (GeoJSON): lon, lat (CSV only), category, severity,
    description, origin, reporter and optionally kind, reporter_contact, floor, reported_at.
    Every hazard is routed like a single report and gets its event rows. A bad row refuses the
    whole file with 422, naming every bad row (CSV rows numbered as in the file, the header
    being row 1; GeoJSON features by index). The ids are in file order; ids between first_id
    and last_id may belong to reports made at the same time. Admin, street and community
    office accounts only (403 otherwise); a row routed outside the account's area refuses the
    whole file with 403, naming the rows."""
    fmt = format or FORMATS.get((content_type or "").split(";")[0].strip().lower())
    if fmt is None:
        raise UnsupportedMediaType(
            f"content type {content_type!r}: send text/csv or GeoJSON, or give format"
        )
    source = "POST /hazards/import"
    result = bulk.import_data(
        session, body, fmt, from_gcj02=from_gcj02, source=source, by=principal
    )
    return result.summary()
