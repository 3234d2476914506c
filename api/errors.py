"""The one place where domain exceptions become HTTP statuses. No database text leaks out.

A database that cannot be reached (stopped, restarting, refusing connections) or a pool with no
connection free in time gives 503 with Retry-After, whatever path the request took (the ORM's
engine or the asyncio read pool): clients retry, nothing is half-written (each request is one
transaction), and the next request after the database is back succeeds.
"""

from __future__ import annotations

import logging
import math
from typing import Any
from urllib.parse import quote

import psycopg
from fastapi import FastAPI, Request
from fastapi.openapi.constants import REF_TEMPLATE
from fastapi.responses import RedirectResponse, Response
from psycopg import errors as pg_errors
from psycopg_pool import PoolTimeout
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
from sqlalchemy.exc import DBAPIError, DisconnectionError, IntegrityError
from sqlalchemy.exc import TimeoutError as EnginePoolTimeout

from api.responses import JSONResponse
from geo.errors import (
    BadRequest,
    Conflict,
    FeaturesRejected,
    Forbidden,
    GridlineError,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    PreconditionFailed,
    PreconditionRequired,
    TooManyRequests,
    Unauthorized,
    UnsupportedMediaType,
)

log = logging.getLogger("gridline.api")

RETRY_AFTER_S = 5
"""Retry-After of a 503: about what a database restart or a burst of load takes."""
SERVER_GONE = frozenset({"57P01", "57P02", "57P03"})
"""admin_shutdown, crash_shutdown, cannot_connect_now (starting up or shutting down)."""

STATUS: dict[type[GridlineError], int] = {
    NotFound: 404,
    Unauthorized: 401,
    Forbidden: 403,
    TooManyRequests: 429,
    InvalidInput: 422,
    BadRequest: 400,
    Conflict: 409,
    PreconditionFailed: 412,
    PreconditionRequired: 428,
    PayloadTooLarge: 413,
    UnsupportedMediaType: 415,
}


class Problem(BaseModel):
    """One refused feature of an import."""

    index: int
    label: str
    reason: str


class ErrorBody(BaseModel):
    """Every error answer but Open311's own: ``detail`` says why (for FastAPI's own request
    checks, the list of fields in error); ``problems`` names each refused feature of an import."""

    detail: str | list[dict[str, Any]]
    problems: list[Problem] | None = None


ERRORS: dict[int, str] = {
    400: "Bad request: a body that cannot be parsed, or a malformed query (OGC)",
    401: "Not signed in: wrong credentials, or no valid token (missing, expired, revoked)",
    403: "The account's role or area does not allow this",
    404: "Not found, or outside the account's scope",
    409: "Conflicts with the current state or with existing data",
    412: "If-Match names an older version (ETag) than the current one",
    413: "The body or file is larger than allowed",
    415: "The body's media type is not one the route reads",
    422: "Invalid input: the reason, or the fields in error",
    428: "If-Match is required (the current ETag)",
    429: "Too many requests (sign-in attempts, or writes of the account); see Retry-After",
    503: "The database is unavailable, overloaded or too slow; see Retry-After",
}
"""The error statuses of the API and when each happens."""
RETRY_AFTER = {
    "Retry-After": {
        "description": "seconds to wait before retrying",
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
    }
}


SCHEMAS = models_json_schema([(ErrorBody, "serialization")], ref_template=REF_TEMPLATE)[1]["$defs"]
"""ErrorBody and Problem, for the API document's components (see ``install``)."""
ERROR_CONTENT = {"application/json": {"schema": {"$ref": REF_TEMPLATE.format(model="ErrorBody")}}}


def documented(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` documenting ``statuses`` as ERRORS describes them, each an ErrorBody in
    JSON. The content is spelled out: with ``model`` FastAPI would give it the route's media
    type (GeoJSON, HTML...)."""
    return {
        status: {"description": ERRORS[status], "content": ERROR_CONTENT}
        | ({"headers": RETRY_AFTER} if status in (429, 503) else {})
        for status in statuses
    }


RESPONSES = documented(*ERRORS)
"""Responses documented on every signed-in route (``include_router(..., responses=...)``)."""
PUBLIC_RESPONSES = documented(400, 401, 422, 429, 503)
"""Responses documented on signing in."""


def data_error(orig: psycopg.DataError) -> str | None:
    """What is wrong with a value the database refused, when the request's values are the cause."""
    if isinstance(orig, pg_errors.NumericValueOutOfRange):
        return "a number is out of range"
    if isinstance(orig, pg_errors.StringDataRightTruncation):
        return "a text is longer than allowed"
    if orig.sqlstate is None:  # refused by psycopg before sending: text with a NUL character
        return "text must not contain NUL (0x00) characters"
    return None


def _status(exc: GridlineError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


async def domain_error(request: Request, exc: GridlineError) -> Response:
    if (
        isinstance(exc, Unauthorized)
        and request.method == "GET"
        and "text/html" in request.headers.get("accept", "")
    ):  # a browser opening a map page: to the sign-in form, and back
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
    body: dict = {"detail": str(exc)}
    if isinstance(exc, FeaturesRejected):
        body["problems"] = [
            {"index": p.index, "label": p.label, "reason": p.reason} for p in exc.problems
        ]
    headers: dict[str, str] = {}
    if isinstance(exc, Unauthorized):
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(exc, TooManyRequests):
        headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after_s)))
    return JSONResponse(body, status_code=_status(exc), headers=headers)


def unavailable(detail: str) -> JSONResponse:
    return JSONResponse(
        {"detail": detail},
        503,
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


def _unreachable(exc: Exception) -> bool:
    """Whether ``exc`` says the connection to the server is gone or cannot be made."""
    if isinstance(exc, DisconnectionError):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    orig = getattr(exc, "orig", exc)
    if not isinstance(orig, pg_errors.OperationalError):
        return False
    state = orig.sqlstate  # None: failed on the client side (refused, closed, lost)
    return state is None or state.startswith("08") or state in SERVER_GONE


async def database_error(
    request: Request, exc: DBAPIError | pg_errors.Error | DisconnectionError | EnginePoolTimeout
) -> JSONResponse:
    orig = getattr(exc, "orig", exc)
    where = f"{request.method} {request.url.path}"
    if isinstance(orig, pg_errors.QueryCanceled):
        return unavailable("the query took too long and was cancelled")
    if isinstance(orig, EnginePoolTimeout | PoolTimeout):
        log.warning("no database connection free in time on %s", where)
        return unavailable(
            "no database connection came free in time (overloaded or unreachable);"
            " retry in a few seconds"
        )
    if _unreachable(exc):
        log.warning("database unreachable on %s: %s", where, orig)
        return unavailable(
            "the database is unavailable (restarting or unreachable); retry in a few seconds"
        )
    if isinstance(orig, pg_errors.OperationalError):
        log.warning("database operational error on %s: %s", where, orig)
        return unavailable("the database could not complete the request; retry in a few seconds")
    if isinstance(exc, IntegrityError | pg_errors.IntegrityError):
        return JSONResponse({"detail": "the change conflicts with existing data"}, 409)
    if isinstance(orig, psycopg.DataError) and (detail := data_error(orig)):
        return JSONResponse({"detail": detail}, 422)
    log.exception("database error on %s", where)
    return JSONResponse({"detail": "database error"}, 500)


def install(app: FastAPI) -> None:
    """The handlers of domain and database errors; ErrorBody's schema in the API document."""
    app.add_exception_handler(GridlineError, domain_error)
    for database in (DBAPIError, pg_errors.Error, DisconnectionError, EnginePoolTimeout):
        app.add_exception_handler(database, database_error)
    openapi = app.openapi

    def with_schemas() -> dict[str, Any]:
        document = openapi()
        document.setdefault("components", {}).setdefault("schemas", {}).update(SCHEMAS)
        return document

    app.openapi = with_schemas  # type: ignore[method-assign]
