"""Workers of the grid team: create, read, update, delete, and import from CSV.

Given the signed-in ``principal``, writes keep to its area: a worker whose community it does not
serve (or of no community, unless it serves everywhere) is missing (NotFound, as for an unknown
id), and giving a worker such a community is Forbidden.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from geo import models as m
from geo.accounts import Principal
from geo.errors import FeatureProblem, FeaturesRejected, Forbidden, InvalidInput, NotFound
from geo.layers import outside_area, plain
from geo.roster import end_roles_of

Phone = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9][0-9 -]{4,30}$")]


class WorkerIn(BaseModel):
    """A worker as written by the API and the CSV import."""

    model_config = ConfigDict(extra="forbid", use_enum_values=True)

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    gender: m.Gender
    role: m.WorkerRole = m.WorkerRole.GRID_WORKER
    hire_date: dt.date
    phone: Phone | None = None
    left_on: Annotated[
        dt.date | None, Field(description="first day no longer working here; ends their roles")
    ] = None
    community: Annotated[str | None, Field(description="community code")] = None


FIELDS = ("name", "gender", "role", "hire_date", "phone", "left_on")


def to_dict(worker: m.Worker, community: str | None) -> dict[str, Any]:
    out = {"id": worker.id, **{f: plain(getattr(worker, f)) for f in FIELDS}}
    out["community"] = community
    return out


def _query():
    return select(m.Worker, m.Community.code).outerjoin(
        m.Community, m.Community.id == m.Worker.community_id
    )


def list_workers(session: Session, community: str | None = None) -> list[dict[str, Any]]:
    query = _query().order_by(m.Worker.id)
    if community is not None:
        query = query.where(m.Community.code == community)
    return [to_dict(w, code) for w, code in session.execute(query)]


def get_worker(session: Session, worker_id: int) -> dict[str, Any]:
    row = session.execute(_query().where(m.Worker.id == worker_id)).first()
    if row is None:
        raise NotFound(f"worker {worker_id} not found")
    return to_dict(*row)


def _values(
    session: Session, data: WorkerIn, today: dt.date, principal: Principal | None
) -> dict[str, Any]:
    if data.hire_date > today:
        raise InvalidInput(f"hire_date {data.hire_date} is in the future")
    if data.left_on is not None and data.left_on <= data.hire_date:
        raise InvalidInput(f"left_on {data.left_on} must be after hire_date {data.hire_date}")
    values = data.model_dump(exclude={"community"})
    values["community_id"] = None
    if data.community is not None:
        community_id = session.scalar(
            select(m.Community.id).where(m.Community.code == data.community)
        )
        if community_id is None:
            raise InvalidInput(f"community {data.community!r} not found")
        values["community_id"] = community_id
    if principal is not None and not principal.scope.covers(values["community_id"], None):
        where = f"community {data.community!r}" if data.community else "a worker of no community"
        raise Forbidden(outside_area(principal, where))
    return values


def create_workers(
    session: Session,
    items: list[WorkerIn],
    today: dt.date | None = None,
    *,
    principal: Principal | None = None,
) -> list[int]:
    today = today or dt.date.today()
    rows = [m.Worker(**_values(session, item, today, principal)) for item in items]
    session.add_all(rows)
    session.flush()
    return [row.id for row in rows]


def update_worker(
    session: Session, worker_id: int, data: WorkerIn, *, principal: Principal | None = None
) -> None:
    worker = _stored(session, worker_id, principal)
    for key, value in _values(session, data, dt.date.today(), principal).items():
        setattr(worker, key, value)
    if worker.left_on is not None:
        end_roles_of(session, worker_id, worker.left_on)
    session.flush()


def delete_worker(session: Session, worker_id: int, *, principal: Principal | None = None) -> None:
    session.delete(_stored(session, worker_id, principal))
    session.flush()


def _stored(session: Session, worker_id: int, principal: Principal | None) -> m.Worker:
    """The worker, locked; NotFound when missing or outside ``principal``'s area."""
    worker = session.get(m.Worker, worker_id, with_for_update=True)
    if worker is None or (
        principal is not None and not principal.scope.covers(worker.community_id, None)
    ):
        raise NotFound(f"worker {worker_id} not found")
    return worker


def read_csv(path: Path, community: str | None) -> list[WorkerIn]:
    """Workers from a CSV with a header row (name, gender, role, hire_date, phone)."""
    if not path.exists():
        raise InvalidInput(f"{path}: no such file")
    items, problems = [], []
    with path.open(newline="", encoding="utf-8-sig") as handle:
        for index, row in enumerate(csv.DictReader(handle)):
            values = {k.strip(): (v.strip() or None) for k, v in row.items() if k}
            if community is not None:
                values.setdefault("community", community)
            try:
                items.append(WorkerIn.model_validate(values))
            except ValidationError as exc:
                reason = "; ".join(
                    f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()
                )
                problems.append(FeatureProblem(index, values.get("name") or "", reason))
    if problems:
        raise FeaturesRejected(problems)
    if not items:
        raise InvalidInput(f"{path}: no workers in the file")
    return items
