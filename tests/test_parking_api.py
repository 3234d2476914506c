"""Parking layouts of the demo compounds through the API: generated, checked (by the checker and
again by PostGIS), kept as versions, compared, summarised, exported."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET

import ezdxf
import pytest
from fastapi.testclient import TestClient
from shapely.geometry import shape
from sqlalchemy import text
from sqlalchemy.engine import Connection

DEMO = "330303003001"

# Each counts, in metres (UTM 51N), stalls of a layout breaking a rule at the given distance.
POSTGIS_RULES = {
    "building": """
        SELECT count(*) FROM parking_stall s, building b WHERE s.layout_id = :layout
          AND ST_Intersects(ST_Transform(s.geom, 32651),
                            ST_Buffer(ST_Transform(b.geom, 32651), 0.49))""",
    "hydrant": """
        SELECT count(*) FROM parking_stall s, site_feature f WHERE s.layout_id = :layout
          AND f.kind = 'hydrant'
          AND ST_DWithin(ST_Transform(s.geom, 32651), ST_Transform(f.geom, 32651), 4.99)""",
    "gate": """
        SELECT count(*) FROM parking_stall s, site_feature f WHERE s.layout_id = :layout
          AND f.kind = 'gate'
          AND ST_DWithin(ST_Transform(s.geom, 32651), ST_Transform(f.geom, 32651), 7.99)""",
    "fire_lane": """
        SELECT count(*) FROM parking_stall s, road r WHERE s.layout_id = :layout
          AND r.kind = 'fire_lane'
          AND ST_Area(ST_Intersection(ST_Transform(s.geom, 32651),
                ST_Buffer(ST_Transform(r.geom, 32651), 2.0, 'endcap=flat join=mitre'))) > 0.01""",
    "overlap": """
        SELECT count(*) FROM parking_stall a JOIN parking_stall b
          ON a.layout_id = b.layout_id AND a.number < b.number
        WHERE a.layout_id = :layout
          AND ST_Area(ST_Intersection(ST_Transform(a.geom, 32651), ST_Transform(b.geom, 32651)))
              > 0.01""",
    "outside": """
        SELECT count(*) FROM parking_stall s JOIN parking_layout l ON l.id = s.layout_id
        JOIN compound c ON c.id = l.compound_id WHERE s.layout_id = :layout
          AND ST_Area(ST_Difference(ST_Transform(s.geom, 32651), ST_Transform(c.geom, 32651)))
              > 0.01""",
}


def compounds(connection: Connection) -> dict[str, int]:
    rows = connection.execute(text("SELECT name, id FROM compound ORDER BY id"))
    return dict(rows.all())


def generate(client: TestClient, compound: int, **body) -> dict:
    response = client.post(f"/compounds/{compound}/parking-layouts", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def test_every_demo_compound_gets_a_layout_that_breaks_no_rule(
    client: TestClient, connection: Connection
) -> None:
    total = 0
    for name, compound in compounds(connection).items():
        layout = generate(client, compound)
        assert layout["violations"] == [], (name, layout["violations"][:3])
        stalls = layout["stalls"]["features"]
        assert len(stalls) == layout["totals"]["stalls"] > 0
        for rule, sql in POSTGIS_RULES.items():
            found = connection.execute(text(sql), {"layout": layout["id"]}).scalar_one()
            assert found == 0, (name, rule)
        total += len(stalls)
    assert total > 1000


def test_versions_status_compare_and_summary(client: TestClient, connection: Connection) -> None:
    compound = compounds(connection)["望江苑"]
    first = generate(client, compound, note="全部车型")
    second = generate(client, compound, params={"kinds": ["perpendicular", "parallel"]})
    assert (first["version"], second["version"]) == (1, 2)
    assert second["params"]["kinds"] == ["perpendicular", "parallel"]
    assert set(second["totals"]["by_kind"]) >= {"perpendicular", "parallel"}
    listed = client.get(f"/compounds/{compound}/parking-layouts").json()
    assert [(v["version"], v["status"], v["note"]) for v in listed] == [
        (1, "draft", "全部车型"),
        (2, "draft", None),
    ]
    same = client.get(f"/compounds/{compound}/parking-layouts/compare?a=1&b=1").json()
    assert same["removed"] == [] and same["added"] == []
    assert same["kept"] == first["totals"]["stalls"]
    diff = client.get(f"/compounds/{compound}/parking-layouts/compare?a=1&b=2").json()
    assert diff["kept"] + len(diff["removed"]) == first["totals"]["stalls"]
    assert diff["kept"] + len(diff["added"]) == second["totals"]["stalls"]
    assert diff["change"]["stalls"] == second["totals"]["stalls"] - first["totals"]["stalls"]

    wrong = client.patch(f"/compounds/{compound}/parking-layouts/1", json={"status": "painted"})
    assert wrong.status_code == 409
    assert wrong.json()["detail"] == "a draft layout cannot become painted; allowed: approved"
    for status in ("approved", "painted"):
        response = client.patch(f"/compounds/{compound}/parking-layouts/1", json={"status": status})
        assert response.status_code == 200 and response.json()["status"] == status

    other = compounds(connection)["留香园"]
    third = generate(client, other)
    summary = client.get(f"/communities/{DEMO}/parking-summary").json()
    chosen = {(x["compound"]["id"], x["version"]) for x in summary["layouts"]}
    assert chosen == {(compound, 1), (other, 1)}  # the painted one, not the newer draft
    assert summary["compounds"] == 2
    assert summary["stalls"] == first["totals"]["stalls"] + third["totals"]["stalls"]
    lines = first["totals"]["nonmotor_lines_m"] + third["totals"]["nonmotor_lines_m"]
    assert summary["nonmotor_lines_m"] == pytest.approx(lines, abs=0.05)
    assert summary["by_status"] == {"draft": 1, "approved": 0, "painted": 1}


def test_hand_drawn_layouts_are_checked_and_can_be_kept(
    client: TestClient, connection: Connection
) -> None:
    compound = compounds(connection)["江前里"]
    layout = generate(client, compound)
    features = layout["stalls"]["features"][:6]
    hydrant = connection.execute(
        text(
            "SELECT ST_X(f.geom), ST_Y(f.geom) FROM site_feature f JOIN compound c "
            "ON ST_Intersects(f.geom, c.geom) WHERE c.id = :c AND f.kind = 'hydrant' LIMIT 1"
        ),
        {"c": compound},
    ).one()
    x, y, d = hydrant[0], hydrant[1], 0.00001
    on_hydrant = {
        "type": "Feature",
        "geometry": {
            "type": "Polygon",
            "coordinates": [
                [[x, y], [x + 2 * d, y], [x + 2 * d, y + 4 * d], [x, y + 4 * d], [x, y]]
            ],
        },
        "properties": {"number": 99, "kind": "perpendicular"},
    }
    body = {"layout": {"type": "FeatureCollection", "features": [*features, on_hydrant]}}
    checked = client.post(f"/compounds/{compound}/parking-layouts/check", json=body)
    assert checked.status_code == 200
    result = checked.json()
    assert result["stalls"] == 7 and not result["compliant"]
    rules = {(v["stall"], v["rule"]) for v in result["violations"]}
    assert (99, "hydrant") in rules
    assert all(v["stall"] == 99 for v in result["violations"] if v["rule"] == "hydrant")
    message = next(v["message"] for v in result["violations"] if v["rule"] == "hydrant")
    assert message.startswith("stall 99 is ") and message.endswith("5.00 m required")
    kept = client.post(f"/compounds/{compound}/parking-layouts/import", json=body)
    assert kept.status_code == 201
    assert kept.json()["origin"] == "imported" and kept.json()["version"] == 2
    assert {(v["stall"], v["rule"]) for v in kept.json()["violations"]} == rules

    bad = {"layout": {"type": "FeatureCollection", "features": [{"type": "Feature"}]}}
    response = client.post(f"/compounds/{compound}/parking-layouts/check", json=bad)
    assert response.status_code == 422
    assert response.json()["detail"].startswith("feature 0: not a GeoJSON geometry")
    before = connection.execute(text("SELECT count(*) FROM parking_layout")).scalar_one()
    assert client.post(f"/compounds/{compound}/parking-layouts/import", json=bad).status_code == 422
    after = connection.execute(text("SELECT count(*) FROM parking_layout")).scalar_one()
    assert before == after


def test_bad_requests_name_the_problem(client: TestClient, connection: Connection) -> None:
    assert client.post("/compounds/99999/parking-layouts").status_code == 404
    compound = compounds(connection)["江前里"]
    response = client.post(
        f"/compounds/{compound}/parking-layouts", json={"params": {"fire_lane_clear_m": -1}}
    )
    assert response.status_code == 422
    assert "fire_lane_clear_m" in response.text
    missing = client.get(f"/compounds/{compound}/parking-layouts/7")
    assert missing.status_code == 404
    assert missing.json()["detail"] == f"compound {compound} has no parking layout version 7"


def test_exports_for_the_painting_crew(client: TestClient, connection: Connection) -> None:
    compound = compounds(connection)["望江苑"]
    layout = generate(client, compound)
    count = layout["totals"]["stalls"]
    base = f"/compounds/{compound}/parking-layouts/1/export"
    dxf = client.get(base, params={"format": "dxf"})
    assert dxf.status_code == 200 and dxf.headers["content-type"] == "image/vnd.dxf"
    doc = ezdxf.read(io.StringIO(dxf.content.decode("utf-8")))
    outlines = doc.modelspace().query('LWPOLYLINE[layer=="STALL_OUTLINES"]')
    assert len(outlines) == count
    numbers = sorted(
        int(t.dxf.text) for t in doc.modelspace().query('TEXT[layer=="STALL_NUMBERS"]')
    )
    assert numbers == list(range(1, count + 1))
    svg = client.get(base, params={"format": "svg"})
    root = ET.fromstring(svg.content)
    assert len([e for e in root.iter() if e.get("data-stall")]) == count
    geojson = client.get(base).json()
    stalls = [f for f in geojson["features"] if "accessible" in f["properties"]]
    assert len(stalls) == count
    assert shape(stalls[0]["geometry"]).is_valid
    assert client.get(f"/maps/compounds/{compound}/parking/1").status_code == 200
    generate(client, compound, params={"kinds": ["perpendicular"]})
    page = client.get(f"/maps/compounds/{compound}/parking/compare?a=1&b=2")
    assert page.status_code == 200 and "/assets/" in page.text


def test_a_site_uploaded_as_geojson_gets_a_layout() -> None:
    from geo.parking.model import ParkingParams
    from geo.parking.service import generate_for_site

    lon, lat, d = 120.7, 27.9, 0.00001  # about 1.1 m of latitude per d
    ring = [
        [lon, lat],
        [lon + 90 * d, lat],
        [lon + 90 * d, lat + 50 * d],
        [lon, lat + 50 * d],
        [lon, lat],
    ]
    site = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Polygon", "coordinates": [ring]},
                "properties": {"layer": "compound"},
            },
            {
                "type": "Feature",
                "geometry": {
                    "type": "LineString",
                    "coordinates": [[lon + 45 * d, lat], [lon + 45 * d, lat + 48 * d]],
                },
                "properties": {"layer": "road", "kind": "internal_road", "width_m": 6.5},
            },
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [lon + 45 * d, lat]},
                "properties": {"kind": "gate"},
            },
        ],
    }
    result = generate_for_site(site, ParkingParams())
    assert result["totals"]["stalls"] > 20
    assert result["violations"] == []
