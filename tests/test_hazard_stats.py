"""Hazard statistics, residents benefited and the monthly grid seminar report, on exact figures.

The fixture reports ten hazards at known places of the demo community, then sets their dates,
states and deadlines with SQL inside the test transaction (times are Asia/Shanghai):

==== ============= ===================== ================ ========== ================ ============
name place         category              reported         state      closed           deadline
==== ============= ===================== ================ ========== ================ ============
h1   留香园 (19)   blocked_corridor      03-02 10:00      verified   03-04 10:00 (2d) 03-09 10:00
h2   留香园 (19)   indoor_ebike_charging 03-05 08:00      verified   03-09 08:00 (4d) 03-12 08:00
h3   和家锦园 (02) blocked_fire_lane     03-10 12:00      verified   03-20 12:00 (10d) 03-17 12:00
h4   江前里 (18)   food_safety           02-20 09:00      verified   03-01 09:00 (9d) 03-06 09:00
h5   江前里 (18)   structural            02-25 09:00      dispatched                  03-10 00:00
h6   和家锦园 (02) sanitation            03-31 23:30      rectifying                  04-05 00:00
h7   grid 19       traffic_parking       03-15 09:00      rejected   03-16 09:00      03-22 09:00
h8   留香园 (19)   blocked_corridor      03-28 09:00      duplicate  03-28 10:00      04-04 09:00
h9   留香园 (19)   blocked_corridor      03-20 09:00      verified   04-03 09:00 (14d) 03-27 12:00
h10  和家锦园 (02) food_safety           04-01 00:30      reported                    04-17 00:00
==== ============= ===================== ================ ========== ================ ============

All in 2025. h6 and h10 straddle the local month end (in UTC both fall on 31 March).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from api.routes.hazard_reports import HEADER
from geo.hazards import stats

DEMO = "330303003001"
CST = ZoneInfo("Asia/Shanghai")
EVIL = "=1+1 <script>alert('x')</script> 楼道堆物"

PLAN = [
    ("h1", "留香园", "blocked_corridor", "03-02 10:00", "verified", "03-04 10:00", "03-09 10:00"),
    (
        "h2",
        "留香园",
        "indoor_ebike_charging",
        "03-05 08:00",
        "verified",
        "03-09 08:00",
        "03-12 08:00",
    ),
    (
        "h3",
        "和家锦园",
        "blocked_fire_lane",
        "03-10 12:00",
        "verified",
        "03-20 12:00",
        "03-17 12:00",
    ),
    ("h4", "江前里", "food_safety", "02-20 09:00", "verified", "03-01 09:00", "03-06 09:00"),
    ("h5", "江前里", "structural", "02-25 09:00", "dispatched", None, "03-10 00:00"),
    ("h6", "和家锦园", "sanitation", "03-31 23:30", "rectifying", None, "04-05 00:00"),
    ("h7", None, "traffic_parking", "03-15 09:00", "rejected", "03-16 09:00", "03-22 09:00"),
    ("h8", "留香园", "blocked_corridor", "03-28 09:00", "duplicate", "03-28 10:00", "04-04 09:00"),
    ("h9", "留香园", "blocked_corridor", "03-20 09:00", "verified", "04-03 09:00", "03-27 12:00"),
    ("h10", "和家锦园", "food_safety", "04-01 00:30", "reported", None, "04-17 00:00"),
]
EXPECTED_PLACE = {"留香园": "19", "和家锦园": "02", "江前里": "18", None: "19"}

COUNTS = ("open", "overdue", "closed", "rejected", "duplicate", "total", "median_days_to_close")
MONTH = ("new", "closed", "rejected", "duplicate", "open_at_end", "overdue_at_end")


def at(when: str | None) -> dt.datetime | None:
    return None if when is None else dt.datetime.fromisoformat(f"2025-{when}").replace(tzinfo=CST)


def point(connection: Connection, compound: str | None) -> tuple[float, float]:
    """A point inside the compound, or inside grid 19 but outside every compound."""
    sql = (
        "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p FROM compound"
        " WHERE name = :name) s"
        if compound
        else "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(ST_Difference(g.geom,"
        " (SELECT ST_Union(geom) FROM compound))) AS p FROM grid g JOIN community c"
        " ON c.id = g.community_id WHERE c.code = :code AND g.code = '19') s"
    )
    return tuple(connection.execute(text(sql), {"name": compound, "code": DEMO}).one())


@pytest.fixture
def hazards(client: TestClient, connection: Connection) -> dict[str, int]:
    """The ten hazards of the table above; name -> id."""
    ids = {}
    for name, place, category, reported, state, closed, deadline in PLAN:
        lon, lat = point(connection, place)
        body = {
            "category": category,
            "severity": "high",
            "description": EVIL if name == "h9" else f"{name} 隐患",
            "lon": lon,
            "lat": lat,
            "origin": "patrol",
            "reporter": "章微琳",
        }
        created = client.post("/hazards", json=body)
        assert created.status_code == 201, created.text
        props = created.json()["properties"]
        assert (props["grid"], props["compound"]) == (EXPECTED_PLACE[place], place)
        ids[name] = created.json()["id"]
        connection.execute(
            text(
                "UPDATE hazard SET reported_at = :r, closed_at = :c, state = :s, deadline = :d"
                " WHERE id = :id"
            ),
            {"r": at(reported), "c": at(closed), "s": state, "d": at(deadline), "id": ids[name]},
        )
    return ids


@pytest.fixture
def population(connection: Connection) -> dict[str, int]:
    rows = connection.execute(text("SELECT name, population FROM compound"))
    return dict(rows.all())


def counts(row: dict, keys: tuple[str, ...] = COUNTS) -> tuple:
    return tuple(row[k] for k in keys)


def zero_counts() -> tuple:
    return (0, 0, 0, 0, 0, 0, None)


YEAR = {"from": "2025-01-01", "to": "2025-12-31"}


def test_stats_by_grid(client: TestClient, hazards: dict) -> None:
    body = client.get(f"/communities/{DEMO}/hazard-stats", params={"by": "grid", **YEAR}).json()
    rows = {r["grid"]: r for r in body["rows"]}
    assert len(body["rows"]) == 21 and None not in rows
    assert counts(rows["19"]) == (0, 0, 3, 1, 1, 5, 4.0)
    assert counts(rows["02"]) == (2, 2, 1, 0, 0, 3, 10.0)
    assert counts(rows["18"]) == (1, 1, 1, 0, 0, 2, 9.0)
    assert counts(rows["07"]) == zero_counts()
    assert [r["grid"] for r in body["rows"]] == sorted(rows)
    assert counts(body["total"]) == (3, 3, 5, 1, 1, 10, 9.0)
    assert body["community"]["code"] == DEMO


def test_stats_by_compound_lists_every_compound_and_a_row_outside_any(
    client: TestClient, hazards: dict
) -> None:
    body = client.get(f"/communities/{DEMO}/hazard-stats", params={"by": "compound", **YEAR}).json()
    rows = {r["compound"]: r for r in body["rows"]}
    assert len(body["rows"]) == 11
    assert counts(rows["留香园"]) == (0, 0, 3, 0, 1, 4, 4.0)
    assert counts(rows["和家锦园"]) == (2, 2, 1, 0, 0, 3, 10.0)
    assert counts(rows["江前里"]) == (1, 1, 1, 0, 0, 2, 9.0)
    assert counts(rows["望江苑"]) == zero_counts()
    last = body["rows"][-1]
    assert (last["compound_id"], last["compound"]) == (None, None)
    assert counts(last) == (0, 0, 0, 1, 0, 1, None)


def test_stats_by_category(client: TestClient, hazards: dict) -> None:
    body = client.get(f"/communities/{DEMO}/hazard-stats", params={"by": "category", **YEAR}).json()
    assert [r["category"] for r in body["rows"]] == [
        "blocked_corridor",
        "blocked_fire_lane",
        "indoor_ebike_charging",
        "missing_extinguisher",
        "food_safety",
        "other",
        "sanitation",
        "structural",
        "traffic_parking",
    ]
    rows = {r["category"]: r for r in body["rows"]}
    assert counts(rows["blocked_corridor"]) == (0, 0, 2, 0, 1, 3, 8.0)
    assert counts(rows["food_safety"]) == (1, 1, 1, 0, 0, 2, 9.0)
    assert counts(rows["missing_extinguisher"]) == zero_counts()
    assert (rows["blocked_corridor"]["name_zh"], rows["blocked_corridor"]["group"]) == (
        "楼道堆物堵塞",
        "fire",
    )


def test_date_range_uses_local_days(client: TestClient, hazards: dict) -> None:
    url = f"/communities/{DEMO}/hazard-stats"
    march = client.get(url, params={"from": "2025-03-01", "to": "2025-03-31"}).json()
    assert counts(march["total"]) == (1, 1, 4, 1, 1, 7, 7.0)
    assert {r["grid"]: r["total"] for r in march["rows"] if r["total"]} == {"19": 5, "02": 2}
    april_first = client.get(url, params={"from": "2025-04-01", "to": "2025-04-01"}).json()
    assert april_first["total"]["total"] == 1
    cases = client.get(url, params={**YEAR, "kind": "case"}).json()
    assert counts(cases["total"]) == zero_counts()


def test_stats_refuses_bad_input(client: TestClient) -> None:
    url = f"/communities/{DEMO}/hazard-stats"
    backwards = client.get(url, params={"from": "2025-03-02", "to": "2025-03-01"})
    assert (backwards.status_code, backwards.json()["detail"]) == (
        422,
        "from 2025-03-02 is after to 2025-03-01",
    )
    assert client.get(url, params={"by": "street"}).status_code == 422
    unknown = client.get("/communities/999/hazard-stats")
    assert (unknown.status_code, unknown.json()["detail"]) == (404, "community 999 not found")


def test_residents_benefited(client: TestClient, hazards: dict, population: dict) -> None:
    url = f"/communities/{DEMO}/residents-benefited"
    march = client.get(url, params={"from": "2025-03-01", "to": "2025-03-31"}).json()
    assert (march["compounds"], march["residents"]) == (
        3,
        population["留香园"] + population["和家锦园"] + population["江前里"],
    )
    assert [(c["compound"], c["hazards_fixed"], c["population"]) for c in march["by_compound"]] == [
        ("留香园", 2, population["留香园"]),
        ("和家锦园", 1, population["和家锦园"]),
        ("江前里", 1, population["江前里"]),
    ]
    assert march["by_compound"][0]["median_days_to_close"] == 3.0
    fire = client.get(url, params={"from": "2025-03-01", "to": "2025-03-31", "group": "fire"})
    assert (fire.json()["compounds"], fire.json()["residents"]) == (
        2,
        population["留香园"] + population["和家锦园"],
    )
    lane = client.get(url, params={"category": "blocked_fire_lane"}).json()
    assert (lane["compounds"], lane["residents"]) == (1, population["和家锦园"])
    april = client.get(url, params={"from": "2025-04-01", "to": "2025-04-30"}).json()
    assert [c["compound"] for c in april["by_compound"]] == ["留香园"]
    assert april["residents"] == population["留香园"]
    empty = client.get(url, params={"from": "2025-01-01", "to": "2025-01-31"}).json()
    assert (empty["compounds"], empty["residents"], empty["by_compound"]) == (0, 0, [])


def test_residents_benefited_refuses_unknown_groups(client: TestClient) -> None:
    url = f"/communities/{DEMO}/residents-benefited"
    volcano = client.get(url, params={"group": "volcano"})
    assert (volcano.status_code, volcano.json()["detail"]) == (
        422,
        "category group 'volcano' unknown; one of fire, food, other, sanitation, structural,"
        " traffic",
    )
    both = client.get(url, params={"group": "fire", "category": "blocked_corridor"})
    assert both.status_code == 422
    assert both.json()["detail"] == "give a category group or a category, not both"
    unknown = client.get(url, params={"category": "volcano"})
    assert unknown.json()["detail"] == "category 'volcano' is not in the catalogue"


def test_monthly_report_figures(client: TestClient, hazards: dict, population: dict) -> None:
    url = f"/communities/{DEMO}/reports/monthly"
    report = client.get(url, params={"month": "2025-03"}).json()
    s = report["summary"]
    assert counts(s, MONTH) == (7, 4, 1, 1, 3, 2)
    assert s["median_days_to_close"] == 6.5
    assert s["compounds_benefited"] == 3
    assert s["residents_benefited"] == sum(population[c] for c in ("留香园", "和家锦园", "江前里"))
    grids = {g["grid"]: g for g in report["by_grid"]}
    assert counts(grids["19"], MONTH) == (5, 2, 1, 1, 1, 1)
    assert grids["19"]["median_days_to_close"] == 3.0
    assert counts(grids["02"], MONTH) == (2, 1, 0, 0, 1, 0)
    assert counts(grids["18"], MONTH) == (0, 1, 0, 0, 1, 1)
    assert counts(grids["10"], MONTH) == (0, 0, 0, 0, 0, 0)
    categories = {c["category"]: c for c in report["by_category"]}
    assert counts(categories["blocked_corridor"], MONTH) == (3, 1, 0, 1, 1, 1)
    assert categories["blocked_corridor"]["median_days_to_close"] == 2.0
    overdue = report["overdue"]
    assert [(o["id"], o["days_overdue"]) for o in overdue] == [
        (hazards["h5"], 22.0),
        (hazards["h9"], 4.5),
    ]
    assert overdue[1]["state_now"] == "verified"
    assert overdue[1]["deadline"] == "2025-03-27T12:00:00+08:00"
    assert (report["from"], report["to"]) == (
        "2025-03-01T00:00:00+08:00",
        "2025-04-01T00:00:00+08:00",
    )
    february = client.get(url, params={"month": "2025-02"}).json()["summary"]
    assert counts(february, MONTH) == (2, 0, 0, 0, 2, 0)


def test_monthly_csv(client: TestClient, hazards: dict, population: dict) -> None:
    response = client.get(
        f"/communities/{DEMO}/reports/monthly", params={"month": "2025-03", "format": "csv"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert 'filename="hazards-330303003001-2025-03.csv"' in response.headers["content-disposition"]
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == HEADER and rows[0][:3] == ["section 部分", "id 编号", "name 名称"]
    records = [dict(zip([h.split()[0] for h in HEADER], r, strict=True)) for r in rows[1:]]
    sections = [r["section"] for r in records]
    assert (
        sections
        == ["summary"] + ["grid"] * 21 + ["category"] * 9 + ["benefited"] * 3 + ["overdue"] * 2
    )
    summary = records[0]
    figures = ("new", "closed", "rejected", "duplicate", "open_at_end", "overdue_at_end")
    assert [summary[k] for k in figures] == ["7", "4", "1", "1", "3", "2"]
    assert (summary["median_days_to_close"], summary["compounds_benefited"]) == ("6.5", "3")
    residents = population["留香园"] + population["和家锦园"] + population["江前里"]
    assert summary["residents"] == str(residents)
    grid19 = next(r for r in records if r["section"] == "grid" and r["id"] == "19")
    assert [grid19[k] for k in figures] == ["5", "2", "1", "1", "1", "1"]
    assert grid19["median_days_to_close"] == "3.0"
    grid10 = next(r for r in records if r["section"] == "grid" and r["id"] == "10")
    assert (grid10["new"], grid10["median_days_to_close"]) == ("0", "")
    benefited = [(r["name"], r["residents"]) for r in records if r["section"] == "benefited"]
    assert benefited == [(c, str(population[c])) for c in ("留香园", "和家锦园", "江前里")]
    late = records[-1]
    assert (late["id"], late["days_overdue"], late["grid"], late["compound"]) == (
        str(hazards["h9"]),
        "4.5",
        "19",
        "留香园",
    )
    assert late["description"] == "'" + EVIL  # not run as a formula by Excel


def test_monthly_html(client: TestClient, hazards: dict, population: dict) -> None:
    response = client.get(
        f"/communities/{DEMO}/reports/monthly", params={"month": "2025-03", "format": "html"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    residents = population["留香园"] + population["和家锦园"] + population["江前里"]
    assert page.startswith("<!doctype html>") and '<meta charset="utf-8">' in page
    assert "2025-03 网格研讨会月报 Monthly grid seminar report" in page
    assert "<th>月末超期 Overdue at end</th>" in page
    assert f'<td>受益居民 Residents benefited</td><td class="n">{residents:,}</td>' in page
    assert '<td>结案天数中位数 Median days to close</td><td class="n">6.5</td>' in page
    assert f"<td>#{hazards['h9']}</td>" in page and '<td class="n">22.0</td>' in page
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page


def test_empty_month_gives_zeros(client: TestClient, hazards: dict) -> None:
    url = f"/communities/{DEMO}/reports/monthly"
    report = client.get(url, params={"month": "2025-01"}).json()
    assert counts(report["summary"], MONTH) == (0, 0, 0, 0, 0, 0)
    assert report["summary"]["median_days_to_close"] is None
    assert (report["summary"]["residents_benefited"], report["overdue"]) == (0, [])
    assert len(report["by_grid"]) == 21
    assert all(counts(g, MONTH) == (0,) * 6 for g in report["by_grid"])
    table = client.get(url, params={"month": "2025-01", "format": "csv"})
    rows = list(csv.reader(io.StringIO(table.content.decode("utf-8-sig"))))
    assert rows[1][:9] == ["summary", DEMO, "蒲江社区 2025-01", "0", "0", "0", "0", "0", "0"]
    assert len(rows) == 1 + 1 + 21 + 9
    page = client.get(url, params={"month": "2025-01", "format": "html"})
    assert page.status_code == 200 and "无超期 none overdue" in page.text


@pytest.mark.parametrize(
    ("month", "detail"),
    [
        ("2025-13", "month '2025-13' is not a month: YYYY-MM expected, e.g. 2026-03"),
        ("2025-3", "month '2025-3' is not a month: YYYY-MM expected, e.g. 2026-03"),
        ("march", "month 'march' is not a month: YYYY-MM expected, e.g. 2026-03"),
        ("2999-01", "month '2999-01' has not started yet"),
    ],
)
def test_bad_month_is_named(client: TestClient, month: str, detail: str) -> None:
    response = client.get(f"/communities/{DEMO}/reports/monthly", params={"month": month})
    assert (response.status_code, response.json()["detail"]) == (422, detail)


def test_functions_agree_with_the_api(session: Session, hazards: dict) -> None:
    grid = stats.hazard_stats(session, DEMO, "grid", dt.date(2025, 1, 1), dt.date(2025, 12, 31))
    assert counts(grid["total"]) == (3, 3, 5, 1, 1, 10, 9.0)
    assert stats.parse_month(" 2026-03 ") == dt.date(2026, 3, 1)
    assert stats.day_range(dt.date(2025, 3, 31), dt.date(2025, 3, 31)) == (
        dt.datetime(2025, 3, 30, 16, tzinfo=dt.UTC),
        dt.datetime(2025, 3, 31, 16, tzinfo=dt.UTC),
    )


def test_cli_writes_the_monthly_report(tmp_path, demo) -> None:
    from typer.testing import CliRunner

    from api.cli import app

    runner = CliRunner()
    out = tmp_path / "report.csv"
    result = runner.invoke(app, ["report", "monthly", DEMO, "--month", "2024-01", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "2024-01: 0 new, 0 closed, 0 open and 0 overdue at month end" in result.output
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")
    bad = runner.invoke(app, ["report", "monthly", DEMO, "--month", "2024-1", "-o", str(out)])
    assert bad.exit_code == 1
    assert "month '2024-1' is not a month" in bad.output
    listed = runner.invoke(app, ["report", "stats", DEMO, "--by", "category", "--to", "2024-01-31"])
    assert listed.exit_code == 0
    assert json.loads(listed.output)["total"]["total"] == 0
