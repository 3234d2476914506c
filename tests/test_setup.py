"""The local PostGIS bootstrap: it stops with one clear message where it cannot act."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "local-postgis"


def run(*prefix: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*prefix, "bash", str(SCRIPT), "gridline_unused"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}


def test_with_database_url_it_does_nothing() -> None:
    result = run(env={**clean_env(), "DATABASE_URL": "postgresql://x@example.invalid/db"})
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("runuser") is None, reason="needs root to become nobody"
)
def test_without_root_it_says_what_to_install_or_which_url_to_give() -> None:
    result = run("runuser", "-u", "nobody", "--", env=clean_env())
    assert result.returncode == 1
    assert result.stdout == ""
    assert "needs root (this runs as nobody)" in result.stderr
    assert "postgresql-<version>-postgis-3" in result.stderr
    assert "DATABASE_URL=postgresql://USER:PASSWORD@HOST:5432/DBNAME make demo" in result.stderr
