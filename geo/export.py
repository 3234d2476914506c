"""Export any layer to GeoJSON or GeoPackage."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyogrio.raw
import shapely
from shapely.geometry import shape
from sqlalchemy.orm import Session

from geo.errors import InvalidInput
from geo.features import list_features
from geo.layers import Layer

FORMATS = {".geojson": "GeoJSON", ".json": "GeoJSON", ".gpkg": "GPKG"}


def collect(session: Session, layer: Layer, parent: str | None = None) -> dict[str, Any]:
    """Every current feature of a layer (of one parent when given) as a FeatureCollection."""
    page = list_features(session, layer, parent=parent, limit=None)
    return {"type": "FeatureCollection", "features": page.features}


def write(collection: dict[str, Any], path: Path, layer_name: str) -> int:
    """Write a FeatureCollection to ``path`` (format from the suffix); the feature count."""
    driver = FORMATS.get(path.suffix.lower())
    if driver is None:
        raise InvalidInput(f"cannot export to {path.name}: use .geojson or .gpkg")
    features = collection["features"]
    if driver == "GeoJSON":
        path.write_text(json.dumps(collection, ensure_ascii=False), encoding="utf-8")
        return len(features)
    if not features:
        raise InvalidInput("nothing to export: the layer is empty")
    path.unlink(missing_ok=True)
    names = list(features[0]["properties"])
    fields, masks = [], []
    for name in names:
        array, mask = _column([f["properties"][name] for f in features])
        fields.append(array)
        masks.append(mask)
    geoms = shapely.to_wkb([shape(f["geometry"]) for f in features])
    kinds = {f["geometry"]["type"] for f in features}
    pyogrio.raw.write(
        path,
        np.asarray(geoms, dtype=object),
        fields,
        names,
        field_mask=masks,
        layer=layer_name,
        driver=driver,
        geometry_type=kinds.pop() if len(kinds) == 1 else "Unknown",
        crs="EPSG:4326",
        encoding="UTF-8",
    )
    return len(features)


def _column(values: list[Any]) -> tuple[np.ndarray, np.ndarray]:
    """A typed numpy column and its null mask (lists are written as JSON text)."""
    mask = np.array([v is None for v in values])
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, bool) for v in present):
        return np.array([bool(v) for v in values]), mask
    if present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return np.array([v or 0 for v in values], dtype=np.int64), mask
    if present and all(isinstance(v, int | float) for v in present):
        return np.array([v if v is not None else 0.0 for v in values], dtype=np.float64), mask
    text = [v if isinstance(v, str) or v is None else json.dumps(v) for v in values]
    return np.array(text, dtype=object), mask
