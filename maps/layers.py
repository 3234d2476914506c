"""Map layers: each function takes GeoJSON Features (lon/lat) and returns one ``Overlay``.

Layers copy only the properties they show (HTML-escaped, since Leaflet tooltips are HTML) into
the page; the input dicts are never modified. Features without geometry are skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from html import escape

import folium

from maps import style as s
from maps.base import LegendItem, Overlay
from maps.colouring import as_shape, colour_features

MISSING = "—"
YES, NO = "是 Yes", "否 No"

ROAD_KINDS: Mapping[str, str] = {
    "street": "街道 Street",
    "internal_road": "内部道路 Internal road",
    "fire_lane": "消防通道 Fire lane",
    "footpath": "步行道 Footpath",
}


@dataclass(frozen=True)
class Field:
    """A property shown in a tooltip: its key, its bilingual alias and an optional formatter."""

    key: str
    alias: str
    fmt: Callable[[object], object] | None = None


def display_value(value: object) -> object:
    """A property value as shown: numbers as is, booleans as 是/否, text escaped, None as —."""
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return YES if value else NO
    if isinstance(value, int | float):
        return value
    return escape(str(value))


def _labelled(labels: Mapping[str, str]) -> Callable[[object], object]:
    return lambda v: labels.get(v, v) if isinstance(v, str) else v


def geojson_layer(
    features: Sequence[dict],
    fields: Sequence[Field],
    style: Callable[[dict], s.Style] | Sequence[s.Style],
    *,
    marker: folium.CircleMarker | folium.Marker | None = None,
) -> folium.GeoJson:
    """One ``folium.GeoJson`` of ``features`` with a tooltip of ``fields``.

    ``style`` is one style per feature, or a function called with each *input* feature (so it
    may use properties that are not shown).
    """
    styles = [style(f) for f in features] if callable(style) else list(style)
    if len(styles) != len(features):
        raise ValueError("need one style per feature")
    data = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": str(i),
                "geometry": f["geometry"],
                "properties": {fld.key: _shown(f, fld) for fld in fields},
            }
            for i, f in enumerate(features)
        ],
    }
    return folium.GeoJson(
        data,
        style_function=lambda feature: styles[int(feature["id"])],
        tooltip=folium.GeoJsonTooltip(
            fields=[fld.key for fld in fields], aliases=[fld.alias for fld in fields]
        ),
        marker=marker,
    )


def _shown(feature: dict, fld: Field) -> object:
    value = _props(feature).get(fld.key)
    return display_value(fld.fmt(value) if fld.fmt else value)


def _drawable(features: Iterable[dict]) -> list[dict]:
    return [f for f in features if f.get("geometry")]


def _props(feature: dict) -> dict:
    return feature.get("properties") or {}


def community_outline_layer(community: dict) -> Overlay:
    """The community boundary as a thick dark line without fill, named by the community."""
    props = _props(community)
    title = str(props.get("name") or props.get("code") or "社区 Community")
    layer = Overlay(title, [LegendItem(s.area_swatch(s.OUTLINE))])
    if features := _drawable([community]):
        fields = [Field("name", "社区 Community"), Field("code", "编码 Code")]
        geojson_layer(features, fields, [dict(s.OUTLINE)]).add_to(layer)
    return layer


GRID_TITLE = "网格 Grids"


def grid_layer(grids: Sequence[dict], palette: Sequence[str] = s.GRID_PALETTE) -> Overlay:
    """Grids filled so that neighbours differ in colour, each labelled with its code."""
    grids = _drawable(grids)
    layer = Overlay(GRID_TITLE, [LegendItem(s.palette_swatch(palette))])
    if not grids:
        return layer
    styles = [s.grid_style(colour) for colour in colour_features(grids, palette)]
    fields = [
        Field("name", "网格 Grid"),
        Field("code", "编码 Code"),
        Field("households", "户数 Households"),
        Field("population", "人口 Population"),
    ]
    geojson_layer(grids, fields, styles).add_to(layer)
    add_grid_labels(grids, layer)
    return layer


def add_grid_labels(grids: Sequence[dict], layer: folium.FeatureGroup) -> None:
    """Each grid's code as a label at a point inside it (labels ignore the mouse)."""
    for grid in grids:
        point = as_shape(grid).representative_point()
        code = escape(str(_props(grid).get("code") or ""))
        folium.Marker(
            location=(point.y, point.x),
            icon=folium.DivIcon(
                html=f"<div>{code}</div>", icon_size=(0, 0), class_name="gridline-label"
            ),
            interactive=False,
            keyboard=False,
        ).add_to(layer)


def compound_layer(compounds: Sequence[dict]) -> Overlay:
    """Compound outlines; those without property management dashed orange."""
    compounds = _drawable(compounds)
    managed = [bool(_props(c).get("has_property_management")) for c in compounds]
    legend = []
    if any(managed):
        legend.append(LegendItem(s.area_swatch(s.COMPOUND_MANAGED), "有物业 Managed"))
    if not all(managed):
        legend.append(LegendItem(s.area_swatch(s.COMPOUND_UNMANAGED), "无物业 No management"))
    layer = Overlay("小区 Compounds", legend)
    if compounds:
        fields = [
            Field("name", "小区 Compound"),
            Field("has_property_management", "物业管理 Property management"),
            Field("year_built", "建成年份 Year built"),
            Field("households", "户数 Households"),
        ]
        styles = [dict(s.COMPOUND_MANAGED if m else s.COMPOUND_UNMANAGED) for m in managed]
        geojson_layer(compounds, fields, styles).add_to(layer)
    return layer


def building_layer(buildings: Sequence[dict]) -> Overlay:
    """Building footprints in grey."""
    buildings = _drawable(buildings)
    layer = Overlay("楼栋 Buildings", [LegendItem(s.area_swatch(s.BUILDING))])
    if buildings:
        fields = [
            Field("name", "楼栋 Building"),
            Field("floors", "层数 Floors"),
            Field("units", "单元 Units"),
        ]
        geojson_layer(buildings, fields, lambda _: dict(s.BUILDING)).add_to(layer)
    return layer


def road_layer(roads: Sequence[dict]) -> Overlay:
    """Roads styled by kind, line weight by width."""
    roads = _drawable(roads)
    kinds = {_props(r).get("kind") for r in roads}
    legend = [
        LegendItem(s.line_swatch(s.ROAD_STYLES[kind]), label)
        for kind, label in ROAD_KINDS.items()
        if kind in kinds
    ]
    if kinds - ROAD_KINDS.keys():
        legend.append(LegendItem(s.line_swatch(s.ROAD_DEFAULT), "其他 Other"))
    layer = Overlay("道路 Roads", legend)
    if roads:
        fields = [
            Field("name", "道路 Road"),
            Field("kind", "类型 Kind", _labelled(ROAD_KINDS)),
            Field("width_m", "宽度 Width (m)"),
        ]
        geojson_layer(
            roads, fields, lambda r: s.road_style(_props(r).get("kind"), _props(r).get("width_m"))
        ).add_to(layer)
    return layer


@dataclass(frozen=True)
class SiteKind:
    """How one kind of site feature is drawn: its layer title, style and marker."""

    title: str
    style: s.Style
    legend: str
    marker: Callable[[], folium.CircleMarker | folium.Marker] | None = None


def _circle() -> folium.CircleMarker:
    return folium.CircleMarker()


def _gate() -> folium.Marker:
    icon = folium.DivIcon(html="<div></div>", icon_size=(12, 12), class_name="gridline-gate")
    return folium.Marker(icon=icon)


SITE_KINDS: Mapping[str, SiteKind] = {
    "green_area": SiteKind("绿地 Green areas", s.GREEN_AREA, s.area_swatch(s.GREEN_AREA)),
    "keep_clear": SiteKind(
        "禁止占用区 Keep-clear zones", s.KEEP_CLEAR, s.area_swatch(s.KEEP_CLEAR)
    ),
    "tree": SiteKind("树木 Trees", s.TREE, s.point_swatch(s.TREE), _circle),
    "shop": SiteKind("商铺 Shops", s.SHOP, s.point_swatch(s.SHOP), _circle),
    "hydrant": SiteKind("消防栓 Hydrants", s.HYDRANT, s.point_swatch(s.HYDRANT), _circle),
    "gate": SiteKind("出入口 Gates", s.GATE, s.gate_swatch(), _gate),
}
"""Site feature kinds in drawing order (areas below points)."""
OTHER_SITE_KIND = SiteKind("其他设施 Other features", s.OTHER_AREA, s.area_swatch(s.OTHER_AREA))


def site_layer(features: Sequence[dict], kind: SiteKind) -> Overlay:
    """One kind of site feature; points get the kind's marker, areas its style."""
    features = _drawable(features)
    layer = Overlay(kind.title, [LegendItem(kind.legend)])
    if features:
        fields = [Field("name", "名称 Name"), Field("kind", "类型 Kind", _site_kind_label)]

        def style(feature: dict) -> s.Style:
            point = feature["geometry"].get("type") in ("Point", "MultiPoint")
            if kind is OTHER_SITE_KIND and point:
                return dict(s.OTHER_POINT)
            return dict(kind.style)

        marker = kind.marker() if kind.marker else folium.CircleMarker()
        geojson_layer(features, fields, style, marker=marker).add_to(layer)
    return layer


def _site_kind_label(value: object) -> object:
    spec = SITE_KINDS.get(value) if isinstance(value, str) else None
    return spec.title if spec else value


def site_feature_layers(site_features: Sequence[dict]) -> list[Overlay]:
    """One layer per kind of site feature present (unknown kinds go to an "other" layer)."""
    by_kind: dict[str, list[dict]] = {}
    for feature in site_features:
        kind = _props(feature).get("kind")
        by_kind.setdefault(kind if kind in SITE_KINDS else "", []).append(feature)
    layers = [site_layer(by_kind[k], spec) for k, spec in SITE_KINDS.items() if k in by_kind]
    if "" in by_kind:
        layers.append(site_layer(by_kind[""], OTHER_SITE_KIND))
    return layers
