"""Who is asking: bearer tokens (or the map pages' cookie), roles, write rate limits, request ids.

Every route but sign-in, /health, the API documents and the map assets needs a token. The
``Authorization: Bearer`` header works everywhere; the ``gridline_token`` cookie (set by the
/login page, HttpOnly, SameSite=Strict) only for GET and HEAD, so a cross-site form can never
write with it.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
import uuid
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.deps import SessionDep, SettingsDep
from geo import accounts, audit, tokens
from geo.accounts import Principal
from geo.db import Settings
from geo.errors import Forbidden, TooManyRequests, Unauthorized
from geo.models import AccountRole

COOKIE = "gridline_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
LOGIN_RATE_PER_MINUTE = 10.0
"""Sign-in attempts per username per minute (a burst of as many), against password guessing."""

bearer = OAuth2PasswordBearer(tokenUrl="token", auto_error=False)


class RequestIdMiddleware:
    """Gives every request an id (the client's X-Request-ID when sane, else a new one), keeps
    it in ``request.state.request_id`` for the audit log, and returns it as X-Request-ID."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = given if REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        await self.app(scope, receive, send_with_id)


class RateLimiter:
    """Token buckets per key, in this process: ``rate`` per minute, ``burst`` at once."""

    def __init__(self) -> None:
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str, rate_per_minute: float, burst: int, what: str) -> None:
        now = time.monotonic()
        with self._lock:
            level, last = self._buckets.get(key, (float(burst), now))
            level = min(float(burst), level + (now - last) * rate_per_minute / 60)
            if level < 1:
                self._buckets[key] = (level, now)
                wait = (1 - level) * 60 / rate_per_minute
                raise TooManyRequests(
                    f"{what}: more than {rate_per_minute:g} a minute (burst {burst});"
                    f" retry in {wait:.1f} s",
                    wait,
                )
            self._buckets[key] = (level - 1, now)


def limiter(request: Request) -> RateLimiter:
    return request.app.state.rate_limiter


class PrincipalCache:
    """Tokens verified in the last few seconds (GRIDLINE_AUTH_CACHE_S), so that a client's
    next reads skip the account lookup. Writes are always checked against the database and
    forget the writer's entries. Signing out, revoking, a password change and disabling through
    this process forget the account's entries at once; through another process they reach
    reads within the cache's lifetime."""

    MAX_ENTRIES = 10_000

    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, Principal, tokens.Claims]] = {}
        self._lock = threading.Lock()

    def get(self, token: str) -> tuple[Principal, tokens.Claims] | None:
        entry = self._entries.get(token)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1], entry[2]

    def put(self, token: str, principal: Principal, claims: tokens.Claims, ttl: float) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._entries) >= self.MAX_ENTRIES:
                self._entries = {k: v for k, v in self._entries.items() if v[0] >= now}
                if len(self._entries) >= self.MAX_ENTRIES:
                    self._entries.clear()
            self._entries[token] = (now + ttl, principal, claims)

    def forget(self, account_id: int | None = None, jti: str | None = None) -> None:
        """Drop the entries of an account, or of one token (by its jti)."""
        with self._lock:
            self._entries = {
                k: v
                for k, v in self._entries.items()
                if v[1].account_id != account_id and v[2].jti != jti
            }


def _verify(session: Session, settings: Settings, token: str) -> tuple[Principal, tokens.Claims]:
    claims = tokens.decode(token, settings)
    account = tokens.account_for(session, claims)
    return accounts.principal(session, account), claims


def _admit_writer(
    session: Session, settings: Settings, token: str, rates: RateLimiter, request_id: str | None
) -> tuple[Principal, tokens.Claims]:
    """Verify a writer against the database, refuse viewers, take one write from the
    account's bucket and tag the transaction for the audit log: one trip to the thread pool."""
    principal, claims = _verify(session, settings, token)
    if not principal.can_write:
        raise Forbidden(f"account {principal.username!r} is read-only (viewer)")
    rates.take(
        f"write:{principal.username}",
        settings.write_rate_per_minute,
        settings.write_burst,
        f"writes of account {principal.username!r}",
    )
    audit.tag(session, principal.username, "api", request_id)
    return principal, claims


async def current_principal(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    token: Annotated[str | None, Depends(bearer)],
) -> Principal:
    """The signed-in account; for writes also refuses viewers, applies the account's write
    rate limit and tags the transaction for the audit log."""
    if token is None and request.method in SAFE_METHODS:
        token = request.cookies.get(COOKIE)
    if not token:
        raise Unauthorized("sign in first: POST /token, then send Authorization: Bearer <token>")
    cache: PrincipalCache = request.app.state.principal_cache
    if request.method not in SAFE_METHODS:
        request_id = getattr(request.state, "request_id", None)
        principal, claims = await run_in_threadpool(
            _admit_writer, session, settings, token, limiter(request), request_id
        )
        cache.forget(account_id=principal.account_id)  # a write may change the writer's scope
    else:
        hit = cache.get(token)
        if hit is None:
            hit = await run_in_threadpool(_verify, session, settings, token)
            seconds_left = (hit[1].expires_at - dt.datetime.now(dt.UTC)).total_seconds()
            if settings.auth_cache_s > 0:
                cache.put(token, *hit, min(settings.auth_cache_s, seconds_left))
        principal, claims = hit
    request.state.principal = principal
    request.state.claims = claims
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def require(*roles: AccountRole):
    """A dependency that lets only ``roles`` through (403 for the others)."""
    names = ", ".join(r.value for r in roles)

    async def check(principal: PrincipalDep) -> Principal:
        if principal.role not in roles:
            raise Forbidden(f"a {principal.role.value} account may not do this (only: {names})")
        return principal

    return check


AdminDep = Annotated[Principal, Depends(require(AccountRole.ADMIN))]
