"""Helpers shared by the benchmarks: ports, percentiles, and the API's sign-in.

Every route of the API but /health needs a bearer token. A bench serves the API with
``api_env()`` (test mode, so the documented demo secret signs tokens unless
GRIDLINE_SECRET_KEY is set; the per-account write limit out of the way, since a bench writes
far faster than a person) and sends ``auth_headers()``: a token of the admin account
``bench``, added to the bench's database when missing (its password random and never used).
"""

from __future__ import annotations

import os
import secrets
import socket
import statistics

os.environ.setdefault("GRIDLINE_MODE", "test")  # before any get_settings(): same mode as the API

BENCH_ACCOUNT = "bench"
UNLIMITED_WRITES = {"GRIDLINE_WRITE_RATE_PER_MINUTE": "1000000", "GRIDLINE_WRITE_BURST": "100000"}


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentiles(samples: list[float]) -> tuple[float, float]:
    """p50 and p95 of ``samples``."""
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return cuts[49], cuts[94]


def api_env() -> dict[str, str]:
    """The environment of a uvicorn serving the API on the bench's database."""
    from geo.db import get_settings

    return {**os.environ, **UNLIMITED_WRITES, "DATABASE_URL": get_settings().database_url}


def bench_token() -> str:
    """A fresh access token of the admin account ``bench`` (added when missing)."""
    from sqlalchemy import select

    from geo import accounts, tokens
    from geo import models as m
    from geo.db import get_settings, transaction

    settings = get_settings()
    with transaction() as session:
        account = session.scalar(select(m.Account).where(m.Account.username == BENCH_ACCOUNT))
        if account is None:
            password = secrets.token_urlsafe(24)
            account = accounts.create(
                session, settings, BENCH_ACCOUNT, password, m.AccountRole.ADMIN
            )
        return tokens.encode(tokens.issue(account, settings), settings)


def auth_headers() -> dict[str, str]:
    """``Authorization: Bearer`` with a token of ``bench_token()``."""
    return {"Authorization": f"Bearer {bench_token()}"}
