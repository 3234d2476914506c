"""Uploaded GPS patrol tracks: GPX 1.0/1.1 or GeoJSON, read into WGS84 lon/lat and UTC times.

GPX is parsed with the standard library's ``xml.etree.ElementTree``, matching element names
without their namespace so GPX 1.0 and 1.1 (and files with no namespace) read alike. pyogrio
is not used: GDAL's GPX driver wants a file on disk, splits points across layers and adds
little for a format this small. Expat (2.4+) refuses entity-expansion bombs and ElementTree
never fetches external entities; documents with a DOCTYPE are refused all the same, as GPX
has none.

Times given with an offset or ``Z`` are converted to UTC; times without one are taken as
Asia/Shanghai local time (UTC+8, what Chinese trackers write). Times are kept to the
millisecond. In error messages points are numbered from 0 in file order, across segments.
"""

from __future__ import annotations

import json
import re
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import numpy as np

from geo.crs import gcj02_to_wgs84
from geo.errors import InvalidInput
from geo.patrol import ZONE

__all__ = ["MAX_POINTS", "Track", "read_track"]

MAX_POINTS = 100_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MS = timedelta(milliseconds=1)
_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)
_TIME_KEYS = ("coordTimes", "times")


@dataclass(frozen=True, eq=False)
class Track:
    """A recorded track: ``lonlat`` (n x 2, WGS84) and ``times`` (n, datetime64[ms], UTC)."""

    lonlat: np.ndarray
    times: np.ndarray

    @property
    def seconds(self) -> np.ndarray:
        """Float seconds since the first point."""
        return (self.times - self.times[0]) / np.timedelta64(1, "ms") / 1000.0


def read_track(
    data: bytes,
    *,
    filename: str | None = None,
    content_type: str | None = None,
    crs: Literal["wgs84", "gcj02"] = "wgs84",
    max_points: int = MAX_POINTS,
) -> Track:
    """Read a GPX or GeoJSON track; the format is told by the content, not by the name.

    The first non-blank byte decides: ``<`` is GPX, ``{`` is GeoJSON; ``filename`` and
    ``content_type`` only help word the error when it is neither. GPX: the ``<trkpt>`` of every
    ``<trkseg>`` of every ``<trk>``, in order, each with a ``<time>``; routes and waypoints are
    refused. GeoJSON: a LineString or MultiLineString (parts joined in order), bare or in a
    Feature, or the one line feature of a FeatureCollection (other features ignored); times in
    ``properties.coordTimes`` or ``properties.times`` (ISO 8601, or epoch seconds; one list
    per part for a MultiLineString), else as a 4th value (epoch seconds) of every position.
    With ``crs="gcj02"`` the coordinates are converted from GCJ-02 to WGS84.

    Raises InvalidInput naming the problem: not GPX/GeoJSON, malformed XML/JSON, no points,
    fewer than 2, a point without a time, times not matching the points in number, time going
    backwards, a bad coordinate, more than ``max_points`` points.
    """
    if crs not in ("wgs84", "gcj02"):
        raise InvalidInput(f"unknown track coordinate system {crs!r}: use 'wgs84' or 'gcj02'")
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if head == b"<":
        lonlat, raw_times = _read_gpx(data, max_points)
    elif head == b"{":
        lonlat, raw_times = _read_geojson(data, max_points)
    else:
        raise InvalidInput(_not_a_track(data, filename, content_type))
    if len(lonlat) == 0:
        raise InvalidInput("the track has no points")
    if len(lonlat) < 2:
        raise InvalidInput("the track has only 1 point; at least 2 are needed")
    xy = _coordinates(lonlat)
    times = _times(raw_times)
    if crs == "gcj02":
        lon, lat = gcj02_to_wgs84(xy[:, 0], xy[:, 1])
        xy = np.column_stack([lon, lat])
    return Track(lonlat=xy, times=times)


def _not_a_track(data: bytes, filename: str | None, content_type: str | None) -> str:
    if not data.strip():
        return "the upload is empty: expected a GPX or GeoJSON track"
    given = ", ".join(
        f"{label} {value!r}"
        for label, value in (("file", filename), ("type", content_type))
        if value
    )
    named = f" ({given})" if given else ""
    return f"not a GPX or GeoJSON track{named}: the content does not start with '<' or '{{'"


def _local_name(tag: str) -> str:
    return tag.rpartition("}")[2]


def _children(element: ET.Element, name: str) -> Iterator[ET.Element]:
    return (child for child in element if _local_name(child.tag) == name)


def _read_gpx(data: bytes, max_points: int) -> tuple[list[tuple[float, float]], list[Any]]:
    if _DOCTYPE.search(data):
        raise InvalidInput("GPX with a DOCTYPE declaration is not accepted")
    try:
        root = ET.fromstring(data.lstrip())  # an XML declaration must come first
    except ET.ParseError as exc:
        raise InvalidInput(f"malformed GPX (XML): {exc}") from exc
    if _local_name(root.tag) != "gpx":
        raise InvalidInput(f"not a GPX file: the XML root element is <{_local_name(root.tag)}>")
    lonlat: list[tuple[float, float]] = []
    times: list[Any] = []
    for trk in _children(root, "trk"):
        for seg in _children(trk, "trkseg"):
            for point in _children(seg, "trkpt"):
                index = len(lonlat)
                if index == max_points:
                    raise InvalidInput(f"the track has more than {max_points} points")
                lonlat.append(_gpx_position(point, index))
                time = next(_children(point, "time"), None)
                times.append(time.text.strip() if time is not None and time.text else None)
    if not lonlat:
        others = sum(1 for el in root.iter() if _local_name(el.tag) in ("rtept", "wpt"))
        if others:
            raise InvalidInput(
                f"the GPX file has no track points (<trkpt>), only {others} route point(s) or "
                "waypoint(s): upload the recorded track, not a route"
            )
    return lonlat, times


def _gpx_position(point: ET.Element, index: int) -> tuple[float, float]:
    try:
        return float(point.attrib["lon"]), float(point.attrib["lat"])
    except (KeyError, ValueError) as exc:
        raise InvalidInput(f"point {index} has no valid lat/lon attributes") from exc


def _read_geojson(data: bytes, max_points: int) -> tuple[list[tuple[float, float]], list[Any]]:
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"malformed GeoJSON (JSON): {exc}") from exc
    geometry, properties = _line_feature(doc)
    kind = geometry.get("type")
    coords = geometry.get("coordinates")
    if kind == "LineString":
        parts = [coords]
    elif kind == "MultiLineString":
        parts = coords
    else:
        raise InvalidInput(f"a GeoJSON {kind} is not a track: expected a LineString")
    if not isinstance(parts, list) or not all(isinstance(part, list) for part in parts):
        raise InvalidInput(f"the {kind} has malformed coordinates")
    positions = [position for part in parts for position in part]
    if len(positions) > max_points:
        raise InvalidInput(f"the track has more than {max_points} points")
    lonlat = []
    for index, position in enumerate(positions):
        if not isinstance(position, list) or len(position) < 2:
            raise InvalidInput(f"point {index} is not a [lon, lat] position")
        lonlat.append((position[0], position[1]))
    return lonlat, _geojson_times(properties, kind, parts, positions)


def _line_feature(doc: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The (geometry, properties) of the one track line of a GeoJSON document."""
    if not isinstance(doc, dict):
        raise InvalidInput("not a GeoJSON track: the JSON is not an object")
    kind = doc.get("type")
    if kind == "FeatureCollection":
        features = doc.get("features")
        if not isinstance(features, list):
            raise InvalidInput("the FeatureCollection has no features list")
        lines = [
            f
            for f in features
            if isinstance(f, dict)
            and isinstance(f.get("geometry"), dict)
            and f["geometry"].get("type") in ("LineString", "MultiLineString")
        ]
        if len(lines) != 1:
            raise InvalidInput(
                f"the FeatureCollection has {len(lines)} line features; exactly 1 is needed"
            )
        doc, kind = lines[0], "Feature"
    if kind == "Feature":
        geometry, properties = doc.get("geometry"), doc.get("properties") or {}
        if not isinstance(geometry, dict):
            raise InvalidInput("the GeoJSON feature has no geometry")
        if not isinstance(properties, dict):
            raise InvalidInput("the GeoJSON feature's properties are not an object")
        return geometry, properties
    if isinstance(kind, str) and "coordinates" in doc:
        return doc, {}
    raise InvalidInput(f"not a GeoJSON track: type {kind!r}")


def _geojson_times(
    properties: dict[str, Any], kind: str, parts: list[list[Any]], positions: list[list[Any]]
) -> list[Any]:
    key = next((k for k in _TIME_KEYS if k in properties), None)
    if key is None:
        if not any(len(p) >= 4 for p in positions):
            raise InvalidInput(
                "the GeoJSON track has no times: expected properties.coordTimes, "
                "properties.times or epoch seconds as the 4th value of each position"
            )
        return [p[3] if len(p) >= 4 else None for p in positions]
    times = properties[key]
    if not isinstance(times, list):
        raise InvalidInput(f"properties.{key} is not a list")
    if kind == "MultiLineString":
        if len(times) != len(parts) or not all(isinstance(t, list) for t in times):
            raise InvalidInput(
                f"properties.{key} of a MultiLineString must be one list of times per line "
                f"({len(parts)} lines)"
            )
        for number, (part, part_times) in enumerate(zip(parts, times, strict=True)):
            if len(part_times) != len(part):
                raise InvalidInput(
                    f"line {number}: {len(part_times)} times in properties.{key} "
                    f"for {len(part)} points"
                )
        return [t for part_times in times for t in part_times]
    if len(times) != len(positions):
        raise InvalidInput(f"{len(times)} times in properties.{key} for {len(positions)} points")
    return times


def _coordinates(lonlat: Sequence[tuple[Any, Any]]) -> np.ndarray:
    for index, (lon, lat) in enumerate(lonlat):
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (lon, lat)):
            raise InvalidInput(f"point {index} has non-numeric coordinates")
        if any(isinstance(v, int) and abs(v) > sys.float_info.max for v in (lon, lat)):
            raise InvalidInput(f"point {index} has a non-finite coordinate")
    xy = np.asarray(lonlat, dtype=float)
    bad = ~np.isfinite(xy).all(axis=1)
    if bad.any():
        raise InvalidInput(f"point {int(np.argmax(bad))} has a non-finite coordinate")
    bad = (np.abs(xy[:, 0]) > 180.0) | (np.abs(xy[:, 1]) > 90.0)
    if bad.any():
        index = int(np.argmax(bad))
        raise InvalidInput(
            f"point {index} is out of range: lon {xy[index, 0]}, lat {xy[index, 1]} "
            "(lon must be within ±180, lat within ±90)"
        )
    return xy


def _times(raw: Sequence[Any]) -> np.ndarray:
    ms = np.array([_epoch_ms(value, index) for index, value in enumerate(raw)], dtype=np.int64)
    backwards = np.flatnonzero(np.diff(ms) < 0)
    if backwards.size:
        index = int(backwards[0]) + 1
        raise InvalidInput(
            f"time goes backwards at point {index}: {raw[index]} after {raw[index - 1]}"
        )
    return ms.astype("datetime64[ms]")


def _epoch_ms(value: Any, index: int) -> int:
    """Milliseconds since the Unix epoch of an ISO 8601 string or of epoch seconds."""
    if value is None or value == "":
        raise InvalidInput(f"point {index} has no time")
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise InvalidInput(
                f"point {index} has a time that is not epoch seconds: {value}"
            ) from exc
        return round(value * 1000)
    if not isinstance(value, str):
        raise InvalidInput(f"point {index} has a time that is not a timestamp: {value!r}")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInput(f"point {index} has a time that is not ISO 8601: {value!r}") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZONE)
    return (moment - _EPOCH) // _ONE_MS
