"""OGC API - Features (Part 1 Core and GeoJSON; Part 3 filtering with basic CQL2 text and
S_INTERSECTS) under ``/ogc``, for QGIS, GDAL and other GIS clients. The API definition is
FastAPI's OpenAPI 3.1 document (so the OpenAPI 3.0 conformance class is not claimed).

Items default to ``DEFAULT_LIMIT`` features a page and at most ``GRIDLINE_PAGE_SIZE_MAX``
(a larger limit is reduced to it, as the standard allows); coordinates are CRS84 lon/lat.
Unknown query parameters, a malformed bbox or datetime and any CQL2 the server does not support
give 400 with the reason. The ``hazards`` collection shows only what lies within the account's
scope (items, counts, extent); a hazard outside it is not found, like a missing one.
"""

import datetime as dt
import json
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request, Response

from api.auth import PrincipalDep
from api.deps import MAX_OFFSET, SessionDep, SettingsDep
from api.responses import GEOJSON, JSONResponse, content
from geo.errors import BadRequest, InvalidInput, NotFound
from geo.ogc import items as store
from geo.ogc.collections import COLLECTIONS, Collection

router = APIRouter(prefix="/ogc", tags=["OGC API Features"])

DEFAULT_LIMIT = 100
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
SCHEMA_JSON = "application/schema+json"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
]
ITEM_PARAMS = {"limit", "offset", "bbox", "bbox-crs", "datetime", "filter", "filter-lang", "f"}


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/ogc"


def _json(body: Any, media_type: str = "application/json") -> JSONResponse:
    return JSONResponse(body, media_type=media_type)


def _collection(collection_id: str) -> Collection:
    found = COLLECTIONS.get(collection_id)
    if found is None:
        raise NotFound(f"collection {collection_id!r} not found; see /ogc/collections")
    return found


@router.get("", summary="Landing page")
def landing(request: Request) -> JSONResponse:
    base = _base(request)
    root = str(request.base_url).rstrip("/")
    return _json(
        {
            "title": "Gridline",
            "description": "Community grid governance (网格化管理): grids, compounds, buildings, "
            "roads, hazards and parking stalls as OGC API Features.",
            "links": [
                {"rel": "self", "type": "application/json", "title": "this document", "href": base},
                {
                    "rel": "service-desc",
                    "type": "application/vnd.oai.openapi+json;version=3.1",
                    "title": "the API definition",
                    "href": f"{root}/openapi.json",
                },
                {
                    "rel": "service-doc",
                    "type": "text/html",
                    "title": "the API documentation",
                    "href": f"{root}/docs",
                },
                {
                    "rel": "conformance",
                    "type": "application/json",
                    "title": "conformance classes",
                    "href": f"{base}/conformance",
                },
                {
                    "rel": "data",
                    "type": "application/json",
                    "title": "the collections",
                    "href": f"{base}/collections",
                },
            ],
        }
    )


@router.get("/conformance", summary="Conformance classes")
def conformance() -> JSONResponse:
    return _json({"conformsTo": CONFORMANCE})


def _describe(request: Request, collection: Collection, bbox: list[float] | None) -> dict:
    href = f"{_base(request)}/collections/{collection.id}"
    return {
        "id": collection.id,
        "title": collection.title,
        "description": collection.description,
        "itemType": "feature",
        "crs": [CRS84],
        "storageCrs": CRS84,
        "extent": {"spatial": {"bbox": [bbox] if bbox else [], "crs": CRS84}},
        "links": [
            {"rel": "self", "type": "application/json", "href": href},
            {"rel": "items", "type": GEOJSON, "title": collection.title, "href": f"{href}/items"},
            {
                "rel": "http://www.opengis.net/def/rel/ogc/1.0/queryables",
                "type": SCHEMA_JSON,
                "href": f"{href}/queryables",
            },
        ],
    }


@router.get("/collections", summary="The collections")
def collections(request: Request, session: SessionDep, principal: PrincipalDep) -> JSONResponse:
    described = [
        _describe(request, c, store.extent(session, c, principal.scope))
        for c in COLLECTIONS.values()
    ]
    href = f"{_base(request)}/collections"
    return _json(
        {
            "links": [{"rel": "self", "type": "application/json", "href": href}],
            "collections": described,
        }
    )


@router.get("/collections/{collection_id}", summary="One collection")
def collection(
    request: Request, session: SessionDep, principal: PrincipalDep, collection_id: str
) -> JSONResponse:
    found = _collection(collection_id)
    return _json(_describe(request, found, store.extent(session, found, principal.scope)))


JSON_TYPES = {
    "text": "string",
    "number": "number",
    "integer": "integer",
    "boolean": "boolean",
    "date": "string",
    "timestamp": "string",
}


@router.get(
    "/collections/{collection_id}/queryables",
    summary="What filters may use",
    response_class=Response,
    responses=content(SCHEMA_JSON),
)
def queryables(request: Request, collection_id: str) -> JSONResponse:
    found = _collection(collection_id)
    properties: dict[str, Any] = {
        name: {"type": JSON_TYPES[c.type]}
        | ({"format": "date"} if c.type == "date" else {})
        | ({"format": "date-time"} if c.type == "timestamp" else {})
        for name, c in found.properties.items()
    }
    properties["geometry"] = {"$ref": f"https://geojson.org/schema/{found.geometry_type}.json"}
    return _json(
        {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"{_base(request)}/collections/{collection_id}/queryables",
            "type": "object",
            "title": found.title,
            "properties": properties,
            "additionalProperties": False,
        },
        SCHEMA_JSON,
    )


def _bbox(raw: str) -> tuple[float, float, float, float]:
    try:
        values = [float(v) for v in raw.split(",")]
    except ValueError:
        raise BadRequest(f"bbox {raw!r}: numbers separated by commas expected") from None
    if len(values) == 6:
        values = [values[0], values[1], values[3], values[4]]
    if len(values) != 4:
        raise BadRequest(f"bbox {raw!r}: 4 (or 6) numbers expected, got {len(values)}")
    west, south, east, north = values
    if not (-180 <= west <= 180 and -180 <= east <= 180 and -90 <= south <= north <= 90):
        raise BadRequest(f"bbox {raw!r}: not lon/lat (CRS84) in range")
    if west > east:
        raise BadRequest(f"bbox {raw!r}: boxes across the antimeridian are not supported")
    return west, south, east, north


def _instant(raw: str) -> dt.datetime | None:
    if raw in ("", ".."):
        return None
    try:
        value = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"datetime {raw!r}: not RFC 3339") from None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _datetime(raw: str) -> tuple[dt.datetime | None, dt.datetime | None]:
    if "/" in raw:
        start, end = raw.split("/", 1)
        return _instant(start), _instant(end)
    moment = _instant(raw)
    return moment, moment


def _int(raw: str, name: str, low: int) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"{name} {raw!r}: an integer expected") from None
    if value < low:
        raise BadRequest(f"{name} must be at least {low}")
    return value


def parse_query(collection: Collection, params: dict[str, str], page_max: int) -> store.Query:
    """The items query of ``params``; unknown parameters are refused."""
    unknown = set(params) - ITEM_PARAMS - set(collection.properties)
    if unknown:
        raise BadRequest(
            f"unknown parameter(s) {', '.join(sorted(unknown))}; queryables of "
            f"{collection.id}: {', '.join(collection.properties)}"
        )
    if params.get("f", "json") not in ("json", "geojson"):
        raise BadRequest("f: only json is offered")
    if params.get("filter-lang", "cql2-text") != "cql2-text":
        raise BadRequest("filter-lang: only cql2-text is supported")
    if params.get("bbox-crs", CRS84) != CRS84:
        raise BadRequest(f"bbox-crs: only {CRS84} is supported")
    limit = min(_int(params.get("limit", str(DEFAULT_LIMIT)), "limit", 1), page_max)
    return store.Query(
        limit=limit,
        offset=min(_int(params.get("offset", "0"), "offset", 0), MAX_OFFSET),
        bbox=_bbox(params["bbox"]) if "bbox" in params else None,
        properties={k: v for k, v in params.items() if k in collection.properties},
        filter=params.get("filter") or None,
        datetime=_datetime(params["datetime"]) if "datetime" in params else None,
    )


def _page_link(base: str, params: dict[str, str], offset: int, rel: str) -> dict[str, str]:
    query = urlencode({**params, "offset": str(offset)})
    return {"rel": rel, "type": GEOJSON, "href": f"{base}?{query}"}


@router.get(
    "/collections/{collection_id}/items",
    summary="Features of a collection",
    response_class=Response,
    responses=content(GEOJSON),
)
def items(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: PrincipalDep,
    collection_id: str,
) -> Response:
    """``bbox``, ``limit``, ``offset``, ``datetime``, property=value for any queryable, and
    ``filter`` in CQL2 text (comparisons, AND/OR/NOT, LIKE, IN, BETWEEN, IS NULL,
    S_INTERSECTS with a WKT geometry)."""
    found = _collection(collection_id)
    params = dict(request.query_params)
    query = parse_query(found, params, settings.page_size_max)
    try:
        features, matched = store.items(session, found, query, principal.scope)
    except InvalidInput as exc:
        if isinstance(exc, BadRequest):
            raise
        raise BadRequest(str(exc)) from None
    base = f"{_base(request)}/collections/{collection_id}/items"
    params["limit"] = str(query.limit)
    links = [
        _page_link(base, params, query.offset, "self"),
        {"rel": "collection", "type": "application/json", "href": base.rsplit("/", 1)[0]},
    ]
    if query.offset + len(features) < matched:
        links.append(_page_link(base, params, query.offset + query.limit, "next"))
    if query.offset > 0:
        links.append(_page_link(base, params, max(0, query.offset - query.limit), "prev"))
    body = store.feature_collection(
        features,
        {
            "numberMatched": matched,
            "numberReturned": len(features),
            "timeStamp": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "links": links,
        },
    )
    return Response(body.encode("utf-8"), media_type=GEOJSON)


@router.get(
    "/collections/{collection_id}/items/{feature_id}",
    summary="One feature",
    response_class=Response,
    responses=content(GEOJSON),
)
def item(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    collection_id: str,
    feature_id: str,
) -> Response:
    found = _collection(collection_id)
    feature = store.item(session, found, feature_id, principal.scope)
    base = f"{_base(request)}/collections/{collection_id}"
    links = [
        {"rel": "self", "type": GEOJSON, "href": f"{base}/items/{feature_id}"},
        {"rel": "collection", "type": "application/json", "href": base},
    ]
    body = feature[:-1] + ', "links": ' + json.dumps(links) + "}"
    return Response(body.encode("utf-8"), media_type=GEOJSON)
