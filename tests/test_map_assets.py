"""Self-hosted map assets: pages name no external host, /assets serves what they name, the
setting switches back to the CDNs, and CLI files carry their scripts inline."""

from __future__ import annotations

import logging
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import folium
import pytest
from fastapi.testclient import TestClient
from folium.plugins import Draw, HeatMap, MarkerCluster
from shapely.geometry import shape

from api.deps import settings
from geo.db import get_settings
from maps import assets
from maps.assets import Asset, AssetMode, missing_assets
from maps.base import base_map, to_html

DEMO = "330303003001"
PAGES = [
    f"/maps/communities/{DEMO}",
    f"/maps/communities/{DEMO}/assignments",
    f"/maps/communities/{DEMO}/hazards",
    "/maps/districts/330303",
    "/maps/streets/330303003",
]
CSS_URL = re.compile(r"url\(\s*['\"]?([^'\")]+)")
CDN_HOSTS = {
    urlsplit(url).netloc
    for element in (folium.Map, MarkerCluster, HeatMap)
    for _, url in (*element.default_js, *element.default_css)
}
"""Every host folium loads the pages' files from."""


class References(HTMLParser):
    """Every script src, stylesheet href and CSS url() of a page (in <style> and style=)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "script" and a.get("src"):
            self.urls.append(a["src"] or "")
        if tag == "link" and "stylesheet" in (a.get("rel") or "") and a.get("href"):
            self.urls.append(a["href"] or "")
        if tag in ("img", "iframe") and a.get("src"):
            self.urls.append(a["src"] or "")
        self.urls.extend(CSS_URL.findall(a.get("style") or ""))
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.urls.extend(CSS_URL.findall(data))


def references(html: str) -> list[str]:
    parser = References()
    parser.feed(html)
    return parser.urls


def is_local(url: str) -> bool:
    parts = urlsplit(url)
    return not parts.scheme and not parts.netloc and not url.startswith("//")


@pytest.fixture(autouse=True)
def installed() -> None:
    assert not missing_assets(), "the map assets are not installed: run scripts/web-assets"


@pytest.fixture
def pages(client: TestClient) -> dict[str, str]:
    """Every map page the API serves for the demo, with one hazard reported first."""
    grid = client.get("/grids", params={"community": DEMO, "limit": 1}).json()["features"][0]
    point = shape(grid["geometry"]).representative_point()
    body = {
        "category": "blocked_corridor",
        "severity": "high",
        "description": "楼道堆放杂物",
        "origin": "patrol",
        "reporter": "章微琳",
    }
    reported = client.post("/hazards", json={**body, "lon": point.x, "lat": point.y})
    assert reported.status_code == 201, reported.text
    return {page: client.get(page).text for page in PAGES}


def test_every_map_page_names_only_the_service(pages: dict[str, str]) -> None:
    for page, html in pages.items():
        urls = references(html)
        assert "/assets/leaflet/dist/leaflet.js" in urls, page
        assert "/assets/leaflet/dist/leaflet.css" in urls, page
        assert [u for u in urls if not is_local(u)] == [], page
        assert all(u.startswith("/assets/") for u in urls if u.startswith("/")), page
        assert "scripts/web-assets" not in html  # no missing-assets notice
    hazards = references(pages[PAGES[2]])
    assert "/assets/leaflet.markercluster/dist/leaflet.markercluster.js" in hazards
    assert "/assets/folium/leaflet_heat.min.js" in hazards


def test_every_referenced_asset_is_served(client: TestClient, pages: dict[str, str]) -> None:
    todo = {u for html in pages.values() for u in references(html) if u.startswith("/assets/")}
    seen: set[str] = set()
    while todo:
        url = todo.pop()
        seen.add(url)
        response = client.get(url)
        assert response.status_code == 200, url
        kind = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}
        kind[".svg"] = "image/svg+xml"  # the fullscreen control's icon
        assert response.headers["content-type"].startswith(kind[Path(url).suffix]), url
        if url.endswith(".css"):  # the files the stylesheet itself refers to
            for ref in CSS_URL.findall(response.text):
                if not ref.startswith(("#", "data:")):
                    assert is_local(ref), (url, ref)
                    todo.add(urljoin(url, ref))
        todo -= seen
    assert "/assets/leaflet/dist/images/layers.png" in seen


def test_only_listed_files_are_served(client: TestClient) -> None:
    assert client.get("/assets/leaflet/package.json").status_code == 404
    assert client.get("/assets/leaflet/dist/leaflet-src.js").status_code == 404
    assert client.get("/assets/../api/app.py").status_code == 404


def test_setting_off_brings_back_the_cdns(client: TestClient) -> None:
    off = get_settings().model_copy(update={"self_hosted_assets": False})
    client.app.dependency_overrides[settings] = lambda: off  # type: ignore[attr-defined]
    urls = references(client.get(PAGES[0]).text)
    assert not any(u.startswith("/assets/") for u in urls)
    assert any(urlsplit(u).netloc and u.endswith("/leaflet.js") for u in urls)
    assert any("bootstrap" in u for u in urls)  # folium's defaults, all of them


def test_missing_assets_are_announced(
    client: TestClient,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    gone = Asset("leaflet/dist/leaflet.js", tmp_path / "leaflet.js")
    monkeypatch.setattr(assets, "ASSETS", (gone, *assets.ASSETS[1:]))
    monkeypatch.setattr(assets, "FOLIUM_NAMES", {**assets.FOLIUM_NAMES, "leaflet": gone})
    with caplog.at_level(logging.WARNING):
        html = client.get(PAGES[0]).text
    assert "gridline-assets-missing" in html and "scripts/web-assets" in html
    assert "scripts/web-assets" in caplog.text


def test_cli_file_carries_its_scripts_inline(
    pages: dict[str, str], gridline, tmp_path: Path
) -> None:
    for kind in ("community", "assignments", "hazards"):
        out = tmp_path / f"{kind}.html"
        code, _, err = gridline("map", kind, DEMO, "-o", out)
        assert code == 0, err
        html = out.read_text(encoding="utf-8")
        assert [u for u in references(html) if not u.startswith(("data:", "#"))] == [], kind
        assert "<script src" not in html and "<link " not in html
        assert not any(host in html for host in CDN_HOSTS), kind
        assert 't.version="1.9.4"' in html  # Leaflet's own code
        assert "L.map(" in html
    hazards = (tmp_path / "hazards.html").read_text(encoding="utf-8")
    assert "MarkerClusterGroup" in hazards and "L.heatLayer" in hazards


def test_unknown_plugins_and_folium_icons_are_refused() -> None:
    m = base_map((120.71, 27.96, 120.73, 27.98))
    served = to_html(m, assets=AssetMode.SERVED)
    assert "/assets/jquery/dist/jquery.min.js" in served  # folium.Popup needs $
    assert not any(name in served for name in ("bootstrap", "awesome", "fontawesome"))
    Draw().add_to(m)
    with pytest.raises(ValueError, match=r"leaflet\.draw"):
        to_html(m, assets=AssetMode.SERVED)
    m = base_map((120.71, 27.96, 120.73, 27.98))
    folium.Marker((27.97, 120.72), icon=folium.Icon()).add_to(m)
    with pytest.raises(ValueError, match="DivIcon"):
        to_html(m, assets=AssetMode.SERVED)
    assert "bootstrap" in to_html(m)  # the CDN mode leaves folium as it is
