"""The community map: outline, grids, compounds, buildings, roads and site features."""

from __future__ import annotations

from collections.abc import Sequence

import folium

from maps.base import add_layers, base_map, finish_map
from maps.basemaps import Basemap, CoordTransform, projector
from maps.colouring import as_shape
from maps.layers import (
    building_layer,
    community_outline_layer,
    compound_layer,
    grid_layer,
    road_layer,
    site_feature_layers,
)


def community_bounds(community: dict) -> tuple[float, float, float, float]:
    """(min_lon, min_lat, max_lon, max_lat) of the community's geometry."""
    if not community.get("geometry"):
        raise ValueError("the community feature has no geometry")
    min_lon, min_lat, max_lon, max_lat = as_shape(community).bounds
    return (min_lon, min_lat, max_lon, max_lat)


def community_map(
    community: dict,
    grids: Sequence[dict],
    compounds: Sequence[dict] = (),
    buildings: Sequence[dict] = (),
    roads: Sequence[dict] = (),
    site_features: Sequence[dict] = (),
    *,
    tile_url: str | None = None,
    attribution: str = "",
    basemaps: Sequence[Basemap] = (),
    to_gcj02: CoordTransform | None = None,
    extra_layers: Sequence[folium.FeatureGroup] = (),
) -> folium.Map:
    """A finished map of one community, fitted to its outline, one toggleable layer per kind.

    Layers are drawn bottom to top: grids, outline, compounds, buildings, roads, site features,
    then ``extra_layers`` (e.g. workers, hazards, patrols). Empty layers are left out.
    Over a GCJ-02 basemap every feature is drawn converted by ``to_gcj02`` (see
    ``maps.basemaps.projector``); ``extra_layers`` must have been built from converted features.
    """
    draw = projector(basemaps, to_gcj02)
    (community,) = draw([community])
    m = base_map(community_bounds(community), tile_url, attribution, basemaps=basemaps)
    add_layers(
        m,
        [
            grid_layer(draw(grids)),
            community_outline_layer(community),
            compound_layer(draw(compounds)),
            building_layer(draw(buildings)),
            road_layer(draw(roads)),
            *site_feature_layers(draw(site_features)),
            *extra_layers,
        ],
    )
    return finish_map(m)
