"""SQLAlchemy 2 + GeoAlchemy2 tables: the administrative and physical geography of communities.

Every geometry column has SRID 4326, one GiST index and ``CHECK (ST_IsValid(geom))``.
The Alembic migrations in ``migrations/versions`` are the only source of the schema; a test
proves that autogenerate finds no difference between these models and the database.
"""

from __future__ import annotations

import datetime as dt
import enum

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    column,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, ExcludeConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def geometry_column(kind: str) -> Mapped:
    """A NOT NULL SRID 4326 geometry column; its GiST index and validity check come separately."""
    return mapped_column(Geometry(kind, srid=4326, spatial_index=False), nullable=False)


def spatial(table: str, column: str = "geom") -> tuple[Index, CheckConstraint]:
    """The GiST index and the ST_IsValid check every geometry column carries."""
    return (
        Index(f"ix_{table}_{column}", column, postgresql_using="gist"),
        CheckConstraint(f"ST_IsValid({column})", name=f"{column}_valid"),
    )


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=24,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


class RoadKind(enum.StrEnum):
    STREET = "street"
    INTERNAL_ROAD = "internal_road"
    FIRE_LANE = "fire_lane"
    FOOTPATH = "footpath"


class SiteFeatureKind(enum.StrEnum):
    GATE = "gate"
    HYDRANT = "hydrant"
    GREEN_AREA = "green_area"
    TREE = "tree"
    KEEP_CLEAR = "keep_clear"
    SHOP = "shop"


POINT_SITE_FEATURES = (
    SiteFeatureKind.GATE,
    SiteFeatureKind.HYDRANT,
    SiteFeatureKind.TREE,
    SiteFeatureKind.SHOP,
)
"""Site features drawn as points; the others (green area, keep-clear zone) are polygons."""


class Gender(enum.StrEnum):
    FEMALE = "female"
    MALE = "male"


class WorkerRole(enum.StrEnum):
    GRID_WORKER = "grid_worker"
    GRID_LEADER = "grid_leader"
    GRID_INSTRUCTOR = "grid_instructor"
    RESIDENT_GROUP = "resident_group"


class AdministrativeArea:
    """Columns shared by district, street and community: a unique code, a name, an area."""

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    geom = geometry_column("MULTIPOLYGON")


class District(AdministrativeArea, Base):
    """区: the top of the administrative hierarchy."""

    __tablename__ = "district"
    __table_args__ = spatial("district")


class Street(AdministrativeArea, Base):
    """街道: a sub-district of a district."""

    __tablename__ = "street"
    __table_args__ = spatial("street")

    district_id: Mapped[int] = mapped_column(ForeignKey("district.id"), index=True)


class Community(AdministrativeArea, Base):
    """社区: the area a community office serves; its grids tile it."""

    __tablename__ = "community"
    __table_args__ = (
        *spatial("community"),
        Index("ix_community_office", "office", postgresql_using="gist"),
        CheckConstraint("office IS NULL OR ST_IsValid(office)", name="office_valid"),
    )

    street_id: Mapped[int] = mapped_column(ForeignKey("street.id"), index=True)
    office = mapped_column(Geometry("POINT", srid=4326, spatial_index=False))
    """Where the community office (社区党群服务中心) is: patrols start and end there."""


class Grid(Base):
    """网格: a polygon of responsibility inside a community, in its current version.

    A grid keeps its id for life. Redrawing or editing it writes the previous state to
    ``grid_version`` (valid_from..valid_to) and starts a new current version today; retiring it
    sets ``valid_to``. The code is unique among the current grids of a community.
    """

    __tablename__ = "grid"
    __table_args__ = (
        *spatial("grid"),
        Index(
            "uq_grid_community_id_code_current",
            "community_id",
            "code",
            unique=True,
            postgresql_where=text("valid_to IS NULL"),
        ),
        CheckConstraint("households >= 0 AND population >= 0", name="counts_not_negative"),
        CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="period_ordered"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    households: Mapped[int] = mapped_column(Integer, server_default="0")
    population: Mapped[int] = mapped_column(Integer, server_default="0")
    note: Mapped[str | None] = mapped_column(Text)
    geom = geometry_column("POLYGON")
    valid_from: Mapped[dt.date] = mapped_column(Date, server_default=text("CURRENT_DATE"))
    valid_to: Mapped[dt.date | None] = mapped_column(Date)


class GridVersion(Base):
    """A past state of a grid, valid on the days valid_from <= day < valid_to."""

    __tablename__ = "grid_version"
    __table_args__ = (
        *spatial("grid_version"),
        CheckConstraint("valid_to > valid_from", name="period_ordered"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    grid_id: Mapped[int] = mapped_column(ForeignKey("grid.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    households: Mapped[int] = mapped_column(Integer)
    population: Mapped[int] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)
    geom = geometry_column("POLYGON")
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_to: Mapped[dt.date] = mapped_column(Date)


class Compound(Base):
    """小区: a residential estate, possibly without property management (无物业)."""

    __tablename__ = "compound"
    __table_args__ = (
        *spatial("compound"),
        CheckConstraint("households >= 0 AND population >= 0", name="counts_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    has_property_management: Mapped[bool]
    year_built: Mapped[int | None]
    households: Mapped[int] = mapped_column(Integer, server_default="0")
    population: Mapped[int] = mapped_column(Integer, server_default="0")
    geom = geometry_column("POLYGON")


class Building(Base):
    """楼栋: a building footprint with its stairwell entrances (单元入口) as points."""

    __tablename__ = "building"
    __table_args__ = (
        *spatial("building"),
        Index("ix_building_entrances", "entrances", postgresql_using="gist"),
        CheckConstraint("entrances IS NULL OR ST_IsValid(entrances)", name="entrances_valid"),
        CheckConstraint("floors > 0 AND units >= 0", name="counts_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"), index=True)
    compound_id: Mapped[int | None] = mapped_column(
        ForeignKey("compound.id", ondelete="SET NULL"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    floors: Mapped[int]
    units: Mapped[int] = mapped_column(Integer, server_default="1")
    geom = geometry_column("POLYGON")
    entrances = mapped_column(Geometry("MULTIPOINT", srid=4326, spatial_index=False))


class Road(Base):
    """A road centre line: city street, compound internal road, fire lane or footpath."""

    __tablename__ = "road"
    __table_args__ = (
        *spatial("road"),
        CheckConstraint("width_m > 0 AND width_m <= 100", name="width_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"), index=True)
    compound_id: Mapped[int | None] = mapped_column(
        ForeignKey("compound.id", ondelete="SET NULL"), index=True
    )
    name: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[RoadKind] = mapped_column(_enum(RoadKind, "road_kind"))
    width_m: Mapped[float] = mapped_column(Float)
    geom = geometry_column("LINESTRING")


class SiteFeature(Base):
    """Gate, hydrant, tree or shop (points); green area or keep-clear zone (polygons)."""

    __tablename__ = "site_feature"
    __table_args__ = (
        *spatial("site_feature"),
        CheckConstraint(
            "(kind IN ('gate', 'hydrant', 'tree', 'shop')) = (ST_Dimension(geom) = 0)"
            " AND ST_Dimension(geom) IN (0, 2) AND NOT ST_IsCollection(geom)",
            name="geometry_fits_kind",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"), index=True)
    compound_id: Mapped[int | None] = mapped_column(
        ForeignKey("compound.id", ondelete="SET NULL"), index=True
    )
    kind: Mapped[SiteFeatureKind] = mapped_column(_enum(SiteFeatureKind, "site_feature_kind"))
    name: Mapped[str | None] = mapped_column(String(200))
    geom = geometry_column("GEOMETRY")


class Worker(Base):
    """A person of the grid team: grid worker, grid leader, instructor or resident-group member."""

    __tablename__ = "worker"

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int | None] = mapped_column(ForeignKey("community.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    gender: Mapped[Gender] = mapped_column(_enum(Gender, "gender"))
    role: Mapped[WorkerRole] = mapped_column(_enum(WorkerRole, "worker_role"))
    hire_date: Mapped[dt.date]
    phone: Mapped[str | None] = mapped_column(String(32))
    left_on: Mapped[dt.date | None] = mapped_column(Date)
    """First day the worker no longer works here; their roles end that day."""


class AssignmentRole(enum.StrEnum):
    A = "A"
    B = "B"


class Assignment(Base):
    """A worker's role on a grid over a period of days, valid_from <= day < valid_to.

    A is the primary worker (A角), B the backup (B角), the A worker of an adjacent grid. History
    is kept: ending a role sets valid_to, nothing is deleted. Exclusion constraints make two A
    workers of one grid, or the same role twice, impossible on any day, even under concurrency.
    """

    __tablename__ = "assignment"
    __table_args__ = (
        CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name="period_ordered"),
        ExcludeConstraint(
            (column("grid_id"), "="),
            (text("daterange(valid_from, valid_to)"), "&&"),
            where=text("role = 'A'"),
            using="gist",
            name="ex_assignment_one_a_per_grid",
        ),
        ExcludeConstraint(
            (column("grid_id"), "="),
            (column("worker_id"), "="),
            (text("daterange(valid_from, valid_to)"), "&&"),
            using="gist",
            name="ex_assignment_one_role_per_worker_and_grid",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("worker.id"), index=True)
    grid_id: Mapped[int] = mapped_column(ForeignKey("grid.id"), index=True)
    role: Mapped[AssignmentRole] = mapped_column(_enum(AssignmentRole, "assignment_role"))
    valid_from: Mapped[dt.date] = mapped_column(Date, server_default=text("CURRENT_DATE"))
    valid_to: Mapped[dt.date | None] = mapped_column(Date)


class HazardState(enum.StrEnum):
    REPORTED = "reported"
    DISPATCHED = "dispatched"
    RECTIFYING = "rectifying"
    RECTIFIED = "rectified"
    VERIFIED = "verified"
    REJECTED = "rejected"
    DUPLICATE = "duplicate"


class Severity(enum.StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class Origin(enum.StrEnum):
    PATROL = "patrol"
    RESIDENT = "resident"
    INSPECTION = "inspection"
    HOTLINE = "hotline"


class CaseKind(enum.StrEnum):
    HAZARD = "hazard"
    CASE = "case"


class HazardCategory(Base):
    """The configurable catalogue of hazard and case categories."""

    __tablename__ = "hazard_category"

    code: Mapped[str] = mapped_column(String(48), primary_key=True)
    group: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    name_zh: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(server_default=text("true"))


class Hazard(Base):
    """A located hazard (安全隐患) or resident's case, followed through a closed loop."""

    __tablename__ = "hazard"
    __table_args__ = (
        *spatial("hazard"),
        Index("ix_hazard_state_deadline", "state", "deadline"),
        CheckConstraint("floor IS NULL OR floor BETWEEN -10 AND 200", name="floor_range"),
        CheckConstraint("version > 0", name="version_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[CaseKind] = mapped_column(_enum(CaseKind, "case_kind"))
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"), index=True)
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("grid.id"), index=True)
    compound_id: Mapped[int | None] = mapped_column(
        ForeignKey("compound.id", ondelete="SET NULL"), index=True
    )
    building_id: Mapped[int | None] = mapped_column(
        ForeignKey("building.id", ondelete="SET NULL"), index=True
    )
    floor: Mapped[int | None]
    category: Mapped[str] = mapped_column(ForeignKey("hazard_category.code"), index=True)
    severity: Mapped[Severity] = mapped_column(_enum(Severity, "severity"))
    description: Mapped[str] = mapped_column(Text)
    origin: Mapped[Origin] = mapped_column(_enum(Origin, "origin"))
    reporter: Mapped[str] = mapped_column(String(200))
    reporter_contact: Mapped[str | None] = mapped_column(String(200))
    state: Mapped[HazardState] = mapped_column(_enum(HazardState, "hazard_state"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("worker.id"), index=True)
    backup_id: Mapped[int | None] = mapped_column(ForeignKey("worker.id"))
    blind_zone: Mapped[bool] = mapped_column(server_default=text("false"))
    rectified_by: Mapped[str | None] = mapped_column(String(200))
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("hazard.id"), index=True)
    deadline: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    reported_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, server_default="1")
    geom = geometry_column("POINT")


class HazardEvent(Base):
    """One change of a hazard: who, when, from which state to which, why. Never edited."""

    __tablename__ = "hazard_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    hazard_id: Mapped[int] = mapped_column(ForeignKey("hazard.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=text("now()"))
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(32))
    from_state: Mapped[str | None] = mapped_column(String(24))
    to_state: Mapped[str | None] = mapped_column(String(24))
    note: Mapped[str | None] = mapped_column(Text)


class HazardPhoto(Base):
    """A photo of a hazard, stored on disk under the data directory."""

    __tablename__ = "hazard_photo"

    id: Mapped[int] = mapped_column(primary_key=True)
    hazard_id: Mapped[int] = mapped_column(ForeignKey("hazard.id"), index=True)
    path: Mapped[str] = mapped_column(String(400))
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by: Mapped[str] = mapped_column(String(200))
    uploaded_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Alembic filter: compare Gridline's own tables only, not PostGIS's (spatial_ref_sys)."""
    return not (type_ == "table" and reflected and compare_to is None)


class PatrolKind(enum.StrEnum):
    DAILY = "daily"
    VILLAGE_DAY = "village_day"


class VillageDay(Base):
    """下村日: a community split into sectors among teams for one day's joint patrol."""

    __tablename__ = "village_day"
    __table_args__ = (CheckConstraint("teams BETWEEN 1 AND 50", name="teams_range"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"), index=True)
    day: Mapped[dt.date] = mapped_column(Date)
    teams: Mapped[int]
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )


class PatrolPlan(Base):
    """One walk: a worker's daily patrol, or one team's sector on a village day."""

    __tablename__ = "patrol_plan"
    __table_args__ = (
        *spatial("patrol_plan", "start"),
        Index("ix_patrol_plan_finish", "finish", postgresql_using="gist"),
        Index("ix_patrol_plan_route", "route", postgresql_using="gist"),
        Index("ix_patrol_plan_sector", "sector", postgresql_using="gist"),
        CheckConstraint("route IS NULL OR ST_IsValid(route)", name="route_valid"),
        CheckConstraint("sector IS NULL OR ST_IsValid(sector)", name="sector_valid"),
        CheckConstraint("ST_IsValid(finish)", name="finish_valid"),
        CheckConstraint("ends_by > starts_at", name="period_ordered"),
        CheckConstraint("speed_mps > 0", name="speed_positive"),
        CheckConstraint(
            "(kind = 'daily') = (worker_id IS NOT NULL AND village_day_id IS NULL)",
            name="kind_fits_owner",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[PatrolKind] = mapped_column(_enum(PatrolKind, "patrol_kind"))
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"), index=True)
    worker_id: Mapped[int | None] = mapped_column(ForeignKey("worker.id"), index=True)
    village_day_id: Mapped[int | None] = mapped_column(
        ForeignKey("village_day.id", ondelete="CASCADE"), index=True
    )
    team: Mapped[int | None]
    day: Mapped[dt.date] = mapped_column(Date, index=True)
    starts_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    ends_by: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    returns_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    speed_mps: Mapped[float] = mapped_column(Float)
    distance_m: Mapped[float] = mapped_column(Float)
    straight_m: Mapped[float] = mapped_column(Float)
    """Walked along straight lines because no network connects those places."""
    straight_legs: Mapped[int]
    start = geometry_column("POINT")
    finish = geometry_column("POINT")
    route = mapped_column(Geometry("LINESTRING", srid=4326, spatial_index=False))
    sector = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=False))
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )


class PatrolStop(Base):
    """A place a plan visits (seq set) or could not fit (reason set)."""

    __tablename__ = "patrol_stop"
    __table_args__ = (
        *spatial("patrol_stop"),
        Index("ix_patrol_stop_plan_id_seq", "plan_id", "seq"),
        CheckConstraint("(seq IS NULL) = (reason IS NOT NULL)", name="fitted_or_reason"),
        CheckConstraint("priority BETWEEN 1 AND 5", name="priority_range"),
        CheckConstraint("service_s >= 0", name="service_not_negative"),
        CheckConstraint("window_start IS NULL OR window_end > window_start", name="window_ordered"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("patrol_plan.id", ondelete="CASCADE"))
    seq: Mapped[int | None]
    kind: Mapped[str] = mapped_column(String(24))
    ref_id: Mapped[int | None]
    label: Mapped[str] = mapped_column(String(200))
    role: Mapped[str | None] = mapped_column(String(1))
    priority: Mapped[int]
    service_s: Mapped[int]
    window_start: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    window_end: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    arrive_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    leg_m: Mapped[float | None] = mapped_column(Float)
    reason: Mapped[str | None] = mapped_column(Text)
    visited_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    geom = geometry_column("POINT")


class PatrolTrack(Base):
    """A GPS track uploaded for a plan, with what it covered (``summary``)."""

    __tablename__ = "patrol_track"
    __table_args__ = spatial("patrol_track")

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(
        ForeignKey("patrol_plan.id", ondelete="CASCADE"), index=True
    )
    times: Mapped[list[dt.datetime]] = mapped_column(ARRAY(DateTime(timezone=True)))
    summary: Mapped[dict] = mapped_column(JSONB)
    uploaded_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )
    geom = geometry_column("LINESTRING")


class Inspection(Base):
    """A scheduled check of a place (shop, building, hydrant) done on a patrol."""

    __tablename__ = "inspection"
    __table_args__ = (Index("ix_inspection_place", "place_kind", "place_id", "inspected_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    place_kind: Mapped[str] = mapped_column(String(24))
    place_id: Mapped[int]
    inspected_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    worker_id: Mapped[int | None] = mapped_column(ForeignKey("worker.id"), index=True)
    track_id: Mapped[int | None] = mapped_column(
        ForeignKey("patrol_track.id", ondelete="SET NULL"), index=True
    )


class LayoutStatus(enum.StrEnum):
    DRAFT = "draft"
    APPROVED = "approved"
    PAINTED = "painted"


class ParkingLayout(Base):
    """One version of a compound's parking layout, with its parameters and totals."""

    __tablename__ = "parking_layout"
    __table_args__ = (
        Index("ix_parking_layout_compound_id_version", "compound_id", "version", unique=True),
        Index("ix_parking_layout_aisles", "aisles", postgresql_using="gist"),
        CheckConstraint("aisles IS NULL OR ST_IsValid(aisles)", name="aisles_valid"),
        CheckConstraint("version > 0", name="version_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    compound_id: Mapped[int] = mapped_column(ForeignKey("compound.id", ondelete="CASCADE"))
    version: Mapped[int]
    status: Mapped[LayoutStatus] = mapped_column(_enum(LayoutStatus, "layout_status"))
    origin: Mapped[str] = mapped_column(String(16))
    """generated or imported."""
    params: Mapped[dict] = mapped_column(JSONB)
    totals: Mapped[dict] = mapped_column(JSONB)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )
    aisles = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=False))


class ParkingStall(Base):
    """A car stall of a layout: polygon, painted lines, the edge it opens onto."""

    __tablename__ = "parking_stall"
    __table_args__ = (
        *spatial("parking_stall"),
        Index("ix_parking_stall_layout_id_number", "layout_id", "number", unique=True),
        Index("ix_parking_stall_lines", "lines", postgresql_using="gist"),
        Index("ix_parking_stall_front", "front", postgresql_using="gist"),
        CheckConstraint("lines IS NULL OR ST_IsValid(lines)", name="lines_valid"),
        CheckConstraint("front IS NULL OR ST_IsValid(front)", name="front_valid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    layout_id: Mapped[int] = mapped_column(ForeignKey("parking_layout.id", ondelete="CASCADE"))
    number: Mapped[int]
    kind: Mapped[str] = mapped_column(String(24))
    angle: Mapped[float] = mapped_column(Float)
    accessible: Mapped[bool]
    source: Mapped[str] = mapped_column(String(200))
    geom = geometry_column("POLYGON")
    lines = mapped_column(Geometry("MULTILINESTRING", srid=4326, spatial_index=False))
    front = mapped_column(Geometry("LINESTRING", srid=4326, spatial_index=False))


class ParkingBay(Base):
    """A non-motor-vehicle bay of a layout, with its capacity and painted outline."""

    __tablename__ = "parking_bay"
    __table_args__ = (
        *spatial("parking_bay"),
        Index("ix_parking_bay_layout_id", "layout_id"),
        Index("ix_parking_bay_lines", "lines", postgresql_using="gist"),
        CheckConstraint("lines IS NULL OR ST_IsValid(lines)", name="lines_valid"),
        CheckConstraint("capacity > 0", name="capacity_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    layout_id: Mapped[int] = mapped_column(ForeignKey("parking_layout.id", ondelete="CASCADE"))
    number: Mapped[int]
    kind: Mapped[str] = mapped_column(String(16))
    capacity: Mapped[int]
    geom = geometry_column("POLYGON")
    lines = mapped_column(Geometry("MULTILINESTRING", srid=4326, spatial_index=False))


class AccountRole(enum.StrEnum):
    """What an account may do, and where (its scope)."""

    ADMIN = "admin"
    """Everything, everywhere."""
    STREET = "street"
    """A street office (街道): its street's communities."""
    OFFICE = "office"
    """A community office (社区): its community."""
    LEADER = "leader"
    """A grid leader (网格长): its community's hazards, cases and patrols."""
    WORKER = "worker"
    """A grid worker (网格员): the grids where they hold the A or B role today."""
    VIEWER = "viewer"
    """Read-only, without personal data; city-wide or limited to a street or community."""


class Account(Base):
    """Someone who signs in: a role, the area it serves and, for workers, the worker record."""

    __tablename__ = "account"
    __table_args__ = (
        CheckConstraint(
            "(role <> 'street' OR street_id IS NOT NULL)"
            " AND (role NOT IN ('office', 'leader') OR community_id IS NOT NULL)"
            " AND (role <> 'worker' OR worker_id IS NOT NULL)"
            " AND (role <> 'admin' OR (street_id IS NULL AND community_id IS NULL))",
            name="role_has_its_area",
        ),
        CheckConstraint("username ~ '^[a-z0-9][a-z0-9_.-]{1,63}$'", name="username_format"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[AccountRole] = mapped_column(_enum(AccountRole, "account_role"))
    street_id: Mapped[int | None] = mapped_column(ForeignKey("street.id"), index=True)
    community_id: Mapped[int | None] = mapped_column(ForeignKey("community.id"), index=True)
    worker_id: Mapped[int | None] = mapped_column(ForeignKey("worker.id"), index=True)
    active: Mapped[bool] = mapped_column(server_default=text("true"))
    token_generation: Mapped[int] = mapped_column(Integer, server_default="0")
    """Tokens carry the generation they were issued in; a password change or revoke-all bumps
    it, so every token issued before is refused."""
    created_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )


class RevokedToken(Base):
    """A token signed out before it expired (its ``jti``); kept until it would have expired."""

    __tablename__ = "revoked_token"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), index=True
    )
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("now()")
    )


class AuditEntry(Base):
    """One row written, changed or deleted: who, through what, when, before and after.

    Written by statement-level triggers on every table in the same transaction as the change;
    the application's role may insert and read these rows but never update or delete them.
    """

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_table_row", "table_name", "row_id"),
        Index("ix_audit_log_request_id", "request_id"),
        Index("ix_audit_log_at", "at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), server_default=text("clock_timestamp()")
    )
    actor: Mapped[str] = mapped_column(String(200))
    via: Mapped[str] = mapped_column(String(16))
    request_id: Mapped[str | None] = mapped_column(String(64))
    operation: Mapped[str] = mapped_column(String(8))
    table_name: Mapped[str] = mapped_column(String(64))
    row_id: Mapped[str | None] = mapped_column(String(64))
    before: Mapped[dict | None] = mapped_column(JSONB)
    after: Mapped[dict | None] = mapped_column(JSONB)
