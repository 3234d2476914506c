"""Vector tiles: ``/tiles/{layer}/{z}/{x}/{y}.mvt`` and a TileJSON document per layer."""

from fastapi import APIRouter, Request, Response

from api.auth import PrincipalDep
from api.deps import SessionDep
from geo import tiles
from geo.ogc import items as store

router = APIRouter(prefix="/tiles", tags=["vector tiles"])

MVT = "application/vnd.mapbox-vector-tile"


@router.get(
    "/{layer}/{z}/{x}/{y}.mvt",
    summary="A vector tile (web mercator, 4096 extent)",
    response_class=Response,
    responses={200: {"content": {MVT: {}}}},
)
def tile(
    session: SessionDep, principal: PrincipalDep, layer: str, z: int, x: int, y: int
) -> Response:
    """grids, hazards (no personal data, only within the account's scope) or stalls; an empty
    tile has an empty body."""
    body = tiles.tile(session, layer, z, x, y, principal.scope)
    return Response(body, media_type=MVT, headers={"Cache-Control": "private, max-age=60"})


@router.get("/{layer}.json", summary="TileJSON 3.0 of a layer")
def tilejson(request: Request, session: SessionDep, principal: PrincipalDep, layer: str) -> dict:
    source = tiles.layer(layer)
    root = str(request.base_url).rstrip("/")
    bounds = store.extent(session, source, principal.scope) or [-180.0, -85.05, 180.0, 85.05]
    return {
        "tilejson": "3.0.0",
        "name": layer,
        "description": source.description,
        "tiles": [f"{root}/tiles/{layer}/{{z}}/{{x}}/{{y}}.mvt"],
        "minzoom": tiles.MIN_ZOOM,
        "maxzoom": tiles.MAX_ZOOM,
        "bounds": bounds,
        "vector_layers": [{"id": layer, "fields": tiles.fields(layer)}],
    }
