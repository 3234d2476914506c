"""An asyncio psycopg pool for hot read-only queries (locate), beside the ORM's engine.

Locate is asked for on every tap of a phone map; running it on the event loop with a pooled
autocommit connection (server-side prepared after a few uses) avoids the thread hops and the
BEGIN/COMMIT round trips of the ORM session.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request
from psycopg_pool import AsyncConnectionPool

from geo.db import Settings, libpq_url
from geo.locate import locate_async

Locator = Callable[[float, float], Awaitable[dict[str, Any]]]


def make_pool(settings: Settings) -> AsyncConnectionPool:
    return AsyncConnectionPool(
        libpq_url(settings.database_url),
        min_size=1,
        max_size=8,
        kwargs={
            "autocommit": True,
            "options": f"-c statement_timeout={settings.statement_timeout_ms}",
        },
        open=False,
    )


async def get_locator(request: Request) -> Locator:
    """Locate on a pooled connection (tests override this with their own transaction)."""
    pool: AsyncConnectionPool = request.app.state.read_pool

    async def run(lon: float, lat: float) -> dict[str, Any]:
        async with pool.connection() as connection:
            return await locate_async(connection, lon, lat)

    return run
