"""administrative and physical geography

Revision ID: 0001
Revises:
"""

from collections.abc import Sequence

import geoalchemy2
import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Created by scripts/local-postgis (as superuser) on a local setup; a no-op then.
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.create_table(
        "district",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "geom",
            geoalchemy2.types.Geometry(
                geometry_type="MULTIPOLYGON",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.CheckConstraint("ST_IsValid(geom)", name=op.f("ck_district_geom_valid")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_district")),
        sa.UniqueConstraint("code", name=op.f("uq_district_code")),
    )
    op.create_index("ix_district_geom", "district", ["geom"], unique=False, postgresql_using="gist")
    op.create_table(
        "street",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("district_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "geom",
            geoalchemy2.types.Geometry(
                geometry_type="MULTIPOLYGON",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.CheckConstraint("ST_IsValid(geom)", name=op.f("ck_street_geom_valid")),
        sa.ForeignKeyConstraint(
            ["district_id"], ["district.id"], name=op.f("fk_street_district_id_district")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_street")),
        sa.UniqueConstraint("code", name=op.f("uq_street_code")),
    )
    op.create_index(op.f("ix_street_district_id"), "street", ["district_id"], unique=False)
    op.create_index("ix_street_geom", "street", ["geom"], unique=False, postgresql_using="gist")
    op.create_table(
        "community",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("street_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "geom",
            geoalchemy2.types.Geometry(
                geometry_type="MULTIPOLYGON",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.CheckConstraint("ST_IsValid(geom)", name=op.f("ck_community_geom_valid")),
        sa.ForeignKeyConstraint(
            ["street_id"], ["street.id"], name=op.f("fk_community_street_id_street")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_community")),
        sa.UniqueConstraint("code", name=op.f("uq_community_code")),
    )
    op.create_index(
        "ix_community_geom", "community", ["geom"], unique=False, postgresql_using="gist"
    )
    op.create_index(op.f("ix_community_street_id"), "community", ["street_id"], unique=False)
    op.create_table(
        "compound",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("has_property_management", sa.Boolean(), nullable=False),
        sa.Column("year_built", sa.Integer(), nullable=True),
        sa.Column("households", sa.Integer(), server_default="0", nullable=False),
        sa.Column("population", sa.Integer(), server_default="0", nullable=False),
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
        sa.CheckConstraint("ST_IsValid(geom)", name=op.f("ck_compound_geom_valid")),
        sa.CheckConstraint(
            "households >= 0 AND population >= 0", name=op.f("ck_compound_counts_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["community_id"], ["community.id"], name=op.f("fk_compound_community_id_community")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_compound")),
    )
    op.create_index(op.f("ix_compound_community_id"), "compound", ["community_id"], unique=False)
    op.create_index("ix_compound_geom", "compound", ["geom"], unique=False, postgresql_using="gist")
    op.create_table(
        "grid",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("households", sa.Integer(), server_default="0", nullable=False),
        sa.Column("population", sa.Integer(), server_default="0", nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
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
        sa.Column("valid_from", sa.Date(), server_default=sa.text("CURRENT_DATE"), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.CheckConstraint("ST_IsValid(geom)", name=op.f("ck_grid_geom_valid")),
        sa.CheckConstraint(
            "households >= 0 AND population >= 0", name=op.f("ck_grid_counts_not_negative")
        ),
        sa.CheckConstraint(
            "valid_to IS NULL OR valid_to >= valid_from", name=op.f("ck_grid_period_ordered")
        ),
        sa.ForeignKeyConstraint(
            ["community_id"], ["community.id"], name=op.f("fk_grid_community_id_community")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grid")),
    )
    op.create_index(op.f("ix_grid_community_id"), "grid", ["community_id"], unique=False)
    op.create_index("ix_grid_geom", "grid", ["geom"], unique=False, postgresql_using="gist")
    op.create_index(
        "uq_grid_community_id_code_current",
        "grid",
        ["community_id", "code"],
        unique=True,
        postgresql_where=sa.text("valid_to IS NULL"),
    )
    op.create_table(
        "worker",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column(
            "gender",
            sa.Enum(
                "female",
                "male",
                name="gender",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column(
            "role",
            sa.Enum(
                "grid_worker",
                "grid_leader",
                "grid_instructor",
                "resident_group",
                name="worker_role",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("hire_date", sa.Date(), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["community_id"], ["community.id"], name=op.f("fk_worker_community_id_community")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_worker")),
    )
    op.create_index(op.f("ix_worker_community_id"), "worker", ["community_id"], unique=False)
    op.create_table(
        "building",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("compound_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("floors", sa.Integer(), nullable=False),
        sa.Column("units", sa.Integer(), server_default="1", nullable=False),
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
            "entrances",
            geoalchemy2.types.Geometry(
                geometry_type="MULTIPOINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
            ),
            nullable=True,
        ),
        sa.CheckConstraint("ST_IsValid(geom)", name=op.f("ck_building_geom_valid")),
        sa.CheckConstraint(
            "entrances IS NULL OR ST_IsValid(entrances)", name=op.f("ck_building_entrances_valid")
        ),
        sa.CheckConstraint("floors > 0 AND units >= 0", name=op.f("ck_building_counts_positive")),
        sa.ForeignKeyConstraint(
            ["community_id"], ["community.id"], name=op.f("fk_building_community_id_community")
        ),
        sa.ForeignKeyConstraint(
            ["compound_id"],
            ["compound.id"],
            name=op.f("fk_building_compound_id_compound"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_building")),
    )
    op.create_index(op.f("ix_building_community_id"), "building", ["community_id"], unique=False)
    op.create_index(op.f("ix_building_compound_id"), "building", ["compound_id"], unique=False)
    op.create_index(
        "ix_building_entrances", "building", ["entrances"], unique=False, postgresql_using="gist"
    )
    op.create_index("ix_building_geom", "building", ["geom"], unique=False, postgresql_using="gist")
    op.create_table(
        "grid_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("grid_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("households", sa.Integer(), nullable=False),
        sa.Column("population", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
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
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=False),
        sa.CheckConstraint("ST_IsValid(geom)", name=op.f("ck_grid_version_geom_valid")),
        sa.CheckConstraint("valid_to > valid_from", name=op.f("ck_grid_version_period_ordered")),
        sa.ForeignKeyConstraint(
            ["grid_id"], ["grid.id"], name=op.f("fk_grid_version_grid_id_grid"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grid_version")),
    )
    op.create_index(
        "ix_grid_version_geom", "grid_version", ["geom"], unique=False, postgresql_using="gist"
    )
    op.create_index(op.f("ix_grid_version_grid_id"), "grid_version", ["grid_id"], unique=False)
    op.create_table(
        "road",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("compound_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column(
            "kind",
            sa.Enum(
                "street",
                "internal_road",
                "fire_lane",
                "footpath",
                name="road_kind",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("width_m", sa.Float(), nullable=False),
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
        sa.CheckConstraint("ST_IsValid(geom)", name=op.f("ck_road_geom_valid")),
        sa.CheckConstraint("width_m > 0 AND width_m <= 100", name=op.f("ck_road_width_range")),
        sa.ForeignKeyConstraint(
            ["community_id"], ["community.id"], name=op.f("fk_road_community_id_community")
        ),
        sa.ForeignKeyConstraint(
            ["compound_id"],
            ["compound.id"],
            name=op.f("fk_road_compound_id_compound"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_road")),
    )
    op.create_index(op.f("ix_road_community_id"), "road", ["community_id"], unique=False)
    op.create_index(op.f("ix_road_compound_id"), "road", ["compound_id"], unique=False)
    op.create_index("ix_road_geom", "road", ["geom"], unique=False, postgresql_using="gist")
    op.create_table(
        "site_feature",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("compound_id", sa.Integer(), nullable=True),
        sa.Column(
            "kind",
            sa.Enum(
                "gate",
                "hydrant",
                "green_area",
                "tree",
                "keep_clear",
                name="site_feature_kind",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column(
            "geom",
            geoalchemy2.types.Geometry(
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
            "(kind IN ('gate', 'hydrant', 'tree')) = (ST_Dimension(geom) = 0)"
            " AND ST_Dimension(geom) IN (0, 2) AND NOT ST_IsCollection(geom)",
            name=op.f("ck_site_feature_geometry_fits_kind"),
        ),
        sa.CheckConstraint("ST_IsValid(geom)", name=op.f("ck_site_feature_geom_valid")),
        sa.ForeignKeyConstraint(
            ["community_id"], ["community.id"], name=op.f("fk_site_feature_community_id_community")
        ),
        sa.ForeignKeyConstraint(
            ["compound_id"],
            ["compound.id"],
            name=op.f("fk_site_feature_compound_id_compound"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_site_feature")),
    )
    op.create_index(
        op.f("ix_site_feature_community_id"), "site_feature", ["community_id"], unique=False
    )
    op.create_index(
        op.f("ix_site_feature_compound_id"), "site_feature", ["compound_id"], unique=False
    )
    op.create_index(
        "ix_site_feature_geom", "site_feature", ["geom"], unique=False, postgresql_using="gist"
    )


def downgrade() -> None:
    op.drop_index("ix_site_feature_geom", table_name="site_feature", postgresql_using="gist")
    op.drop_index(op.f("ix_site_feature_compound_id"), table_name="site_feature")
    op.drop_index(op.f("ix_site_feature_community_id"), table_name="site_feature")
    op.drop_table("site_feature")
    op.drop_index("ix_road_geom", table_name="road", postgresql_using="gist")
    op.drop_index(op.f("ix_road_compound_id"), table_name="road")
    op.drop_index(op.f("ix_road_community_id"), table_name="road")
    op.drop_table("road")
    op.drop_index(op.f("ix_grid_version_grid_id"), table_name="grid_version")
    op.drop_index("ix_grid_version_geom", table_name="grid_version", postgresql_using="gist")
    op.drop_table("grid_version")
    op.drop_index("ix_building_geom", table_name="building", postgresql_using="gist")
    op.drop_index("ix_building_entrances", table_name="building", postgresql_using="gist")
    op.drop_index(op.f("ix_building_compound_id"), table_name="building")
    op.drop_index(op.f("ix_building_community_id"), table_name="building")
    op.drop_table("building")
    op.drop_index(op.f("ix_worker_community_id"), table_name="worker")
    op.drop_table("worker")
    op.drop_index(
        "uq_grid_community_id_code_current",
        table_name="grid",
        postgresql_where=sa.text("valid_to IS NULL"),
    )
    op.drop_index("ix_grid_geom", table_name="grid", postgresql_using="gist")
    op.drop_index(op.f("ix_grid_community_id"), table_name="grid")
    op.drop_table("grid")
    op.drop_index("ix_compound_geom", table_name="compound", postgresql_using="gist")
    op.drop_index(op.f("ix_compound_community_id"), table_name="compound")
    op.drop_table("compound")
    op.drop_index(op.f("ix_community_street_id"), table_name="community")
    op.drop_index("ix_community_geom", table_name="community", postgresql_using="gist")
    op.drop_table("community")
    op.drop_index("ix_street_geom", table_name="street", postgresql_using="gist")
    op.drop_index(op.f("ix_street_district_id"), table_name="street")
    op.drop_table("street")
    op.drop_index("ix_district_geom", table_name="district", postgresql_using="gist")
    op.drop_table("district")
