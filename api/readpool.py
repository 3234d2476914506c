"""An asyncio psycopg pool for hot read-only queries (locate), beside the ORM's engine.

Locate is asked for on every tap of a phone map; running it on the event loop with a pooled
autocommit connection (server-side prepared after a few uses, as psycopg does for repeated
queries) avoids the thread hops and the BEGIN/COMMIT round trips of an ORM session. The app
keeps the locator in ``app.state.locator``; tests put one there that reads their transaction.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

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


def pooled_locator(pool: AsyncConnectionPool) -> Locator:
    async def run(lon: float, lat: float) -> dict[str, Any]:
        async with pool.connection() as connection:
            return await locate_async(connection, lon, lat)

    return run
