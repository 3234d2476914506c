"""What the browser tests share: the server and page handles, and helpers that read a Leaflet
map page the way a person sees it (layer control, drawn features, pixel positions).

Playwright is imported only for type checking, so that a machine without it skips the suite
(see ``chromium_missing_reason``) instead of failing to collect it.
"""

from __future__ import annotations

import json
import os
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tests.live import Server

if TYPE_CHECKING:
    from playwright.sync_api import Page

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
ARTIFACTS = HERE / "artifacts"
"""Screenshots and the server log of the last run (gitignored)."""
CHROMIUM = os.environ.get("GRIDLINE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--disable-sync",
    "--metrics-recording-only",
    "--no-default-browser-check",
    "--no-first-run",
    "--no-pings",
    # Name resolution fails for every host but 127.0.0.1, below the request interception.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]
VIEWPORT = {"width": 1280, "height": 800}
LOCAL_HOSTS = frozenset({"127.0.0.1"})
PIXEL_TOLERANCE = 2.0
"""How far (in CSS pixels) a drawn element may be from where Leaflet projects its position."""


def chromium_missing_reason() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        return (
            f"Chromium not found at {CHROMIUM}: `make test` installs Debian's chromium when run"
            " as root on Debian (scripts/browser); elsewhere install Chromium and set"
            " GRIDLINE_CHROMIUM=/path/to/chromium"
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is missing: pip install -e '.[dev]'"
    return None


@dataclass
class Tab:
    """A page of its own browser context, with what went wrong while it was open."""

    page: Page
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    """Requests to hosts other than 127.0.0.1 (aborted)."""
    failed: list[str] = field(default_factory=list)
    """Requests that failed, or answered with an HTTP error status."""

    def problems(self) -> dict[str, list[str]]:
        """Everything that should not have happened, by kind (empty lists when fine)."""
        return {
            "console errors": self.console_errors,
            "page errors": self.page_errors,
            "blocked external requests": self.blocked,
            "failed requests": self.failed,
        }


# --- the page in the browser --------------------------------------------------------------

FIND_MAP = """() => {
    const names = Object.keys(window).filter(
        (k) => /^map_[0-9a-f]+$/.test(k) && window.L && window[k] instanceof L.Map);
    return names;
}"""

WHEN_READY = """(name) => new Promise((resolve) => window[name].whenReady(() =>
    requestAnimationFrame(() => requestAnimationFrame(() => resolve(true)))))"""

OVERLAYS = """(name) => {
    const map = window[name];
    const drawn = (layer) => {
        const element = layer.getElement ? layer.getElement() : null;
        return Boolean(element && element.isConnected);
    };
    const leaves = (layer, out) => {
        if (layer instanceof L.Path || layer instanceof L.Marker) out.push(layer);
        else if (layer.eachLayer) layer.eachLayer((child) => leaves(child, out));
        return out;
    };
    const byId = new Map();
    map.eachLayer((layer) => byId.set(L.stamp(layer), layer));
    return [...document.querySelectorAll(".leaflet-control-layers-overlays label")].map((label) => {
        const input = label.querySelector("input");
        const layer = byId.get(input.layerId);
        const all = layer ? leaves(layer, []) : [];
        const shown = all.filter(drawn);
        return {
            name: label.textContent.trim(),
            checked: input.checked,
            on_map: Boolean(layer),
            features: shown.filter((l) => l.feature).length,
            shapes: shown.filter((l) => l instanceof L.Path).length,
            markers: shown.filter((l) => l instanceof L.Marker).length,
            leaves: all.length,
        };
    });
}"""

GRID_PATH = """
    // `path`: the one drawn SVG path of grid `code` on map `name`.
    const map = window[name];
    const paths = [];
    map.eachLayer((layer) => {
        const props = layer.feature && layer.feature.properties;
        if (props && props.code === code && layer instanceof L.Polygon) {
            paths.push(layer.getElement());
        }
    });
    if (paths.length !== 1) throw new Error(`${paths.length} drawn polygons of grid ${code}`);
    const path = paths[0];
"""

GRID_PATH_CONTAINS = (
    """([name, code, points]) => {
    // Whether each page point (x, y) lies inside the drawn path of grid `code`.
"""
    + GRID_PATH
    + """    const toPath = path.getScreenCTM().inverse();
    return points.map(([x, y]) => {
        const p = new DOMPoint(x - window.scrollX, y - window.scrollY).matrixTransform(toPath);
        return path.isPointInFill(p);
    });
}"""
)

CONTAINER_POINT = """([name, lat, lon]) => {
    const map = window[name];
    const point = map.latLngToContainerPoint([lat, lon]);
    const box = map.getContainer().getBoundingClientRect();
    return [box.left + window.scrollX + point.x, box.top + window.scrollY + point.y];
}"""

SHOWS_BOUNDS = """([name, south, west, north, east]) =>
    window[name].getBounds().contains([[south, west], [north, east]])"""


@dataclass
class MapPage:
    """A map page loaded in the browser; ``name`` is folium's ``map_<id>`` variable."""

    tab: Tab
    name: str

    @property
    def page(self) -> Page:
        return self.tab.page

    def overlays(self) -> list[dict[str, Any]]:
        """The layer control's overlays in order, with what each draws."""
        return self.page.evaluate(OVERLAYS, self.name)

    def overlay(self, title: str) -> dict[str, Any]:
        found = [o for o in self.overlays() if o["name"] == title]
        assert len(found) == 1, f"{title!r} in {[o['name'] for o in self.overlays()]}"
        return found[0]

    def pixel(self, lon: float, lat: float) -> tuple[float, float]:
        """Where Leaflet puts ``(lon, lat)`` on the page."""
        x, y = self.page.evaluate(CONTAINER_POINT, [self.name, lat, lon])
        return x, y

    def shows(self, west: float, south: float, east: float, north: float) -> bool:
        """Whether the whole box is in view."""
        return self.page.evaluate(SHOWS_BOUNDS, [self.name, south, west, north, east])

    def inside_grid(self, code: str, points: list[tuple[float, float]]) -> list[bool]:
        return self.page.evaluate(GRID_PATH_CONTAINS, [self.name, code, [list(p) for p in points]])

    def labels(self) -> dict[str, tuple[tuple[float, float], list[str]]]:
        """The grid labels on the page: grid code -> (centre, further lines of the label)."""
        found: dict[str, tuple[tuple[float, float], list[str]]] = {}
        for label in self.page.locator(".gridline-label div").all():
            code, *rest = label.inner_text().splitlines()
            assert code not in found, f"two labels of grid {code}"
            found[code] = (centre(label.bounding_box()), rest)
        return found

    def assert_labels_inside_their_grids(self, codes: list[str]) -> dict[str, list[str]]:
        """Grids ``codes`` (and no others) are labelled inside their drawn polygons; code ->
        the further lines of its label."""
        labels = self.labels()
        assert sorted(labels) == sorted(codes)
        for code, (point, _) in labels.items():
            assert self.inside_grid(code, [point]) == [True], f"label {code} outside its grid"
        return {code: rest for code, (_, rest) in labels.items()}


def centre(box: dict[str, float] | None) -> tuple[float, float]:
    assert box is not None, "element not rendered"
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def open_map(tab: Tab, server: Server, path: str, screenshot: Path) -> MapPage:
    """Load ``path``, wait for the Leaflet map and its overlays, save a screenshot."""
    page = tab.page
    response = page.goto(server.url(path), wait_until="load")
    assert response is not None and response.status == 200, (
        f"{path}: {response and response.status}"
    )
    page.wait_for_selector(".leaflet-container")
    page.wait_for_selector(".leaflet-overlay-pane svg path")
    page.wait_for_selector(".leaflet-control-layers-overlays label")
    names = page.evaluate(FIND_MAP)
    assert len(names) == 1, f"{path}: Leaflet maps on the page: {names}"
    page.evaluate(WHEN_READY, names[0])
    page.screenshot(path=screenshot)
    return MapPage(tab, names[0])


def assert_clean(tab: Tab) -> None:
    problems = {kind: found for kind, found in tab.problems().items() if found}
    assert not problems, json.dumps(problems, ensure_ascii=False, indent=1)


def api(server: Server, path: str) -> Any:
    with urllib.request.urlopen(server.request(path), timeout=10) as response:
        return json.load(response)


def close(a: tuple[float, float], b: tuple[float, float]) -> bool:
    """Whether two page points are the same within ``PIXEL_TOLERANCE``."""
    return abs(a[0] - b[0]) <= PIXEL_TOLERANCE and abs(a[1] - b[1]) <= PIXEL_TOLERANCE
