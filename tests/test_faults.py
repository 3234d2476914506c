"""Faults: the database stops under load and comes back.

A separate, temporary PostgreSQL cluster (initdb in a temporary directory owned by postgres,
on a free loopback port) holds a migrated demo; uvicorn serves the API on it (tests/live.py).
Background threads report hazards (each with a unique marker), list them by bbox (both through
the ORM's engine) and locate points (the asyncio read pool) while the cluster is stopped
(``pg_ctl stop -m fast``, then ``immediate``) and started again, without restarting uvicorn.
Requests made while it is down must get a 503 with Retry-After and a message naming the
database, none a 500 or no answer, none hang; every kind succeeds again after the restart and
keeps succeeding; and nothing is half-written: every acknowledged report is stored exactly once
and every stored report has its events and audit rows.

Needs root (to run the cluster as postgres) and PostgreSQL with PostGIS installed; skipped
otherwise.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.live import ROOT, Server, serve_api

HANG_BOUND_S = 20.0
"""No request may take longer than this, database down or not (generous: a shared machine)."""
DOWN_S = 8.0
"""How long the cluster stays stopped ..."""
EARLY_S = 4.0
"""... and a request sent in its first seconds must have its 503 before the restart: nothing
waits for the database to come back (the read pool gives up after 3 s, so every kind of request
is sent at least once in this window)."""
RECOVERY_BOUND_S = 30.0
"""Every kind of request must succeed again within this of the restart."""
UNLIMITED_WRITES = {"GRIDLINE_WRITE_RATE_PER_MINUTE": "100000", "GRIDLINE_WRITE_BURST": "10000"}


def _postgres_bin() -> Path | None:
    """The newest installed PostgreSQL server binaries that have PostGIS, if any."""
    for version in sorted(Path("/usr/lib/postgresql").glob("*"), reverse=True):
        extension = Path(f"/usr/share/postgresql/{version.name}/extension/postgis.control")
        if (version / "bin" / "initdb").exists() and extension.exists():
            return version / "bin"
    return None


PG_BIN = _postgres_bin() if Path("/usr/lib/postgresql").is_dir() else None
pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="runs a PostgreSQL cluster as postgres: root"),
    pytest.mark.skipif(PG_BIN is None, reason="PostgreSQL server binaries with PostGIS missing"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Cluster:
    """A throwaway cluster run by postgres from ``home`` on ``port``."""

    home: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://gridline:gridline@127.0.0.1:{self.port}/gridline"

    @property
    def libpq(self) -> str:
        return f"postgresql://gridline:gridline@127.0.0.1:{self.port}/gridline"

    def run(self, program: str, *args: str, check: bool = True) -> None:
        """``program`` of the PostgreSQL binaries, run as postgres."""
        assert PG_BIN is not None
        command = ["runuser", "-u", "postgres", "--", str(PG_BIN / program), *args]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        assert not check or done.returncode == 0, f"{command}:\n{done.stdout}{done.stderr}"

    def pg_ctl(self, action: str, *args: str, check: bool = True) -> None:
        data = str(self.home / "data")
        self.run("pg_ctl", action, "-w", "-t", "60", "-D", data, *args, check=check)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.home} -c listen_addresses=127.0.0.1 -c fsync=off"
        self.pg_ctl("start", "-l", str(self.home / "postgres.log"), "-o", options)

    def stop(self, mode: str) -> None:
        self.pg_ctl("stop", "-m", mode)


def _cli(cluster: Cluster, *args: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRIDLINE_")}
    env |= {"DATABASE_URL": cluster.url, "GRIDLINE_MODE": "test"}
    done = subprocess.run(
        [sys.executable, "-m", "api.cli", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    """A new cluster with the role, the database, its extensions, the schema and the demo."""
    postgres = pwd.getpwnam("postgres")
    home = Path(tempfile.mkdtemp(prefix="gridline-faults-"))
    os.chown(home, postgres.pw_uid, postgres.pw_gid)
    made = Cluster(home, _free_port())
    made.run(
        "initdb",
        "-D",
        str(home / "data"),
        "-U",
        "postgres",
        "-A",
        "trust",
        "-E",
        "UTF8",
        "--locale=C",
        "--no-sync",
    )
    made.start()
    try:
        admin = f"postgresql://postgres@127.0.0.1:{made.port}"
        with psycopg.connect(f"{admin}/postgres", autocommit=True) as conn:
            conn.execute("CREATE ROLE gridline LOGIN PASSWORD 'gridline'")
            conn.execute("CREATE DATABASE gridline OWNER gridline")
        with psycopg.connect(f"{admin}/gridline", autocommit=True) as conn:
            conn.execute("CREATE EXTENSION postgis")
            conn.execute("CREATE EXTENSION btree_gist")
        _cli(made, "db", "upgrade")
        _cli(made, "demo", "load")
        yield made
    finally:
        made.pg_ctl("stop", "-m", "immediate", check=False)
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="module")
def live(cluster: Cluster) -> Iterator[Server]:
    """One uvicorn for every outage: it must come through all of them."""
    with serve_api(cluster.url, cluster.home / "server.log", **UNLIMITED_WRITES) as served:
        yield served


@pytest.fixture(scope="module")
def points(cluster: Cluster) -> list[tuple[float, float]]:
    """Seeded random points inside the demo's grids (so reports are routed)."""
    with psycopg.connect(cluster.libpq) as conn:
        return conn.execute(
            "SELECT ST_X(d.geom), ST_Y(d.geom) FROM grid"
            " CROSS JOIN LATERAL ST_Dump(ST_GeneratePoints(grid.geom, 20, 3)) AS d"
            " WHERE grid.valid_to IS NULL ORDER BY grid.id, d.path"
        ).fetchall()


def report_body(marker: str, lon: float, lat: float) -> dict[str, object]:
    return {
        "category": "blocked_corridor",
        "severity": "high",
        "description": marker,
        "lon": lon,
        "lat": lat,
        "origin": "patrol",
        "reporter": "fault test",
    }


@dataclass(frozen=True)
class Outcome:
    """One request: when it was sent and answered, and what came back."""

    kind: str
    sent: float
    answered: float
    status: int | str  # the HTTP status, or the name of the transport error
    detail: str = ""
    retry_after: str | None = None
    marker: str | None = None

    @property
    def ok(self) -> bool:
        return isinstance(self.status, int) and 200 <= self.status < 300


class Traffic:
    """Background threads, each repeating one kind of request until stopped."""

    def __init__(self, live: Server, points: list[tuple[float, float]], tag: str) -> None:
        self.live, self.points, self.tag = live, points, tag
        self.outcomes: list[Outcome] = []
        self.lock = threading.Lock()
        self.halt = threading.Event()
        kinds: dict[str, Callable[[httpx.Client, int], tuple[str, str, dict, str | None]]] = {
            "report": self.report,
            "report ": self.report,  # two writers
            "list": self.list,
            "locate": self.locate,
        }
        self.threads = [
            threading.Thread(target=self.loop, args=(name.strip(), make), daemon=True)
            for name, make in kinds.items()
        ]

    def report(self, http: httpx.Client, n: int) -> tuple[str, str, dict, str | None]:
        lon, lat = self.points[n % len(self.points)]
        marker = f"fault:{self.tag}:{threading.get_ident()}:{n}"
        return "POST", "/hazards", {"json": report_body(marker, lon, lat)}, marker

    def list(self, http: httpx.Client, n: int) -> tuple[str, str, dict, str | None]:
        lon, lat = self.points[n % len(self.points)]
        bbox = f"{lon - 0.002},{lat - 0.002},{lon + 0.002},{lat + 0.002}"
        return "GET", "/hazards", {"params": {"bbox": bbox, "limit": 10}}, None

    def locate(self, http: httpx.Client, n: int) -> tuple[str, str, dict, str | None]:
        lon, lat = self.points[n % len(self.points)]
        return "GET", "/locate", {"params": {"lon": lon, "lat": lat}}, None

    def loop(self, kind: str, make: Callable) -> None:
        with httpx.Client(
            base_url=self.live.base_url, headers=self.live.auth, timeout=HANG_BOUND_S
        ) as http:
            n = 0
            while not self.halt.is_set():
                method, path, options, marker = make(http, n)
                n += 1
                sent = time.monotonic()
                try:
                    response = http.request(method, path, **options)
                except httpx.HTTPError as exc:
                    outcome = Outcome(kind, sent, time.monotonic(), type(exc).__name__)
                else:
                    outcome = Outcome(
                        kind,
                        sent,
                        time.monotonic(),
                        response.status_code,
                        str(response.json().get("detail", "")) if response.is_error else "",
                        response.headers.get("retry-after"),
                        marker,
                    )
                with self.lock:
                    self.outcomes.append(outcome)
                time.sleep(0.02)

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def stop(self) -> list[Outcome]:
        self.halt.set()
        for thread in self.threads:
            thread.join(HANG_BOUND_S + 5)
        return list(self.outcomes)

    def wait_for_success(self, after: float, bound_s: float) -> float:
        """When every kind had a success sent after ``after`` (AssertionError past the bound)."""
        deadline = time.monotonic() + bound_s
        while time.monotonic() < deadline:
            with self.lock:
                firsts = {}
                for o in self.outcomes:
                    if o.ok and o.sent >= after:
                        firsts.setdefault(o.kind, o.answered)
            if len(firsts) == 3:
                return max(firsts.values())
            time.sleep(0.1)
        raise AssertionError(f"only {sorted(firsts)} succeeded within {bound_s:g} s of {after}")


@pytest.mark.parametrize("mode", ["fast", "immediate"])
def test_the_service_rides_out_a_database_restart(
    cluster: Cluster, live: Server, points: list[tuple[float, float]], mode: str
) -> None:
    traffic = Traffic(live, points, mode)
    traffic.start()
    try:
        traffic.wait_for_success(time.monotonic(), RECOVERY_BOUND_S)
        cluster.stop(mode)
        down_from = time.monotonic()
        time.sleep(DOWN_S)
        down_until = time.monotonic()
        cluster.start()
        recovered = traffic.wait_for_success(down_until, RECOVERY_BOUND_S)
        time.sleep(1.0)
    finally:
        outcomes = traffic.stop()

    unanswered = [o for o in outcomes if not isinstance(o.status, int)]
    assert not unanswered, f"requests without an answer: {unanswered[:5]}"
    assert max(o.answered - o.sent for o in outcomes) < HANG_BOUND_S
    failed = [o for o in outcomes if not o.ok]
    assert {o.status for o in failed} <= {503}, [o for o in failed if o.status != 503][:5]
    for o in failed:
        assert o.retry_after is not None and int(o.retry_after) > 0, o
        assert "database" in o.detail and "retry" in o.detail, o

    while_down = [o for o in outcomes if o.sent >= down_from and o.answered <= down_until]
    assert all(o.status == 503 for o in while_down), [o for o in while_down if o.ok][:5]
    early = [o for o in outcomes if down_from <= o.sent <= down_from + EARLY_S]
    assert {o.kind for o in early} == {"report", "list", "locate"}
    assert all(o.answered <= down_until for o in early), [o for o in early][-5:]

    after = [o for o in outcomes if o.sent >= recovered]
    assert after and all(o.ok for o in after), [o for o in after if not o.ok][:5]

    stored = _stored_reports(cluster, f"fault:{mode}:%")
    acknowledged = [o.marker for o in outcomes if o.kind == "report" and o.ok]
    assert acknowledged
    lost_or_doubled = {m: stored.get(m, 0) for m in acknowledged if stored.get(m, 0) != 1}
    assert not lost_or_doubled, "acknowledged reports not stored exactly once"
    assert sum(stored.values()) == len(stored), "a report stored twice"
    assert _half_written(cluster, f"fault:{mode}:%") == []


def test_the_first_requests_after_a_quiet_restart_succeed(
    cluster: Cluster, live: Server, points: list[tuple[float, float]]
) -> None:
    """No request while the database restarts: the pooled connections it closed are replaced
    on their next use, and that use succeeds (locate through the read pool, a list and a report
    through the engine)."""
    with httpx.Client(base_url=live.base_url, headers=live.auth, timeout=HANG_BOUND_S) as http:
        lon, lat = points[0]
        for _ in range(3):  # connections in both pools
            assert http.get("/locate", params={"lon": lon, "lat": lat}).status_code == 200
        cluster.stop("fast")
        cluster.start()
        bbox = f"{lon - 0.002},{lat - 0.002},{lon + 0.002},{lat + 0.002}"
        assert http.get("/locate", params={"lon": lon, "lat": lat}).status_code == 200
        assert http.get("/hazards", params={"bbox": bbox}).status_code == 200
        report = report_body("fault:quiet", lon, lat)
        assert http.post("/hazards", json=report).status_code == 201


def _stored_reports(cluster: Cluster, pattern: str) -> dict[str, int]:
    with psycopg.connect(cluster.libpq) as conn:
        rows = conn.execute(
            "SELECT description, count(*) FROM hazard WHERE description LIKE %s"
            " GROUP BY description",
            [pattern],
        )
        return dict(rows.fetchall())


HALF_WRITTEN = """
SELECT h.id, h.description FROM hazard h
WHERE h.description LIKE %(pattern)s AND (
    (SELECT count(*) FROM hazard_event e WHERE e.hazard_id = h.id AND e.action = 'reported') <> 1
    OR (SELECT count(*) FROM hazard_event e WHERE e.hazard_id = h.id
        AND e.action IN ('dispatched', 'unrouted')) <> 1
    OR NOT EXISTS (SELECT 1 FROM audit_log a WHERE a.table_name = 'hazard'
                   AND a.row_id = h.id::text AND a.operation = 'INSERT')
    OR EXISTS (SELECT 1 FROM hazard_event e WHERE e.hazard_id = h.id AND NOT EXISTS (
        SELECT 1 FROM audit_log a WHERE a.table_name = 'hazard_event'
        AND a.row_id = e.id::text AND a.operation = 'INSERT')))
"""


def _half_written(cluster: Cluster, pattern: str) -> list[tuple[int, str]]:
    """Stored reports missing one of their events or audit rows."""
    with psycopg.connect(cluster.libpq) as conn:
        return conn.execute(HALF_WRITTEN, {"pattern": pattern}).fetchall()


def test_an_acknowledged_report_is_committed_before_the_answer(
    cluster: Cluster, live: Server, points: list[tuple[float, float]]
) -> None:
    """A 201 means committed: another connection sees the hazard as soon as the answer comes
    (a commit after the answer could still fail, and a client reading at once would miss it)."""
    unseen = []
    with (
        httpx.Client(base_url=live.base_url, headers=live.auth, timeout=HANG_BOUND_S) as http,
        psycopg.connect(cluster.libpq, autocommit=True) as conn,
    ):
        for n, (lon, lat) in enumerate(points[:30]):
            marker = f"fault:visible:{n}"
            assert http.post("/hazards", json=report_body(marker, lon, lat)).status_code == 201
            found = conn.execute("SELECT count(*) FROM hazard WHERE description = %s", [marker])
            if found.fetchone()[0] != 1:
                unseen.append(marker)
    assert not unseen, f"{len(unseen)} of 30 reports answered 201 before they were committed"
