"""The feature layers: their tables, geometry types, property schemas and parents.

One :class:`Layer` per table lets the CRUD routes, the importer and the exporter treat every
layer alike. Property schemas ignore unknown keys (shapefiles carry many columns) but refuse
wrong types and values with a message naming the property.

Who may change a layer (:attr:`Layer.writers`, :func:`in_area`): an admin any layer anywhere;
a street account communities and the layers below them, inside its street; a community office
the layers below communities, inside its community; leaders, workers and viewers none. Every
layer a street or office account may write has a parent column (communities a street, the
others a community), and that parent decides "inside" — for the new version and, on replace or
delete, the stored one. Writes also keep each feature inside its parent's geometry (roads need
only reach their community), so a community written by a street account lies in its street.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from geo import models as m
from geo.accounts import Principal
from geo.errors import Forbidden, NotFound

Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Count = Annotated[int, Field(ge=0, le=10_000_000)]


class Properties(BaseModel):
    """Base of the per-layer property schemas."""

    model_config = ConfigDict(extra="ignore", use_enum_values=True)


class DistrictProperties(Properties):
    code: Code
    name: Name


class StreetProperties(Properties):
    code: Code
    name: Name
    district: Code | None = None


class CommunityProperties(Properties):
    code: Code
    name: Name
    street: Code | None = None
    office: tuple[float, float] | None = None
    """Where the community office is (lon, lat): patrols start and end there."""


class GridProperties(Properties):
    code: Code
    name: Name
    households: Count = 0
    population: Count = 0
    note: str | None = None
    community: Code | None = None


class CompoundProperties(Properties):
    name: Name
    has_property_management: bool
    year_built: Annotated[int, Field(ge=1800, le=2100)] | None = None
    households: Count = 0
    population: Count = 0
    community: Code | None = None


class BuildingProperties(Properties):
    name: Name
    floors: Annotated[int, Field(ge=1, le=200)]
    units: Annotated[int, Field(ge=0, le=100)] = 1
    entrances: list[tuple[float, float]] | None = None
    community: Code | None = None


class RoadProperties(Properties):
    name: Name | None = None
    kind: m.RoadKind
    width_m: Annotated[float, Field(gt=0, le=100)]
    community: Code | None = None


class SiteFeatureProperties(Properties):
    kind: m.SiteFeatureKind
    name: Name | None = None
    community: Code | None = None


@dataclass(frozen=True)
class Layer:
    """A table of features and how its GeoJSON maps to it."""

    name: str
    model: type[m.Base]
    geometry_type: str
    properties: type[Properties]
    parent: str | None
    """Name of the parent layer ("district", "street", "community"), or None."""
    label: str
    """Property that names a feature in messages."""
    fields: tuple[str, ...]
    """Properties stored as columns of the same name."""

    @property
    def parent_model(self) -> type[m.Base] | None:
        return PARENT_MODELS.get(self.parent) if self.parent else None

    @property
    def parent_column(self) -> str | None:
        return f"{self.parent}_id" if self.parent else None

    @property
    def writers(self) -> tuple[m.AccountRole, ...]:
        """Roles that may change this layer (each inside its area)."""
        return WRITERS_BY_PARENT[self.parent]


PARENT_MODELS: dict[str, type[m.Base]] = {
    "district": m.District,
    "street": m.Street,
    "community": m.Community,
}

_PLACE = ("code", "name")
LAYERS: dict[str, Layer] = {
    layer.name: layer
    for layer in (
        Layer("districts", m.District, "MULTIPOLYGON", DistrictProperties, None, "code", _PLACE),
        Layer("streets", m.Street, "MULTIPOLYGON", StreetProperties, "district", "code", _PLACE),
        Layer(
            "communities",
            m.Community,
            "MULTIPOLYGON",
            CommunityProperties,
            "street",
            "code",
            _PLACE,
        ),
        Layer(
            "grids",
            m.Grid,
            "POLYGON",
            GridProperties,
            "community",
            "code",
            ("code", "name", "households", "population", "note"),
        ),
        Layer(
            "compounds",
            m.Compound,
            "POLYGON",
            CompoundProperties,
            "community",
            "name",
            ("name", "has_property_management", "year_built", "households", "population"),
        ),
        Layer(
            "buildings",
            m.Building,
            "POLYGON",
            BuildingProperties,
            "community",
            "name",
            ("name", "floors", "units"),
        ),
        Layer(
            "roads",
            m.Road,
            "LINESTRING",
            RoadProperties,
            "community",
            "name",
            ("name", "kind", "width_m"),
        ),
        Layer(
            "site-features",
            m.SiteFeature,
            "GEOMETRY",
            SiteFeatureProperties,
            "community",
            "name",
            ("kind", "name"),
        ),
    )
}

REFERENCE_WRITERS = (m.AccountRole.ADMIN, m.AccountRole.STREET, m.AccountRole.OFFICE)
"""Roles that may change reference data (workers, roles, grids...), each inside its area."""
WRITERS_BY_PARENT: dict[str | None, tuple[m.AccountRole, ...]] = {
    None: (m.AccountRole.ADMIN,),
    "district": (m.AccountRole.ADMIN,),
    "street": (m.AccountRole.ADMIN, m.AccountRole.STREET),
    "community": REFERENCE_WRITERS,
}
"""Who may write a layer, by its parent: districts and streets admin only, communities also a
street account, the layers below communities also a community office."""

COMPOUND_MEMBERS = ("buildings", "roads", "site-features")
"""Layers whose features are linked to the compound they lie in."""


def get_layer(name: str) -> Layer:
    """The layer called ``name`` (also accepting ``site_features``), or NotFound."""
    layer = LAYERS.get(name.replace("_", "-"))
    if layer is None:
        raise NotFound(f"unknown layer {name!r}; layers: {', '.join(LAYERS)}")
    return layer


def require_role(
    principal: Principal, action: str, roles: tuple[m.AccountRole, ...] = REFERENCE_WRITERS
) -> None:
    """Forbidden, naming the role and ``roles``, unless the account may ``action``."""
    if principal.role not in roles:
        names = ", ".join(r.value for r in roles)
        raise Forbidden(
            f"{_article(principal.role)} {principal.role.value} account may not {action}"
            f" (only: {names})"
        )


def _article(role: m.AccountRole) -> str:
    return "an" if role.value[0] in "aeiou" else "a"


def in_area(principal: Principal, layer: Layer, parent_id: int | None) -> bool:
    """Whether a feature of ``layer`` under parent ``parent_id`` is inside the account's area:
    a community in its street (street accounts), any other feature in a community it serves."""
    if principal.scope.everywhere:
        return True
    if layer.parent == "street":
        return parent_id is not None and parent_id == principal.street_id
    return layer.parent == "community" and principal.scope.covers(parent_id, None)


def outside_area(principal: Principal, what: str) -> str:
    """The message for a write of ``what`` outside the account's area."""
    return f"{what} is outside the area account {principal.username!r} serves"


def plain(value: Any) -> Any:
    """A JSON-ready value: dates as ISO strings, enums as their values."""
    if isinstance(value, dt.date):
        return value.isoformat()
    return getattr(value, "value", value)
