"""The one place where domain exceptions become HTTP statuses. No database text leaks out."""

from __future__ import annotations

import logging
import math
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from psycopg import errors as pg_errors
from sqlalchemy.exc import DBAPIError, IntegrityError

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
