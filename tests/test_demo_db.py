"""The demo community as loaded into PostGIS: counts, tiling, hierarchy, totals."""

from __future__ import annotations

from sqlalchemy import Connection, text

DEMO = "330303003001"


def scalar(connection: Connection, sql: str) -> object:
    return connection.execute(text(sql), {"c": DEMO}).scalar()


def test_counts(connection: Connection) -> None:
    counts = connection.execute(
        text(
            """
            SELECT (SELECT count(*) FROM grid g JOIN community c ON c.id = g.community_id
                    WHERE c.code = :c AND g.valid_to IS NULL),
                   (SELECT count(*) FROM compound k JOIN community c ON c.id = k.community_id
                    WHERE c.code = :c),
                   (SELECT count(*) FROM worker w JOIN community c ON c.id = w.community_id
                    WHERE c.code = :c AND w.role = 'grid_worker'),
                   (SELECT count(*) FROM compound k JOIN community c ON c.id = k.community_id
                    WHERE c.code = :c AND NOT k.has_property_management)
            """
        ),
        {"c": DEMO},
    ).one()
    grids, compounds, workers, without_management = counts
    assert grids == 21
    assert 9 <= compounds <= 11
    assert workers == 21
    assert without_management >= 5


def test_grids_tile_the_community_without_gap_or_overlap(connection: Connection) -> None:
    community_m2, union_m2, sum_m2, gap_m2, overlap_pairs = connection.execute(
        text(
            """
            WITH c AS (SELECT id, geom FROM community WHERE code = :c),
                 g AS (SELECT grid.id, grid.geom FROM grid, c
                       WHERE grid.community_id = c.id AND grid.valid_to IS NULL)
            SELECT ST_Area(c.geom::geography),
                   ST_Area(ST_Union(g.geom)::geography),
                   sum(ST_Area(g.geom::geography)),
                   ST_Area(ST_SymDifference(c.geom, ST_Union(g.geom))::geography),
                   (SELECT count(*) FROM g a JOIN g b ON a.id < b.id
                    AND ST_Relate(a.geom, b.geom, '2********'))
            FROM c, g GROUP BY c.geom
            """
        ),
        {"c": DEMO},
    ).one()
    assert 900_000 < community_m2 < 1_100_000
    assert abs(union_m2 - community_m2) < 0.01
    assert abs(sum_m2 - community_m2) < 0.01
    assert gap_m2 < 0.01
    assert overlap_pairs == 0


def test_everything_lies_in_its_parent(connection: Connection) -> None:
    outside = connection.execute(
        text(
            """
            SELECT
              (SELECT count(*) FROM community c JOIN street s ON s.id = c.street_id
               WHERE NOT ST_CoveredBy(c.geom, s.geom)),
              (SELECT count(*) FROM street s JOIN district d ON d.id = s.district_id
               WHERE NOT ST_CoveredBy(s.geom, d.geom)),
              (SELECT count(*) FROM building b JOIN compound k ON k.id = b.compound_id
               WHERE NOT ST_CoveredBy(b.geom, k.geom)),
              (SELECT count(*) FROM building WHERE compound_id IS NULL)
            """
        )
    ).one()
    assert tuple(outside) == (0, 0, 0, 0)


def test_population_adds_up_to_a_plausible_community(connection: Connection) -> None:
    population = scalar(
        connection,
        "SELECT sum(g.population) FROM grid g JOIN community c ON c.id = g.community_id"
        " WHERE c.code = :c",
    )
    assert 11_000 <= population <= 13_000
    widths = connection.execute(
        text("SELECT min(width_m), max(width_m) FROM road WHERE kind IN ('internal_road')")
    ).one()
    assert widths[0] >= 3 and widths[1] <= 7
    fire_lane_min = scalar(connection, "SELECT min(width_m) FROM road WHERE kind = 'fire_lane'")
    assert fire_lane_min >= 4
