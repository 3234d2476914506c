"""An asyncio psycopg pool for hot read-only queries (locate), beside the ORM's engine.

Locate is asked for on every tap of a phone map; running it on the event loop with a pooled
autocommit connection (server-side prepared after a few uses, as psycopg does for repeated
queries) avoids the thread hops and the BEGIN/COMMIT round trips of an ORM session. The app
keeps the locator in ``app.state.locator``; tests put one there that reads their transaction.

When the database goes away (a restart), the pooled connections it closed are found on their
next use: the locator then drops every dead idle connection (``pool.check()``) and asks once
more on a fresh one, so the first request after the restart already succeeds. While the
database is down, a request fails with the connection error or, the pool being empty, with
PoolTimeout after ``WAIT_S``: both become 503 (api/errors.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from psycopg import OperationalError
from psycopg_pool import AsyncConnectionPool

from geo.db import CONNECT_TIMEOUT_S, Settings, libpq_url
from geo.locate import locate_async

Locator = Callable[[float, float], Awaitable[dict[str, Any]]]

WAIT_S = 3.0
"""Longest wait for a pooled connection before PoolTimeout (a 503). Locate holds a connection
for a millisecond or two, so only an unreachable database makes anyone wait this long; it is
also how long the pool retries a lost connection with backoff before the next request tries
again at once (so it reconnects within seconds of a restart)."""


def make_pool(settings: Settings) -> AsyncConnectionPool:
    return AsyncConnectionPool(
        libpq_url(settings.database_url),
        min_size=1,
        max_size=8,
        timeout=WAIT_S,
        reconnect_timeout=WAIT_S,
        kwargs={
            "autocommit": True,
            "connect_timeout": CONNECT_TIMEOUT_S,
            "options": f"-c statement_timeout={settings.statement_timeout_ms}",
        },
        open=False,
    )


def pooled_locator(pool: AsyncConnectionPool) -> Locator:
    async def run(lon: float, lat: float) -> dict[str, Any]:
        async with pool.connection() as connection:
            try:
                return await locate_async(connection, lon, lat)
            except OperationalError:
                if not connection.broken:
                    raise
        await pool.check()  # the server closed it (restarted?): drop the others it closed too
        async with pool.connection() as connection:
            return await locate_async(connection, lon, lat)

    return run
