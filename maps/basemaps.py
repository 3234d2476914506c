"""Basemaps (the tiles under a map) and the coordinates overlays are drawn in over them.

A ``Basemap`` is one entry of the layer control's base layers: OpenStreetMap, Tianditu (天地图,
vector ``vec_w`` plus annotation ``cva_w``, needs a key), Gaode (高德, GCJ-02), a custom tile
server (an intranet's, WGS84 or GCJ-02) or none (no tiles). Every tiled one is Web Mercator.

Stored data is WGS84. Over a GCJ-02 basemap every overlay must be drawn in GCJ-02 or it lands
some hundred metres off the streets; ``projector`` returns the function the map builders pass
all their input features through, once, before drawing anything. The conversion itself comes
from the caller (``to_gcj02``: lon and lat arrays in, arrays out), since ``maps`` imports nothing
from ``geo``. Basemaps of different coordinate systems cannot be mixed on one map (the overlays
can only be in one): ``overlay_crs`` refuses that.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any, Literal
from urllib.parse import quote

import folium
import numpy as np

Crs = Literal["wgs84", "gcj02"]
WGS84: Crs = "wgs84"
GCJ02: Crs = "gcj02"
CoordTransform = Callable[[np.ndarray, np.ndarray], tuple[Any, Any]]
"""lon, lat arrays -> transformed (lon, lat) arrays, e.g. ``geo.crs.wgs84_to_gcj02``."""

MAX_ZOOM = 19
"""Zoom the tile layers allow (tiles past a provider's own maximum are scaled up)."""
DEFAULT_ATTRIBUTION = "底图 Basemap"
"""Credit of a custom tile server configured without attribution (Leaflet wants one)."""

OSM_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_ATTRIBUTION = (
    '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'
)
TIANDITU_URL = (
    "https://t{{s}}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
    "&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles"
    "&TILEMATRIX={{z}}&TILEROW={{y}}&TILECOL={{x}}&tk={key}"
)
TIANDITU_ATTRIBUTION = '&copy; <a href="https://www.tianditu.gov.cn/">天地图 Tianditu</a>'
GAODE_URL = (
    "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8"
    "&x={x}&y={y}&z={z}"
)
GAODE_ATTRIBUTION = '&copy; <a href="https://www.amap.com/">高德地图 AutoNavi</a>'

NAMES = ("osm", "tianditu", "gaode", "custom", "none")
"""The basemap names the ``GRIDLINE_BASEMAPS`` setting accepts."""


@dataclass(frozen=True)
class Tiles:
    """One XYZ tile layer: URL template, attribution (trusted HTML) and its server's limits."""

    url: str
    attribution: str
    subdomains: str = "abc"
    max_native_zoom: int = 18


@dataclass(frozen=True)
class Basemap:
    """A base layer of the layer control: its tile layers (drawn in order) and their CRS."""

    name: str
    title: str
    tiles: tuple[Tiles, ...] = ()
    crs: Crs = WGS84


def osm() -> Basemap:
    """OpenStreetMap's standard tiles (WGS84)."""
    return Basemap("osm", "OpenStreetMap", (Tiles(OSM_URL, OSM_ATTRIBUTION, max_native_zoom=19),))


def tianditu(key: str | None) -> Basemap:
    """Tianditu's vector map with its annotation layer on top (WGS84); ``ValueError`` without
    a key."""
    if not key or not key.strip():
        raise ValueError(
            "the tianditu basemap needs a Tianditu key: set GRIDLINE_TIANDITU_KEY "
            "(a 天地图 key from https://console.tianditu.gov.cn/)"
        )
    tk = quote(key.strip(), safe="")
    return Basemap(
        "tianditu",
        "天地图 Tianditu",
        tuple(
            Tiles(TIANDITU_URL.format(layer=layer, key=tk), TIANDITU_ATTRIBUTION, "01234567")
            for layer in ("vec", "cva")
        ),
    )


def gaode() -> Basemap:
    """Gaode's (AutoNavi) road map, in GCJ-02."""
    return Basemap("gaode", "高德地图 Gaode", (Tiles(GAODE_URL, GAODE_ATTRIBUTION, "1234"),), GCJ02)


def custom(url: str | None, attribution: str = "", crs: Crs = WGS84) -> Basemap:
    """A tile server of one's own (an intranet's); ``crs`` says which coordinates it uses."""
    if not url:
        raise ValueError("the custom basemap needs a tile URL: set GRIDLINE_TILE_URL")
    if crs not in (WGS84, GCJ02):
        raise ValueError(f"tile CRS must be wgs84 or gcj02, not {crs!r}")
    tiles = Tiles(url, attribution or DEFAULT_ATTRIBUTION)
    return Basemap("custom", "自定义底图 Custom basemap", (tiles,), crs)


NONE = Basemap("none", "无底图 No basemap")
"""No tiles: alone, the map has no base layer at all; among others, a blank choice."""


def basemap(
    name: str,
    *,
    tianditu_key: str | None = None,
    tile_url: str | None = None,
    tile_attribution: str = "",
    tile_crs: Crs = WGS84,
) -> Basemap:
    """The basemap called ``name`` (one of ``NAMES``), built from the settings it needs."""
    if name == "osm":
        return osm()
    if name == "tianditu":
        return tianditu(tianditu_key)
    if name == "gaode":
        return gaode()
    if name == "custom":
        return custom(tile_url, tile_attribution, tile_crs)
    if name == "none":
        return NONE
    raise ValueError(f"unknown basemap {name!r}: use one of {', '.join(NAMES)}")


def overlay_crs(basemaps: Sequence[Basemap]) -> Crs:
    """The CRS overlays are drawn in over ``basemaps``; ``ValueError`` when they mix CRSs."""
    crss = {b.crs for b in basemaps if b.tiles}
    if len(crss) > 1:
        names = ", ".join(f"{b.name} ({b.crs})" for b in basemaps if b.tiles)
        raise ValueError(
            f"basemaps of different coordinate systems cannot be mixed ({names}): overlays are"
            " drawn in one only; configure WGS84 basemaps or GCJ-02 ones"
        )
    return crss.pop() if crss else WGS84


def add_basemaps(m: folium.Map, basemaps: Sequence[Basemap]) -> None:
    """Add ``basemaps`` as the layer control's base layers, the first one shown.

    Nothing is added when no basemap has tiles (a vector-only map). Each basemap is a
    non-overlay ``FeatureGroup`` holding its tile layers (Tianditu's annotation above its map).
    """
    overlay_crs(basemaps)
    if not any(b.tiles for b in basemaps):
        return
    for i, base in enumerate(basemaps):
        group = folium.FeatureGroup(name=escape(base.title), overlay=False, show=i == 0)
        for j, tiles in enumerate(base.tiles):
            folium.TileLayer(
                tiles.url,
                attr=tiles.attribution,
                name="basemap" if j == 0 else "annotation",
                control=False,
                max_zoom=MAX_ZOOM,
                max_native_zoom=tiles.max_native_zoom,
                subdomains=tiles.subdomains,
            ).add_to(group)
        m.add_child(group)


def projector(
    basemaps: Sequence[Basemap], to_gcj02: CoordTransform | None = None
) -> Callable[[Sequence[dict]], list[dict]]:
    """The function taking WGS84 GeoJSON Features to the coordinates they are drawn in over
    ``basemaps``: GCJ-02 (through ``to_gcj02``, required then) or unchanged.

    Converted features are new dicts sharing the input's properties; inputs are never modified.
    """
    if overlay_crs(basemaps) == WGS84:
        return list
    if to_gcj02 is None:
        raise ValueError("a GCJ-02 basemap needs to_gcj02 to draw the overlays")
    convert = to_gcj02
    return lambda features: transform_features(features, convert)


def transform_features(features: Sequence[dict], transform: CoordTransform) -> list[dict]:
    """``features`` with every position's lon/lat through ``transform`` (one vectorised call)."""
    positions: list[Sequence[float]] = []
    for feature in features:
        _collect(feature.get("geometry"), positions)
    if not positions:
        return list(features)
    lon, lat = transform(
        np.array([p[0] for p in positions], dtype=float),
        np.array([p[1] for p in positions], dtype=float),
    )
    moved = iter(zip(np.atleast_1d(lon).tolist(), np.atleast_1d(lat).tolist(), strict=True))
    return [
        {**f, "geometry": _rebuild(f["geometry"], moved)} if f.get("geometry") else f
        for f in features
    ]


def _is_position(coords: Sequence[Any]) -> bool:
    return len(coords) > 0 and isinstance(coords[0], int | float)


def _collect(geometry: dict | None, out: list[Sequence[float]]) -> None:
    if not geometry:
        return
    if geometry.get("type") == "GeometryCollection":
        for part in geometry.get("geometries") or ():
            _collect(part, out)
        return
    stack = [geometry.get("coordinates") or []]
    while stack:  # depth first, in order
        coords = stack.pop()
        if _is_position(coords):
            out.append(coords)
        else:
            stack.extend(reversed(coords))


def _rebuild(geometry: dict, moved: Any) -> dict:
    if geometry.get("type") == "GeometryCollection":
        parts = [_rebuild(p, moved) for p in geometry.get("geometries") or ()]
        return {**geometry, "geometries": parts}

    def walk(coords: Sequence[Any]) -> list[Any]:
        if _is_position(coords):
            x, y = next(moved)
            return [x, y, *coords[2:]]
        return [walk(c) for c in coords]

    return {**geometry, "coordinates": walk(geometry.get("coordinates") or [])}
