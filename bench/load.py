"""Load: many signed-in clients at once on the demo community, then every write checked.

    python bench/load.py [--clients 50] [--seconds 60] [--workers 2] [--think-ms 0]

The database is DATABASE_URL, else ``gridline_load`` made by ``scripts/local-postgis``; it is
migrated and given the demo (``GRIDLINE_MODE=demo gridline demo load``, kept when there). Hazards
of earlier runs of this bench are removed first. One community-office account of 330303003001
per client (``load-01``...) is added in one transaction when missing. The API runs under uvicorn
(``--workers``, GRIDLINE_MODE=demo) on a free loopback port; the clients sign in with
POST /token (four at a time: a password check is a slow Argon2 hash) and each keeps one
keep-alive connection, all in this one asyncio process (a small HTTP/1.1 client on httptools:
httpx cost about 1 ms of CPU a request, taken from the server's two cores). Every client then
loops without think time (``--think-ms`` adds a pause after each request) through:

1. warm-up, ``--warmup`` seconds of the mix below (writes are checked, times are not kept);
2. baseline, ``--baseline-seconds`` of ``GET /health`` (a pooled ``SELECT 1``: the HTTP and
   database floor of any route) by the same clients;
3. the mix, ``--seconds``: ``GET /locate`` at random points of the community (40 %); hazard
   reports ``POST /hazards`` with a unique marker as description (20 %); status changes
   ``POST /hazards/{id}/transition`` with If-Match on a hazard the client reported (15 %; one in
   ten on purpose with a stale ETag, which must be refused with 412; a client with no open
   hazard reports one instead); map views (25 %): vector tiles ``/tiles/hazards/z/x/y.mvt``
   (z 14-17 over the community), ``GET /hazards?bbox=`` of about 300 m, and now and then (one
   in 25 map views) the hazard map page ``/maps/communities/330303003001/hazards``.

Then the server is stopped and the database checked: every acknowledged report (201) is there
exactly once (by its marker) with its 'reported' event, none that was refused or unanswered;
every acknowledged transition (200) left exactly one hazard_event (its note is a unique
marker), none that was refused; each hazard's version is 1 plus its acknowledged transitions.
It prints, per phase, throughput, p50/p99 per kind and overall and the CPU milliseconds per
request of the API (every process under this one), of PostgreSQL (the backends of the
database) and of the clients, with the cores the rest of the machine kept busy meanwhile (a
shared machine makes every figure slower); then errors by status, lost/duplicated writes and
the mix's figures as ratios of the baseline's.

Two uvicorn workers by default (``gridline serve --workers``: one per core): Python is the
bottleneck (about 3 ms of API CPU per mixed request against 1.6 ms of PostgreSQL); three
workers on two cores served as many requests with a worse p99 (the kernel then time-slices
two busy processes on one core).

Each account's writes are rate-limited (GRIDLINE_WRITE_RATE_PER_MINUTE, 300 a minute by
default, per uvicorn process); clients without think time write far more often than a person
can, so the server runs with ``--write-rate`` (default 100,000 a minute): the bench measures
the service, not the limiter. ``--write-rate 300 --think-ms 1000`` is a brisk person's pace.

Targets on the 2-core bench machine: no errors, no lost or duplicated write, p99 < 500 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import math
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httptools
import psycopg
import uvloop

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.live import serve_api  # noqa: E402

COMMUNITY = "330303003001"
PASSWORD = "load-client-password"
"""Of every load account (local benches only)."""
MARK = "load:"
"""Prefix of every marker (report descriptions, transition notes) this bench writes."""
NEXT_STATE = {"dispatched": "rectifying", "rectifying": "rectified", "rectified": "verified"}
"""The loop a client drives its hazards through; a hazard left in reported is rejected."""
MIX = {"locate": 0.40, "report": 0.20, "transition": 0.15, "map": 0.25}
TIMEOUT_S = 30.0


@dataclass
class Write:
    """One attempted write: what it was and what the client heard back."""

    marker: str
    kind: str  # report | transition
    status: int | str  # HTTP status, or the transport error's name
    hazard_id: int | None = None
    expected_refusal: bool = False

    @property
    def acknowledged(self) -> bool:
        return isinstance(self.status, int) and 200 <= self.status < 300


@dataclass
class Area:
    """Where the clients act: points inside the community, its box, tiles over it (and the
    database, whose backends' CPU is counted)."""

    points: list[tuple[float, float]]
    box: tuple[float, float, float, float]
    tiles: list[tuple[int, int, int]]
    database: str


@dataclass
class Client:
    """A signed-in account with its connection, its hazards and what it measured."""

    name: str
    http: Connection
    rng: random.Random
    hazards: dict[int, tuple[str, str]] = field(default_factory=dict)
    """id -> (ETag, state) of the open hazards it reported."""
    samples: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: Counter = field(default_factory=Counter)
    writes: list[Write] = field(default_factory=list)
    serial: itertools.count = field(default_factory=itertools.count)


# --- database ------------------------------------------------------------------------------


def database_url() -> str:
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"]
    made = subprocess.run(
        [str(ROOT / "scripts" / "local-postgis"), "gridline_load"],
        check=True,
        capture_output=True,
        text=True,
    )
    return made.stdout.strip()


def prepare(url: str, clients: int) -> None:
    """Migrate, load the demo, remove earlier runs' hazards, add the load accounts."""
    env = {**os.environ, "DATABASE_URL": url, "GRIDLINE_MODE": "demo"}
    for args in (["db", "upgrade"], ["demo", "load"]):
        subprocess.run([sys.executable, "-m", "api.cli", *args], check=True, cwd=ROOT, env=env)
    os.environ.update({"DATABASE_URL": url, "GRIDLINE_MODE": "demo"})
    from sqlalchemy import select

    from geo import accounts
    from geo import models as m
    from geo.db import get_settings, libpq_url, transaction

    removed = remove_load_hazards(libpq_url(url))
    settings = get_settings()
    with transaction() as session:
        existing = set(session.scalars(select(m.Account.username)))
        for name in usernames(clients):
            if name not in existing:
                accounts.create(
                    session, settings, name, PASSWORD, m.AccountRole.OFFICE, community=COMMUNITY
                )
    print(f"database ready; {removed} hazards of earlier runs removed")


def remove_load_hazards(url: str) -> int:
    """Delete the hazards earlier runs reported, with their events (history trigger off)."""
    with psycopg.connect(url) as conn:
        ids = [r[0] for r in conn.execute("SELECT id FROM hazard WHERE description LIKE 'load:%'")]
        if ids:
            conn.execute("ALTER TABLE hazard_event DISABLE TRIGGER hazard_event_is_history")
            conn.execute("DELETE FROM hazard_event WHERE hazard_id = ANY(%s)", [ids])
            conn.execute("ALTER TABLE hazard_event ENABLE TRIGGER hazard_event_is_history")
            conn.execute("DELETE FROM hazard WHERE id = ANY(%s)", [ids])
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE) hazard, hazard_event")
    return len(ids)


def usernames(clients: int) -> list[str]:
    return [f"load-{i:02d}" for i in range(1, clients + 1)]


def area(url: str, seed: int) -> Area:
    """2,000 seeded random points in the demo community, its box and the tiles z14-17 on it."""
    with psycopg.connect(url) as conn:
        points = conn.execute(
            "SELECT ST_X(d.geom), ST_Y(d.geom) FROM community"
            " CROSS JOIN LATERAL ST_Dump(ST_GeneratePoints(community.geom, 2000, %s)) AS d"
            " WHERE community.code = %s",
            [seed, COMMUNITY],
        ).fetchall()
        box = conn.execute(
            "SELECT ST_XMin(geom), ST_YMin(geom), ST_XMax(geom), ST_YMax(geom)"
            " FROM community WHERE code = %s",
            [COMMUNITY],
        ).fetchone()
    west, south, east, north = box
    tiles = []
    for z in range(14, 18):
        (x0, y0), (x1, y1) = tile_xy(west, north, z), tile_xy(east, south, z)
        tiles += [(z, x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]
    database = psycopg.conninfo.conninfo_to_dict(url)["dbname"]
    return Area(points, (west, south, east, north), tiles, str(database))


def tile_xy(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
    return int((lon + 180) / 360 * n), int(y)


PROBLEMS = (
    "reports lost",
    "reports duplicated",
    "reports without their 'reported' event",
    "hazards whose version is not 1 + transitions",
    "unacknowledged reports that landed",
    "transitions lost",
    "transitions duplicated",
    "unacknowledged transitions that landed",
)
"""Counts of check_writes that must be zero."""


def check_writes(url: str, writes: list[Write]) -> Counter:
    """Compare what the clients heard with what the database holds."""
    with psycopg.connect(url) as conn:
        hazards = {
            description: (n, ids, version, reported)
            for description, n, ids, version, reported in conn.execute(
                "SELECT h.description, count(*), array_agg(h.id), min(h.version),"
                " min((SELECT count(*) FROM hazard_event e WHERE e.hazard_id = h.id"
                "      AND e.action = 'reported'))"
                " FROM hazard h WHERE h.description LIKE 'load:%' GROUP BY h.description"
            )
        }
        events = dict(
            conn.execute(
                "SELECT note, count(*) FROM hazard_event WHERE note LIKE 'load:%' GROUP BY note"
            ).fetchall()
        )
    acked_transitions = Counter(
        w.hazard_id for w in writes if w.kind == "transition" and w.acknowledged
    )
    found = Counter({name: 0 for name in PROBLEMS})
    for w in writes:
        if w.kind == "report":
            count = hazards.get(w.marker, (0,))[0]
            if not w.acknowledged:
                found["reports refused or unanswered"] += 1
                found["unacknowledged reports that landed"] += count > 0
                continue
            found["reports acknowledged"] += 1
            found["reports lost"] += count == 0
            found["reports duplicated"] += count > 1
            if count == 1:
                _, (hazard_id,), version, reported = hazards[w.marker]
                found["reports without their 'reported' event"] += reported != 1
                expected = 1 + acked_transitions[hazard_id]
                found["hazards whose version is not 1 + transitions"] += version != expected
        else:
            count = events.get(w.marker, 0)
            if not w.acknowledged:
                found["transitions refused or unanswered"] += 1
                found["unacknowledged transitions that landed"] += count > 0
                continue
            found["transitions acknowledged"] += 1
            found["transitions lost"] += count == 0
            found["transitions duplicated"] += count > 1
    return found


# --- clients -------------------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Parsed:
    """httptools callbacks collecting one response."""

    def __init__(self) -> None:
        self.headers: dict[str, str] = {}
        self.chunks: list[bytes] = []
        self.done = False

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_body(self, body: bytes) -> None:
        self.chunks.append(body)

    def on_message_complete(self) -> None:
        self.done = True


class Connection:
    """One keep-alive HTTP/1.1 connection on asyncio streams, parsed by httptools (what
    uvicorn parses with). The clients share the server's two cores: httpx took about 1 ms of
    CPU per request here, as much as a light route; this takes a tenth of that."""

    def __init__(self, base_url: str) -> None:
        url = urllib.parse.urlsplit(base_url)
        self.host, self.port = url.hostname or "127.0.0.1", url.port or 80
        self.headers: dict[str, str] = {}
        self.streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def request(
        self, method: str, target: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> Answer:
        try:
            async with asyncio.timeout(TIMEOUT_S):
                return await self.exchange(method, target, body, headers or {})
        except BaseException:
            self.close()
            raise

    async def exchange(
        self, method: str, target: str, body: bytes, headers: dict[str, str]
    ) -> Answer:
        if self.streams is None:
            self.streams = await asyncio.open_connection(self.host, self.port)
        reader, writer = self.streams
        head = [f"{method} {target} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        head += [f"{k}: {v}" for k, v in {**self.headers, **headers}.items()]
        head.append(f"Content-Length: {len(body)}")
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
        parsed = Parsed()
        parser = httptools.HttpResponseParser(parsed)
        while not parsed.done:
            data = await reader.read(1 << 16)
            if not data:
                raise ConnectionResetError("the server closed the connection")
            parser.feed_data(data)
        if not parser.should_keep_alive():
            self.close()
        return Answer(parser.get_status_code(), parsed.headers, b"".join(parsed.chunks))

    def close(self) -> None:
        if self.streams is not None:
            self.streams[1].close()
            self.streams = None


TRANSPORT_ERRORS = (OSError, TimeoutError, httptools.HttpParserError)


SIGN_IN_AT_ONCE = 4
"""Clients signing in at the same time (a password check is a deliberately slow Argon2 hash)."""


async def sign_in(base_url: str, name: str, seed: int, gate: asyncio.Semaphore) -> Client:
    """A signed-in client; a 503 or 429 (Retry-After) is waited out a few times."""
    http = Connection(base_url)
    form = urllib.parse.urlencode({"username": name, "password": PASSWORD}).encode()
    form_type = {"Content-Type": "application/x-www-form-urlencoded"}
    async with gate:
        for _ in range(5):
            answer = await http.request("POST", "/token", form, form_type)
            if answer.status not in (429, 503):
                break
            await asyncio.sleep(float(answer.headers.get("retry-after", "1")))
    if answer.status != 200:
        raise SystemExit(f"{name} cannot sign in: HTTP {answer.status} {answer.body[:200]!r}")
    http.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"
    return Client(name, http, random.Random(f"{seed}:{name}"))


async def call(
    client: Client,
    kind: str,
    method: str,
    path: str,
    expected: int,
    params: dict[str, object] | None = None,
    body: object = None,
    headers: dict[str, str] | None = None,
) -> Answer | None:
    """One request, timed into ``client.samples[kind]``; unexpected answers are errors."""
    target = f"{path}?{urllib.parse.urlencode(params)}" if params else path
    data = b"" if body is None else json.dumps(body).encode()
    if body is not None:
        headers = {**(headers or {}), "Content-Type": "application/json"}
    started = time.perf_counter()
    try:
        answer = await client.http.request(method, target, data, headers)
    except TRANSPORT_ERRORS as exc:
        client.errors[f"{kind}: {type(exc).__name__}"] += 1
        return None
    client.samples[kind].append((time.perf_counter() - started) * 1000)
    if answer.status != expected:
        client.errors[f"{kind}: HTTP {answer.status}"] += 1
    return answer


async def locate(client: Client, where: Area) -> None:
    lon, lat = client.rng.choice(where.points)
    await call(client, "locate", "GET", "/locate", 200, params={"lon": lon, "lat": lat})


async def report(client: Client, where: Area, run: str) -> None:
    lon, lat = client.rng.choice(where.points)
    marker = f"{MARK}{run}:{client.name}:{next(client.serial)}"
    body = {
        "category": "blocked_corridor",
        "severity": client.rng.choice(("low", "medium", "high", "critical")),
        "description": marker,
        "lon": lon,
        "lat": lat,
        "origin": "patrol",
        "reporter": client.name,
    }
    response = await call(client, "report", "POST", "/hazards", 201, body=body)
    write = Write(marker, "report", response.status if response else "no answer")
    client.writes.append(write)
    if response is not None and response.status == 201:
        feature = response.json()
        write.hazard_id = feature["id"]
        client.hazards[feature["id"]] = (response.headers["etag"], feature["properties"]["state"])


async def transition(client: Client, where: Area, run: str) -> None:
    if not client.hazards:
        await report(client, where, run)
        return
    hazard_id = client.rng.choice(list(client.hazards))
    etag, state = client.hazards[hazard_id]
    to = NEXT_STATE.get(state, "rejected")
    actor = f"{client.name} inspector" if to == "verified" else client.name
    stale = client.rng.random() < 0.1
    if stale:  # the version before: as if someone else had changed it meanwhile
        hid, version = etag.strip('"').split("-")
        etag = f'"{hid}-{int(version) - 1}"'
    marker = f"{MARK}{run}:{client.name}:{next(client.serial)}"
    body = {"to": to, "actor": actor, "note": marker}
    response = await call(
        client,
        "transition",
        "POST",
        f"/hazards/{hazard_id}/transition",
        412 if stale else 200,
        body=body,
        headers={"If-Match": etag},
    )
    status = response.status if response is not None else "no answer"
    client.writes.append(Write(marker, "transition", status, hazard_id, stale))
    if status == 200:
        new_state = response.json()["properties"]["state"]
        if new_state in NEXT_STATE:
            client.hazards[hazard_id] = (response.headers["etag"], new_state)
        else:
            del client.hazards[hazard_id]


async def map_view(client: Client, where: Area) -> None:
    roll = client.rng.random()
    if roll < 0.04:
        path = f"/maps/communities/{COMMUNITY}/hazards"
        await call(client, "map page", "GET", path, 200)
    elif roll < 0.60:
        z, x, y = client.rng.choice(where.tiles)
        await call(client, "tile", "GET", f"/tiles/hazards/{z}/{x}/{y}.mvt", 200)
    else:
        west, south, east, north = where.box
        lon = client.rng.uniform(west, east - 0.003)
        lat = client.rng.uniform(south, north - 0.0027)
        bbox = f"{lon:.6f},{lat:.6f},{lon + 0.003:.6f},{lat + 0.0027:.6f}"
        await call(client, "bbox list", "GET", "/hazards", 200, params={"bbox": bbox})


async def health(client: Client, where: Area, run: str) -> None:
    await call(client, "health", "GET", "/health", 200)


async def mixed(client: Client, where: Area, run: str) -> None:
    kind = client.rng.choices(list(MIX), weights=list(MIX.values()))[0]
    if kind == "locate":
        await locate(client, where)
    elif kind == "report":
        await report(client, where, run)
    elif kind == "transition":
        await transition(client, where, run)
    else:
        await map_view(client, where)


Step = Callable[[Client, Area, str], object]


@dataclass
class Measured:
    """One phase: samples by kind, errors, wall time and CPU seconds by whom."""

    seconds: float
    samples: dict[str, list[float]]
    errors: Counter
    cpu: dict[str, float]

    @property
    def everything(self) -> list[float]:
        return [s for samples in self.samples.values() for s in samples]


def cpu_seconds(pid: int | str) -> float:
    """User + system CPU seconds of process ``pid`` so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def processes() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, command line) of every process."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except (OSError, ValueError):
                continue
            found[int(entry.name)] = (parent, command)
    return found


def cpu_snapshot(database: str) -> dict[str, dict[int, float]]:
    """CPU seconds of the API (the processes under this one), of the PostgreSQL backends
    of ``database``, and of the whole machine (every CPU's busy time, from /proc/stat)."""
    table = processes()
    ours = {os.getpid()}
    for _ in range(3):  # uvicorn, and its workers under it
        ours |= {pid for pid, (parent, _) in table.items() if parent in ours}
    api = {pid: cpu_seconds(pid) for pid in ours - {os.getpid()}}
    backends = {pid: cpu_seconds(pid) for pid, (_, cmd) in table.items() if f" {database} " in cmd}
    jiffies = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:9]]
    busy = sum(jiffies) - jiffies[3] - jiffies[4]  # all but idle and iowait
    return {"api": api, "postgres": backends, "machine": {0: busy / os.sysconf("SC_CLK_TCK")}}


def cpu_used(before: dict[str, dict[int, float]], after: dict[str, dict[int, float]]) -> dict:
    return {
        who: sum(v - before[who].get(pid, 0.0) for pid, v in after[who].items()) for who in after
    }


async def phase(
    clients: list[Client], step: Step, seconds: float, think_s: float, where: Area, run: str
) -> Measured:
    """Every client runs ``step`` in a loop for ``seconds``."""

    async def loop(client: Client) -> None:
        while time.perf_counter() < deadline:
            await step(client, where, run)
            if think_s:
                await asyncio.sleep(think_s)

    for c in clients:
        c.samples.clear()
        c.errors.clear()
    database = where.database
    before, client_cpu = cpu_snapshot(database), time.process_time()
    started = time.perf_counter()
    deadline = started + seconds
    await asyncio.gather(*(loop(c) for c in clients))
    elapsed = time.perf_counter() - started
    cpu = cpu_used(before, cpu_snapshot(database))
    cpu["client"] = time.process_time() - client_cpu
    by_kind: dict[str, list[float]] = defaultdict(list)
    for c in clients:
        for kind, samples in c.samples.items():
            by_kind[kind] += samples
    errors = sum((c.errors for c in clients), Counter())
    return Measured(elapsed, dict(sorted(by_kind.items())), errors, cpu)


# --- report --------------------------------------------------------------------------------


def quantiles(samples: list[float]) -> tuple[float, float]:
    """p50 and p99 of ``samples``."""
    if len(samples) < 2:
        return (samples[0], samples[0]) if samples else (math.nan, math.nan)
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return cuts[49], cuts[98]


def print_phase(title: str, m: Measured) -> None:
    everything = m.everything
    print(f"\n{title}: {len(everything):,} requests in {m.seconds:.1f} s")
    print(f"  {'kind':12}{'requests':>10}{'share':>8}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}")
    for kind, samples in [*m.samples.items(), ("all", everything)]:
        p50, p99 = quantiles(samples)
        share = len(samples) / len(everything)
        rate = len(samples) / m.seconds
        print(f"  {kind:12}{len(samples):>10,}{share:>8.1%}{rate:>9.1f}{p50:>9.1f}{p99:>9.1f}")
    n = len(everything)
    others = m.cpu["machine"] - m.cpu["api"] - m.cpu["postgres"] - m.cpu["client"]
    print(
        f"  CPU ms per request: API {1000 * m.cpu['api'] / n:.2f}, PostgreSQL"
        f" {1000 * m.cpu['postgres'] / n:.2f}, clients {1000 * m.cpu['client'] / n:.2f};"
        f" cores busy: API {m.cpu['api'] / m.seconds:.2f}, PostgreSQL"
        f" {m.cpu['postgres'] / m.seconds:.2f}, clients {m.cpu['client'] / m.seconds:.2f},"
        f" everything else on the machine {max(0.0, others) / m.seconds:.2f}"
        f" (of {os.cpu_count()})"
    )


async def run_load(
    args: argparse.Namespace, url: str, where: Area
) -> tuple[Measured, Measured, list[Write]]:
    """Sign the clients in, then warm-up, baseline and mix; the writes of every phase."""
    run = uuid.uuid4().hex[:8]
    env = {
        "GRIDLINE_MODE": "demo",
        "GRIDLINE_WRITE_RATE_PER_MINUTE": str(args.write_rate),
        "GRIDLINE_WRITE_BURST": str(max(60, int(args.write_rate / 60))),
    }
    think_s = args.think_ms / 1000
    log = Path(tempfile.gettempdir()) / "gridline-bench-load.log"
    with serve_api(url, log, workers=args.workers, **env) as server:
        gate = asyncio.Semaphore(SIGN_IN_AT_ONCE)
        clients = await asyncio.gather(
            *(sign_in(server.base_url, name, args.seed, gate) for name in usernames(args.clients))
        )
        try:
            await phase(clients, mixed, args.warmup, think_s, where, run)
            baseline = await phase(clients, health, args.baseline_seconds, think_s, where, run)
            load = await phase(clients, mixed, args.seconds, think_s, where, run)
        finally:
            for c in clients:
                c.http.close()
    return baseline, load, [w for c in clients for w in c.writes]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--baseline-seconds", type=float, default=20)
    parser.add_argument("--warmup", type=float, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--think-ms", type=float, default=0)
    parser.add_argument("--write-rate", type=float, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    url = database_url()
    prepare(url, args.clients)
    from geo.db import libpq_url

    plain = libpq_url(url)
    baseline, load, writes = uvloop.run(run_load(args, url, area(plain, args.seed)))
    print(
        f"\nuvicorn workers: {args.workers}; clients: {args.clients}; think time:"
        f" {args.think_ms:g} ms; write limit {args.write_rate:g}/min per account and process"
    )
    print_phase("baseline GET /health", baseline)
    print_phase("mix", load)
    (b50, b99), (m50, m99) = quantiles(baseline.everything), quantiles(load.everything)
    base_rate = len(baseline.everything) / baseline.seconds
    mix_rate = len(load.everything) / load.seconds
    print(
        f"\nmix / baseline: throughput {mix_rate / base_rate:.2f}x,"
        f" p50 {m50 / b50:.2f}x, p99 {m99 / b99:.2f}x"
    )
    errors = baseline.errors + load.errors
    print("errors:", dict(errors) or "none")

    found = check_writes(plain, writes)
    print("\nwrites (warm-up included):")
    for name, n in found.items():
        print(f"  {name:48}{n:>8,}")
    expected = [w for w in writes if w.expected_refusal and w.status == 412]
    unexpected = [w for w in writes if not w.acknowledged and w not in expected]
    print(
        f"  refused on purpose (stale If-Match, 412): {len(expected)};"
        f" other refusals or no answer: {len(unexpected)}"
    )
    bad = sum(n for name, n in found.items() if name in PROBLEMS)
    ok = not errors and not bad and not unexpected and m99 < 500
    print(
        f"\ntarget (no errors, no lost or duplicated write, p99 < 500 ms):"
        f" {'holds' if ok else 'MISSED'} (errors {sum(errors.values())}, write problems {bad},"
        f" p99 {m99:.0f} ms)"
    )


if __name__ == "__main__":
    main()
