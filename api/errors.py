"""The one place where domain exceptions become HTTP statuses. No database text leaks out."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from psycopg import errors as pg_errors
from sqlalchemy.exc import DBAPIError, IntegrityError

from geo.errors import (
    BadRequest,
    Conflict,
    FeaturesRejected,
    GridlineError,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    PreconditionFailed,
    PreconditionRequired,
    UnsupportedMediaType,
)

log = logging.getLogger("gridline.api")

STATUS: dict[type[GridlineError], int] = {
    NotFound: 404,
    InvalidInput: 422,
    BadRequest: 400,
    Conflict: 409,
    PreconditionFailed: 412,
    PreconditionRequired: 428,
    PayloadTooLarge: 413,
    UnsupportedMediaType: 415,
}


def _status(exc: GridlineError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


async def domain_error(request: Request, exc: GridlineError) -> JSONResponse:
    body: dict = {"detail": str(exc)}
    if isinstance(exc, FeaturesRejected):
        body["problems"] = [
            {"index": p.index, "label": p.label, "reason": p.reason} for p in exc.problems
        ]
    return JSONResponse(body, status_code=_status(exc))


async def database_error(request: Request, exc: DBAPIError | pg_errors.Error) -> JSONResponse:
    if isinstance(getattr(exc, "orig", exc), pg_errors.QueryCanceled):
        return JSONResponse({"detail": "the query took too long and was cancelled"}, 503)
    if isinstance(exc, IntegrityError | pg_errors.IntegrityError):
        return JSONResponse({"detail": "the change conflicts with existing data"}, 409)
    log.exception("database error on %s %s", request.method, request.url.path)
    return JSONResponse({"detail": "database error"}, 500)


def install(app: FastAPI) -> None:
    app.add_exception_handler(GridlineError, domain_error)
    app.add_exception_handler(DBAPIError, database_error)
    app.add_exception_handler(pg_errors.Error, database_error)
