"""What the API and CLI do with parking layouts: generate a version from the database,
import or check a hand-drawn layout, generate for an uploaded site. A compound outside the scope
of the account asking (``by``; None for the CLI) is not found, like a missing one."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from geo import models as m
from geo.accounts import Principal
from geo.errors import NotFound
from geo.parking.check import check
from geo.parking.generate import generate
from geo.parking.inputs import Loaded, layout_from_geojson, site_from_db, site_from_geojson
from geo.parking.model import Layout, ParkingParams
from geo.parking.store import in_scope, layout_json, save, violation_dicts


def _site(session: Session, compound_id: int, by: Principal | None) -> Loaded:
    if by is not None and not in_scope(session, compound_id, by):
        raise NotFound(f"compound {compound_id} not found")
    return site_from_db(session, compound_id)


def generate_version(
    session: Session,
    compound_id: int,
    params: ParkingParams,
    note: str | None = None,
    by: Principal | None = None,
) -> m.ParkingLayout:
    """Generate a layout for a stored compound and keep it as its next draft version."""
    loaded = _site(session, compound_id, by)
    result = generate(loaded.site, params)
    return save(session, compound_id, result.layout, loaded, params, origin="generated", note=note)


def import_version(
    session: Session,
    compound_id: int,
    collection: dict[str, Any],
    params: ParkingParams,
    *,
    crs: str = "wgs84",
    note: str | None = None,
    by: Principal | None = None,
) -> m.ParkingLayout:
    """Keep a hand-drawn layout as the compound's next draft version (checked when read)."""
    loaded = _site(session, compound_id, by)
    stalls, aisles = layout_from_geojson(collection, loaded.projection, crs)
    layout = Layout(stalls, [], aisles)
    return save(session, compound_id, layout, loaded, params, origin="imported", note=note)


def check_layout(
    session: Session,
    compound_id: int,
    collection: dict[str, Any],
    params: ParkingParams,
    crs: str = "wgs84",
    by: Principal | None = None,
) -> dict[str, Any]:
    """The violations of a hand-drawn layout against a stored compound (nothing is kept)."""
    loaded = _site(session, compound_id, by)
    stalls, aisles = layout_from_geojson(collection, loaded.projection, crs)
    found = check(loaded.site, stalls, params, aisles=aisles)
    return {
        "compound": compound_id,
        "stalls": len(stalls),
        "compliant": not found,
        "violations": violation_dicts(found, loaded),
    }


def generate_for_site(
    collection: dict[str, Any], params: ParkingParams, crs: str = "wgs84"
) -> dict[str, Any]:
    """A layout for an uploaded site (nothing is kept)."""
    loaded = site_from_geojson(collection, crs)
    result = generate(loaded.site, params)
    return layout_json(result.layout, loaded, params)
