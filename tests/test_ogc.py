"""OGC API Features under /ogc and the vector tiles, on the demo community."""

from __future__ import annotations

import math
from urllib.parse import urlsplit

import mapbox_vector_tile
from fastapi.testclient import TestClient
from shapely.geometry import box, shape
from sqlalchemy import text
from sqlalchemy.engine import Connection

from tests.test_hazards import inside, report

LON, LAT = 120.72, 27.97


def get(client: TestClient, url: str, status: int = 200) -> dict:
    parts = urlsplit(url)
    response = client.get(parts.path + (f"?{parts.query}" if parts.query else ""))
    assert response.status_code == status, response.text
    return response.json()


def rels(links: list[dict]) -> dict[str, str]:
    return {link["rel"]: link["href"] for link in links}


def test_landing_page_and_conformance(client: TestClient) -> None:
    landing = get(client, "/ogc")
    links = rels(landing["links"])
    assert set(links) >= {"self", "service-desc", "service-doc", "conformance", "data"}
    assert links["data"].endswith("/ogc/collections")
    assert client.get(urlsplit(links["service-desc"]).path).status_code == 200
    classes = get(client, "/ogc/conformance")["conformsTo"]
    for part in ("core", "geojson"):
        assert f"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/{part}" in classes
    assert "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text" in classes


def test_collections_describe_themselves(client: TestClient) -> None:
    body = get(client, "/ogc/collections")
    ids = [c["id"] for c in body["collections"]]
    assert ids == [
        "grids",
        "communities",
        "compounds",
        "buildings",
        "roads",
        "hazards",
        "parking-stalls",
    ]
    grids = body["collections"][0]
    assert grids["itemType"] == "feature"
    assert set(rels(grids["links"])) >= {"self", "items"}
    west, south, east, north = grids["extent"]["spatial"]["bbox"][0]
    assert west < LON < east and south < LAT < north
    assert get(client, "/ogc/collections/grids") == grids
    assert get(client, "/ogc/collections/nothing", 404)["detail"].startswith("collection")
    queryables = get(client, "/ogc/collections/grids/queryables")
    assert queryables["properties"]["households"] == {"type": "integer"}


def test_paging_returns_every_item_exactly_once(client: TestClient) -> None:
    url, seen, pages = "/ogc/collections/grids/items?limit=4", [], 0
    matched = None
    while url:
        page = get(client, url)
        assert page["type"] == "FeatureCollection"
        assert page["numberReturned"] == len(page["features"]) <= 4
        matched = page["numberMatched"]
        seen += [f["id"] for f in page["features"]]
        links = rels(page["links"])
        assert "self" in links and "collection" in links
        assert ("prev" in links) == (pages > 0)
        url = links.get("next")
        pages += 1
    assert matched == 21 and len(seen) == 21 and len(set(seen)) == 21
    assert pages == 6


def test_bbox_property_filters_and_limits(client: TestClient, connection: Connection) -> None:
    bbox = (120.715, 27.965, 120.72, 27.97)
    body = get(client, "/ogc/collections/grids/items?bbox=" + ",".join(map(str, bbox)))
    expected = connection.execute(
        text(
            "SELECT count(*) FROM grid WHERE valid_to IS NULL AND "
            "ST_Intersects(geom, ST_MakeEnvelope(:a, :b, :c, :d, 4326))"
        ),
        dict(zip("abcd", bbox, strict=True)),
    ).scalar_one()
    assert body["numberMatched"] == expected > 0
    assert all(shape(f["geometry"]).intersects(box(*bbox)) for f in body["features"])
    one = get(client, "/ogc/collections/grids/items?code=05")
    assert [f["properties"]["code"] for f in one["features"]] == ["05"]
    many = get(client, "/ogc/collections/roads/items?limit=5000")
    assert many["numberReturned"] == min(many["numberMatched"], 1000)
    feature = get(client, f"/ogc/collections/grids/items/{one['features'][0]['id']}")
    assert feature["properties"]["code"] == "05"
    assert set(rels(feature["links"])) == {"self", "collection"}
    assert get(client, "/ogc/collections/grids/items/999999", 404)


def test_bad_parameters_are_400_with_the_reason(client: TestClient) -> None:
    cases = {
        "bbox=1,2,3": "bbox '1,2,3': 4 (or 6) numbers expected, got 3",
        "bbox=a,b,c,d": "bbox 'a,b,c,d': numbers separated by commas expected",
        "limit=0": "limit must be at least 1",
        "offset=-1": "offset must be at least 0",
        "reporter=x": "unknown parameter(s) reporter",
        "datetime=yesterday": "datetime 'yesterday': not RFC 3339",
        "filter-lang=cql2-json": "filter-lang: only cql2-text is supported",
    }
    for query, reason in cases.items():
        detail = get(client, f"/ogc/collections/grids/items?{query}", 400)["detail"]
        assert detail.startswith(reason), (query, detail)


def test_hazards_are_published_without_personal_data(client: TestClient, demo_grids: dict) -> None:
    hazard = report(client, *inside(demo_grids["05"]), reporter_contact="13800000000")
    body = get(client, "/ogc/collections/hazards/items")
    (feature,) = [f for f in body["features"] if f["id"] == hazard["id"]]
    assert feature["properties"]["grid"] == "05"
    assert set(feature["properties"]).isdisjoint({"reporter", "reporter_contact", "description"})
    dated = get(client, "/ogc/collections/hazards/items?datetime=2000-01-01T00:00:00Z/..")
    assert hazard["id"] in [f["id"] for f in dated["features"]]
    later = get(client, "/ogc/collections/hazards/items?datetime=2999-01-01T00:00:00Z/..")
    assert later["numberMatched"] == 0
    assert "datetime" in get(client, "/ogc/collections/grids/items?datetime=..", 400)["detail"]


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def test_vector_tiles_decode_to_the_grids_of_the_tile(
    client: TestClient, connection: Connection
) -> None:
    z = 15
    x, y = tile_of(LON, LAT, z)
    response = client.get(f"/tiles/grids/{z}/{x}/{y}.mvt")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    decoded = mapbox_vector_tile.decode(response.content)
    features = decoded["grids"]["features"]
    expected = connection.execute(
        text(
            "SELECT array_agg(code ORDER BY code) FROM grid WHERE valid_to IS NULL AND "
            "ST_Intersects(ST_Transform(geom, 3857), ST_TileEnvelope(:z, :x, :y))"
        ),
        {"z": z, "x": x, "y": y},
    ).scalar_one()
    assert sorted(f["properties"]["code"] for f in features) == expected
    assert len(expected) > 0
    assert decoded["grids"]["extent"] == 4096
    empty = client.get(f"/tiles/grids/{z}/0/0.mvt")
    assert empty.status_code == 200 and empty.content == b""
    assert client.get(f"/tiles/grids/{z}/{2**z}/0.mvt").status_code == 404
    assert client.get("/tiles/people/1/0/0.mvt").status_code == 404
    meta = get(client, "/tiles/grids.json")
    assert meta["tilejson"] == "3.0.0" and meta["tiles"][0].endswith("/tiles/grids/{z}/{x}/{y}.mvt")
    assert meta["vector_layers"][0]["fields"]["code"] == "String"
    assert "reporter" not in get(client, "/tiles/hazards.json")["vector_layers"][0]["fields"]


def filtered(client: TestClient, cql: str, status: int = 200) -> dict:
    response = client.get("/ogc/collections/grids/items", params={"filter": cql, "limit": 100})
    assert response.status_code == status, response.text
    return response.json()


def codes(body: dict) -> list[str]:
    return sorted(f["properties"]["code"] for f in body["features"])


def test_cql2_filters_select_the_right_grids(client: TestClient, connection: Connection) -> None:
    assert codes(filtered(client, "code = '05'")) == ["05"]
    expected = connection.execute(
        text(
            "SELECT array_agg(code ORDER BY code) FROM grid WHERE valid_to IS NULL "
            "AND households > 300 AND code IN ('01', '02', '03')"
        )
    ).scalar_one()
    assert codes(filtered(client, "households > 300 AND code IN ('01','02','03')")) == expected
    point = connection.execute(
        text(
            "SELECT code FROM grid WHERE valid_to IS NULL AND "
            "ST_Contains(geom, ST_SetSRID(ST_MakePoint(120.72375, 27.96815), 4326))"
        )
    ).scalar_one()
    hit = filtered(client, "S_INTERSECTS(geometry, POINT(120.72375 27.96815))")
    assert codes(hit) == [point]
    assert codes(filtered(client, "NOT (code <> '07') OR name LIKE '%第08%'")) == ["07", "08"]


def test_hostile_cql2_is_refused_and_changes_nothing(
    client: TestClient, connection: Connection
) -> None:
    def grids() -> int:
        return connection.execute(text("SELECT count(*) FROM grid")).scalar_one()

    before = grids()
    injected = filtered(client, "name = 'x''; DROP TABLE grid; --'")
    assert injected["numberMatched"] == 0
    cases = {
        "owner = 'x'": "unknown property 'owner'",
        "lower(name) = 'x'": "function lower",
        "S_INTERSECTS(geometry, POLYGON((1 2, 3 4)))": "invalid WKT",
        "code = '05' AND (": "unexpected end",
    }
    for cql, reason in cases.items():
        detail = filtered(client, cql, 400)["detail"]
        assert reason in detail, (cql, detail)
    assert grids() == before
