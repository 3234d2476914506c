"""A row of stalls in local row coordinates, and filling free intervals with rows."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from shapely.geometry import LineString, Polygon
from shapely.geometry.base import BaseGeometry

from geo.parking.model import ParkingParams, Stall, StallKind
from geo.parking.zones import Interval

ToWorld = Callable[[BaseGeometry], BaseGeometry]
"""From a row's local coordinates (s along the row, t across it) to the site's."""


def fits(length: float, kind: StallKind, params: ParkingParams) -> int:
    """How many stalls of ``kind`` fit in a row of ``length`` metres."""
    usable = length - params.overhang(kind)
    return max(0, math.floor(usable / params.pitch(kind) + 1e-9))


def row(
    to_world: ToWorld,
    kind: StallKind,
    params: ParkingParams,
    start: float,
    count: int,
    front: float,
    back: float,
    source: str,
) -> list[Stall]:
    """``count`` stalls from s = ``start``, opening onto t = ``front``, their backs at
    t = ``back``. Each stall paints its left side and its back; the last also its right side.
    Numbers are placeholders (0) until the layout numbers them."""
    pitch, shift = params.pitch(kind), params.overhang(kind)
    angle = params.angle(kind)
    stalls = []
    for k in range(count):
        s0 = start + k * pitch
        corners = [(s0, front), (s0 + pitch, front), (s0 + pitch + shift, back), (s0 + shift, back)]
        lines = [
            LineString([corners[0], corners[3]]),
            LineString([corners[3], corners[2]]),
        ]
        if k == count - 1:
            lines.append(LineString([corners[1], corners[2]]))
        stalls.append(
            Stall(
                number=0,
                kind=kind,
                polygon=to_world(Polygon(corners)).normalize(),
                lines=[to_world(line) for line in lines],
                angle=angle,
                source=source,
                front=to_world(LineString([corners[0], corners[1]])),
            )
        )
    return stalls


def fill(
    to_world: ToWorld,
    kind: StallKind,
    params: ParkingParams,
    free: Sequence[Interval],
    front: float,
    back: float,
    source: str,
) -> list[Stall]:
    """Rows of ``kind`` centred in each free interval."""
    out: list[Stall] = []
    for a, b in free:
        count = fits(b - a, kind, params)
        if count:
            used = count * params.pitch(kind) + params.overhang(kind)
            out += row(to_world, kind, params, a + (b - a - used) / 2, count, front, back, source)
    return out
