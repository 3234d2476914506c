"""patrols: plans, stops, tracks, inspections, village days; community office; shops

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import geoalchemy2
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


POINT_KINDS = ("gate", "hydrant", "tree")
ALL_KINDS = ("gate", "hydrant", "green_area", "tree", "keep_clear")


def _site_feature_kinds(points: tuple[str, ...], kinds: tuple[str, ...]) -> None:
    """Recreate the two checks on site_feature.kind for these kinds."""

    def listed(values: tuple[str, ...]) -> str:
        return ", ".join(f"'{v}'" for v in values)

    for name in ("ck_site_feature_site_feature_kind", "ck_site_feature_geometry_fits_kind"):
        op.drop_constraint(op.f(name), "site_feature", type_="check")
    op.create_check_constraint(
        op.f("ck_site_feature_site_feature_kind"), "site_feature", f"kind IN ({listed(kinds)})"
    )
    op.create_check_constraint(
        op.f("ck_site_feature_geometry_fits_kind"),
        "site_feature",
        f"(kind IN ({listed(points)})) = (ST_Dimension(geom) = 0)"
        " AND ST_Dimension(geom) IN (0, 2) AND NOT ST_IsCollection(geom)",
    )


def upgrade() -> None:
    op.create_table(
        "village_day",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("teams", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("teams BETWEEN 1 AND 50", name=op.f("ck_village_day_teams_range")),
        sa.ForeignKeyConstraint(
            ["community_id"], ["community.id"], name=op.f("fk_village_day_community_id_community")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_village_day")),
    )
    op.create_index(
        op.f("ix_village_day_community_id"), "village_day", ["community_id"], unique=False
    )
    op.create_table(
        "patrol_plan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "daily",
                "village_day",
                name="patrol_kind",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("worker_id", sa.Integer(), nullable=True),
        sa.Column("village_day_id", sa.Integer(), nullable=True),
        sa.Column("team", sa.Integer(), nullable=True),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_by", sa.DateTime(timezone=True), nullable=False),
        sa.Column("returns_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("speed_mps", sa.Float(), nullable=False),
        sa.Column("distance_m", sa.Float(), nullable=False),
        sa.Column("straight_m", sa.Float(), nullable=False),
        sa.Column(
            "start",
            geoalchemy2.types.Geometry(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column(
            "finish",
            geoalchemy2.types.Geometry(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column(
            "route",
            geoalchemy2.types.Geometry(
                geometry_type="LINESTRING",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
            ),
            nullable=True,
        ),
        sa.Column(
            "sector",
            geoalchemy2.types.Geometry(
                geometry_type="MULTIPOLYGON",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
            ),
            nullable=True,
        ),
        sa.Column("straight_legs", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "(kind = 'daily') = (worker_id IS NOT NULL AND village_day_id IS NULL)",
            name=op.f("ck_patrol_plan_kind_fits_owner"),
        ),
        sa.CheckConstraint("ST_IsValid(finish)", name=op.f("ck_patrol_plan_finish_valid")),
        sa.CheckConstraint("ST_IsValid(start)", name=op.f("ck_patrol_plan_start_valid")),
        sa.CheckConstraint("ends_by > starts_at", name=op.f("ck_patrol_plan_period_ordered")),
        sa.CheckConstraint(
            "route IS NULL OR ST_IsValid(route)", name=op.f("ck_patrol_plan_route_valid")
        ),
        sa.CheckConstraint(
            "sector IS NULL OR ST_IsValid(sector)", name=op.f("ck_patrol_plan_sector_valid")
        ),
        sa.CheckConstraint("speed_mps > 0", name=op.f("ck_patrol_plan_speed_positive")),
        sa.ForeignKeyConstraint(
            ["community_id"], ["community.id"], name=op.f("fk_patrol_plan_community_id_community")
        ),
        sa.ForeignKeyConstraint(
            ["village_day_id"],
            ["village_day.id"],
            name=op.f("fk_patrol_plan_village_day_id_village_day"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["worker_id"], ["worker.id"], name=op.f("fk_patrol_plan_worker_id_worker")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patrol_plan")),
    )
    op.create_index(
        op.f("ix_patrol_plan_community_id"), "patrol_plan", ["community_id"], unique=False
    )
    op.create_index(op.f("ix_patrol_plan_day"), "patrol_plan", ["day"], unique=False)
    op.create_index(
        "ix_patrol_plan_finish", "patrol_plan", ["finish"], unique=False, postgresql_using="gist"
    )
    op.create_index(
        "ix_patrol_plan_route", "patrol_plan", ["route"], unique=False, postgresql_using="gist"
    )
    op.create_index(
        "ix_patrol_plan_sector", "patrol_plan", ["sector"], unique=False, postgresql_using="gist"
    )
    op.create_index(
        "ix_patrol_plan_start", "patrol_plan", ["start"], unique=False, postgresql_using="gist"
    )
    op.create_index(
        op.f("ix_patrol_plan_village_day_id"), "patrol_plan", ["village_day_id"], unique=False
    )
    op.create_index(op.f("ix_patrol_plan_worker_id"), "patrol_plan", ["worker_id"], unique=False)
    op.create_table(
        "patrol_stop",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("ref_id", sa.Integer(), nullable=True),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=1), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("service_s", sa.Integer(), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("window_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("arrive_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("leg_m", sa.Float(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("visited_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "geom",
            geoalchemy2.types.Geometry(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.CheckConstraint(
            "(seq IS NULL) = (reason IS NOT NULL)", name=op.f("ck_patrol_stop_fitted_or_reason")
        ),
        sa.CheckConstraint("ST_IsValid(geom)", name=op.f("ck_patrol_stop_geom_valid")),
        sa.CheckConstraint("priority BETWEEN 1 AND 5", name=op.f("ck_patrol_stop_priority_range")),
        sa.CheckConstraint("service_s >= 0", name=op.f("ck_patrol_stop_service_not_negative")),
        sa.CheckConstraint(
            "window_start IS NULL OR window_end > window_start",
            name=op.f("ck_patrol_stop_window_ordered"),
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["patrol_plan.id"],
            name=op.f("fk_patrol_stop_plan_id_patrol_plan"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patrol_stop")),
    )
    op.create_index(
        "ix_patrol_stop_geom", "patrol_stop", ["geom"], unique=False, postgresql_using="gist"
    )
    op.create_index("ix_patrol_stop_plan_id_seq", "patrol_stop", ["plan_id", "seq"], unique=False)
    op.create_table(
        "patrol_track",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("times", postgresql.ARRAY(sa.DateTime(timezone=True)), nullable=False),
        sa.Column("summary", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "uploaded_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "geom",
            geoalchemy2.types.Geometry(
                geometry_type="LINESTRING",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.CheckConstraint("ST_IsValid(geom)", name=op.f("ck_patrol_track_geom_valid")),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["patrol_plan.id"],
            name=op.f("fk_patrol_track_plan_id_patrol_plan"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patrol_track")),
    )
    op.create_index(
        "ix_patrol_track_geom", "patrol_track", ["geom"], unique=False, postgresql_using="gist"
    )
    op.create_index(op.f("ix_patrol_track_plan_id"), "patrol_track", ["plan_id"], unique=False)
    op.create_table(
        "inspection",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("place_kind", sa.String(length=24), nullable=False),
        sa.Column("place_id", sa.Integer(), nullable=False),
        sa.Column("inspected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("worker_id", sa.Integer(), nullable=True),
        sa.Column("track_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["track_id"],
            ["patrol_track.id"],
            name=op.f("fk_inspection_track_id_patrol_track"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["worker_id"], ["worker.id"], name=op.f("fk_inspection_worker_id_worker")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspection")),
    )
    op.create_index(
        "ix_inspection_place",
        "inspection",
        ["place_kind", "place_id", "inspected_at"],
        unique=False,
    )
    op.create_index(op.f("ix_inspection_track_id"), "inspection", ["track_id"], unique=False)
    op.create_index(op.f("ix_inspection_worker_id"), "inspection", ["worker_id"], unique=False)
    op.add_column(
        "community",
        sa.Column(
            "office",
            geoalchemy2.types.Geometry(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
            ),
            nullable=True,
        ),
    )
    op.create_index("ix_community_office", "community", ["office"], postgresql_using="gist")
    op.create_check_constraint(
        op.f("ck_community_office_valid"), "community", "office IS NULL OR ST_IsValid(office)"
    )
    _site_feature_kinds((*POINT_KINDS, "shop"), (*ALL_KINDS, "shop"))


def downgrade() -> None:
    op.execute("DELETE FROM site_feature WHERE kind = 'shop'")
    _site_feature_kinds(POINT_KINDS, ALL_KINDS)
    op.drop_column("community", "office")
    op.drop_index(op.f("ix_inspection_worker_id"), table_name="inspection")
    op.drop_index(op.f("ix_inspection_track_id"), table_name="inspection")
    op.drop_index("ix_inspection_place", table_name="inspection")
    op.drop_table("inspection")
    op.drop_index(op.f("ix_patrol_track_plan_id"), table_name="patrol_track")
    op.drop_index("ix_patrol_track_geom", table_name="patrol_track", postgresql_using="gist")
    op.drop_table("patrol_track")
    op.drop_index("ix_patrol_stop_plan_id_seq", table_name="patrol_stop")
    op.drop_index("ix_patrol_stop_geom", table_name="patrol_stop", postgresql_using="gist")
    op.drop_table("patrol_stop")
    op.drop_index(op.f("ix_patrol_plan_worker_id"), table_name="patrol_plan")
    op.drop_index(op.f("ix_patrol_plan_village_day_id"), table_name="patrol_plan")
    op.drop_index("ix_patrol_plan_start", table_name="patrol_plan", postgresql_using="gist")
    op.drop_index("ix_patrol_plan_sector", table_name="patrol_plan", postgresql_using="gist")
    op.drop_index("ix_patrol_plan_route", table_name="patrol_plan", postgresql_using="gist")
    op.drop_index(op.f("ix_patrol_plan_day"), table_name="patrol_plan")
    op.drop_index(op.f("ix_patrol_plan_community_id"), table_name="patrol_plan")
    op.drop_table("patrol_plan")
    op.drop_index(op.f("ix_village_day_community_id"), table_name="village_day")
    op.drop_table("village_day")
