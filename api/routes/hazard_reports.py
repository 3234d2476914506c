"""Hazard statistics for the community office and the monthly grid seminar (网格研讨会).

The monthly report comes as JSON, as CSV (UTF-8 with a BOM so that Excel reads Chinese; one
table whose ``section`` column says what each row is) or as a standalone HTML page.

Figures count the hazards inside the account's scope; a community outside it is 404, like a
missing one; viewers get no reporter in the overdue items.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from html import escape
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response

from api.auth import PrincipalDep
from api.deps import SessionDep
from geo.hazards import stats

router = APIRouter(tags=["hazard statistics"])

Since = Annotated[dt.date | None, Query(alias="from", description="first local day (included)")]
Until = Annotated[dt.date | None, Query(alias="to", description="last local day (included)")]
Kind = Annotated[Literal["hazard", "case"] | None, Query(description="hazards or cases only")]


@router.get("/communities/{code}/hazard-stats", summary="Hazard counts per grid/compound/category")
def hazard_stats(
    session: SessionDep,
    principal: PrincipalDep,
    code: str,
    by: Literal["grid", "compound", "category"] = "grid",
    since: Since = None,
    until: Until = None,
    kind: Kind = None,
) -> dict[str, Any]:
    """Open, overdue, closed (verified), rejected, duplicate, total and median days to close of
    the hazards reported in the period; every grid, compound or category is listed, zeros
    included, and hazards outside any grid or compound form a last row with a null key. A
    worker account gets its grids and the compounds holding its hazards only."""
    return stats.hazard_stats(session, code, by, since, until, kind, principal.scope)


@router.get("/communities/{code}/residents-benefited", summary="Residents of fixed compounds")
def residents_benefited(
    session: SessionDep,
    principal: PrincipalDep,
    code: str,
    since: Since = None,
    until: Until = None,
    group: Annotated[str | None, Query(description="category group: fire, food...")] = None,
    category: Annotated[str | None, Query(description="one category code")] = None,
) -> dict[str, Any]:
    """Compounds with at least one hazard verified (closed) in the period, and the sum of
    their populations, each compound counted once."""
    return stats.residents_benefited(session, code, since, until, group, category, principal.scope)


@router.get(
    "/communities/{code}/reports/monthly",
    summary="Monthly report for the grid seminar (JSON, CSV or HTML)",
    responses={200: {"content": {"text/csv": {}, "text/html": {}}}},
)
def monthly_report(
    session: SessionDep,
    principal: PrincipalDep,
    code: str,
    month: Annotated[str, Query(description="YYYY-MM, local time (Asia/Shanghai)")],
    format: Literal["json", "csv", "html"] = "json",
    kind: Kind = None,
) -> Any:
    report = stats.monthly_report(session, code, month, kind, principal.scope)
    report["overdue"] = [principal.mask(item) for item in report["overdue"]]
    name = f"hazards-{code}-{report['month']}"
    if format == "csv":
        return Response(
            render_csv(report),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    if format == "html":
        return HTMLResponse(render_html(report))
    return report


# --- CSV -------------------------------------------------------------------------------------

COLUMNS: list[tuple[str, str]] = [
    ("section", "部分"),
    ("id", "编号"),
    ("name", "名称"),
    ("new", "本月新增"),
    ("closed", "本月结案"),
    ("rejected", "本月驳回"),
    ("duplicate", "本月重复"),
    ("open_at_end", "月末未结"),
    ("overdue_at_end", "月末超期"),
    ("median_days_to_close", "结案天数中位数"),
    ("compounds_benefited", "受益小区数"),
    ("residents", "受益居民"),
    ("grid", "网格"),
    ("compound", "小区"),
    ("category", "类别"),
    ("severity", "等级"),
    ("reported_at", "上报时间"),
    ("deadline", "整改期限"),
    ("days_overdue", "超期天数"),
    ("assignee", "责任网格员"),
    ("state_now", "当前状态"),
    ("description", "描述"),
]
"""The one table of the CSV; a header cell is ``key 中文``. Sections: summary, grid, category,
benefited (compounds), overdue (items)."""

HEADER = [f"{key} {zh}" for key, zh in COLUMNS]
FLOWS = ("new", "closed", "rejected", "duplicate", "open_at_end", "overdue_at_end")


def _cell(value: Any) -> Any:
    """Empty for null; text that Excel would run as a formula is quoted."""
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _flows(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in (*FLOWS, "median_days_to_close")}


def csv_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows of the monthly CSV, keyed by the column keys."""
    summary = report["summary"]
    rows: list[dict[str, Any]] = [
        {
            "section": "summary",
            "id": report["community"]["code"],
            "name": f"{report['community']['name']} {report['month']}",
            **_flows(summary),
            "compounds_benefited": summary["compounds_benefited"],
            "residents": summary["residents_benefited"],
        }
    ]
    for g in report["by_grid"]:
        rows.append({"section": "grid", "id": g["grid"], "name": g["name"], **_flows(g)})
    for c in report["by_category"]:
        rows.append({"section": "category", "id": c["category"], "name": c["name_zh"], **_flows(c)})
    for b in report["benefited"]["by_compound"]:
        rows.append(
            {
                "section": "benefited",
                "id": b["compound_id"],
                "name": b["compound"],
                "closed": b["hazards_fixed"],
                "median_days_to_close": b["median_days_to_close"],
                "residents": b["population"],
            }
        )
    for o in report["overdue"]:
        rows.append({"section": "overdue", "name": o["name_zh"], **o})
    return rows


def render_csv(report: dict[str, Any]) -> bytes:
    """The monthly report as one CSV table, UTF-8 with a BOM."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    for row in csv_rows(report):
        writer.writerow([_cell(row.get(key)) for key, _ in COLUMNS])
    return out.getvalue().encode("utf-8-sig")


# --- HTML ------------------------------------------------------------------------------------

STYLE = """
body{font-family:system-ui,"PingFang SC","Microsoft YaHei",sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}
th,td{border:1px solid #bbb;padding:.25em .6em;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}
th{background:#eef2f6} caption{text-align:left;font-weight:600;padding:.3em 0}
.none{color:#888} td:nth-child(-n+2){white-space:nowrap}
"""

FLOW_HEADINGS = [
    ("new", "本月新增 New"),
    ("closed", "本月结案 Closed"),
    ("rejected", "驳回 Rejected"),
    ("duplicate", "重复 Duplicate"),
    ("open_at_end", "月末未结 Open at end"),
    ("overdue_at_end", "月末超期 Overdue at end"),
    ("median_days_to_close", "结案天数中位数 Median days to close"),
]


def _td(value: Any) -> str:
    if value is None:
        return '<td class="none">—</td>'
    if isinstance(value, bool):
        return f"<td>{'是' if value else '否'}</td>"
    if isinstance(value, int):
        return f'<td class="n">{value:,}</td>'
    if isinstance(value, float):
        return f'<td class="n">{value:.1f}</td>'
    return f"<td>{escape(str(value))}</td>"


def _table(caption: str, headings: list[str], rows: list[list[Any]], empty: str) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headings)
    if not rows:
        body = f'<tr><td colspan="{len(headings)}" class="none">{escape(empty)}</td></tr>'
    else:
        body = "".join("<tr>" + "".join(_td(v) for v in row) + "</tr>" for row in rows)
    return f"<table><caption>{escape(caption)}</caption><tr>{head}</tr>{body}</table>"


def render_html(report: dict[str, Any]) -> str:
    """The monthly report as a standalone HTML page; every text from the database is escaped."""
    s = report["summary"]
    community = report["community"]
    title = f"{community['name']} {report['month']} 网格研讨会月报 Monthly grid seminar report"
    summary = _table(
        "概况 Summary",
        ["项目 Item", "数值 Value"],
        [
            *[[heading, s[key]] for key, heading in FLOW_HEADINGS],
            ["受益小区 Compounds benefited", s["compounds_benefited"]],
            ["受益居民 Residents benefited", s["residents_benefited"]],
        ],
        "",
    )
    flows = [h for _, h in FLOW_HEADINGS]
    grids = _table(
        "按网格 By grid",
        ["网格 Grid", "名称 Name", *flows],
        [
            [g["grid"] or "(无网格 no grid)", g["name"], *[g[k] for k, _ in FLOW_HEADINGS]]
            for g in report["by_grid"]
        ],
        "无网格 no grids",
    )
    categories = _table(
        "按类别 By category",
        ["类别 Category", "名称 Name", "分组 Group", *flows],
        [
            [c["category"], c["name_zh"], c["group"], *[c[k] for k, _ in FLOW_HEADINGS]]
            for c in report["by_category"]
        ],
        "无类别 no categories",
    )
    benefited = _table(
        "受益小区 Compounds with hazards fixed this month",
        ["小区 Compound", "居民 Residents", "结案隐患 Hazards fixed", "中位天数 Median days"],
        [
            [b["compound"], b["population"], b["hazards_fixed"], b["median_days_to_close"]]
            for b in report["benefited"]["by_compound"]
        ],
        "本月无 none this month",
    )
    overdue = _table(
        "月末超期事项 Overdue at month end",
        [
            "编号 No.",
            "网格 Grid",
            "小区 Compound",
            "类别 Category",
            "等级 Severity",
            "描述 Description",
            "责任网格员 Assignee",
            "上报 Reported",
            "期限 Deadline",
            "超期天数 Days overdue",
            "当前状态 State now",
        ],
        [
            [
                f"#{o['id']}",
                o["grid"],
                o["compound"],
                o["name_zh"],
                o["severity"],
                o["description"],
                o["assignee"],
                o["reported_at"][:16].replace("T", " "),
                o["deadline"][:16].replace("T", " "),
                o["days_overdue"],
                o["state_now"],
            ]
            for o in report["overdue"]
        ],
        "无超期 none overdue",
    )
    note = (
        f"社区 Community {escape(community['code'])} · 时区 {escape(report['timezone'])} · "
        f"统计截至 as of {escape(report['as_of'][:16].replace('T', ' '))}"
    )
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>"
        f"<h1>{escape(title)}</h1><p>{note}</p>"
        f"{summary}{grids}{categories}{benefited}{overdue}</body></html>"
    )
