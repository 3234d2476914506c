"""Fixtures of the browser suite: the real API served by uvicorn, and headless Chromium.

The server is a subprocess (``uvicorn api.app:app``) on a free port of 127.0.0.1, using the
test database, so the browser only sees committed data. Chromium is Debian's ``chromium``
(``GRIDLINE_CHROMIUM`` names another binary), driven by Playwright's Python package without any
browser download. Every request to a host other than 127.0.0.1 is aborted and recorded.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest

from tests.browser.harness import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    HERE,
    LOCAL_HOSTS,
    ROOT,
    VIEWPORT,
    Server,
    Tab,
    chromium_missing_reason,
)

if TYPE_CHECKING:
    from playwright.sync_api import (
        Browser,
        ConsoleMessage,
        Playwright,
        Request,
        Response,
        Route,
    )

SERVER_START_S = 30.0
UVICORN = (sys.executable, "-m", "uvicorn", "api.app:app")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test of this folder is a ``browser`` test (``-m 'not browser'`` leaves them out)."""
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.browser)


# --- the server ----------------------------------------------------------------------------


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


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@contextmanager
def serve_api(database_url: str, log: Path, **env: str) -> Iterator[Server]:
    """``uvicorn api.app:app`` on a free port of 127.0.0.1 against ``database_url``, with the
    extra settings ``env``; its output goes to ``log``; stopped on exit."""
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*UVICORN, "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
            cwd=ROOT,
            env={**_server_env(database_url), **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_healthy(process, base_url, log)
        yield Server(base_url, log)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


@pytest.fixture(scope="session")
def server(database_url: str, demo, artifacts: Path) -> Iterator[Server]:
    """The API against the test database, for the browser."""
    if reason := chromium_missing_reason():
        pytest.skip(reason)
    with serve_api(database_url, artifacts / "server.log") as served:
        yield served


# --- the browser ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def playwright_instance() -> Iterator[Playwright]:
    if reason := chromium_missing_reason():
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright_instance: Playwright) -> Iterator[Browser]:
    """Headless Chromium from the system (never a downloaded browser)."""
    browser = playwright_instance.chromium.launch(
        executable_path=shutil.which(CHROMIUM) or CHROMIUM, headless=True, args=CHROMIUM_ARGS
    )
    yield browser
    browser.close()


@pytest.fixture
def tab(browser: Browser) -> Iterator[Tab]:
    """A fresh page whose requests to anything but 127.0.0.1 are aborted and recorded."""
    context = browser.new_context(viewport=VIEWPORT, service_workers="block", locale="zh-CN")
    page = context.new_page()
    tab = Tab(page)

    def route(route: Route) -> None:
        host = urlsplit(route.request.url).hostname
        if host in LOCAL_HOSTS:
            route.continue_()
        else:
            tab.blocked.append(route.request.url)
            route.abort("blockedbyclient")

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            tab.console_errors.append(f"{message.text} ({message.location.get('url')})")

    def request_failed(request: Request) -> None:
        if urlsplit(request.url).hostname in LOCAL_HOSTS:
            tab.failed.append(f"{request.url}: {request.failure}")

    def response(response: Response) -> None:
        if response.status >= 400:
            tab.failed.append(f"{response.url}: HTTP {response.status}")

    context.route("**/*", route)
    page.on("console", console)
    page.on("pageerror", lambda error: tab.page_errors.append(str(error)))
    page.on("requestfailed", request_failed)
    page.on("response", response)
    yield tab
    context.close()
