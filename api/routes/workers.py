"""Workers of the grid team."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from api.deps import SessionDep
from geo import workers
from geo.workers import WorkerIn

router = APIRouter(prefix="/workers", tags=["workers"])


@router.get("", summary="List workers, optionally of one community")
def list_workers(
    session: SessionDep, community: Annotated[str | None, Query()] = None
) -> list[dict[str, Any]]:
    return workers.list_workers(session, community)


@router.post("", status_code=201, summary="Add a worker")
def create_worker(session: SessionDep, worker: WorkerIn, response: Response) -> dict[str, Any]:
    (new_id,) = workers.create_workers(session, [worker])
    response.headers["Location"] = f"/workers/{new_id}"
    return workers.get_worker(session, new_id)


@router.get("/{worker_id}", summary="One worker")
def read_worker(session: SessionDep, worker_id: int) -> dict[str, Any]:
    return workers.get_worker(session, worker_id)


@router.put("/{worker_id}", summary="Replace a worker's record")
def replace_worker(session: SessionDep, worker_id: int, worker: WorkerIn) -> dict[str, Any]:
    workers.update_worker(session, worker_id, worker)
    return workers.get_worker(session, worker_id)


@router.delete("/{worker_id}", status_code=204, summary="Remove a worker")
def delete_worker(session: SessionDep, worker_id: int) -> Response:
    workers.delete_worker(session, worker_id)
    return Response(status_code=204)
