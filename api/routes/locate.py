"""Who is where: the administrative units and grid at a point (for every signed-in account;
the responsible workers' phones only for roles that see personal data)."""

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

from api.auth import PrincipalDep
from api.responses import JSONResponse
from geo.locate import masked, to_wgs84

router = APIRouter(tags=["locate"])


@router.get("/locate", summary="District, street, community, grid and compound at a point")
async def locate_point(
    request: Request,
    principal: PrincipalDep,
    lon: Annotated[float, Query(description="longitude")],
    lat: Annotated[float, Query(description="latitude")],
    crs: Annotated[
        Literal["wgs84", "gcj02"],
        Query(description="gcj02 for coordinates from Gaode/Tencent maps and most phone apps"),
    ] = "wgs84",
) -> JSONResponse:
    wgs_lon, wgs_lat = to_wgs84(lon, lat, crs)
    found = masked(await request.app.state.locator(wgs_lon, wgs_lat), principal)
    if crs != "wgs84":
        found["input"] = {"lon": lon, "lat": lat, "crs": crs}
    return JSONResponse(found)
