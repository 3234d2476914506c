"""Which grids of a community share an edge, and how long that edge is."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

MIN_SHARED_M = 0.01
"""Grids meeting only at a corner (or along less than this) are not adjacent."""

ADJACENCY_SQL = """
SELECT a.id, a.code, b.id, b.code, shared_m FROM (
    SELECT a.id AS a_id, b.id AS b_id,
           ST_Length(ST_CollectionExtract(
               ST_Intersection(ST_Boundary(a.geom), ST_Boundary(b.geom)), 2)::geography)
               AS shared_m
    FROM grid a JOIN grid b
      ON b.community_id = a.community_id AND a.id < b.id AND a.geom && b.geom
    WHERE a.community_id = :community_id AND a.valid_to IS NULL AND b.valid_to IS NULL
      AND ST_Intersects(a.geom, b.geom)
) pairs
JOIN grid a ON a.id = pairs.a_id JOIN grid b ON b.id = pairs.b_id
WHERE shared_m > :min_shared
ORDER BY a.code, b.code
"""


@dataclass(frozen=True)
class Adjacent:
    """Two grids sharing an edge (a < b by id)."""

    a: int
    a_code: str
    b: int
    b_code: str
    shared_m: float


def adjacency(session: Session, community_id: int) -> list[Adjacent]:
    """Pairs of current grids of a community that share an edge, with its length in metres."""
    rows = session.execute(
        text(ADJACENCY_SQL), {"community_id": community_id, "min_shared": MIN_SHARED_M}
    )
    return [Adjacent(a, ac, b, bc, float(m)) for a, ac, b, bc, m in rows]


def neighbours(pairs: list[Adjacent]) -> dict[int, set[int]]:
    """Grid id -> ids of the grids it shares an edge with."""
    out: dict[int, set[int]] = {}
    for pair in pairs:
        out.setdefault(pair.a, set()).add(pair.b)
        out.setdefault(pair.b, set()).add(pair.a)
    return out
