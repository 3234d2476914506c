"""The map of a community's topology problems (see ``geo.topology``).

Layers, bottom to top: grid outlines labelled by code, the community outline, grids sticking out
of the community (their part outside hatched), grids in pieces or with holes (purple dashes),
gaps and overlaps (filled red, each labelled with its area), slivers (filled red, ringed so that
they can be found at any zoom). Every problem layer's title carries its count, and the legend
lists every kind of problem, found or not.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

import folium

from maps import style as s
from maps.base import Legend, LegendItem, Overlay, add_layers, base_map, finish_map, legend_html
from maps.basemaps import Basemap, CoordTransform, projector
from maps.colouring import as_shape
from maps.community import community_bounds
from maps.hazards import grid_outline_layer
from maps.layers import Field, community_outline_layer, geojson_layer

GAP: s.Style = {
    "color": "#99000d",
    "weight": 1.5,
    "dashArray": "5 3",
    "fillColor": "#e31a1c",
    "fillOpacity": 0.55,
}
OVERLAP: s.Style = {"color": "#67000d", "weight": 2, "fillColor": "#cb181d", "fillOpacity": 0.8}
SLIVER: s.Style = {"color": "#99000d", "weight": 1, "fillColor": "#e31a1c", "fillOpacity": 0.8}
SLIVER_RING: s.Style = {
    "fill": True,
    "radius": 7,
    "color": "#e31a1c",
    "weight": 2.5,
    "fillColor": "#ffffff",
    "fillOpacity": 0.3,
}
OUTSIDE: s.Style = {
    "color": "#e31a1c",
    "weight": 2,
    "fillColor": f"url(#{s.HATCH_ID})",
    "fillOpacity": 0.9,
}
SHAPE: s.Style = {"color": "#6a3d9a", "weight": 3, "dashArray": "8 5", "fill": False}

GAPS_TITLE = "空白区 Gaps"
OVERLAPS_TITLE = "重叠 Overlaps"
SLIVERS_TITLE = "碎片 Slivers"
OUTSIDE_TITLE = "超出社区 Outside the community"
SHAPE_TITLE = "不连续或有洞 In pieces or with holes"
KIND_LABELS = {
    "gap": "空白区 Gap",
    "overlap": "重叠 Overlap",
    "outside": "超出社区 Outside",
}
FIELDS = [
    Field("problem", "问题 Problem"),
    Field("area", "面积 Area"),
    Field("grids", "网格 Grids"),
]


def area_text(area_m2: float) -> str:
    """An area for a label: ``1,234.5 m²``, or three decimals below 1 m²."""
    return f"{area_m2:,.1f} m²" if area_m2 >= 1 else f"{area_m2:.3f} m²"


def _grids_text(grids: Sequence[dict]) -> str:
    return ", ".join(
        f"{g['code']} ({g['shared_m']:,.1f} m)" if "shared_m" in g else str(g["code"])
        for g in grids
    )


def _feature(geometry: dict, problem: str, area_m2: float, grids: Sequence[dict]) -> dict:
    props = {"problem": problem, "area": area_text(area_m2), "grids": _grids_text(grids)}
    return {"type": "Feature", "geometry": geometry, "properties": props}


def _title(title: str, count: int) -> str:
    return f"{title} ({count})"


def _area_labels(features: Sequence[dict], layer: folium.FeatureGroup) -> None:
    """Each feature's area as a label at a point inside it (labels ignore the mouse)."""
    for feature in features:
        point = as_shape(feature).representative_point()
        folium.Marker(
            location=(point.y, point.x),
            icon=folium.DivIcon(
                html=f"<div>{escape(feature['properties']['area'])}</div>",
                icon_size=(0, 0),
                class_name="gridline-label",
            ),
            interactive=False,
            keyboard=False,
        ).add_to(layer)


def _filled_layer(title: str, features: Sequence[dict], style: s.Style) -> Overlay:
    layer = Overlay(_title(title, len(features)), [LegendItem(s.area_swatch(style))])
    if features:
        geojson_layer(features, FIELDS, lambda _: dict(style)).add_to(layer)
        _area_labels(features, layer)
    return layer


def sliver_layer(features: Sequence[dict]) -> Overlay:
    """Slivers filled red, each ringed at a point inside it (they may be too small to see)."""
    layer = Overlay(_title(SLIVERS_TITLE, len(features)), [LegendItem(s.point_swatch(SLIVER_RING))])
    if features:
        geojson_layer(features, FIELDS, lambda _: dict(SLIVER)).add_to(layer)
        rings = []
        for feature in features:
            point = as_shape(feature).representative_point()
            rings.append(
                {**feature, "geometry": {"type": "Point", "coordinates": [point.x, point.y]}}
            )
        geojson_layer(
            rings, FIELDS, lambda _: dict(SLIVER_RING), marker=folium.CircleMarker()
        ).add_to(layer)
    return layer


def problem_features(report: dict, grids: Sequence[dict]) -> dict[str, list[dict]]:
    """The report's problems as GeoJSON Features by kind: gaps, overlaps, slivers, outside
    (each grid's part outside), shape (grids in pieces, holes)."""
    by_id = {g["properties"]["id"]: g for g in grids if g.get("geometry")}
    shape = [
        _feature(
            by_id[p["id"]]["geometry"],
            f"不连续 In pieces: {p['parts']}",
            sum(p["part_areas_m2"]),
            [p],
        )
        for p in report["not_contiguous"]
        if p["id"] in by_id
    ]
    shape += [
        _feature(p["geometry"], f"有洞 Holes: {p['holes']}", p["area_m2"], [p])
        for p in report["holes"]
    ]
    return {
        "gaps": [
            _feature(p["geometry"], KIND_LABELS["gap"], p["area_m2"], p["grids"])
            for p in report["gaps"]
        ],
        "overlaps": [
            _feature(p["geometry"], KIND_LABELS["overlap"], p["area_m2"], p["grids"])
            for p in report["overlaps"]
        ],
        "slivers": [
            _feature(p["geometry"], KIND_LABELS[p["kind"]], p["area_m2"], p["grids"])
            for p in report["slivers"]
        ],
        "outside": [
            _feature(p["geometry"], KIND_LABELS["outside"], p["area_m2"], [p])
            for p in report["outside"]
        ],
        "shape": shape,
    }


def problem_layers(features: dict[str, list[dict]]) -> list[Overlay]:
    """The problem layers bottom to top, titled with their counts (possibly empty)."""
    count = len(features["shape"])
    shape = Overlay(_title(SHAPE_TITLE, count), [LegendItem(s.area_swatch(SHAPE))])
    if features["shape"]:
        geojson_layer(features["shape"], FIELDS, lambda _: dict(SHAPE)).add_to(shape)
    return [
        _filled_layer(OUTSIDE_TITLE, features["outside"], OUTSIDE),
        shape,
        _filled_layer(GAPS_TITLE, features["gaps"], GAP),
        _filled_layer(OVERLAPS_TITLE, features["overlaps"], OVERLAP),
        sliver_layer(features["slivers"]),
    ]


def _bounds(features: Sequence[dict]) -> tuple[float, float, float, float]:
    """(min_lon, min_lat, max_lon, max_lat) of the community and what sticks out of it."""
    boxes = [community_bounds(features[0]), *(as_shape(f).bounds for f in features[1:])]
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def topology_map(
    community: dict,
    grids: Sequence[dict],
    report: dict,
    *,
    basemaps: Sequence[Basemap] = (),
    to_gcj02: CoordTransform | None = None,
) -> folium.Map:
    """A finished map of the problems ``report`` (``geo.topology.check``) found among
    ``grids`` of ``community``. Over a GCJ-02 basemap everything is drawn converted by
    ``to_gcj02``."""
    draw = projector(basemaps, to_gcj02)
    features = {kind: draw(found) for kind, found in problem_features(report, grids).items()}
    (community,) = draw([community])
    below = [grid_outline_layer(draw(grids)), community_outline_layer(community)]
    problems = problem_layers(features)
    m = base_map(_bounds([community, *features["outside"]]), basemaps=basemaps)
    add_layers(m, [*below, *problems])
    finish_map(m)
    for child in m._children.values():
        if isinstance(child, Legend):
            child.body = legend_html([*below, *problems])
    return m
