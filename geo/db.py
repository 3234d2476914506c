"""Settings, engine and sessions."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

DEFAULT_DATABASE_URL = "postgresql+psycopg://gridline:gridline@127.0.0.1:5432/gridline"
BasemapName = Literal["osm", "tianditu", "gaode", "custom", "none"]


class Settings(BaseSettings):
    """Every setting of the service; env prefix ``GRIDLINE_`` plus plain ``DATABASE_URL``."""

    model_config = SettingsConfigDict(env_prefix="GRIDLINE_", extra="ignore")

    database_url: str = Field(
        DEFAULT_DATABASE_URL,
        validation_alias=AliasChoices("DATABASE_URL", "GRIDLINE_DATABASE_URL"),
    )
    mode: Literal["production", "demo", "test"] = "production"
    """demo and test accept the documented demo secret and passwords; production refuses to
    start with any default secret (see ``geo.accounts.default_secrets``)."""
    secret_key: SecretStr | None = None
    """Signs the access tokens (HS256): at least 32 characters, required in production."""
    token_ttl_minutes: int = Field(480, gt=0)
    """Lifetime of an access token (default a working day)."""
    auth_cache_s: float = Field(5.0, ge=0)
    """Seconds a verified token is remembered by a server process (0: look it up every time);
    a revocation made through another process takes effect within this time."""
    write_rate_per_minute: float = Field(300.0, gt=0)
    """Writes (POST/PUT/PATCH/DELETE) one account may make per minute, on average ..."""
    write_burst: int = Field(60, gt=0)
    """... and at once after being idle (token bucket); more get 429 with Retry-After."""
    statement_timeout_ms: int = Field(5000, gt=0)
    page_size_max: int = Field(1000, gt=0)
    max_vertices: int = Field(100_000, gt=0)
    """Most vertices one geometry may have (a larger one is refused with 422)."""
    max_import_features: int = Field(200_000, gt=0)
    """Most features one import may hold (a larger one is refused with 413: split it)."""
    max_bbox_km2: float = Field(10_000.0, gt=0)
    """Largest area a list query's bbox may cover (a larger one is refused with 422)."""
    service_area: tuple[float, float, float, float] = (73.0, 3.0, 136.0, 54.0)
    """lon/lat box inside which all data must lie (default: China); guards against bad CRS."""
    containment_tolerance_m2: float = Field(1.0, ge=0)
    """Area a feature may stick out of its parent (grid of community...) before it is refused."""
    allow_multiple_a: bool = False
    """Let a worker be A of several grids at once even when there are enough workers."""
    load_weight_building: float = Field(5.0, ge=0)
    """Households-equivalent load of one building in a grid (assignment balancing)."""
    load_weight_hazard: float = Field(20.0, ge=0)
    """Households-equivalent load of one open hazard in a grid (counted once hazards exist)."""
    b_load_share: float = Field(0.25, ge=0, le=1)
    """Share of a grid's load its B worker carries."""
    overload_ratio: float = Field(1.5, gt=1)
    """A worker whose load exceeds this multiple of the community mean is overloaded."""
    deadline_days: dict[str, float] = {"low": 30, "medium": 14, "high": 7, "critical": 1}
    """Days to rectify a hazard, by severity."""
    duplicate_radius_m: float = Field(30.0, gt=0)
    """An open hazard of the same category this close is offered as a possible duplicate."""
    patrol_hours: tuple[dt.time, dt.time] = (dt.time(8, 30), dt.time(12, 0))
    """Default patrol period (Asia/Shanghai local time)."""
    walking_speed_mps: float = Field(1.2, gt=0, le=3)
    patrol_intervals_days: dict[str, float] = {"shop": 14, "building": 30, "hydrant": 30}
    """Days between scheduled inspections, by kind of place (shops: food safety; buildings:
    fire safety; hydrants: working order). A kind left out is not scheduled."""
    patrol_service_s: dict[str, int] = {
        "hazard": 600,
        "shop": 600,
        "building": 900,
        "hydrant": 180,
        "extra": 300,
    }
    """Minutes spent at a stop, in seconds, by kind."""
    patrol_max_stops: int = Field(500, gt=0)
    """Most stops one plan may have (larger requests are refused)."""
    visit_radius_m: float = Field(15.0, gt=0)
    """A track must come this close to a stop ..."""
    visit_linger_s: float = Field(30.0, ge=0)
    """... and stay there this long for the stop to count as visited."""
    coverage_radius_m: float = Field(20.0, gt=0)
    """Network within this distance of a track counts as walked."""
    patrol_edge_m: float = Field(10.0, ge=0)
    """Track points this close outside the patrolled grids still count as inside (grid edges
    follow street centre lines: the far pavement of a boundary street is in the grid)."""
    track_max_points: int = Field(100_000, gt=0)
    data_dir: Path = Path(".data")
    """Where uploaded files (hazard photos) are kept."""
    photo_max_bytes: int = Field(5_000_000, gt=0)
    basemaps: Annotated[list[BasemapName], NoDecode] = ["none"]
    """Basemaps the map pages offer, the first shown: osm, tianditu, gaode, custom, none
    (comma-separated or a JSON list). Default none (intranet first: no tile requests leave the
    network), or custom when only ``tile_url`` is set. GCJ-02 and WGS84 ones cannot be mixed."""
    tianditu_key: str | None = None
    """Tianditu (天地图) key, required by the tianditu basemap."""
    tile_url: str | None = None
    """XYZ tile URL of the custom basemap (an intranet tile server)."""
    tile_attribution: str = ""
    tile_crs: Literal["wgs84", "gcj02"] = "wgs84"
    """Coordinates the custom tile server uses; over gcj02 the overlays are drawn in GCJ-02."""
    self_hosted_assets: bool = True
    """Map pages load Leaflet and its plugins from the service (``/assets/``), not public CDNs."""

    # --- grid topology checks (geo.topology) ---
    sliver_m2: float = Field(1.0, ge=0)
    """Gaps, overlaps and parts outside smaller than this (m²) are reported apart, as slivers."""

    @field_validator("basemaps", mode="before")
    @classmethod
    def _split_basemaps(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [name.strip().lower() for name in text.split(",") if name.strip()]
        return value

    @model_validator(mode="after")
    def _check_basemaps(self) -> Settings:
        if "basemaps" not in self.model_fields_set and self.tile_url:
            self.basemaps = ["custom"]  # GRIDLINE_TILE_URL alone, as before basemaps existed
        if not self.basemaps:
            raise ValueError("GRIDLINE_BASEMAPS is empty: name at least one basemap, or none")
        if len(set(self.basemaps)) < len(self.basemaps):
            raise ValueError(f"GRIDLINE_BASEMAPS names a basemap twice: {self.basemaps}")
        if "tianditu" in self.basemaps and not (self.tianditu_key or "").strip():
            raise ValueError(
                "GRIDLINE_BASEMAPS includes tianditu, which needs a key: set"
                " GRIDLINE_TIANDITU_KEY (a 天地图 key from https://console.tianditu.gov.cn/)"
            )
        if "custom" in self.basemaps and not self.tile_url:
            raise ValueError("GRIDLINE_BASEMAPS includes custom: set GRIDLINE_TILE_URL")
        if len({self.basemap_crs(name) for name in self.basemaps} - {None}) > 1:
            raise ValueError(
                f"GRIDLINE_BASEMAPS mixes GCJ-02 and WGS84 basemaps ({', '.join(self.basemaps)}):"
                " overlays can be drawn in one coordinate system only; choose basemaps of one"
            )
        return self

    def basemap_crs(self, name: str) -> str | None:
        """The CRS of basemap ``name`` (None for none): gaode and a gcj02 custom are GCJ-02."""
        if name == "none":
            return None
        if name == "gaode" or (name == "custom" and self.tile_crs == "gcj02"):
            return "gcj02"
        return "wgs84"


@lru_cache
def get_settings() -> Settings:
    return Settings()


def sqlalchemy_url(url: str) -> str:
    """Use psycopg 3 whatever PostgreSQL URL flavour was given."""
    parsed = make_url(url)
    if parsed.drivername in ("postgres", "postgresql", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def libpq_url(url: str) -> str:
    """The same database as a plain libpq URL, for psycopg and psql."""
    parsed = make_url(sqlalchemy_url(url)).set(drivername="postgresql")
    return parsed.render_as_string(hide_password=False)


CONNECT_TIMEOUT_S = 5
"""A connection attempt gives up after this when the server does not answer (a refused one fails
at once): requests get their 503 instead of hanging on an unreachable host."""
POOL_SIZE = 30
"""Connections a process keeps (opened as needed, never closed for being surplus: overflow
connections, opened and closed under load, cost a PostgreSQL backend start each). SQLAlchemy's
default 5 (+ 10 overflow) made requests wait for a connection while holding a thread of anyio's
40 that requests holding connections needed to finish. With the read pool's 8, a process opens
up to 38: PostgreSQL's max_connections must allow that per uvicorn worker, and some room."""
POOL_TIMEOUT_S = 10
"""Longest wait for a free pooled connection (then 503)."""


def make_engine(url: str, statement_timeout_ms: int | None = None) -> Engine:
    """An engine whose pooled connections are checked before use (``pool_pre_ping``): after a
    database restart the first requests reconnect instead of failing on a dead connection."""
    connect_args: dict[str, object] = {"connect_timeout": CONNECT_TIMEOUT_S}
    if statement_timeout_ms:
        connect_args["options"] = f"-c statement_timeout={statement_timeout_ms}"
    return create_engine(
        sqlalchemy_url(url),
        pool_pre_ping=True,
        pool_size=POOL_SIZE,
        max_overflow=0,
        pool_timeout=POOL_TIMEOUT_S,
        connect_args=connect_args,
    )


@lru_cache
def get_engine() -> Engine:
    settings = get_settings()
    return make_engine(settings.database_url, settings.statement_timeout_ms)


def session_factory(engine: Engine | None = None) -> sessionmaker[Session]:
    """The session maker of ``engine``; the service's (the default) is made once: each
    ``sessionmaker`` is a new Session class whose event dispatch SQLAlchemy sets up anew, which
    had cost about 0.3 ms of every request."""
    if engine is None:
        return _service_session_maker(get_engine())
    return sessionmaker(bind=engine, expire_on_commit=False)


@lru_cache(maxsize=1)
def _service_session_maker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def transaction(engine: Engine | None = None) -> Iterator[Session]:
    """A session whose work is committed on success and rolled back on any error."""
    with session_factory(engine)() as session, session.begin():
        yield session
