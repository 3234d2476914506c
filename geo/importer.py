"""Bulk import of GeoJSON, GeoPackage and Shapefile into any layer, all or nothing.

Files are read into plain GeoJSON-like features (GeoJSON with :mod:`json` so that the raw
coordinates reach the checks, other formats with pyogrio/GDAL), transformed to WGS84 from the
given or declared CRS (and from GCJ-02 when asked), checked feature by feature, then written
in the caller's transaction. Any bad feature refuses the whole batch, naming every bad one.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyogrio.raw
import shapely
from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry
from sqlalchemy.orm import Session

from geo import crs as gcrs
from geo.accounts import Principal
from geo.db import get_settings
from geo.errors import FeatureProblem, FeaturesRejected, InvalidInput, PayloadTooLarge
from geo.features import Transform, insert, prepare
from geo.layers import Layer


@dataclass
class Source:
    """Features read from a file or a request body, in their source CRS."""

    features: list[Any]
    crs: str | None = None
    problems: list[FeatureProblem] = field(default_factory=list)


def from_geojson(obj: Any) -> Source:
    """A FeatureCollection or a single Feature; a legacy ``crs`` member gives its CRS."""
    if not isinstance(obj, dict):
        raise InvalidInput("expected a GeoJSON FeatureCollection or Feature")
    kind = obj.get("type")
    if kind == "Feature":
        features = [obj]
    elif kind == "FeatureCollection" and isinstance(obj.get("features"), list):
        features = obj["features"]
    else:
        raise InvalidInput("expected a GeoJSON FeatureCollection or Feature")
    return Source(features, _declared_crs(obj.get("crs")))


def _declared_crs(member: Any) -> str | None:
    if member is None:
        return None
    name = member.get("properties", {}).get("name") if isinstance(member, dict) else None
    if not isinstance(name, str):
        raise InvalidInput("the crs member is not a named CRS")
    return name


def read_file(path: Path, layer: str | None = None) -> Source:
    """Read a GeoJSON file, or any vector file GDAL reads (GeoPackage, Shapefile, ...)."""
    if not path.exists():
        raise InvalidInput(f"{path}: no such file")
    if path.suffix.lower() in (".geojson", ".json"):
        try:
            obj = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InvalidInput(f"{path}: not valid JSON ({exc})") from None
        return from_geojson(obj)
    try:
        meta, fids, geoms, values = pyogrio.raw.read(path, layer=layer, return_fids=True)
    except Exception as exc:  # GDAL reports unreadable files with many exception types
        raise InvalidInput(f"{path}: cannot read ({exc})") from None
    names = list(meta["fields"])
    columns = [_python_values(v) for v in values]
    features, problems = [], []
    for i, fid in enumerate(fids.tolist()):
        props = {name: col[i] for name, col in zip(names, columns, strict=True)}
        try:
            geometry = mapping(shapely.from_wkb(geoms[i])) if geoms[i] is not None else None
        except shapely.errors.GEOSException as exc:
            problems.append(FeatureProblem(i, str(fid), f"unreadable geometry: {exc}"))
            geometry = None
        features.append({"type": "Feature", "id": fid, "geometry": geometry, "properties": props})
    return Source(features, meta.get("crs"), problems)


def _python_values(column: np.ndarray) -> list[Any]:
    values = column.tolist()
    return [None if isinstance(v, float) and math.isnan(v) else v for v in values]


def make_transform(source_crs: str | None, from_gcj02: bool) -> Transform | None:
    """The function taking source coordinates to WGS84 lon/lat, or None when they are."""
    steps: list[Transform] = []
    if source_crs is not None and not gcrs.is_wgs84(source_crs):
        steps.append(lambda g: gcrs.reproject_to_wgs84(g, source_crs))
    if from_gcj02:
        steps.append(gcrs.gcj02_to_wgs84_geometry)
    if not steps:
        return None

    def transform(geom: BaseGeometry) -> BaseGeometry:
        for step in steps:
            geom = step(geom)
        return geom

    return transform


def import_features(
    session: Session,
    layer: Layer,
    source: Source,
    *,
    parent: str | None = None,
    source_crs: str | None = None,
    from_gcj02: bool = False,
    principal: Principal | None = None,
) -> list[int]:
    """Check and insert every feature of ``source``; the ids written, or FeaturesRejected
    (OutsideArea when a feature lies outside ``principal``'s area)."""
    if not source.features and not source.problems:
        raise InvalidInput("no features to import")
    limit = get_settings().max_import_features
    if len(source.features) > limit:
        raise PayloadTooLarge(
            f"{len(source.features):,} features are more than one import may hold "
            f"(GRIDLINE_MAX_IMPORT_FEATURES = {limit:,}); split the file"
        )
    transform = make_transform(source_crs or source.crs, from_gcj02)
    area = get_settings().service_area
    try:
        candidates = prepare(layer, source.features, transform=transform, service_area=area)
    except FeaturesRejected as exc:
        raise FeaturesRejected(_merge(source.problems, exc.problems)) from None
    if source.problems:
        raise FeaturesRejected(source.problems)
    return insert(session, layer, candidates, parent=parent, principal=principal)


def _merge(*groups: Sequence[FeatureProblem]) -> list[FeatureProblem]:
    seen = {}
    for problem in (p for group in groups for p in group):
        seen.setdefault(problem.index, problem)
    return [seen[i] for i in sorted(seen)]
