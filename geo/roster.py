"""Who covers which grid: time-versioned A/B roles, their rules, history and bulk apply.

Rules, checked for a manual assignment and for every role of an applied plan:

- a grid has at most one A worker on any day (also enforced by an exclusion constraint);
- a worker is A of one grid at a time, unless ``GRIDLINE_ALLOW_MULTIPLE_A`` is set or the
  community has fewer grid workers than grids (then sharing is unavoidable);
- a B worker is the A worker of a grid adjacent to the grid (sharing an edge), and not the
  grid's own A; a grid none of whose neighbours is held by another worker (an island) may take
  its B from any other grid.

Periods are days ``valid_from <= day < valid_to``; ending a role sets ``valid_to``, so history
is never lost.

Given the signed-in ``principal``, writes keep to its area: a grid, worker or role of a
community it does not serve is missing (NotFound, as for an unknown id).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from geo import models as m
from geo.accounts import Principal
from geo.adjacency import adjacency, neighbours
from geo.db import get_settings
from geo.errors import Conflict, InvalidInput, NotFound

Key = tuple[int, int, str]
"""(worker_id, grid_id, role)."""


@dataclass
class State:
    """The roles of one community on one day, with what the rules need to know."""

    community_id: int
    grids: dict[int, str]
    """Current grid id -> code."""
    workers: dict[int, str]
    """Worker id -> name, for messages."""
    grid_workers: int
    """How many grid workers the community has."""
    neighbours: dict[int, set[int]]
    roles: set[Key] = field(default_factory=set)

    def a_of(self, grid_id: int) -> int | None:
        return next((w for w, g, r in self.roles if g == grid_id and r == "A"), None)

    def a_grids(self, worker_id: int) -> set[int]:
        return {g for w, g, r in self.roles if w == worker_id and r == "A"}

    def name(self, worker_id: int) -> str:
        return self.workers.get(worker_id, f"worker {worker_id}")

    def code(self, grid_id: int) -> str:
        return self.grids.get(grid_id, str(grid_id))


def on_day(column_from: Any, column_to: Any, day: dt.date) -> Any:
    """SQL condition: the period [from, to) contains ``day``."""
    return and_(column_from <= day, or_(column_to.is_(None), column_to > day))


def active_grid_worker(community_id: int, day: dt.date) -> Any:
    """SQL condition: a grid worker of the community, hired and not yet left on ``day``."""
    return and_(
        m.Worker.community_id == community_id,
        m.Worker.role == m.WorkerRole.GRID_WORKER,
        m.Worker.hire_date <= day,
        or_(m.Worker.left_on.is_(None), m.Worker.left_on > day),
    )


def load_state(session: Session, community_id: int, day: dt.date) -> State:
    grids = dict(
        session.execute(
            select(m.Grid.id, m.Grid.code).where(
                m.Grid.community_id == community_id, m.Grid.valid_to.is_(None)
            )
        ).all()
    )
    workers = dict(
        session.execute(
            select(m.Worker.id, m.Worker.name).where(m.Worker.community_id == community_id)
        ).all()
    )
    grid_workers = session.scalar(select(func.count()).where(active_grid_worker(community_id, day)))
    roles = session.execute(
        select(m.Assignment.worker_id, m.Assignment.grid_id, m.Assignment.role).where(
            m.Assignment.grid_id.in_(grids),
            on_day(m.Assignment.valid_from, m.Assignment.valid_to, day),
        )
    ).all()
    return State(
        community_id,
        grids,
        workers,
        grid_workers or 0,
        neighbours(adjacency(session, community_id)),
        {(w, g, str(r)) for w, g, r in roles},
    )


def check_role(state: State, worker_id: int, grid_id: int, role: str) -> None:
    """Raise Conflict when ``role`` breaks a rule in ``state`` (which already holds it)."""
    code, name = state.code(grid_id), state.name(worker_id)
    if role == "A":
        holders = {w for w, g, r in state.roles if g == grid_id and r == "A"}
        if len(holders) > 1:
            others = ", ".join(sorted(state.name(w) for w in holders - {worker_id}))
            raise Conflict(f"grid {code} already has A worker {others}")
        if (worker_id, grid_id, "B") in state.roles:
            raise Conflict(f"{name} cannot be both A and B of grid {code}")
        held = state.a_grids(worker_id) - {grid_id}
        shortage = state.grid_workers < len(state.grids)
        if held and not (get_settings().allow_multiple_a or shortage):
            grids = ", ".join(sorted(state.code(g) for g in held))
            raise Conflict(
                f"{name} is already A of grid {grids}; a worker is A of one grid at a time "
                "(set GRIDLINE_ALLOW_MULTIPLE_A to allow more)"
            )
        return
    if state.a_of(grid_id) == worker_id:
        raise Conflict(f"{name} is the A worker of grid {code} and cannot also be its B")
    homes = state.a_grids(worker_id)
    if not homes:
        raise Conflict(f"a B worker must be the A worker of an adjacent grid; {name} is A of none")
    around = state.neighbours.get(grid_id, set())
    if homes & around:
        return
    held_by_others = {g for g in around if state.a_of(g) not in (None, state.a_of(grid_id))}
    if held_by_others:
        grids = ", ".join(sorted(state.code(g) for g in homes))
        raise Conflict(
            f"a B worker must be the A worker of a grid adjacent to {code}; "
            f"{name} is A of {grids}, not adjacent"
        )


def _covers(principal: Principal | None, community_id: int | None) -> bool:
    return principal is None or principal.scope.covers(community_id, None)


def _grid_community(session: Session, grid_id: int, principal: Principal | None) -> int:
    community_id = session.scalar(
        select(m.Grid.community_id).where(m.Grid.id == grid_id, m.Grid.valid_to.is_(None))
    )
    if community_id is None or not _covers(principal, community_id):
        raise NotFound(f"grid {grid_id} not found")
    return community_id


def assign(
    session: Session,
    worker_id: int,
    grid_id: int,
    role: str,
    valid_from: dt.date | None = None,
    *,
    principal: Principal | None = None,
) -> dict[str, Any]:
    """Give ``worker_id`` the A or B role on ``grid_id`` from ``valid_from`` (default today)."""
    if role not in ("A", "B"):
        raise InvalidInput(f"role {role!r} must be A or B")
    day = valid_from or dt.date.today()
    community_id = _grid_community(session, grid_id, principal)
    worker = session.get(m.Worker, worker_id)
    if worker is None or not _covers(principal, worker.community_id):
        raise NotFound(f"worker {worker_id} not found")
    if worker.community_id not in (None, community_id):
        raise Conflict(f"{worker.name} works in another community")
    session.execute(select(m.Grid.id).where(m.Grid.id == grid_id).with_for_update())
    state = load_state(session, community_id, day)
    if (worker_id, grid_id, role) in state.roles:
        raise Conflict(f"{worker.name} is already {role} of grid {state.code(grid_id)}")
    state.roles.add((worker_id, grid_id, role))
    check_role(state, worker_id, grid_id, role)
    row = m.Assignment(worker_id=worker_id, grid_id=grid_id, role=role, valid_from=day)
    session.add(row)
    session.flush()
    return get_role(session, row.id)


def end(
    session: Session,
    assignment_id: int,
    valid_to: dt.date | None = None,
    *,
    principal: Principal | None = None,
) -> dict[str, Any]:
    """End a role: it no longer holds from ``valid_to`` (default today)."""
    row = session.get(m.Assignment, assignment_id, with_for_update=True)
    if row is None or not _covers(principal, session.get(m.Grid, row.grid_id).community_id):
        raise NotFound(f"assignment {assignment_id} not found")
    day = valid_to or dt.date.today()
    if row.valid_to is not None:
        raise Conflict(f"assignment {assignment_id} already ended on {row.valid_to}")
    if day <= row.valid_from:
        raise InvalidInput(
            f"valid_to {day} must be after valid_from {row.valid_from} (the role's first day)"
        )
    row.valid_to = day
    session.flush()
    return get_role(session, assignment_id)


ROLE_COLUMNS = (
    m.Assignment,
    m.Worker.name,
    m.Grid.code,
    m.Community.code,
)


def _role_query():
    return (
        select(*ROLE_COLUMNS)
        .join(m.Worker, m.Worker.id == m.Assignment.worker_id)
        .join(m.Grid, m.Grid.id == m.Assignment.grid_id)
        .join(m.Community, m.Community.id == m.Grid.community_id)
    )


def _role_dict(row: Any) -> dict[str, Any]:
    assignment, worker_name, grid_code, community_code = row
    return {
        "id": assignment.id,
        "worker_id": assignment.worker_id,
        "worker": worker_name,
        "grid_id": assignment.grid_id,
        "grid": grid_code,
        "community": community_code,
        "role": str(assignment.role),
        "valid_from": assignment.valid_from.isoformat(),
        "valid_to": assignment.valid_to.isoformat() if assignment.valid_to else None,
    }


def get_role(session: Session, assignment_id: int) -> dict[str, Any]:
    row = session.execute(_role_query().where(m.Assignment.id == assignment_id)).first()
    if row is None:
        raise NotFound(f"assignment {assignment_id} not found")
    return _role_dict(row)


def list_roles(
    session: Session,
    *,
    community: str | None = None,
    grid_id: int | None = None,
    worker_id: int | None = None,
    on: dt.date | None = None,
    period: tuple[dt.date, dt.date] | None = None,
) -> list[dict[str, Any]]:
    """Roles filtered by community code, grid, worker; held on a day or at any time in a period
    (both ends included)."""
    query = _role_query()
    if community is not None:
        query = query.where(m.Community.code == community)
    if grid_id is not None:
        query = query.where(m.Assignment.grid_id == grid_id)
    if worker_id is not None:
        query = query.where(m.Assignment.worker_id == worker_id)
    if on is not None:
        query = query.where(on_day(m.Assignment.valid_from, m.Assignment.valid_to, on))
    if period is not None:
        first, last = period
        if last < first:
            raise InvalidInput(f"period ends ({last}) before it starts ({first})")
        query = query.where(
            m.Assignment.valid_from <= last,
            or_(m.Assignment.valid_to.is_(None), m.Assignment.valid_to > first),
        )
    order = (m.Grid.code, m.Assignment.role, m.Assignment.valid_from, m.Assignment.id)
    return [_role_dict(row) for row in session.execute(query.order_by(*order))]


@dataclass(frozen=True)
class Applied:
    added: list[Key]
    ended: list[Key]


def apply_roles(
    session: Session, community_id: int, desired: Iterable[Key], today: dt.date | None = None
) -> Applied:
    """Make the community's roles from ``today`` exactly ``desired``, in the caller's
    transaction: roles no longer wanted end today, new ones start today. A role that started
    today and is replaced today covered no day and is removed."""
    day = today or dt.date.today()
    session.execute(select(m.Grid.id).where(m.Grid.community_id == community_id).with_for_update())
    state = load_state(session, community_id, day)
    wanted = set(desired)
    for worker_id, grid_id, _ in wanted:
        if grid_id not in state.grids:
            raise InvalidInput(f"grid {grid_id} is not a current grid of this community")
        if worker_id not in state.workers:
            raise InvalidInput(f"worker {worker_id} is not a worker of this community")
    current = set(state.roles)
    state.roles = wanted
    for worker_id, grid_id, role in sorted(wanted, key=lambda k: (k[2], k[1], k[0])):
        check_role(state, worker_id, grid_id, role)
    ended = sorted(current - wanted)
    added = sorted(wanted - current)
    for worker_id, grid_id, role in ended:
        row = session.scalars(
            select(m.Assignment).where(
                m.Assignment.worker_id == worker_id,
                m.Assignment.grid_id == grid_id,
                m.Assignment.role == role,
                on_day(m.Assignment.valid_from, m.Assignment.valid_to, day),
            )
        ).one()
        _end_row(session, row, day)
    session.flush()
    session.add_all(
        m.Assignment(worker_id=w, grid_id=g, role=r, valid_from=day) for w, g, r in added
    )
    session.flush()
    return Applied(added, ended)


def end_roles_of(session: Session, worker_id: int, day: dt.date) -> int:
    """End every role of a worker from ``day`` (one that had not started yet is removed)."""
    rows = session.scalars(
        select(m.Assignment).where(
            m.Assignment.worker_id == worker_id,
            or_(m.Assignment.valid_to.is_(None), m.Assignment.valid_to > day),
        )
    ).all()
    for row in rows:
        _end_row(session, row, day)
    session.flush()
    return len(rows)


def _end_row(session: Session, row: m.Assignment, day: dt.date) -> None:
    """End a role on ``day``; one starting on or after ``day`` covered no day and goes."""
    if row.valid_from >= day:
        session.delete(row)
    else:
        row.valid_to = day
