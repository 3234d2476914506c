"""CRUD, import and export routes for every feature layer, built from its :class:`Layer`.

Every signed-in account reads; writes follow :mod:`geo.layers`: the role must be one of the
layer's writers (else 403), a stored feature outside the account's area is a 404 like a missing
id, and a new version outside it is a 403 naming each such feature (an import writes nothing).
"""

import datetime as dt
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Body, Depends, Query, Request, Response
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from api.auth import PrincipalDep
from api.deps import BboxDep, PagingDep, SessionDep, SettingsDep
from api.responses import GEOJSON, GeoJSONResponse, content
from geo import export, features
from geo.accounts import Principal
from geo.errors import InvalidInput
from geo.importer import from_geojson, import_features
from geo.layers import LAYERS, Layer, require_role

GEOPACKAGE = "application/geopackage+sqlite3"
FEATURE_EXAMPLE = {
    "type": "Feature",
    "geometry": {
        "type": "Polygon",
        "coordinates": [[[120.72, 27.97], [120.722, 27.97], [120.722, 27.972], [120.72, 27.97]]],
    },
    "properties": {"code": "22", "name": "第22网格", "community": "330303003001"},
}


def page_links(request: Request, limit: int, offset: int, returned: int, matched: int) -> list:
    links = [{"rel": "self", "type": GEOJSON, "href": str(request.url)}]
    if offset + returned < matched:
        href = request.url.include_query_params(offset=offset + limit, limit=limit)
        links.append({"rel": "next", "type": GEOJSON, "href": str(href)})
    if offset > 0:
        href = request.url.include_query_params(offset=max(offset - limit, 0), limit=limit)
        links.append({"rel": "prev", "type": GEOJSON, "href": str(href)})
    return links


def attachment(filename: str) -> dict[str, str]:
    """Content-Disposition of a download as Starlette's FileResponse writes it: a name that is
    not plain is percent-encoded (RFC 6266 ``filename*``), so no header can be broken."""
    quoted = quote(filename)
    if quoted != filename:
        return {"Content-Disposition": f"attachment; filename*=utf-8''{quoted}"}
    return {"Content-Disposition": f'attachment; filename="{filename}"'}


def collection(feats: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": feats, **extra}


def layer_router(layer: Layer) -> APIRouter:
    """The routes of one layer under ``/{layer.name}``."""
    router = APIRouter(prefix=f"/{layer.name}", tags=[layer.name])
    # Built per layer, so this module cannot use postponed annotations.
    parent_query = Query(alias=layer.parent or "parent", description=f"code of the {layer.parent}")

    def writer(principal: PrincipalDep) -> Principal:
        require_role(principal, f"change {layer.name}", layer.writers)
        return principal

    WriterDep = Annotated[Principal, Depends(writer)]

    @router.get(
        "",
        summary=f"List {layer.name} (GeoJSON FeatureCollection, paged)",
        response_class=GeoJSONResponse,
    )
    def list_layer(
        request: Request,
        session: SessionDep,
        page: PagingDep,
        bbox: BboxDep,
        parent: Annotated[str | None, parent_query] = None,
        as_of: Annotated[
            dt.date | None, Query(description="grids only: the grids of a community on a date")
        ] = None,
    ) -> GeoJSONResponse:
        limit, offset = page
        if as_of is not None:
            if layer.name != "grids" or parent is None:
                raise InvalidInput("as_of applies to grids and needs community=CODE")
            feats = features.grids_as_of(session, layer, parent, as_of)
            body = collection(feats, numberMatched=len(feats), numberReturned=len(feats))
            return GeoJSONResponse(body)
        found = features.list_features(
            session, layer, parent=parent, bbox=bbox, limit=limit, offset=offset
        )
        returned = len(found.features)
        body = collection(
            found.features,
            numberMatched=found.matched,
            numberReturned=returned,
            links=page_links(request, limit, offset, returned, found.matched),
        )
        return GeoJSONResponse(body)

    @router.post(
        "",
        status_code=201,
        summary=f"Create one of the {layer.name}",
        response_class=GeoJSONResponse,
    )
    def create(
        session: SessionDep,
        settings: SettingsDep,
        principal: WriterDep,
        feature: Annotated[dict[str, Any], Body(examples=[FEATURE_EXAMPLE])],
    ) -> GeoJSONResponse:
        candidates = features.prepare(layer, [feature], service_area=settings.service_area)
        (new_id,) = features.insert(session, layer, candidates, principal=principal)
        body = features.get_feature(session, layer, new_id)
        headers = {"Location": f"/{layer.name}/{new_id}"}
        return GeoJSONResponse(body, status_code=201, headers=headers)

    @router.post("/import", status_code=201, summary=f"Import {layer.name}, all or nothing")
    def import_layer(
        session: SessionDep,
        principal: WriterDep,
        collection_in: Annotated[dict[str, Any], Body(description="a GeoJSON FeatureCollection")],
        parent: Annotated[str | None, parent_query] = None,
        crs: Annotated[str | None, Query(description="source CRS, e.g. EPSG:4547")] = None,
        from_gcj02: Annotated[bool, Query(description="coordinates are GCJ-02")] = False,
    ) -> dict[str, Any]:
        source = from_geojson(collection_in)
        ids = import_features(
            session,
            layer,
            source,
            parent=parent,
            source_crs=crs,
            from_gcj02=from_gcj02,
            principal=principal,
        )
        return {"layer": layer.name, "imported": len(ids), "ids": ids}

    @router.get(
        "/export",
        summary=f"Export {layer.name} as GeoJSON or GeoPackage",
        response_class=Response,
        responses=content(GEOJSON, GEOPACKAGE),
    )
    def export_layer(
        session: SessionDep,
        parent: Annotated[str | None, parent_query] = None,
        format: Literal["geojson", "gpkg"] = "geojson",
    ) -> Response:
        data = export.collect(session, layer, parent)
        name = f"{layer.name}{'-' + parent if parent else ''}"
        if format == "geojson":
            return GeoJSONResponse(data, headers=attachment(f"{name}.geojson"))
        folder = Path(tempfile.mkdtemp(prefix="gridline-export-"))
        path = folder / f"{layer.name}.gpkg"
        export.write(data, path, layer.name.replace("-", "_"))
        return FileResponse(
            path,
            media_type=GEOPACKAGE,
            filename=f"{name}.gpkg",
            background=BackgroundTask(_remove, folder),
        )

    @router.get("/{feature_id}", summary=f"One of the {layer.name}", response_class=GeoJSONResponse)
    def read(session: SessionDep, feature_id: int) -> GeoJSONResponse:
        return GeoJSONResponse(features.get_feature(session, layer, feature_id))

    @router.put(
        "/{feature_id}",
        summary=f"Replace one of the {layer.name}",
        response_class=GeoJSONResponse,
    )
    def replace(
        session: SessionDep,
        settings: SettingsDep,
        principal: WriterDep,
        feature_id: int,
        feature: Annotated[dict[str, Any], Body(examples=[FEATURE_EXAMPLE])],
    ) -> GeoJSONResponse:
        (candidate,) = features.prepare(layer, [feature], service_area=settings.service_area)
        features.update(session, layer, feature_id, candidate, principal=principal)
        return GeoJSONResponse(features.get_feature(session, layer, feature_id))

    @router.delete("/{feature_id}", status_code=204, summary=f"Delete one of the {layer.name}")
    def remove(session: SessionDep, principal: WriterDep, feature_id: int) -> Response:
        features.delete(session, layer, feature_id, principal=principal)
        return Response(status_code=204)

    if layer.name == "grids":

        @router.get(
            "/{feature_id}/history",
            summary="Every version of a grid, oldest first",
            response_class=GeoJSONResponse,
        )
        def history(session: SessionDep, feature_id: int) -> GeoJSONResponse:
            body = collection(features.grid_history(session, layer, feature_id))
            return GeoJSONResponse(body)

    return router


def _remove(folder: Path) -> None:
    for child in folder.iterdir():
        child.unlink()
    folder.rmdir()


routers = [layer_router(layer) for layer in LAYERS.values()]
