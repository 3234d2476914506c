"""Hazards and residents' cases: report, query, the closed loop, photos, the catalogue.

Every read and change is limited to the account's scope (a hazard outside it answers 404 like
a missing one); reports outside it are refused with 403; viewers see no reporter.
"""

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Header, Query, Request, UploadFile
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from api.auth import AdminDep, PrincipalDep
from api.deps import BboxDep, PagingDep, SessionDep, SettingsDep
from api.responses import GeoJSONResponse, content
from api.routes.features import page_links
from geo import models as m
from geo.accounts import Principal
from geo.errors import InvalidInput
from geo.hazards import photos, records
from geo.hazards.records import Filters, Report

router = APIRouter(tags=["hazards"])

Text = Annotated[str, Field(min_length=1, max_length=4000)]
Name = Annotated[str, Field(min_length=1, max_length=200)]


class ReportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["hazard", "case"] = "hazard"
    category: str
    severity: Literal["low", "medium", "high", "critical"]
    description: Text
    lon: float
    lat: float
    crs: Literal["wgs84", "gcj02"] = "wgs84"
    origin: Literal["patrol", "resident", "inspection", "hotline"]
    reporter: Name
    reporter_contact: Annotated[str | None, Field(max_length=200)] = None
    building_id: int | None = None
    floor: Annotated[int | None, Field(ge=-10, le=200)] = None


class TransitionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: Literal["dispatched", "rectifying", "rectified", "verified", "rejected"]
    actor: Name
    note: Annotated[str | None, Field(max_length=4000)] = None
    assignee_id: int | None = None


class MergeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    into: int
    actor: Name
    note: Annotated[str | None, Field(max_length=4000)] = None


class CategoryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{1,47}$")]
    group: Annotated[str, Field(min_length=1, max_length=32)]
    name: Name
    name_zh: Name
    active: bool = True


IfMatch = Annotated[str | None, Header(description="the ETag from GET /hazards/{id}")]


def shown(principal: Principal, feature: dict[str, Any]) -> dict[str, Any]:
    """``feature`` with its personal properties nulled unless ``principal`` may see them."""
    return {**feature, "properties": principal.mask(feature["properties"])}


def shown_event(principal: Principal, event: dict[str, Any]) -> dict[str, Any]:
    """An event; the actor of "reported" is the reporter, personal data like them."""
    return principal.mask(event, {"actor"}) if event["action"] == "reported" else event


def with_etag(feature: dict[str, Any], status: int = 200) -> GeoJSONResponse:
    etag = f'"{feature["id"]}-{feature["properties"]["version"]}"'
    return GeoJSONResponse(feature, status_code=status, headers={"ETag": etag})


@router.get("/hazard-categories", summary="The category catalogue")
def categories(session: SessionDep) -> list[dict[str, Any]]:
    rows = session.scalars(select(m.HazardCategory).order_by(m.HazardCategory.group, "code"))
    return [
        {"code": c.code, "group": c.group, "name": c.name, "name_zh": c.name_zh, "active": c.active}
        for c in rows
    ]


@router.put("/hazard-categories/{code}", summary="Add or change a category (admin)")
def put_category(session: SessionDep, _: AdminDep, code: str, body: CategoryIn) -> dict[str, Any]:
    if body.code != code:
        raise InvalidInput(f"code in the body ({body.code}) differs from the URL ({code})")
    row = session.get(m.HazardCategory, code) or m.HazardCategory(code=code)
    row.group, row.name, row.name_zh, row.active = body.group, body.name, body.name_zh, body.active
    session.add(row)
    session.flush()
    return body.model_dump()


@router.post(
    "/hazards",
    status_code=201,
    summary="Report a hazard or a resident's case",
    response_class=GeoJSONResponse,
)
def report_hazard(session: SessionDep, principal: PrincipalDep, body: ReportIn) -> GeoJSONResponse:
    """403 when the point is routed outside the area the account serves."""
    hazard, duplicates = records.report(session, Report(**body.model_dump()), by=principal)
    feature = records.get(session, hazard.id)
    feature["possible_duplicates"] = duplicates
    response = with_etag(feature, 201)
    response.headers["Location"] = f"/hazards/{hazard.id}"
    return response


def _point(near: str | None) -> tuple[float, float] | None:
    if near is None:
        return None
    try:
        lon, lat = (float(v) for v in near.split(","))
    except ValueError:
        raise InvalidInput(f"near {near!r}: lon,lat expected") from None
    return lon, lat


@router.get(
    "/hazards",
    summary="Hazards by place, category, state, dates, bbox or radius",
    response_class=GeoJSONResponse,
)
def list_hazards(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    page: PagingDep,
    bbox: BboxDep,
    community: str | None = None,
    grid_id: int | None = None,
    compound_id: int | None = None,
    category: str | None = None,
    state: str | None = None,
    kind: Literal["hazard", "case"] | None = None,
    since: Annotated[dt.date | None, Query(alias="from")] = None,
    until: Annotated[dt.date | None, Query(alias="to")] = None,
    near: Annotated[str | None, Query(description="lon,lat (WGS84)")] = None,
    radius_m: Annotated[float | None, Query(gt=0, le=50_000)] = None,
    overdue: Annotated[bool, Query(description="open and past the deadline")] = False,
    unrouted: Annotated[bool, Query(description="the community office's queue")] = False,
) -> GeoJSONResponse:
    limit, offset = page
    if state is not None and state not in {s.value for s in m.HazardState}:
        raise InvalidInput(f"state {state!r} unknown")
    filters = Filters(
        community=community,
        grid_id=grid_id,
        compound_id=compound_id,
        category=category,
        state=state,
        kind=kind,
        since=since,
        until=until,
        bbox=bbox,
        near=_point(near),
        radius_m=radius_m,
        overdue=overdue,
        unrouted=unrouted,
        scope=principal.scope,
    )
    features, total = records.query(session, filters, limit, offset)
    body = {
        "type": "FeatureCollection",
        "features": [shown(principal, f) for f in features],
        "numberMatched": total,
        "numberReturned": len(features),
        "links": page_links(request, limit, offset, len(features), total),
    }
    return GeoJSONResponse(body)


@router.get(
    "/hazards/{hazard_id}", summary="One hazard, with its ETag", response_class=GeoJSONResponse
)
def read_hazard(session: SessionDep, principal: PrincipalDep, hazard_id: int) -> GeoJSONResponse:
    return with_etag(shown(principal, records.get(session, hazard_id, principal.scope)))


@router.post(
    "/hazards/{hazard_id}/transition",
    summary="Move a hazard along the loop (If-Match)",
    response_class=GeoJSONResponse,
)
def transition(
    session: SessionDep,
    principal: PrincipalDep,
    hazard_id: int,
    body: TransitionIn,
    if_match: IfMatch = None,
) -> GeoJSONResponse:
    records.transition(
        session,
        hazard_id,
        body.to,
        body.actor,
        if_match,
        body.note,
        body.assignee_id,
        scope=principal.scope,
    )
    return with_etag(records.get(session, hazard_id))


@router.post(
    "/hazards/{hazard_id}/merge",
    summary="Mark as duplicate of another (If-Match)",
    response_class=GeoJSONResponse,
)
def merge(
    session: SessionDep,
    principal: PrincipalDep,
    hazard_id: int,
    body: MergeIn,
    if_match: IfMatch = None,
) -> GeoJSONResponse:
    """Both hazards must be inside the account's scope (404 otherwise)."""
    records.merge(
        session, hazard_id, body.into, body.actor, if_match, body.note, scope=principal.scope
    )
    return with_etag(records.get(session, hazard_id))


@router.get("/hazards/{hazard_id}/events", summary="History, with merged duplicates'")
def hazard_events(
    session: SessionDep, principal: PrincipalDep, hazard_id: int
) -> list[dict[str, Any]]:
    return [shown_event(principal, e) for e in records.events(session, hazard_id, principal.scope)]


@router.post("/hazards/{hazard_id}/photos", status_code=201, summary="Attach a photo")
def upload_photo(
    session: SessionDep,
    settings: SettingsDep,
    principal: PrincipalDep,
    hazard_id: int,
    file: Annotated[UploadFile, File(description="JPEG, PNG or WebP")],
    uploaded_by: Annotated[str, Form(min_length=1, max_length=200)],
) -> dict[str, Any]:
    data = file.file.read(settings.photo_max_bytes + 1)
    return photos.add_photo(session, hazard_id, data, uploaded_by, principal.scope)


@router.get("/hazards/{hazard_id}/photos", summary="Photos of a hazard")
def hazard_photos(
    session: SessionDep, principal: PrincipalDep, hazard_id: int
) -> list[dict[str, Any]]:
    return photos.list_photos(session, hazard_id, principal.scope)


@router.get(
    "/hazards/{hazard_id}/photos/{photo_id}",
    summary="One photo",
    response_class=FileResponse,
    responses=content("image/jpeg", "image/png", "image/webp"),
)
def photo(
    session: SessionDep, principal: PrincipalDep, hazard_id: int, photo_id: int
) -> FileResponse:
    path, media_type = photos.photo_file(session, hazard_id, photo_id, principal.scope)
    return FileResponse(path, media_type=media_type)
