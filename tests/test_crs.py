"""Pure tests of geo.crs: GCJ-02 offsets, reprojection, UTM zones and local metric projections."""

from __future__ import annotations

import math

import numpy as np
import pyproj
import pytest
import shapely
from shapely.geometry import (
    GeometryCollection,
    LineString,
    MultiPolygon,
    Point,
    Polygon,
    box,
)

from geo.crs import (
    LocalProjection,
    area_m2,
    gcj02_to_wgs84,
    gcj02_to_wgs84_geometry,
    in_china,
    is_wgs84,
    length_m,
    reproject_to_wgs84,
    utm_crs,
    wgs84_to_gcj02,
    wgs84_to_gcj02_geometry,
)
from geo.errors import InvalidInput

GEOD = pyproj.Geod(ellps="WGS84")
LONGWAN = (120.72, 27.97)  # Longwan district, Wenzhou
OUTSIDE = [(-0.1276, 51.5072), (-74.006, 40.7128), (151.2093, -33.8688), (139.6917, 35.6895)]
# Published WGS84 -> GCJ-02 pairs of the standard algorithm (test data of the widely used
# eviltransform library): Shanghai Pudong and Beijing near Tiananmen.
REFERENCE_PAIRS = [
    ((121.5272106, 31.1774276), (121.531541859215, 31.17530398364597)),
    ((116.377817, 39.911954), (116.38404722455657, 39.91334545536069)),
]


def _distance_m(lon1, lat1, lon2, lat2) -> np.ndarray:
    return np.asarray(GEOD.inv(lon1, lat1, lon2, lat2)[2])


def _local_tm(lon: float, lat: float) -> pyproj.CRS:
    """An independent ground-metre projection (transverse Mercator, k=1) centred on a point."""
    return pyproj.CRS.from_proj4(
        f"+proj=tmerc +lat_0={lat} +lon_0={lon} +k=1 +x_0=0 +y_0=0 +ellps=WGS84 +units=m"
    )


def _from_local_tm(geom, lon: float, lat: float):
    to_ll = pyproj.Transformer.from_crs(_local_tm(lon, lat), "EPSG:4326", always_xy=True)
    return shapely.transform(geom, lambda xy: np.column_stack(to_ll.transform(xy[:, 0], xy[:, 1])))


def _vertex_distances_m(a, b) -> np.ndarray:
    ca, cb = shapely.get_coordinates(a), shapely.get_coordinates(b)
    assert ca.shape == cb.shape
    return _distance_m(ca[:, 0], ca[:, 1], cb[:, 0], cb[:, 1])


# --- in_china / GCJ-02 on coordinates ---------------------------------------------------------


def test_in_china_scalar_and_array():
    assert in_china(*LONGWAN) is True
    assert in_china(116.39, 39.91) is True
    assert in_china(-0.1276, 51.5072) is False
    assert in_china(139.6917, 35.6895) is False  # Tokyo is east of the box
    mask = in_china(np.array([120.72, -74.006, 72.0, 72.004]), np.array([27.97, 40.71, 30.0, 30.0]))
    assert mask.dtype == np.bool_
    assert mask.tolist() == [True, False, False, True]
    assert in_china(float("nan"), 30.0) is False


def test_longwan_offset_is_a_few_hundred_metres():
    lon, lat = wgs84_to_gcj02(*LONGWAN)
    assert isinstance(lon, float)
    assert isinstance(lat, float)
    d = float(_distance_m(LONGWAN[0], LONGWAN[1], lon, lat))
    assert 100.0 < d < 700.0
    # In south-east China the offset moves points east and south.
    assert lon > LONGWAN[0]
    assert lat < LONGWAN[1]


@pytest.mark.parametrize(("wgs", "gcj"), REFERENCE_PAIRS)
def test_reference_pairs(wgs, gcj):
    lon, lat = wgs84_to_gcj02(*wgs)
    assert lon == pytest.approx(gcj[0], abs=1e-10)
    assert lat == pytest.approx(gcj[1], abs=1e-10)
    back_lon, back_lat = gcj02_to_wgs84(*gcj)
    assert back_lon == pytest.approx(wgs[0], abs=1e-9)
    assert back_lat == pytest.approx(wgs[1], abs=1e-9)


def test_round_trip_grid_over_china_within_half_a_metre():
    lon, lat = np.meshgrid(np.linspace(74.0, 134.0, 40), np.linspace(4.0, 53.0, 25))
    lon, lat = lon.ravel(), lat.ravel()
    keep = in_china(lon, lat)
    lon, lat = lon[keep], lat[keep]
    assert lon.size == 1000

    g_lon, g_lat = wgs84_to_gcj02(lon, lat)
    assert isinstance(g_lon, np.ndarray)
    assert g_lon.shape == lon.shape
    offset = _distance_m(lon, lat, g_lon, g_lat)
    assert offset.min() > 1.0  # GCJ-02 moves every point inside China
    assert offset.max() < 1500.0

    w_lon, w_lat = gcj02_to_wgs84(g_lon, g_lat)
    err = _distance_m(lon, lat, w_lon, w_lat)
    assert err.max() < 0.5
    assert err.max() < 1e-3  # in fact sub-millimetre


def test_inverse_forward_image_matches_to_1e9_degrees():
    g_lon = np.array([120.72, 116.39, 87.6, 126.6, 110.3])
    g_lat = np.array([27.97, 39.91, 43.8, 45.75, 20.0])
    w_lon, w_lat = gcj02_to_wgs84(g_lon, g_lat)
    f_lon, f_lat = wgs84_to_gcj02(w_lon, w_lat)
    assert np.abs(f_lon - g_lon).max() < 1e-9
    assert np.abs(f_lat - g_lat).max() < 1e-9


@pytest.mark.parametrize(("lon", "lat"), OUTSIDE)
def test_identity_outside_china(lon, lat):
    assert wgs84_to_gcj02(lon, lat) == (lon, lat)
    assert gcj02_to_wgs84(lon, lat) == (lon, lat)


def test_mixed_array_inside_and_outside():
    lon = np.array([LONGWAN[0], -0.1276, 151.2093])
    lat = np.array([LONGWAN[1], 51.5072, -33.8688])
    g_lon, g_lat = wgs84_to_gcj02(lon, lat)
    assert g_lon[0] != lon[0]
    assert g_lat[0] != lat[0]
    assert g_lon[1:].tolist() == lon[1:].tolist()
    assert g_lat[1:].tolist() == lat[1:].tolist()
    # Inputs are not modified in place.
    assert lon[0] == LONGWAN[0]


def test_broadcasting_and_nan():
    g_lon, g_lat = wgs84_to_gcj02(np.array([[120.0, 121.0], [122.0, 123.0]]), 30.0)
    assert g_lon.shape == (2, 2)
    assert g_lat.shape == (2, 2)
    lon, lat = wgs84_to_gcj02(float("nan"), 30.0)
    assert math.isnan(lon)
    assert lat == 30.0


# --- GCJ-02 on geometries -------------------------------------------------------------------


def _sample_geometries():
    x, y = LONGWAN
    shell = [(x, y), (x + 0.01, y), (x + 0.01, y + 0.01), (x, y + 0.01), (x, y)]
    d, e = 0.003, 0.006
    hole = [(x + d, y + d), (x + e, y + d), (x + e, y + e), (x + d, y + d)]
    poly = Polygon(shell, [hole])
    return [
        Point(x, y),
        LineString([(x, y), (x + 0.02, y + 0.01), (x + 0.03, y)]),
        poly,
        MultiPolygon([poly, box(x + 0.1, y + 0.1, x + 0.11, y + 0.11)]),
        GeometryCollection([Point(x, y), LineString([(x, y), (x + 0.001, y + 0.001)])]),
    ]


@pytest.mark.parametrize("geom", _sample_geometries(), ids=lambda g: g.geom_type)
def test_geometry_versions_keep_type_and_vertex_count(geom):
    gcj = wgs84_to_gcj02_geometry(geom)
    back = gcj02_to_wgs84_geometry(gcj)
    n = shapely.get_num_coordinates(geom)
    for g in (gcj, back):
        assert g.geom_type == geom.geom_type
        assert shapely.get_num_coordinates(g) == n
    moved = _vertex_distances_m(geom, gcj)
    assert (moved > 100.0).all()
    assert _vertex_distances_m(geom, back).max() < 0.5


def test_geometry_matches_coordinate_function_and_keeps_z():
    p = Point(LONGWAN[0], LONGWAN[1], 12.5)
    g = wgs84_to_gcj02_geometry(p)
    assert g.has_z
    assert g.z == 12.5
    assert (g.x, g.y) == wgs84_to_gcj02(*LONGWAN)


def test_geometry_identity_outside_china():
    london = box(-0.13, 51.50, -0.12, 51.51)
    assert shapely.equals_exact(wgs84_to_gcj02_geometry(london), london, tolerance=0.0)
    assert shapely.equals_exact(gcj02_to_wgs84_geometry(london), london, tolerance=0.0)


# --- reprojection / CRS identification ------------------------------------------------------


def _polygon_in(crs: str) -> tuple[Polygon, Polygon]:
    x, y = LONGWAN
    ll = Polygon([(x, y), (x + 0.02, y), (x + 0.02, y + 0.015), (x, y + 0.015)])
    fwd = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    projected = shapely.transform(ll, lambda xy: np.column_stack(fwd.transform(xy[:, 0], xy[:, 1])))
    return ll, projected


@pytest.mark.parametrize("crs", ["EPSG:3857", "EPSG:4549"])
def test_reproject_to_wgs84_round_trip(crs):
    ll, projected = _polygon_in(crs)
    assert abs(projected.exterior.coords[0][0]) > 1000.0  # really in metres
    for source in (crs, pyproj.CRS.from_user_input(crs)):
        back = reproject_to_wgs84(projected, source)
        assert back.geom_type == "Polygon"
        assert shapely.get_num_coordinates(back) == shapely.get_num_coordinates(ll)
        diff = np.abs(shapely.get_coordinates(back) - shapely.get_coordinates(ll))
        assert diff.max() < 1e-6


def test_reproject_gauss_kruger_easting_is_near_500km():
    _, projected = _polygon_in("EPSG:4549")
    # CM 120E, no zone prefix: 120.72E lies ~71 km east of the false easting of 500 km.
    assert 560_000 < projected.exterior.coords[0][0] < 580_000


@pytest.mark.parametrize(
    "crs",
    ["EPSG:4326", "OGC:CRS84", "urn:ogc:def:crs:OGC:1.3:CRS84", "urn:ogc:def:crs:EPSG::4326"],
)
def test_reproject_identity_for_wgs84(crs):
    geom = Point(*LONGWAN)
    assert reproject_to_wgs84(geom, crs) is geom


@pytest.mark.parametrize(
    "crs",
    [
        "EPSG:4326",
        "epsg:4326",
        4326,
        "OGC:CRS84",
        "urn:ogc:def:crs:OGC:1.3:CRS84",
        "urn:ogc:def:crs:EPSG::4326",
        "+proj=longlat +datum=WGS84 +no_defs",
        pyproj.CRS.from_epsg(4326),
        pyproj.CRS("OGC:CRS84"),
    ],
)
def test_is_wgs84_true(crs):
    assert is_wgs84(crs) is True


@pytest.mark.parametrize("crs", ["EPSG:3857", "EPSG:4490", "EPSG:4549", "EPSG:32651", 4547])
def test_is_wgs84_false(crs):
    assert is_wgs84(crs) is False


def test_unknown_crs_is_invalid_input():
    with pytest.raises(InvalidInput):
        is_wgs84("EPSG:999999")
    with pytest.raises(InvalidInput):
        reproject_to_wgs84(Point(0, 0), "not a crs")


# --- UTM zones and local projections --------------------------------------------------------


def test_utm_crs():
    assert utm_crs(*LONGWAN).to_epsg() == 32651
    assert utm_crs(116.39, 39.91).to_epsg() == 32650
    assert utm_crs(151.2093, -33.8688).to_epsg() == 32756
    assert utm_crs(-74.006, 40.7128).to_epsg() == 32618
    assert utm_crs(-180.0, 0.0).to_epsg() == 32601
    assert utm_crs(179.9, -1.0).to_epsg() == 32760
    assert utm_crs(180.0, -1.0).to_epsg() == 32701  # 180E is 180W
    assert utm_crs(480.72, 27.97).to_epsg() == 32651  # longitudes are wrapped
    assert utm_crs(123.0, 0.0).to_epsg() == 32651  # central meridian of zone 51
    assert utm_crs(120.0, 10.0).to_epsg() == 32651  # zone edge belongs to the eastern zone
    with pytest.raises(InvalidInput):
        utm_crs(120.0, 95.0)


def test_local_projection_basics():
    local = LocalProjection(*LONGWAN)
    assert isinstance(local.crs, pyproj.CRS)
    assert local.crs.to_epsg() == 32651
    # 120.72E is ~2.3 deg west of the zone's central meridian: scale slightly above 1.
    assert 1.0001 < local.scale_factor < 1.0003
    south = LocalProjection.for_geometry(box(150.0, -34.0, 151.0, -33.0))
    assert south.crs.to_epsg() == 32756
    assert (south.lon, south.lat) == (150.5, -33.5)
    with pytest.raises(InvalidInput):
        LocalProjection.for_geometry(Polygon())


def test_local_projection_round_trip():
    local = LocalProjection(*LONGWAN)
    geom = _sample_geometries()[2]
    back = local.to_wgs84(local.to_metric(geom))
    assert np.abs(shapely.get_coordinates(back) - shapely.get_coordinates(geom)).max() < 1e-9


def test_square_of_100m_has_area_10000():
    x, y = LONGWAN
    square = _from_local_tm(box(-50.0, -50.0, 50.0, 50.0), x, y)
    assert area_m2(square) == pytest.approx(10_000.0, abs=0.1)
    assert length_m(square) == pytest.approx(400.0, abs=1e-3)
    geodesic_area, geodesic_perimeter = GEOD.geometry_area_perimeter(square)
    assert area_m2(square) == pytest.approx(abs(geodesic_area), abs=0.1)
    assert length_m(square) == pytest.approx(geodesic_perimeter, abs=1e-3)


def test_square_built_in_local_projection_metres():
    local = LocalProjection(*LONGWAN)
    cx, cy = local.to_metric(Point(*LONGWAN)).coords[0]
    square = local.to_wgs84(box(cx - 50.0, cy - 50.0, cx + 50.0, cy + 50.0))
    assert local.to_metric(square).area == pytest.approx(10_000.0, abs=1e-4)
    # UTM grid metres differ from ground metres by the scale factor; area_m2 reports ground.
    assert area_m2(square) == pytest.approx(10_000.0 / local.scale_factor**2, abs=0.1)
    assert area_m2(square) == pytest.approx(abs(GEOD.geometry_area_perimeter(square)[0]), abs=0.1)


def test_line_of_1km_has_length_1000():
    x, y = LONGWAN
    line = _from_local_tm(LineString([(-300.0, -400.0), (300.0, 400.0)]), x, y)
    assert length_m(line) == pytest.approx(1000.0, abs=1e-3)
    (lon1, lat1), (lon2, lat2) = line.coords
    assert length_m(line) == pytest.approx(float(_distance_m(lon1, lat1, lon2, lat2)), abs=1e-3)
    assert area_m2(line) == 0.0
    assert length_m(Point(x, y)) == 0.0
    assert length_m(LineString()) == 0.0


def test_buffer_10m_in_metric():
    local = LocalProjection(*LONGWAN)
    disc = local.to_metric(Point(*LONGWAN)).buffer(10.0)
    assert disc.area == pytest.approx(math.pi * 100.0, abs=1.0)
    # shapely's default buffer is a 64-gon inscribed in the circle.
    assert disc.area == pytest.approx(32 * 100.0 * math.sin(2 * math.pi / 64), rel=1e-9)
    disc_ll = local.to_wgs84(disc)
    assert disc_ll.geom_type == "Polygon"
    assert area_m2(disc_ll) == pytest.approx(disc.area / local.scale_factor**2, rel=1e-6)


def test_area_accuracy_at_zone_edge_in_hainan():
    # ~3 deg from the central meridian at low latitude the UTM scale is ~1.0008; area_m2 corrects.
    x, y = 108.02, 18.25
    assert utm_crs(x, y).to_epsg() == 32649
    field = _from_local_tm(box(-500.0, -400.0, 500.0, 400.0), x, y)
    geodesic_area = abs(GEOD.geometry_area_perimeter(field)[0])
    assert geodesic_area == pytest.approx(800_000.0, rel=1e-6)
    assert area_m2(field) == pytest.approx(geodesic_area, rel=1e-5)
    assert LocalProjection.for_geometry(field).scale_factor > 1.0007
