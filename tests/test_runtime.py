"""What the service does to its Python process at startup."""

from __future__ import annotations

import gc
import subprocess
import sys
from pathlib import Path

from fastapi.testclient import TestClient

from maps.branca_patches import _CAMELIFY
from tests.live import _free_port, _server_env, _wait_until_healthy


def test_startup_moves_long_lived_objects_out_of_the_collectors_sight(client: TestClient) -> None:
    """The app, its routes and the modules are frozen once the service has started, so a full
    collection no longer walks them (see api.app.freeze_long_lived)."""
    assert client.get("/health").status_code == 200
    assert gc.get_freeze_count() > 10_000


def test_element_names_are_worked_out_once() -> None:
    import branca.element

    branca.element._camelify.cache_clear()
    for _ in range(3):
        assert branca.element._camelify("LargeHazards") == _CAMELIFY("LargeHazards")
    assert branca.element._camelify.cache_info().hits == 2


def _children(pid: int) -> list[str]:
    """The command lines of the processes whose parent is ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            if parent == pid:
                found.append((entry / "cmdline").read_bytes().replace(b"\0", b" ").decode())
        except (OSError, ValueError):
            continue
    return found


def test_serve_runs_the_workers_asked_for(database_url: str, tmp_path: Path) -> None:
    port = _free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "serve", "--port", str(port), "--workers", "2"],
            env=_server_env(database_url),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_healthy(process, f"http://127.0.0.1:{port}", log)
        workers = [c for c in _children(process.pid) if "multiprocessing.spawn" in c]
        assert len(workers) == 2
    finally:
        process.terminate()
        process.wait(20)
    refused = subprocess.run(
        [sys.executable, "-m", "api.cli", "serve", "--workers", "0"],
        env=_server_env(database_url),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 2
    assert "Invalid value for '--workers': Input should be greater than or equal to 1" in (
        refused.stderr
    )
