"""Gridline maps: GeoJSON Features (lon/lat) and plain values in, Folium maps and HTML out.

Never touches a database and imports nothing from ``api/``.
"""

from maps import branca_patches

branca_patches.install()

from maps.base import base_map, to_html  # noqa: E402
from maps.community import community_map  # noqa: E402

__all__ = ["base_map", "community_map", "to_html"]
