"""The JSON response of every route, encoded by orjson.

Starlette's ``JSONResponse`` encodes with the standard library; a page of 100 hazards took
about 1 ms of CPU that way, orjson takes a tenth. Output is the same compact UTF-8 JSON
(non-string keys written as strings, like ``json.dumps``).
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import JSONResponse as StarletteJSONResponse


class JSONResponse(StarletteJSONResponse):
    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)
