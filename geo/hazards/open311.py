"""Open311 GeoReport v2 over hazards and residents' cases (JSON format).

Services are the active categories of the catalogue. A request submitted through Open311 is a
resident's case (kind ``case``, origin ``resident``) created by :func:`records.report`, so it is
routed exactly like any other report: to the grid at its point and that grid's A worker.

Decision: reading exposes **both kinds**, residents' cases and hazards found by grid workers.
Civic apps show existing requests near a new one so residents do not report the same blocked
fire lane twice, and a hotline answering "is anyone on this?" needs the hazard a worker logged
that morning as much as a resident's case. Only the spec's fields are exposed: never the
reporter, their contact, or internal fields (rectified_by, version), whoever asks.

Access: reading answers only the requests inside the account's scope (one outside it is "not
found", like a missing one); submitting at a point routed outside the area the account serves
is Forbidden.

Mapping:

- ``status``: verified, rejected and duplicate are ``closed``; every other state is ``open``.
- ``status_notes``: the note of the last event of the record.
- ``agency_responsible``: ``"<community> 网格<code> / <assignee>"`` (the worker dispatched, the
  grid's A worker when routed), ``"<community> / 社区办公室"`` while unrouted.
- ``requested_datetime``, ``updated_datetime`` (last event), ``expected_datetime`` (deadline):
  ISO 8601 with offset, to the second.
- ``media_url`` given on submission is kept in the description as a last line
  ``media_url: <url>`` (workers see it in every view; no schema change) and split off again on
  reading, so it round-trips. Gridline's own photos are not exposed as media_url.
- ``address``: the community and compound at the point; ``address_id`` and ``zipcode``: null.

Submissions need ``lat`` and ``long``: routing is by point and addresses are not geocoded.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from geoalchemy2.shape import to_shape
from sqlalchemy import Select, func, select, true
from sqlalchemy.orm import Session

from geo import models as m
from geo.accounts import Principal, Scope
from geo.db import get_settings
from geo.errors import InvalidInput, NotFound
from geo.hazards import records
from geo.hazards.lifecycle import FINAL, OPEN
from geo.hazards.records import EVERYWHERE, in_scope

WINDOW = dt.timedelta(days=90)
MAX_RESULTS = 1000
MAX_DESCRIPTION = 4000
MAX_NAME = 100
MAX_CONTACT = 200
MAX_URL = 1000
MEDIA_MARK = "\nmedia_url: "
ANONYMOUS = "匿名居民"
OFFICE = "社区办公室"
SEVERITY = "attribute[severity]"
STATUSES = ("open", "closed")


def _iso(value: dt.datetime) -> str:
    return value.isoformat(timespec="seconds")


def service_name(category: m.HazardCategory) -> str:
    return f"{category.name} ({category.name_zh})"


def services(session: Session) -> list[dict[str, Any]]:
    """The active categories as GeoReport v2 services, by group then code."""
    days = get_settings().deadline_days["medium"]
    rows = session.scalars(
        select(m.HazardCategory)
        .where(m.HazardCategory.active)
        .order_by(m.HazardCategory.group, m.HazardCategory.code)
    )
    return [
        {
            "service_code": c.code,
            "service_name": service_name(c),
            "description": (
                f"{c.name_zh}: routed to the grid worker of the location; "
                f"to be fixed within {days:g} days at the default severity (medium)"
            ),
            "metadata": False,
            "type": "realtime",
            "keywords": f"{c.group},{c.name_zh}",
            "group": c.group,
        }
        for c in rows
    ]


# --- submitting ----------------------------------------------------------------------------


def submit(
    session: Session, form: Mapping[str, str], by: Principal | None = None
) -> dict[str, Any]:
    """Create a resident's case from a GeoReport v2 form; the POST answer's one element.

    Fields: service_code, lat, long (required); description, media_url, first_name,
    last_name, email, phone, ``attribute[severity]`` (low|medium|high|critical, default
    medium). api_key, jurisdiction_id, device_id and account_id are accepted and ignored
    (``by`` is the account submitting). Everything is checked before anything is written.
    """
    fields = {k: v.strip() for k, v in form.items() if v is not None and v.strip()}
    category = _service(session, fields.get("service_code"))
    lon, lat = _location(fields)
    severity = _severity(fields)
    description = fields.get("description", category.name_zh)
    if len(description) > MAX_DESCRIPTION:
        raise InvalidInput(f"description has {len(description)} characters; at most 4000")
    if "media_url" in fields:
        description += MEDIA_MARK + _media_url(fields["media_url"])
    hazard, _ = records.report(
        session,
        records.Report(
            category=category.code,
            severity=severity,
            description=description,
            lon=lon,
            lat=lat,
            origin=m.Origin.RESIDENT,
            reporter=_reporter(fields.get("first_name"), fields.get("last_name")),
            kind=m.CaseKind.CASE,
            reporter_contact=_contact(fields.get("phone"), fields.get("email")),
        ),
        by=by,
    )
    created = get(session, str(hazard.id))[0]
    return {
        "service_request_id": created["service_request_id"],
        "service_notice": created["service_notice"],
        "account_id": None,
    }


def _service(session: Session, code: str | None) -> m.HazardCategory:
    if code is None:
        raise InvalidInput("service_code is required; GET services.json lists them")
    category = session.get(m.HazardCategory, code)
    if category is None or not category.active:
        raise InvalidInput(f"service_code {code!r} is not a service; GET services.json lists them")
    return category


def _location(fields: dict[str, str]) -> tuple[float, float]:
    missing = [name for name in ("lat", "long") if name not in fields]
    if missing:
        why = " ".join(missing) + (" is" if len(missing) == 1 else " are") + " required"
        if "address_string" in fields or "address_id" in fields:
            why += ": requests are routed to a grid by their point; addresses are not geocoded"
        raise InvalidInput(why)
    lat, lon = _number(fields, "lat"), _number(fields, "long")
    if not -90 <= lat <= 90:
        raise InvalidInput(f"lat {lat:g} out of range [-90, 90]")
    if not -180 <= lon <= 180:
        raise InvalidInput(f"long {lon:g} out of range [-180, 180]")
    return lon, lat


def _number(fields: dict[str, str], name: str) -> float:
    try:
        return float(fields[name])
    except ValueError:
        raise InvalidInput(f"{name} {fields[name]!r} is not a number") from None


def _severity(fields: dict[str, str]) -> str:
    unknown = sorted(k for k in fields if k.startswith("attribute[") and k != SEVERITY)
    if unknown:
        raise InvalidInput(f"{', '.join(unknown)} unknown; the only attribute is {SEVERITY}")
    value = fields.get(SEVERITY, m.Severity.MEDIUM)
    if value not in set(m.Severity):
        allowed = ", ".join(m.Severity)
        raise InvalidInput(f"{SEVERITY} {value!r} unknown; one of {allowed}")
    return value


def _media_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in url):
        raise InvalidInput(f"media_url {url[:80]!r} is not an http(s) URL")
    if len(url) > MAX_URL:
        raise InvalidInput(f"media_url has {len(url)} characters; at most {MAX_URL}")
    return url


def _is_cjk(text: str) -> bool:
    return any("\u3400" <= c <= "\u9fff" for c in text)


def _reporter(first: str | None, last: str | None) -> str:
    """Chinese names family name first without a space (章 + 微琳), others "first last"."""
    for name, value in (("first_name", first), ("last_name", last)):
        if value is not None and len(value) > MAX_NAME:
            raise InvalidInput(f"{name} has {len(value)} characters; at most {MAX_NAME}")
    parts = [p for p in (first, last) if p]
    if not parts:
        return ANONYMOUS
    return f"{last or ''}{first or ''}" if _is_cjk("".join(parts)) else " ".join(parts)


def _contact(phone: str | None, email: str | None) -> str | None:
    if email is not None and ("@" not in email or any(c.isspace() for c in email)):
        raise InvalidInput(f"email {email[:80]!r} is not an e-mail address")
    contact = " / ".join(p for p in (phone, email) if p)
    if len(contact) > MAX_CONTACT:
        raise InvalidInput(f"phone and email have {len(contact)} characters; at most 200")
    return contact or None


# --- reading -------------------------------------------------------------------------------


def _select() -> Select:
    last = (
        select(m.HazardEvent.note, m.HazardEvent.at)
        .where(m.HazardEvent.hazard_id == m.Hazard.id)
        .order_by(m.HazardEvent.at.desc(), m.HazardEvent.id.desc())
        .limit(1)
        .lateral("last_event")
    )
    return (
        select(
            m.Hazard,
            m.HazardCategory,
            m.Community.name,
            m.Grid.code,
            m.Compound.name,
            m.Worker.name,
            last.c.note,
            last.c.at,
        )
        .join(m.HazardCategory, m.HazardCategory.code == m.Hazard.category)
        .join(m.Community, m.Community.id == m.Hazard.community_id)
        .outerjoin(m.Grid, m.Grid.id == m.Hazard.grid_id)
        .outerjoin(m.Compound, m.Compound.id == m.Hazard.compound_id)
        .outerjoin(m.Worker, m.Worker.id == m.Hazard.assignee_id)
        .outerjoin(last, true())
        .order_by(m.Hazard.reported_at.desc(), m.Hazard.id.desc())
    )


def agency(community: str, grid: str | None, assignee: str | None) -> str:
    if assignee is None:
        return f"{community} / {OFFICE}"
    return f"{community}{f' 网格{grid}' if grid else ''} / {assignee}"


def _notice(hazard: m.Hazard, responsible: str) -> str:
    state = m.HazardState(hazard.state)
    if state == m.HazardState.VERIFIED:
        return "fixed and re-inspected"
    if state == m.HazardState.REJECTED:
        return "rejected by the community; see status_notes"
    if state == m.HazardState.DUPLICATE:
        return f"duplicate of request {hazard.duplicate_of_id}"
    if hazard.assignee_id is None:
        where = "in no grid (blind zone)" if hazard.blind_zone else "in a grid nobody holds"
        return f"{where}: queued at the community office for dispatch"
    return f"routed to {responsible}; to be fixed by {_iso(hazard.deadline)}"


def split_media(description: str) -> tuple[str, str | None]:
    """The description without its ``media_url`` line, and that URL."""
    text, mark, url = description.rpartition(MEDIA_MARK)
    if mark and url.startswith(("http://", "https://")) and "\n" not in url:
        return text, url
    return description, None


def _request(row: Any) -> dict[str, Any]:
    hazard, category, community, grid, compound, assignee, note, updated = row
    point = to_shape(hazard.geom)
    responsible = agency(community, grid, assignee)
    description, media_url = split_media(hazard.description)
    return {
        "service_request_id": str(hazard.id),
        "status": "closed" if m.HazardState(hazard.state) in FINAL else "open",
        "status_notes": note,
        "service_name": service_name(category),
        "service_code": hazard.category,
        "description": description,
        "agency_responsible": responsible,
        "service_notice": _notice(hazard, responsible),
        "requested_datetime": _iso(hazard.reported_at),
        "updated_datetime": _iso(updated or hazard.reported_at),
        "expected_datetime": _iso(hazard.deadline),
        "address": " ".join(p for p in (community, compound) if p),
        "address_id": None,
        "zipcode": None,
        "lat": point.y,
        "long": point.x,
        "media_url": media_url,
    }


MAX_ID = 2**31 - 1
"""Largest hazard id (a 32-bit integer column)."""


def get(
    session: Session, service_request_id: str, scope: Scope = EVERYWHERE
) -> list[dict[str, Any]]:
    """One request as the spec's one-element list; NotFound for anything else (or outside
    ``scope``)."""
    rows = []
    if _is_id(service_request_id):
        wanted = m.Hazard.id == int(service_request_id)
        rows = session.execute(_select().where(wanted, *in_scope(scope))).all()
    if not rows:
        raise NotFound(f"service request {service_request_id!r} not found")
    return [_request(rows[0])]


def _is_id(value: str) -> bool:
    """Whether ``value`` can be a hazard id: digits within the id column's 32-bit range."""
    return value.isascii() and value.isdigit() and len(value) <= 10 and int(value) <= MAX_ID


def _split(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def _when(name: str, value: str) -> dt.datetime:
    date, sep, time = value.strip().partition("T")
    text = date + sep + time.replace(" ", "+")  # an unencoded "+08:00" arrives as " 08:00"
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{name} {value!r} is not an ISO 8601 date-time") from None
    if parsed.tzinfo is None:
        raise InvalidInput(f"{name} {value!r} needs a timezone (Z or +hh:mm)")
    return parsed


def _window(
    session: Session, start_date: str | None, end_date: str | None
) -> tuple[dt.datetime, dt.datetime]:
    start = _when("start_date", start_date) if start_date else None
    end = _when("end_date", end_date) if end_date else None
    if start is None and end is None:
        end = session.scalar(select(func.now()))
    if start is None:
        start = end - WINDOW
    if end is None:
        end = start + WINDOW
    if end < start:
        raise InvalidInput("end_date is before start_date")
    if end - start > WINDOW:
        raise InvalidInput("start_date to end_date may span at most 90 days")
    return start, end


def find(
    session: Session,
    *,
    service_request_id: str | None = None,
    service_code: str | None = None,
    start_date: str | None = None,
    end_date: str | None = None,
    status: str | None = None,
    scope: Scope = EVERYWHERE,
) -> list[dict[str, Any]]:
    """Requests inside ``scope``, newest first, at most 1000.

    ``service_request_id`` (comma list) overrides every other filter, as the spec says.
    Otherwise: ``service_code`` and ``status`` (open, closed) are comma lists; the window is
    ``start_date..end_date`` (both inclusive) of the requested time, by default the last 90
    days, never longer than 90 days; one bound alone means 90 days from or to it.
    """
    query = _select().where(*in_scope(scope)).limit(MAX_RESULTS)
    if service_request_id:
        ids = _split(service_request_id)
        bad = [v for v in ids if not (v.isascii() and v.isdigit())]
        if bad:
            raise InvalidInput(f"service_request_id {bad[0]!r} is not a request id")
        return _rows(session, query.where(m.Hazard.id.in_([int(v) for v in ids if _is_id(v)])))
    if service_code:
        codes = _split(service_code)
        known = set(
            session.scalars(select(m.HazardCategory.code).where(m.HazardCategory.code.in_(codes)))
        )
        unknown = [c for c in codes if c not in known]
        if unknown:
            raise InvalidInput(f"service_code {unknown[0]!r} is not a service")
        query = query.where(m.Hazard.category.in_(codes))
    if status:
        wanted = set(_split(status))
        unknown = sorted(wanted - set(STATUSES))
        if unknown:
            raise InvalidInput(f"status {unknown[0]!r} unknown; open or closed")
        if wanted == {"open"}:
            query = query.where(m.Hazard.state.in_([str(s) for s in OPEN]))
        elif wanted == {"closed"}:
            query = query.where(m.Hazard.state.in_([str(s) for s in FINAL]))
    start, end = _window(session, start_date, end_date)
    query = query.where(m.Hazard.reported_at >= start, m.Hazard.reported_at <= end)
    return _rows(session, query)


def _rows(session: Session, query: Select) -> list[dict[str, Any]]:
    return [_request(row) for row in session.execute(query).all()]
