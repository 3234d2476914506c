"""The city map: a district (区) or street (街道) with all its communities and grids.

A city has few communities and many grids (10,000 and more), so the two are drawn differently:

- the **communities** are inlined in the page as one GeoJSON layer of outlines (with a tooltip),
  under the outline of the district or street itself;
- the **grids** are never folium objects: one compact FeatureCollection (``grid_collection``:
  coordinates rounded to ``COORD_DIGITS`` decimals, properties ``code``, ``community``,
  ``name``, ``households`` only) is drawn in the browser by ``CityGrids`` into one
  ``L.geoJSON`` layer on a dedicated ``L.canvas`` renderer, filled with the colour of its
  community (neighbouring communities differ). It is fetched from ``data_url`` (the API's
  ``grids.geojson``) or, for a standalone file, inlined. No per-grid labels at this scale: the
  grid's name, code, community and households show in a tooltip on hover, built as DOM text.

Over a GCJ-02 basemap every feature is drawn converted by ``to_gcj02`` (the fetched grids must
come converted too: the API's ``crs=gcj02``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import folium
from branca.element import MacroElement
from jinja2 import Template

from maps import style as s
from maps.base import FONT, LegendItem, Overlay, add_layers, base_map, finish_map
from maps.basemaps import Basemap, CoordTransform, projector
from maps.colouring import as_shape, colour_features
from maps.hazards import script_json
from maps.layers import GRID_TITLE, MISSING, Field, _drawable, geojson_layer

COORD_DIGITS = 6
"""Decimals kept of a grid or community coordinate (about 0.1 m)."""
COMMUNITIES_TITLE = "社区 Communities"
COMMUNITY_OUTLINE: s.Style = {"color": "#1a1a1a", "weight": 2, "opacity": 0.85, "fill": False}
AREA_OUTLINE: s.Style = dict(s.OUTLINE)
GRID_STYLE: s.Style = {
    "color": "#ffffff",
    "weight": 0.8,
    "opacity": 0.9,
    "fillOpacity": s.GRID_FILL_OPACITY + 0.15,
}
"""Grids: filled with their community's colour, thin white edges between them."""
FALLBACK_FILL = "#b3b3b3"
GRID_PANE = "gridlineCityGrids"
GRID_PROPERTIES = ("code", "community", "name", "households")
KIND_TITLES = {"district": "区 District", "street": "街道 Street"}


def _props(feature: dict) -> dict:
    return feature.get("properties") or {}


def _rounded(coords: Any, digits: int = COORD_DIGITS) -> Any:
    if coords and isinstance(coords[0], int | float):
        return [round(float(c), digits) for c in coords[:2]]
    return [_rounded(c, digits) for c in coords]


def rounded_geometry(geometry: dict, digits: int = COORD_DIGITS) -> dict:
    """``geometry`` with every coordinate rounded to ``digits`` decimals (2D)."""
    if geometry.get("type") == "GeometryCollection":
        parts = [rounded_geometry(g, digits) for g in geometry.get("geometries") or ()]
        return {"type": "GeometryCollection", "geometries": parts}
    return {"type": geometry["type"], "coordinates": _rounded(geometry["coordinates"], digits)}


def compact_grid(feature: dict) -> dict:
    """A grid Feature reduced to what the city map shows: rounded geometry and the properties
    ``code``, ``community`` (the community's code), ``name`` and ``households`` (raw text: the
    page sets it as DOM text)."""
    props = _props(feature)
    return {
        "type": "Feature",
        "geometry": rounded_geometry(feature["geometry"]),
        "properties": {key: props.get(key) for key in GRID_PROPERTIES},
    }


def grid_collection(grids: Sequence[dict]) -> dict:
    """The compact FeatureCollection of the drawable grids (see ``compact_grid``)."""
    return {"type": "FeatureCollection", "features": [compact_grid(g) for g in _drawable(grids)]}


def community_colours(
    communities: Sequence[dict], palette: Sequence[str] = s.GRID_PALETTE
) -> dict[str, str]:
    """Community code -> fill colour of its grids; communities sharing an edge differ."""
    drawn = _drawable(communities)
    colours = colour_features(drawn, palette)
    return {str(_props(c).get("code")): colour for c, colour in zip(drawn, colours, strict=True)}


class CityStylesheet(MacroElement):
    """CSS of the grid tooltip; the outlines' SVG lets the mouse through to the grids' canvas
    below it (only the outlines themselves catch it)."""

    _template = Template(
        """
{% macro header(this, kwargs) %}
<style>
.gridline-city-tooltip { font: 12px/1.4 {{ this.font }}; }
.gridline-city-tooltip .gridline-city-muted { color: #555; }
.leaflet-overlay-pane > svg { pointer-events: none; }
</style>
{% endmacro %}
"""
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "GridlineCityStylesheet"
        self.font = FONT


class CityGrids(MacroElement):
    """Draws the grids of a city map in the browser into the overlay ``group``, from
    ``data_url`` (fetched) or the inlined ``payload``: one ``L.geoJSON`` on its own canvas
    renderer (``gridlineCityGrids`` set on it), one tooltip for the whole layer built as DOM
    text. ``window.gridlineGrids`` is a promise of how many grids were drawn (resolved once
    the canvas has painted them)."""

    _template = Template(
        """
{% macro script(this, kwargs) %}
window.gridlineGrids = (function () {
    var group = {{ this.group }};
    var config = {{ this.config }};
    var map = {{ this._parent.get_name() }};
    // The grids' canvas lies in a pane of its own, under the outlines (overlayPane, 400).
    map.createPane(config.pane).style.zIndex = 390;
    var renderer = L.canvas({ padding: 0.5, pane: config.pane });

    function el(tag, className, text) {
        var node = document.createElement(tag);
        if (className) node.className = className;
        if (text !== undefined) node.textContent = text;
        return node;
    }
    function shown(value) {
        var none = value === undefined || value === null || value === "";
        return none ? config.missing : String(value);
    }
    function tooltip(layer) {
        var p = layer.feature.properties;
        var box = el("div", "gridline-city-tooltip");
        box.appendChild(el("b", null, shown(p.name)));
        box.appendChild(el("span", "gridline-city-muted", " " + shown(p.code)));
        box.appendChild(el("br"));
        var community = config.communities[p.community];
        box.appendChild(document.createTextNode(config.labels.community + ": "
            + (community ? community + " (" + p.community + ")" : shown(p.community))));
        box.appendChild(el("br"));
        box.appendChild(document.createTextNode(config.labels.households + ": "
            + shown(p.households)));
        return box;
    }
    function style(feature) {
        var fill = config.colours[feature.properties.community] || config.fallback;
        return L.extend({ fillColor: fill }, config.style);
    }
    function draw(data) {
        var layer = L.geoJSON(data, { renderer: renderer, style: style });
        layer.gridlineCityGrids = true;
        layer.bindTooltip(tooltip, { sticky: true });
        group.addLayer(layer);
        var drawn = layer.getLayers().length;
        return new Promise(function (resolve) {
            requestAnimationFrame(function () {
                window.gridlineGridsDrawn = drawn;
                resolve(drawn);
            });
        });
    }
    {% if this.data_url %}
    return fetch({{ this.data_url|tojson }}, { headers: { Accept: "application/geo+json" } })
        .then(function (response) {
            if (!response.ok) throw new Error("grids: HTTP " + response.status);
            return response.json();
        })
        .then(draw)
        .catch(function (error) {
            console.error("Gridline city map: " + error);
            throw error;
        });
    {% else %}
    return draw({{ this.payload }});
    {% endif %}
})();
{% endmacro %}
"""
    )

    def __init__(
        self,
        group: str,
        colours: dict[str, str],
        community_names: dict[str, str],
        *,
        data_url: str | None = None,
        payload: dict | None = None,
    ) -> None:
        super().__init__()
        if (data_url is None) == (payload is None):
            raise ValueError("give either data_url or payload")
        self._name = "CityGrids"
        self.group = group
        self.data_url = data_url
        self.payload = script_json(payload) if payload is not None else None
        self.config = script_json(
            {
                "colours": colours,
                "communities": community_names,
                "fallback": FALLBACK_FILL,
                "pane": GRID_PANE,
                "style": GRID_STYLE,
                "missing": MISSING,
                "labels": {"community": "社区 Community", "households": "户数 Households"},
            }
        )


def _outlines(features: Sequence[dict]) -> list[dict]:
    """Drawable features with rounded geometry and their name and code only."""
    return [
        {
            "type": "Feature",
            "geometry": rounded_geometry(f["geometry"]),
            "properties": {k: _props(f).get(k) for k in ("name", "code")},
        }
        for f in _drawable(features)
    ]


def area_title(area: dict) -> str:
    """The layer title of the district or street: its name and code."""
    props = _props(area)
    name, code = props.get("name"), props.get("code")
    return " ".join(str(v) for v in (name, code) if v) or KIND_TITLES.get(props.get("kind"), "")


def city_map(
    area: dict,
    communities: Sequence[dict],
    grids: Sequence[dict] = (),
    *,
    data_url: str | None = None,
    grid_count: int | None = None,
    tile_url: str | None = None,
    attribution: str = "",
    basemaps: Sequence[Basemap] = (),
    to_gcj02: CoordTransform | None = None,
) -> folium.Map:
    """A finished map of a district or street (``area``: a Feature with ``name``, ``code`` and
    ``kind`` "district" or "street"), fitted to it: its grids (drawn in the browser, see
    ``CityGrids``), its communities' outlines and its own outline, bottom to top.

    With ``data_url`` the page fetches the grids from there (it must answer ``grid_collection``
    of the area's grids in the drawn coordinates) and ``grids`` is not used; ``grid_count``
    then gives the count in the layer title. Without it ``grids`` are inlined.
    """
    draw = projector(basemaps, to_gcj02)
    (area,) = draw([area])
    communities = draw(_drawable(communities))
    if not area.get("geometry"):
        raise ValueError("the district or street feature has no geometry")
    min_lon, min_lat, max_lon, max_lat = as_shape(area).bounds
    m = base_map((min_lon, min_lat, max_lon, max_lat), tile_url, attribution, basemaps=basemaps)

    payload = None if data_url is not None else grid_collection(draw(grids))
    count = len(payload["features"]) if payload is not None else grid_count
    title = f"{GRID_TITLE} ({count:,})" if count is not None else GRID_TITLE
    grid_overlay = Overlay(
        title,
        [LegendItem(s.palette_swatch(s.GRID_PALETTE), "按社区着色 Coloured by community")],
    )
    grid_overlay.add_child(CityStylesheet())
    community_overlay = Overlay(
        f"{COMMUNITIES_TITLE} ({len(communities)})",
        [LegendItem(s.area_swatch(COMMUNITY_OUTLINE))],
    )
    if communities:
        fields = [Field("name", "社区 Community"), Field("code", "编码 Code")]
        outlines = _outlines(communities)
        geojson_layer(outlines, fields, [dict(COMMUNITY_OUTLINE)] * len(outlines)).add_to(
            community_overlay
        )
    area_overlay = Overlay(area_title(area), [LegendItem(s.area_swatch(AREA_OUTLINE))])
    area_fields = [
        Field("name", KIND_TITLES.get(_props(area).get("kind"), "")),
        Field("code", "编码 Code"),
    ]
    geojson_layer(_outlines([area]), area_fields, [dict(AREA_OUTLINE)]).add_to(area_overlay)

    add_layers(m, [grid_overlay, community_overlay, area_overlay])
    names = {str(_props(c).get("code")): str(_props(c).get("name") or "") for c in communities}
    m.add_child(
        CityGrids(
            grid_overlay.get_name(),
            community_colours(communities),
            names,
            data_url=data_url,
            payload=payload,
        )
    )
    return finish_map(m)
