"""Topology check at city scale: every community of the bench database (500 communities,
10,500 grids: ``gridline demo load --communities 500 --no-details``) checked set-wise by
``check_all``, next to the same check run community by community (``check`` 500 times) and to
the bare PostGIS union of all grids per community, in the same run.

Target (issue 8): checking 10,000 grids in 500 communities completes in under 60 s.

    DATABASE_URL=postgresql+psycopg://gridline:gridline@127.0.0.1:5432/gridline_bench \\
        .venv/bin/python bench/topology.py
"""

from __future__ import annotations

import argparse
import time

from sqlalchemy import select, text

from geo import models as m
from geo.db import session_factory
from geo.topology import check, check_all

UNION_SQL = """
SELECT sum(ST_NPoints(u.geom)) FROM (
    SELECT community_id, ST_Union(geom) AS geom FROM grid WHERE valid_to IS NULL
    GROUP BY community_id
) u
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loop", type=int, default=500, help="communities checked one by one")
    args = parser.parse_args()
    with session_factory()() as session:
        grids = session.scalar(
            select(text("count(*)")).select_from(m.Grid).where(m.Grid.valid_to.is_(None))
        )
        codes = session.scalars(select(m.Community.code).order_by(m.Community.code)).all()
        print(f"{len(codes):,} communities, {grids:,} current grids")

        started = time.perf_counter()
        report = check_all(session)
        whole = time.perf_counter() - started
        problems = report["communities_with_problems"]

        started = time.perf_counter()
        for code in codes[: args.loop]:
            check(session, code)
        loop = time.perf_counter() - started

        started = time.perf_counter()
        session.execute(text(UNION_SQL)).scalar_one()
        union = time.perf_counter() - started
        session.rollback()

    looped = min(args.loop, len(codes))
    print(
        f"check_all (set-wise)              {whole:8.2f} s   communities with problems: {problems}"
    )
    print(
        f"check x {looped} (one by one)        {loop:8.2f} s   "
        f"check_all / loop = {whole / loop:.2f}x"
    )
    ratio = whole / union
    print(f"ST_Union of the grids per community {union:8.2f} s   check_all / union = {ratio:.2f}x")
    verdict = "holds" if whole < 60 else "missed"
    print(f"target (under 60 s for {grids:,} grids): {verdict}")


if __name__ == "__main__":
    main()
