"""What a planner asks for: a worker's daily patrol or a village day, with their options."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

LAST_DAY = dt.date.max - dt.timedelta(days=1)
"""The last day a plan may be for (its day ends at the next midnight)."""


class PointIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)


class StopIn(PointIn):
    """A stop added by hand; ``window`` is local time of the plan's day."""

    label: str = Field("加点", min_length=1, max_length=200)
    priority: int = Field(3, ge=1, le=5)
    service_s: int | None = Field(None, ge=0, le=4 * 3600)
    window: tuple[dt.time, dt.time] | None = None

    @model_validator(mode="after")
    def _window_ordered(self) -> StopIn:
        if self.window is not None and self.window[1] <= self.window[0]:
            raise ValueError(f"window must end after it starts: {self.window[0]}-{self.window[1]}")
        return self


class PlanOptions(BaseModel):
    """Where and when the walk goes. ``start``/``finish`` default to the community office,
    ``hours`` to GRIDLINE_PATROL_HOURS (local time), ``speed_mps`` to
    GRIDLINE_WALKING_SPEED_MPS; given points are in ``crs`` (GCJ-02 from Chinese web maps is
    converted)."""

    model_config = ConfigDict(extra="forbid")

    start: PointIn | None = None
    finish: PointIn | None = None
    hours: tuple[dt.time, dt.time] | None = None
    speed_mps: float | None = Field(None, gt=0, le=3)
    crs: Literal["wgs84", "gcj02"] = "wgs84"
    time_limit_s: float | None = Field(None, gt=0, le=60)
    """Search time of the routing solver (default grows with the number of stops, at most 4 s)."""

    @model_validator(mode="after")
    def _hours_ordered(self) -> PlanOptions:
        if self.hours is not None and self.hours[1] <= self.hours[0]:
            raise ValueError(f"hours must end after they start: {self.hours[0]}-{self.hours[1]}")
        return self


class DailyPlanIn(PlanOptions):
    """A worker's morning patrol of their grids."""

    worker_id: int
    date: dt.date = Field(le=LAST_DAY)
    stops: list[StopIn] = Field(default_factory=list, max_length=500)
    include_b: bool = True
    """Also visit due hazards of the grids where the worker is B."""


class VillageDayIn(PlanOptions):
    """下村日: the whole community patrolled by ``teams`` teams from the office."""

    community: str = Field(min_length=1, max_length=32)
    date: dt.date = Field(le=LAST_DAY)
    teams: int = Field(ge=1, le=20)
