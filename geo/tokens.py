"""Access tokens: signed JWTs (HS256) with an expiry, revocable one by one or all at once.

A token names its account (``sub``), the account's token generation (``gen``: bumped by a
password change or revoke-all) and a random ``jti``; signing out stores the ``jti`` in
``revoked_token`` until the token would have expired.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

import jwt
from sqlalchemy import delete, exists, select
from sqlalchemy.orm import Session

from geo import models as m
from geo.accounts import signing_key
from geo.db import Settings
from geo.errors import Unauthorized

ALGORITHM = "HS256"


@dataclass(frozen=True)
class Claims:
    account_id: int
    generation: int
    jti: str
    expires_at: dt.datetime


def issue(account: m.Account, settings: Settings, now: dt.datetime | None = None) -> Claims:
    """New claims for ``account``, valid for GRIDLINE_TOKEN_TTL_MINUTES."""
    now = now or dt.datetime.now(dt.UTC)
    return Claims(
        account_id=account.id,
        generation=account.token_generation,
        jti=secrets.token_urlsafe(16),
        expires_at=now + dt.timedelta(minutes=settings.token_ttl_minutes),
    )


def encode(claims: Claims, settings: Settings) -> str:
    payload = {
        "sub": str(claims.account_id),
        "gen": claims.generation,
        "jti": claims.jti,
        "exp": claims.expires_at,
    }
    return jwt.encode(payload, signing_key(settings), algorithm=ALGORITHM)


def decode(token: str, settings: Settings) -> Claims:
    """The claims of a well-signed, unexpired token; Unauthorized saying why otherwise."""
    try:
        payload = jwt.decode(
            token,
            signing_key(settings),
            algorithms=[ALGORITHM],
            options={"require": ["sub", "exp", "jti", "gen"]},
        )
        return Claims(
            account_id=int(payload["sub"]),
            generation=int(payload["gen"]),
            jti=str(payload["jti"]),
            expires_at=dt.datetime.fromtimestamp(payload["exp"], dt.UTC),
        )
    except jwt.ExpiredSignatureError:
        raise Unauthorized("the token has expired: sign in again") from None
    except (jwt.InvalidTokenError, ValueError, TypeError):
        raise Unauthorized("the token is not valid") from None


def account_for(session: Session, claims: Claims) -> m.Account:
    """The active account a token belongs to, refusing revoked tokens."""
    revoked = exists().where(m.RevokedToken.jti == claims.jti)
    row = session.execute(
        select(m.Account, revoked).where(m.Account.id == claims.account_id)
    ).one_or_none()
    if row is None or not row[0].active:
        raise Unauthorized("the token's account no longer exists or is disabled")
    account, is_revoked = row
    if is_revoked or account.token_generation != claims.generation:
        raise Unauthorized("the token has been revoked: sign in again")
    return account


def revoke(session: Session, claims: Claims) -> None:
    """Sign one token out; forget revocations of tokens that have expired anyway."""
    now = dt.datetime.now(dt.UTC)
    session.execute(delete(m.RevokedToken).where(m.RevokedToken.expires_at < now))
    session.add(
        m.RevokedToken(jti=claims.jti, account_id=claims.account_id, expires_at=claims.expires_at)
    )
    session.flush()
