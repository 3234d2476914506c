"""The JavaScript and CSS of the map pages, served by Gridline itself instead of public CDNs.

Folium elements name the files they need in ``default_js``/``default_css`` as (name, CDN URL)
pairs. ``use_assets(m, mode)`` rewrites them for a whole map, plugins included, before it renders:

- ``AssetMode.CDN``: folium's own CDN links, unchanged;
- ``AssetMode.SERVED``: links under ``/assets/`` that the API serves from the installed files;
- ``AssetMode.INLINE``: the files' content in the page itself (a standalone file for offline use).

Leaflet, leaflet.markercluster, jQuery, the plugins of the standard controls
(leaflet.fullscreen, leaflet.locatecontrol, leaflet-measure), leaflet-ant-path (the animated
patrol routes) and leaflet.sync (the synchronised panes of ``folium.plugins.DualMap``) come from
npm at the versions folium's plugins name (leaflet.sync: its latest release, DualMap names none;
``maps/assets/package-lock.json``, installed by ``scripts/web-assets`` into
``maps/assets/node_modules``); the heat map script is the patched build folium itself ships (its
weights fix is in no release of leaflet.heat on npm).
"""

from __future__ import annotations

import base64
import mimetypes
import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path, PurePosixPath

import folium
from branca.element import Element, Figure
from folium.elements import JSCSSMixin
from jinja2 import Template

URL_PREFIX = "/assets"
NODE_MODULES = Path(__file__).with_name("assets") / "node_modules"
FOLIUM_TEMPLATES = Path(folium.__file__).parent / "templates"
INSTALL_HINT = "run scripts/web-assets (npm ci of maps/assets) and reload"


class AssetMode(Enum):
    """Where a rendered page loads its JavaScript and CSS from."""

    CDN = "cdn"
    SERVED = "served"
    INLINE = "inline"


@dataclass(frozen=True)
class Asset:
    """One file a page may need: its path under ``/assets/`` and the installed file."""

    path: str
    source: Path

    @property
    def url(self) -> str:
        return f"{URL_PREFIX}/{self.path}"

    @property
    def media_type(self) -> str:
        return mimetypes.guess_type(self.path)[0] or "application/octet-stream"


def _npm(path: str) -> Asset:
    return Asset(path, NODE_MODULES / path)


LEAFLET_JS = _npm("leaflet/dist/leaflet.js")
LEAFLET_CSS = _npm("leaflet/dist/leaflet.css")
JQUERY_JS = _npm("jquery/dist/jquery.min.js")
CLUSTER_JS = _npm("leaflet.markercluster/dist/leaflet.markercluster.js")
CLUSTER_CSS = _npm("leaflet.markercluster/dist/MarkerCluster.css")
CLUSTER_DEFAULT_CSS = _npm("leaflet.markercluster/dist/MarkerCluster.Default.css")
FULLSCREEN_JS = _npm("leaflet.fullscreen/Control.FullScreen.js")
FULLSCREEN_CSS = _npm("leaflet.fullscreen/Control.FullScreen.css")
LOCATE_JS = _npm("leaflet.locatecontrol/dist/L.Control.Locate.min.js")
LOCATE_CSS = _npm("leaflet.locatecontrol/dist/L.Control.Locate.min.css")
MEASURE_JS = _npm("leaflet-measure/dist/leaflet-measure.min.js")
MEASURE_CSS = _npm("leaflet-measure/dist/leaflet-measure.css")
MEASURE_IMAGES = tuple(
    _npm(f"leaflet-measure/dist/images/{name}{scale}.png")
    for name in ("cancel", "check", "focus", "rulers", "start", "trash")
    for scale in ("", "_@2X")
)
ANTPATH_JS = _npm("leaflet-ant-path/dist/leaflet-ant-path.js")
SYNC_JS = _npm("leaflet.sync/L.Map.Sync.js")
HEAT_JS = Asset("folium/leaflet_heat.min.js", FOLIUM_TEMPLATES / "leaflet_heat.min.js")

ASSETS: tuple[Asset, ...] = (
    LEAFLET_JS,
    JQUERY_JS,
    LEAFLET_CSS,
    # Leaflet's CSS refers to these (layer control button); L.Icon.Default finds its icons there.
    *(_npm(f"leaflet/dist/images/{name}.png") for name in ("layers", "layers-2x")),
    *(_npm(f"leaflet/dist/images/{name}.png") for name in ("marker-icon", "marker-icon-2x")),
    _npm("leaflet/dist/images/marker-shadow.png"),
    CLUSTER_JS,
    CLUSTER_CSS,
    CLUSTER_DEFAULT_CSS,
    HEAT_JS,
    ANTPATH_JS,
    SYNC_JS,
    # The standard controls of every page (maps.base.add_controls), with the images their
    # stylesheets refer to.
    FULLSCREEN_JS,
    FULLSCREEN_CSS,
    _npm("leaflet.fullscreen/icon-fullscreen.svg"),
    LOCATE_JS,
    LOCATE_CSS,
    MEASURE_JS,
    MEASURE_CSS,
    *MEASURE_IMAGES,
)
"""Every file served under ``/assets/``, scripts in the order a page loads them."""

BY_PATH: dict[str, Asset] = {asset.path: asset for asset in ASSETS}

FOLIUM_NAMES: dict[str, Asset] = {
    "leaflet": LEAFLET_JS,
    "leaflet_css": LEAFLET_CSS,
    "jquery": JQUERY_JS,  # folium.Popup builds its content with $(`...`)
    "markerclusterjs": CLUSTER_JS,
    "markerclustercss": CLUSTER_CSS,
    "markerclusterdefaultcss": CLUSTER_DEFAULT_CSS,
    "leaflet-heat.js": HEAT_JS,
    "antpath": ANTPATH_JS,  # the npm build; the CDN's .min.js is minified on the fly from it
    "Leaflet.Sync": SYNC_JS,
    "Control.Fullscreen.js": FULLSCREEN_JS,
    "Control.FullScreen.css": FULLSCREEN_CSS,
    "Control_locate_min_js": LOCATE_JS,
    "Control_locate_min_css": LOCATE_CSS,
    "leaflet_measure_js": MEASURE_JS,
    "leaflet_measure_css": MEASURE_CSS,
}
"""Folium's names of its default files -> the local file replacing each."""

DROPPED = frozenset(
    {
        # folium.Map loads these for folium.Icon only (awesome-markers with Bootstrap's
        # glyphicons or Font Awesome); Gridline draws DivIcons.
        "bootstrap",
        "bootstrap_css",
        "glyphicons_css",
        "awesome_markers",
        "awesome_markers_css",
        "awesome_markers_font_css",
        "awesome_rotate_css",
    }
)
"""Folium defaults no Gridline page needs: left out of self-hosted pages."""

_HEADER_KEY = "gridline_assets"
_NOTICE_KEY = "gridline_assets_missing"
_CSS_URL = re.compile(r"url\(\s*(['\"]?)([^'\")]+)\1\s*\)")
_SOURCE_MAP = re.compile(r"^\s*(//|/\*)# sourceMappingURL=.*$", re.MULTILINE)
_CLOSING_SCRIPT = re.compile(r"</(script)", re.IGNORECASE)
_CLOSING_STYLE = re.compile(r"</(style)", re.IGNORECASE)
_ESCAPED = r"<\\/\1"
"""``</script`` inside inlined code would end the element early: written ``<\\/script``."""


class MissingAssets(FileNotFoundError):
    """The asset files are not installed."""


def missing_assets() -> list[Asset]:
    """The listed files that are not installed."""
    return [asset for asset in ASSETS if not asset.source.is_file()]


def _elements(element: Element) -> Iterator[Element]:
    yield element
    for child in element._children.values():
        yield from _elements(child)


def use_assets(m: Element, mode: AssetMode) -> list[Asset]:
    """Point every script and stylesheet of ``m``'s page (its maps, plugins included: both of a
    ``DualMap``) to ``mode``; the files used.

    Idempotent, and may be called again with another mode. Raises ``ValueError`` for a folium
    element needing a file Gridline does not serve, ``MissingAssets`` to inline missing files.
    """
    figure = m.get_root()
    if not isinstance(figure, Figure):
        raise ValueError("the map is not in a Figure")
    elements = list(_elements(figure))
    figure.header._children.pop(_HEADER_KEY, None)
    figure.html._children.pop(_NOTICE_KEY, None)
    mixins = [e for e in elements if isinstance(e, JSCSSMixin)]
    if mode is AssetMode.CDN:
        for element in mixins:
            vars(element).pop("default_js", None)
            vars(element).pop("default_css", None)
        return []
    if any(isinstance(e, folium.Icon) for e in elements):
        raise ValueError("folium.Icon needs awesome-markers and Bootstrap, not served: use DivIcon")
    needed: set[Asset] = set()
    for element in mixins:
        for name, url in (*type(element).default_js, *type(element).default_css):
            if name in FOLIUM_NAMES:
                needed.add(FOLIUM_NAMES[name])
            elif name not in DROPPED:
                raise ValueError(
                    f"{type(element).__name__} needs {name} ({url}), which Gridline does not"
                    " serve: add it to maps/assets.py"
                )
        element.default_js = []  # the instance's lists hide the class's CDN defaults
        element.default_css = []
    used = [asset for asset in ASSETS if asset in needed]
    missing = [asset for asset in used if not asset.source.is_file()]
    if mode is AssetMode.INLINE:
        if missing:
            raise MissingAssets(f"map assets not installed ({missing[0].source}): {INSTALL_HINT}")
        markup = "\n".join(_inline(asset) for asset in used)
    else:
        markup = "\n".join(_link(asset) for asset in used)
        if missing:
            figure.html.add_child(MissingNotice(), name=_NOTICE_KEY, index=0)
    figure.header.add_child(Markup(markup), name=_HEADER_KEY)
    return used


class Markup(Element):
    """Trusted HTML put into the page as it is."""

    _template = Template("{{ this.markup }}")

    def __init__(self, markup: str) -> None:
        super().__init__()
        self.markup = markup


class MissingNotice(Element):
    """A banner over the map saying the assets must be installed."""

    _template = Template(
        '<div class="gridline-assets-missing" role="alert" style="position: absolute; top: 0;'
        " left: 0; right: 0; z-index: 10000; padding: 10px 14px; background: #b00020;"
        ' color: #fff; font: 15px/1.4 sans-serif">地图脚本未安装，地图无法显示。'
        " The map's scripts are not installed on the server: {{ this.hint }}.</div>"
    )

    def __init__(self) -> None:
        super().__init__()
        self.hint = INSTALL_HINT


def _link(asset: Asset) -> str:
    if asset.path.endswith(".css"):
        return f'<link rel="stylesheet" href="{asset.url}">'
    return f'<script src="{asset.url}"></script>'


def _inline(asset: Asset) -> str:
    text = _SOURCE_MAP.sub("", asset.source.read_text(encoding="utf-8"))
    if asset.path.endswith(".css"):
        css = _CSS_URL.sub(lambda match: _data_url(asset, match), text)
        return f"<style>/* {asset.path} */\n{_CLOSING_STYLE.sub(_ESCAPED, css)}</style>"
    return f"<script>/* {asset.path} */\n{_CLOSING_SCRIPT.sub(_ESCAPED, text)}</script>"


def _data_url(css: Asset, match: re.Match[str]) -> str:
    """A CSS ``url()`` pointing to a listed file as a data URL; fragments stay as they are."""
    ref = match.group(2)
    if ref.startswith(("#", "data:")):
        return match.group(0)
    path = str(PurePosixPath(css.path).parent / ref)
    asset = BY_PATH.get(path)
    if asset is None:
        raise ValueError(f"{css.path} refers to {ref}, which is not in maps/assets.py")
    data = base64.b64encode(asset.source.read_bytes()).decode("ascii")
    return f'url("data:{asset.media_type};base64,{data}")'
