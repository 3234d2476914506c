"""Deterministic demo data modelled on 蒲江社区 (Pujiang), 蒲州街道 (Puzhou), 龙湾区, Wenzhou.

Pure Python (shapely 2, numpy, pyproj), no database. Everything is laid out in a local metric
frame (UTM 51N, EPSG:32651) and emitted as RFC 7946 GeoJSON Features in WGS84 lon/lat, rounded to
1e-7 degree, polygons counter-clockwise. The administrative codes (district 330303, street
330303003, community 330303003001) follow the usual 6+3+3 pattern but are illustrative, not
official. Apart from 蒲江社区, 蒲州街道, 龙湾区, 留香园, 和家锦园, 江前里 and 章微琳
(from the source report), names are invented.

Grids tile their community exactly: the cut lines (community streets and the lanes that split
blocks) are transformed to lon/lat, noded together with snap-rounding and polygonized, so
neighbouring grids share every vertex including T-junctions; the community polygon is the union
of the grids. All randomness comes from ``random.Random`` seeded per community, so the same seed
and ``today`` give identical output and community 1 of N equals the N=1 demo.
"""

from __future__ import annotations

import datetime
import functools
import itertools
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pyproj
import shapely
from shapely.geometry import LineString, MultiPoint, MultiPolygon, Point, Polygon, box

GRID_SIZE = 1e-7
"""Coordinate precision of every output geometry, in degrees."""
METRIC_CRS = "EPSG:32651"
ORIGIN_LONLAT = (120.72, 27.97)
"""Centre of the first community (Longwan district, Wenzhou)."""
PITCH_M = 1250.0
"""Centre-to-centre spacing of communities when several are generated."""
STREET_MARGIN_M = 250.0
"""Extra street area beyond the outermost communities."""
DISTRICT_MARGIN_M = 1000.0
COMMUNITIES_PER_STREET = 20
DISTRICT_CODE = "330303"
DISTRICT_NAME = "龙湾区"
FIRST_STREET_NUMBER = 3
COMPOUND_SETBACK_M = 18.0
"""Distance kept between a compound and the edge of its grid (street half width plus a verge)."""
OFFICE_OFFSET_M = 13.0
"""The community office stands this far east and south of the crossing of the first streets."""
SHOP_SETBACK_M = 5.0
"""Distance from the kerb to a shop's door."""
GRID_ROWS = 3
GRID_COLS = 3
COMPOUNDS_PER_COMMUNITY = 10

_STREET_NAMES = ("蒲州", "永中", "海滨", "海城", "状元", "瑶溪", "沙城", "天河", "星海", "灵昆")
_PLACE_CHARS_A = "江蒲永海瑶沙天星灵滨兴安宁和康乐华新东南西北明锦龙瓯春"
_PLACE_CHARS_B = "江湾城港苑园洲桥浦塘岙垟屿阳丰盛泰源田湖溪"
_COMPOUND_POOL = (
    "蒲江新村",
    "蒲州花苑",
    "江滨公寓",
    "龙湾嘉园",
    "永宁小区",
    "滨江花园",
    "金蒲苑",
    "东方锦苑",
    "新城家园",
    "江南春晓",
    "阳光华庭",
    "和美公寓",
    "安居苑",
    "锦绣里",
    "兴龙小区",
    "望江苑",
    "海晏公寓",
    "瑞丰小区",
    "春晖园",
    "康宁新村",
)
_SURNAMES = "陈林王黄张李周郑吴徐潘叶金胡朱谢杨刘戴郭邵蔡池项卢董孙何季章钱包邱倪鲍薛应夏姜滕"
_FEMALE_CHARS = "微琳婷丽静慧颖佳雪芳燕蕾倩洁敏晓雅瑶琪欣怡璐丹萍莉娜露思梦婉"
_MALE_CHARS = "伟杰浩明强磊俊涛斌鹏海军晨宇峰超勇辉健飞凯毅楠志文剑锋华东诚"
_NUMERALS = "一二三四五六七八九十"
_TREES = ("香樟", "桂花", "榕树", "银杏", "广玉兰")
_SHOPS = ("餐馆", "早餐店", "小吃店", "便利店", "水果店", "面馆", "药店", "理发店")


@dataclass
class DemoCommunity:
    """One generated community; every geometry is a GeoJSON Feature in lon/lat.

    ``community`` is a MultiPolygon ({"code", "name"}); ``grids`` Polygons ({"code", "name",
    "households", "population", "note"}); ``compounds`` Polygons ({"name",
    "has_property_management", "year_built", "households", "population"}); ``buildings``
    Polygons ({"name", "floors", "units", "entrances", "compound"}); ``roads`` LineStrings
    ({"name", "kind", "width_m"}); ``site_features`` Points or Polygons ({"kind", "name"});
    ``workers`` plain dicts ({"name", "gender", "role", "hire_date", "phone"}).
    """

    street_code: str
    community: dict
    grids: list[dict] = field(default_factory=list)
    compounds: list[dict] = field(default_factory=list)
    buildings: list[dict] = field(default_factory=list)
    roads: list[dict] = field(default_factory=list)
    site_features: list[dict] = field(default_factory=list)
    workers: list[dict] = field(default_factory=list)


@dataclass
class DemoData:
    """A district, its streets and the generated communities (features in lon/lat)."""

    district: dict
    streets: list[dict]
    communities: list[DemoCommunity]


@dataclass
class _Cut:
    """A straight cut line of the grid layout (metric), later also a road."""

    line: LineString
    kind: str  # "street" between blocks, "lane" inside a block
    name: str
    width_m: float


@dataclass
class _CompoundSpec:
    name: str
    year_built: int
    has_property_management: bool
    modern: bool
    green: bool


@dataclass
class _Pending:
    """A feature awaiting its lon/lat geometry."""

    target: str
    geom: shapely.Geometry
    props: dict
    entrances: MultiPoint | None = None


@functools.cache
def _transformers() -> tuple[pyproj.Transformer, pyproj.Transformer]:
    fwd = pyproj.Transformer.from_crs(METRIC_CRS, "EPSG:4326", always_xy=True)
    inv = pyproj.Transformer.from_crs("EPSG:4326", METRIC_CRS, always_xy=True)
    return fwd, inv


def _to_lonlat(coords: np.ndarray) -> np.ndarray:
    x, y = _transformers()[0].transform(coords[:, 0], coords[:, 1])
    return np.round(np.column_stack([x, y]), 7)


def _to_metric(coords: np.ndarray) -> np.ndarray:
    x, y = _transformers()[1].transform(coords[:, 0], coords[:, 1])
    return np.column_stack([x, y])


def _apply(geoms: list, func: Callable[[np.ndarray], np.ndarray]) -> list:
    """Transform many geometries with one vectorised call."""
    arr = np.empty(len(geoms), dtype=object)
    arr[:] = geoms
    return list(shapely.transform(arr, func))


def _ccw(geoms: list) -> list:
    arr = np.empty(len(geoms), dtype=object)
    arr[:] = geoms
    return list(shapely.orient_polygons(arr, exterior_cw=False))


def _geojson(geom: shapely.Geometry) -> dict:
    """RFC 7946 geometry object of a shapely geometry (coordinates already rounded)."""
    kind = geom.geom_type
    if kind == "Point":
        return {"type": "Point", "coordinates": [geom.x, geom.y]}
    if kind == "LineString":
        return {"type": kind, "coordinates": shapely.get_coordinates(geom).tolist()}
    if kind == "Polygon":
        return {"type": kind, "coordinates": _rings(geom)}
    if kind == "MultiPolygon":
        return {"type": kind, "coordinates": [_rings(p) for p in geom.geoms]}
    raise ValueError(f"unsupported geometry {kind}")


def _rings(poly: Polygon) -> list[list[list[float]]]:
    rings = [poly.exterior, *poly.interiors]
    return [shapely.get_coordinates(r).tolist() for r in rings]


def _feature(geom: shapely.Geometry, props: dict) -> dict:
    return {"type": "Feature", "geometry": _geojson(geom), "properties": props}


def _multi(geom: shapely.Geometry) -> MultiPolygon:
    return geom if isinstance(geom, MultiPolygon) else MultiPolygon([geom])


def _numeral(n: int) -> str:
    """Chinese numeral for 1..99 (一, 十二, 二十三)."""
    tens, ones = divmod(n, 10)
    head = "" if tens == 0 else ("十" if tens == 1 else _NUMERALS[tens - 1] + "十")
    return head + (_NUMERALS[ones - 1] if ones else "")


def _place_name(rng: random.Random, taken: set[str]) -> str:
    """A place name not yet in ``taken``: two characters, longer once those run short."""
    for attempt in itertools.count():
        name = rng.choice(_PLACE_CHARS_A) + rng.choice(_PLACE_CHARS_B)
        if attempt >= 50:
            name = rng.choice(_PLACE_CHARS_A) + name
        if attempt >= 200:
            name += _numeral(attempt % 99 + 1)
        if name not in taken:
            taken.add(name)
            return name


# --------------------------------------------------------------------------- grid layout


def _frame(
    rng: random.Random, cx: float, cy: float, prefix: str, first: bool
) -> tuple[Polygon, list[float], list[float], dict[tuple[int, int], str], list[_Cut]]:
    """Community outline and cut lines (metric) around centre (cx, cy).

    Returns the outline, block edges ``xs`` (west to east) and ``ys`` (north to south), the
    split direction of each block ("v": north-south lanes, "h": east-west lanes) and the cuts.
    """
    w, h = rng.uniform(1060.0, 1100.0), rng.uniform(980.0, 1010.0)
    a, b = rng.uniform(260.0, 300.0), rng.uniform(230.0, 270.0)
    x0, x1, y0, y1 = cx - w / 2, cx + w / 2, cy - h / 2, cy + h / 2
    # South-east corner cut along a river bank, with a slight bend.
    bend = rng.uniform(-15.0, 15.0) / math.hypot(a, b)
    mid = (x1 - a / 2 + bend * b, y0 + b / 2 - bend * a)
    outline = Polygon([(x0, y0), (x1 - a, y0), mid, (x1, y0 + b), (x1, y1), (x0, y1)])
    clip = outline.buffer(3.0, join_style="mitre")

    xs = [x0, x0 + w / 3 + rng.uniform(-20, 20), x0 + 2 * w / 3 + rng.uniform(-20, 20), x1]
    ys = [y1, y1 - h / 3 + rng.uniform(-20, 20), y1 - 2 * h / 3 + rng.uniform(-15, 15), y0]
    if first:
        ns_names, ew_names = ("蒲江路", "留香路"), ("蒲州东路", "江前路")
    else:
        ns_names, ew_names = (f"{prefix}路", f"{prefix}中路"), (f"{prefix}北路", f"{prefix}南路")

    def clipped(coords: list[tuple[float, float]]) -> LineString:
        line = LineString(coords).intersection(clip)
        if not isinstance(line, LineString):
            raise RuntimeError("cut line must clip to a single segment")
        return line

    cuts: list[_Cut] = []
    for x, name in zip(xs[1:3], ns_names, strict=True):
        width = rng.choice((12.0, 14.0, 16.0, 18.0, 20.0))
        cuts.append(_Cut(clipped([(x, y0 - 50), (x, y1 + 50)]), "street", name, width))
    for y, name in zip(ys[1:3], ew_names, strict=True):
        width = rng.choice((12.0, 14.0, 16.0, 18.0, 20.0))
        cuts.append(_Cut(clipped([(x0 - 50, y), (x1 + 50, y)]), "street", name, width))

    three_parts = set(rng.sample(range(GRID_ROWS * GRID_COLS), 3))
    splits: dict[tuple[int, int], str] = {}
    lane_no = 0
    for r in range(GRID_ROWS):
        for c in range(GRID_COLS):
            parts = 3 if r * GRID_COLS + c in three_parts else 2
            direction = rng.choice("vh")
            splits[r, c] = direction
            # Lanes stop 1 m past a street (a dangle, dropped later) or run far past the outline.
            west = xs[c] - (1.0 if c > 0 else 60.0)
            east = xs[c + 1] + (1.0 if c < GRID_COLS - 1 else 60.0)
            north = ys[r] + (1.0 if r > 0 else 60.0)
            south = ys[r + 1] - (1.0 if r < GRID_ROWS - 1 else 60.0)
            for k in range(1, parts):
                t = k / parts + rng.uniform(-0.04, 0.04)
                lane_no += 1
                name = f"{prefix}{_numeral(lane_no)}巷"
                width = rng.choice((5.0, 6.0, 7.0))
                if direction == "v":
                    x = xs[c] + t * (xs[c + 1] - xs[c])
                    line = clipped([(x, south), (x, north)])
                else:
                    y = ys[r] + t * (ys[r + 1] - ys[r])
                    line = clipped([(west, y), (east, y)])
                cuts.append(_Cut(line, "lane", name, width))
    return outline, xs, ys, splits, cuts


def _tile(outline: Polygon, cuts: list[_Cut]) -> tuple[list[Polygon], list[LineString]]:
    """Node the cut lines in lon/lat and polygonize them.

    Returns the faces (lon/lat) and the lon/lat line of each cut rebuilt from the noded edges
    without dangles (so it ends on the outline and shares the grids' vertices).
    """
    lines = [LineString(outline.exterior.coords)] + [c.line for c in cuts]
    lonlat = _apply(lines, _to_lonlat)
    noded = shapely.unary_union(np.array(lonlat, dtype=object), grid_size=GRID_SIZE)
    edges = shapely.get_parts(noded)
    faces, _, dangles, invalid = shapely.polygonize_full(edges)
    if not invalid.is_empty:
        raise RuntimeError("polygonize found invalid rings")
    dangle_keys = set(shapely.to_wkb(shapely.normalize(shapely.get_parts(dangles))))
    keep = ~np.isin(shapely.to_wkb(shapely.normalize(edges)), list(dangle_keys))
    mids = shapely.line_interpolate_point(edges, 0.5, normalized=True)
    cut_lines: list[LineString] = []
    for line in lonlat[1:]:
        near = (shapely.distance(mids, line) < 1e-6) & keep
        merged = shapely.line_merge(shapely.multilinestrings(edges[near]))
        if not isinstance(merged, LineString):
            raise RuntimeError("a cut line did not merge into one line")
        cut_lines.append(merged)
    return list(shapely.get_parts(faces)), cut_lines


# --------------------------------------------------------------------------- compounds


def _compound_specs(rng: random.Random, first: bool) -> list[_CompoundSpec]:
    """Names, ages and management of the compounds of a community (old ones mostly 无物业)."""
    greens = set(rng.sample(range(COMPOUNDS_PER_COMMUNITY), rng.randint(4, 7)))
    if first:
        pool = rng.sample(_COMPOUND_POOL, COMPOUNDS_PER_COMMUNITY - 3)
        names = ["留香园", "和家锦园", "江前里", *pool]
        ages = ["new", "1990s", "oldest", "old", "old", "old", "old", "mid", "new", "new"]
    else:
        names = rng.sample(_COMPOUND_POOL, COMPOUNDS_PER_COMMUNITY)
        ages = ["new", "1990s", "oldest", "old", "old", "old", "old", "mid", "new", "new"]
        rng.shuffle(ages)
    specs = []
    for i, (name, age) in enumerate(zip(names, ages, strict=True)):
        if age == "new":
            year, pm = rng.randint(2005, 2015), True
        elif age == "mid":
            year, pm = rng.randint(1999, 2004), rng.random() < 0.5
        elif age == "1990s":
            year, pm = rng.randint(1993, 1998), False
        elif age == "oldest":
            year, pm = rng.randint(1988, 1991), False
        else:
            year, pm = rng.randint(1988, 2000), False
        specs.append(_CompoundSpec(name, year, pm, age == "new", i in greens))
    return specs


def _plan_compound(
    rng: random.Random, spec: _CompoundSpec, avail: shapely.Geometry
) -> list[_Pending] | None:
    """Lay out one compound inside ``avail`` (metric); None if it does not fit.

    South-facing east-west slabs in rows, a north-south main road from the south gate, lanes
    between rows, an L-shaped fire lane along the south and east sides, hydrants beside the main
    road, a keep-clear zone inside the gate and green areas in empty slots.
    """
    if spec.modern:
        floor_range, units = (11, 18), rng.choice((2, 2, 3))
        depth, gap = rng.uniform(12.0, 14.0), rng.uniform(22.0, 25.0)
        budget = rng.randint(200, 320)
    else:
        floor_range, units = (5, 7), rng.choice((2, 3, 3, 4))
        depth, gap = rng.uniform(10.0, 12.0), rng.uniform(20.0, 23.0)
        budget = rng.randint(180, 300)
    length = min(59.0, max(31.0, units * rng.uniform(14.5, 15.5)))
    bgap = rng.uniform(10.0, 14.0)
    w_main = rng.choice((5.0, 5.5, 6.0, 6.5, 7.0))
    w_lane = rng.choice((3.0, 3.5, 4.0))
    w_fire = rng.choice((4.0, 4.5))
    floors = [rng.randint(*floor_range) for _ in range(64)]
    wanted, households = 0, 0
    while households < budget:
        households += floors[wanted] * units * 2
        wanted += 1
    south, north = 18.0, 8.0

    def band(cols: int) -> float:
        return 0.0 if cols == 0 else cols * length + (cols - 1) * bgap

    minx, miny, maxx, maxy = avail.bounds
    for n_build in range(wanted, 0, -1):
        for cw, ce in ((2, 2), (1, 2), (1, 1), (0, 2), (0, 1)):
            rows = math.ceil((n_build + spec.green) / (cw + ce))
            width = 4.0 + band(cw) + (3.0 if cw else 0.0) + w_main + 3.0 + band(ce) + 3.0
            width += w_fire + 2.0
            height = south + rows * depth + (rows - 1) * gap + north
            if width > maxx - minx or height > maxy - miny:
                continue
            anchors = [
                (minx, miny),
                (maxx - width, miny),
                (minx, maxy - height),
                (maxx - width, maxy - height),
                ((minx + maxx - width) / 2, (miny + maxy - height) / 2),
            ]
            rng.shuffle(anchors)
            for ax, ay in anchors:
                if box(ax, ay, ax + width, ay + height).within(avail):
                    layout = (cw, ce, rows, n_build, width, height, ax, ay)
                    dims = (length, depth, gap, bgap, w_main, w_lane, w_fire, units)
                    return _build_compound(rng, spec, layout, dims, floors)
    return None


def _build_compound(
    rng: random.Random,
    spec: _CompoundSpec,
    layout: tuple[int, int, int, int, float, float, float, float],
    dims: tuple[float, float, float, float, float, float, float, int],
    floors: list[int],
) -> list[_Pending]:
    """Geometry and attributes of a compound whose layout has been chosen (metric)."""
    cw, ce, rows, n_build, width, height, ax, ay = layout
    length, depth, gap, bgap, w_main, w_lane, w_fire, units = dims
    name = spec.name
    south = 18.0
    x_main = ax + 4.0 + (cw * length + (cw - 1) * bgap + 3.0 if cw else 0.0) + w_main / 2
    x_east = x_main + w_main / 2 + 3.0
    x_fire = ax + width - 2.0 - w_fire / 2
    row_y = [ay + south + k * (depth + gap) for k in range(rows)]

    slots: list[tuple[float, float]] = []
    for y in row_y:
        slots += [(ax + 4.0 + j * (length + bgap), y) for j in range(cw)]
        slots += [(x_east + j * (length + bgap), y) for j in range(ce)]
    green_slots = set(rng.sample(range(len(slots)), len(slots) - n_build))

    out: list[_Pending] = []
    households = 0
    number = 0
    green_no = 0
    for i, (sx, sy) in enumerate(slots):
        if i in green_slots:
            green_no += 1
            out.append(
                _Pending(
                    "site_features",
                    box(sx - 1.0, sy - 1.0, sx + length + 1.0, sy + depth + 1.0),
                    {"kind": "green_area", "name": f"{name}绿地{green_no}"},
                )
            )
            for t in range(rng.randint(2, 4)):
                tree = Point(
                    sx + 2.0 + rng.random() * (length - 4.0),
                    sy + 2.0 + rng.random() * (depth - 4.0),
                )
                species = rng.choice(_TREES)
                out.append(
                    _Pending(
                        "site_features", tree, {"kind": "tree", "name": f"{name}{species}{t + 1}"}
                    )
                )
            continue
        fl = floors[number]
        number += 1
        households += fl * units * 2
        entrances = MultiPoint([(sx + length * (u + 0.5) / units, sy - 0.5) for u in range(units)])
        props = {"name": f"{number}幢", "floors": fl, "units": units, "compound": name}
        out.append(
            _Pending("buildings", box(sx, sy, sx + length, sy + depth), props, entrances=entrances)
        )

    lane_y = [y + depth + gap / 2 for y in row_y[:-1]]
    roads = [
        (LineString([(x_main, ay), (x_main, ay + height - 6.0)]), "主路", "internal_road", w_main),
        (
            LineString([(x_main, ay + 11.0), (x_fire, ay + 11.0), (x_fire, ay + height - 4.0)]),
            "消防通道",
            "fire_lane",
            w_fire,
        ),
    ]
    west_end = ax + 3.0 if cw else x_main
    for k, y in enumerate(lane_y):
        roads.append(
            (LineString([(west_end, y), (x_fire, y)]), f"{k + 1}号支路", "internal_road", w_lane)
        )
    for line, suffix, kind, w in roads:
        out.append(_Pending("roads", line, {"name": f"{name}{suffix}", "kind": kind, "width_m": w}))

    out.append(
        _Pending("site_features", Point(x_main, ay), {"kind": "gate", "name": f"{name}南门"})
    )
    out.append(
        _Pending(
            "site_features",
            box(x_main - 5.0, ay + 0.5, x_main + 5.0, ay + 8.5),
            {"kind": "keep_clear", "name": f"{name}南门禁停区"},
        )
    )
    s, hydrant = min(rng.uniform(20.0, 35.0), height - 12.0), 0  # at least one per compound
    while True:
        y = ay + s
        if any(abs(y - ly) < w_lane / 2 + 1.5 for ly in lane_y):
            y += w_lane + 3.0
        if y > ay + height - 10.0:
            break
        hydrant += 1
        pt = Point(x_main + w_main / 2 + rng.uniform(1.1, 1.8), y)
        props = {"kind": "hydrant", "name": f"{name}消火栓{hydrant}"}
        out.append(_Pending("site_features", pt, props))
        s = y - ay + rng.uniform(60.0, 100.0)

    outline = Polygon(
        [(ax, ay), (x_main, ay), (ax + width, ay), (ax + width, ay + height), (ax, ay + height)]
    )
    population = round(households * rng.uniform(2.6, 3.0))
    props = {
        "name": name,
        "has_property_management": spec.has_property_management,
        "year_built": spec.year_built,
        "households": households,
        "population": population,
    }
    out.insert(0, _Pending("compounds", outline, props))
    return out


def _access_path(compound: list[_Pending], face: Polygon) -> _Pending:
    """A footpath from the compound's gate straight south to within 0.5 m of the edge of its
    grid (a street or lane, joined by snapping, or the community's edge, where it crosses the
    perimeter walk 1 m inside), so the internal roads join the walking network."""
    gate = next(p.geom for p in compound if p.props.get("kind") == "gate")
    ray = LineString([(gate.x, gate.y), (gate.x, gate.y - 1000.0)])
    hits = shapely.get_parts(ray.intersection(face.exterior))
    y = max(shapely.get_coordinates(hits)[:, 1])
    name = f"{compound[0].props['name']}入口路"
    line = LineString([(gate.x, gate.y), (gate.x, y + 0.5)])
    return _Pending("roads", line, {"name": name, "kind": "footpath", "width_m": 3.0})


def _shops(rng: random.Random, outline: Polygon, cuts: list[_Cut], office: Point) -> list[_Pending]:
    """Street-front shops (沿街商铺: food safety checks) every 80-140 m along both sides of the
    community streets, kept off crossings and the office."""
    streets = [c for c in cuts if c.kind == "street"]
    out: list[_Pending] = []
    for cut in streets:
        line = cut.line
        along, side = rng.uniform(30.0, 60.0), 1
        while along < line.length - 30.0:
            a, b = line.interpolate(along - 1.0), line.interpolate(along + 1.0)
            dx, dy = (b.x - a.x) / 2.0, (b.y - a.y) / 2.0
            offset = cut.width_m / 2 + SHOP_SETBACK_M
            spot = Point((a.x + b.x) / 2 - side * dy * offset, (a.y + b.y) / 2 + side * dx * offset)
            clear = all(o.line.distance(spot) > o.width_m / 2 + 4.0 for o in streets if o != cut)
            if clear and outline.contains(spot) and spot.distance(office) > 25.0:
                number = 2 * round(along / 10.0) + (1 if side > 0 else 2)
                name = f"{cut.name}{number}号{rng.choice(_SHOPS)}"
                out.append(_Pending("site_features", spot, {"kind": "shop", "name": name}))
            along += rng.uniform(80.0, 140.0)
            side = -side
    return out


# --------------------------------------------------------------------------- people and counts


def _workers(rng: random.Random, index: int, first: bool, today: datetime.date) -> list[dict]:
    """21 grid workers (one is 章微琳 in the first community) plus leader, instructor, 驻村组."""
    taken: set[str] = set()

    def person(gender: str) -> str:
        chars = _FEMALE_CHARS if gender == "female" else _MALE_CHARS
        while True:
            given = "".join(rng.sample(chars, 1 if rng.random() < 0.3 else 2))
            name = rng.choice(_SURNAMES) + given
            if name not in taken:
                taken.add(name)
                return name

    genders = ["female"] * 11 + ["male"] * 10
    rng.shuffle(genders)
    tenures = (
        [rng.randint(30, 330) for _ in range(5)]  # under a year
        + [rng.randint(380, 1080) for _ in range(5)]
        + [rng.randint(1100, 3600) for _ in range(9)]  # 3+ years
        + [rng.randint(3700, 4700) for _ in range(2)]  # over 10 years
    )
    rng.shuffle(tenures)
    team = [("grid_worker", g, days) for g, days in zip(genders, tenures, strict=True)]
    team.append(("grid_leader", rng.choice(("female", "male")), rng.randint(2900, 5400)))
    team.append(("grid_instructor", rng.choice(("female", "male")), rng.randint(1800, 4000)))
    team += [("resident_group", rng.choice(("female", "male")), rng.randint(400, 2500))] * 2
    if first:
        taken.add("章微琳")
        k = genders.index("female")
        team[0], team[k] = team[k], team[0]
    workers = []
    for j, (role, gender, days) in enumerate(team):
        name = "章微琳" if first and j == 0 else person(gender)
        body = ((index * 100 + j) * 387420489 + 123456789) % 10**9  # bijective: unique phones
        workers.append(
            {
                "name": name,
                "gender": gender,
                "role": role,
                "hire_date": (today - datetime.timedelta(days=days)).isoformat(),
                "phone": f"1{rng.choice('35789')}{body:09d}",
            }
        )
    return workers


def _street_front(rng: random.Random, grids: int, remaining: int) -> tuple[list[int], list[int]]:
    """Street-front households (60-250 per grid) and population adding up to ``remaining``."""
    factors = [rng.uniform(2.6, 3.0) for _ in range(grids)]
    weights = [rng.uniform(0.6, 1.4) for _ in range(grids)]
    total = sum(weights)
    households = [
        min(250, max(60, round(remaining * w / total / f)))
        for w, f in zip(weights, factors, strict=True)
    ]
    i = 0
    for _ in range(100 * grids):
        residual = remaining - sum(round(h * f) for h, f in zip(households, factors, strict=True))
        if abs(residual) <= 1:
            break
        step = 1 if residual > 0 else -1
        if 60 <= households[i] + step <= 250:
            households[i] += step
        i = (i + 1) % grids
    population = [round(h * f) for h, f in zip(households, factors, strict=True)]
    return households, population


# --------------------------------------------------------------------------- assembly


def _community(
    seed: int,
    index: int,
    centre: tuple[float, float],
    names: tuple[str, str, str],
    today: datetime.date,
) -> DemoCommunity:
    """Generate community ``index`` (0-based) centred at ``centre`` (metric)."""
    name, code, street_code = names
    first = index == 0
    rng = random.Random(f"{seed}:{index}")
    prefix = name[:2]
    outline, xs, ys, splits, cuts = _frame(rng, centre[0], centre[1], prefix, first)
    faces, cut_lines = _tile(outline, cuts)
    if len(faces) != 21:
        raise RuntimeError(f"expected 21 grids, polygonize gave {len(faces)}")
    faces_m = _apply(faces, _to_metric)

    def block_key(i: int) -> tuple[int, int, float]:
        p = faces_m[i].point_on_surface()
        r = sum(p.y < y for y in ys[1:3])
        c = sum(p.x > x for x in xs[1:3])
        return r, c, p.x if splits[r, c] == "v" else -p.y

    order = sorted(range(len(faces)), key=block_key)
    grids_ll = _ccw(_apply([faces[i] for i in order], lambda c: np.round(c, 7)))
    faces_m = [faces_m[i] for i in order]
    community_ll = _ccw([shapely.unary_union(np.array(grids_ll, dtype=object))])[0]
    if not isinstance(community_ll, Polygon):
        raise RuntimeError("grids do not form one polygon")

    avail = shapely.buffer(np.array(faces_m, dtype=object), -COMPOUND_SETBACK_M, join_style="mitre")
    candidates = rng.sample(range(len(faces_m)), len(faces_m))
    pending: list[_Pending] = []
    in_grid: dict[int, list[dict]] = {}
    for spec in _compound_specs(rng, first):
        for g in candidates:
            if g in in_grid:
                continue
            plan = _plan_compound(rng, spec, avail[g])
            if plan is not None:
                in_grid[g] = [plan[0].props]
                pending += [*plan, _access_path(plan, faces_m[g])]
                break
        else:
            raise RuntimeError(f"no room for compound {spec.name}")

    compound_pop = sum(p.props["population"] for p in pending if p.target == "compounds")
    target = 12000 + rng.randint(-300, 300)
    sf_households, sf_population = _street_front(rng, len(grids_ll), target - compound_pop)
    grid_features = []
    for g, geom in enumerate(grids_ll):
        inside = in_grid.get(g, [])
        households = sf_households[g] + sum(c["households"] for c in inside)
        population = sf_population[g] + sum(c["population"] for c in inside)
        listed = "、".join(c["name"] for c in inside)
        note = (f"小区：{listed}；" if listed else "") + f"沿街及散居住户{sf_households[g]}户"
        props = {
            "code": f"{g + 1:02d}",
            "name": f"{name}第{g + 1:02d}网格",
            "households": households,
            "population": population,
            "note": note,
        }
        grid_features.append(_feature(geom, props))

    office = Point(xs[1] + OFFICE_OFFSET_M, ys[1] - OFFICE_OFFSET_M)
    pending.append(
        _Pending(
            "roads",
            LineString(outline.buffer(-1.0, join_style="mitre").exterior.coords),
            {"name": f"{prefix}社区外围人行道", "kind": "footpath", "width_m": 3.0},
        )
    )
    pending += _shops(random.Random(f"{seed}:{index}:shops"), outline, cuts, office)
    (office_ll,) = _apply([office], _to_lonlat)
    community_props = {"code": code, "name": name, "office": [office_ll.x, office_ll.y]}
    out = DemoCommunity(
        street_code=street_code,
        community=_feature(MultiPolygon([community_ll]), community_props),
        grids=grid_features,
    )
    for cut, line in zip(cuts, cut_lines, strict=True):
        kind = "street" if cut.kind == "street" else "internal_road"
        props = {"name": cut.name, "kind": kind, "width_m": cut.width_m}
        out.roads.append(_feature(line, props))

    with_entrances = [p for p in pending if p.entrances is not None]
    geoms = [p.geom for p in pending] + [p.entrances for p in with_entrances]
    lonlat = _ccw(_apply(geoms, _to_lonlat))
    for p, geom in zip(pending, lonlat, strict=False):
        getattr(out, p.target).append(_feature(geom, p.props))
    for p, geom in zip(with_entrances, lonlat[len(pending) :], strict=True):
        p.props["entrances"] = shapely.get_coordinates(geom).tolist()
    out.workers = _workers(rng, index, first, today)
    return out


def generate(
    communities: int = 1, seed: int = 20240524, today: datetime.date | None = None
) -> DemoData:
    """Generate a demo district with ``communities`` communities modelled on 蒲江社区.

    Community 1 is 蒲江社区 (code 330303003001) of 蒲州街道 (330303003), 龙湾区 (330303),
    centred near 120.72E 27.97N; the others are laid out 1.25 km apart in a square-ish serpentine
    arrangement, grouped into streets of up to 20 communities. Codes are illustrative. Each
    community has 21 grids, 10 compounds with buildings, roads and site features, and a team of
    25 (21 grid workers). ``today`` (default: the current date) anchors the workers' hire dates.
    """
    if communities < 1:
        raise ValueError("communities must be at least 1")
    today = today or datetime.date.today()
    ncols = math.ceil(math.sqrt(communities))
    nrows = math.ceil(communities / ncols)
    bx, by = _transformers()[1].transform(*ORIGIN_LONLAT)
    name_rng = random.Random(f"{seed}:names")
    taken = {"蒲江"}
    street_taken = set(_STREET_NAMES)

    cells: list[Polygon] = []
    result: list[DemoCommunity] = []
    for i in range(communities):
        row = i // ncols
        col = i % ncols if row % 2 == 0 else ncols - 1 - i % ncols
        cx, cy = bx + col * PITCH_M, by - row * PITCH_M
        half, m = PITCH_M / 2, STREET_MARGIN_M
        cells.append(
            box(
                cx - half - (m if col == 0 else 0.0),
                cy - half - (m if row == nrows - 1 else 0.0),
                cx + half + (m if col == ncols - 1 else 0.0),
                cy + half + (m if row == 0 else 0.0),
            )
        )
        street = i // COMMUNITIES_PER_STREET
        street_code = f"{DISTRICT_CODE}{FIRST_STREET_NUMBER + street:03d}"
        code = f"{street_code}{i % COMMUNITIES_PER_STREET + 1:03d}"
        name = "蒲江社区" if i == 0 else f"{_place_name(name_rng, taken)}社区"
        result.append(_community(seed, i, (cx, cy), (name, code, street_code), today))

    street_geoms, street_props = [], []
    for s in range(math.ceil(communities / COMMUNITIES_PER_STREET)):
        members = cells[s * COMMUNITIES_PER_STREET : (s + 1) * COMMUNITIES_PER_STREET]
        street_geoms.append(shapely.union_all(np.array(members, dtype=object)))
        base = _STREET_NAMES[s] if s < len(_STREET_NAMES) else _place_name(name_rng, street_taken)
        street_props.append(
            {"code": f"{DISTRICT_CODE}{FIRST_STREET_NUMBER + s:03d}", "name": f"{base}街道"}
        )
    district = shapely.union_all(np.array(cells, dtype=object)).buffer(
        DISTRICT_MARGIN_M, join_style="mitre"
    )
    _, _, maxx, maxy = district.bounds
    corner = DISTRICT_MARGIN_M * 0.8  # a coastal corner cut off the north-east
    district = district.difference(
        Polygon([(maxx - corner, maxy), (maxx + 1, maxy + 1), (maxx, maxy - corner)])
    )
    lonlat = _ccw(_apply([district, *street_geoms], _to_lonlat))
    return DemoData(
        district=_feature(_multi(lonlat[0]), {"code": DISTRICT_CODE, "name": DISTRICT_NAME}),
        streets=[_feature(_multi(g), p) for g, p in zip(lonlat[1:], street_props, strict=True)],
        communities=result,
    )
