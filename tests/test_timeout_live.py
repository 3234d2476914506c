"""The statement timeout on a real server: a query stuck behind a lock is cancelled with a 503
and its pooled connection is given back, so more stuck requests than the pool holds all get
their 503 and the service answers normally once the lock is gone."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

from sqlalchemy import Engine, text

from tests.live import serve_api

CANCELLED = {"detail": "the query took too long and was cancelled"}
MORE_THAN_THE_POOL = 20
"""SQLAlchemy's pool holds 5 connections plus 10 overflow by default."""


def status(request: urllib.request.Request) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as refused:
        return refused.code, json.load(refused)


def test_a_slow_query_is_a_503_and_frees_its_connection(
    database_url: str, demo, engine: Engine, tmp_path: Path
) -> None:
    with serve_api(
        database_url, tmp_path / "server.log", GRIDLINE_STATEMENT_TIMEOUT_MS="300"
    ) as live:
        with engine.connect() as locker, locker.begin():
            locker.execute(text("LOCK TABLE building IN ACCESS EXCLUSIVE MODE"))
            stuck = [status(live.request("/buildings?limit=1")) for _ in range(MORE_THAN_THE_POOL)]
        assert stuck == [(503, CANCELLED)] * MORE_THAN_THE_POOL
        code, body = status(live.request("/buildings?limit=1"))
        assert code == 200
        assert body["numberReturned"] == 1
        with engine.connect() as conn:
            waiting = conn.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND state = 'active' AND query ILIKE '%FROM building%'"
                    " AND pid <> pg_backend_pid()"
                )
            )
        assert waiting == 0
