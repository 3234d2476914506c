"""Open311 GeoReport v2 (JSON) over hazards and residents' cases; see geo.hazards.open311.

Errors use the spec's body, a list of ``{"code": <HTTP status>, "description": ...}``: 400
for bad input, 403 for a point outside the area the account serves, 404 for an unknown request
(or one outside the account's scope). Only the JSON format is served.

``api_key`` is accepted and ignored: the signed-in account decides, as everywhere: requests
are read within its scope, submitted within its area.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from api.auth import PrincipalDep
from api.deps import SessionDep
from api.errors import ErrorBody
from api.responses import JSONResponse
from geo.errors import Forbidden, GridlineError, NotFound
from geo.hazards import open311


class SpecError(BaseModel):
    """One error as GeoReport v2 writes it; the body is a list of them."""

    code: int
    description: str


SPEC_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": list[SpecError], "description": "Bad input"},
    403: {
        "model": list[SpecError] | ErrorBody,
        "description": "The point is outside the area the account serves (Open311's body), "
        "or the account may not write (the API's)",
    },
    404: {"model": list[SpecError], "description": "No such request within the account's scope"},
}
"""The statuses answered in Open311's body; the others are the API's (api/errors.py)."""

router = APIRouter(prefix="/open311/v2", tags=["open311"], responses=SPEC_ERRORS)

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
FORM_FIELDS = (
    "service_code lat long description media_url first_name last_name email phone "
    "attribute[severity] address_string address_id jurisdiction_id device_id account_id api_key"
)
FORM_SCHEMA = {
    "type": "object",
    "required": ["service_code", "lat", "long"],
    "properties": {name: {"type": "string"} for name in FORM_FIELDS.split()},
}


def spec_error(status: int, description: str) -> JSONResponse:
    return JSONResponse([{"code": status, "description": description}], status_code=status)


def domain_error(exc: GridlineError) -> JSONResponse:
    status = 404 if isinstance(exc, NotFound) else 403 if isinstance(exc, Forbidden) else 400
    return spec_error(status, str(exc))


async def form_fields(request: Request) -> dict[str, str] | None:
    """The form's text fields; None when the body is not a form."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in FORM_TYPES:
        return None
    form = await request.form()
    return {key: value for key, value in form.multi_items() if isinstance(value, str)}


@router.get("/services.json", summary="Service list: the active hazard categories")
def services(session: SessionDep) -> list[dict[str, Any]]:
    return open311.services(session)


@router.post(
    "/requests.json",
    status_code=201,
    summary="Submit a resident's case (form-encoded; lat and long required)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/x-www-form-urlencoded": {"schema": FORM_SCHEMA}},
        }
    },
)
def create_request(
    session: SessionDep,
    principal: PrincipalDep,
    form: Annotated[dict[str, str] | None, Depends(form_fields)],
) -> JSONResponse:
    """Route the case like any report; nothing is written when it is refused."""
    if form is None:
        return spec_error(400, "send the request as application/x-www-form-urlencoded")
    try:
        with session.begin_nested():
            created = open311.submit(session, form, by=principal)
    except GridlineError as exc:
        return domain_error(exc)
    return JSONResponse([created], status_code=201)


@router.get("/requests.json", summary="Requests by id list, service, status and dates")
def list_requests(
    session: SessionDep,
    principal: PrincipalDep,
    service_request_id: str | None = None,
    service_code: str | None = None,
    start_date: str | None = None,
    end_date: str | None = None,
    status: str | None = None,
) -> JSONResponse:
    try:
        found = open311.find(
            session,
            service_request_id=service_request_id,
            service_code=service_code,
            start_date=start_date,
            end_date=end_date,
            status=status,
            scope=principal.scope,
        )
    except GridlineError as exc:
        return domain_error(exc)
    return JSONResponse(found)


@router.get("/requests/{service_request_id}.json", summary="One request (a list of one)")
def read_request(
    session: SessionDep, principal: PrincipalDep, service_request_id: str
) -> JSONResponse:
    try:
        return JSONResponse(open311.get(session, service_request_id, principal.scope))
    except GridlineError as exc:
        return domain_error(exc)
