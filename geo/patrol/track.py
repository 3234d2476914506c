"""Analysis of a patrol track against its plan: stops visited, network walked, time outside, gaps.

Pure geometry, no database: everything is in one metric CRS (the caller projects with
``geo.crs.LocalProjection``), distances in metres and times in seconds since the track start.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import LineString, MultiLineString, MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from geo.errors import InvalidInput

__all__ = ["Gap", "StopVisit", "TrackAnalysis", "analyse"]

# Samples x stops distances are computed in blocks of about this many cells (bounded memory).
_BLOCK_CELLS = 4_000_000


@dataclass(frozen=True)
class StopVisit:
    """A visited stop: the earliest run of consecutive samples within the radius long enough.

    ``arrived_s``/``left_s`` are the times of the first and last sample of that run,
    ``linger_s`` their difference and ``closest_m`` the smallest distance during it.
    """

    stop_id: int
    arrived_s: float
    left_s: float
    linger_s: float
    closest_m: float


@dataclass(frozen=True)
class Gap:
    """Two consecutive samples too far apart in time or in space."""

    start_s: float
    end_s: float
    seconds: float
    distance_m: float
    start_xy: tuple[float, float]
    end_xy: tuple[float, float]


@dataclass(frozen=True)
class TrackAnalysis:
    """What a track did: see ``analyse`` for the rules."""

    visits: list[StopVisit]
    missed: list[int]
    network_m: float
    walked_m: float
    covered: BaseGeometry
    outside_s: float
    gaps: list[Gap]
    length_m: float
    duration_s: float

    @property
    def coverage_share(self) -> float:
        """Share of the network walked, ``walked_m / network_m`` (0 for an empty network)."""
        return self.walked_m / self.network_m if self.network_m > 0 else 0.0


def analyse(
    xy: np.ndarray,
    seconds: np.ndarray,
    stops: Sequence[tuple[int, float, float]],
    network: Sequence[LineString] | BaseGeometry,
    area: Polygon | MultiPolygon,
    *,
    visit_radius_m: float = 15.0,
    linger_s: float = 30.0,
    coverage_m: float = 20.0,
    gap_s: float = 120.0,
    gap_m: float = 100.0,
    edge_m: float = 0.0,
) -> TrackAnalysis:
    """Analyse a track (``xy``: n x 2 metres, ``seconds``: n, non-decreasing, n >= 2).

    - Visits: a stop ``(stop_id, x, y)`` is visited when a run of consecutive samples all
      within ``visit_radius_m`` of it (distance <= radius) lasts at least ``linger_s`` (time of
      its last sample minus time of its first). The earliest such run gives the visit; one
      sample outside the radius ends a run. Visits are ordered by arrival, ``missed`` keeps the
      order of ``stops``. Times are on the scale of ``seconds``.
    - Coverage: the network (lines; overlaps counted once) is clipped to ``area``, giving
      ``network_m``; ``covered`` is the part of it within ``coverage_m`` of the track (of the
      polyline through the samples: the track's buffer with exact round caps and joins),
      ``walked_m`` its length. It is computed segment by segment, not with a shapely buffer
      of the track: buffering a noisy 4-hour track that retraces streets takes GEOS tens of
      seconds. The track is not simplified and the caps are true circles, not polygons.
    - Outside time: over each pair of consecutive samples, dt counts fully when both are
      outside ``area`` grown by ``edge_m`` (grid edges run along street centre lines: a walker
      on either pavement of a boundary street is still in the grid), half when one of them
      is, not at all when neither is.
    - Gaps: consecutive samples more than ``gap_s`` seconds or more than ``gap_m`` metres apart.
    - ``length_m`` is the sum of the distances between consecutive samples, ``duration_s``
      the last time minus the first.
    """
    xy, seconds = _track_arrays(xy, seconds)
    for name, value in (("visit_radius_m", visit_radius_m), ("coverage_m", coverage_m)):
        if not value > 0:
            raise InvalidInput(f"{name} must be positive, not {value}")
    if not isinstance(area, Polygon | MultiPolygon) or area.is_empty:
        raise InvalidInput("the patrol area must be a non-empty polygon or multipolygon")

    visits, missed = _visits(xy, seconds, stops, visit_radius_m, linger_s)
    network_in_area = _lines(shapely.intersection(_network(network), area))
    covered = _covered(network_in_area, xy, coverage_m)

    dt = np.diff(seconds)
    step = np.hypot(*np.diff(xy, axis=0).T)
    inside = area.buffer(edge_m) if edge_m > 0 else area
    shapely.prepare(inside)
    outside = ~shapely.contains_xy(inside, xy[:, 0], xy[:, 1])
    outside_s = float(np.sum(dt * (outside[:-1].astype(float) + outside[1:]) / 2.0))
    gaps = [
        Gap(
            start_s=float(seconds[i]),
            end_s=float(seconds[i + 1]),
            seconds=float(dt[i]),
            distance_m=float(step[i]),
            start_xy=(float(xy[i, 0]), float(xy[i, 1])),
            end_xy=(float(xy[i + 1, 0]), float(xy[i + 1, 1])),
        )
        for i in np.flatnonzero((dt > gap_s) | (step > gap_m))
    ]
    return TrackAnalysis(
        visits=visits,
        missed=missed,
        network_m=float(network_in_area.length),
        walked_m=float(covered.length),
        covered=covered,
        outside_s=outside_s,
        gaps=gaps,
        length_m=float(step.sum()),
        duration_s=float(seconds[-1] - seconds[0]),
    )


def _track_arrays(xy: np.ndarray, seconds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    xy = np.asarray(xy, dtype=float)
    seconds = np.asarray(seconds, dtype=float)
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise InvalidInput(f"track coordinates must be an n x 2 array, not shape {xy.shape}")
    if seconds.shape != (len(xy),):
        raise InvalidInput(
            f"track times must be one per point: {seconds.shape} for {len(xy)} points"
        )
    if len(xy) < 2:
        raise InvalidInput(f"a track needs at least 2 points, not {len(xy)}")
    if not (np.isfinite(xy).all() and np.isfinite(seconds).all()):
        raise InvalidInput("track coordinates and times must be finite")
    backwards = np.flatnonzero(np.diff(seconds) < 0)
    if backwards.size:
        raise InvalidInput(f"track time goes backwards at point {int(backwards[0]) + 1}")
    return xy, seconds


def _visits(
    xy: np.ndarray,
    seconds: np.ndarray,
    stops: Sequence[tuple[int, float, float]],
    radius: float,
    linger: float,
) -> tuple[list[StopVisit], list[int]]:
    """Visited stops (by arrival) and missed stop ids (in the given order); see ``analyse``."""
    ids = [int(stop[0]) for stop in stops]
    where = np.asarray([(stop[1], stop[2]) for stop in stops], dtype=float).reshape(-1, 2)
    if not np.isfinite(where).all():
        raise InvalidInput("stop coordinates must be finite")
    found: dict[int, StopVisit] = {}
    block = max(1, _BLOCK_CELLS // len(xy))
    for first in range(0, len(where), block):
        chunk = where[first : first + block]
        dist = np.hypot(xy[:, 0, None] - chunk[None, :, 0], xy[:, 1, None] - chunk[None, :, 1])
        inside = np.zeros((len(xy) + 2, len(chunk)), dtype=np.int8)
        inside[1:-1] = dist <= radius
        edges = np.diff(inside, axis=0).T  # stops x (samples + 1): +1 run start, -1 run end
        start_stop, start = np.nonzero(edges == 1)
        end = np.nonzero(edges == -1)[1] - 1  # same (stop, time) order as the starts
        long_enough = seconds[end] - seconds[start] >= linger
        stop_of_run, first_run = np.unique(start_stop[long_enough], return_index=True)
        for column, i, j in zip(
            stop_of_run, start[long_enough][first_run], end[long_enough][first_run], strict=True
        ):
            found[first + int(column)] = StopVisit(
                stop_id=ids[first + int(column)],
                arrived_s=float(seconds[i]),
                left_s=float(seconds[j]),
                linger_s=float(seconds[j] - seconds[i]),
                closest_m=float(dist[i : j + 1, column].min()),
            )
    visits = sorted(found.values(), key=lambda v: v.arrived_s)
    missed = [stop_id for k, stop_id in enumerate(ids) if k not in found]
    return visits, missed


def _network(network: Sequence[LineString] | BaseGeometry) -> BaseGeometry:
    """The network as one noded geometry of lines (overlapping pieces counted once)."""
    geoms = [network] if isinstance(network, BaseGeometry) else list(network)
    parts = _parts(np.asarray(geoms, dtype=object))
    if not np.isin(shapely.get_type_id(parts), (1, 2)).all():  # LineString, LinearRing
        raise InvalidInput("the walking network must consist of lines only")
    return shapely.union_all(parts)


def _covered(network: BaseGeometry, xy: np.ndarray, radius: float) -> BaseGeometry:
    """The parts of ``network`` within ``radius`` of the polyline through ``xy``.

    Per pair of a network segment AB and a track segment PQ closer than ``radius`` (found
    with an STRtree), the stretch of AB inside the capsule around PQ is one interval (the
    capsule is convex); the intervals of each network segment are then merged.
    """
    coords, part = shapely.get_coordinates(_parts(network), return_index=True)
    same = part[1:] == part[:-1]
    a, b = coords[:-1][same], coords[1:][same]
    length = np.hypot(*(b - a).T)
    a, b, length = a[length > 0], b[length > 0], length[length > 0]
    track = xy[np.r_[True, (xy[1:] != xy[:-1]).any(axis=1)]]
    if len(track) > 1:
        p, q = track[:-1], track[1:]
        tree = shapely.STRtree(shapely.linestrings(np.stack([p, q], axis=1)))
    else:  # the track never moved
        p = q = track
        tree = shapely.STRtree(shapely.points(track))
    seg, near = tree.query(
        shapely.linestrings(np.stack([a, b], axis=1)), predicate="dwithin", distance=radius
    )
    u = (b - a) / length[:, None]
    lo, hi = _capsule_intervals(a[seg], u[seg], p[near], q[near], radius)
    lo, hi = np.maximum(lo, 0.0), np.minimum(hi, length[seg])
    keep = lo < hi
    seg, lo, hi = seg[keep], lo[keep], hi[keep]
    if not len(seg):
        return MultiLineString()
    order = np.lexsort((lo, seg))
    seg, lo, hi = seg[order], lo[order], hi[order]
    # Merge overlapping intervals per segment: a running maximum of the interval ends, kept
    # within each segment by offsetting segment k by k times (longest segment + 1).
    offset = seg * (length.max() + 1.0)
    reach = np.maximum.accumulate(hi + offset) - offset
    first = np.flatnonzero(np.r_[True, (seg[1:] != seg[:-1]) | (lo[1:] > reach[:-1])])
    seg, start, end = seg[first], lo[first], np.maximum.reduceat(hi, first)
    pieces = np.stack([a[seg] + u[seg] * start[:, None], a[seg] + u[seg] * end[:, None]], axis=1)
    return shapely.line_merge(MultiLineString(list(shapely.linestrings(pieces))))


def _capsule_intervals(
    a: np.ndarray, u: np.ndarray, p: np.ndarray, q: np.ndarray, radius: float
) -> tuple[np.ndarray, np.ndarray]:
    """For each row, the s with ``a + s*u`` (``u`` a unit vector) within ``radius`` of PQ.

    Returns (lo, hi); lo > hi where the line misses the capsule. The capsule is the union of
    the discs around P and Q and the rectangle between them: its interval spans theirs.
    """
    lo = np.full(len(a), np.inf)
    hi = np.full(len(a), -np.inf)
    for centre in (p, q):
        w = a - centre
        half_b = np.einsum("ij,ij->i", u, w)
        disc = half_b**2 - np.einsum("ij,ij->i", w, w) + radius**2
        root = np.sqrt(np.maximum(disc, 0.0))
        lo = np.where(disc >= 0, np.minimum(lo, -half_b - root), lo)
        hi = np.where(disc >= 0, np.maximum(hi, -half_b + root), hi)
    d = q - p
    m = np.hypot(*d.T)
    along = np.divide(d, m[:, None], out=np.zeros_like(d), where=m[:, None] > 0)
    across = np.column_stack([-along[:, 1], along[:, 0]])
    r_lo = np.full(len(a), -np.inf)
    r_hi = np.full(len(a), np.inf)
    w = a - p
    for axis, low, high in ((along, 0.0, m), (across, -radius, radius)):
        c = np.einsum("ij,ij->i", w, axis)
        k = np.einsum("ij,ij->i", u, axis)
        with np.errstate(divide="ignore", invalid="ignore"):
            t1, t2 = (low - c) / k, (high - c) / k
        inside = (c >= low) & (c <= high)
        parallel = k == 0
        r_lo = np.maximum(
            r_lo, np.where(parallel, np.where(inside, -np.inf, np.inf), np.minimum(t1, t2))
        )
        r_hi = np.minimum(
            r_hi, np.where(parallel, np.where(inside, np.inf, -np.inf), np.maximum(t1, t2))
        )
    rectangle = (m > 0) & (r_lo <= r_hi)
    lo = np.where(rectangle, np.minimum(lo, r_lo), lo)
    hi = np.where(rectangle, np.maximum(hi, r_hi), hi)
    return lo, hi


def _lines(geom: BaseGeometry) -> MultiLineString:
    """The line parts of ``geom`` (an intersection may add points where lines touch)."""
    return MultiLineString([p for p in _parts(geom) if isinstance(p, LineString) and p.length > 0])


def _parts(geoms: BaseGeometry | np.ndarray) -> np.ndarray:
    """Single-part geometries, also from multi-part members of a collection."""
    return shapely.get_parts(shapely.get_parts(geoms))
