"""Pure tests of the worker-assignment map (maps/assignment.py): no database."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from itertools import product
from typing import TypeVar

import folium
import pytest
from branca.element import Element
from shapely.geometry import shape

from maps import to_html
from maps.assignment import (
    ALERT_COLOR,
    MENTORING_DASH,
    MIXED_GENDER_COLOR,
    NO_BACKUP_LABEL,
    PAIR_LINE,
    PAIRS_TITLE,
    PRIMARY_TITLE,
    UNASSIGNED_LABEL,
    WORKER_PALETTE,
    assignment_layers,
    assignment_map,
    worker_colours,
)
from maps.base import Legend, Overlay
from maps.colouring import adjacency
from maps.style import HATCH_ID

T = TypeVar("T")
LON, LAT, STEP = 120.72, 27.97, 0.005


def square(x0: float, y0: float, x1: float, y1: float) -> dict:
    ring = [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]
    return {"type": "Polygon", "coordinates": [ring]}


def feature(geometry: dict | None, **properties: object) -> dict:
    return {"type": "Feature", "geometry": geometry, "properties": properties}


def cell(col: int, row: int) -> dict:
    return square(
        round(LON + col * STEP, 6),
        round(LAT + row * STEP, 6),
        round(LON + (col + 1) * STEP, 6),
        round(LAT + (row + 1) * STEP, 6),
    )


# 3x3 grids, codes 01..09 row by row from the south-west; grid id = 100 + number
#   07 08 09
#   04 05 06
#   01 02 03
NUMBER = {(col, row): 3 * row + col + 1 for col, row in product(range(3), range(3))}
GRIDS = [
    feature(cell(col, row), id=100 + n, code=f"{n:02d}", name=f"网格{n}", households=10 * n)
    for (col, row), n in sorted(NUMBER.items(), key=lambda item: item[1])
]
COMMUNITY = feature(
    square(LON, LAT, round(LON + 3 * STEP, 6), round(LAT + 3 * STEP, 6)),
    code="330302001",
    name="测试社区 Test",
)
WORKERS = {
    n: {
        "id": n,
        "name": f"员{n}",
        "gender": "female" if n % 2 else "male",
        "years": n - 0.5,  # 0.5..8.5 years: 1 (new) with 9 (3+ years) is a mentoring pair
    }
    for n in range(1, 11)
}


def role(grid: int, kind: str, worker: int) -> dict:
    return {"grid_id": 100 + grid, "role": kind, "worker": WORKERS[worker]}


A_ROLES = [role(n, "A", n) for n in range(1, 10)]
# B of each grid: an edge neighbour's A worker (reciprocal in pairs, 9 with 6 one-way)
B_OF = {1: 2, 2: 1, 3: 6, 4: 5, 5: 4, 6: 3, 7: 8, 8: 7, 9: 6}
B_ROLES = [role(n, "B", b) for n, b in B_OF.items()]
ROLES = A_ROLES + B_ROLES


def walk(element: Element) -> Iterator[Element]:
    for child in element._children.values():
        yield child
        yield from walk(child)


def of_type(element: Element, cls: type[T]) -> list[T]:
    return [e for e in walk(element) if isinstance(e, cls)]


def by_title(layers: list[Overlay], title: str) -> Overlay:
    (found,) = [layer for layer in layers if layer.title == title]
    return found


def styled(layer: Overlay) -> list[tuple[dict, dict]]:
    """(display feature, style) of each feature of the layer's GeoJson."""
    (gj,) = of_type(layer, folium.GeoJson)
    return [(f, gj.style_function(f)) for f in gj.data["features"]]


def grid_styles(layers: list[Overlay]) -> dict[str, tuple[dict, dict]]:
    """Grid code -> (shown properties, style) in the A layer."""
    return {f["properties"]["code"]: (f["properties"], st) for f, st in styled(layers[0])}


def labels(layer: Overlay) -> list[str]:
    return [
        e.options["html"]
        for e in of_type(layer, folium.DivIcon)
        if e.options["class_name"] == "gridline-label"
    ]


def rep_point(n: int) -> list[float]:
    point = shape(GRIDS[n - 1]["geometry"]).representative_point()
    return [point.x, point.y]


def pair_lines(layers: list[Overlay]) -> list[tuple[dict, dict]]:
    pairs = by_title(layers, PAIRS_TITLE)
    return styled(pairs) if not pairs.is_empty() else []


def overlay_names(html: str) -> list[str]:
    block = re.search(r"overlays\s*:\s*\{(.*?)\}", html, re.S)
    assert block, "no layer control"
    return [json.loads(k) for k in re.findall(r'^\s*("(?:[^"\\]|\\.)*")\s*:', block[1], re.M)]


def without(roles: list[dict], grid: int, kind: str) -> list[dict]:
    return [r for r in roles if not (r["grid_id"] == 100 + grid and r["role"] == kind)]


# --- colours ----------------------------------------------------------------------------------


def test_each_grid_is_filled_with_its_a_workers_colour() -> None:
    colours = worker_colours(GRIDS, ROLES)
    assert set(colours) == set(range(1, 10))
    assert len(set(colours.values())) == 9  # one colour per worker
    assert set(colours.values()) <= set(WORKER_PALETTE)
    assert ALERT_COLOR not in WORKER_PALETTE
    shown = grid_styles(assignment_layers(GRIDS, ROLES))
    for n in range(1, 10):
        _, style = shown[f"{n:02d}"]
        assert style["fillColor"] == colours[n], n
        assert "dashArray" not in style  # every grid has a B


def test_a_worker_with_two_grids_has_one_colour_and_neighbours_differ() -> None:
    roles = [*without(ROLES, 6, "A"), role(6, "A", 5)]  # worker 5 holds 05 and 06
    colours = worker_colours(GRIDS, roles)
    assert 6 not in colours
    shown = grid_styles(assignment_layers(GRIDS, roles))
    assert shown["05"][1]["fillColor"] == shown["06"][1]["fillColor"] == colours[5]
    fill = [shown[g["properties"]["code"]][1]["fillColor"] for g in GRIDS]
    holder = [5 if n == 6 else n for n in range(1, 10)]
    for i, near in enumerate(adjacency([shape(g["geometry"]) for g in GRIDS])):
        for j in near:
            if holder[i] != holder[j]:
                assert fill[i] != fill[j], (i + 1, j + 1)


def test_colours_are_deterministic_by_worker_id() -> None:
    colours = worker_colours(GRIDS, ROLES)
    assert colours == worker_colours(GRIDS, list(reversed(ROLES)))
    assert all(colours[n] == WORKER_PALETTE[n % len(WORKER_PALETTE)] for n in colours)
    # ids that collide modulo the palette still get distinct colours
    clash = [role(1, "A", 1), {**role(2, "A", 1), "worker": {**WORKERS[1], "id": 1 + 18}}]
    assert len(set(worker_colours(GRIDS, clash).values())) == 2


def test_more_workers_than_colours_keeps_neighbours_apart() -> None:
    n = len(WORKER_PALETTE) + 7
    grids = [
        feature(square(LON + i * STEP, LAT, LON + (i + 1) * STEP, LAT + STEP), id=i, code=str(i))
        for i in range(n)
    ]
    roles = [{"grid_id": i, "role": "A", "worker": {"id": i, "name": str(i)}} for i in range(n)]
    colours = worker_colours(grids, roles)
    assert all(colours[i] != colours[i + 1] for i in range(n - 1))


# --- warnings ---------------------------------------------------------------------------------


def test_unassigned_grid_is_red_hatched_and_labelled() -> None:
    roles = without(ROLES, 5, "A")
    layers = assignment_layers(GRIDS, roles)
    props, style = grid_styles(layers)["05"]
    assert style["fillColor"] == f"url(#{HATCH_ID})" and style["color"] == ALERT_COLOR
    assert props["primary"] == UNASSIGNED_LABEL
    (label,) = [h for h in labels(layers[0]) if h.startswith('<div style="color: ')]
    assert "05" in label and UNASSIGNED_LABEL in label
    legend = [item.label for item in layers[0].legend]
    assert UNASSIGNED_LABEL in legend and NO_BACKUP_LABEL not in legend
    # the hatch pattern the fill refers to is on the page
    html = to_html(assignment_map(COMMUNITY, GRIDS, roles))
    assert f'id="{HATCH_ID}"' in html


def test_grid_without_backup_is_flagged() -> None:
    roles = without(ROLES, 9, "B")
    layers = assignment_layers(GRIDS, roles)
    shown = grid_styles(layers)
    props, style = shown["09"]
    assert props["backup"] == NO_BACKUP_LABEL
    assert style["color"] == ALERT_COLOR and style["dashArray"]
    assert style["fillColor"] == worker_colours(GRIDS, roles)[9]
    assert all(st["color"] != ALERT_COLOR for code, (_, st) in shown.items() if code != "09")
    assert NO_BACKUP_LABEL in [item.label for item in layers[0].legend]


def test_b_worker_who_is_the_grids_own_a_is_no_backup() -> None:
    roles = [*without(ROLES, 9, "B"), role(9, "B", 9)]
    layers = assignment_layers(GRIDS, roles)
    assert grid_styles(layers)["09"][0]["backup"] == NO_BACKUP_LABEL
    assert len(pair_lines(layers)) == len(B_OF) - 1


def test_tooltip_shows_grid_workers_and_households() -> None:
    props, _ = grid_styles(assignment_layers(GRIDS, ROLES))["07"]
    assert props["name"] == "网格7" and props["households"] == 70
    assert props["primary"] == "员7 (女 Female, 6.5 年 yrs)"
    assert props["backup"] == "员8 (男 Male, 7.5 年 yrs) — A of 08"


def test_labels_show_code_and_a_worker() -> None:
    layers = assignment_layers(GRIDS, ROLES)
    shown = labels(layers[0])
    assert len(shown) == 9
    for n, html in zip(range(1, 10), shown, strict=True):
        assert f"{n:02d}<br>" in html and f"员{n}</span>" in html


# --- pairs ------------------------------------------------------------------------------------


def test_one_pair_line_per_b_whose_worker_is_a_somewhere() -> None:
    # worker 10 is B of 03 but A nowhere: no line for that role
    roles = [*ROLES, role(3, "B", 10)]
    lines = pair_lines(assignment_layers(GRIDS, roles))
    assert len(lines) == len(B_OF)
    by_text = {f["properties"]["pair"]: f["geometry"]["coordinates"] for f, _ in lines}
    assert set(by_text) == {f"B of {n:02d}: 员{b} (A of {b:02d})" for n, b in B_OF.items()}
    for n, b in B_OF.items():
        coords = by_text[f"B of {n:02d}: 员{b} (A of {b:02d})"]
        assert coords[0] == rep_point(n) and coords[-1] == rep_point(b)
    # reciprocal pairs bow apart instead of overlapping
    assert by_text["B of 01: 员2 (A of 02)"][5] != by_text["B of 02: 员1 (A of 01)"][-6]


def test_each_line_has_an_arrowhead_in_its_colour() -> None:
    layers = assignment_layers(GRIDS, ROLES)
    arrows = [
        e.options["html"]
        for e in of_type(by_title(layers, PAIRS_TITLE), folium.DivIcon)
        if e.options["class_name"] == "gridline-arrow"
    ]
    colours = [st["color"] for _, st in pair_lines(layers)]
    assert len(arrows) == len(colours)
    assert all(f'fill="{c}"' in a for a, c in zip(arrows, colours, strict=True))


def test_b_worker_holding_two_grids_links_to_the_nearest() -> None:
    # worker 1 holds 01 and 07; as B of 08 the line goes to 07, as B of 02 to 01
    roles = [*without(without(ROLES, 7, "A"), 8, "B"), role(7, "A", 1), role(8, "B", 1)]
    lines = pair_lines(assignment_layers(GRIDS, roles))
    ends = {f["properties"]["pair"]: f["geometry"]["coordinates"][-1] for f, _ in lines}
    assert ends["B of 08: 员1 (A of 07)"] == rep_point(7)
    assert ends["B of 02: 员1 (A of 01)"] == rep_point(1)


def test_mixed_gender_and_mentoring_pairs_are_styled_and_explained() -> None:
    roles = [role(1, "A", 1), role(2, "A", 2), role(3, "A", 9)]
    roles += [role(1, "B", 2), role(2, "B", 4), role(3, "B", 1)]
    roles += [role(4, "A", 4), role(5, "A", 6)]
    # 01 (f, 0.5y) + B 2 (m): mixed; 02 (m) + B 4 (m): same; 03 (f, 8.5y) + B 1 (0.5y): mentoring
    layers = assignment_layers(GRIDS, roles)
    lines = {f["properties"]["pair"][:7]: (f["properties"], st) for f, st in pair_lines(layers)}
    assert lines["B of 01"][1]["color"] == MIXED_GENDER_COLOR
    assert "dashArray" not in lines["B of 01"][1]
    assert lines["B of 02"][1] == PAIR_LINE
    assert lines["B of 03"][1]["color"] == PAIR_LINE["color"]
    assert lines["B of 03"][1]["dashArray"] == MENTORING_DASH
    assert "Mixed-gender" in lines["B of 01"][0]["kind"]
    assert "Mentoring" in lines["B of 03"][0]["kind"]
    legend = [item.label or "" for item in by_title(layers, PAIRS_TITLE).legend]
    assert any("Mixed-gender" in label for label in legend)
    assert any("Mentoring" in label for label in legend)


# --- the map ----------------------------------------------------------------------------------


def test_layer_titles_are_in_the_layer_control_and_legend() -> None:
    m = assignment_map(COMMUNITY, GRIDS, ROLES)
    html = to_html(m)
    assert overlay_names(html) == [PRIMARY_TITLE, "测试社区 Test", PAIRS_TITLE]
    (legend,) = of_type(m, Legend)
    assert PRIMARY_TITLE in legend.body and PAIRS_TITLE in legend.body
    assert html.lstrip().startswith("<!DOCTYPE html>")


def test_names_are_escaped() -> None:
    evil = "<script>alert(1)</script>`${alert(2)}`"
    roles = copy.deepcopy(ROLES)
    for r in roles:
        if r["worker"]["id"] == 4:
            r["worker"]["name"] = evil
    grids = copy.deepcopy(GRIDS)
    grids[0]["properties"]["code"] = "<b>01</b>"
    layers = assignment_layers(grids, roles)
    shown = grid_styles(layers)
    assert "&lt;b&gt;01&lt;/b&gt;" in shown
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in shown["04"][0]["primary"]
    assert "&lt;script&gt;" in shown["05"][0]["backup"]
    assert any("&lt;script&gt;" in h for h in labels(layers[0]))
    assert any("&lt;script&gt;" in f["properties"]["pair"] for f, _ in pair_lines(layers))
    html = to_html(assignment_map(COMMUNITY, grids, roles))
    assert "<script>alert" not in html and "<b>01" not in html
    # folium.Tooltip would put its text, unescaped, into a JavaScript template literal
    assert of_type(assignment_map(COMMUNITY, grids, roles), folium.Tooltip) == []


def test_empty_roles_and_grids_do_not_break() -> None:
    layers = assignment_layers(GRIDS, [])
    shown = grid_styles(layers)
    assert all(st["fillColor"] == f"url(#{HATCH_ID})" for _, st in shown.values())
    assert all(p["primary"] == UNASSIGNED_LABEL for p, _ in shown.values())
    assert by_title(layers, PAIRS_TITLE).is_empty()
    assert worker_colours(GRIDS, []) == {}
    html = to_html(assignment_map(COMMUNITY, GRIDS, []))
    assert overlay_names(html) == [PRIMARY_TITLE, "测试社区 Test"]
    html = to_html(assignment_map(COMMUNITY, [], []))
    assert overlay_names(html) == ["测试社区 Test"]


def test_odd_roles_are_ignored_and_inputs_not_modified() -> None:
    roles = [
        *ROLES,
        {"grid_id": 999, "role": "A", "worker": WORKERS[10]},  # unknown grid
        {"grid_id": 101, "role": "C", "worker": WORKERS[10]},  # unknown role
        {"grid_id": 101, "role": "B", "worker": None},  # no worker
        role(1, "B", 2),  # a repeat
    ]
    grids = [*GRIDS, feature(None, id=200, code="lost")]
    before = copy.deepcopy((grids, roles))
    layers = assignment_layers(grids, roles)
    assert (grids, roles) == before
    assert len(pair_lines(layers)) == len(B_OF)
    assert set(grid_styles(layers)) == {f"{n:02d}" for n in range(1, 10)}


def test_map_needs_a_community_geometry() -> None:
    with pytest.raises(ValueError):
        assignment_map(feature(None), GRIDS, ROLES)
