"""Map colouring: polygons that share an edge get different colours.

Adjacency is computed with shapely (shared boundary of positive length, or overlap); corner-only
contact does not count. Colours come from a greedy colouring in *smallest-last* order, which
uses at most ``degeneracy + 1`` colours: at most 6 for any planar map, so an 8-colour palette
never runs out for grids that tile a community without overlapping.
"""

from __future__ import annotations

from collections.abc import Sequence

import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from maps.style import GRID_PALETTE


def adjacency(geoms: Sequence[BaseGeometry]) -> list[set[int]]:
    """Neighbour sets by index: ``j in result[i]`` iff geoms i and j share an edge or overlap."""
    neighbours: list[set[int]] = [set() for _ in geoms]
    if not geoms:
        return neighbours
    tree = shapely.STRtree(list(geoms))
    left, right = tree.query(list(geoms), predicate="intersects")
    for i, j in zip(left.tolist(), right.tolist(), strict=True):
        if i < j and geoms[i].intersection(geoms[j]).length > 0:
            neighbours[i].add(j)
            neighbours[j].add(i)
    return neighbours


def smallest_last_order(neighbours: Sequence[set[int]]) -> list[int]:
    """Vertices in smallest-last order (ties broken by lowest index, so deterministic)."""
    degree = {v: len(ns) for v, ns in enumerate(neighbours)}
    removed: list[int] = []
    while degree:
        v = min(degree, key=lambda u: (degree[u], u))
        del degree[v]
        removed.append(v)
        for u in neighbours[v]:
            if u in degree:
                degree[u] -= 1
    return removed[::-1]


def colour_graph(neighbours: Sequence[set[int]]) -> list[int]:
    """Colour index per vertex (0, 1, ...) such that neighbours never share an index."""
    colours: list[int] = [-1] * len(neighbours)
    for v in smallest_last_order(neighbours):
        taken = {colours[u] for u in neighbours[v]}
        colours[v] = next(c for c in range(len(neighbours) + 1) if c not in taken)
    return colours


def colour_geometries(
    geoms: Sequence[BaseGeometry], palette: Sequence[str] = GRID_PALETTE
) -> list[str]:
    """A palette colour per geometry; edge-adjacent geometries differ.

    Should a pathological (non-planar, overlapping) input need more colours than the palette
    has, the indices wrap around the palette.
    """
    if not palette:
        raise ValueError("palette must not be empty")
    return [palette[i % len(palette)] for i in colour_graph(adjacency(geoms))]


def colour_features(features: Sequence[dict], palette: Sequence[str] = GRID_PALETTE) -> list[str]:
    """A palette colour per GeoJSON Feature (see ``colour_geometries``)."""
    return colour_geometries([as_shape(f) for f in features], palette)


def as_shape(feature: dict) -> BaseGeometry:
    """The shapely geometry of a GeoJSON Feature, repaired if invalid."""
    geom = shape(feature["geometry"])
    return geom if geom.is_valid else shapely.make_valid(geom)
