"""Accounts: roles, hashed passwords, the area each account serves, the demo accounts.

Passwords are hashed with Argon2id (pwdlib's recommended settings). An account's *scope* is
where it may see and change hazards, cases and patrols: a grid worker the grids where they hold
the A or B role today, a grid leader or community office their community, a street office the
communities of its street, an admin (and a viewer without an area) everywhere.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass

from pwdlib import PasswordHash
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from geo import models as m
from geo.db import Settings
from geo.errors import Conflict, InvalidInput, NotFound
from geo.patrol import ZONE

HASHER = PasswordHash.recommended()
DUMMY_HASH = HASHER.hash("a password nobody has")
"""Verified when the username is unknown, so a login takes as long either way."""
MIN_PASSWORD_LENGTH = 10
USERNAME = re.compile(r"[a-z0-9][a-z0-9_.-]{1,63}")
"""The username rule (the table checks the same)."""

DEMO_SECRET = "gridline-demo-secret-for-local-use-only"
"""Signs tokens in demo and test mode when GRIDLINE_SECRET_KEY is not set."""
DEMO_PASSWORDS: dict[str, str] = {
    "admin": "demo-admin",
    "street": "demo-street",
    "office": "demo-office",
    "leader": "demo-leader",
    "worker": "demo-worker",
    "viewer": "demo-viewer",
}
"""The demo accounts (one per role, username = role) and their documented passwords."""
DEFAULT_DB_PASSWORD = "gridline"
"""The password scripts/local-postgis gives the local ``gridline`` role."""

PERSONAL_DATA_ROLES = frozenset(
    {
        m.AccountRole.ADMIN,
        m.AccountRole.STREET,
        m.AccountRole.OFFICE,
        m.AccountRole.LEADER,
        m.AccountRole.WORKER,
    }
)
"""Roles that see phones and reporters' contacts (within their scope); viewers never do."""
PERSONAL_FIELDS = frozenset({"phone", "reporter", "reporter_contact"})
"""Fields holding personal data wherever they appear (workers, hazards, cases)."""


@dataclass(frozen=True)
class Scope:
    """Where an account may see hazards, cases and patrols.

    ``communities`` limits by community (offices, leaders, streets, area viewers), else
    ``grids`` by grid (workers); both None means everywhere.
    """

    communities: frozenset[int] | None = None
    grids: frozenset[int] | None = None

    @property
    def everywhere(self) -> bool:
        return self.communities is None and self.grids is None

    def covers(self, community_id: int | None, grid_id: int | None) -> bool:
        """Whether a record of this community and grid is inside the scope."""
        if self.communities is not None:
            return community_id in self.communities
        if self.grids is not None:
            return grid_id in self.grids
        return True

    def clause(self, community_column, grid_column):
        """A SQL condition on a table's community and grid columns (None: no condition)."""
        if self.communities is not None:
            return community_column.in_(sorted(self.communities))
        if self.grids is not None:
            return grid_column.in_(sorted(self.grids))
        return None

    def community_ids(self, session: Session) -> frozenset[int] | None:
        """The communities the scope touches (a worker's: those of their grids)."""
        if self.communities is not None or self.grids is None:
            return self.communities
        rows = session.scalars(select(m.Grid.community_id).where(m.Grid.id.in_(self.grids)))
        return frozenset(rows)


@dataclass(frozen=True)
class Principal:
    """The signed-in account as the request sees it."""

    account_id: int
    username: str
    role: m.AccountRole
    worker_id: int | None
    street_id: int | None
    community_id: int | None
    scope: Scope

    @property
    def can_write(self) -> bool:
        return self.role is not m.AccountRole.VIEWER

    @property
    def personal_data(self) -> bool:
        return self.role in PERSONAL_DATA_ROLES

    def mask(self, record: dict, fields: Iterable[str] = PERSONAL_FIELDS) -> dict:
        """``record`` with personal ``fields`` set to None unless the role may see them."""
        if self.personal_data:
            return record
        return {k: (None if k in fields else v) for k, v in record.items()}


def local_today() -> dt.date:
    return dt.datetime.now(ZONE).date()


def scope_of(session: Session, account: m.Account, day: dt.date | None = None) -> Scope:
    """The scope of ``account`` on ``day`` (default today, Asia/Shanghai)."""
    role = m.AccountRole(account.role)
    if role is m.AccountRole.ADMIN:
        return Scope()
    if role is m.AccountRole.WORKER:
        day = day or local_today()
        grids = session.scalars(
            select(m.Assignment.grid_id).where(
                m.Assignment.worker_id == account.worker_id,
                m.Assignment.valid_from <= day,
                or_(m.Assignment.valid_to.is_(None), m.Assignment.valid_to > day),
            )
        )
        return Scope(grids=frozenset(grids))
    if account.community_id is not None:
        return Scope(communities=frozenset({account.community_id}))
    if account.street_id is not None:
        street = m.Community.street_id == account.street_id
        ids = session.scalars(select(m.Community.id).where(street))
        return Scope(communities=frozenset(ids))
    return Scope()  # a viewer without an area


def principal(session: Session, account: m.Account) -> Principal:
    return Principal(
        account_id=account.id,
        username=account.username,
        role=m.AccountRole(account.role),
        worker_id=account.worker_id,
        street_id=account.street_id,
        community_id=account.community_id,
        scope=scope_of(session, account),
    )


def check_password(password: str, settings: Settings) -> None:
    if settings.mode == "production" and password in DEMO_PASSWORDS.values():
        raise InvalidInput("that is a documented demo password: choose another")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"the password is shorter than {MIN_PASSWORD_LENGTH} characters")
    if len(password) > 256:
        raise InvalidInput("the password is longer than 256 characters")


def create(
    session: Session,
    settings: Settings,
    username: str,
    password: str,
    role: m.AccountRole,
    *,
    street: str | None = None,
    community: str | None = None,
    worker_id: int | None = None,
) -> m.Account:
    """Add an account; the area is a street or community code, a worker account names its
    worker (whose community it then serves through their A/B roles)."""
    if not USERNAME.fullmatch(username):
        raise InvalidInput(
            f"username {username!r}: 2-64 of a-z 0-9 _ . - (lower case), starting with a"
            " letter or digit"
        )
    check_password(password, settings)
    if session.scalar(select(m.Account.id).where(m.Account.username == username)) is not None:
        raise Conflict(f"the username {username!r} is taken")
    account = m.Account(username=username, password_hash=HASHER.hash(password), role=role)
    if role is m.AccountRole.ADMIN and (street or community):
        raise InvalidInput("an admin account serves everywhere: give no street or community")
    if role is m.AccountRole.STREET and not street:
        raise InvalidInput("a street account needs --street CODE")
    if role in (m.AccountRole.OFFICE, m.AccountRole.LEADER) and not community:
        raise InvalidInput(f"a {role.value} account needs --community CODE")
    if role is m.AccountRole.WORKER and worker_id is None:
        raise InvalidInput("a worker account needs --worker ID (the worker it signs in as)")
    if street and role not in (m.AccountRole.STREET, m.AccountRole.VIEWER):
        raise InvalidInput(f"a {role.value} account is not limited to a street")
    if community and role not in (
        m.AccountRole.OFFICE,
        m.AccountRole.LEADER,
        m.AccountRole.VIEWER,
    ):
        raise InvalidInput(f"a {role.value} account is not limited to a community")
    if street and community:
        raise InvalidInput("give a street or a community, not both")
    if street:
        account.street_id = _area_id(session, m.Street, street, "street")
    if community:
        account.community_id = _area_id(session, m.Community, community, "community")
    if worker_id is not None:
        worker = session.get(m.Worker, worker_id)
        if worker is None:
            raise NotFound(f"no worker {worker_id}")
        if role not in (m.AccountRole.WORKER, m.AccountRole.LEADER):
            raise InvalidInput(f"a {role.value} account is not linked to a worker")
        account.worker_id = worker_id
    session.add(account)
    session.flush()
    return account


def _area_id(session: Session, model: type, code: str, kind: str) -> int:
    found = session.scalar(select(model.id).where(model.code == code))
    if found is None:
        raise NotFound(f"no {kind} {code!r}")
    return found


def authenticate(session: Session, username: str, password: str) -> m.Account | None:
    """The active account with these credentials, else None (same work either way)."""
    account = session.scalar(select(m.Account).where(m.Account.username == username))
    if account is None:
        HASHER.verify(password, DUMMY_HASH)
        return None
    if not HASHER.verify(password, account.password_hash) or not account.active:
        return None
    return account


def set_password(session: Session, settings: Settings, account: m.Account, password: str) -> None:
    """Change the password and refuse every token issued before."""
    check_password(password, settings)
    account.password_hash = HASHER.hash(password)
    account.token_generation += 1
    session.flush()


def revoke_all(session: Session, account: m.Account) -> None:
    """Refuse every token issued so far to ``account`` (it may sign in again)."""
    account.token_generation += 1
    session.flush()


def find(session: Session, username: str) -> m.Account:
    account = session.scalar(select(m.Account).where(m.Account.username == username))
    if account is None:
        raise NotFound(f"no account {username!r}")
    return account


def describe(account: m.Account, session: Session) -> dict:
    """An account as the API and CLI show it (never the hash)."""
    street = session.get(m.Street, account.street_id) if account.street_id else None
    community = session.get(m.Community, account.community_id) if account.community_id else None
    return {
        "id": account.id,
        "username": account.username,
        "role": m.AccountRole(account.role).value,
        "street": street.code if street else None,
        "community": community.code if community else None,
        "worker_id": account.worker_id,
        "active": account.active,
        "created_at": account.created_at.isoformat() if account.created_at else None,
    }


def create_demo_accounts(session: Session, settings: Settings, community_code: str) -> list[str]:
    """One account per role for ``community_code`` with the documented demo passwords;
    accounts already there are kept. The worker is the A worker of the community's first grid
    (by code), the leader its grid leader when it has one."""
    community = session.scalar(select(m.Community).where(m.Community.code == community_code))
    if community is None:
        raise NotFound(f"no community {community_code!r}")
    street = session.get(m.Street, community.street_id)
    worker_id = session.scalar(
        select(m.Assignment.worker_id)
        .join(m.Grid, m.Grid.id == m.Assignment.grid_id)
        .where(
            m.Grid.community_id == community.id,
            m.Grid.valid_to.is_(None),
            m.Assignment.role == m.AssignmentRole.A,
            m.Assignment.valid_to.is_(None),
        )
        .order_by(m.Grid.code)
        .limit(1)
    )
    leader_id = session.scalar(
        select(m.Worker.id)
        .where(
            m.Worker.community_id == community.id,
            m.Worker.role == m.WorkerRole.GRID_LEADER,
            m.Worker.left_on.is_(None),
        )
        .order_by(m.Worker.id)
        .limit(1)
    )
    wanted: list[tuple[str, dict]] = [
        ("admin", {}),
        ("street", {"street": street.code if street else None}),
        ("office", {"community": community_code}),
        ("leader", {"community": community_code, "worker_id": leader_id}),
        ("worker", {"worker_id": worker_id}),
        ("viewer", {}),
    ]
    existing = set(session.scalars(select(m.Account.username)))
    added = []
    for role, area in wanted:
        if role in existing or (role == "worker" and worker_id is None):
            continue
        create(session, settings, role, DEMO_PASSWORDS[role], m.AccountRole(role), **area)
        added.append(role)
    return added


def default_secrets(settings: Settings, session: Session | None) -> list[str]:
    """Why the service must not start in production mode: default or weak secrets."""
    problems = []
    secret = settings.secret_key.get_secret_value() if settings.secret_key else ""
    if not secret:
        problems.append("GRIDLINE_SECRET_KEY is not set")
    elif secret == DEMO_SECRET:
        problems.append("GRIDLINE_SECRET_KEY is the documented demo secret")
    elif len(secret) < 32:
        problems.append(f"GRIDLINE_SECRET_KEY has {len(secret)} characters; at least 32")
    from sqlalchemy.engine import make_url

    if make_url(settings.database_url).password == DEFAULT_DB_PASSWORD:
        problems.append(f"the database password is the default {DEFAULT_DB_PASSWORD!r}")
    if session is not None:
        problems.extend(
            f"account {name!r} still has its documented demo password"
            for name in _demo_passwords_in_use(session)
        )
    return problems


def _demo_passwords_in_use(session: Session) -> Iterable[str]:
    rows = session.execute(
        select(m.Account.username, m.Account.password_hash).where(
            m.Account.username.in_(list(DEMO_PASSWORDS)), m.Account.active
        )
    )
    for username, hashed in rows:
        if HASHER.verify(DEMO_PASSWORDS[username], hashed):
            yield username


def signing_key(settings: Settings) -> str:
    """The token signing key: GRIDLINE_SECRET_KEY, or the demo secret in demo and test mode."""
    if settings.secret_key is not None and settings.secret_key.get_secret_value():
        return settings.secret_key.get_secret_value()
    if settings.mode == "production":
        raise RuntimeError("GRIDLINE_SECRET_KEY is not set (required outside demo/test mode)")
    return DEMO_SECRET
