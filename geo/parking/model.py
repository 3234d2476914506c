"""Parking layouts of a compound, in a local metric CRS (metres, x east, y north).

A **site** is what a layout must respect: the compound outline, buildings with their stairwell
entrances, roads (centre line + carriageway width; fire lanes among them), gates, hydrants,
green areas, trees and keep-clear zones. A **layout** is car stalls (each a polygon with its
kind, angle and painted line segments) and non-motor-vehicle bays, with totals.

Stall kinds follow common Chinese practice (see ../shared/DESIGN.md "Field numbers"); every
figure is a parameter (``ParkingParams``). Angled stalls are parallelograms whose long sides
(the painted separators) make the stall angle with the aisle; their depth from the aisle is
``length x sin(angle)`` and their pitch along the row ``width / sin(angle)``.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator
from shapely.geometry import LineString, Point, Polygon


class StallKind(enum.StrEnum):
    PERPENDICULAR = "perpendicular"
    ANGLE_60 = "angle_60"
    ANGLE_45 = "angle_45"
    ANGLE_30 = "angle_30"
    PARALLEL = "parallel"


STALL_ANGLES = {
    StallKind.PERPENDICULAR: 90.0,
    StallKind.ANGLE_60: 60.0,
    StallKind.ANGLE_45: 45.0,
    StallKind.ANGLE_30: 30.0,
    StallKind.PARALLEL: 0.0,
}


AISLES_M = {
    StallKind.PERPENDICULAR: 6.0,
    StallKind.ANGLE_60: 4.5,
    StallKind.ANGLE_45: 3.8,
    StallKind.ANGLE_30: 3.5,
    StallKind.PARALLEL: 3.8,
}
"""Default clear width of the aisle each stall kind needs."""


class ParkingParams(BaseModel):
    """Every figure of a layout; defaults from Chinese practice (JGJ 100 and common use)."""

    model_config = ConfigDict(extra="forbid")

    stall_width_m: float = Field(2.5, ge=2, le=5)
    """Width of a perpendicular or angled stall (across the car)."""
    stall_length_m: float = Field(5.3, ge=4, le=8)
    """Length of a perpendicular or angled stall (along the car)."""
    parallel_length_m: float = Field(6.0, ge=4.5, le=10)
    parallel_width_m: float = Field(2.5, ge=1.8, le=5)
    aisle_m: dict[StallKind, Annotated[float, Field(ge=2.5, le=20)]] = AISLES_M
    """Clear width of the aisle (or remaining carriageway) a stall kind needs in front of it."""
    kinds: list[StallKind] = list(StallKind)
    """Stall kinds the generator may use."""
    fire_lane_clear_m: float = Field(4.0, ge=3, le=12)
    """A fire lane keeps this clear width along its centre line: no stall in it."""
    park_along_fire_lanes: bool = False
    """Whether stalls may open onto a fire lane (beside it, or on it where it stays clear);
    by default a fire lane is never a parking aisle."""
    hydrant_clearance_m: float = Field(5.0, ge=0, le=50)
    gate_clearance_m: float = Field(8.0, ge=0, le=50)
    entrance_clearance_m: float = Field(2.0, ge=0, le=50)
    building_clearance_m: float = Field(0.5, ge=0, le=50)
    tree_clearance_m: float = Field(1.0, ge=0, le=50)
    junction_clearance_m: float = Field(3.0, ge=0, le=50)
    """Kerb stalls stop this far before the carriageway of a crossing road."""
    accessible_share: float = Field(0.005, ge=0, le=1)
    """At least this share of stalls is accessible (at least 1 when there are any stalls)."""
    accessible_aisle_m: float = Field(1.2, ge=0, le=5)
    allow_green: bool = False
    """Whether green areas may be converted to parking."""
    bicycle_pitch_m: float = Field(0.6, ge=0.4, le=2)
    ebike_pitch_m: float = Field(0.8, ge=0.4, le=2)
    nonmotor_depth_m: float = Field(2.0, ge=1, le=5)
    nonmotor_group_max: int = Field(25, ge=1)
    """Most e-bikes in one bay; bays are separated by ``nonmotor_gap_m``."""
    nonmotor_gap_m: float = Field(1.0, ge=0, le=50)
    min_pocket_m2: float = Field(60.0, ge=0)
    """Open areas smaller than this get no pocket layout."""

    @field_validator("aisle_m")
    @classmethod
    def _every_kind(cls, value: dict[StallKind, float]) -> dict[StallKind, float]:
        """Kinds left out keep their default aisle."""
        return {**AISLES_M, **value}

    def angle(self, kind: StallKind) -> float:
        return STALL_ANGLES[kind]

    def pitch(self, kind: StallKind) -> float:
        """Length of row one stall takes."""
        if kind is StallKind.PARALLEL:
            return self.parallel_length_m
        return self.stall_width_m / math.sin(math.radians(self.angle(kind)))

    def depth(self, kind: StallKind) -> float:
        """Depth of a row of stalls, measured from its aisle."""
        if kind is StallKind.PARALLEL:
            return self.parallel_width_m
        return self.stall_length_m * math.sin(math.radians(self.angle(kind)))

    def overhang(self, kind: StallKind) -> float:
        """Extra row length of angled stalls: the slant of the last separator."""
        if kind in (StallKind.PARALLEL, StallKind.PERPENDICULAR):
            return 0.0
        return self.stall_length_m * math.cos(math.radians(self.angle(kind)))


@dataclass(frozen=True)
class Road:
    """A road centre line with its carriageway width; ``fire_lane`` keeps its clear width."""

    line: LineString
    width_m: float
    kind: str = "internal_road"
    name: str = ""

    @property
    def fire_lane(self) -> bool:
        return self.kind == "fire_lane"


@dataclass(frozen=True)
class Site:
    """What a compound's layout must respect (metric)."""

    boundary: Polygon
    buildings: list[Polygon] = field(default_factory=list)
    entrances: list[Point] = field(default_factory=list)
    roads: list[Road] = field(default_factory=list)
    gates: list[Point] = field(default_factory=list)
    hydrants: list[Point] = field(default_factory=list)
    green: list[Polygon] = field(default_factory=list)
    trees: list[Point] = field(default_factory=list)
    keep_clear: list[Polygon] = field(default_factory=list)


@dataclass(frozen=True)
class Stall:
    """A car stall: its polygon, kind, angle to its aisle (degrees), painted line segments,
    and the edge it opens onto its aisle or road (``front``, None for imported stalls)."""

    number: int
    kind: StallKind
    polygon: Polygon
    lines: list[LineString] = field(default_factory=list)
    angle: float = 90.0
    accessible: bool = False
    source: str = ""
    """Where it was placed: ``kerb:<road name>:<left|right>`` or ``pocket:<n>``."""
    front: LineString | None = None


class BayKind(enum.StrEnum):
    BICYCLE = "bicycle"
    EBIKE = "ebike"


@dataclass(frozen=True)
class Bay:
    """A non-motor-vehicle bay: its polygon, capacity and painted outline."""

    number: int
    kind: BayKind
    polygon: Polygon
    capacity: int
    lines: list[LineString] = field(default_factory=list)


@dataclass(frozen=True)
class Layout:
    """A layout: stalls, non-motor bays, the aisles it added, and its totals."""

    stalls: list[Stall]
    bays: list[Bay] = field(default_factory=list)
    aisles: list[Polygon] = field(default_factory=list)

    @property
    def painted_m(self) -> float:
        """Total painted line length of stalls and bays, in metres."""
        return sum(line.length for s in self.stalls for line in s.lines) + self.nonmotor_lines_m

    @property
    def nonmotor_lines_m(self) -> float:
        return sum(line.length for b in self.bays for line in b.lines)
