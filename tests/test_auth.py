"""Signing in, tokens (expiry, revocation), roles, the write rate limit, default secrets."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import time

import jwt
import pytest
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.orm import Session

from geo import accounts, db, tokens
from geo import models as m
from geo.accounts import DEMO_PASSWORDS, DEMO_SECRET
from geo.errors import Conflict, InvalidInput, NotFound
from tests.conftest import bearer
from tests.live import _server_env

ROLES = ["admin", "street", "office", "leader", "worker", "viewer"]
SIGN_IN_FIRST = "sign in first: POST /token, then send Authorization: Bearer <token>"


def sign_in(anonymous, username: str, password: str):
    return anonymous.post("/token", data={"username": username, "password": password})


def test_the_demo_has_one_account_per_role(session: Session) -> None:
    rows = dict(session.execute(select(m.Account.username, m.Account.role)).all())
    assert {name: rows[name] for name in ROLES} == {name: m.AccountRole(name) for name in ROLES}
    for name in ROLES:
        hashed = accounts.find(session, name).password_hash
        assert hashed.startswith("$argon2id$")
        assert accounts.HASHER.verify(DEMO_PASSWORDS[name], hashed)


@pytest.mark.parametrize("username", ROLES)
def test_every_demo_account_signs_in_with_its_documented_password(client_as, username) -> None:
    anonymous = client_as(None)
    response = sign_in(anonymous, username, DEMO_PASSWORDS[username])
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 480 * 60
    me = anonymous.get("/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert (me.json()["username"], me.json()["role"]) == (username, username)


def test_wrong_or_unknown_credentials_get_the_same_401(client_as) -> None:
    anonymous = client_as(None)
    wrong = sign_in(anonymous, "office", "not-the-password")
    unknown = sign_in(anonymous, "nobody", "not-the-password")
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
    assert wrong.json() == unknown.json()
    assert wrong.json()["detail"] == "wrong username or password, or the account is disabled"


def test_requests_without_a_token_are_refused(client_as) -> None:
    anonymous = client_as(None)
    for path in ("/grids", "/hazards", "/workers", "/me", "/ogc/collections/grids/items"):
        response = anonymous.get(path)
        assert response.status_code == 401, path
        assert response.json() == {"detail": SIGN_IN_FIRST}
    assert anonymous.get("/health").status_code == 200
    assert anonymous.get("/openapi.json").status_code == 200


def test_a_browser_without_a_token_is_sent_to_the_sign_in_page(client_as) -> None:
    anonymous = client_as(None)
    page = anonymous.get(
        "/maps/communities/330303003001?basemap=none",
        headers={"Accept": "text/html"},
        follow_redirects=False,
    )
    assert page.status_code == 303
    assert page.headers["location"] == (
        "/login?next=%2Fmaps%2Fcommunities%2F330303003001%3Fbasemap%3Dnone"
    )
    form = anonymous.get("/login", params={"next": "//evil.example/x"})
    assert 'name=next value="/"' in form.text  # no open redirect


def test_the_sign_in_form_sets_a_cookie_good_for_reading_only(client_as) -> None:
    anonymous = client_as(None)
    bad = anonymous.post("/login", data={"username": "office", "password": "x" * 12})
    assert bad.status_code == 401
    assert "wrong username or password" in bad.text
    done = anonymous.post(
        "/login",
        data={"username": "office", "password": DEMO_PASSWORDS["office"], "next": "/maps"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert done.headers["location"] == "/maps"
    cookie = done.headers["set-cookie"]
    assert cookie.startswith("gridline_token=")
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert anonymous.cookies["gridline_token"] == done.cookies["gridline_token"]
    assert anonymous.get("/me").json()["username"] == "office"  # the cookie, no header
    write = anonymous.put(
        "/hazard-categories/cookie_test",
        json={"code": "cookie_test", "group": "fire", "name": "x", "name_zh": "x"},
    )
    assert write.status_code == 401  # a cookie never authorises a write (no CSRF)
    anonymous.cookies.clear()


def test_an_expired_token_is_refused(client_as, session: Session) -> None:
    settings = db.get_settings()
    account = accounts.find(session, "office")
    old = tokens.issue(account, settings, now=dt.datetime.now(dt.UTC) - dt.timedelta(hours=9))
    response = client_as(None).get(
        "/me", headers={"Authorization": f"Bearer {tokens.encode(old, settings)}"}
    )
    assert response.status_code == 401
    assert response.json() == {"detail": "the token has expired: sign in again"}


def test_a_token_signed_with_another_key_or_mangled_is_refused(client_as, session) -> None:
    account = accounts.find(session, "admin")
    forged = jwt.encode(
        {"sub": str(account.id), "gen": 0, "jti": "x", "exp": 4102444800},
        "a key that is not the service's key, long enough",
        algorithm="HS256",
    )
    unsigned = jwt.encode(
        {"sub": str(account.id), "gen": 0, "jti": "x", "exp": 4102444800}, None, algorithm="none"
    )
    for token in (forged, unsigned, "garbage", forged[:-4] + "AAAA"):
        response = client_as(None).get("/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, token
        assert response.json() == {"detail": "the token is not valid"}


def test_signing_out_revokes_that_token_only(client_as, session: Session) -> None:
    anonymous = client_as(None)
    first = bearer(session, "leader")
    second = bearer(session, "leader")
    assert anonymous.post("/logout", headers=first).status_code == 204
    refused = anonymous.get("/me", headers=first)
    assert refused.status_code == 401
    assert refused.json() == {"detail": "the token has been revoked: sign in again"}
    assert anonymous.get("/me", headers=second).status_code == 200
    assert session.scalar(select(m.RevokedToken.account_id)) == (
        accounts.find(session, "leader").id
    )


def test_revoke_all_password_change_and_disabling(client, client_as, session: Session) -> None:
    anonymous = client_as(None)
    before = bearer(session, "street")
    assert client.post("/accounts/street/revoke-tokens").status_code == 204
    assert anonymous.get("/me", headers=before).status_code == 401
    after = bearer(session, "street")
    assert anonymous.get("/me", headers=after).status_code == 200

    changed = client.patch("/accounts/street", json={"password": "a new long password"})
    assert changed.status_code == 200
    assert anonymous.get("/me", headers=after).status_code == 401
    assert sign_in(anonymous, "street", DEMO_PASSWORDS["street"]).status_code == 401
    assert sign_in(anonymous, "street", "a new long password").status_code == 200

    assert client.patch("/accounts/street", json={"active": False}).json()["active"] is False
    assert sign_in(anonymous, "street", "a new long password").status_code == 401
    assert anonymous.get("/me", headers=bearer(session, "street")).json() == {
        "detail": "the token's account no longer exists or is disabled"
    }


def test_only_admins_manage_accounts_and_read_the_audit_log(client_as) -> None:
    for username in ROLES[1:]:
        c = client_as(username)
        response = c.get("/accounts")
        assert response.status_code == 403, username
        assert response.json() == {"detail": f"a {username} account may not do this (only: admin)"}
        assert c.get("/audit").status_code == 403
    assert client_as("admin").get("/accounts").status_code == 200


def test_a_viewer_cannot_write_anything(client_as) -> None:
    viewer = client_as("viewer")
    for method, path in (
        ("post", "/hazards"),
        ("put", "/hazard-categories/x"),
        ("post", "/workers"),
        ("delete", "/grids/1"),
        ("post", "/logout"),
    ):
        response = getattr(viewer, method)(path)
        assert response.status_code == 403, path
        assert response.json() == {"detail": "account 'viewer' is read-only (viewer)"}
    assert viewer.get("/grids").status_code == 200


def test_me_shows_the_scope_of_each_role(client_as, session: Session) -> None:
    worker = accounts.find(session, "worker")
    held = sorted(
        session.scalars(
            select(m.Grid.code)
            .join(m.Assignment, m.Assignment.grid_id == m.Grid.id)
            .where(m.Assignment.worker_id == worker.worker_id, m.Assignment.valid_to.is_(None))
        )
    )
    assert len(held) >= 1
    scopes = {name: client_as(name).get("/me").json()["scope"] for name in ROLES}
    assert scopes["admin"] == {"everywhere": True, "communities": None, "grids": None}
    assert scopes["viewer"] == {"everywhere": True, "communities": None, "grids": None}
    assert scopes["office"] == {
        "everywhere": False,
        "communities": ["330303003001"],
        "grids": None,
    }
    assert scopes["leader"] == scopes["office"]
    assert scopes["street"]["communities"] == ["330303003001"]
    assert scopes["worker"] == {
        "everywhere": False,
        "communities": ["330303003001"],
        "grids": held,
    }
    assert client_as("viewer").get("/me").json()["personal_data"] is False
    assert client_as("worker").get("/me").json()["personal_data"] is True


def test_writes_are_rate_limited_per_account(client_as, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRIDLINE_WRITE_BURST", "3")
    monkeypatch.setenv("GRIDLINE_WRITE_RATE_PER_MINUTE", "1")
    db.get_settings.cache_clear()
    try:
        admin, office = client_as("admin"), client_as("office")
        body = {"group": "fire", "name": "Rate", "name_zh": "限"}
        codes = [
            admin.put(f"/hazard-categories/rate{i}", json={"code": f"rate{i}", **body}).status_code
            for i in range(4)
        ]
        assert codes == [200, 200, 200, 429]
        refused = admin.put("/hazard-categories/rate9", json={"code": "rate9", **body})
        assert refused.status_code == 429
        assert refused.json()["detail"].startswith(
            "writes of account 'admin': more than 1 a minute (burst 3); retry in"
        )
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert admin.get("/hazard-categories").status_code == 200  # reads are not limited
        assert office.post("/hazards", json={}).status_code == 422  # another account's bucket
    finally:
        db.get_settings.cache_clear()


def test_password_guessing_is_slowed_down(client_as) -> None:
    anonymous = client_as(None)
    codes = [sign_in(anonymous, "viewer", f"guess-{i:06d}").status_code for i in range(11)]
    assert codes == [401] * 10 + [429]
    assert sign_in(anonymous, "admin", DEMO_PASSWORDS["admin"]).status_code == 200


def test_account_rules(session: Session) -> None:
    settings = db.get_settings()
    create = accounts.create
    with pytest.raises(InvalidInput, match="a office account needs --community CODE"):
        create(session, settings, "o2", "long enough pw", m.AccountRole.OFFICE)
    with pytest.raises(InvalidInput, match="an admin account serves everywhere"):
        create(session, settings, "a2", "long enough pw", m.AccountRole.ADMIN, community="x")
    with pytest.raises(InvalidInput, match="a worker account needs --worker ID"):
        create(session, settings, "w2", "long enough pw", m.AccountRole.WORKER)
    with pytest.raises(InvalidInput, match="shorter than 10 characters"):
        create(session, settings, "v2", "short", m.AccountRole.VIEWER)
    with pytest.raises(InvalidInput, match="username 'Bad Name'"):
        create(session, settings, "Bad Name", "long enough pw", m.AccountRole.VIEWER)
    with pytest.raises(Conflict, match="the username 'office' is taken"):
        create(session, settings, "office", "long enough pw", m.AccountRole.VIEWER)
    with pytest.raises(NotFound, match="no community 'nowhere'"):
        create(session, settings, "o3", "long enough pw", m.AccountRole.OFFICE, community="nowhere")
    production = settings.model_copy(update={"mode": "production"})
    with pytest.raises(InvalidInput, match="documented demo password"):
        create(session, production, "v3", "demo-viewer", m.AccountRole.VIEWER)


def test_admins_add_accounts_through_the_api(client, client_as) -> None:
    added = client.post(
        "/accounts",
        json={
            "username": "office2",
            "password": "a long password",
            "role": "office",
            "community": "330303003001",
        },
    )
    assert added.status_code == 201
    assert added.json()["community"] == "330303003001"
    assert "password_hash" not in added.json()
    again = client.post(
        "/accounts", json={"username": "office2", "password": "a long password", "role": "viewer"}
    )
    assert again.status_code == 409
    assert sign_in(client_as(None), "office2", "a long password").status_code == 200


def test_gridline_user_add_and_list(gridline, client_as) -> None:
    code, out, _ = gridline(
        "user", "add", "clerk", "--role", "viewer", "--community", "330303003001",
        "--password", "clerk password",
    )  # fmt: skip
    assert code == 0, out
    assert '"username": "clerk"' in out
    assert sign_in(client_as(None), "clerk", "clerk password").status_code == 200
    code, out, err = gridline("user", "add", "x1", "--role", "chief", "--password", "x" * 12)
    assert code == 1
    assert "role 'chief': one of admin, street, office, leader, worker, viewer" in err
    code, _, err = gridline("user", "add", "x2", "--role", "viewer", "--password", "short")
    assert (code, err.strip()) == (1, "gridline: the password is shorter than 10 characters")
    code, out, _ = gridline("user", "list")
    assert code == 0
    assert '"username": "clerk"' in out
    assert "argon2" not in out
    code, out, _ = gridline("user", "revoke", "clerk")
    assert (code, out.strip()) == (0, "tokens of clerk revoked")
    code, out, _ = gridline("user", "passwd", "clerk", "--password", "another password")
    assert (code, out.strip()) == (0, "password of clerk changed; its tokens are revoked")
    assert sign_in(client_as(None), "clerk", "clerk password").status_code == 401
    assert sign_in(client_as(None), "clerk", "another password").status_code == 200
    code, out, _ = gridline("user", "disable", "clerk")
    assert (code, out.strip()) == (0, "clerk disabled")
    assert sign_in(client_as(None), "clerk", "another password").status_code == 401
    code, _, err = gridline("user", "revoke", "nobody")
    assert (code, err.strip()) == (1, "gridline: no account 'nobody'")


def production(**values: object) -> db.Settings:
    base = {
        "mode": "production",
        "secret_key": SecretStr("s" * 40),
        "database_url": "postgresql+psycopg://gridline:a-real-password@db/gridline",
    }
    return db.get_settings().model_copy(update={**base, **values})


def test_default_secrets_are_named(session: Session) -> None:
    assert accounts.default_secrets(production(), None) == []
    assert accounts.default_secrets(production(secret_key=None), None) == [
        "GRIDLINE_SECRET_KEY is not set"
    ]
    assert accounts.default_secrets(production(secret_key=SecretStr(DEMO_SECRET)), None) == [
        "GRIDLINE_SECRET_KEY is the documented demo secret"
    ]
    assert accounts.default_secrets(production(secret_key=SecretStr("short")), None) == [
        "GRIDLINE_SECRET_KEY has 5 characters; at least 32"
    ]
    local = production(database_url="postgresql://gridline:gridline@127.0.0.1/gridline")
    assert accounts.default_secrets(local, None) == [
        "the database password is the default 'gridline'"
    ]
    with_demo = accounts.default_secrets(production(), session)
    assert with_demo == [f"account {n!r} still has its documented demo password" for n in ROLES]
    for name in ROLES:
        accounts.set_password(session, production(), accounts.find(session, name), "changed " * 2)
    assert accounts.default_secrets(production(), session) == []


def test_the_service_refuses_to_start_in_production_with_default_secrets(database_url) -> None:
    env = {**_server_env(database_url), "GRIDLINE_MODE": "production"}
    done, uvicorn = (
        subprocess.run(
            [sys.executable, "-m", *command, "--port", "1"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        for command in (["api.cli", "serve"], ["uvicorn", "api.app:app"])
    )
    assert done.returncode == 1
    assert done.stderr.startswith(
        "gridline: Gridline refuses to start in production mode with default secrets:"
        " GRIDLINE_SECRET_KEY is not set; the database password is the default 'gridline';"
        " account 'admin' still has its documented demo password;"
    )
    assert uvicorn.returncode != 0
    assert "refuses to start in production mode with default secrets" in uvicorn.stderr


def test_verified_tokens_are_remembered_for_a_few_seconds(
    client_as, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRIDLINE_AUTH_CACHE_S", "0.5")
    db.get_settings.cache_clear()
    try:
        anonymous, headers = client_as(None), bearer(session, "office")
        assert anonymous.get("/me", headers=headers).status_code == 200
        accounts.revoke_all(session, accounts.find(session, "office"))  # as another process
        assert anonymous.get("/me", headers=headers).status_code == 200  # still remembered
        time.sleep(0.6)
        assert anonymous.get("/me", headers=headers).status_code == 401
    finally:
        db.get_settings.cache_clear()
