"""Coordinate reference helpers: GCJ-02 offsets, reprojection to WGS84, local metric projections.

Everything here works on plain floats, on numpy arrays (vectorised) and, through
``shapely.transform``, on shapely geometries. Lon/lat are always in x/y order.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from functools import cached_property, lru_cache
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
import shapely
from pyproj import CRS, Proj, Transformer
from pyproj.exceptions import CRSError, ProjError
from shapely.geometry.base import BaseGeometry

from geo.errors import InvalidInput

__all__ = [
    "LocalProjection",
    "area_m2",
    "gcj02_to_wgs84",
    "gcj02_to_wgs84_geometry",
    "in_china",
    "is_wgs84",
    "length_m",
    "reproject_to_wgs84",
    "utm_crs",
    "wgs84_to_gcj02",
    "wgs84_to_gcj02_geometry",
]

Coord = float | npt.NDArray[np.float64]
CrsLike = Any  # anything pyproj.CRS.from_user_input accepts
G = TypeVar("G", bound=BaseGeometry)

WGS84 = CRS.from_epsg(4326)

# GCJ-02 constants: Krasovsky 1940 semi-major axis and first eccentricity squared.
_GCJ_A = 6378245.0
_GCJ_EE = 0.00669342162296594323
# The customary rough China box used to decide whether GCJ-02 applies.
_CHINA_LON = (72.004, 137.8347)
_CHINA_LAT = (0.8293, 55.8271)
_INVERSE_TOL_DEG = 1e-9
_INVERSE_MAX_ITER = 30


def _arrays(lon: Coord, lat: Coord) -> tuple[np.ndarray, np.ndarray, bool]:
    x, y = np.broadcast_arrays(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    return x, y, x.ndim == 0


def _result(lon: np.ndarray, lat: np.ndarray, scalar: bool) -> tuple[Coord, Coord]:
    if scalar:
        return float(lon), float(lat)
    return lon, lat


def in_china(lon: Coord, lat: Coord) -> bool | npt.NDArray[np.bool_]:
    """True where (lon, lat) lies in the rough China box in which GCJ-02 is applied."""
    x, y, scalar = _arrays(lon, lat)
    inside = (
        (x >= _CHINA_LON[0]) & (x <= _CHINA_LON[1]) & (y >= _CHINA_LAT[0]) & (y <= _CHINA_LAT[1])
    )
    return bool(inside) if scalar else inside


def _gcj_delta(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 offset (dlon, dlat) in degrees at WGS84 (lon, lat), without the China test."""
    x = lon - 105.0
    y = lat - 35.0
    pi = np.pi
    wave = (20.0 * np.sin(6.0 * x * pi) + 20.0 * np.sin(2.0 * x * pi)) * 2.0 / 3.0
    t_lat = (
        -100.0
        + 2.0 * x
        + 3.0 * y
        + 0.2 * y * y
        + 0.1 * x * y
        + 0.2 * np.sqrt(np.abs(x))
        + wave
        + (20.0 * np.sin(y * pi) + 40.0 * np.sin(y / 3.0 * pi)) * 2.0 / 3.0
        + (160.0 * np.sin(y / 12.0 * pi) + 320.0 * np.sin(y * pi / 30.0)) * 2.0 / 3.0
    )
    t_lon = (
        300.0
        + x
        + 2.0 * y
        + 0.1 * x * x
        + 0.1 * x * y
        + 0.1 * np.sqrt(np.abs(x))
        + wave
        + (20.0 * np.sin(x * pi) + 40.0 * np.sin(x / 3.0 * pi)) * 2.0 / 3.0
        + (150.0 * np.sin(x / 12.0 * pi) + 300.0 * np.sin(x / 30.0 * pi)) * 2.0 / 3.0
    )
    rad_lat = lat / 180.0 * pi
    magic = 1.0 - _GCJ_EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    d_lat = (t_lat * 180.0) / ((_GCJ_A * (1.0 - _GCJ_EE)) / (magic * sqrt_magic) * pi)
    d_lon = (t_lon * 180.0) / (_GCJ_A / sqrt_magic * np.cos(rad_lat) * pi)
    return d_lon, d_lat


def wgs84_to_gcj02(lon: Coord, lat: Coord) -> tuple[Coord, Coord]:
    """WGS84 -> GCJ-02 ("Mars coordinates" of Gaode/AutoNavi, Tencent); identity outside China."""
    x, y, scalar = _arrays(lon, lat)
    mask = np.asarray(in_china(x, y))
    out_x, out_y = x.astype(float, copy=True), y.astype(float, copy=True)
    if mask.any():
        d_lon, d_lat = _gcj_delta(x[mask], y[mask])
        out_x[mask] = x[mask] + d_lon
        out_y[mask] = y[mask] + d_lat
    return _result(out_x, out_y, scalar)


def gcj02_to_wgs84(lon: Coord, lat: Coord) -> tuple[Coord, Coord]:
    """GCJ-02 -> WGS84 by fixed-point iteration (forward image within 1e-9 deg); identity outside.

    The China test is made on the GCJ-02 input, so points within ~0.01 deg of the box edge may
    not round-trip exactly; everywhere inside, the round trip is at the sub-millimetre level.
    """
    x, y, scalar = _arrays(lon, lat)
    mask = np.asarray(in_china(x, y))
    out_x, out_y = x.astype(float, copy=True), y.astype(float, copy=True)
    if mask.any():
        g_lon, g_lat = x[mask], y[mask]
        d_lon, d_lat = _gcj_delta(g_lon, g_lat)
        w_lon, w_lat = g_lon - d_lon, g_lat - d_lat
        for _ in range(_INVERSE_MAX_ITER):
            d_lon, d_lat = _gcj_delta(w_lon, w_lat)
            e_lon, e_lat = w_lon + d_lon - g_lon, w_lat + d_lat - g_lat
            if max(np.abs(e_lon).max(), np.abs(e_lat).max()) < _INVERSE_TOL_DEG:
                break
            w_lon, w_lat = w_lon - e_lon, w_lat - e_lat
        out_x[mask], out_y[mask] = w_lon, w_lat
    return _result(out_x, out_y, scalar)


def _transform_xy(geom: G, func: Callable[[np.ndarray, np.ndarray], tuple[Any, Any]]) -> G:
    """Apply ``func(x, y) -> (x, y)`` to every vertex of ``geom``; z (if any) is kept as is."""

    def apply(coords: np.ndarray) -> np.ndarray:
        out = np.array(coords, dtype=float, copy=True)
        new_x, new_y = func(coords[:, 0], coords[:, 1])
        out[:, 0], out[:, 1] = new_x, new_y
        return out

    return shapely.transform(geom, apply, include_z=None)


def wgs84_to_gcj02_geometry(geom: G) -> G:
    """``wgs84_to_gcj02`` on every vertex of a shapely geometry (type and vertex count kept)."""
    return _transform_xy(geom, wgs84_to_gcj02)


def gcj02_to_wgs84_geometry(geom: G) -> G:
    """``gcj02_to_wgs84`` on every vertex of a shapely geometry (type and vertex count kept)."""
    return _transform_xy(geom, gcj02_to_wgs84)


def _crs_key(crs: CrsLike) -> Hashable:
    """A hashable cache key for a CRS given as a string, an EPSG int or a pyproj.CRS."""
    if isinstance(crs, str | int):
        return crs
    return _to_crs(crs).to_wkt()


def _to_crs(crs: CrsLike) -> CRS:
    try:
        return CRS.from_user_input(crs)
    except CRSError as exc:
        raise InvalidInput(f"unknown coordinate reference system: {crs!r}") from exc


@lru_cache(maxsize=256)
def _is_wgs84_cached(key: Hashable) -> bool:
    crs = _to_crs(key)
    return crs.to_epsg() == 4326 or crs.equals(WGS84, ignore_axis_order=True)


def is_wgs84(crs: CrsLike) -> bool:
    """True when ``crs`` is WGS84 geographic (EPSG:4326, OGC:CRS84, URN forms), any axis order."""
    return _is_wgs84_cached(_crs_key(crs))


@lru_cache(maxsize=256)
def _transformer(source_key: Hashable, target_key: Hashable) -> Transformer:
    return Transformer.from_crs(_to_crs(source_key), _to_crs(target_key), always_xy=True)


def _reproject(geom: G, transformer: Transformer) -> G:
    def func(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        try:
            new_x, new_y = transformer.transform(x, y, errcheck=True)
        except ProjError as exc:
            raise InvalidInput(f"coordinates cannot be transformed: {exc}") from exc
        new_x, new_y = np.asarray(new_x, dtype=float), np.asarray(new_y, dtype=float)
        if not (np.isfinite(new_x).all() and np.isfinite(new_y).all()):
            raise InvalidInput("coordinates fall outside the area of the projection")
        return new_x, new_y

    return _transform_xy(geom, func)


def reproject_to_wgs84(geom: G, source_crs: CrsLike) -> G:
    """Transform ``geom`` from ``source_crs`` to EPSG:4326 lon/lat; same object if already WGS84."""
    if is_wgs84(source_crs):
        return geom
    return _reproject(geom, _transformer(_crs_key(source_crs), 4326))


def utm_crs(lon: float, lat: float) -> CRS:
    """The WGS84 UTM zone CRS (EPSG:326xx north, 327xx south) containing (lon, lat)."""
    if not (np.isfinite(lon) and np.isfinite(lat) and -90.0 <= lat <= 90.0):
        raise InvalidInput(f"not a lon/lat position: ({lon}, {lat})")
    lon_n = (float(lon) + 180.0) % 360.0 - 180.0
    zone = min(int((lon_n + 180.0) // 6.0) + 1, 60)
    return CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


class LocalProjection:
    """The UTM zone around a point, for metric work (lengths, areas, buffers) on WGS84 data.

    ``to_metric`` yields UTM grid metres, whose scale differs from ground metres by the UTM
    point scale factor (0.9996 on the central meridian, up to ~1.001 at zone edges);
    ``scale_factor`` gives it, and ``length_m``/``area_m2`` correct for it.
    """

    def __init__(self, lon: float, lat: float) -> None:
        self.lon = float(lon)
        self.lat = float(lat)
        self._crs = utm_crs(self.lon, self.lat)
        key = self._crs.to_epsg()
        self._forward = _transformer(4326, key)
        self._inverse = _transformer(key, 4326)

    @classmethod
    def for_geometry(cls, geom: BaseGeometry) -> LocalProjection:
        """A LocalProjection centred on the middle of the bounds of a WGS84 geometry."""
        if geom is None or geom.is_empty:
            raise InvalidInput("cannot centre a local projection on an empty geometry")
        min_x, min_y, max_x, max_y = geom.bounds
        return cls((min_x + max_x) / 2.0, (min_y + max_y) / 2.0)

    @property
    def crs(self) -> CRS:
        """The UTM zone CRS (EPSG:326xx / 327xx)."""
        return self._crs

    @cached_property
    def scale_factor(self) -> float:
        """UTM point scale factor at the centre (grid metres per ground metre)."""
        factors = Proj(self._crs).get_factors(self.lon, self.lat)
        return float(factors.meridional_scale)

    def to_metric(self, geom: G) -> G:
        """WGS84 lon/lat geometry -> UTM metres."""
        return _reproject(geom, self._forward)

    def to_wgs84(self, geom: G) -> G:
        """UTM metres geometry -> WGS84 lon/lat."""
        return _reproject(geom, self._inverse)

    def __repr__(self) -> str:
        return f"<LocalProjection at ({self.lon}, {self.lat}) EPSG:{self._crs.to_epsg()}>"


def length_m(geom: BaseGeometry) -> float:
    """Ground length in metres of a WGS84 geometry (perimeter for polygons; 0 for points)."""
    if geom.is_empty:
        return 0.0
    local = LocalProjection.for_geometry(geom)
    return float(local.to_metric(geom).length) / local.scale_factor


def area_m2(geom: BaseGeometry) -> float:
    """Ground area in square metres of a WGS84 geometry (0 for points and lines)."""
    if geom.is_empty:
        return 0.0
    local = LocalProjection.for_geometry(geom)
    return float(local.to_metric(geom).area) / local.scale_factor**2
