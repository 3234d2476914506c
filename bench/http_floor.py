"""The HTTP floor: an empty FastAPI endpoint with the same query parameters, no database.

Served by the same uvicorn stack as the API; its latency is the least any HTTP endpoint here
can answer in, so it bounds what the API's locate can reach.
"""

from typing import Annotated

from fastapi import FastAPI, Query
from fastapi.responses import JSONResponse

app = FastAPI()


@app.get("/locate")
async def locate(lon: Annotated[float, Query()], lat: Annotated[float, Query()]) -> JSONResponse:
    return JSONResponse({"lon": lon, "lat": lat})
