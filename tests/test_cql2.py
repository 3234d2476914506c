"""CQL2 text filters: parsing, compiling to bound SQL, refusals, and runs against PostGIS."""

from __future__ import annotations

import datetime as dt

import pytest
import shapely
from sqlalchemy import Connection, text

from geo.errors import InvalidInput
from geo.ogc.cql2 import (
    And,
    Between,
    Column,
    Compare,
    In,
    Intersects,
    IsNull,
    Like,
    Literal,
    Not,
    Or,
    Property,
    compile_filter,
    parse,
)

COLUMNS = {
    "a": Column("t.a", "integer"),
    "b": Column("t.b", "integer"),
    "c": Column("t.c", "number"),
    "name": Column("t.name", "text"),
    "ok": Column("t.ok", "boolean"),
    "day": Column("t.day", "date"),
    "at": Column("t.at", "timestamp"),
    "geom": Column("t.geom", "geometry"),
}
GRID = {
    "code": Column("g.code", "text"),
    "name": Column("g.name", "text"),
    "households": Column("g.households", "integer"),
    "population": Column("g.population", "integer"),
    "valid_from": Column("g.valid_from", "date"),
    "geom": Column("g.geom", "geometry"),
}
HAZARD = {
    "category": Column("h.category", "text"),
    "severity": Column("h.severity", "text"),
    "state": Column("h.state", "text"),
    "reported_at": Column("h.reported_at", "timestamp"),
    "closed_at": Column("h.closed_at", "timestamp"),
    "geom": Column("h.geom", "geometry"),
}
a, b, name = Property("a"), Property("b"), Property("name")


def eq(prop: Property, value: object) -> Compare:
    return Compare(prop, "=", Literal(value))


def test_precedence_not_over_and_over_or() -> None:
    assert parse("a = 1 OR b = 2 AND c = 3") == Or(
        (eq(a, 1), And((eq(b, 2), eq(Property("c"), 3))))
    )
    assert parse("NOT a = 1 AND b = 2") == And((Not(eq(a, 1)), eq(b, 2)))
    assert parse("(a = 1 OR b = 2) AND c = 3") == And(
        (Or((eq(a, 1), eq(b, 2))), eq(Property("c"), 3))
    )
    assert parse("not not a = 1") == Not(Not(eq(a, 1)))


def test_predicates() -> None:
    assert parse("a BETWEEN -1 AND 2.5") == Between(a, Literal(-1), Literal(2.5))
    assert parse("a NOT BETWEEN 1 AND 2 AND b = 3") == And(
        (Not(Between(a, Literal(1), Literal(2))), eq(b, 3))
    )
    assert parse("name IS NULL") == IsNull(name)
    assert parse("name is not null") == Not(IsNull(name))
    assert parse("name NOT LIKE 'a\\%%'") == Not(Like(name, "a\\%%"))
    assert parse("name IN ('x', 'y')") == In(name, (Literal("x"), Literal("y")))
    assert parse("a NOT IN (1,2)") == Not(In(a, (Literal(1), Literal(2))))
    assert parse("5 <= a") == Compare(Literal(5), "<=", a)
    assert parse("\"name\" <> 'x'") == Compare(name, "<>", Literal("x"))


def test_literals() -> None:
    def value(literal: str) -> object:
        tree = parse(f"a = {literal}")
        assert isinstance(tree, Compare) and isinstance(tree.right, Literal)
        return tree.right.value

    assert value("-42") == -42 and isinstance(value("-42"), int)
    assert value("-.5") == -0.5
    assert value("1.5e3") == 1500.0
    assert value("'it''s'") == "it's"
    assert value("'it\\'s'") == "it's"
    assert value("'第05网格'") == "第05网格"
    assert value("TRUE") is True and value("false") is False
    assert value("DATE('2026-01-31')") == dt.date(2026, 1, 31)
    assert value("timestamp('2026-01-31T08:00:00Z')") == dt.datetime(2026, 1, 31, 8, tzinfo=dt.UTC)
    assert value("TIMESTAMP('2026-01-31T16:00:00.5+08:00')") == dt.datetime(
        2026, 1, 31, 8, 0, 0, 500000, tzinfo=dt.UTC
    )


def test_geometry_literals() -> None:
    tree = parse("S_INTERSECTS(geom, POINT(120.72375 27.96815))")
    assert tree == Intersects(Property("geom"), shapely.Point(120.72375, 27.96815))
    swapped = parse("s_intersects(POLYGON((0 0, 1 0, 1 1, 0 0)), geom)")
    assert isinstance(swapped, Intersects) and swapped.property == Property("geom")
    bbox = parse("S_INTERSECTS(geom, BBOX(120, 27, 121, 28))")
    assert isinstance(bbox, Intersects) and bbox.geometry.bounds == (120, 27, 121, 28)
    for wkt in (
        "LINESTRING(0 0, 1 1)",
        "MULTIPOINT((0 0), (1 1))",
        "MULTILINESTRING((0 0, 1 1), (2 2, 3 3))",
        "MULTIPOLYGON(((0 0, 1 0, 1 1, 0 0)), ((2 2, 3 2, 3 3, 2 2)))",
        "GEOMETRYCOLLECTION(POINT(1 2), LINESTRING(0 0, 1 1))",
    ):
        tree = parse(f"S_INTERSECTS(geom, {wkt})")
        assert isinstance(tree, Intersects) and tree.geometry.equals(shapely.from_wkt(wkt))


def test_compiles_to_bound_sql() -> None:
    assert compile_filter("a = 1 OR b = 2 AND c > -3.5", COLUMNS) == (
        "(t.a = :p0 OR (t.b = :p1 AND t.c > :p2))",
        {"p0": 1, "p1": 2, "p2": -3.5},
    )
    assert compile_filter("NOT (name LIKE 'x%' OR name IS NULL)", COLUMNS) == (
        "(NOT (t.name LIKE :p0 ESCAPE '\\' OR t.name IS NULL))",
        {"p0": "x%"},
    )
    assert compile_filter("a NOT IN (1, 2) AND 3 < b", COLUMNS) == (
        "((NOT t.a IN (:p0, :p1)) AND :p2 < t.b)",
        {"p0": 1, "p1": 2, "p2": 3},
    )
    assert compile_filter("day BETWEEN DATE('2026-01-01') AND DATE('2026-01-31')", COLUMNS) == (
        "t.day BETWEEN :p0 AND :p1",
        {"p0": dt.date(2026, 1, 1), "p1": dt.date(2026, 1, 31)},
    )
    assert compile_filter("ok = TRUE AND at >= TIMESTAMP('2026-01-31T08:00:00Z')", COLUMNS)[1] == {
        "p0": True,
        "p1": dt.datetime(2026, 1, 31, 8, tzinfo=dt.UTC),
    }


def test_geometry_is_bound_as_2d_wkt() -> None:
    assert compile_filter("S_INTERSECTS(geom, POINT Z (120.5 27.5 9))", COLUMNS) == (
        "ST_Intersects(t.geom, ST_GeomFromText(:p0, 4326))",
        {"p0": "POINT (120.5 27.5)"},
    )


def test_sql_in_a_string_stays_a_literal() -> None:
    sql, params = compile_filter("name = 'x''; DROP TABLE grid; --'", COLUMNS)
    assert sql == "t.name = :p0"
    assert params == {"p0": "x'; DROP TABLE grid; --"}


@pytest.mark.parametrize(
    ("filter_", "reason"),
    [
        ("", "the filter is empty"),
        ("   ", "the filter is empty"),
        ("x" * 5000, "5000 characters long, more than 4000"),
        ("secret = 1", "unknown property 'secret'; queryable: a, at, b, c, day, geom, name, ok"),
        ('"a; DROP TABLE grid" = 1', "unknown property 'a; DROP TABLE grid'"),
        ("lower(name) = 'x'", "function lower (position 1) is not supported"),
        ("S_WITHIN(geom, POINT(1 2))", "function S_WITHIN (position 1) is not supported"),
        ("name = 'abc", "unterminated string starting at position 8"),
        ('"name = 1', "unterminated quoted property name starting at position 1"),
        ("(a = 1", "unexpected end of the filter at position 7, expected ')'"),
        ("a = 1)", "unexpected ')' at position 6, expected AND, OR or the end of the filter"),
        ("a = 1 b = 2", "unexpected 'b' at position 7"),
        ("a = 1 AND", "unexpected end of the filter at position 10"),
        ("a = 1; DROP TABLE grid", "unexpected character ';' at position 6"),
        ("a = 1 -- comment", "unexpected character '-' at position 7"),
        ("a != 1", "unexpected character '!' at position 3"),
        ("a = NULL", "unexpected 'NULL' at position 5"),
        ("a BETWEEN 1 OR 2", "unexpected 'OR' at position 13, expected 'AND'"),
        ("a IN ()", "unexpected ')' at position 7, expected a literal"),
        ("a = b", "needs a property on one side and a literal on the other"),
        ("a = 1 OR 1 = 1", "comparison at position 10 needs a property on one side"),
        ("a = 1e999", "number 1e999 at position 5 is out of range"),
        ("S_INTERSECTS(geom, POLYGON((1 2, 3 4)))", "invalid WKT at position 20: "),
        ("S_INTERSECTS(geom, LINESTRING(1 2))", "invalid WKT at position 20: "),
        ("S_INTERSECTS(geom, POINT(1 2)", "expected ')'"),
        ("S_INTERSECTS(geom, POLYGON((0 0, 1 0, 1 1)", "unbalanced parentheses"),
        ("S_INTERSECTS(geom, POINT EMPTY)", "the geometry is empty"),
        ("S_INTERSECTS(geom, POINT(NaN 1))", "not a finite number"),
        ("S_INTERSECTS(geom, POINT(200 30))", "longitude -180..180, latitude -90..90"),
        ("S_INTERSECTS(geom, POLYGON((0 0, 1 1, 1 0, 0 1, 0 0)))", "Self-intersection"),
        ("S_INTERSECTS(geom, BBOX(1, 2, 3))", "needs 4 numbers"),
        ("S_INTERSECTS(geom, BBOX(3, 2, 1, 4))", "needs minx < maxx and miny < maxy"),
        ("S_INTERSECTS(geom, 'POINT(1 2)')", "takes a property or a geometry"),
        ("S_INTERSECTS(geom, geom)", "needs a geometry property and a geometry literal"),
        ("S_INTERSECTS(a, POINT(1 2))", "S_INTERSECTS needs a geometry property; a is integer"),
        ("a = POINT(1 2)", "the geometry POINT at position 5 is only allowed inside S_INTERSECTS"),
        ("TRUE = S_INTERSECTS(geom, POINT(1 2))", "is a condition, not a value"),
        ("name = 1", "property name is of type text and cannot be compared with 1"),
        ("a = '1'", "property a is of type integer and cannot be compared with '1'"),
        ("a = TRUE", "cannot be compared with TRUE"),
        ("ok < TRUE", "< does not apply to the boolean property ok"),
        ("geom = 1", "geom is a geometry: filter it with S_INTERSECTS"),
        ("geom IN (1)", "geom is a geometry"),
        ("a LIKE '1%'", "LIKE needs a text property; a is integer"),
        ("day = '2026-01-31'", "write DATE('YYYY-MM-DD')"),
        ("at > DATE('2026-01-31')", "cannot be compared with DATE('2026-01-31'): write TIMESTAMP"),
        ("day = DATE('2026-02-30')", "DATE('2026-02-30') at position 7 is not a valid date"),
        ("day = DATE('31.01.2026')", "is not a valid date"),
        ("at = TIMESTAMP('2026-01-31T08:00:00')", "is not a valid timestamp"),
        ("day = DATE(20260131)", "expected a quoted date"),
        ("(" * 31 + "a = 1" + ")" * 31, "nested more than 30 levels deep"),
        ("NOT " * 31 + "a = 1", "nested more than 30 levels deep"),
        ("a = 1\x00", "NUL character"),
    ],
)
def test_refusals(filter_: str, reason: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        compile_filter(filter_, COLUMNS)
    assert reason in str(refused.value)


def test_limits_are_settable() -> None:
    assert compile_filter("(" * 30 + "a = 1" + ")" * 30, COLUMNS)[0] == "t.a = :p0"
    square = "S_INTERSECTS(geom, POLYGON((0 0, 1 0, 1 1, 0 1, 0 0)))"
    with pytest.raises(InvalidInput, match="5 vertices, more than 4"):
        compile_filter(square, COLUMNS, max_vertices=4)
    with pytest.raises(InvalidInput, match="more than 10"):
        compile_filter("a = 12345678", COLUMNS, max_length=10)
    with pytest.raises(InvalidInput, match="nested more than 2"):
        compile_filter("NOT (NOT (a = 1))", COLUMNS, max_depth=2)


def grid_codes(connection: Connection, filter_: str) -> list[str]:
    sql, params = compile_filter(filter_, GRID)
    query = f"SELECT g.code FROM grid g WHERE g.valid_to IS NULL AND ({sql}) ORDER BY g.code"
    return list(connection.execute(text(query), params).scalars())


def codes_where(connection: Connection, condition: str, **params: object) -> list[str]:
    query = f"SELECT code FROM grid WHERE valid_to IS NULL AND {condition} ORDER BY code"
    return list(connection.execute(text(query), params).scalars())


def test_runs_on_postgis(connection: Connection) -> None:
    assert grid_codes(connection, "code = '05'") == ["05"]
    assert grid_codes(connection, "households > 500 AND code IN ('01','02')") == codes_where(
        connection, "households > 500 AND code IN ('01', '02')"
    )
    assert grid_codes(connection, "households > 300 AND code IN ('01','02','03')") == [
        "01",
        "02",
    ]
    with_0 = grid_codes(connection, "name LIKE '%第0%'")
    assert with_0 == codes_where(connection, "name LIKE '%第0%'")
    assert with_0 == [f"{i:02d}" for i in range(1, 10)]
    assert grid_codes(connection, "NOT name LIKE '%第0%' AND code <= '12'") == ["10", "11", "12"]
    assert grid_codes(connection, "households BETWEEN 60 AND 90 OR code = '01'") == codes_where(
        connection, "(households BETWEEN 60 AND 90 OR code = '01')"
    )
    assert grid_codes(connection, "geom IS NULL") == []
    assert grid_codes(connection, "valid_from <= DATE('2999-12-31') AND code = '21'") == ["21"]


def test_s_intersects_on_postgis(connection: Connection) -> None:
    point = "ST_SetSRID(ST_MakePoint(120.72375, 27.96815), 4326)"
    containing = codes_where(connection, f"ST_Contains(geom, {point})")
    assert len(containing) == 1
    assert grid_codes(connection, "S_INTERSECTS(geom, POINT(120.72375 27.96815))") == containing
    box = "BBOX(120.715, 27.970, 120.720, 27.973)"
    assert grid_codes(connection, f"S_INTERSECTS(geom, {box})") == codes_where(
        connection,
        "ST_Intersects(geom, ST_MakeEnvelope(120.715, 27.970, 120.720, 27.973, 4326))",
    )


def test_timestamps_on_postgis(connection: Connection) -> None:
    connection.execute(
        text(
            "INSERT INTO hazard (kind, community_id, category, severity, description, origin, "
            "reporter, state, deadline, reported_at, geom) "
            "SELECT 'hazard', c.id, 'blocked_corridor', s, 'test', 'patrol', 'test', 'reported', "
            "r + interval '3 days', r, ST_SetSRID(ST_MakePoint(120.72, 27.97), 4326) "
            "FROM community c, (VALUES ('low', TIMESTAMPTZ '2026-01-31T07:00:00Z'), "
            "('high', TIMESTAMPTZ '2026-01-31T09:00:00Z')) AS v(s, r)"
        )
    )
    sql, params = compile_filter(
        "reported_at > TIMESTAMP('2026-01-31T16:00:00+08:00') AND severity IN ('high', 'x')"
        " AND closed_at IS NULL AND S_INTERSECTS(geom, BBOX(120, 27, 121, 28))",
        HAZARD,
    )
    found = connection.execute(text(f"SELECT h.severity FROM hazard h WHERE {sql}"), params)
    assert list(found.scalars()) == ["high"]


def test_hostile_filters_change_nothing(connection: Connection) -> None:
    before = connection.execute(text("SELECT count(*) FROM grid")).scalar_one()
    assert grid_codes(connection, "name = 'x''; DROP TABLE grid; --'") == []
    assert grid_codes(connection, "code = '05'' OR ''1''=''1'") == []
    for hostile in (
        "code = '05'; DROP TABLE grid",
        "code = '05' OR 1 = 1",
        "lower(name) = 'x'",
        "pg_sleep(10) = 1",
        '"g.code) OR (1" = 1',
        "S_INTERSECTS(geom, POLYGON((1 2, 3 4)))",
        "((code = '05')",
        "code = '05' " + "OR code = '05' " * 400,
    ):
        with pytest.raises(InvalidInput):
            grid_codes(connection, hostile)
    assert connection.execute(text("SELECT count(*) FROM grid")).scalar_one() == before
