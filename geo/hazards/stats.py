"""Hazard statistics for the community office and the monthly grid seminar (网格研讨会).

Every figure is computed in SQL. Definitions used throughout:

- *open*: reported, dispatched, rectifying or rectified; *overdue*: open and past its deadline;
- *closed*: verified (re-inspected and closed); rejected and duplicate are counted apart;
- *days to close*: ``closed_at - reported_at`` of verified hazards; medians by
  ``percentile_cont(0.5)``, in days with one decimal, null when nothing was closed;
- *residents benefited*: the population of the compounds with at least one hazard verified in
  the period, each compound counted once.

Days and months are those of the community's clock (:data:`TIMEZONE`): ``to=2025-03-31``
includes the evening of 31 March in Wenzhou, and month ``2025-03`` runs from 1 March 00:00
to 1 April 00:00 China Standard Time. The state of a hazard "at month end" is derived from
``reported_at`` and ``closed_at`` (a hazard is open from being reported until it is closed).

Every figure counts only the hazards inside the reader's scope (default everywhere). A
community the scope does not touch is "not found", like a missing one. An account limited to
grids (a worker) gets rows for its grids only, and compound rows only for compounds holding one
of its hazards.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from geo import models as m
from geo.accounts import Scope
from geo.errors import InvalidInput, NotFound
from geo.hazards.lifecycle import OPEN
from geo.hazards.records import EVERYWHERE, require_community, scope_sql

TIMEZONE = ZoneInfo("Asia/Shanghai")
"""The clock of the communities served (no daylight saving): day and month boundaries."""

GROUPINGS = ("grid", "compound", "category")
KINDS = ("hazard", "case")

_OPEN = "(" + ", ".join(f"'{s.value}'" for s in sorted(OPEN)) + ")"
_DAYS = "extract(epoch FROM h.closed_at - h.reported_at)::float8 / 86400"
_MONTH = re.compile(r"(\d{4})-(\d{2})")


def _median(condition: str) -> str:
    return (
        f"round((percentile_cont(0.5) WITHIN GROUP (ORDER BY {_DAYS}) "
        f"FILTER (WHERE {condition}))::numeric, 1)"
    )


STATS = f"""
    count(h.id) FILTER (WHERE h.state IN {_OPEN}) AS open,
    count(h.id) FILTER (WHERE h.state IN {_OPEN} AND h.deadline < :as_of) AS overdue,
    count(h.id) FILTER (WHERE h.state = 'verified') AS closed,
    count(h.id) FILTER (WHERE h.state = 'rejected') AS rejected,
    count(h.id) FILTER (WHERE h.state = 'duplicate') AS duplicate,
    count(h.id) AS total,
    {_median("h.state = 'verified'")} AS median_days_to_close
"""
"""Counts by current state; overdue against ``:as_of`` (now)."""

_IN_MONTH = "h.{col} >= :start AND h.{col} < :end"
_OPEN_AT_END = (
    f"h.reported_at < :as_of AND (h.closed_at >= :as_of OR (h.closed_at IS NULL AND h.state IN "
    f"{_OPEN}))"
)
MONTHLY = f"""
    count(h.id) FILTER (WHERE {_IN_MONTH.format(col="reported_at")}) AS new,
    count(h.id) FILTER (WHERE h.state = 'verified' AND {_IN_MONTH.format(col="closed_at")})
        AS closed,
    count(h.id) FILTER (WHERE h.state = 'rejected' AND {_IN_MONTH.format(col="closed_at")})
        AS rejected,
    count(h.id) FILTER (WHERE h.state = 'duplicate' AND {_IN_MONTH.format(col="closed_at")})
        AS duplicate,
    count(h.id) FILTER (WHERE {_OPEN_AT_END}) AS open_at_end,
    count(h.id) FILTER (WHERE {_OPEN_AT_END} AND h.deadline < :as_of) AS overdue_at_end,
    {_median("h.state = 'verified' AND " + _IN_MONTH.format(col="closed_at"))}
        AS median_days_to_close
"""
"""Flows of a month [start, end) and stocks at its end (``:as_of``, the end or now)."""


@dataclass(frozen=True)
class Dimension:
    """How hazards are grouped: the rows to list (zeros included) and the hazard column."""

    keys: str
    column: str
    order: str
    fields: tuple[str, str, str]


DIMENSIONS = {
    "grid": Dimension(
        "SELECT id AS key, code AS label, name AS extra FROM grid WHERE community_id = :community"
        " AND (valid_to IS NULL OR id IN (SELECT grid_id FROM h))",
        "grid_id",
        "k.label, k.key",
        ("grid_id", "grid", "name"),
    ),
    "compound": Dimension(
        "SELECT id AS key, name AS label, population AS extra FROM compound"
        " WHERE community_id = :community",
        "compound_id",
        "k.key",
        ("compound_id", "compound", "population"),
    ),
    "category": Dimension(
        'SELECT code AS key, name_zh AS label, "group" AS extra FROM hazard_category'
        " WHERE active OR code IN (SELECT category FROM h)",
        "category",
        "k.extra, k.key",
        ("category", "name_zh", "group"),
    ),
}
"""Current grids (and retired ones with hazards), all compounds, the catalogue's categories.
Hazards in no grid or no compound form a last row whose key is null."""


def community(session: Session, code: str, scope: Scope = EVERYWHERE) -> tuple[int, str]:
    """The id and name of community ``code``; NotFound when unknown or outside ``scope``."""
    row = session.execute(
        select(m.Community.id, m.Community.name).where(m.Community.code == code)
    ).first()
    missing = f"community {code} not found"
    if row is None:
        raise NotFound(missing)
    require_community(session, scope, row[0], missing)
    return row[0], row[1]


def local_midnight(day: dt.date) -> dt.datetime:
    """The start of ``day`` on the community's clock."""
    return dt.datetime.combine(day, dt.time(), TIMEZONE)


def day_range(
    since: dt.date | None, until: dt.date | None
) -> tuple[dt.datetime | None, dt.datetime | None]:
    """The half-open instants of the local days ``since..until`` (both included)."""
    if since is not None and until is not None and since > until:
        raise InvalidInput(f"from {since} is after to {until}")
    start = local_midnight(since) if since is not None else None
    open_ended = until is None or until == dt.date.max  # no day after the last one
    end = None if open_ended else local_midnight(until + dt.timedelta(days=1))
    return start, end


def parse_month(value: str) -> dt.date:
    """The first day of month ``YYYY-MM``; InvalidInput naming the value otherwise."""
    match = _MONTH.fullmatch(value.strip())
    if match is None or not 1 <= int(match[2]) <= 12 or int(match[1]) < 1:
        raise InvalidInput(f"month {value!r} is not a month: YYYY-MM expected, e.g. 2026-03")
    return dt.date(int(match[1]), int(match[2]), 1)


def _check_kind(kind: str | None) -> None:
    if kind is not None and kind not in KINDS:
        raise InvalidInput(f"kind {kind!r} unknown; one of {', '.join(KINDS)}")


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def _filtered(
    kind: str | None, start: dt.datetime | None, end: dt.datetime | None, scope: Scope
) -> str:
    where = ["community_id = :community", scope_sql(scope)]
    if kind is not None:
        where.append("kind = :kind")
    if start is not None:
        where.append("reported_at >= :since")
    if end is not None:
        where.append("reported_at < :until")
    return "SELECT * FROM hazard WHERE " + " AND ".join(where)


def _keys(by: str, scope: Scope) -> str:
    """The rows to list: for an account limited to grids, its grids and the compounds holding
    its hazards only (zero rows elsewhere would claim what it cannot see)."""
    keys = DIMENSIONS[by].keys
    if scope.grids is None or by == "category":
        return keys
    if by == "grid":
        return f"{keys} AND {scope_sql(scope, grid='id')}"
    return f"{keys} AND id IN (SELECT compound_id FROM h)"


def _grouped(
    session: Session,
    by: str,
    hazards: str,
    aggregates: str,
    params: dict[str, Any],
    scope: Scope,
) -> list[dict[str, Any]]:
    dim = DIMENSIONS[by]
    sql = (
        f"WITH h AS ({hazards}), k AS ({_keys(by, scope)}) "
        f"SELECT k.key, k.label, k.extra, {aggregates} "
        f"FROM k FULL JOIN h ON h.{dim.column} = k.key "
        f"GROUP BY k.key, k.label, k.extra ORDER BY k.key IS NULL, {dim.order}"
    )
    rows = session.execute(text(sql), params).mappings().all()
    out = []
    for row in rows:
        item = dict(zip(dim.fields, (row["key"], row["label"], row["extra"]), strict=True))
        item.update({k: v for k, v in row.items() if k not in ("key", "label", "extra")})
        item["median_days_to_close"] = _number(item["median_days_to_close"])
        out.append(item)
    return out


def _totals(session: Session, hazards: str, aggregates: str, params: dict[str, Any]) -> dict:
    row = dict(
        session.execute(text(f"WITH h AS ({hazards}) SELECT {aggregates} FROM h"), params)
        .mappings()
        .one()
    )
    row["median_days_to_close"] = _number(row["median_days_to_close"])
    return row


def hazard_stats(
    session: Session,
    code: str,
    by: str = "grid",
    since: dt.date | None = None,
    until: dt.date | None = None,
    kind: str | None = None,
    scope: Scope = EVERYWHERE,
) -> dict[str, Any]:
    """Counts by current state and median days to close, per grid, compound or category,
    of the hazards of community ``code`` reported in the local days ``since..until``."""
    if by not in DIMENSIONS:
        raise InvalidInput(f"by {by!r} unknown; one of {', '.join(GROUPINGS)}")
    _check_kind(kind)
    community_id, name = community(session, code, scope)
    start, end = day_range(since, until)
    now = session.scalar(text("SELECT now()"))
    params = {"community": community_id, "kind": kind, "since": start, "until": end, "as_of": now}
    hazards = _filtered(kind, start, end, scope)
    return {
        "community": {"code": code, "name": name},
        "by": by,
        "from": since.isoformat() if since else None,
        "to": until.isoformat() if until else None,
        "kind": kind,
        "as_of": now.isoformat(),
        "rows": _grouped(session, by, hazards, STATS, params, scope),
        "total": _totals(session, hazards, STATS, params),
    }


def _category_filter(
    session: Session, group: str | None, category: str | None
) -> tuple[list[str], dict[str, Any]]:
    if group is not None and category is not None:
        raise InvalidInput("give a category group or a category, not both")
    if category is not None:
        if session.get(m.HazardCategory, category) is None:
            raise InvalidInput(f"category {category!r} is not in the catalogue")
        return ["h.category = :category"], {"category": category}
    if group is not None:
        known = session.scalars(select(m.HazardCategory.group).distinct()).all()
        if group not in known:
            raise InvalidInput(
                f"category group {group!r} unknown; one of {', '.join(sorted(known))}"
            )
        return ['h.category IN (SELECT code FROM hazard_category WHERE "group" = :group)'], {
            "group": group
        }
    return [], {}


def _benefited(
    session: Session,
    community_id: int,
    start: dt.datetime | None,
    end: dt.datetime | None,
    conditions: list[str],
    params: dict[str, Any],
) -> dict[str, Any]:
    where = ["h.community_id = :community", "h.state = 'verified'", *conditions]
    if start is not None:
        where.append("h.closed_at >= :closed_from")
    if end is not None:
        where.append("h.closed_at < :closed_to")
    binds = {"community": community_id, "closed_from": start, "closed_to": end, **params}
    rows = session.execute(
        text(
            "SELECT c.id, c.name, c.population, count(h.id) AS hazards_fixed,"
            f" {_median('true')} AS median_days_to_close"
            " FROM hazard h JOIN compound c ON c.id = h.compound_id"
            f" WHERE {' AND '.join(where)} GROUP BY c.id ORDER BY c.id"
        ),
        binds,
    ).all()
    outside = session.scalar(
        text(f"SELECT count(*) FROM hazard h WHERE {' AND '.join(where)} AND compound_id IS NULL"),
        binds,
    )
    return {
        "compounds": len(rows),
        "residents": sum(r.population for r in rows),
        "hazards_fixed": sum(r.hazards_fixed for r in rows) + outside,
        "hazards_fixed_outside_compounds": outside,
        "by_compound": [
            {
                "compound_id": r.id,
                "compound": r.name,
                "population": r.population,
                "hazards_fixed": r.hazards_fixed,
                "median_days_to_close": _number(r.median_days_to_close),
            }
            for r in rows
        ],
    }


def residents_benefited(
    session: Session,
    code: str,
    since: dt.date | None = None,
    until: dt.date | None = None,
    group: str | None = None,
    category: str | None = None,
    scope: Scope = EVERYWHERE,
) -> dict[str, Any]:
    """Compounds with at least one hazard verified (closed) in the local days ``since..until``,
    optionally of one category group (fire, food...) or one category, and their population."""
    community_id, name = community(session, code, scope)
    start, end = day_range(since, until)
    conditions, params = _category_filter(session, group, category)
    conditions.append(scope_sql(scope, "h.community_id", "h.grid_id"))
    return {
        "community": {"code": code, "name": name},
        "from": since.isoformat() if since else None,
        "to": until.isoformat() if until else None,
        "group": group,
        "category": category,
        **_benefited(session, community_id, start, end, conditions, params),
    }


def _overdue_items(session: Session, hazards: str, params: dict[str, Any]) -> list[dict]:
    rows = session.execute(
        text(
            f"WITH h AS ({hazards}) SELECT h.id, g.code AS grid, c.name AS compound, h.category,"
            " hc.name_zh, h.severity, h.description, h.reporter, w.name AS assignee,"
            " h.reported_at, h.deadline, h.state,"
            " round((extract(epoch FROM :as_of - h.deadline) / 86400)::numeric, 1) AS days"
            " FROM h JOIN hazard_category hc ON hc.code = h.category"
            " LEFT JOIN grid g ON g.id = h.grid_id LEFT JOIN compound c ON c.id = h.compound_id"
            " LEFT JOIN worker w ON w.id = h.assignee_id"
            f" WHERE {_OPEN_AT_END} AND h.deadline < :as_of ORDER BY h.deadline, h.id"
        ),
        params,
    ).mappings()
    return [
        {
            "id": r["id"],
            "grid": r["grid"],
            "compound": r["compound"],
            "category": r["category"],
            "name_zh": r["name_zh"],
            "severity": r["severity"],
            "description": r["description"],
            "reporter": r["reporter"],
            "assignee": r["assignee"],
            "reported_at": r["reported_at"].astimezone(TIMEZONE).isoformat(),
            "deadline": r["deadline"].astimezone(TIMEZONE).isoformat(),
            "days_overdue": float(r["days"]),
            "state_now": r["state"],
        }
        for r in rows
    ]


def monthly_report(
    session: Session, code: str, month: str, kind: str | None = None, scope: Scope = EVERYWHERE
) -> dict[str, Any]:
    """The grid seminar's monthly figures of community ``code`` for ``month`` (YYYY-MM)."""
    first = parse_month(month)
    _check_kind(kind)
    community_id, name = community(session, code, scope)
    start, now = local_midnight(first), session.scalar(text("SELECT now()"))
    if start > now:
        raise InvalidInput(f"month {month!r} has not started yet")
    end = local_midnight((first + dt.timedelta(days=32)).replace(day=1))
    as_of = min(end, now)
    params = {"community": community_id, "kind": kind, "start": start, "end": end}
    params |= {"as_of": as_of, "until": end}
    hazards = _filtered(kind, None, end, scope)
    summary = _totals(session, hazards, MONTHLY, params)
    conditions = [scope_sql(scope, "h.community_id", "h.grid_id")]
    conditions += ["h.kind = :kind"] if kind else []
    benefited = _benefited(session, community_id, start, end, conditions, {"kind": kind})
    summary["compounds_benefited"] = benefited["compounds"]
    summary["residents_benefited"] = benefited["residents"]
    return {
        "community": {"code": code, "name": name},
        "month": f"{first:%Y-%m}",
        "kind": kind,
        "timezone": TIMEZONE.key,
        "from": start.isoformat(),
        "to": end.isoformat(),
        "as_of": as_of.astimezone(TIMEZONE).isoformat(),
        "summary": summary,
        "by_grid": _grouped(session, "grid", hazards, MONTHLY, params, scope),
        "by_category": _grouped(session, "category", hazards, MONTHLY, params, scope),
        "benefited": benefited,
        "overdue": _overdue_items(session, hazards, params),
    }
