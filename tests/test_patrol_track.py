"""GPS patrol tracks: reading GPX/GeoJSON (geo.patrol.gps) and analysing them (geo.patrol.track).

Pure tests on synthetic data; no database.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from shapely import LineString, MultiLineString, MultiPolygon, box

from geo.crs import gcj02_to_wgs84
from geo.errors import InvalidInput
from geo.patrol.gps import read_track
from geo.patrol.track import Gap, StopVisit, analyse

SPEED = 1.2  # m/s, sampled at 1 Hz


# --- reading tracks -------------------------------------------------------------------------

GPX_11 = b"""<?xml version="1.0" encoding="UTF-8"?>
<gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1">
  <metadata><time>2024-05-01T00:00:00Z</time></metadata>
  <wpt lat="27.9" lon="120.7"><time>2024-05-01T00:30:00Z</time></wpt>
  <trk>
    <name>patrol</name>
    <trkseg>
      <trkpt lat="27.96815" lon="120.72375"><ele>5</ele><time>2024-05-01T01:00:00Z</time></trkpt>
      <trkpt lat="27.9682" lon="120.7238"><time>2024-05-01T09:00:05+08:00</time></trkpt>
    </trkseg>
    <trkseg>
      <trkpt lat="27.96825" lon="120.72385"><time>2024-05-01T09:00:10.250</time></trkpt>
    </trkseg>
  </trk>
</gpx>
"""
LONLAT = [[120.72375, 27.96815], [120.7238, 27.9682], [120.72385, 27.96825]]
UTC_TIMES = np.array(
    ["2024-05-01T01:00:00", "2024-05-01T01:00:05", "2024-05-01T01:00:10.250"],
    dtype="datetime64[ms]",
)


def gpx(points: str, version: str = "1/1") -> bytes:
    return (
        f'<gpx xmlns="http://www.topografix.com/GPX/{version}"><trk><trkseg>{points}'
        "</trkseg></trk></gpx>"
    ).encode()


def trkpt(lon: float | str, lat: float | str, time: str | None) -> str:
    inner = f"<time>{time}</time>" if time else ""
    return f'<trkpt lat="{lat}" lon="{lon}">{inner}</trkpt>'


def line_feature(coords: list, **properties: object) -> bytes:
    feature = {
        "type": "Feature",
        "geometry": {"type": "LineString", "coordinates": coords},
        "properties": properties,
    }
    return json.dumps(feature).encode()


def test_gpx_11_with_namespace_all_segments_in_utc() -> None:
    track = read_track(GPX_11, filename="patrol.gpx")
    assert track.lonlat.tolist() == LONLAT
    assert track.times.dtype == np.dtype("datetime64[ms]")
    assert np.array_equal(track.times, UTC_TIMES)
    assert track.seconds.tolist() == [0.0, 5.0, 10.25]


def test_gpx_10_and_leading_blanks() -> None:
    points = trkpt(120.1, 30.2, "2024-05-01T01:00:00Z") + trkpt(120.2, 30.3, "2024-05-01T01:01:00Z")
    track = read_track(b"\n  " + gpx(points, version="1/0"))
    assert track.lonlat.tolist() == [[120.1, 30.2], [120.2, 30.3]]
    assert track.seconds.tolist() == [0.0, 60.0]


def test_geojson_coord_times() -> None:
    data = line_feature(
        [[120.72375, 27.96815], [120.7238, 27.9682, 4.0], [120.72385, 27.96825]],
        coordTimes=["2024-05-01T01:00:00Z", "2024-05-01T09:00:05+08:00", "2024-05-01T09:00:10.25"],
    )
    track = read_track(data, filename="patrol.json", content_type="application/geo+json")
    assert track.lonlat.tolist() == LONLAT
    assert np.array_equal(track.times, UTC_TIMES)


def test_geojson_multilinestring_times_per_part_in_a_collection() -> None:
    line = {
        "type": "Feature",
        "geometry": {
            "type": "MultiLineString",
            "coordinates": [LONLAT[:2], LONLAT[2:]],
        },
        "properties": {
            "times": [
                ["2024-05-01T01:00:00Z", "2024-05-01T01:00:05Z"],
                ["2024-05-01T01:00:10.250Z"],
            ]
        },
    }
    waypoint = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [120.7, 27.9]},
        "properties": {},
    }
    data = json.dumps({"type": "FeatureCollection", "features": [waypoint, line]}).encode()
    track = read_track(data)
    assert track.lonlat.tolist() == LONLAT
    assert np.array_equal(track.times, UTC_TIMES)


def test_geojson_epoch_seconds_as_fourth_value() -> None:
    epoch = 1714525200  # 2024-05-01T01:00:00Z
    coords = [
        [*LONLAT[0], 5.0, epoch],
        [*LONLAT[1], 5.0, epoch + 5],
        [*LONLAT[2], 6.0, epoch + 10.25],
    ]
    track = read_track(json.dumps({"type": "LineString", "coordinates": coords}).encode())
    assert track.lonlat.tolist() == LONLAT
    assert np.array_equal(track.times, UTC_TIMES)


def test_gcj02_input_is_converted_to_wgs84() -> None:
    track = read_track(GPX_11, crs="gcj02")
    lon, lat = gcj02_to_wgs84(np.array(LONLAT)[:, 0], np.array(LONLAT)[:, 1])
    assert np.array_equal(track.lonlat, np.column_stack([lon, lat]))
    assert np.abs(track.lonlat - np.array(LONLAT)).max() > 1e-3  # a few hundred metres off
    assert np.array_equal(track.times, UTC_TIMES)


def _two(t0: str = "2024-05-01T01:00:00Z", t1: str = "2024-05-01T01:00:05Z") -> str:
    return trkpt(120.1, 30.2, t0) + trkpt(120.2, 30.3, t1)


ROUTE_ONLY = (
    b'<gpx xmlns="http://www.topografix.com/GPX/1/1"><rte>'
    b'<rtept lat="30.2" lon="120.1"><time>2024-05-01T01:00:00Z</time></rtept>'
    b'<rtept lat="30.3" lon="120.2"><time>2024-05-01T01:00:05Z</time></rtept></rte></gpx>'
)
LINE_3 = [[120.1, 30.2], [120.2, 30.3], [120.3, 30.4]]
TIMES_3 = ["2024-05-01T01:00:00Z", "2024-05-01T01:00:05Z", "2024-05-01T01:00:10Z"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "the upload is empty"),
        (b"lon,lat,time\n120.1,30.2,2024-05-01", "not a GPX or GeoJSON track"),
        (b"<gpx><trk><trkseg>", "malformed GPX (XML)"),
        (b'{"type": "LineString", ', "malformed GeoJSON (JSON)"),
        (b'<kml xmlns="http://www.opengis.net/kml/2.2"/>', "the XML root element is <kml>"),
        (b'<!DOCTYPE gpx [<!ENTITY a "b">]><gpx/>', "DOCTYPE"),
        (gpx(""), "the track has no points"),
        (ROUTE_ONLY, "no track points (<trkpt>), only 2 route point(s) or waypoint(s)"),
        (gpx(trkpt(120.1, 30.2, "2024-05-01T01:00:00Z")), "only 1 point; at least 2"),
        (gpx(_two(t1="")), "point 1 has no time"),
        (gpx(_two(t1="yesterday")), "point 1 has a time that is not ISO 8601: 'yesterday'"),
        (gpx(_two() + trkpt(120.3, 30.4, "2024-05-01T01:00:04Z")), "backwards at point 2"),
        (gpx(_two() + '<trkpt lat="30.4"/>'), "point 2 has no valid lat/lon"),
        (gpx(_two() + trkpt(120.3, 95.0, "2024-05-01T01:00:10Z")), "point 2 is out of range"),
        (gpx(trkpt("nan", 30.2, "2024-05-01T01:00:00Z") + _two()), "point 0 has a non-finite"),
        (line_feature(LINE_3, coordTimes=TIMES_3[:2]), "2 times in properties.coordTimes for 3"),
        (line_feature(LINE_3), "the GeoJSON track has no times"),
        (line_feature([[120.1, 30.2, 0, 1714525200], [120.2, 30.3, 0]]), "point 1 has no time"),
        (
            line_feature([[120.1, 30.2, 0, 1714525200000], [120.2, 30.3, 0, 1714525205000]]),
            "point 0 has a time that is not epoch seconds",
        ),
        (
            line_feature([[120.1, float("nan")], [1, 2]], times=TIMES_3[:2]),
            "point 0 has a non-finite coordinate",
        ),
        (
            line_feature([[120.1, 30.2], [120.2, "30.3"]], times=TIMES_3[:2]),
            "point 1 has non-numeric coordinates",
        ),
        (json.dumps({"type": "Point", "coordinates": [120.1, 30.2]}), "a GeoJSON Point is not"),
        (
            json.dumps({"type": "FeatureCollection", "features": []}),
            "the FeatureCollection has 0 line features; exactly 1",
        ),
        (
            json.dumps(
                {
                    "type": "MultiLineString",
                    "coordinates": [LINE_3[:2], LINE_3[2:]],
                    "properties": {},
                }
            ),
            "the GeoJSON track has no times",
        ),
        (
            json.dumps(
                {
                    "type": "Feature",
                    "geometry": {
                        "type": "MultiLineString",
                        "coordinates": [LINE_3[:2], LINE_3[2:]],
                    },
                    "properties": {"coordTimes": TIMES_3},
                }
            ),
            "must be one list of times per line (2 lines)",
        ),
    ],
)
def test_bad_tracks_are_refused_naming_the_problem(data: bytes | str, message: str) -> None:
    raw = data.encode() if isinstance(data, str) else data
    with pytest.raises(InvalidInput) as caught:
        read_track(raw)
    assert message in str(caught.value)


def test_refusal_names_the_upload_and_the_point_limit() -> None:
    with pytest.raises(InvalidInput, match=r"\(file 'track\.fit', type 'application/fit'\)"):
        read_track(b"\x0e\x10\x00", filename="track.fit", content_type="application/fit")
    points = _two() + trkpt(120.3, 30.4, "2024-05-01T01:00:10Z")
    with pytest.raises(InvalidInput, match="the track has more than 2 points"):
        read_track(gpx(points), max_points=2)
    with pytest.raises(InvalidInput, match="the track has more than 2 points"):
        read_track(line_feature(LINE_3, times=TIMES_3), max_points=2)
    assert len(read_track(gpx(points), max_points=3).lonlat) == 3


# --- analysing tracks -----------------------------------------------------------------------


def walk(legs: list[tuple[float, float] | int]) -> tuple[np.ndarray, np.ndarray]:
    """A 1 Hz track from (0, 0): (x, y) walks there at 1.2 m/s, an int pauses that long."""
    points = [(0.0, 0.0)]
    for leg in legs:
        if isinstance(leg, int):
            points += [points[-1]] * leg
            continue
        (x0, y0), (x1, y1) = points[-1], leg
        steps = round(np.hypot(x1 - x0, y1 - y0) / SPEED)
        assert steps * SPEED == pytest.approx(np.hypot(x1 - x0, y1 - y0))
        points += [
            (x0 + (x1 - x0) * i / steps, y0 + (y1 - y0) * i / steps) for i in range(1, steps + 1)
        ]
    return np.array(points), np.arange(len(points), dtype=float)


# A 1,000 m east-west street and a 200 m north-south branch at x = 540.
STREETS = [LineString([(0, 0), (1000, 0)]), LineString([(540, 0), (540, 200)])]
AREA = box(-100, -100, 1100, 300)
# Pauses of 60 s at 7 stops; stop 2 (5 m off the street) and stop 8 are passed without
# stopping, stop 5 is 40 m off the street.
STOPS = [
    (1, 60.0, 0.0),
    (2, 120.0, 5.0),
    (3, 180.0, 0.0),
    (4, 240.0, -4.0),
    (5, 300.0, 40.0),
    (6, 360.0, 0.0),
    (7, 420.0, 0.0),
    (8, 480.0, 0.0),
    (9, 600.0, 0.0),
    (10, 540.0, 120.0),
]
# East to 600 pausing at 60, 180, 240, 360, 420 and 600, back to the branch, up to 120 m.
PATROL = [(60, 0), 60, (180, 0), 60, (240, 0), 60, (360, 0), 60, (420, 0), 60, (600, 0), 60]
PATROL += [(540, 0), (540, 120), 60]


def test_stops_visited_by_lingering_and_missed_when_passed_by() -> None:
    xy, t = walk(PATROL)
    result = analyse(xy, t, STOPS, STREETS, AREA)
    # In-radius runs start 12 samples (14.4 m) before a stop and end 12 after leaving it;
    # the walk reaches the stops at t = 50, 210, 320, 480, 590, 800 and 1010.
    assert result.visits == [
        StopVisit(1, 38.0, 122.0, 84.0, 0.0),
        StopVisit(3, 198.0, 282.0, 84.0, 0.0),
        StopVisit(4, 308.0, 392.0, 84.0, 4.0),
        StopVisit(6, 468.0, 552.0, 84.0, 0.0),
        StopVisit(7, 578.0, 662.0, 84.0, 0.0),
        StopVisit(9, 788.0, 872.0, 84.0, 0.0),
        StopVisit(10, 998.0, 1070.0, 72.0, 0.0),  # the track ends there
    ]
    assert result.missed == [2, 5, 8]
    assert result.duration_s == 1070.0
    assert result.length_m == pytest.approx(600 + 60 + 120)
    assert result.outside_s == 0.0
    assert result.gaps == []


def test_a_stop_passed_quickly_lingers_too_short() -> None:
    xy, t = walk(PATROL)
    # Stop 2 is within 15 m from x = 106.8 (t = 149) to x = 133.2 (t = 171): 22 s.
    assert analyse(xy, t, STOPS[1:2], STREETS, AREA, linger_s=22.5).missed == [2]
    result = analyse(xy, t, STOPS[1:2], STREETS, AREA, linger_s=22.0)
    assert result.visits == [StopVisit(2, 149.0, 171.0, 22.0, 5.0)]


def test_the_earliest_long_enough_run_of_consecutive_samples_counts() -> None:
    # Runs within 15 m of the stop: 38-75 (13 s pause), 151-195 (20 s), 271-343 (60 s, end).
    xy, t = walk([(60, 0), 13, (120, 0), (60, 0), 20, (120, 0), (60, 0), 60])
    stop = [(1, 60.0, 0.0)]
    assert analyse(xy, t, stop, [], AREA).visits == [StopVisit(1, 38.0, 75.0, 37.0, 0.0)]
    assert analyse(xy, t, stop, [], AREA, linger_s=40).visits == [
        StopVisit(1, 151.0, 195.0, 44.0, 0.0)
    ]
    assert analyse(xy, t, stop, [], AREA, linger_s=50).visits == [
        StopVisit(1, 271.0, 343.0, 72.0, 0.0)
    ]
    assert analyse(xy, t, stop, [], AREA, linger_s=73).missed == [1]


def test_one_sample_out_of_radius_breaks_the_run() -> None:
    xy = np.zeros((41, 2))
    t = np.arange(41.0)
    assert analyse(xy, t, [(1, 3.0, 4.0)], [], AREA).visits == [StopVisit(1, 0.0, 40.0, 40.0, 5.0)]
    xy[20] = (0.0, 25.0)  # 21 m from the stop: runs of 19 s on either side
    assert analyse(xy, t, [(1, 3.0, 4.0)], [], AREA).missed == [1]


def test_coverage_of_the_network_within_20_m_of_the_track() -> None:
    xy, t = walk(PATROL)
    result = analyse(xy, t, [], STREETS, AREA)
    # The street from 0 to 600 + 20 m and the branch up to 120 + 20 m.
    assert result.network_m == 1200.0
    assert result.walked_m == pytest.approx(620 + 140, abs=1e-9)
    assert result.coverage_share == pytest.approx(760 / 1200, abs=1e-12)
    expected = MultiLineString([[(0, 0), (620, 0)], [(540, 0), (540, 140)]])
    assert result.covered.symmetric_difference(expected).length < 1e-9


def test_coverage_counts_overlapping_network_lines_once_and_needs_movement() -> None:
    twice = MultiLineString([[(0, 0), (1000, 0)], [(0, 0), (1000, 0)], [(500, 0), (700, 0)]])
    still = np.array([[300.0, 5.0]] * 10)
    result = analyse(still, np.arange(10.0), [], twice, AREA)
    assert result.network_m == 1000.0
    # A track that never moved covers a disc: 2 * sqrt(20² - 5²) of the street.
    assert result.walked_m == pytest.approx(2 * np.sqrt(375), abs=1e-9)
    assert result.length_m == 0.0
    assert analyse(still, np.arange(10.0), [], [], AREA).coverage_share == 0.0


def test_time_outside_the_area_counts_half_for_a_crossing_step() -> None:
    # 1 Hz samples at x = -10.5, -9.5, ..., 1009.5 along a street running past both ends.
    x = np.arange(-10.5, 1010.0, 1.0)
    xy = np.column_stack([x, np.zeros_like(x)])
    t = np.arange(len(x), dtype=float)
    street = [LineString([(-100, 0), (1100, 0)])]
    # 10 s + 0.5 s before entering, 0.5 s + 9 s after leaving.
    result = analyse(xy, t, [], street, box(0, -50, 1000, 50))
    assert result.outside_s == 20.0
    assert result.network_m == 1000.0
    assert result.walked_m == pytest.approx(1000.0, abs=1e-9)
    assert result.coverage_share == pytest.approx(1.0)
    # Two grids with 200 m between them: 0.5 + 199 + 0.5 s more.
    two = MultiPolygon([box(0, -50, 400, 50), box(600, -50, 1000, 50)])
    result = analyse(xy, t, [], street, two)
    assert result.outside_s == 220.0
    assert result.network_m == 800.0


def test_gaps_in_time_or_space() -> None:
    xy = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0], [3.0, 0.0], [153.0, 0.0], [154.0, 0.0]])
    t = np.array([0.0, 1.0, 301.0, 302.0, 303.0, 424.0])
    result = analyse(xy, t, [], STREETS, AREA)
    assert result.gaps == [
        Gap(1.0, 301.0, 300.0, 1.0, (1.0, 0.0), (2.0, 0.0)),
        Gap(302.0, 303.0, 1.0, 150.0, (3.0, 0.0), (153.0, 0.0)),
        Gap(303.0, 424.0, 121.0, 1.0, (153.0, 0.0), (154.0, 0.0)),
    ]
    assert result.length_m == 154.0
    assert analyse(xy, t, [], STREETS, AREA, gap_s=300.0, gap_m=150.0).gaps == []


@pytest.mark.parametrize(
    ("xy", "seconds", "message"),
    [
        (np.zeros((3, 3)), np.arange(3.0), "must be an n x 2 array"),
        (np.zeros((3, 2)), np.arange(4.0), "one per point"),
        (np.zeros((1, 2)), np.arange(1.0), "at least 2 points"),
        (np.zeros((3, 2)), np.array([0.0, 2.0, 1.0]), "goes backwards at point 2"),
        (np.array([[0.0, 0.0], [np.nan, 0.0]]), np.arange(2.0), "must be finite"),
    ],
)
def test_analyse_refuses_malformed_tracks(
    xy: np.ndarray, seconds: np.ndarray, message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        analyse(xy, seconds, [], STREETS, AREA)


def test_analyse_refuses_a_bad_area_or_network() -> None:
    xy, t = np.zeros((2, 2)), np.arange(2.0)
    with pytest.raises(InvalidInput, match="polygon or multipolygon"):
        analyse(xy, t, [], STREETS, LineString([(0, 0), (1, 1)]))  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="lines only"):
        analyse(xy, t, [], [box(0, 0, 1, 1)], AREA)  # type: ignore[list-item]
