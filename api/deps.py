"""Dependencies shared by the routes: the transactional session, paging, bbox."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from geo.db import Settings, get_settings, session_factory
from geo.errors import InvalidInput, PayloadTooLarge


async def get_session() -> AsyncIterator[Session]:
    """A session whose transaction (begun by its first use) is committed when the route
    succeeds, else rolled back. Made on the event loop (a new session does no I/O, and a sync
    dependency would cost a thread hop); the commit or rollback runs in the thread pool, and a
    session never used (a read answered without the database) just closes."""
    session = session_factory()()
    committed = False
    try:
        yield session
        committed = True
    finally:
        if session.in_transaction():
            await run_in_threadpool(_end, session, committed)
        else:
            session.close()


def _end(session: Session, commit: bool) -> None:
    """Commit (when ``commit``) or roll back, and give the connection back."""
    try:
        if commit:
            session.commit()
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
"""Closed (committed) when the route returns, before the response is sent: a client that got
its 201 finds the row from any connection, and a failed commit is an error, not a lost write."""

MAX_UPLOAD_BYTES = 64_000_000
"""Largest file body accepted (bulk imports, GPS tracks)."""


async def raw_body(request: Request) -> bytes:
    """The request body, refused beyond MAX_UPLOAD_BYTES without reading it all."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_UPLOAD_BYTES:
            raise PayloadTooLarge(f"the file is larger than {MAX_UPLOAD_BYTES:,} bytes; split it")
        chunks.append(chunk)
    return b"".join(chunks)


RawBodyDep = Annotated[bytes, Depends(raw_body)]


async def settings() -> Settings:
    """The settings, as a dependency run on the event loop (a sync one costs a thread hop)."""
    return get_settings()


SettingsDep = Annotated[Settings, Depends(settings)]

MAX_OFFSET = 2**63 - 1
"""Largest page offset: PostgreSQL's OFFSET is a bigint (beyond it the query would fail)."""


async def paging(
    settings: SettingsDep,
    limit: Annotated[int, Query(ge=1, description="features per page")] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> tuple[int, int]:
    if limit > settings.page_size_max:
        raise InvalidInput(f"limit {limit} exceeds the maximum page size {settings.page_size_max}")
    return limit, offset


PagingDep = Annotated[tuple[int, int], Depends(paging)]


async def bbox(
    bbox: Annotated[
        str | None, Query(description="min_lon,min_lat,max_lon,max_lat (WGS84)")
    ] = None,
) -> tuple[float, float, float, float] | None:
    if bbox is None:
        return None
    try:
        values = tuple(float(v) for v in bbox.split(","))
    except ValueError:
        raise InvalidInput(f"bbox {bbox!r}: four numbers separated by commas expected") from None
    if len(values) != 4:
        raise InvalidInput(f"bbox {bbox!r}: four numbers expected, got {len(values)}")
    west, south, east, north = values
    if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
        raise InvalidInput(f"bbox {bbox!r}: not min_lon,min_lat,max_lon,max_lat in range")
    km2 = bbox_km2(west, south, east, north)
    limit = get_settings().max_bbox_km2
    if km2 > limit:
        raise InvalidInput(
            f"bbox {bbox!r} covers {km2:,.0f} km², more than GRIDLINE_MAX_BBOX_KM2 = {limit:,.0f}"
        )
    return values


def bbox_km2(west: float, south: float, east: float, north: float) -> float:
    """Area of a lon/lat box in km² on a sphere of the Earth's mean radius."""
    radius = 6371.0088
    band = abs(math.sin(math.radians(north)) - math.sin(math.radians(south)))
    return radius**2 * math.radians(east - west) * band


BboxDep = Annotated[tuple[float, float, float, float] | None, Depends(bbox)]
