"""The ``gridline`` command line: database, demo data, import/export, locate, maps, serve."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from geo import db
from geo.db import get_settings
from geo.errors import FeaturesRejected, GridlineError

if TYPE_CHECKING:
    from geo.db import Settings
    from maps.assets import AssetMode

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
demo_app = typer.Typer(no_args_is_help=True, help="The generated demo community.")
map_app = typer.Typer(no_args_is_help=True, help="Maps as standalone HTML files.")
assign_app = typer.Typer(no_args_is_help=True, help="A/B roles of workers on grids.")
app.add_typer(db_app, name="db")
app.add_typer(assign_app, name="assign")
app.add_typer(demo_app, name="demo")
app.add_typer(map_app, name="map")
user_app = typer.Typer(no_args_is_help=True, help="Accounts that sign in to the API.")
app.add_typer(user_app, name="user")

ROOT = Path(__file__).resolve().parents[1]


def fail(message: str) -> None:
    typer.echo(f"gridline: {message}", err=True)
    raise typer.Exit(1)


def open_transaction():
    """The database transaction the CLI works in (the tests substitute theirs)."""
    return db.transaction()


@contextmanager
def transaction() -> Iterator:
    """A transaction whose writes the audit log attributes to ``cli:<OS user>``."""
    from geo import audit

    with open_transaction() as session:
        audit.tag(session, audit.cli_actor(), "cli")
        yield session


def alembic_config():
    from alembic.config import Config

    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["url"] = get_settings().database_url
    return config


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply the migrations up to REVISION (default: head)."""
    from alembic import command

    command.upgrade(alembic_config(), revision)
    typer.echo(f"database at {revision}")


@db_app.command("backup")
def db_backup(path: Annotated[Path, typer.Argument(help="the file to write")]) -> None:
    """Dump the whole database (pg_dump custom format) to PATH."""
    from geo.backup import backup

    try:
        size = backup(get_settings().database_url, path)
    except GridlineError as exc:
        fail(str(exc))
    typer.echo(f"database written to {path} ({size:,} bytes)")


@db_app.command("restore")
def db_restore(
    path: Annotated[Path, typer.Argument(help="a file written by gridline db backup")],
    replace: Annotated[
        bool, typer.Option("--replace", help="drop what the database holds first")
    ] = False,
) -> None:
    """Load a backup into the database, in one transaction (an empty database unless
    --replace)."""
    from geo.backup import restore

    try:
        restore(get_settings().database_url, path, replace=replace)
    except GridlineError as exc:
        fail(str(exc))
    typer.echo(f"database restored from {path}")


@demo_app.command("load")
def demo_load(
    communities: Annotated[int, typer.Option(min=1, help="communities to generate")] = 1,
    seed: Annotated[int, typer.Option(help="random seed")] = 20240524,
    details: Annotated[bool, typer.Option(help="buildings, roads and site features")] = True,
    roles: Annotated[
        bool, typer.Option(help="A/B roles from the planner for the first community")
    ] = True,
) -> None:
    """Load the demo community (or N generated communities); keeps data already loaded.

    The first community also gets its A/B roles from the planner (from today), so that
    hazards are routed and patrols can be planned at once."""
    from geo import demo, planning
    from geo import seed as seeding

    data = demo.generate(communities=communities, seed=seed)
    code = data.communities[0].community["properties"]["code"]
    with transaction() as session:
        if seeding.is_loaded(session, data):
            typer.echo("demo data already loaded; kept as it is")
            counts = {}
        else:
            progress = (
                (lambda msg: typer.echo(msg, err=True)) if communities > 1 else (lambda _: None)
            )
            counts = seeding.load(session, data, details=details, progress=progress)
            if roles:
                plan = planning.plan_community(session, code)
                counts["A/B roles"] = len(planning.apply_plan(session, code, plan.roles).added)
        counts["demo accounts"] = len(_demo_accounts(session, code))
    if any(counts.values()):
        typer.echo("loaded " + ", ".join(f"{n} {layer}" for layer, n in counts.items() if n))


def _demo_accounts(session, code: str) -> list[str]:
    """One account per role with the documented passwords, in demo and test mode only."""
    from geo.accounts import DEMO_PASSWORDS, create_demo_accounts

    settings = get_settings()
    if settings.mode == "production":
        typer.echo(
            "no demo accounts in production mode (GRIDLINE_MODE): add accounts with"
            " gridline user add",
            err=True,
        )
        return []
    added = create_demo_accounts(session, settings, code)
    for name in added:
        typer.echo(f"demo account {name} / {DEMO_PASSWORDS[name]} (local use only)", err=True)
    return added


@user_app.command("add")
def user_add(
    username: str,
    role: Annotated[str, typer.Option(help="admin, street, office, leader, worker or viewer")],
    street: Annotated[str | None, typer.Option(help="street code (street, viewer)")] = None,
    community: Annotated[
        str | None, typer.Option(help="community code (office, leader, viewer)")
    ] = None,
    worker: Annotated[int | None, typer.Option(help="worker id (worker, leader)")] = None,
    password: Annotated[
        str | None,
        typer.Option(help="the password (default: asked for; or GRIDLINE_NEW_PASSWORD)"),
    ] = None,
) -> None:
    """Add an account that signs in to the API."""
    import os

    from geo import accounts
    from geo.models import AccountRole

    try:
        chosen = AccountRole(role)
    except ValueError:
        fail(f"role {role!r}: one of {', '.join(r.value for r in AccountRole)}")
    secret = password or os.environ.get("GRIDLINE_NEW_PASSWORD")
    if secret is None:
        secret = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    try:
        with transaction() as session:
            account = accounts.create(
                session,
                get_settings(),
                username,
                secret,
                chosen,
                street=street,
                community=community,
                worker_id=worker,
            )
            echo_json(accounts.describe(account, session))
    except GridlineError as exc:
        fail(str(exc))


@user_app.command("list")
def user_list() -> None:
    """Every account (never the password hashes)."""
    from sqlalchemy import select

    from geo import accounts
    from geo.models import Account

    with transaction() as session:
        rows = session.scalars(select(Account).order_by(Account.username))
        echo_json([accounts.describe(a, session) for a in rows])


def _change_account(username: str, change, done: str) -> None:
    """Apply ``change(session, account)`` in one transaction, then say ``done``."""
    from geo import accounts

    try:
        with transaction() as session:
            change(session, accounts.find(session, username))
    except GridlineError as exc:
        fail(str(exc))
    typer.echo(done)


@user_app.command("passwd")
def user_passwd(
    username: str,
    password: Annotated[str | None, typer.Option(help="default: asked for")] = None,
) -> None:
    """Change an account's password (its tokens stop working)."""
    from geo import accounts

    secret = password or typer.prompt("new password", hide_input=True, confirmation_prompt=True)
    _change_account(
        username,
        lambda session, account: accounts.set_password(session, get_settings(), account, secret),
        f"password of {username} changed; its tokens are revoked",
    )


@user_app.command("disable")
def user_disable(username: str) -> None:
    """Disable an account and revoke its tokens (history and audit rows stay)."""
    from geo import accounts

    def disable(session, account) -> None:
        account.active = False
        accounts.revoke_all(session, account)

    _change_account(username, disable, f"{username} disabled")


@user_app.command("revoke")
def user_revoke(username: str) -> None:
    """Revoke every token issued so far to an account."""
    from geo import accounts

    _change_account(username, accounts.revoke_all, f"tokens of {username} revoked")


@app.command("import")
def import_cmd(
    layer: Annotated[str, typer.Argument(help="grids, ..., workers, hazards")],
    file: Annotated[
        Path, typer.Argument(help="GeoJSON, GeoPackage, Shapefile (workers: CSV; hazards: CSV)")
    ],
    district: Annotated[str | None, typer.Option(help="district code (for streets)")] = None,
    street: Annotated[str | None, typer.Option(help="street code (for communities)")] = None,
    community: Annotated[str | None, typer.Option(help="community code")] = None,
    crs: Annotated[str | None, typer.Option(help="source CRS when the file has none")] = None,
    from_gcj02: Annotated[bool, typer.Option("--from-gcj02", help="GCJ-02 coordinates")] = False,
    source_layer: Annotated[str | None, typer.Option("--layer", help="layer in the file")] = None,
) -> None:
    """Import FILE into LAYER in one transaction; every bad feature is named, nothing written."""
    from geo.hazards.bulk import import_file as import_hazards
    from geo.importer import import_features, read_file
    from geo.layers import get_layer
    from geo.workers import create_workers, read_csv

    routed = ""
    try:
        with transaction() as session:
            if layer == "hazards":
                if crs or source_layer or district or street or community:
                    fail("hazards take no option but --from-gcj02")
                result = import_hazards(session, file, from_gcj02=from_gcj02)
                ids = result.ids
                routed = f" ({result.dispatched} dispatched, {result.unrouted} unrouted)"
            elif layer == "workers":
                ids = create_workers(session, read_csv(file, community))
            else:
                target = get_layer(layer)
                parents = {"district": district, "street": street, "community": community}
                given = {k for k, v in parents.items() if v is not None}
                if given - {target.parent}:
                    wrong = ", ".join(f"--{k}" for k in sorted(given - {target.parent}))
                    hint = f"--{target.parent}" if target.parent else "no parent option"
                    fail(f"{target.name} take {hint}, not {wrong}")
                source = read_file(file, source_layer)
                ids = import_features(
                    session,
                    target,
                    source,
                    parent=parents.get(target.parent or ""),
                    source_crs=crs,
                    from_gcj02=from_gcj02,
                )
    except FeaturesRejected as exc:
        for problem in exc.problems:
            typer.echo(f"gridline: {file.name}: {problem}", err=True)
        fail(f"{len(exc.problems)} bad feature(s); nothing imported")
    except GridlineError as exc:
        fail(str(exc))
    typer.echo(f"imported {len(ids)} {layer}{routed}")


@app.command("export")
def export_cmd(
    layer: Annotated[str, typer.Argument(help="layer to export")],
    output: Annotated[Path, typer.Option("-o", "--output", help=".geojson or .gpkg")],
    parent: Annotated[
        str | None, typer.Option("--of", help="code of the parent (community, street...)")
    ] = None,
) -> None:
    """Export LAYER (all, or those of one parent) to GeoJSON or GeoPackage."""
    from geo.export import collect, write
    from geo.layers import get_layer

    try:
        target = get_layer(layer)
        with transaction() as session:
            count = write(collect(session, target, parent), output, target.name.replace("-", "_"))
    except GridlineError as exc:
        fail(str(exc))
    typer.echo(f"exported {count} {layer} to {output}")


@app.command("locate")
def locate_cmd(
    lon: float,
    lat: float,
    crs: Annotated[str, typer.Option(help="wgs84 or gcj02")] = "wgs84",
) -> None:
    """Print the district, street, community, grid and compound at LON LAT as JSON."""
    from geo.locate import locate, to_wgs84

    try:
        wgs_lon, wgs_lat = to_wgs84(lon, lat, crs)
        with transaction() as session:
            cursor = session.connection().connection.driver_connection.cursor()
            found = locate(cursor, wgs_lon, wgs_lat)
    except GridlineError as exc:
        fail(str(exc))
    typer.echo(json.dumps(found, ensure_ascii=False, indent=2))


def standalone_assets() -> AssetMode:
    """Maps written to a file carry their scripts inline (offline anywhere), unless self-hosted
    assets are switched off (then they load them from the public CDNs)."""
    from maps.assets import AssetMode

    return AssetMode.INLINE if get_settings().self_hosted_assets else AssetMode.CDN


BasemapOption = Annotated[
    list[str] | None,
    typer.Option(
        "--basemap",
        help="Basemap instead of GRIDLINE_BASEMAPS (osm, tianditu, gaode, custom, none); repeat"
        " for several, the first shown",
    ),
]


def map_settings(basemaps: list[str] | None) -> Settings:
    """The settings, with ``--basemap`` choices (checked like GRIDLINE_BASEMAPS) if given."""
    from pydantic import ValidationError

    from geo.db import Settings

    try:
        return Settings(basemaps=basemaps) if basemaps else get_settings()
    except ValidationError as exc:
        fail("; ".join(str(error["msg"]) for error in exc.errors()))
        raise  # not reached: fail exits


@map_app.command("community")
def map_community(
    code: str,
    output: Annotated[Path, typer.Option("-o", "--output", help="HTML file to write")],
    basemap: BasemapOption = None,
) -> None:
    """Write the map of community CODE as a standalone HTML file."""
    from api.routes.maps import render_community

    def render(session, settings, assets):
        return render_community(session, settings, code, assets=assets)

    write_map(render, f"map of community {code}", output, basemap)


def write_map(render, what: str, output: Path, basemap: list[str] | None) -> None:
    """Render a map page in one read transaction and write it, its assets inlined."""
    from maps.assets import MissingAssets

    settings = map_settings(basemap)
    try:
        with transaction() as session:
            html = render(session, settings, standalone_assets())
    except (GridlineError, MissingAssets) as exc:
        fail(str(exc))
    output.write_text(html, encoding="utf-8")
    typer.echo(f"{what() if callable(what) else what} written to {output}")


@map_app.command("city")
def map_city(
    code: str,
    output: Annotated[Path, typer.Option("-o", "--output", help="HTML file to write")],
    basemap: BasemapOption = None,
) -> None:
    """Write the city map of district or street CODE (all its communities and grids) as a
    standalone HTML file, its grids inlined."""
    from api.routes.maps import city_kind, render_city

    found: dict[str, str] = {}

    def render(session, settings, assets):
        found["kind"] = city_kind(session, code)
        return render_city(session, settings, found["kind"], code, assets=assets, inline_grids=True)

    write_map(render, lambda: f"map of {found['kind']} {code}", output, basemap)


def echo_json(value: object) -> None:
    typer.echo(json.dumps(value, ensure_ascii=False, indent=2))


@assign_app.command("plan")
def assign_plan(
    community: str,
    apply: Annotated[bool, typer.Option("--apply", help="write the plan from today")] = False,
) -> None:
    """Propose A/B roles for COMMUNITY (and apply them with --apply, in one transaction)."""
    from geo import planning

    try:
        with transaction() as session:
            result = planning.plan_community(session, community)
            body = planning.plan_json(session, community, result)
            if apply:
                applied = planning.apply_plan(session, community, result.roles)
    except GridlineError as exc:
        fail(str(exc))
    metrics = body["metrics"]
    typer.echo(
        f"{metrics['grids']} grids, {metrics['workers']} workers: "
        f"mixed-gender pairs {metrics['mixed_gender_pairs']}, "
        f"mentoring pairs {metrics['mentoring_pairs']}, "
        f"max/mean load {metrics['max_load']:.0f}/{metrics['mean_load']:.0f} "
        f"({metrics['solver_status']}, {metrics['seconds']:.2f} s)"
    )
    for role in body["roles"]:
        typer.echo(
            f"  grid {role['grid']}  {role['role']}  {role['worker']} (#{role['worker_id']})"
        )
    for issue in body["issues"]:
        typer.echo(f"  note: {issue['message']}")
    for change in body["changes"]:
        typer.echo(
            f"  {change['kind']}: {change['role']} of grid {change['grid']}: {change['worker']}"
        )
    if apply:
        typer.echo(f"applied: {len(applied.added)} roles added, {len(applied.ended)} ended")


@assign_app.command("add")
def assign_add(
    worker_id: int,
    grid_id: int,
    role: Annotated[str, typer.Argument(help="A or B")],
    start: Annotated[str | None, typer.Option("--from", help="first day (YYYY-MM-DD)")] = None,
) -> None:
    """Give WORKER_ID the role ROLE on GRID_ID."""
    from geo import roster

    try:
        with transaction() as session:
            echo_json(roster.assign(session, worker_id, grid_id, role, parse_day(start)))
    except GridlineError as exc:
        fail(str(exc))


@assign_app.command("end")
def assign_end(
    assignment_id: int,
    on: Annotated[str | None, typer.Option(help="first day without the role")] = None,
) -> None:
    """End role ASSIGNMENT_ID (history is kept)."""
    from geo import roster

    try:
        with transaction() as session:
            echo_json(roster.end(session, assignment_id, parse_day(on)))
    except GridlineError as exc:
        fail(str(exc))


@assign_app.command("list")
def assign_list(
    community: Annotated[str | None, typer.Option(help="community code")] = None,
    grid_id: Annotated[int | None, typer.Option(help="grid id")] = None,
    worker_id: Annotated[int | None, typer.Option(help="worker id")] = None,
    on: Annotated[str | None, typer.Option(help="held on this day")] = None,
    start: Annotated[str | None, typer.Option("--from", help="period start")] = None,
    end: Annotated[str | None, typer.Option("--to", help="period end (included)")] = None,
) -> None:
    """Roles as JSON: who covered a grid on a day, which grids a worker covered in a period."""
    import datetime as dt

    from geo import roster

    period = None
    if start or end:
        period = (parse_day(start) or dt.date.min, parse_day(end) or dt.date.max)
    try:
        with transaction() as session:
            echo_json(
                roster.list_roles(
                    session,
                    community=community,
                    grid_id=grid_id,
                    worker_id=worker_id,
                    on=parse_day(on),
                    period=period,
                )
            )
    except GridlineError as exc:
        fail(str(exc))


@assign_app.command("coverage")
def assign_coverage(community: str) -> None:
    """Grids without A or B, idle workers, loads and overloads, the A/B pairs (JSON)."""
    from geo import planning

    try:
        with transaction() as session:
            echo_json(planning.coverage(session, community))
    except GridlineError as exc:
        fail(str(exc))


def parse_day(value: str | None):
    import datetime as dt

    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        fail(f"{value!r} is not a date (YYYY-MM-DD)")


@map_app.command("assignments")
def map_assignments(
    code: str,
    output: Annotated[Path, typer.Option("-o", "--output", help="HTML file to write")],
    basemap: BasemapOption = None,
) -> None:
    """Write the A/B roles map of community CODE as a standalone HTML file."""
    from api.routes.maps import render_assignments

    def render(session, settings, assets):
        return render_assignments(session, settings, code, assets=assets)

    write_map(render, f"A/B map of community {code}", output, basemap)


@map_app.command("hazards")
def map_hazards(
    code: str,
    output: Annotated[Path, typer.Option("-o", "--output", help="HTML file to write")],
    basemap: BasemapOption = None,
) -> None:
    """Write the hazard map of community CODE (all its hazards) as a standalone HTML file."""
    from api.routes.maps import render_hazards

    def render(session, settings, assets):
        return render_hazards(session, settings, code, assets=assets, standalone=True)

    write_map(render, f"hazard map of community {code}", output, basemap)


# --- gridline report: hazard statistics and the monthly grid seminar report (issue 4) -------

report_app = typer.Typer(no_args_is_help=True, help="Hazard statistics and monthly reports.")
app.add_typer(report_app, name="report")


@report_app.command("stats")
def report_stats(
    community: str,
    by: Annotated[str, typer.Option(help="grid, compound or category")] = "grid",
    start: Annotated[str | None, typer.Option("--from", help="first day (YYYY-MM-DD)")] = None,
    end: Annotated[str | None, typer.Option("--to", help="last day, included")] = None,
) -> None:
    """Open, overdue, closed... and median days to close per grid, compound or category."""
    from geo.hazards import stats

    try:
        with transaction() as session:
            echo_json(stats.hazard_stats(session, community, by, parse_day(start), parse_day(end)))
    except GridlineError as exc:
        fail(str(exc))


@report_app.command("benefited")
def report_benefited(
    community: str,
    start: Annotated[str | None, typer.Option("--from", help="first day (YYYY-MM-DD)")] = None,
    end: Annotated[str | None, typer.Option("--to", help="last day, included")] = None,
    group: Annotated[str | None, typer.Option(help="category group: fire, food...")] = None,
    category: Annotated[str | None, typer.Option(help="one category code")] = None,
) -> None:
    """Compounds with hazards closed in the period and the residents they house (JSON)."""
    from geo.hazards import stats

    try:
        with transaction() as session:
            echo_json(
                stats.residents_benefited(
                    session, community, parse_day(start), parse_day(end), group, category
                )
            )
    except GridlineError as exc:
        fail(str(exc))


@report_app.command("monthly")
def report_monthly(
    community: str,
    month: Annotated[str, typer.Option(help="YYYY-MM")],
    output: Annotated[Path, typer.Option("-o", "--output", help=".csv, .html or .json")],
) -> None:
    """Write the monthly grid seminar report of COMMUNITY; the format follows the suffix."""
    from api.routes.hazard_reports import render_csv, render_html
    from geo.hazards import stats

    suffix = output.suffix.lower()
    if suffix not in (".csv", ".html", ".json"):
        fail(f"{output}: the output must end in .csv, .html or .json")
    try:
        with transaction() as session:
            report = stats.monthly_report(session, community, month)
    except GridlineError as exc:
        fail(str(exc))
    if suffix == ".csv":
        output.write_bytes(render_csv(report))
    elif suffix == ".html":
        output.write_text(render_html(report), encoding="utf-8")
    else:
        output.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    s = report["summary"]
    typer.echo(
        f"{report['month']}: {s['new']} new, {s['closed']} closed, {s['open_at_end']} open and "
        f"{s['overdue_at_end']} overdue at month end; written to {output}"
    )


# --- gridline patrol: daily plans, village days, GPS tracks (issue 6) ----------------------

patrol_app = typer.Typer(no_args_is_help=True, help="Patrol plans, village days and tracks.")
app.add_typer(patrol_app, name="patrol")


def _print_plan(plan: dict) -> None:
    who = plan["worker"]["name"] if plan["worker"] else f"team {plan['team']}"
    counts = plan["counts"]
    typer.echo(
        f"plan {plan['id']}: {who}, {plan['date']}: {counts['planned']} stops, "
        f"{plan['distance_m'] / 1000:.2f} km, back at {plan['returns_at'][11:16]}"
        + (f", {counts['left_out']} left out" if counts["left_out"] else "")
    )
    for stop in plan["stops"]:
        when = stop["arrive_at"][11:16] if stop["arrive_at"] else "--:--"
        mark = f"{stop['seq']:>3}" if stop["seq"] is not None else "  -"
        tail = f"  ({stop['reason']})" if stop["reason"] else ""
        typer.echo(f"  {mark} {when}  P{stop['priority']} {stop['kind']:<8} {stop['label']}{tail}")
    if plan["network"]["straight_legs"]:
        typer.echo(
            f"  note: {plan['network']['straight_legs']} legs "
            f"({plan['network']['straight_m']:.0f} m) in a straight line: no walking network"
        )


@patrol_app.command("plan")
def patrol_plan(
    worker_id: int,
    date: Annotated[str | None, typer.Option("--date", help="YYYY-MM-DD (default today)")] = None,
    hours: Annotated[
        str | None, typer.Option(help="HH:MM-HH:MM, local time (default GRIDLINE_PATROL_HOURS)")
    ] = None,
    no_b: Annotated[bool, typer.Option("--no-b", help="leave out the B grids' hazards")] = False,
) -> None:
    """Plan WORKER_ID's patrol for a day and store it."""
    import datetime as dt

    from pydantic import ValidationError

    from geo.patrol import plans, views
    from geo.patrol.requests import DailyPlanIn

    try:
        request = DailyPlanIn(
            worker_id=worker_id,
            date=parse_day(date) or dt.date.today(),
            hours=tuple(hours.split("-")) if hours else None,
            include_b=not no_b,
        )
        with transaction() as session:
            plan = views.plan_dict(session, plans.plan_daily(session, request, get_settings()))
    except ValidationError as exc:
        fail(exc.errors()[0]["msg"])
    except GridlineError as exc:
        fail(str(exc))
    _print_plan(plan)


@patrol_app.command("village-day")
def patrol_village_day(
    community: str,
    teams: Annotated[int, typer.Option(min=1, max=20, help="number of teams")],
    date: Annotated[str | None, typer.Option("--date", help="YYYY-MM-DD (default today)")] = None,
) -> None:
    """Split COMMUNITY among TEAMS teams and plan each team's walk."""
    import datetime as dt

    from geo.patrol import plans, views
    from geo.patrol.requests import VillageDayIn

    day = parse_day(date) or dt.date.today()
    request = VillageDayIn(community=community, date=day, teams=teams)
    try:
        with transaction() as session:
            day_id = plans.plan_village_day(session, request, get_settings())
            day = views.village_day_dict(session, day_id)
    except GridlineError as exc:
        fail(str(exc))
    typer.echo(f"village day {day['id']}: {community}, {day['date']}, {teams} teams")
    for plan in day["plans"]:
        _print_plan(plan)


@patrol_app.command("track")
def patrol_track(
    plan_id: int,
    path: Annotated[Path, typer.Argument(help="GPX or GeoJSON track", exists=True)],
    gcj02: Annotated[bool, typer.Option("--gcj02", help="coordinates are GCJ-02")] = False,
) -> None:
    """Store the GPS track at PATH for plan PLAN_ID and say what it covered."""
    from geo.patrol import coverage

    try:
        with transaction() as session:
            track_id = coverage.record_track(
                session,
                plan_id,
                path.read_bytes(),
                get_settings(),
                filename=path.name,
                crs="gcj02" if gcj02 else "wgs84",
            )
            track = coverage.track_dict(session, track_id)
    except GridlineError as exc:
        fail(str(exc))
    visited, missed = len(track["visits"]), len(track["missed"])
    typer.echo(
        f"track {track_id} of plan {plan_id}: visited {visited} of {visited + missed} stops, "
        f"walked {track['coverage']['share']:.0%} of the network, "
        f"{track['outside_s'] / 60:.0f} min outside the area, {len(track['gaps'])} gaps"
    )


@map_app.command("patrol")
def map_patrol(
    plan_id: int,
    output: Annotated[Path, typer.Option("-o", "--output", help="HTML file to write")],
    track: Annotated[bool, typer.Option("--track", help="with its latest GPS track")] = False,
    basemap: BasemapOption = None,
) -> None:
    """Write the map of patrol plan PLAN_ID (with --track: over its latest track)."""
    from api.routes.patrol_maps import render_plan, render_track

    def render(session, settings, assets):
        if track:
            return render_track(session, settings, plan_id, assets=assets)
        return render_plan(session, settings, plan_id, assets)

    write_map(render, f"map of patrol plan {plan_id}", output, basemap)


@map_app.command("village-day")
def map_village_day(
    day_id: int,
    output: Annotated[Path, typer.Option("-o", "--output", help="HTML file to write")],
    basemap: BasemapOption = None,
) -> None:
    """Write the map of village day DAY_ID: each team's sector and walk."""
    from api.routes.patrol_maps import render_village_day

    def render(session, settings, assets):
        return render_village_day(session, settings, day_id, assets)

    write_map(render, f"map of village day {day_id}", output, basemap)


# --- gridline parking: layouts for old compounds (issue 7) ---------------------------------

parking_app = typer.Typer(no_args_is_help=True, help="Parking layouts of compounds.")
app.add_typer(parking_app, name="parking")


def _params(values: list[str] | None):
    """ParkingParams from KEY=VALUE options (values in JSON, else text)."""
    from pydantic import ValidationError

    from geo.parking.model import ParkingParams

    given: dict[str, object] = {}
    for item in values or []:
        key, sep, raw = item.partition("=")
        if not sep:
            fail(f"--param {item!r}: expected KEY=VALUE")
        try:
            given[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            given[key.strip()] = raw
    try:
        return ParkingParams.model_validate(given)
    except ValidationError as exc:
        fail("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()))


ParamOption = Annotated[
    list[str] | None,
    typer.Option(
        "--param", help="a parameter, e.g. hydrant_clearance_m=6 or kinds='[\"parallel\"]'"
    ),
]


def _echo_totals(prefix: str, totals: dict) -> None:
    kinds = ", ".join(f"{k} {n}" for k, n in totals["by_kind"].items() if n)
    typer.echo(
        f"{prefix}: {totals['stalls']} stalls ({kinds}), {totals['accessible']} accessible, "
        f"{totals['nonmotor_capacity']} e-bikes in {totals['bays']} bays, "
        f"{totals['painted_m']:.1f} m painted ({totals['nonmotor_lines_m']:.1f} m non-motor)"
    )


@parking_app.command("generate")
def parking_generate(
    compound_id: int,
    param: ParamOption = None,
    note: Annotated[str | None, typer.Option(help="a note kept with the version")] = None,
) -> None:
    """Generate a layout for COMPOUND_ID and keep it as its next draft version."""
    from geo.parking import service, store

    params = _params(param)
    try:
        with transaction() as session:
            row = service.generate_version(session, compound_id, params, note)
            body = store.layout_dict(session, row)
    except GridlineError as exc:
        fail(str(exc))
    _echo_totals(f"compound {compound_id} version {body['version']}", body["totals"])
    for v in body["violations"]:
        typer.echo(f"  violation: {v['message']}")


@parking_app.command("list")
def parking_list(compound_id: int) -> None:
    """The layout versions of COMPOUND_ID."""
    from geo.parking import store

    try:
        with transaction() as session:
            rows = [store.summary_dict(session, r) for r in store.list_rows(session, compound_id)]
    except GridlineError as exc:
        fail(str(exc))
    for r in rows:
        _echo_totals(f"v{r['version']} {r['status']} ({r['origin']})", r["totals"])


@parking_app.command("check")
def parking_check(
    compound_id: int,
    path: Annotated[Path, typer.Argument(exists=True, help="GeoJSON of stall polygons")],
    param: ParamOption = None,
    gcj02: Annotated[bool, typer.Option("--gcj02", help="coordinates are GCJ-02")] = False,
) -> None:
    """Check a hand-drawn layout against COMPOUND_ID; exit 1 when it breaks a rule."""
    from geo.parking import service

    try:
        collection = json.loads(path.read_text(encoding="utf-8"))
        with transaction() as session:
            result = service.check_layout(
                session, compound_id, collection, _params(param), "gcj02" if gcj02 else "wgs84"
            )
    except json.JSONDecodeError as exc:
        fail(f"{path}: not JSON ({exc})")
    except GridlineError as exc:
        fail(str(exc))
    for v in result["violations"]:
        typer.echo(f"{v['rule']}: {v['message']}")
    typer.echo(f"{result['stalls']} stalls, {len(result['violations'])} violations")
    if result["violations"]:
        raise typer.Exit(1)


@parking_app.command("status")
def parking_status(
    compound_id: int,
    version: int,
    status: Annotated[str, typer.Argument(help="draft, approved or painted")],
) -> None:
    """Set the status of a layout version."""
    from geo.parking import store

    if status not in ("draft", "approved", "painted"):
        fail(f"status {status!r}: use draft, approved or painted")
    try:
        with transaction() as session:
            store.set_status(session, store.get_row(session, compound_id, version), status)
    except GridlineError as exc:
        fail(str(exc))
    typer.echo(f"compound {compound_id} version {version}: {status}")


@parking_app.command("compare")
def parking_compare(compound_id: int, a: int, b: int) -> None:
    """Compare versions A and B of COMPOUND_ID."""
    from geo.parking import store

    try:
        with transaction() as session:
            result = store.compare(
                session,
                store.get_row(session, compound_id, a),
                store.get_row(session, compound_id, b),
            )
    except GridlineError as exc:
        fail(str(exc))
    echo_json(result)


@parking_app.command("export")
def parking_export(
    compound_id: int,
    version: int,
    output: Annotated[Path, typer.Option("-o", "--output", help=".geojson, .dxf or .svg")],
) -> None:
    """Write a layout for the painting crew: GeoJSON (WGS84), DXF (metres) or SVG (1:500)."""
    fmt = output.suffix.lower().lstrip(".")
    if fmt not in ("geojson", "dxf", "svg"):
        fail(f"{output}: the name must end in .geojson, .dxf or .svg")
    from api.routes.parking import export_layout

    try:
        with transaction() as session:
            response = export_layout(session, compound_id, version, format=fmt)
    except GridlineError as exc:
        fail(str(exc))
    output.write_bytes(response.body)
    typer.echo(f"version {version} of compound {compound_id} written to {output}")


@parking_app.command("summary")
def parking_summary(community: str) -> None:
    """The community's parking layouts: compounds, car spaces, metres of non-motor lines."""
    from geo.parking import store

    try:
        with transaction() as session:
            result = store.community_summary(session, community)
    except GridlineError as exc:
        fail(str(exc))
    typer.echo(
        f"{community}: {result['compounds']} compounds, {result['stalls']} car spaces, "
        f"{result['nonmotor_lines_m']:.1f} m of non-motor-vehicle lines"
    )
    for layout in result["layouts"]:
        _echo_totals(
            f"  {layout['compound']['name']} v{layout['version']} {layout['status']}",
            layout["totals"],
        )


@map_app.command("parking")
def map_parking(
    compound_id: int,
    version: int,
    output: Annotated[Path, typer.Option("-o", "--output", help="HTML file to write")],
    before: Annotated[
        int | None, typer.Option(help="an earlier version: both side by side")
    ] = None,
    basemap: BasemapOption = None,
) -> None:
    """Write the map of layout VERSION of COMPOUND_ID (with --before: two versions)."""
    from api.routes.parking_maps import render_compare, render_layout

    def render(session, settings, assets):
        if before is not None:
            return render_compare(session, settings, compound_id, before, version, assets)
        return render_layout(session, settings, compound_id, version, assets)

    write_map(render, f"parking map of compound {compound_id}", output, basemap)


# --- gridline topology: gaps, overlaps and the rest among a community's grids -------------

topology_app = typer.Typer(no_args_is_help=True, help="Gaps, overlaps and their repair.")
app.add_typer(topology_app, name="topology")

SliverOption = Annotated[
    float | None,
    typer.Option("--sliver-m2", min=0, help="smaller pieces are slivers (default: setting)"),
]
JsonOption = Annotated[bool, typer.Option("--json", help="the full report as JSON")]


def _problem_lines(report: dict) -> list[str]:
    """One line per problem of a ``geo.topology.check`` report."""

    def grids(found: list[dict]) -> str:
        return ", ".join(
            f"{g['code']} ({g['shared_m']:.1f} m)" if "shared_m" in g else g["code"] for g in found
        )

    lines = [
        f"gap {p['area_m2']:,.2f} m², touching {grids(p['grids']) or 'no grid'}"
        for p in report["gaps"]
    ]
    lines += [f"overlap {p['area_m2']:,.2f} m² of {grids(p['grids'])}" for p in report["overlaps"]]
    lines += [
        f"sliver ({p['kind']}) {p['area_m2']:,.4f} m² of {grids(p['grids']) or 'no grid'}"
        for p in report["slivers"]
    ]
    lines += [f"grid {p['code']} sticks out by {p['area_m2']:,.2f} m²" for p in report["outside"]]
    lines += [f"grid {p['code']} is in {p['parts']} parts" for p in report["not_contiguous"]]
    lines += [
        f"grid {p['code']} has {p['holes']} hole(s), {p['area_m2']:,.2f} m²"
        for p in report["holes"]
    ]
    return lines


def _echo_report(report: dict) -> None:
    problems = _problem_lines(report)
    summary = f"{len(problems)} problem(s)" if problems else "no problems"
    typer.echo(f"community {report['community']}: {report['grids']} grids, {summary}")
    for line in problems:
        typer.echo(f"  {line}")


@topology_app.command("check")
def topology_check(code: str, sliver_m2: SliverOption = None, as_json: JsonOption = False) -> None:
    """Check the current grids of community CODE; exit 1 when there is a problem."""
    from geo import topology

    try:
        with transaction() as session:
            report = topology.check(session, code, sliver_m2=sliver_m2)
    except GridlineError as exc:
        fail(str(exc))
    if as_json:
        echo_json(report)
    else:
        _echo_report(report)
    if not report["ok"]:
        raise typer.Exit(1)


@topology_app.command("check-all")
def topology_check_all(
    within: Annotated[str | None, typer.Option(help="a district or street code")] = None,
    sliver_m2: SliverOption = None,
    as_json: JsonOption = False,
) -> None:
    """Check every community (or those of a district or street) at once; exit 1 on problems."""
    from geo import topology

    try:
        with transaction() as session:
            result = topology.check_all(session, within=within, sliver_m2=sliver_m2)
    except GridlineError as exc:
        fail(str(exc))
    if as_json:
        echo_json(result)
    else:
        counts = ", ".join(f"{n} {name}" for name, n in result["counts"].items() if n)
        typer.echo(
            f"{result['communities']} communities, {result['grids']} grids checked in "
            f"{result['seconds']:.2f} s: {result['communities_with_problems']} with problems"
            + (f" ({counts})" if counts else "")
        )
        for report in result["problems"]:
            _echo_report(report)
    if result["problems"]:
        raise typer.Exit(1)


@topology_app.command("repair")
def topology_repair(
    code: str,
    apply: Annotated[bool, typer.Option("--apply", help="write the changed grids")] = False,
    snap_m: Annotated[
        float, typer.Option("--snap-m", min=0, max=10, help="snap vertices this close (m)")
    ] = 0.5,
    as_json: JsonOption = False,
) -> None:
    """Propose the repair of gaps and overlaps of community CODE; --apply writes it.

    Each changed grid gets a new version from today; its old boundary stays in its history."""
    from geo import topology

    try:
        with transaction() as session:
            run = topology.apply_repair if apply else topology.propose_repair
            result = run(session, code, snap_m=snap_m)
    except GridlineError as exc:
        fail(str(exc))
    if as_json:
        echo_json(result)
        return
    for gap in result["gaps"]:
        to = gap["to"]
        where = f"to {to['code']} (sharing {to['shared_m']:.1f} m)" if to else "nowhere"
        typer.echo(f"gap {gap['area_m2']:,.2f} m² goes {where}")
    for overlap in result["overlaps"]:
        cut = ", ".join(g["code"] for g in overlap["cut_from"])
        typer.echo(
            f"overlap {overlap['area_m2']:,.2f} m² stays in {overlap['kept_by']['code']},"
            f" cut from {cut}"
        )
    for change in result["changes"]:
        typer.echo(
            f"grid {change['code']}: +{change['gained_m2']:,.2f} m², -{change['lost_m2']:,.2f} m²"
        )
    if result["blocked"]:
        typer.echo(f"cannot be applied: {result['blocked']}")
    if result["remaining"] is not None:
        typer.echo("after the repair:")
        _echo_report(result["remaining"])
    if result["applied"]:
        typer.echo(f"applied: {len(result['changes'])} grid(s) redrawn from today")
    elif result["changes"] and not result["blocked"]:
        typer.echo("nothing written: --apply to write it")


@map_app.command("topology")
def map_topology(
    code: str,
    output: Annotated[Path, typer.Option("-o", "--output", help="HTML file to write")],
    sliver_m2: SliverOption = None,
    basemap: BasemapOption = None,
) -> None:
    """Write the map of the topology problems of community CODE as a standalone HTML file."""
    from api.routes.topology import render_topology

    def render(session, settings, assets):
        return render_topology(session, settings, code, assets, sliver_m2=sliver_m2)

    write_map(render, f"topology map of community {code}", output, basemap)


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="address to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port")] = 8000,
    workers: Annotated[
        int, typer.Option(min=1, help="server processes: one per core under load")
    ] = 1,
) -> None:
    """Serve the API and the maps (refused in production mode with default secrets)."""
    import uvicorn

    from api.app import refuse_default_secrets

    try:
        refuse_default_secrets()
    except RuntimeError as exc:
        fail(str(exc))

    uvicorn.run("api.app:app", host=host, port=port, workers=workers)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
