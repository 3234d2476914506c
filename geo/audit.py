"""Who is writing: the audit triggers read these transaction-local settings.

Every table's statement-level triggers (migration 0006) copy each inserted, updated or deleted
row into ``audit_log`` with the actor, the path (api, cli, sql) and the request id set here,
in the same transaction as the change.
"""

from __future__ import annotations

import getpass

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from geo import models as m


def tag(session: Session, actor: str, via: str, request_id: str | None = None) -> None:
    """Name the actor of the current transaction's writes (until it ends)."""
    session.execute(
        text(
            "SELECT set_config('gridline.actor', :actor, true),"
            " set_config('gridline.via', :via, true),"
            " set_config('gridline.request_id', :rid, true)"
        ),
        {"actor": actor, "via": via, "rid": request_id or ""},
    )


def cli_actor() -> str:
    """The CLI's actor: the operating-system user running it."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


def entries(
    session: Session,
    *,
    table: str | None = None,
    row_id: str | None = None,
    actor: str | None = None,
    request_id: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[dict]:
    """Audit rows, newest first, filtered by table, row, actor or request id."""
    query = select(m.AuditEntry).order_by(m.AuditEntry.id.desc()).limit(limit).offset(offset)
    for column, value in (
        (m.AuditEntry.table_name, table),
        (m.AuditEntry.row_id, row_id),
        (m.AuditEntry.actor, actor),
        (m.AuditEntry.request_id, request_id),
    ):
        if value is not None:
            query = query.where(column == value)
    return [
        {
            "id": e.id,
            "at": e.at.isoformat(),
            "actor": e.actor,
            "via": e.via,
            "request_id": e.request_id,
            "operation": e.operation,
            "table": e.table_name,
            "row_id": e.row_id,
            "before": e.before,
            "after": e.after,
        }
        for e in session.scalars(query)
    ]
