"""parking layouts: versions of a compound's layout, their stalls and non-motor bays

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import geoalchemy2
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "parking_layout",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("compound_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "approved",
                "painted",
                name="layout_status",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("params", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("totals", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "aisles",
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
        sa.CheckConstraint(
            "aisles IS NULL OR ST_IsValid(aisles)", name=op.f("ck_parking_layout_aisles_valid")
        ),
        sa.CheckConstraint("version > 0", name=op.f("ck_parking_layout_version_positive")),
        sa.ForeignKeyConstraint(
            ["compound_id"],
            ["compound.id"],
            name=op.f("fk_parking_layout_compound_id_compound"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_parking_layout")),
    )
    op.create_index(
        "ix_parking_layout_aisles",
        "parking_layout",
        ["aisles"],
        unique=False,
        postgresql_using="gist",
    )
    op.create_index(
        "ix_parking_layout_compound_id_version",
        "parking_layout",
        ["compound_id", "version"],
        unique=True,
    )
    op.create_table(
        "parking_bay",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("layout_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column(
            "geom",
            geoalchemy2.types.Geometry(
                geometry_type="POLYGON",
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
            "lines",
            geoalchemy2.types.Geometry(
                geometry_type="MULTILINESTRING",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
            ),
            nullable=True,
        ),
        sa.CheckConstraint("ST_IsValid(geom)", name=op.f("ck_parking_bay_geom_valid")),
        sa.CheckConstraint("capacity > 0", name=op.f("ck_parking_bay_capacity_positive")),
        sa.CheckConstraint(
            "lines IS NULL OR ST_IsValid(lines)", name=op.f("ck_parking_bay_lines_valid")
        ),
        sa.ForeignKeyConstraint(
            ["layout_id"],
            ["parking_layout.id"],
            name=op.f("fk_parking_bay_layout_id_parking_layout"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_parking_bay")),
    )
    op.create_index(
        "ix_parking_bay_geom", "parking_bay", ["geom"], unique=False, postgresql_using="gist"
    )
    op.create_index("ix_parking_bay_layout_id", "parking_bay", ["layout_id"], unique=False)
    op.create_index(
        "ix_parking_bay_lines", "parking_bay", ["lines"], unique=False, postgresql_using="gist"
    )
    op.create_table(
        "parking_stall",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("layout_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("angle", sa.Float(), nullable=False),
        sa.Column("accessible", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column(
            "geom",
            geoalchemy2.types.Geometry(
                geometry_type="POLYGON",
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
            "lines",
            geoalchemy2.types.Geometry(
                geometry_type="MULTILINESTRING",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
            ),
            nullable=True,
        ),
        sa.Column(
            "front",
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
        sa.CheckConstraint("ST_IsValid(geom)", name=op.f("ck_parking_stall_geom_valid")),
        sa.CheckConstraint(
            "front IS NULL OR ST_IsValid(front)", name=op.f("ck_parking_stall_front_valid")
        ),
        sa.CheckConstraint(
            "lines IS NULL OR ST_IsValid(lines)", name=op.f("ck_parking_stall_lines_valid")
        ),
        sa.ForeignKeyConstraint(
            ["layout_id"],
            ["parking_layout.id"],
            name=op.f("fk_parking_stall_layout_id_parking_layout"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_parking_stall")),
    )
    op.create_index(
        "ix_parking_stall_front", "parking_stall", ["front"], unique=False, postgresql_using="gist"
    )
    op.create_index(
        "ix_parking_stall_geom", "parking_stall", ["geom"], unique=False, postgresql_using="gist"
    )
    op.create_index(
        "ix_parking_stall_layout_id_number", "parking_stall", ["layout_id", "number"], unique=True
    )
    op.create_index(
        "ix_parking_stall_lines", "parking_stall", ["lines"], unique=False, postgresql_using="gist"
    )


def downgrade() -> None:
    op.drop_index("ix_parking_stall_lines", table_name="parking_stall", postgresql_using="gist")
    op.drop_index("ix_parking_stall_layout_id_number", table_name="parking_stall")
    op.drop_index("ix_parking_stall_geom", table_name="parking_stall", postgresql_using="gist")
    op.drop_index("ix_parking_stall_front", table_name="parking_stall", postgresql_using="gist")
    op.drop_table("parking_stall")
    op.drop_index("ix_parking_bay_lines", table_name="parking_bay", postgresql_using="gist")
    op.drop_index("ix_parking_bay_layout_id", table_name="parking_bay")
    op.drop_index("ix_parking_bay_geom", table_name="parking_bay", postgresql_using="gist")
    op.drop_table("parking_bay")
    op.drop_index("ix_parking_layout_compound_id_version", table_name="parking_layout")
    op.drop_index("ix_parking_layout_aisles", table_name="parking_layout", postgresql_using="gist")
    op.drop_table("parking_layout")
