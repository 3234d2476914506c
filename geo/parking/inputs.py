"""A compound's site for parking, from PostGIS or from an uploaded GeoJSON, in a local metric CRS.

From the database: the compound polygon and every building, road and site feature within 1 m
of it (gates lie on its edge, access roads run out of it). From GeoJSON: a FeatureCollection
whose features say what they are in ``properties.layer``: ``compound`` (one Polygon),
``building`` (Polygon, optional ``entrances`` [[lon, lat], ...]), ``road`` (LineString with
``width_m`` and ``kind``: internal_road, fire_lane, street or footpath), ``gate``, ``hydrant``,
``tree`` (Points), ``green_area``, ``keep_clear`` (Polygons); for the last five ``kind`` alone
(as Gridline's site features have it) is enough.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from geoalchemy2.shape import to_shape
from shapely.geometry import MultiPoint, Point, shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from geo import models as m
from geo.crs import LocalProjection, gcj02_to_wgs84_geometry
from geo.errors import InvalidInput, NotFound
from geo.parking.model import STALL_ANGLES, Road, Site, Stall, StallKind
from geo.validate import check_lonlat

NEAR_SQL = """
SELECT f.id FROM {table} f, compound c
WHERE c.id = :compound AND ST_Intersects(f.geom, ST_Buffer(c.geom::geography, 1.0)::geometry)
"""
POINT_KINDS = ("gate", "hydrant", "tree")
AREA_KINDS = ("green_area", "keep_clear")


@dataclass(frozen=True)
class Loaded:
    """A site in metres and the projection that made it."""

    site: Site
    projection: LocalProjection


def near_ids(session: Session, table: str, compound_id: int) -> list[int]:
    """Ids of the rows of ``table`` within 1 m of the compound."""
    rows = session.execute(text(NEAR_SQL.format(table=table)), {"compound": compound_id})
    return list(rows.scalars())


def site_from_db(session: Session, compound_id: int) -> Loaded:
    """The site of compound ``compound_id``."""
    compound = session.get(m.Compound, compound_id)
    if compound is None:
        raise NotFound(f"compound {compound_id} not found")
    boundary = to_shape(compound.geom)
    projection = LocalProjection.for_geometry(boundary)
    metric = projection.to_metric
    buildings = session.scalars(
        select(m.Building).where(m.Building.id.in_(near_ids(session, "building", compound_id)))
    ).all()
    roads = session.scalars(
        select(m.Road).where(m.Road.id.in_(near_ids(session, "road", compound_id)))
    ).all()
    features = session.scalars(
        select(m.SiteFeature).where(
            m.SiteFeature.id.in_(near_ids(session, "site_feature", compound_id))
        )
    ).all()
    entrances: list[Point] = []
    for b in buildings:
        if b.entrances is not None:
            entrances += [metric(p) for p in to_shape(b.entrances).geoms]

    def of(kind: str) -> list[BaseGeometry]:
        return [metric(to_shape(f.geom)) for f in features if str(f.kind) == kind]

    site = Site(
        boundary=metric(boundary),
        buildings=[metric(to_shape(b.geom)) for b in buildings],
        entrances=entrances,
        roads=[
            Road(metric(to_shape(r.geom)), r.width_m, str(r.kind), r.name or f"road {r.id}")
            for r in roads
        ],
        gates=of("gate"),
        hydrants=of("hydrant"),
        green=of("green_area"),
        trees=of("tree"),
        keep_clear=of("keep_clear"),
    )
    return Loaded(site, projection)


def _layer(feature: dict[str, Any], index: int) -> str:
    props = feature.get("properties") or {}
    layer = props.get("layer")
    if layer is None and props.get("kind") in (*POINT_KINDS, *AREA_KINDS):
        layer = props["kind"]
    known = ("compound", "building", "road", *POINT_KINDS, *AREA_KINDS)
    if layer not in known:
        raise InvalidInput(
            f"feature {index}: properties.layer must be one of {', '.join(known)}, not {layer!r}"
        )
    return str(layer)


def _geometry(feature: dict[str, Any], index: int, kinds: tuple[str, ...], to_wgs84) -> Any:
    try:
        geom = shape(feature["geometry"])
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
        raise InvalidInput(f"feature {index}: not a GeoJSON geometry ({exc})") from None
    if geom.geom_type not in kinds:
        raise InvalidInput(
            f"feature {index}: a {' or '.join(kinds)} is expected, not {geom.geom_type}"
        )
    if not geom.is_valid:
        raise InvalidInput(f"feature {index}: invalid geometry")
    geom = to_wgs84(geom)
    check_lonlat(geom, None)
    return geom


def site_from_geojson(collection: dict[str, Any], crs: str = "wgs84") -> Loaded:
    """The site described by an uploaded FeatureCollection (lon/lat, or GCJ-02)."""
    if not isinstance(collection, dict) or collection.get("type") != "FeatureCollection":
        raise InvalidInput("the site must be a GeoJSON FeatureCollection")
    convert: Callable[[Any], Any] = gcj02_to_wgs84_geometry if crs == "gcj02" else (lambda g: g)
    features = collection.get("features") or []
    parts: dict[str, list[tuple[BaseGeometry, dict]]] = {}
    for i, feature in enumerate(features):
        layer = _layer(feature, i)
        kinds = (
            ("Point",)
            if layer in POINT_KINDS
            else ("LineString",)
            if layer == "road"
            else ("Polygon",)
        )
        parts.setdefault(layer, []).append(
            (_geometry(feature, i, kinds, convert), feature.get("properties") or {})
        )
    compounds = parts.get("compound", [])
    if len(compounds) != 1:
        raise InvalidInput(f"the site needs exactly one compound polygon, not {len(compounds)}")
    boundary = compounds[0][0]
    projection = LocalProjection.for_geometry(boundary)
    metric = projection.to_metric
    roads = []
    for geom, props in parts.get("road", []):
        width = props.get("width_m")
        if not isinstance(width, int | float) or not 0 < width <= 100:
            raise InvalidInput(f"road {props.get('name') or ''}: width_m must be in (0, 100]")
        roads.append(
            Road(
                metric(geom),
                float(width),
                str(props.get("kind") or "internal_road"),
                str(props.get("name") or ""),
            )
        )
    entrances: list[Point] = []
    for _, props in parts.get("building", []):
        if props.get("entrances"):
            entrances += [metric(p) for p in convert(MultiPoint(props["entrances"])).geoms]

    def of(layer: str) -> list[BaseGeometry]:
        return [metric(g) for g, _ in parts.get(layer, [])]

    site = Site(
        boundary=metric(boundary),
        buildings=of("building"),
        entrances=entrances,
        roads=roads,
        gates=of("gate"),
        hydrants=of("hydrant"),
        green=of("green_area"),
        trees=of("tree"),
        keep_clear=of("keep_clear"),
    )
    return Loaded(site, projection)


def layout_from_geojson(
    collection: dict[str, Any], projection: LocalProjection, crs: str = "wgs84"
) -> tuple[list[Stall], list[BaseGeometry]]:
    """Stalls (and aisles) of a hand-drawn or imported layout: a FeatureCollection of Polygons,
    stalls with ``number`` (default: their order) and ``kind`` (default perpendicular),
    aisles marked ``layer: aisle``."""
    if not isinstance(collection, dict) or collection.get("type") != "FeatureCollection":
        raise InvalidInput("the layout must be a GeoJSON FeatureCollection")
    convert: Callable[[Any], Any] = gcj02_to_wgs84_geometry if crs == "gcj02" else (lambda g: g)
    stalls: list[Stall] = []
    aisles: list[BaseGeometry] = []
    for i, feature in enumerate(collection.get("features") or []):
        props = (feature or {}).get("properties") or {}
        geom = projection.to_metric(_geometry(feature, i, ("Polygon",), convert))
        if props.get("layer") == "aisle":
            aisles.append(geom)
            continue
        try:
            kind = StallKind(props.get("kind") or StallKind.PERPENDICULAR)
        except ValueError:
            raise InvalidInput(
                f"feature {i}: kind must be one of {', '.join(StallKind)}, not {props['kind']!r}"
            ) from None
        number = props.get("number", len(stalls) + 1)
        if not isinstance(number, int) or number < 1:
            raise InvalidInput(f"feature {i}: number must be a positive integer")
        angle = props.get("angle", STALL_ANGLES[kind])
        stalls.append(
            Stall(
                number,
                kind,
                geom,
                angle=float(angle),
                accessible=bool(props.get("accessible")),
                source="imported",
            )
        )
    numbers = [s.number for s in stalls]
    if len(set(numbers)) < len(numbers):
        raise InvalidInput("stall numbers must be unique")
    return stalls, aisles
