"""Planner inputs without a database: adjacency of shapely polygons, and the demo community.

The database side computes the same from PostGIS; this is for tests, benchmarks and offline use.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from geo.assignment.model import Edge, GridInfo, WorkerInfo
from geo.crs import LocalProjection
from geo.demo import DemoCommunity

MIN_SHARED_M = 0.01
"""Shared boundary length (metres) above which two grids are adjacent (a point does not count)."""


def edges_from_polygons(
    ids: Sequence[int], polygons: Sequence[BaseGeometry], min_shared_m: float = MIN_SHARED_M
) -> list[Edge]:
    """Edges between metric polygons whose boundaries share more than ``min_shared_m`` metres."""
    tree = shapely.STRtree(list(polygons))
    left, right = tree.query(list(polygons), predicate="intersects")
    edges = []
    for i, j in zip(left.tolist(), right.tolist(), strict=True):
        if i < j:
            common = polygons[i].boundary.intersection(polygons[j].boundary)
            if common.length > min_shared_m:
                a, b = sorted((ids[i], ids[j]))
                edges.append(Edge(a, b, float(common.length)))
    return sorted(edges, key=lambda e: (e.a, e.b))


def demo_inputs(
    community: DemoCommunity, today: dt.date
) -> tuple[list[GridInfo], list[Edge], list[WorkerInfo], list[BaseGeometry]]:
    """Grids (ids 1.., load = households), edges, grid workers (ids 1..) and metric polygons."""
    lonlat = [shape(f["geometry"]) for f in community.grids]
    projection = LocalProjection.for_geometry(shapely.union_all(lonlat))
    metric = [projection.to_metric(geom) for geom in lonlat]
    grids = [
        GridInfo(i, f["properties"]["code"], float(f["properties"]["households"]), _xy(geom))
        for i, (f, geom) in enumerate(zip(community.grids, metric, strict=True), start=1)
    ]
    edges = edges_from_polygons([g.id for g in grids], metric)
    team = [w for w in community.workers if w["role"] == "grid_worker"]
    workers = [
        WorkerInfo(
            i, w["name"], w["gender"], (today - dt.date.fromisoformat(w["hire_date"])).days / 365.25
        )
        for i, w in enumerate(team, start=1)
    ]
    return grids, edges, workers, metric


def _xy(geom: BaseGeometry) -> tuple[float, float]:
    c = geom.centroid
    return float(c.x), float(c.y)
