"""A real OGC API Features client: GDAL's OAPIF driver (ogrinfo, as QGIS uses it) lists
Gridline's layers and reads features with a bbox and an attribute filter."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live import Server, serve_api

OGRINFO = shutil.which("ogrinfo")
pytestmark = pytest.mark.skipif(
    OGRINFO is None, reason="ogrinfo missing (Debian: apt-get install gdal-bin)"
)


@pytest.fixture(scope="module")
def live(database_url: str, demo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    log = Path(tmp_path_factory.mktemp("gdal")) / "server.log"
    with serve_api(database_url, log) as served:
        yield served


def ogrinfo(live: Server, *args: str) -> str:
    """ogrinfo signed in as the demo admin (GDAL_HTTP_HEADERS carries the bearer token)."""
    done = subprocess.run(
        [str(OGRINFO), "-ro", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={
            "GDAL_HTTP_TIMEOUT": "60",
            "GDAL_HTTP_HEADERS": f"Authorization: Bearer {live.token}",
            "CPL_DEBUG": "OFF",
            "PATH": "/usr/bin:/bin",
        },
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_gdal_lists_the_layers(live: Server) -> None:
    out = ogrinfo(live, "-q", f"OAPIF:{live.url('/ogc')}")
    for layer in ("grids", "communities", "compounds", "buildings", "roads", "hazards"):
        assert f": {layer}" in out


def test_gdal_reads_grids_with_a_bbox_and_a_filter(live: Server) -> None:
    source = f"OAPIF:{live.url('/ogc')}"
    summary = ogrinfo(live, "-so", source, "grids")
    assert "Feature Count: 21" in summary
    box = ("120.714", "27.965", "120.726", "27.975")
    out = ogrinfo(live, "-spat", *box, "-where", "code = '05'", source, "grids")
    assert out.count("OGRFeature(grids)") == 1
    assert "code (String) = 05" in out
    everything = ogrinfo(live, "-spat", *box, source, "grids")
    assert everything.count("OGRFeature(grids)") == 21
