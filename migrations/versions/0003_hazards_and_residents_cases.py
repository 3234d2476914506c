"""hazards and residents cases

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import geoalchemy2
import sqlalchemy as sa
from alembic import op

CATEGORIES = [
    ("blocked_corridor", "fire", "Corridor or stairwell blocked with belongings", "楼道堆物堵塞"),
    ("indoor_ebike_charging", "fire", "E-bike charged indoors or in a stairwell", "电动车室内充电"),
    ("missing_extinguisher", "fire", "Missing or expired fire extinguisher", "灭火器缺失或过期"),
    ("blocked_fire_lane", "fire", "Fire lane blocked or parked on", "消防通道堵塞"),
    ("food_safety", "food", "Food safety (e.g. stall without a licence)", "食品安全"),
    ("structural", "structural", "Structural danger of a building", "房屋结构安全"),
    ("traffic_parking", "traffic", "Traffic and parking", "交通与停车"),
    ("sanitation", "sanitation", "Rubbish and sanitation", "环境卫生"),
    ("other", "other", "Other", "其他"),
]

FORBID_EDITS = """
CREATE OR REPLACE FUNCTION hazard_event_is_history() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'hazard_event rows are history and cannot be changed or deleted';
END $$;
CREATE TRIGGER hazard_event_is_history BEFORE UPDATE OR DELETE ON hazard_event
    FOR EACH ROW EXECUTE FUNCTION hazard_event_is_history();
"""


revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "hazard_category",
        sa.Column("code", sa.String(length=48), nullable=False),
        sa.Column("group", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("name_zh", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_hazard_category")),
    )
    categories = sa.table(
        "hazard_category",
        sa.column("code"),
        sa.column("group"),
        sa.column("name"),
        sa.column("name_zh"),
    )
    op.bulk_insert(
        categories,
        [dict(zip(("code", "group", "name", "name_zh"), c, strict=True)) for c in CATEGORIES],
    )
    op.create_table(
        "hazard",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "hazard",
                "case",
                name="case_kind",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("grid_id", sa.Integer(), nullable=True),
        sa.Column("compound_id", sa.Integer(), nullable=True),
        sa.Column("building_id", sa.Integer(), nullable=True),
        sa.Column("floor", sa.Integer(), nullable=True),
        sa.Column("category", sa.String(length=48), nullable=False),
        sa.Column(
            "severity",
            sa.Enum(
                "low",
                "medium",
                "high",
                "critical",
                name="severity",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column(
            "origin",
            sa.Enum(
                "patrol",
                "resident",
                "inspection",
                "hotline",
                name="origin",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("reporter", sa.String(length=200), nullable=False),
        sa.Column("reporter_contact", sa.String(length=200), nullable=True),
        sa.Column(
            "state",
            sa.Enum(
                "reported",
                "dispatched",
                "rectifying",
                "rectified",
                "verified",
                "rejected",
                "duplicate",
                name="hazard_state",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("backup_id", sa.Integer(), nullable=True),
        sa.Column("blind_zone", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("rectified_by", sa.String(length=200), nullable=True),
        sa.Column("duplicate_of_id", sa.Integer(), nullable=True),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "reported_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
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
        sa.CheckConstraint("ST_IsValid(geom)", name=op.f("ck_hazard_geom_valid")),
        sa.CheckConstraint(
            "floor IS NULL OR floor BETWEEN -10 AND 200", name=op.f("ck_hazard_floor_range")
        ),
        sa.CheckConstraint("version > 0", name=op.f("ck_hazard_version_positive")),
        sa.ForeignKeyConstraint(
            ["assignee_id"], ["worker.id"], name=op.f("fk_hazard_assignee_id_worker")
        ),
        sa.ForeignKeyConstraint(
            ["backup_id"], ["worker.id"], name=op.f("fk_hazard_backup_id_worker")
        ),
        sa.ForeignKeyConstraint(
            ["building_id"],
            ["building.id"],
            name=op.f("fk_hazard_building_id_building"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["category"], ["hazard_category.code"], name=op.f("fk_hazard_category_hazard_category")
        ),
        sa.ForeignKeyConstraint(
            ["community_id"], ["community.id"], name=op.f("fk_hazard_community_id_community")
        ),
        sa.ForeignKeyConstraint(
            ["compound_id"],
            ["compound.id"],
            name=op.f("fk_hazard_compound_id_compound"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["duplicate_of_id"], ["hazard.id"], name=op.f("fk_hazard_duplicate_of_id_hazard")
        ),
        sa.ForeignKeyConstraint(["grid_id"], ["grid.id"], name=op.f("fk_hazard_grid_id_grid")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hazard")),
    )
    op.create_index(op.f("ix_hazard_assignee_id"), "hazard", ["assignee_id"], unique=False)
    op.create_index(op.f("ix_hazard_building_id"), "hazard", ["building_id"], unique=False)
    op.create_index(op.f("ix_hazard_category"), "hazard", ["category"], unique=False)
    op.create_index(op.f("ix_hazard_community_id"), "hazard", ["community_id"], unique=False)
    op.create_index(op.f("ix_hazard_compound_id"), "hazard", ["compound_id"], unique=False)
    op.create_index(op.f("ix_hazard_duplicate_of_id"), "hazard", ["duplicate_of_id"], unique=False)
    op.create_index("ix_hazard_geom", "hazard", ["geom"], unique=False, postgresql_using="gist")
    op.create_index(op.f("ix_hazard_grid_id"), "hazard", ["grid_id"], unique=False)
    op.create_index("ix_hazard_state_deadline", "hazard", ["state", "deadline"], unique=False)
    op.create_table(
        "hazard_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hazard_id", sa.Integer(), nullable=False),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("from_state", sa.String(length=24), nullable=True),
        sa.Column("to_state", sa.String(length=24), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["hazard_id"], ["hazard.id"], name=op.f("fk_hazard_event_hazard_id_hazard")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hazard_event")),
    )
    op.create_index(op.f("ix_hazard_event_hazard_id"), "hazard_event", ["hazard_id"], unique=False)
    op.create_table(
        "hazard_photo",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hazard_id", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(length=400), nullable=False),
        sa.Column("content_type", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("uploaded_by", sa.String(length=200), nullable=False),
        sa.Column(
            "uploaded_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["hazard_id"], ["hazard.id"], name=op.f("fk_hazard_photo_hazard_id_hazard")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hazard_photo")),
    )
    op.create_index(op.f("ix_hazard_photo_hazard_id"), "hazard_photo", ["hazard_id"], unique=False)
    op.execute(FORBID_EDITS)


def downgrade() -> None:
    op.execute("DROP TRIGGER hazard_event_is_history ON hazard_event")
    op.execute("DROP FUNCTION hazard_event_is_history()")
    op.drop_index(op.f("ix_hazard_photo_hazard_id"), table_name="hazard_photo")
    op.drop_table("hazard_photo")
    op.drop_index(op.f("ix_hazard_event_hazard_id"), table_name="hazard_event")
    op.drop_table("hazard_event")
    op.drop_index("ix_hazard_state_deadline", table_name="hazard")
    op.drop_index(op.f("ix_hazard_grid_id"), table_name="hazard")
    op.drop_index("ix_hazard_geom", table_name="hazard", postgresql_using="gist")
    op.drop_index(op.f("ix_hazard_duplicate_of_id"), table_name="hazard")
    op.drop_index(op.f("ix_hazard_compound_id"), table_name="hazard")
    op.drop_index(op.f("ix_hazard_community_id"), table_name="hazard")
    op.drop_index(op.f("ix_hazard_category"), table_name="hazard")
    op.drop_index(op.f("ix_hazard_building_id"), table_name="hazard")
    op.drop_index(op.f("ix_hazard_assignee_id"), table_name="hazard")
    op.drop_table("hazard")
    op.drop_table("hazard_category")
