"""Who is where: the administrative units and grid at a point."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from api.deps import SessionDep
from geo.locate import locate, to_wgs84

router = APIRouter(tags=["locate"])


@router.get("/locate", summary="District, street, community, grid and compound at a point")
def locate_point(
    session: SessionDep,
    lon: Annotated[float, Query(description="longitude")],
    lat: Annotated[float, Query(description="latitude")],
    crs: Annotated[
        Literal["wgs84", "gcj02"],
        Query(description="gcj02 for coordinates from Gaode/Tencent maps and most phone apps"),
    ] = "wgs84",
) -> dict[str, Any]:
    wgs_lon, wgs_lat = to_wgs84(lon, lat, crs)
    with session.connection().connection.driver_connection.cursor() as cursor:
        found = locate(cursor, wgs_lon, wgs_lat)
    if crs != "wgs84":
        found["input"] = {"lon": lon, "lat": lat, "crs": crs}
    return found
