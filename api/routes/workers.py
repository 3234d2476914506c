"""Workers of the grid team.

Every signed-in account reads (phones only for roles that see personal data); admin, street and
community office accounts write, inside their area (see :mod:`geo.workers`).
"""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response

from api.auth import PrincipalDep
from api.deps import SessionDep
from geo import workers
from geo.accounts import Principal
from geo.layers import require_role
from geo.workers import WorkerIn

router = APIRouter(prefix="/workers", tags=["workers"])


def writer(principal: PrincipalDep) -> Principal:
    require_role(principal, "change workers")
    return principal


WriterDep = Annotated[Principal, Depends(writer)]


@router.get("", summary="List workers, optionally of one community")
def list_workers(
    session: SessionDep,
    principal: PrincipalDep,
    community: Annotated[str | None, Query()] = None,
) -> list[dict[str, Any]]:
    return [principal.mask(w) for w in workers.list_workers(session, community)]


@router.post("", status_code=201, summary="Add a worker")
def create_worker(
    session: SessionDep, principal: WriterDep, worker: WorkerIn, response: Response
) -> dict[str, Any]:
    (new_id,) = workers.create_workers(session, [worker], principal=principal)
    response.headers["Location"] = f"/workers/{new_id}"
    return workers.get_worker(session, new_id)


@router.get("/{worker_id}", summary="One worker")
def read_worker(session: SessionDep, principal: PrincipalDep, worker_id: int) -> dict[str, Any]:
    return principal.mask(workers.get_worker(session, worker_id))


@router.put("/{worker_id}", summary="Replace a worker's record")
def replace_worker(
    session: SessionDep, principal: WriterDep, worker_id: int, worker: WorkerIn
) -> dict[str, Any]:
    workers.update_worker(session, worker_id, worker, principal=principal)
    return workers.get_worker(session, worker_id)


@router.delete("/{worker_id}", status_code=204, summary="Remove a worker")
def delete_worker(session: SessionDep, principal: WriterDep, worker_id: int) -> Response:
    workers.delete_worker(session, worker_id, principal=principal)
    return Response(status_code=204)
