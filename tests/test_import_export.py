"""Bulk import from GeoJSON, GeoPackage and Shapefile through the CLI, and export."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyogrio.raw
import pytest
import shapely
from pyproj import Transformer
from shapely.geometry import shape
from sqlalchemy import select
from sqlalchemy.orm import Session

from geo import models as m
from geo.crs import wgs84_to_gcj02_geometry
from tests.geojson import LAT, LON, cell, collection, feature, polygon


@pytest.fixture
def community(gridline, tmp_path: Path) -> str:
    """District, street and community of the tests, imported through the CLI."""
    specs = [
        ("districts", polygon(LON - 0.1, LAT - 0.1, LON + 0.1, LAT + 0.1), "IX", []),
        (
            "streets",
            polygon(LON - 0.05, LAT - 0.05, LON + 0.05, LAT + 0.05),
            "IX-S",
            ["--district", "IX"],
        ),
        ("communities", polygon(LON, LAT, LON + 0.02, LAT + 0.02), "IX-C", ["--street", "IX-S"]),
    ]
    for layer, geometry, code, options in specs:
        path = tmp_path / f"{layer}.geojson"
        path.write_text(json.dumps(collection(feature(geometry, code=code, name=code))))
        code_, out, err = gridline("import", layer, path, *options)
        assert (code_, out, err) == (0, f"imported 1 {layer}\n", "")
    return "IX-C"


def grids_fc(n: int = 4) -> dict:
    return collection(
        *(
            feature(
                cell(i % 4, i // 4), code=f"{i + 1:02d}", name=f"网格{i + 1}", households=10 * i
            )
            for i in range(n)
        )
    )


def codes(session: Session, community: str) -> list[str]:
    query = (
        select(m.Grid.code)
        .join(m.Community)
        .where(m.Community.code == community)
        .order_by(m.Grid.code)
    )
    return list(session.scalars(query))


def test_import_geojson_grids(gridline, community: str, session: Session, tmp_path: Path) -> None:
    path = tmp_path / "grids.geojson"
    path.write_text(json.dumps(grids_fc()), encoding="utf-8")
    assert gridline("import", "grids", path, "--community", community) == (
        0,
        "imported 4 grids\n",
        "",
    )
    assert codes(session, community) == ["01", "02", "03", "04"]


def test_import_is_all_or_nothing_and_names_every_bad_feature(
    gridline,
    community: str,
    session: Session,
    tmp_path: Path,
) -> None:
    fc = grids_fc()
    fc["features"][1]["geometry"]["coordinates"][0].pop()  # unclosed ring
    fc["features"][3]["geometry"] = polygon(LON + 0.03, LAT, LON + 0.035, LAT + 0.005)  # outside
    path = tmp_path / "grids.geojson"
    path.write_text(json.dumps(fc))
    status, out, err = gridline("import", "grids", path, "--community", community)
    assert status == 1
    assert out == ""
    lines = err.splitlines()
    assert lines[0].startswith("gridline: grids.geojson: feature 1 (02): ring 0 not closed")
    assert lines[-1] == "gridline: 1 bad feature(s); nothing imported"
    assert codes(session, community) == []

    fc = grids_fc()
    fc["features"][3]["geometry"] = polygon(LON + 0.03, LAT, LON + 0.035, LAT + 0.005)
    path.write_text(json.dumps(fc))
    status, _, err = gridline("import", "grids", path, "--community", community)
    assert status == 1
    assert err.splitlines()[0].startswith(
        "gridline: grids.geojson: feature 3 (04): grid outside its community ("
    )
    assert codes(session, community) == []


def write_ogr(path: Path, fc: dict, driver: str, crs: str, to_crs=None) -> None:
    geoms = [shape(f["geometry"]) for f in fc["features"]]
    if to_crs is not None:
        geoms = [shapely.transform(g, to_crs, interleaved=False) for g in geoms]
    names = ["code", "name", "households"]
    fields = [
        np.array([f["properties"]["code"] for f in fc["features"]], dtype=object),
        np.array([f["properties"]["name"] for f in fc["features"]], dtype=object),
        np.array([f["properties"]["households"] for f in fc["features"]], dtype=np.int64),
    ]
    pyogrio.raw.write(
        path,
        np.array(shapely.to_wkb(geoms), dtype=object),
        fields,
        names,
        driver=driver,
        geometry_type="Polygon",
        crs=crs,
        encoding="UTF-8",
    )


def test_import_geopackage_in_a_gauss_kruger_crs(
    gridline,
    community: str,
    session: Session,
    tmp_path: Path,
) -> None:
    to_gk = Transformer.from_crs("EPSG:4326", "EPSG:4549", always_xy=True).transform
    path = tmp_path / "grids.gpkg"
    write_ogr(path, grids_fc(), "GPKG", "EPSG:4549", to_gk)
    assert gridline("import", "grids", path, "--community", community)[:2] == (
        0,
        "imported 4 grids\n",
    )
    stored = session.scalars(
        select(m.Grid).join(m.Community).where(m.Grid.code == "01", m.Community.code == community)
    ).one()
    from geoalchemy2.shape import to_shape

    assert to_shape(stored.geom).equals_exact(shape(cell(0, 0)), tolerance=1e-7)
    assert stored.households == 0


def test_import_shapefile_with_gcj02_coordinates(
    gridline,
    community: str,
    session: Session,
    tmp_path: Path,
) -> None:
    fc = grids_fc(2)
    for f in fc["features"]:
        f["geometry"] = shapely.geometry.mapping(wgs84_to_gcj02_geometry(shape(f["geometry"])))
    path = tmp_path / "grids.shp"
    write_ogr(path, fc, "ESRI Shapefile", "EPSG:4326")
    status, out, _ = gridline("import", "grids", path, "--community", community, "--from-gcj02")
    assert (status, out) == (0, "imported 2 grids\n")
    from geoalchemy2.shape import to_shape

    stored = session.scalars(
        select(m.Grid).join(m.Community).where(m.Grid.code == "02", m.Community.code == community)
    ).one()
    assert to_shape(stored.geom).equals_exact(shape(cell(1, 0)), tolerance=1e-8)


def test_file_crs_metres_without_declaration_is_refused(
    gridline,
    community: str,
    tmp_path: Path,
) -> None:
    to_gk = Transformer.from_crs("EPSG:4326", "EPSG:4549", always_xy=True).transform
    fc = grids_fc(1)
    fc["features"][0]["geometry"] = shapely.geometry.mapping(
        shapely.transform(shape(fc["features"][0]["geometry"]), to_gk, interleaved=False)
    )
    path = tmp_path / "metres.geojson"
    path.write_text(json.dumps(fc))
    status, _, err = gridline("import", "grids", path, "--community", community)
    assert status == 1
    assert "coordinates look projected" in err and "wrong CRS" in err
    status, out, _ = gridline(
        "import", "grids", path, "--community", community, "--crs", "EPSG:4549"
    )
    assert (status, out) == (0, "imported 1 grids\n")


def test_cli_errors(gridline, community: str, tmp_path: Path) -> None:
    assert gridline("import", "grids", tmp_path / "none.geojson", "--community", community) == (
        1,
        "",
        f"gridline: {tmp_path / 'none.geojson'}: no such file\n",
    )
    path = tmp_path / "g.geojson"
    path.write_text(json.dumps(grids_fc(1)))
    assert gridline("import", "grids", path, "--street", "X")[2] == (
        "gridline: grids take --community, not --street\n"
    )
    assert gridline("import", "lakes", path)[2].startswith("gridline: unknown layer 'lakes'")
    assert gridline("import", "grids", path, "--crs", "EPSG:999999", "--community", community)[
        2
    ].startswith("gridline: unknown coordinate reference system")


def test_export_geojson_and_geopackage_round_trip(
    gridline,
    community: str,
    tmp_path: Path,
) -> None:
    path = tmp_path / "grids.geojson"
    path.write_text(json.dumps(grids_fc()))
    gridline("import", "grids", path, "--community", community)
    out_json, out_gpkg = tmp_path / "out.geojson", tmp_path / "out.gpkg"
    assert gridline("export", "grids", "-o", out_json, "--of", community)[:2] == (
        0,
        f"exported 4 grids to {out_json}\n",
    )
    exported = json.loads(out_json.read_text())
    assert [f["properties"]["code"] for f in exported["features"]] == ["01", "02", "03", "04"]
    assert [shape(f["geometry"]) for f in exported["features"]] == [
        shape(cell(i, 0)) for i in range(4)
    ]
    assert gridline("export", "grids", "-o", out_gpkg, "--of", community)[0] == 0
    meta, _, geoms, fields = pyogrio.raw.read(out_gpkg)
    assert meta["crs"] == "EPSG:4326"
    names = list(meta["fields"])
    assert fields[names.index("code")].tolist() == ["01", "02", "03", "04"]
    assert fields[names.index("households")].tolist() == [0, 10, 20, 30]
    assert [shapely.from_wkb(g) for g in geoms] == [shape(cell(i, 0)) for i in range(4)]
    assert gridline("export", "grids", "-o", tmp_path / "x.txt")[2] == (
        "gridline: cannot export to x.txt: use .geojson or .gpkg\n"
    )


def test_api_export_geopackage(client, demo, tmp_path: Path) -> None:
    response = client.get("/grids/export", params={"community": "330303003001", "format": "gpkg"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/geopackage+sqlite3"
    path = tmp_path / "demo.gpkg"
    path.write_bytes(response.content)
    _, _, geoms, _ = pyogrio.raw.read(path)
    assert len(geoms) == 21
    geojson = client.get("/grids/export", params={"community": "330303003001"}).json()
    assert len(geojson["features"]) == 21


def test_import_workers_from_csv(
    gridline, community: str, session: Session, tmp_path: Path
) -> None:
    path = tmp_path / "workers.csv"
    path.write_text(
        "name,gender,role,hire_date,phone\n"
        "章微琳,female,grid_worker,2019-03-01,13800000001\n"
        "王强,male,grid_leader,2012-07-15,\n",
        encoding="utf-8",
    )
    assert gridline("import", "workers", path, "--community", community) == (
        0,
        "imported 2 workers\n",
        "",
    )
    names = session.scalars(
        select(m.Worker.name)
        .join(m.Community)
        .where(m.Community.code == community)
        .order_by(m.Worker.id)
    ).all()
    assert names == ["章微琳", "王强"]
    path.write_text(
        "name,gender,role,hire_date,phone\n李娜,woman,grid_worker,2019-03-01,\n", encoding="utf-8"
    )
    status, _, err = gridline("import", "workers", path, "--community", community)
    assert status == 1
    assert err.splitlines()[0] == (
        "gridline: workers.csv: feature 0 (李娜): gender: Input should be 'female' or 'male'"
    )


def test_export_mixed_site_features_to_geopackage(client, demo, tmp_path: Path) -> None:
    response = client.get(
        "/site-features/export", params={"community": "330303003001", "format": "gpkg"}
    )
    assert response.status_code == 200
    path = tmp_path / "sites.gpkg"
    path.write_bytes(response.content)
    _, _, geoms, _ = pyogrio.raw.read(path)
    kinds = {shapely.from_wkb(g).geom_type for g in geoms}
    assert kinds == {"Point", "Polygon"}
    assert len(geoms) == len(demo.communities[0].site_features)


def test_cli_locate_and_map(gridline, demo, tmp_path: Path) -> None:
    p = shape(demo.communities[0].grids[4]["geometry"]).representative_point()
    status, out, _ = gridline("locate", p.x, p.y)
    assert status == 0
    assert json.loads(out)["grid"]["code"] == "05"
    assert gridline("locate", p.x, 95)[2] == "gridline: lat 95 out of range [-90, 90]\n"
    html = tmp_path / "map.html"
    assert gridline("map", "community", "330303003001", "-o", html)[:2] == (
        0,
        f"map of community 330303003001 written to {html}\n",
    )
    assert html.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert gridline("map", "community", "nope", "-o", html)[2] == (
        "gridline: community 'nope' not found\n"
    )
