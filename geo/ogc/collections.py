"""The feature collections Gridline publishes through OGC API Features, and their queryables.

Each collection is one SQL source with an allow-list of properties (name -> SQL expression and
type); nothing else can be selected or filtered on. Hazards are published without personal
data (no reporter, no contact, no description: free text may name people, no assignee) and only
within the account's scope.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from geo.ogc.cql2 import Column


@dataclass(frozen=True)
class Collection:
    id: str
    title: str
    description: str
    source: str
    """FROM clause (trusted)."""
    key: str
    """SQL of the feature id (an integer)."""
    geometry: str
    """SQL of the geometry (SRID 4326)."""
    properties: dict[str, Column]
    where: str = "true"
    """A fixed condition (trusted), e.g. only current grids."""
    geometry_type: str = "Geometry"
    temporal: str | None = None
    """Property the ``datetime`` parameter filters on, if any."""
    scoped_by: tuple[str, str] | None = None
    """SQL of the community and grid ids when rows are shown only within the account's scope
    (``geo.accounts.Scope``); None: every signed-in account sees every row."""
    links: list[dict] = field(default_factory=list)

    @property
    def queryables(self) -> dict[str, Column]:
        """Properties usable in filters, the geometry included (as ``geometry``)."""
        return {**self.properties, "geometry": Column(self.geometry, "geometry")}


def _text(sql: str) -> Column:
    return Column(sql, "text")


def _int(sql: str) -> Column:
    return Column(sql, "integer")


def _num(sql: str) -> Column:
    return Column(sql, "number")


COLLECTIONS: dict[str, Collection] = {
    c.id: c
    for c in (
        Collection(
            "grids",
            "网格 Grids",
            "Current grids (网格) of every community: code, name, households, population.",
            "grid g JOIN community c ON c.id = g.community_id",
            "g.id",
            "g.geom",
            {
                "code": _text("g.code"),
                "name": _text("g.name"),
                "community": _text("c.code"),
                "households": _int("g.households"),
                "population": _int("g.population"),
                "valid_from": Column("g.valid_from", "date"),
            },
            where="g.valid_to IS NULL",
            geometry_type="Polygon",
        ),
        Collection(
            "communities",
            "社区 Communities",
            "Communities with the street they belong to.",
            "community c JOIN street s ON s.id = c.street_id",
            "c.id",
            "c.geom",
            {"code": _text("c.code"), "name": _text("c.name"), "street": _text("s.code")},
            geometry_type="MultiPolygon",
        ),
        Collection(
            "compounds",
            "小区 Compounds",
            "Residential compounds; has_property_management false marks 无物业 compounds.",
            "compound p JOIN community c ON c.id = p.community_id",
            "p.id",
            "p.geom",
            {
                "name": _text("p.name"),
                "community": _text("c.code"),
                "has_property_management": Column("p.has_property_management", "boolean"),
                "year_built": _int("p.year_built"),
                "households": _int("p.households"),
                "population": _int("p.population"),
            },
            geometry_type="Polygon",
        ),
        Collection(
            "buildings",
            "楼栋 Buildings",
            "Building footprints with floors and stairwell units.",
            "building b JOIN community c ON c.id = b.community_id",
            "b.id",
            "b.geom",
            {
                "name": _text("b.name"),
                "community": _text("c.code"),
                "compound_id": _int("b.compound_id"),
                "floors": _int("b.floors"),
                "units": _int("b.units"),
            },
            geometry_type="Polygon",
        ),
        Collection(
            "roads",
            "道路 Roads",
            "Road centre lines: streets, internal roads, fire lanes, footpaths; width in metres.",
            "road r JOIN community c ON c.id = r.community_id",
            "r.id",
            "r.geom",
            {
                "name": _text("r.name"),
                "kind": _text("r.kind"),
                "width_m": _num("r.width_m"),
                "community": _text("c.code"),
                "compound_id": _int("r.compound_id"),
            },
            geometry_type="LineString",
        ),
        Collection(
            "hazards",
            "隐患 Hazards and cases",
            "Hazards and residents' cases without personal data (no reporter, contact, "
            "description or assignee).",
            "hazard h JOIN community c ON c.id = h.community_id "
            "LEFT JOIN grid g ON g.id = h.grid_id",
            "h.id",
            "h.geom",
            {
                "kind": _text("h.kind"),
                "category": _text("h.category"),
                "severity": _text("h.severity"),
                "state": _text("h.state"),
                "origin": _text("h.origin"),
                "community": _text("c.code"),
                "grid": _text("g.code"),
                "reported_at": Column("h.reported_at", "timestamp"),
                "deadline": Column("h.deadline", "timestamp"),
                "closed_at": Column("h.closed_at", "timestamp"),
            },
            geometry_type="Point",
            temporal="reported_at",
            scoped_by=("h.community_id", "h.grid_id"),
        ),
        Collection(
            "parking-stalls",
            "车位 Parking stalls",
            "Car stalls of every stored parking layout version, with its status.",
            "parking_stall s JOIN parking_layout l ON l.id = s.layout_id "
            "JOIN compound p ON p.id = l.compound_id",
            "s.id",
            "s.geom",
            {
                "number": _int("s.number"),
                "kind": _text("s.kind"),
                "angle": _num("s.angle"),
                "accessible": Column("s.accessible", "boolean"),
                "compound_id": _int("l.compound_id"),
                "compound": _text("p.name"),
                "version": _int("l.version"),
                "status": _text("l.status"),
            },
            geometry_type="Polygon",
        ),
    )
}
