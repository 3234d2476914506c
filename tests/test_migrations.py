"""The migrations are the schema: no drift from the models, a clean round trip, indexed and
checked geometry columns."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, text

from api.cli import alembic_config
from geo.models import Base, include_object

GEOMETRY_COLUMNS = {
    ("district", "geom"): "MULTIPOLYGON",
    ("street", "geom"): "MULTIPOLYGON",
    ("community", "geom"): "MULTIPOLYGON",
    ("grid", "geom"): "POLYGON",
    ("grid_version", "geom"): "POLYGON",
    ("compound", "geom"): "POLYGON",
    ("building", "geom"): "POLYGON",
    ("building", "entrances"): "MULTIPOINT",
    ("road", "geom"): "LINESTRING",
    ("site_feature", "geom"): "GEOMETRY",
    ("hazard", "geom"): "POINT",
    ("community", "office"): "POINT",
    ("patrol_plan", "start"): "POINT",
    ("patrol_plan", "finish"): "POINT",
    ("patrol_plan", "route"): "LINESTRING",
    ("patrol_plan", "sector"): "MULTIPOLYGON",
    ("patrol_stop", "geom"): "POINT",
    ("patrol_track", "geom"): "LINESTRING",
    ("parking_layout", "aisles"): "MULTIPOLYGON",
    ("parking_stall", "geom"): "POLYGON",
    ("parking_stall", "lines"): "MULTILINESTRING",
    ("parking_stall", "front"): "LINESTRING",
    ("parking_bay", "geom"): "POLYGON",
    ("parking_bay", "lines"): "MULTILINESTRING",
}


def _diff(connection: Connection) -> list:
    context = MigrationContext.configure(
        connection, opts={"include_object": include_object, "compare_type": True}
    )
    return compare_metadata(context, Base.metadata)


def test_models_and_database_do_not_differ(connection: Connection) -> None:
    assert _diff(connection) == []


def test_downgrade_and_upgrade_round_trip(connection: Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    config.attributes["configure_logger"] = False
    command.downgrade(config, "base")
    left = connection.execute(
        text("SELECT count(*) FROM information_schema.tables WHERE table_name = 'grid'")
    ).scalar()
    assert left == 0
    command.upgrade(config, "head")
    assert _diff(connection) == []
    version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    assert version == command.ScriptDirectory.from_config(config).get_current_head()


def test_every_geometry_column_is_4326_with_one_gist_index_and_a_validity_check(
    connection: Connection,
) -> None:
    rows = connection.execute(
        text(
            "SELECT f_table_name, f_geometry_column, srid, type FROM geometry_columns"
            " WHERE f_table_schema = 'public'"
        )
    ).all()
    assert {(t, c): kind for t, c, _, kind in rows} == GEOMETRY_COLUMNS
    assert {srid for _, _, srid, _ in rows} == {4326}
    for table, column in GEOMETRY_COLUMNS:
        gist = connection.execute(
            text(
                "SELECT count(*) FROM pg_index i"
                " JOIN pg_class t ON t.oid = i.indrelid"
                " JOIN pg_class x ON x.oid = i.indexrelid"
                " JOIN pg_am am ON am.oid = x.relam"
                " JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = ANY(i.indkey)"
                " WHERE t.relname = :table AND a.attname = :column AND am.amname = 'gist'"
            ),
            {"table": table, "column": column},
        ).scalar()
        assert gist == 1, (table, column)
        checks = connection.execute(
            text(
                "SELECT pg_get_constraintdef(c.oid) FROM pg_constraint c"
                " JOIN pg_class t ON t.oid = c.conrelid"
                " WHERE t.relname = :table AND c.contype = 'c'"
            ),
            {"table": table},
        ).scalars()
        assert any(f"st_isvalid({column})" in d.lower() for d in checks), (table, column)
