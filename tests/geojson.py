"""Small GeoJSON builders for the tests."""

from __future__ import annotations

from typing import Any

# A test place far from the demo community: a 0.02 x 0.02 degree community at 121.00E 28.50N.
LON, LAT = 121.0, 28.5


def ring(west: float, south: float, east: float, north: float) -> list[list[float]]:
    """A closed counter-clockwise ring of a box."""
    return [[west, south], [east, south], [east, north], [west, north], [west, south]]


def polygon(west: float, south: float, east: float, north: float) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [ring(west, south, east, north)]}


def feature(geometry: dict[str, Any] | None, **properties: Any) -> dict[str, Any]:
    return {"type": "Feature", "geometry": geometry, "properties": properties}


def collection(*features: dict[str, Any]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": list(features)}


def cell(col: int, row: int, size: float = 0.005) -> dict[str, Any]:
    """Grid cell (col, row) of the test community, counted from its south-west corner."""
    west, south = LON + col * size, LAT + row * size
    return polygon(west, south, west + size, south + size)
