"""The painting crew's drawings: DXF layers, counts and coordinates; SVG scale and content."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from itertools import pairwise

import ezdxf
import pytest
from ezdxf import recover
from ezdxf.document import Drawing
from shapely.geometry import LineString, Point, Polygon

from geo.parking.drawings import LAYER_COLORS, layout_dxf, site_plan_svg, stall_layer
from geo.parking.model import Bay, BayKind, Layout, Road, Site, Stall, StallKind

ORIGIN = (500_000.0, 3_400_000.0)
"""A projected CRS's big numbers: the DXF must keep them as given."""
TITLE = '幸福里小区 停车划线 <一期> & "A" {1}\\2'
SVG = "{http://www.w3.org/2000/svg}"


def _xy(x: float, y: float) -> tuple[float, float]:
    return ORIGIN[0] + x, ORIGIN[1] + y


def _line(*points: tuple[float, float]) -> LineString:
    return LineString([_xy(x, y) for x, y in points])


def _box(x0: float, y0: float, x1: float, y1: float) -> Polygon:
    return Polygon([_xy(x0, y0), _xy(x1, y0), _xy(x1, y1), _xy(x0, y1)])


def _site() -> Site:
    return Site(
        boundary=_box(-5, -12, 65, 40),
        buildings=[_box(10, 25, 30, 35)],
        green=[_box(40, 25, 55, 35)],
        roads=[
            Road(_line((0, 0), (60, 0)), 6.0, name="main"),
            Road(_line((0, 20), (60, 20)), 4.0, kind="fire_lane", name="fire"),
        ],
        hydrants=[Point(_xy(30, 12))],
        gates=[Point(_xy(-5, 0))],
    )


def _layout() -> Layout:
    """10 perpendicular stalls north of the road, an accessible and 2 angled ones south of it
    (the second angled one without painted lines), and an e-bike bay."""
    stalls = []
    for i in range(10):
        x = 2 + 2.5 * i
        lines = [_line((x, 3), (x, 8.3))]
        if i == 9:
            lines = [_line((x, 3), (x, 8.3), (x + 2.5, 8.3), (x + 2.5, 3))]
        stalls.append(
            Stall(
                i + 1,
                StallKind.PERPENDICULAR,
                _box(x, 3, x + 2.5, 8.3),
                lines,
                front=_line((x, 3), (x + 2.5, 3)),
            )
        )
    stalls.append(
        Stall(
            11,
            StallKind.PERPENDICULAR,
            _box(10, -8.3, 13.5, -3),
            [_line((10, -3), (10, -8.3)), _line((13.5, -3), (13.5, -8.3))],
            accessible=True,
            front=_line((10, -3), (13.5, -3)),
        )
    )
    pitch, depth, slant = 2.5 / 0.8660254, 5.3 * 0.8660254, 5.3 * 0.5
    for n, x in ((12, 20.0), (13, 20.0 + pitch)):
        corners = [
            (x, -3),
            (x + pitch, -3),
            (x + pitch + slant, -3 - depth),
            (x + slant, -3 - depth),
        ]
        lines = [_line(corners[0], corners[3]), _line(corners[1], corners[2])] if n == 12 else []
        stalls.append(
            Stall(n, StallKind.ANGLE_60, Polygon([_xy(*c) for c in corners]), lines, angle=60.0)
        )
    bay = _box(40, 8, 56, 10)
    return Layout(stalls, bays=[Bay(1, BayKind.EBIKE, bay, 20, [LineString(bay.exterior.coords)])])


def _read(data: bytes) -> Drawing:
    return ezdxf.read(io.StringIO(data.decode("utf-8")))


def _flat(points: Iterable[Iterable[float]]) -> list[float]:
    """Coordinates of some points in one list, for ``pytest.approx``."""
    return [v for point in points for v in point]


def _segments(lines: list[LineString]) -> list[float]:
    """Start and end coordinates of every segment of some lines, flat."""
    return _flat(p for line in lines for pair in pairwise(line.coords) for p in pair)


def test_dxf_reads_back_in_metres() -> None:
    data = layout_dxf(_layout(), _site(), title=TITLE, crs="CGCS2000 / 3-degree GK CM 117E")
    doc = _read(data)
    assert doc.dxfversion == "AC1024"
    assert doc.units == ezdxf.units.M
    assert doc.header["$INSUNITS"] == 6 and doc.header["$MEASUREMENT"] == 1
    _, auditor = recover.read(io.BytesIO(data))
    assert not auditor.has_errors


def test_dxf_one_closed_outline_per_stall_at_its_coordinates() -> None:
    layout = _layout()
    outlines = _read(layout_dxf(layout, _site())).modelspace().query('*[layer=="STALL_OUTLINES"]')
    assert len(outlines) == len(layout.stalls)
    for outline, stall in zip(outlines, layout.stalls, strict=True):
        assert outline.dxftype() == "LWPOLYLINE" and outline.closed
        assert _flat(outline.get_points("xy")) == pytest.approx(
            _flat(stall.polygon.exterior.coords[:-1])
        )


def test_dxf_numbers_at_centroids_read_from_the_aisle() -> None:
    layout = _layout()
    texts = _read(layout_dxf(layout, _site())).modelspace().query('TEXT[layer=="STALL_NUMBERS"]')
    assert [int(t.dxf.text) for t in texts] == [s.number for s in layout.stalls]
    for text, stall in zip(texts, layout.stalls, strict=True):
        centroid = stall.polygon.centroid
        assert tuple(text.dxf.align_point)[:2] == pytest.approx((centroid.x, centroid.y))
        assert text.dxf.height == pytest.approx(0.6)
    rotation = {int(t.dxf.text): t.dxf.rotation for t in texts}
    assert rotation[1] == pytest.approx(0.0)  # aisle to the south
    assert rotation[11] == pytest.approx(180.0)  # aisle to the north
    assert rotation[13] == pytest.approx(0.0)  # no front: upright


def test_dxf_painted_lines_on_their_kind_layers() -> None:
    layout = _layout()
    msp = _read(layout_dxf(layout, _site())).modelspace()
    layers = {stall_layer(s) for s in layout.stalls}
    assert layers == {"STALL_PERPENDICULAR", "STALL_ANGLE_60", "STALL_ACCESSIBLE"}
    for layer in layers:
        expected = _segments(
            [line for s in layout.stalls if stall_layer(s) == layer for line in s.lines]
        )
        lines = msp.query(f'LINE[layer=="{layer}"]')
        assert len(lines) * 4 == len(expected)
        got = _flat((p.x, p.y) for line in lines for p in (line.dxf.start, line.dxf.end))
        assert got == pytest.approx(expected)
    assert len(msp.query('LINE[layer=="STALL_PERPENDICULAR"]')) == 9 + 3
    unpainted = msp.query('LWPOLYLINE[layer=="STALL_ANGLE_60"]')
    assert len(unpainted) == 1
    assert _flat(unpainted[0].get_points("xy")) == pytest.approx(
        _flat(layout.stalls[-1].polygon.exterior.coords[:-1])
    )


def test_dxf_site_bays_and_distinct_layer_colours() -> None:
    site, layout = _site(), _layout()
    doc = _read(layout_dxf(layout, site))
    msp = doc.modelspace()
    hatches = msp.query('HATCH[layer=="SITE_FIRE_LANE"]')
    assert len(hatches) == 1 and hatches[0].dxf.pattern_name == "ANSI31"
    xs, ys, _ = zip(*hatches[0].paths[0].vertices, strict=True)  # x, y, bulge
    assert (min(xs), max(xs)) == pytest.approx((ORIGIN[0], ORIGIN[0] + 60))
    assert (min(ys), max(ys)) == pytest.approx((ORIGIN[1] + 18, ORIGIN[1] + 22))
    (hydrant,) = msp.query('CIRCLE[layer=="SITE_HYDRANTS"]')
    assert tuple(hydrant.dxf.center)[:2] == pytest.approx(_xy(30, 12))
    assert len(msp.query('LWPOLYLINE[layer=="SITE_GATES"]')) == 1
    assert len(msp.query('LWPOLYLINE[layer=="SITE_ROADS"]')) == 2
    assert len(msp.query('LWPOLYLINE[layer=="SITE_CARRIAGEWAY"]')) == 2
    assert len(msp.query('LWPOLYLINE[layer=="SITE_BOUNDARY"]')) == 1
    assert len(msp.query('LWPOLYLINE[layer=="SITE_BUILDINGS"]')) == 1
    assert len(msp.query('LINE[layer=="NONMOTOR"]')) == 4
    assert [t.dxf.text for t in msp.query('TEXT[layer=="NONMOTOR"]')] == ["ebike x20"]
    colours = [doc.layers.get(name).color for name in LAYER_COLORS]
    assert len(set(colours)) == len(colours)


def test_dxf_title_block() -> None:
    layout = _layout()
    msp = _read(layout_dxf(layout, _site(), title=TITLE, crs="EPSG:4547")).modelspace()
    (mtext,) = msp.query('MTEXT[layer=="TITLE"]')
    lines = mtext.plain_text().split("\n")
    assert lines[:2] == [TITLE, "CRS: EPSG:4547"]
    assert "Stalls: 13 (perpendicular 11, angle_60 2)" in lines
    assert "Accessible: 1" in lines
    assert f"Painted lines: {layout.painted_m:.1f} m" in lines


def _svg(scale: int = 500) -> ET.Element:
    return ET.fromstring(site_plan_svg(_layout(), _site(), title=TITLE, scale=scale))


def _mm(value: str) -> float:
    return float(value.removesuffix("mm"))


@pytest.mark.parametrize("scale", [500, 1000, 200])
def test_svg_paper_is_true_scale(scale: int) -> None:
    root = _svg(scale)
    width, height = _mm(root.get("width", "")), _mm(root.get("height", ""))
    assert width == pytest.approx(70 * 1000 / scale + 2 * 10, abs=0.01)
    assert [float(v) for v in root.get("viewBox", "").split()] == pytest.approx(
        [0, 0, width, height]
    )
    bar = root.find(f".//{SVG}g[@id='scale-bar']")
    assert bar is not None
    metres = float(bar.get("data-metres", ""))
    length = sum(float(r.get("width", "")) for r in bar.iter(f"{SVG}rect"))
    assert length == pytest.approx(metres * 1000 / scale)
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert f"{metres:g} m" in texts
    assert f"1:{scale}" in texts


def test_svg_north_arrow_points_up() -> None:
    arrow = _svg().find(f".//{SVG}g[@id='north-arrow']")
    assert arrow is not None
    assert [t.text for t in arrow.iter(f"{SVG}text")] == ["N"]
    for polygon in arrow.iter(f"{SVG}polygon"):
        tip, *rest = [tuple(map(float, p.split(","))) for p in polygon.get("points", "").split()]
        assert all(tip[1] < y for _, y in rest)


def _first_point(element: ET.Element) -> tuple[float, float]:
    x, y = re.match(r"M(\S+) (\S+)", element.get("d", "")).groups()  # type: ignore[union-attr]
    return float(x), float(y)


def test_svg_one_path_per_stall_north_up() -> None:
    root, layout = _svg(), _layout()
    paths = {int(e.get("data-stall", "")): e for e in root.iter() if "data-stall" in e.attrib}
    assert len([e for e in root.iter() if "data-stall" in e.attrib]) == len(layout.stalls)
    assert sorted(paths) == [s.number for s in layout.stalls]
    x1, y1 = _first_point(paths[1])
    x2, _ = _first_point(paths[2])
    _, y11 = _first_point(paths[11])
    assert x1 == pytest.approx(10 + (2 - -5) * 2)  # margin + metres from the west edge x 2 mm
    assert x2 - x1 == pytest.approx(2.5 * 2)
    assert y11 - y1 == pytest.approx((3 - -8.3) * 2)  # south-west corners: stall 1 is north
    numbers = [e for e in root.iter(f"{SVG}text") if e.get("class") == "stall-number"]
    assert [int(e.text or "") for e in numbers] == [s.number for s in layout.stalls]
    assert [float(e.get("font-size", "")) for e in numbers] == [1.6] * len(numbers)  # 0.8 m
    markers = [e for e in root.iter(f"{SVG}g") if e.get("class") == "accessible-marker"]
    assert len(markers) == 1


def test_svg_site_features() -> None:
    root = _svg()
    classes = [e.get("class") for e in root.iter(f"{SVG}path")]
    assert classes.count("building") == 1 and classes.count("green") == 1
    (lane,) = [e for e in root.iter(f"{SVG}path") if e.get("class") == "fire-lane"]
    pattern = root.find(f".//{SVG}pattern")
    assert pattern is not None and lane.get("fill") == f"url(#{pattern.get('id')})"
    hydrants = [e for e in root.iter(f"{SVG}circle") if e.get("class") == "hydrant"]
    assert len(hydrants) == 1 and hydrants[0].get("fill") == "#d62728"
    assert [e.get("data-bay") for e in root.iter() if "data-bay" in e.attrib] == ["1"]
    legend = root.find(f".//{SVG}g[@id='legend']")
    assert legend is not None
    assert "Stalls: 13 (perpendicular 11, angle_60 2)" in [
        t.text for t in legend.iter(f"{SVG}text")
    ]


def test_svg_escapes_a_chinese_title() -> None:
    text = site_plan_svg(_layout(), _site(), title=TITLE)
    assert "幸福里小区 停车划线 &lt;一期&gt; &amp;" in text
    root = ET.fromstring(text)
    title = root.find(f".//{SVG}text[@id='title']")
    assert title is not None and title.text == TITLE
    assert "Noto Sans CJK SC" in root.get("font-family", "")
    assert root.get("font-family", "").endswith("sans-serif")


def test_empty_layout_still_draws_the_site() -> None:
    site = _site()
    msp = _read(layout_dxf(Layout([]), site)).modelspace()
    assert len(msp.query('*[layer=="STALL_OUTLINES"]')) == 0
    root = ET.fromstring(site_plan_svg(Layout([]), site))
    assert _mm(root.get("width", "")) == pytest.approx(70 * 2 + 20, abs=0.01)
