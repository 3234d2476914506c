"""The audit log: every write on every path (API, CLI, bulk import), in the same transaction,
append-only for the application's own database role."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from geo import models as m

NOT_AUDITED = {"audit_log", "spatial_ref_sys", "alembic_version"}
OPERATIONS = {"audit_insert", "audit_update", "audit_delete", "audit_truncate"}
CATEGORY = {"group": "fire", "name": "Blocked stairwell", "name_zh": "楼道堵塞"}


def audit_rows(session: Session, table: str, row_id: str | None = None) -> list[m.AuditEntry]:
    query = select(m.AuditEntry).where(m.AuditEntry.table_name == table)
    if row_id is not None:
        query = query.where(m.AuditEntry.row_id == row_id)
    return list(session.scalars(query.order_by(m.AuditEntry.id)))


def test_every_table_is_audited(session: Session) -> None:
    tables = set(
        session.scalars(
            text(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                " AND tablename <> ALL(:skip)"
            ),
            {"skip": sorted(NOT_AUDITED)},
        )
    )
    assert {"hazard", "grid", "account", "patrol_plan", "parking_stall"} <= tables
    triggers = session.execute(
        text(
            "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
            " WHERE t.tgname LIKE 'audit%' AND NOT t.tgisinternal"
        )
    ).all()
    by_table: dict[str, set[str]] = {}
    for table, trigger in triggers:
        by_table.setdefault(table, set()).add(trigger)
    assert {t: by_table.get(t, set()) for t in tables} == {t: OPERATIONS for t in tables}


def test_an_api_write_records_who_what_when_before_after_and_the_request(
    client, session: Session
) -> None:
    created = client.put(
        "/hazard-categories/stairwell",
        json={"code": "stairwell", **CATEGORY},
        headers={"X-Request-ID": "req-create-1"},
    )
    assert created.status_code == 200
    assert created.headers["x-request-id"] == "req-create-1"
    changed = client.put(
        "/hazard-categories/stairwell",
        json={"code": "stairwell", **CATEGORY, "active": False},
        headers={"X-Request-ID": "req-change-2"},
    )
    assert changed.status_code == 200
    insert, update = audit_rows(session, "hazard_category", "stairwell")
    assert (insert.actor, insert.via, insert.request_id, insert.operation) == (
        "admin",
        "api",
        "req-create-1",
        "INSERT",
    )
    assert insert.before is None
    assert insert.after == {"code": "stairwell", "active": True, **CATEGORY}
    assert (update.operation, update.request_id) == ("UPDATE", "req-change-2")
    assert (update.before["active"], update.after["active"]) == (True, False)
    assert insert.at <= update.at
    listed = client.get("/audit", params={"request_id": "req-change-2"}).json()
    assert [(e["table"], e["row_id"], e["operation"]) for e in listed] == [
        ("hazard_category", "stairwell", "UPDATE")
    ]


def test_a_request_without_an_id_gets_one(client, session: Session) -> None:
    response = client.put(
        "/hazard-categories/cellar", json={"code": "cellar", **CATEGORY}, headers={}
    )
    request_id = response.headers["x-request-id"]
    assert len(request_id) == 32
    assert [e.request_id for e in audit_rows(session, "hazard_category", "cellar")] == [request_id]
    odd = client.put(
        "/hazard-categories/attic",
        json={"code": "attic", **CATEGORY},
        headers={"X-Request-ID": "not ok; DROP TABLE"},
    )
    assert odd.headers["x-request-id"] != "not ok; DROP TABLE"


def test_a_failed_request_writes_nothing_not_even_audit_rows(client, session: Session) -> None:
    before = session.scalar(select(func.count()).select_from(m.AuditEntry))
    grids = client.get("/grids", params={"community": "330303003001", "limit": 2}).json()
    feature = grids["features"][0]
    moved = json.loads(json.dumps(feature))
    moved["geometry"]["coordinates"][0][1][0] += 0.5  # a kilometres-long spike: refused
    response = client.put(f"/grids/{feature['id']}", json=moved)
    assert response.status_code in (409, 422)
    assert session.scalar(select(func.count()).select_from(m.AuditEntry)) == before


def test_a_bulk_import_is_audited_row_by_row_under_one_request_id(client, session: Session) -> None:
    hydrants = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {
                    "kind": "hydrant",
                    "name": f"Audit hydrant {i}",
                    "community": "330303003001",
                },
                "geometry": {"type": "Point", "coordinates": [120.7200 + i * 1e-4, 27.9698]},
            }
            for i in range(3)
        ],
    }
    response = client.post(
        "/site-features/import", json=hydrants, headers={"X-Request-ID": "bulk-7"}
    )
    assert response.status_code == 201, response.text
    rows = [e for e in audit_rows(session, "site_feature") if e.request_id == "bulk-7"]
    inserts = [e for e in rows if e.operation == "INSERT"]
    assert [(e.actor, e.via, e.after["name"]) for e in inserts] == [
        ("admin", "api", f"Audit hydrant {i}") for i in range(3)
    ]
    assert {(e.actor, e.operation) for e in rows} <= {("admin", "INSERT"), ("admin", "UPDATE")}
    assert {e.after["geom"]["type"] for e in rows} == {"Point"}


def test_cli_writes_are_audited_as_the_operating_system_user(
    gridline, session: Session, tmp_path: Path
) -> None:
    code, out, _ = gridline(
        "user", "add", "auditor", "--role", "viewer", "--password", "auditor password"
    )
    assert code == 0, out
    account_id = session.scalar(select(m.Account.id).where(m.Account.username == "auditor"))
    (entry,) = audit_rows(session, "account", str(account_id))
    assert entry.actor.startswith("cli:")
    assert (entry.via, entry.operation, entry.request_id) == ("cli", "INSERT", None)
    assert entry.after["username"] == "auditor"
    assert "password_hash" not in entry.after  # never copied into the log


def test_the_application_role_cannot_change_or_remove_audit_rows(
    client, session: Session, database_url: str
) -> None:
    client.put("/hazard-categories/kept", json={"code": "kept", **CATEGORY})
    for statement in (
        "UPDATE audit_log SET actor = 'someone else'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
    ):
        with pytest.raises(DBAPIError) as refused, session.begin_nested():
            session.execute(text(statement))
        assert refused.value.orig.sqlstate == "42501", statement  # insufficient privilege
    assert [e.actor for e in audit_rows(session, "hazard_category", "kept")] == ["admin"]
    with psycopg.connect(database_url.replace("+psycopg", "")) as conn:
        superuser = conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        if not superuser.fetchone()[0]:  # the privilege itself is gone, not only the trigger
            granted = conn.execute(
                "SELECT has_table_privilege('audit_log', 'UPDATE'),"
                " has_table_privilege('audit_log', 'DELETE'),"
                " has_table_privilege('audit_log', 'INSERT')"
            ).fetchone()
            assert granted == (False, False, True)
