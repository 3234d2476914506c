"""The base Folium map every Gridline map starts from, plus its legend and controls.

Every map has the standard controls (``add_controls``): scale bar, fullscreen, locate-me and
measure (distances and areas).

Usage: ``m = base_map(bounds, basemaps=[...])`` (see ``maps.basemaps``); add ``Overlay`` layers
(``m.add_child(layer)``); call ``finish_map(m)`` once, last (it adds the legend and the layer
control, which Leaflet needs after the layers); render with
``to_html(m, assets=AssetMode.SERVED)`` (where the page's scripts and stylesheets come from: see
``maps.assets``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

import folium
from branca.element import MacroElement
from folium.plugins import Fullscreen, LocateControl, MeasureControl
from jinja2 import Template

from maps.assets import AssetMode, use_assets
from maps.basemaps import GCJ02, Basemap, Crs, add_basemaps, custom, overlay_crs
from maps.style import GATE_COLOR, HATCH_ID, KEEP_CLEAR

FIT_MAX_ZOOM = 19
"""Upper zoom for fitting the bounds (keeps a degenerate, point-sized box usable)."""
LEGEND_TITLE = "图例 Legend"
FONT = '"Helvetica Neue", Arial, "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", sans-serif'


@dataclass(frozen=True)
class LegendItem:
    """One legend row: an inline-SVG swatch (trusted markup) and a plain-text label."""

    swatch: str
    label: str | None = None
    """Defaults to the title of the layer the item belongs to."""


class Overlay(folium.FeatureGroup):
    """A toggleable layer (FeatureGroup) that carries the legend items describing it."""

    def __init__(self, title: str, legend: Sequence[LegendItem] = (), *, show: bool = True):
        # Leaflet's layer control inserts names as HTML, so the (plain-text) title is escaped.
        super().__init__(name=escape(title), overlay=True, control=True, show=show)
        self.title = title
        self.legend = tuple(legend)

    def is_empty(self) -> bool:
        """True when nothing was drawn into the layer."""
        return not self._children


class Stylesheet(MacroElement):
    """Page-wide CSS for labels, gates and the legend, and the SVG hatch pattern."""

    _template = Template(
        """
{% macro header(this, kwargs) %}
<style>
.gridline-label div { position: absolute; left: 0; top: 0; transform: translate(-50%, -50%);
  white-space: nowrap; pointer-events: none; font: bold 13px/1.2 {{ this.font }}; color: #1a1a1a;
  text-shadow: 0 0 2px #fff, 0 0 2px #fff, 0 0 3px #fff; }
.gridline-gate div { box-sizing: border-box; width: 12px; height: 12px; transform: rotate(45deg);
  background: {{ this.gate_color }}; border: 2px solid #fff;
  box-shadow: 0 0 0 1px {{ this.gate_color }}; }
.gridline-legend { background: rgba(255, 255, 255, 0.92); padding: 6px 8px; border-radius: 4px;
  box-shadow: 0 1px 4px rgba(0, 0, 0, 0.35); font: 12px/1.4 {{ this.font }}; color: #1a1a1a;
  max-height: 50vh; overflow-y: auto; }
.gridline-legend-title { font-weight: bold; margin-bottom: 2px; }
.gridline-legend-layer { margin-top: 3px; }
.gridline-legend-row { display: flex; align-items: center; gap: 6px; }
.gridline-legend-sub { padding-left: 10px; }
.gridline-legend svg { flex: none; }
.leaflet-control-locate .gridline-locate { display: inline-block; box-sizing: border-box;
  width: 14px; height: 14px; margin-top: 8px; border: 2px solid #333; border-radius: 50%;
  background: radial-gradient(circle, #333 0 2px, transparent 2.5px); vertical-align: top; }
.leaflet-control-locate.active .gridline-locate { border-color: #2074b6;
  background: radial-gradient(circle, #2074b6 0 2px, transparent 2.5px); }
.leaflet-control-locate .gridline-locate-loading { border-style: dashed; }
</style>
{% endmacro %}
{% macro html(this, kwargs) %}
<svg width="0" height="0" style="position: absolute" aria-hidden="true"><defs>
<pattern id="{{ this.hatch_id }}" patternUnits="userSpaceOnUse" width="8" height="8"
 patternTransform="rotate(45)"><rect width="8" height="8" fill="{{ this.hatch_color }}"
 fill-opacity="0.08"/><line x1="0" y1="0" x2="0" y2="8" stroke="{{ this.hatch_color }}"
 stroke-width="2.5"/></pattern></defs></svg>
{% endmacro %}
"""
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "GridlineStylesheet"
        self.font = FONT
        self.gate_color = GATE_COLOR
        self.hatch_id = HATCH_ID
        self.hatch_color = KEEP_CLEAR["color"]


class Legend(MacroElement):
    """A Leaflet control (bottom right) listing the map's layers with their swatches."""

    _template = Template(
        """
{% macro script(this, kwargs) %}
var {{ this.get_name() }} = L.control({position: {{ this.position|tojson }}});
{{ this.get_name() }}.onAdd = function (map) {
    var div = L.DomUtil.create("div", "gridline-legend");
    div.innerHTML = {{ this.body|tojson }};
    L.DomEvent.disableScrollPropagation(div);
    return div;
};
{{ this.get_name() }}.addTo({{ this._parent.get_name() }});
{% endmacro %}
"""
    )

    def __init__(self, layers: Sequence[folium.FeatureGroup], position: str = "bottomright"):
        super().__init__()
        self._name = "Legend"
        self.position = position
        self.body = legend_html(layers)


def legend_html(layers: Sequence[folium.FeatureGroup]) -> str:
    """Legend markup: one block per layer, one row per legend item."""
    parts = [f'<div class="gridline-legend-title">{escape(LEGEND_TITLE)}</div>']
    for layer in layers:
        if isinstance(layer, Overlay):
            title, items = escape(layer.title), layer.legend
        else:  # a plain FeatureGroup: its name is already HTML, as in the layer control
            title, items = layer.layer_name, ()
        if len(items) == 1 and items[0].label is None:
            parts.append(_legend_row(items[0].swatch, title, "gridline-legend-layer"))
            continue
        parts.append(f'<div class="gridline-legend-layer">{title}</div>')
        parts.extend(
            _legend_row(item.swatch, escape(item.label or layer.title), "gridline-legend-sub")
            for item in items
        )
    return "".join(parts)


def _legend_row(swatch: str, label_html: str, css_class: str) -> str:
    return f'<div class="gridline-legend-row {css_class}">{swatch}<span>{label_html}</span></div>'


LOCATE_TITLE = "显示我的位置 Show my location"
FULLSCREEN_TITLE = "全屏 Full screen"
FULLSCREEN_CANCEL = "退出全屏 Exit full screen"


class LocateInGcj02(MacroElement):
    """Moves the browser's position (WGS84, from the Geolocation API) to GCJ-02 before the
    locate-me control draws it, for maps whose basemap is in GCJ-02 (Gaode).

    A ``locationfound`` listener registered on the map before the control's own (which the
    control adds only when started) rewrites the event's ``latlng`` and ``bounds``; Leaflet hands
    every listener the same event object. The formula and the China box are those of
    ``geo.crs.wgs84_to_gcj02`` (outside the box positions stay as they are).
    """

    _template = Template(
        """
{% macro script(this, kwargs) %}
(function (map) {
    var A = 6378245.0, EE = 0.00669342162296594323, PI = Math.PI;
    function inChina(lon, lat) {
        return lon >= 72.004 && lon <= 137.8347 && lat >= 0.8293 && lat <= 55.8271;
    }
    function delta(lon, lat) {
        var x = lon - 105.0, y = lat - 35.0;
        var wave = (20.0 * Math.sin(6.0 * x * PI) + 20.0 * Math.sin(2.0 * x * PI)) * 2.0 / 3.0;
        var tLat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y
            + 0.2 * Math.sqrt(Math.abs(x)) + wave
            + (20.0 * Math.sin(y * PI) + 40.0 * Math.sin(y / 3.0 * PI)) * 2.0 / 3.0
            + (160.0 * Math.sin(y / 12.0 * PI) + 320.0 * Math.sin(y * PI / 30.0)) * 2.0 / 3.0;
        var tLon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y
            + 0.1 * Math.sqrt(Math.abs(x)) + wave
            + (20.0 * Math.sin(x * PI) + 40.0 * Math.sin(x / 3.0 * PI)) * 2.0 / 3.0
            + (150.0 * Math.sin(x / 12.0 * PI) + 300.0 * Math.sin(x / 30.0 * PI)) * 2.0 / 3.0;
        var radLat = lat / 180.0 * PI;
        var magic = 1.0 - EE * Math.sin(radLat) * Math.sin(radLat);
        var sqrtMagic = Math.sqrt(magic);
        return [
            (tLon * 180.0) / (A / sqrtMagic * Math.cos(radLat) * PI),
            (tLat * 180.0) / ((A * (1.0 - EE)) / (magic * sqrtMagic) * PI)
        ];
    }
    map.gridlineWgs84ToGcj02 = function (latlng) {
        if (!inChina(latlng.lng, latlng.lat)) return L.latLng(latlng.lat, latlng.lng);
        var d = delta(latlng.lng, latlng.lat);
        return L.latLng(latlng.lat + d[1], latlng.lng + d[0]);
    };
    map.on("locationfound", function (e) {
        e.wgs84 = e.latlng;
        e.latlng = map.gridlineWgs84ToGcj02(e.latlng);
        e.latitude = e.latlng.lat;
        e.longitude = e.latlng.lng;
        e.bounds = e.latlng.toBounds(e.accuracy * 2);
    });
})({{ this._parent.get_name() }});
{% endmacro %}
"""
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "LocateInGcj02"


def add_controls(m: folium.Map, crs: Crs) -> None:
    """The standard controls of every Gridline map: fullscreen, locate-me and measure.

    Their scripts are folium's plugins (leaflet.fullscreen, leaflet.locatecontrol,
    leaflet-measure), served or inlined like every asset (``maps.assets``). Locate-me shows the
    phone's position; a browser reports WGS84, so over a GCJ-02 basemap (``crs``) the position
    is converted to GCJ-02 in the page (``LocateInGcj02``) and lands on the basemap's streets,
    like every overlay. Measuring works in the drawn coordinates: over GCJ-02 the offset is
    practically a translation at community scale, so distances and areas are unaffected.
    The locate icon is drawn in CSS (``Stylesheet``): the plugin's default is a Font Awesome
    glyph, which Gridline does not serve.
    """
    Fullscreen(position="topleft", title=FULLSCREEN_TITLE, title_cancel=FULLSCREEN_CANCEL).add_to(m)
    if crs == GCJ02:
        m.add_child(LocateInGcj02())  # its listener must come before the control's
    LocateControl(
        position="topleft",
        icon="gridline-locate",
        iconLoading="gridline-locate gridline-locate-loading",
        strings={"title": LOCATE_TITLE},
    ).add_to(m)
    MeasureControl(
        position="topleft",
        primary_length_unit="meters",
        secondary_length_unit="kilometers",
        primary_area_unit="sqmeters",
        secondary_area_unit="hectares",
    ).add_to(m)


def base_map(
    bounds: tuple[float, float, float, float],
    tile_url: str | None = None,
    attribution: str = "",
    *,
    basemaps: Sequence[Basemap] = (),
) -> folium.Map:
    """An empty map fitted to ``bounds`` = (min_lon, min_lat, max_lon, max_lat), with scale bar
    and the standard controls (``add_controls``: fullscreen, locate-me, measure).

    ``basemaps`` become the layer control's base layers, the first one shown; with none (or
    only ``none``) the map has no tiles at all (intranets have no public basemap). ``tile_url``
    and ``attribution`` are a shorthand for ``basemaps=[custom(tile_url, attribution)]``.
    """
    if tile_url is not None:
        if basemaps:
            raise ValueError("give either tile_url or basemaps, not both")
        basemaps = [custom(tile_url, attribution)]
    min_lon, min_lat, max_lon, max_lat = bounds
    if not all(math.isfinite(v) for v in bounds) or min_lon > max_lon or min_lat > max_lat:
        raise ValueError(f"bounds must be finite (min_lon, min_lat, max_lon, max_lat): {bounds}")
    m = folium.Map(
        location=((min_lat + max_lat) / 2, (min_lon + max_lon) / 2),
        zoom_start=16,
        tiles=None,
        control_scale=True,
    )
    add_basemaps(m, basemaps)
    add_controls(m, overlay_crs(basemaps))
    # Without a tile layer Leaflet has no zoom limit, and marker clusters refuse to work then.
    m.options["max_zoom"] = FIT_MAX_ZOOM
    m.add_child(Stylesheet())
    m.fit_bounds([[min_lat, min_lon], [max_lat, max_lon]], max_zoom=FIT_MAX_ZOOM)
    return m


def add_layers(m: folium.Map, layers: Sequence[folium.FeatureGroup]) -> folium.Map:
    """Add ``layers`` in order (later ones draw on top), leaving out empty ``Overlay``s."""
    for layer in layers:
        if not (isinstance(layer, Overlay) and layer.is_empty()):
            m.add_child(layer)
    return m


def finish_map(m: folium.Map, *, collapsed: bool = False) -> folium.Map:
    """Add the legend and the layer control for the map's layers; call once, after all layers."""
    if any(isinstance(child, folium.LayerControl) for child in m._children.values()):
        raise ValueError("finish_map was already called on this map")
    overlays = [
        child
        for child in m._children.values()
        if isinstance(child, folium.FeatureGroup) and child.control and child.overlay
    ]
    if overlays:
        m.add_child(Legend(overlays))
    folium.LayerControl(collapsed=collapsed).add_to(m)
    return m


def to_html(m: folium.Map, *, assets: AssetMode = AssetMode.CDN) -> str:
    """The map as a full HTML document loading its scripts and stylesheets as ``assets`` says
    (folium's CDN links by default; ``SERVED`` and ``INLINE`` never name an external host)."""
    use_assets(m, assets)
    return m.get_root().render()
