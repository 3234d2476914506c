"""Backups: the whole database (PostGIS geometries, history, audit included) with pg_dump's
custom format, restored with pg_restore in one transaction.

A restore goes into a database whose PostGIS and btree_gist extensions exist (creating them
needs a superuser, see scripts/local-postgis) and that holds no Gridline tables, unless
``replace`` is given: then every table, view, sequence and function of the public schema that
does not belong to an extension is dropped first. pg_restore runs as one transaction, so a
failed restore leaves the database empty, never half-written.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import psycopg

from geo.db import libpq_url
from geo.errors import Conflict, GridlineError, InvalidInput

OWN_OBJECTS = """
SELECT format('DROP %s IF EXISTS %I.%I CASCADE',
              CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END,
              n.nspname, c.relname)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'S')
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e')
UNION ALL
SELECT format('DROP FUNCTION IF EXISTS %s CASCADE', p.oid::regprocedure)
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = 'public'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
"""
OWN_TABLES = """
SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e')
"""


class ToolMissing(GridlineError):
    """pg_dump or pg_restore is not installed."""


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise ToolMissing(f"{name} not found: install the PostgreSQL client (postgresql-client)")
    return found


def _run(args: list[str]) -> None:
    done = subprocess.run(args, capture_output=True, text=True)
    if done.returncode != 0:
        raise GridlineError(f"{Path(args[0]).name} failed: {done.stderr.strip()}")


def backup(url: str, path: Path) -> int:
    """Dump the database at ``url`` to ``path``; its size in bytes."""
    _run(
        [
            _tool("pg_dump"),
            "--format=custom",
            "--no-owner",
            "--no-privileges",
            f"--file={path}",
            f"--dbname={libpq_url(url)}",
        ]
    )
    return path.stat().st_size


def restore(url: str, path: Path, *, replace: bool = False) -> None:
    """Load the dump at ``path`` into the database at ``url`` in one transaction."""
    if not path.is_file():
        raise InvalidInput(f"{path}: no such file")
    listing = subprocess.run(
        [_tool("pg_restore"), "--list", str(path)], capture_output=True, text=True
    )
    if listing.returncode != 0:
        raise InvalidInput(f"{path} is not a pg_dump custom-format archive")
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        tables = conn.execute(OWN_TABLES).fetchone()[0]
        if tables and not replace:
            raise Conflict(
                f"the database holds {tables} tables: restore into an empty database, "
                "or replace its contents (--replace)"
            )
        if tables or replace:
            with conn.transaction():
                for (statement,) in conn.execute(OWN_OBJECTS).fetchall():
                    conn.execute(statement)
    entries = [line for line in listing.stdout.splitlines() if not _extension_data(line)]
    with tempfile.NamedTemporaryFile("w", suffix=".list") as chosen:
        chosen.write("\n".join(entries) + "\n")
        chosen.flush()
        _run(
            [
                _tool("pg_restore"),
                "--no-owner",
                "--no-privileges",
                "--no-comments",
                "--single-transaction",
                "--exit-on-error",
                f"--use-list={chosen.name}",
                f"--dbname={libpq_url(url)}",
                str(path),
            ]
        )
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        # --no-privileges drops the REVOKE that keeps the audit log append-only: seal it again
        if conn.execute("SELECT to_regprocedure('gridline_seal_audit()')").fetchone()[0]:
            conn.execute("SELECT gridline_seal_audit()")


def _extension_data(entry: str) -> bool:
    """A table of contents entry with the rows of PostGIS's own catalogue (spatial_ref_sys
    belongs to the extension, already in the target database)."""
    return "TABLE DATA public spatial_ref_sys" in entry
