"""The FastAPI application."""

from __future__ import annotations

import gc
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cache
from html import escape

from fastapi import Depends, FastAPI
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import select, text
from sqlalchemy.exc import SQLAlchemyError

from api import errors
from api.auth import PrincipalCache, RateLimiter, RequestIdMiddleware, current_principal
from api.deps import SessionDep
from api.readpool import make_pool, pooled_locator
from api.responses import JSONResponse
from api.routes import (
    accounts,
    assignments,
    features,
    hazard_import,
    hazard_reports,
    hazards,
    locate,
    maps,
    ogc,
    open311,
    parking,
    parking_maps,
    patrol_maps,
    patrols,
    tiles,
    topology,
    workers,
)
from geo import models as m
from geo.accounts import default_secrets
from geo.db import get_settings, transaction
from maps.assets import BY_PATH, INSTALL_HINT, URL_PREFIX, missing_assets

DESCRIPTION = """Community grid governance (网格化管理) on PostGIS: grids and the
district > street > community > grid hierarchy, compounds, buildings, roads and site features,
workers, point location and maps. Geometries are RFC 7946 GeoJSON (WGS84 lon/lat)."""

log = logging.getLogger(__name__)


class AssetFiles(StaticFiles):
    """Serves exactly the files ``maps.assets`` lists (none of the rest of node_modules)."""

    def __init__(self) -> None:
        super().__init__(check_dir=False)

    def lookup_path(self, path: str) -> tuple[str, os.stat_result | None]:
        asset = BY_PATH.get(path)
        if asset is None or not asset.source.is_file():
            return "", None
        return str(asset.source), os.stat(asset.source)


def refuse_default_secrets() -> None:
    """Outside demo and test mode, refuse to run with a default secret or password."""
    settings = get_settings()
    if settings.mode != "production":
        return
    try:
        with transaction() as session:
            problems = default_secrets(settings, session)
    except SQLAlchemyError as exc:  # the database may come later; the other checks still hold
        log.warning("cannot check the accounts for demo passwords: %s", exc.__class__.__name__)
        problems = default_secrets(settings, None)
    if problems:
        raise RuntimeError(
            "Gridline refuses to start in production mode with default secrets: "
            + "; ".join(problems)
            + " (set GRIDLINE_MODE=demo for a local demo)"
        )


@cache
def freeze_long_lived() -> None:
    """Once per process, at startup: what exists then (modules, the app and its routes) lives
    as long as the process, so it is moved out of the garbage collector's sight (garbage is
    collected first). A full collection walked all of it, 50-100 ms holding every request of
    the process: under load that was the largest part of the p99 latency."""
    gc.collect()
    gc.freeze()


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    refuse_default_secrets()
    pool = make_pool(get_settings())
    await pool.open()
    app.state.locator = pooled_locator(pool)
    freeze_long_lived()
    try:
        yield
    finally:
        await pool.close()


def create_app() -> FastAPI:
    app = FastAPI(
        title="Gridline",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        default_response_class=JSONResponse,
    )
    errors.install(app)
    app.state.rate_limiter = RateLimiter()
    app.state.principal_cache = PrincipalCache()
    # FeatureCollections and map data compress about 7:1; level 5 keeps the CPU cost small.
    app.add_middleware(GZipMiddleware, minimum_size=1024, compresslevel=5)
    app.add_middleware(RequestIdMiddleware)

    # the busiest routes first: Starlette tries routes in order
    @app.get(
        "/health",
        tags=["service"],
        summary="Liveness and database check",
        responses=errors.documented(503),
    )
    def health(session: SessionDep) -> dict[str, str]:
        session.execute(text("SELECT 1"))
        return {"status": "ok", "database": "ok"}

    app.include_router(accounts.public, responses=errors.PUBLIC_RESPONSES)
    signed_in = [Depends(current_principal)]
    for router in [
        locate.router,
        tiles.router,
        hazard_import.router,
        hazards.router,
        accounts.router,
        *features.routers,
        workers.router,
        assignments.router,
        hazard_reports.router,
        open311.router,
        patrols.router,
        parking.router,
        maps.router,
        patrol_maps.router,
        parking_maps.router,
        topology.router,
        ogc.router,
    ]:
        app.include_router(router, dependencies=signed_in, responses=errors.RESPONSES)
    app.mount(URL_PREFIX, AssetFiles(), name="assets")
    if missing_assets():
        log.warning("the map pages' scripts are not installed: %s", INSTALL_HINT)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False, dependencies=signed_in)
    def index(session: SessionDep) -> HTMLResponse:
        rows = session.execute(select(m.Community.code, m.Community.name).order_by("code"))
        items = "".join(
            f'<li><a href="/maps/communities/{escape(code)}">{escape(name)} ({escape(code)})</a>'
            for code, name in rows
        )
        return HTMLResponse(
            "<!doctype html><meta charset=utf-8><title>Gridline</title>"
            "<h1>Gridline</h1><p><a href=/docs>API documentation</a> ·"
            " <a href=/maps>全部地图 All map pages</a></p>"
            f"<h2>Community maps</h2><ul>{items or '<li>no communities yet'}</ul>"
        )

    return app


app = create_app()
