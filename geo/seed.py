"""Load the generated demo data through the same checked path as any import."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from geo import models as m
from geo.demo import DemoData
from geo.importer import Source, import_features
from geo.layers import LAYERS
from geo.workers import WorkerIn, create_workers

DETAIL_LAYERS = ("buildings", "roads", "site-features")


def is_loaded(session: Session, data: DemoData) -> bool:
    """True when the first demo community is already in the database."""
    code = data.communities[0].community["properties"]["code"]
    return session.scalar(select(m.Community.id).where(m.Community.code == code)) is not None


def load(
    session: Session,
    data: DemoData,
    *,
    details: bool = True,
    progress: Callable[[str], None] = lambda _: None,
) -> dict[str, int]:
    """Write the demo data in the caller's transaction; counts per layer.

    ``details=False`` skips buildings, roads and site features (quicker benchmark setup).
    """
    district = data.district["properties"]["code"]
    counts = {name: 0 for name in LAYERS}
    counts["workers"] = 0

    def put(layer: str, features: list[dict], parent: str | None) -> None:
        if features:
            ids = import_features(session, LAYERS[layer], Source(features), parent=parent)
            counts[layer] += len(ids)

    put("districts", [data.district], None)
    put("streets", data.streets, district)
    for number, demo in enumerate(data.communities, start=1):
        put("communities", [demo.community], demo.street_code)
        code = demo.community["properties"]["code"]
        put("grids", demo.grids, code)
        put("compounds", demo.compounds, code)
        if details:
            for layer in DETAIL_LAYERS:
                put(layer, getattr(demo, layer.replace("-", "_")), code)
        people = [WorkerIn(**w, community=code) for w in demo.workers]
        counts["workers"] += len(create_workers(session, people))
        progress(f"community {number}/{len(data.communities)} {code}")
    return counts
