"""Backup and restore drill: the test database dumped and loaded into another database, every
table, geometry and the history trigger identical."""

from __future__ import annotations

import os
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import Engine

from geo import db
from geo.backup import backup, restore
from geo.errors import Conflict, InvalidInput

TARGET = os.environ.get("GRIDLINE_RESTORE_TEST_DATABASE_URL") or None
pytestmark = pytest.mark.skipif(
    TARGET is None,
    reason="GRIDLINE_RESTORE_TEST_DATABASE_URL not set (make test sets up gridline_test_restore)",
)

FINGERPRINT = """
SELECT (SELECT count(*) FROM grid), (SELECT count(*) FROM building),
       (SELECT count(*) FROM road), (SELECT count(*) FROM site_feature),
       (SELECT count(*) FROM worker), (SELECT count(*) FROM hazard_category),
       (SELECT round(sum(ST_Area(geom::geography))::numeric, 3) FROM grid),
       (SELECT md5(string_agg(ST_AsEWKB(geom)::text, ',' ORDER BY id)) FROM building),
       (SELECT version_num FROM alembic_version),
       (SELECT count(*) FROM pg_trigger WHERE tgname = 'hazard_event_is_history'),
       (SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'audit%'),
       (SELECT count(*) FROM audit_log), (SELECT count(*) FROM account)
"""


def fingerprint(url: str) -> tuple:
    with psycopg.connect(db.libpq_url(url)) as conn:
        return conn.execute(FINGERPRINT).fetchone()


def test_backup_and_restore_round_trip(engine: Engine, demo, tmp_path: Path) -> None:
    source = engine.url.render_as_string(hide_password=False)
    dump = tmp_path / "gridline.dump"
    assert backup(source, dump) > 10_000
    restore(TARGET, dump, replace=True)
    assert fingerprint(TARGET) == fingerprint(source)
    assert fingerprint(source)[0] == 21
    with (  # the audit log is sealed again
        psycopg.connect(db.libpq_url(TARGET)) as conn,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        conn.execute("UPDATE audit_log SET actor = 'someone else'")
    with pytest.raises(Conflict, match="restore into an empty database"):
        restore(TARGET, dump)
    junk = tmp_path / "junk.dump"
    junk.write_text("not a dump")
    with pytest.raises(InvalidInput, match="not a pg_dump custom-format archive"):
        restore(TARGET, junk, replace=True)
    assert fingerprint(TARGET) == fingerprint(source)  # the refused restores changed nothing
