"""A/B roles of workers on grids: manual assignment, history, planning, coverage.

Every signed-in account reads; admin, street and community office accounts change roles and
apply plans, inside their area (see :mod:`geo.roster`); a plan proposal (nothing written) is
also open to grid leaders.
"""

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Query, Response
from pydantic import BaseModel, ConfigDict

from api.auth import PrincipalDep
from api.deps import SessionDep
from geo import features, planning, roster
from geo import models as m
from geo.accounts import Principal
from geo.adjacency import adjacency
from geo.assignment import Role
from geo.layers import REFERENCE_WRITERS, require_role

router = APIRouter(tags=["assignments"])
PLANNERS = (*REFERENCE_WRITERS, m.AccountRole.LEADER)
"""Roles that may ask for a plan proposal (which writes nothing)."""


def writer(principal: PrincipalDep) -> Principal:
    require_role(principal, "change assignments")
    return principal


def planner(principal: PrincipalDep) -> Principal:
    require_role(principal, "ask for assignment plans", PLANNERS)
    return principal


WriterDep = Annotated[Principal, Depends(writer)]


class AssignmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    worker_id: int
    grid_id: int
    role: Literal["A", "B"]
    valid_from: dt.date | None = None


class EndIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    valid_to: dt.date | None = None


class RoleIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    worker_id: int
    grid_id: int
    role: Literal["A", "B"]


class ApplyIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    roles: list[RoleIn]


@router.post("/assignments", status_code=201, summary="Give a worker the A or B role on a grid")
def create_assignment(
    session: SessionDep, principal: WriterDep, body: AssignmentIn, response: Response
) -> dict[str, Any]:
    created = roster.assign(
        session, body.worker_id, body.grid_id, body.role, body.valid_from, principal=principal
    )
    response.headers["Location"] = f"/assignments/{created['id']}"
    return created


@router.get("/assignments", summary="Roles, by community, grid, worker, day or period")
def list_assignments(
    session: SessionDep,
    community: Annotated[str | None, Query(description="community code")] = None,
    grid_id: int | None = None,
    worker_id: int | None = None,
    on: Annotated[dt.date | None, Query(description="roles held on this day")] = None,
    start: Annotated[dt.date | None, Query(alias="from", description="period start")] = None,
    end: Annotated[dt.date | None, Query(alias="to", description="period end (included)")] = None,
) -> list[dict[str, Any]]:
    period = None
    if start is not None or end is not None:
        period = (start or dt.date.min, end or dt.date.max)
    return roster.list_roles(
        session, community=community, grid_id=grid_id, worker_id=worker_id, on=on, period=period
    )


@router.get("/assignments/{assignment_id}", summary="One role")
def read_assignment(session: SessionDep, assignment_id: int) -> dict[str, Any]:
    return roster.get_role(session, assignment_id)


@router.post("/assignments/{assignment_id}/end", summary="End a role (history is kept)")
def end_assignment(
    session: SessionDep,
    principal: WriterDep,
    assignment_id: int,
    body: Annotated[EndIn | None, Body()] = None,
) -> dict[str, Any]:
    return roster.end(session, assignment_id, body.valid_to if body else None, principal=principal)


@router.get("/communities/{code}/adjacency", summary="Grids sharing an edge, with its length")
def community_adjacency(session: SessionDep, code: str) -> list[dict[str, Any]]:
    pairs = adjacency(session, planning.community_id(session, code))
    return [
        {
            "a": p.a,
            "a_code": p.a_code,
            "b": p.b,
            "b_code": p.b_code,
            "shared_m": round(p.shared_m, 2),
        }
        for p in pairs
    ]


@router.post(
    "/communities/{code}/assignment-plan",
    summary="Propose A/B roles (writes nothing)",
    dependencies=[Depends(planner)],
)
def propose_plan(
    session: SessionDep,
    code: str,
    on: Annotated[dt.date | None, Query(description="plan date (default today)")] = None,
) -> dict[str, Any]:
    return planning.plan_json(session, code, planning.plan_community(session, code, on))


@router.post(
    "/communities/{code}/assignment-plan/apply",
    summary="Apply a plan in one transaction, from today",
)
def apply_plan(
    session: SessionDep,
    principal: WriterDep,
    code: str,
    body: Annotated[
        ApplyIn | None,
        Body(description="the roles to apply (e.g. an edited proposal); none: plan now and apply"),
    ] = None,
) -> dict[str, Any]:
    features.community_in_area(session, code, principal)
    if body is None:
        roles = planning.plan_community(session, code).roles
    else:
        roles = [Role(r.worker_id, r.grid_id, r.role) for r in body.roles]
    applied = planning.apply_plan(session, code, roles)
    keys = ("worker_id", "grid_id", "role")
    return {
        "community": code,
        "added": [dict(zip(keys, k, strict=True)) for k in applied.added],
        "ended": [dict(zip(keys, k, strict=True)) for k in applied.ended],
    }


@router.get("/communities/{code}/coverage", summary="Coverage of a community's grids")
def community_coverage(
    session: SessionDep, code: str, on: Annotated[dt.date | None, Query()] = None
) -> dict[str, Any]:
    return planning.coverage(session, code, on)
