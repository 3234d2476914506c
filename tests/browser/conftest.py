"""Fixtures of the browser suite: the real API served by uvicorn, and headless Chromium.

The server is a subprocess (``uvicorn api.app:app``) on a free port of 127.0.0.1, using the
test database, so the browser only sees committed data. Chromium is Debian's ``chromium``
(``GRIDLINE_CHROMIUM`` names another binary), driven by Playwright's Python package without any
browser download. Every request to a host other than 127.0.0.1 is aborted and recorded.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest

from api.auth import COOKIE
from tests.browser.harness import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    HERE,
    LOCAL_HOSTS,
    VIEWPORT,
    Server,
    Tab,
    chromium_missing_reason,
)
from tests.live import serve_api

if TYPE_CHECKING:
    from playwright.sync_api import (
        Browser,
        ConsoleMessage,
        Playwright,
        Request,
        Response,
        Route,
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test of this folder is a ``browser`` test (``-m 'not browser'`` leaves them out)."""
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.browser)


# --- the server ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


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
def tab(browser: Browser, server: Server) -> Iterator[Tab]:
    """A fresh page, signed in as the demo admin (the map pages' cookie), whose requests to
    anything but 127.0.0.1 are aborted and recorded."""
    context = browser.new_context(viewport=VIEWPORT, service_workers="block", locale="zh-CN")
    context.add_cookies([{"name": COOKIE, "value": server.token, "url": server.base_url}])
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
