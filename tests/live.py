"""The API served for real (uvicorn on a free port of 127.0.0.1) for tests with outside
clients: Chromium (tests/browser) and GDAL (tests/test_gdal.py)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from geo.accounts import DEMO_PASSWORDS

ROOT = Path(__file__).resolve().parents[1]
SERVER_START_S = 30.0
UVICORN = (sys.executable, "-m", "uvicorn", "api.app:app")


@dataclass(frozen=True)
class Server:
    """A running API: its base URL, log file and a token of the demo admin."""

    base_url: str
    log: Path
    token: str = ""

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def request(self, path: str, body: bytes | None = None, **headers: str):
        """An urllib request to ``path`` signed in as the demo admin (POST when ``body``)."""
        return urllib.request.Request(
            self.url(path),
            data=body,
            headers={**self.auth, **headers},
            method="GET" if body is None else "POST",
        )

    def sign_in(self, username: str, password: str) -> str:
        """A token from POST /token (the OAuth2 password flow)."""
        form = urllib.parse.urlencode({"username": username, "password": password}).encode()
        with urllib.request.urlopen(self.url("/token"), data=form, timeout=10) as response:
            return json.load(response)["access_token"]

    def url(self, path: str) -> str:
        return self.base_url + path


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _server_env(database_url: str) -> dict[str, str]:
    """The test process's environment without Gridline settings, on the test database."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("GRIDLINE_") and k != "DATABASE_URL"
    }
    env["DATABASE_URL"] = database_url
    env["GRIDLINE_MODE"] = "test"
    return env


def _wait_until_healthy(process: subprocess.Popen[bytes], base_url: str, log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"uvicorn exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{base_url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    raise RuntimeError(
        f"uvicorn did not answer /health in {SERVER_START_S:g} s:\n{log.read_text()}"
    )


@contextmanager
def serve_api(database_url: str, log: Path, workers: int = 1, **env: str) -> Iterator[Server]:
    """``uvicorn api.app:app`` (``workers`` processes) on a free port of 127.0.0.1 against
    ``database_url``, with the extra settings ``env``; its output goes to ``log``; stopped on
    exit."""
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                *UVICORN,
                *("--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"),
                *("--workers", str(workers)),
            ],
            cwd=ROOT,
            env={**_server_env(database_url), **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_healthy(process, base_url, log)
        token = Server(base_url, log).sign_in("admin", DEMO_PASSWORDS["admin"])
        yield Server(base_url, log, token)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
