"""Signing in and out, the signed-in account, account administration, the audit log."""

from __future__ import annotations

from html import escape
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Form, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel, Field
from sqlalchemy import select

from api.auth import COOKIE, LOGIN_RATE_PER_MINUTE, AdminDep, PrincipalDep, limiter
from api.deps import MAX_OFFSET, SessionDep, SettingsDep
from geo import accounts, audit, tokens
from geo import models as m
from geo.errors import InvalidInput, Unauthorized

public = APIRouter(tags=["accounts"])
"""Routes that need no token: signing in."""
router = APIRouter(tags=["accounts"])


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="seconds until the token expires")


def _sign_in(
    request: Request, session: SessionDep, settings: SettingsDep, username: str, password: str
) -> tuple[str, int]:
    limiter(request).take(
        f"login:{username}",
        LOGIN_RATE_PER_MINUTE,
        int(LOGIN_RATE_PER_MINUTE),
        f"sign-in attempts for {username!r}",
    )
    account = accounts.authenticate(session, username, password)
    if account is None:
        raise Unauthorized("wrong username or password, or the account is disabled")
    claims = tokens.issue(account, settings)
    return tokens.encode(claims, settings), settings.token_ttl_minutes * 60


@public.post("/token", summary="Sign in (OAuth2 password flow): a bearer token")
def token(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
) -> TokenOut:
    access, ttl = _sign_in(request, session, settings, form.username, form.password)
    return TokenOut(access_token=access, expires_in=ttl)


def forget(request: Request, account_id: int | None = None, jti: str | None = None) -> None:
    """This process stops trusting the remembered tokens of an account, or one token."""
    request.app.state.principal_cache.forget(account_id=account_id, jti=jti)


def _safe_next(target: str) -> str:
    """Only paths of this service (no //host or scheme): no open redirect."""
    return target if target.startswith("/") and not target.startswith("//") else "/"


LOGIN_PAGE = """<!doctype html><meta charset=utf-8><meta name=viewport
content="width=device-width,initial-scale=1"><title>Gridline · 登录 Sign in</title>
<style>body{{font:16px system-ui,sans-serif;max-width:22em;margin:3em auto;padding:0 1em}}
input,button{{font:inherit;width:100%;margin:.3em 0;padding:.5em;box-sizing:border-box}}
.error{{color:#b00}}</style><h1>Gridline</h1>{error}
<form method=post action=/login><input type=hidden name=next value="{next}">
<label>用户名 Username<input name=username autocomplete=username required></label>
<label>密码 Password<input name=password type=password autocomplete=current-password
required></label><button>登录 Sign in</button></form>"""


@public.get("/login", response_class=HTMLResponse, include_in_schema=False)
def login_page(next: str = "/") -> HTMLResponse:
    return HTMLResponse(LOGIN_PAGE.format(error="", next=escape(_safe_next(next))))


@public.post("/login", include_in_schema=False)
def login_form(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/",
) -> Response:
    """The map pages' sign-in: sets the HttpOnly cookie and goes back to the page."""
    try:
        access, ttl = _sign_in(request, session, settings, username, password)
    except Unauthorized as exc:
        page = LOGIN_PAGE.format(
            error=f"<p class=error>{escape(str(exc))}</p>", next=escape(_safe_next(next))
        )
        return HTMLResponse(page, status_code=401)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        COOKIE,
        access,
        max_age=ttl,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/logout", status_code=204, summary="Sign out: the token stops working")
def logout(request: Request, session: SessionDep, principal: PrincipalDep) -> Response:
    tokens.revoke(session, request.state.claims)
    forget(request, jti=request.state.claims.jti)
    response = Response(status_code=204)
    response.delete_cookie(COOKIE)
    return response


@router.get("/me", summary="The signed-in account and where it may act")
def me(session: SessionDep, principal: PrincipalDep) -> dict:
    account = session.get(m.Account, principal.account_id)
    scope = principal.scope
    grids = (
        sorted(session.scalars(select(m.Grid.code).where(m.Grid.id.in_(scope.grids))))
        if scope.grids is not None and scope.communities is None
        else None
    )
    communities = scope.community_ids(session)
    return {
        **accounts.describe(account, session),
        "scope": {
            "everywhere": scope.everywhere,
            "communities": sorted(
                session.scalars(select(m.Community.code).where(m.Community.id.in_(communities)))
            )
            if communities is not None
            else None,
            "grids": grids,
        },
        "personal_data": principal.personal_data,
        "can_write": principal.can_write,
    }


class AccountIn(BaseModel):
    username: str
    password: str
    role: m.AccountRole
    street: str | None = None
    community: str | None = None
    worker_id: int | None = None


class AccountPatch(BaseModel):
    password: str | None = None
    active: bool | None = None


@router.get("/accounts", summary="Every account (admin)")
def list_accounts(session: SessionDep, admin: AdminDep) -> list[dict]:
    rows = session.scalars(select(m.Account).order_by(m.Account.username))
    return [accounts.describe(a, session) for a in rows]


@router.post("/accounts", status_code=201, summary="Add an account (admin)")
def add_account(
    body: AccountIn, session: SessionDep, settings: SettingsDep, admin: AdminDep
) -> dict:
    account = accounts.create(
        session,
        settings,
        body.username,
        body.password,
        body.role,
        street=body.street,
        community=body.community,
        worker_id=body.worker_id,
    )
    return accounts.describe(account, session)


@router.patch("/accounts/{username}", summary="Change a password or (de)activate (admin)")
def change_account(
    request: Request,
    username: str,
    body: AccountPatch,
    session: SessionDep,
    settings: SettingsDep,
    admin: AdminDep,
) -> dict:
    if body.password is None and body.active is None:
        raise InvalidInput("nothing to change: give password and/or active")
    account = accounts.find(session, username)
    if body.password is not None:
        accounts.set_password(session, settings, account, body.password)
    if body.active is not None:
        account.active = body.active
        accounts.revoke_all(session, account)
    forget(request, account_id=account.id)
    return accounts.describe(account, session)


@router.post(
    "/accounts/{username}/revoke-tokens",
    status_code=204,
    summary="Refuse every token issued so far to an account (admin)",
)
def revoke_tokens(
    request: Request, username: str, session: SessionDep, admin: AdminDep
) -> Response:
    account = accounts.find(session, username)
    accounts.revoke_all(session, account)
    forget(request, account_id=account.id)
    return Response(status_code=204)


@router.get("/audit", summary="The audit log, newest first (admin)")
def audit_log(
    session: SessionDep,
    admin: AdminDep,
    table: str | None = None,
    row_id: str | None = None,
    actor: str | None = None,
    request_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> list[dict]:
    return audit.entries(
        session,
        table=table,
        row_id=row_id,
        actor=actor,
        request_id=request_id,
        limit=limit,
        offset=offset,
    )
