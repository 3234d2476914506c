"""Gridline maps: GeoJSON Features (lon/lat) and plain values in, Folium maps and HTML out.

Never touches a database and imports nothing from ``api/``.
"""

from maps.base import base_map, to_html
from maps.community import community_map

__all__ = ["base_map", "community_map", "to_html"]
