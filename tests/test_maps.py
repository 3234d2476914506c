"""Pure tests of maps/: synthetic GeoJSON in, Folium objects and HTML out (no database)."""

from __future__ import annotations

import ast
import copy
import json
import re
from collections.abc import Iterator
from itertools import product
from pathlib import Path
from typing import TypeVar

import folium
import pytest
from branca.element import Element
from shapely.geometry import box

from maps import base_map, community_map, to_html
from maps.base import Legend, Overlay, add_layers, finish_map
from maps.colouring import adjacency, colour_geometries, colour_graph
from maps.style import GRID_PALETTE, HATCH_ID, road_style

T = TypeVar("T")
LON, LAT, STEP = 120.72, 27.97, 0.01


def square(x0: float, y0: float, x1: float, y1: float) -> dict:
    ring = [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]
    return {"type": "Polygon", "coordinates": [ring]}


def feature(geometry: dict, **properties: object) -> dict:
    return {"type": "Feature", "geometry": geometry, "properties": properties}


def point(lon: float, lat: float) -> dict:
    return {"type": "Point", "coordinates": [lon, lat]}


def cell(i: int, j: int) -> dict:
    """Grid square (i, j) of the 2x2 block; exact multiples keep shared edges exact."""
    return square(
        round(LON + i * STEP, 6),
        round(LAT + j * STEP, 6),
        round(LON + (i + 1) * STEP, 6),
        round(LAT + (j + 1) * STEP, 6),
    )


COMMUNITY_BOUNDS = (LON, LAT, round(LON + 2 * STEP, 6), round(LAT + 2 * STEP, 6))
COMMUNITY = feature(square(*COMMUNITY_BOUNDS), code="330302001", name="测试社区 Test")
GRIDS = [
    feature(
        cell(i, j),
        id=10 + 2 * i + j,
        code=f"G{i}{j}",
        name=f"网格 {i}{j}",
        households=100 + i,
        population=250 + j,
        note=None,
    )
    for i, j in product(range(2), range(2))
]
EDGE_PAIRS = [("G00", "G01"), ("G00", "G10"), ("G01", "G11"), ("G10", "G11")]
COMPOUNDS = [
    feature(
        square(120.721, 27.971, 120.728, 27.978),
        id=1,
        name="锦园",
        households=80,
        has_property_management=True,
        year_built=1998,
        population=200,
    ),
    feature(
        square(120.731, 27.971, 120.738, 27.978),
        id=2,
        name="老街",
        households=40,
        has_property_management=False,
        year_built=None,
        population=90,
    ),
]
BUILDINGS = [feature(square(120.722, 27.972, 120.723, 27.973), id=1, name="1幢", floors=6, units=2)]
ROADS = [
    feature(
        {"type": "LineString", "coordinates": [[LON, 27.98], [120.74, 27.98]]},
        id=n,
        name=f"road {kind}",
        kind=kind,
        width_m=width,
    )
    for n, (kind, width) in enumerate(
        [("street", 16.0), ("internal_road", 5.0), ("fire_lane", 4.0), ("footpath", None)]
    )
]
SITE_FEATURES = [
    feature(point(120.725, 27.975), id=1, kind="gate", name="南门"),
    feature(point(120.726, 27.975), id=2, kind="hydrant", name="H-1"),
    feature(point(120.727, 27.975), id=3, kind="tree", name="香樟"),
    feature(square(120.732, 27.982, 120.734, 27.984), id=4, kind="green_area", name="花园"),
    feature(square(120.735, 27.982, 120.736, 27.984), id=5, kind="keep_clear", name="消防登高面"),
]
LAYER_NAMES = [
    "网格 Grids",
    "测试社区 Test",
    "小区 Compounds",
    "楼栋 Buildings",
    "道路 Roads",
    "绿地 Green areas",
    "禁止占用区 Keep-clear zones",
    "树木 Trees",
    "消防栓 Hydrants",
    "出入口 Gates",
]


def full_map(**kwargs: object) -> folium.Map:
    return community_map(COMMUNITY, GRIDS, COMPOUNDS, BUILDINGS, ROADS, SITE_FEATURES, **kwargs)


def walk(element: Element) -> Iterator[Element]:
    """Every element below ``element`` (depth first, in order)."""
    for child in element._children.values():
        yield child
        yield from walk(child)


def of_type(m: folium.Map, cls: type[T]) -> list[T]:
    return [e for e in walk(m) if isinstance(e, cls)]


def js(text: str) -> str:
    """``text`` as Folium writes it in a JavaScript string literal (Jinja's ``tojson``)."""
    escapes = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "'": "\\u0027"}
    return "".join(escapes.get(c, c) for c in json.dumps(text))


def overlay_names(html: str) -> list[str]:
    """Overlay names in the layer control of the rendered page, in order."""
    block = re.search(r"overlays\s*:\s*\{(.*?)\}", html, re.S)
    assert block, "no layer control"
    return [json.loads(k) for k in re.findall(r'^\s*("(?:[^"\\]|\\.)*")\s*:', block[1], re.M)]


def layer(m: folium.Map, title: str) -> Overlay:
    (found,) = [e for e in of_type(m, Overlay) if e.title == title]
    return found


def styled_features(layer_: Overlay) -> list[tuple[dict, dict]]:
    """(display feature, style) pairs of a layer's GeoJson."""
    (gj,) = [e for e in walk(layer_) if isinstance(e, folium.GeoJson)]
    return [(f, gj.style_function(f)) for f in gj.data["features"]]


# --- colouring --------------------------------------------------------------------------------


def checkerboard(n: int) -> dict[tuple[int, int], int]:
    return {(i, j): i * n + j for i, j in product(range(n), range(n))}


def test_adjacency_counts_shared_edges_not_corners() -> None:
    index = checkerboard(3)
    geoms = [box(i, j, i + 1, j + 1) for i, j in index]
    neighbours = adjacency(geoms)
    for (i, j), v in index.items():
        edge = {index[p] for p in [(i + 1, j), (i - 1, j), (i, j + 1), (i, j - 1)] if p in index}
        assert neighbours[v] == edge
    assert index[(0, 0)] not in neighbours[index[(1, 1)]]  # corner-only contact


def test_adjacency_overlap_counts_and_disjoint_does_not() -> None:
    geoms = [box(0, 0, 2, 2), box(1, 1, 3, 3), box(10, 10, 11, 11), box(2, 0, 3, 0.5)]
    assert adjacency(geoms) == [{1, 3}, {0}, set(), {0}]


def test_checkerboard_colouring_separates_edge_neighbours() -> None:
    index = checkerboard(3)
    geoms = [box(i, j, i + 1, j + 1) for i, j in index]
    colours = colour_geometries(geoms)
    assert set(colours) <= set(GRID_PALETTE)
    for (i, j), v in index.items():
        for p in [(i + 1, j), (i, j + 1)]:
            if p in index:
                assert colours[v] != colours[index[p]], (i, j, p)
    # corner-only neighbours may share: the 3x3 board needs just two colours
    assert len(set(colours)) == 2
    assert colours[index[(0, 0)]] == colours[index[(1, 1)]]


def test_colouring_planar_map_stays_within_palette() -> None:
    # a wheel: a hub touching a ring of 7 sectors (an odd cycle needs 3 colours, the hub a 4th)
    from shapely.geometry import Point, Polygon

    hub = Point(0, 0).buffer(1)
    ring = Point(0, 0).buffer(3).difference(hub)
    sectors = [
        ring.intersection(Polygon([(0, 0), *[_polar(10, k + t / 4) for t in range(5)]]))
        for k in range(7)
    ]
    geoms = [hub, *sectors]
    neighbours = adjacency(geoms)
    assert neighbours[0] == set(range(1, 8))
    colours = colour_graph(neighbours)
    assert all(colours[a] != colours[b] for a in range(8) for b in neighbours[a])
    assert max(colours) < len(GRID_PALETTE)


def _polar(r: float, k: float) -> tuple[float, float]:
    import math

    angle = 2 * math.pi * k / 7
    return (r * math.cos(angle), r * math.sin(angle))


def test_colour_graph_is_deterministic_and_handles_empty() -> None:
    neighbours = [{1, 2}, {0, 2}, {0, 1, 3}, {2}]
    assert colour_graph(neighbours) == colour_graph(copy.deepcopy(neighbours))
    assert len(set(colour_graph(neighbours)[:3])) == 3
    assert colour_graph([]) == []
    assert colour_geometries([]) == []


# --- the community map ------------------------------------------------------------------------


def test_html_is_a_full_document() -> None:
    html = to_html(full_map())
    assert html.lstrip().startswith("<!DOCTYPE html>")
    assert "<head>" in html and "<body>" in html and html.rstrip().endswith("</html>")
    assert "L.control.scale()" in html


def test_each_grid_code_is_a_permanent_label() -> None:
    m = full_map()
    labels = [
        e.options["html"]
        for e in of_type(m, folium.DivIcon)
        if e.options.get("class_name") == "gridline-label"
    ]
    assert labels == [f"<div>{g['properties']['code']}</div>" for g in GRIDS]
    html = to_html(m)
    for g in GRIDS:
        assert js(f"<div>{g['properties']['code']}</div>") in html


def test_tooltip_aliases_are_bilingual() -> None:
    html = to_html(full_map())
    for alias in [
        "网格 Grid",
        "编码 Code",
        "户数 Households",
        "人口 Population",
        "物业管理 Property management",
        "建成年份 Year built",
        "层数 Floors",
    ]:
        assert js(alias) in html, alias


def test_layer_control_lists_every_layer_in_drawing_order() -> None:
    html = to_html(full_map())
    assert overlay_names(html) == LAYER_NAMES


def test_legend_lists_the_layers() -> None:
    m = full_map()
    (legend,) = of_type(m, Legend)
    for name in LAYER_NAMES:
        assert f"<span>{name}</span>" in legend.body or f">{name}</div>" in legend.body, name
    for label in ["无物业 No management", "消防通道 Fire lane", "步行道 Footpath"]:
        assert f"<span>{label}</span>" in legend.body
    assert "gridline-legend" in to_html(m)


def test_adjacent_grids_get_different_colours() -> None:
    pairs = styled_features(layer(full_map(), "网格 Grids"))
    fill = {f["properties"]["code"]: style["fillColor"] for f, style in pairs}
    for a, b in EDGE_PAIRS:
        assert fill[a] != fill[b], (a, b)
    assert all(style["fillOpacity"] < 1 for _, style in pairs)


def test_map_is_fitted_to_the_community_bounds() -> None:
    m = full_map()
    (fit,) = of_type(m, folium.FitBounds)
    min_lon, min_lat, max_lon, max_lat = COMMUNITY_BOUNDS
    assert fit.bounds == [[min_lat, min_lon], [max_lat, max_lon]]
    assert f"[[{min_lat}, {min_lon}], [{max_lat}, {max_lon}]]" in to_html(m)


def test_no_tile_layer_without_tile_url() -> None:
    m = full_map()
    assert of_type(m, folium.TileLayer) == []
    assert "L.tileLayer" not in to_html(m)


def test_tile_layer_with_tile_url_and_attribution() -> None:
    url = "http://tiles.intranet.example/{z}/{x}/{y}.png"
    m = full_map(tile_url=url, attribution="© 市大数据局")
    (tiles,) = of_type(m, folium.TileLayer)
    assert tiles.layer_name == "basemap" and tiles.tiles == url
    html = to_html(m)
    assert "L.tileLayer" in html and js(url) in html and js("© 市大数据局") in html


def test_tile_url_without_attribution_still_works() -> None:
    m = base_map(COMMUNITY_BOUNDS, "http://tiles.example/{z}/{x}/{y}.png")
    (tiles,) = of_type(m, folium.TileLayer)
    assert tiles.options["attribution"]


def test_empty_optional_layers_are_left_out() -> None:
    html = to_html(community_map(COMMUNITY, GRIDS))
    assert overlay_names(html) == ["网格 Grids", "测试社区 Test"]
    html = to_html(community_map(COMMUNITY, [], [], [], [], []))
    assert overlay_names(html) == ["测试社区 Test"]


def test_features_without_geometry_are_skipped() -> None:
    lost = feature(None, id=99, kind="hydrant", name="lost")  # type: ignore[arg-type]
    m = community_map(COMMUNITY, GRIDS, site_features=[lost, SITE_FEATURES[1]])
    assert len(styled_features(layer(m, "消防栓 Hydrants"))) == 1


def test_compounds_without_property_management_are_dashed_orange() -> None:
    pairs = styled_features(layer(full_map(), "小区 Compounds"))
    by_name = {f["properties"]["name"]: style for f, style in pairs}
    assert "dashArray" not in by_name["锦园"]
    assert by_name["老街"]["dashArray"] and by_name["老街"]["color"] == "#ff7f00"
    shown = {f["properties"]["name"]: f["properties"] for f, _ in pairs}
    assert shown["锦园"]["has_property_management"] == "是 Yes"
    assert shown["老街"]["year_built"] == "—"


def test_roads_are_styled_by_kind_and_width() -> None:
    pairs = styled_features(layer(full_map(), "道路 Roads"))
    style = {f["properties"]["name"]: s for f, s in pairs}
    assert style["road street"]["weight"] > style["road internal_road"]["weight"]
    assert style["road internal_road"]["weight"] > style["road footpath"]["weight"]
    assert style["road fire_lane"]["color"] == "#d7301f" and style["road fire_lane"]["dashArray"]
    assert style["road footpath"]["dashArray"] == "1 4"
    assert road_style("street", 200)["weight"] == 10  # clamped
    assert road_style("unknown", None)["weight"] > 0


def test_site_features_are_drawn_by_kind() -> None:
    m = full_map()
    ((_, hydrant),) = styled_features(layer(m, "消防栓 Hydrants"))
    assert hydrant["color"].startswith("#99") and hydrant["radius"] <= 6 and hydrant["fill"]
    ((_, tree),) = styled_features(layer(m, "树木 Trees"))
    assert tree["fillColor"] == "#5aae61"
    ((_, zone),) = styled_features(layer(m, "禁止占用区 Keep-clear zones"))
    assert zone["fillColor"] == f"url(#{HATCH_ID})"
    assert f'id="{HATCH_ID}"' in to_html(m)
    gates = [e for e in walk(layer(m, "出入口 Gates")) if isinstance(e, folium.GeoJson)]
    assert isinstance(gates[0].marker, folium.Marker)


def test_unknown_site_feature_kinds_get_an_other_layer() -> None:
    odd = feature(point(120.73, 27.98), id=9, kind="bench", name="长椅")
    html = to_html(community_map(COMMUNITY, GRIDS, site_features=[odd]))
    assert overlay_names(html)[-1] == "其他设施 Other features"


def test_user_text_is_escaped() -> None:
    evil = copy.deepcopy(GRIDS)
    evil[0]["properties"]["name"] = "<img src=x onerror=alert(1)>"
    evil[0]["properties"]["code"] = "<b>G</b>"
    community = copy.deepcopy(COMMUNITY)
    community["properties"]["name"] = "<script>x</script>"
    m = community_map(community, evil)
    html = to_html(m)
    assert "<img" not in html and "<script>x" not in html and "<b>G" not in html
    assert "&lt;script&gt;x&lt;/script&gt;" in overlay_names(html)[1]
    shown = styled_features(layer(m, "网格 Grids"))[0][0]["properties"]
    assert shown["name"] == "&lt;img src=x onerror=alert(1)&gt;"


def test_inputs_are_not_modified() -> None:
    args = copy.deepcopy((COMMUNITY, GRIDS, COMPOUNDS, BUILDINGS, ROADS, SITE_FEATURES))
    to_html(community_map(*args))
    assert args == (COMMUNITY, GRIDS, COMPOUNDS, BUILDINGS, ROADS, SITE_FEATURES)


def test_html_is_deterministic_up_to_folium_ids() -> None:
    def normalised(html: str) -> str:
        return re.sub(r"[0-9a-f]{32}", "ID", html)

    first, second = to_html(full_map()), to_html(full_map())
    assert first != second  # folium's random element ids...
    assert normalised(first) == normalised(second)  # ...are the only difference


def test_extra_layers_are_added_after_the_base_layers() -> None:
    hazards = Overlay("隐患 Hazards")
    folium.CircleMarker((27.975, 120.725), radius=4).add_to(hazards)
    html = to_html(community_map(COMMUNITY, GRIDS, extra_layers=[hazards]))
    assert overlay_names(html) == ["网格 Grids", "测试社区 Test", "隐患 Hazards"]


def test_finish_map_only_once_and_bounds_validated() -> None:
    m = add_layers(base_map(COMMUNITY_BOUNDS), [Overlay("empty")])
    finish_map(m)
    assert overlay_names(to_html(m)) == []
    with pytest.raises(ValueError):
        finish_map(m)
    with pytest.raises(ValueError):
        base_map((1.0, 2.0, 0.0, 3.0))
    with pytest.raises(ValueError):
        community_map({"type": "Feature", "geometry": None, "properties": {}}, GRIDS)


def test_maps_never_import_api_or_database_code() -> None:
    forbidden = ("api", "geo.db", "sqlalchemy", "geoalchemy2", "psycopg")
    for path in (Path(__file__).parents[1] / "maps").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            for name in names:
                top = [p for p in forbidden if name == p or name.startswith(p + ".")]
                assert not top, f"{path.name} imports {name}"


def test_map_without_tiles_still_has_a_zoom_limit() -> None:
    """Leaflet takes its zoom limit from tile layers; marker clusters fail without one."""
    html = to_html(base_map((120.71, 27.96, 120.73, 27.98)))
    options = re.search(r"L\.map\(\s*\"map_\w+\",.*?\.\.\.(\{.*?\})\s*\}\s*\);", html, re.S)
    assert options is not None
    assert json.loads(re.sub(r",\s*}", "}", options.group(1)))["maxZoom"] == 19
