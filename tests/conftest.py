"""Test fixtures: one real PostGIS database per run, built by the migrations.

The database is GRIDLINE_TEST_DATABASE_URL, else DATABASE_URL's database with ``_test``
appended (created when missing), else the local ``gridline_test`` that ``make test`` sets up.
It is emptied and migrated at the start of the run and the demo community is loaded once;
every test then runs inside a transaction that is rolled back at its end.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from geo import db

os.environ["GRIDLINE_MODE"] = "test"  # the documented demo secret and passwords are accepted

LOCAL_TEST_URL = "postgresql+psycopg://gridline:gridline@127.0.0.1:5432/gridline_test"

DROP_OWN_TABLES = """
SELECT format('DROP TABLE IF EXISTS %I.%I CASCADE', n.nspname, c.relname)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e')
"""


def test_database_url() -> str:
    explicit = os.environ.get("GRIDLINE_TEST_DATABASE_URL")
    if explicit:
        return db.sqlalchemy_url(explicit)
    base = os.environ.get("DATABASE_URL")
    if not base:
        return LOCAL_TEST_URL
    url = make_url(db.sqlalchemy_url(base))
    test_url = url.set(database=f"{url.database}_test").render_as_string(hide_password=False)
    _create_database(db.libpq_url(base), f"{url.database}_test")
    return test_url


test_database_url.__test__ = False  # a helper, not a test


def _create_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    target = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(target, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        conn.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")


def _reset(engine: Engine) -> None:
    with engine.begin() as conn:
        for (statement,) in conn.execute(text(DROP_OWN_TABLES)).all():
            conn.execute(text(statement))


@pytest.fixture(scope="session")
def database_url() -> str:
    return test_database_url()


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    os.environ["DATABASE_URL"] = database_url
    db.get_settings.cache_clear()
    db.get_engine.cache_clear()
    engine = db.get_engine()
    try:
        _reset(engine)
    except Exception as exc:  # no server, wrong password...: say which database and stop
        pytest.exit(f"cannot prepare the test database {database_url}: {exc}", returncode=2)
    from alembic import command

    from api.cli import alembic_config

    command.upgrade(alembic_config(), "head")
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def demo(engine: Engine):
    """The demo community, loaded once and committed as ``gridline demo load`` does: with the
    planner's A/B roles and one account per role."""
    from geo import accounts, planning, seed
    from geo import demo as generator

    data = generator.generate()
    with db.transaction(engine) as session:
        seed.load(session, data)
        code = data.communities[0].community["properties"]["code"]
        planning.apply_plan(session, code, planning.plan_community(session, code).roles)
        accounts.create_demo_accounts(session, db.get_settings(), code)
    return data


def bearer(session: Session, username: str) -> dict[str, str]:
    """An Authorization header for ``username`` (a fresh token, no password needed)."""
    from geo import accounts, tokens

    settings = db.get_settings()
    claims = tokens.issue(accounts.find(session, username), settings)
    return {"Authorization": f"Bearer {tokens.encode(claims, settings)}"}


@pytest.fixture
def connection(engine: Engine, demo) -> Iterator[Connection]:
    with engine.connect() as conn:
        outer = conn.begin()
        yield conn
        outer.rollback()


@pytest.fixture
def session(connection: Connection) -> Iterator[Session]:
    with Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    ) as s:
        yield s


@pytest.fixture
def app(connection: Connection):
    """The application on the test's transaction (requests need a token: see ``client``)."""
    from api.app import create_app
    from api.deps import get_session
    from geo.locate import locate

    def test_session() -> Iterator[Session]:
        with (
            Session(bind=connection, join_transaction_mode="create_savepoint") as s,
            s.begin(),
        ):
            yield s

    async def test_locator(lon: float, lat: float) -> dict:
        with connection.connection.driver_connection.cursor() as cursor:
            return locate(cursor, lon, lat)

    app = create_app()
    app.dependency_overrides[get_session] = test_session
    app.state.test_locator = test_locator
    return app


@pytest.fixture
def client(app, session: Session) -> Iterator[TestClient]:
    """A client signed in as the demo admin."""
    with TestClient(app, headers=bearer(session, "admin")) as c:
        app.state.locator = app.state.test_locator
        yield c


@pytest.fixture
def client_as(app, session: Session) -> Iterator:
    """``client_as(username)``: a client signed in as that account (anonymous for None)."""
    with TestClient(app) as anonymous:
        app.state.locator = app.state.test_locator

        def make(username: str | None) -> TestClient:
            if username is None:
                return anonymous
            return TestClient(app, headers=bearer(session, username))

        yield make


@pytest.fixture
def gridline(connection: Connection, monkeypatch: pytest.MonkeyPatch):
    """Run the ``gridline`` CLI inside the test's transaction: (exit code, stdout, stderr)."""
    from typer.testing import CliRunner

    from api import cli

    @contextmanager
    def transaction() -> Iterator[Session]:
        with (
            Session(bind=connection, join_transaction_mode="create_savepoint") as s,
            s.begin(),
        ):
            yield s

    monkeypatch.setattr(cli, "open_transaction", transaction)
    runner = CliRunner()

    def run(*args: object) -> tuple[int, str, str]:
        result = runner.invoke(cli.app, [str(a) for a in args])
        return result.exit_code, result.stdout, result.stderr

    return run


@pytest.fixture
def demo_grids(client: TestClient) -> dict:
    """Apply an A/B plan to the demo community; grid code -> feature."""
    code = "330303003001"
    assert client.post(f"/communities/{code}/assignment-plan/apply").status_code == 200
    grids = client.get("/grids", params={"community": code, "limit": 100}).json()["features"]
    return {f["properties"]["code"]: f for f in grids}
