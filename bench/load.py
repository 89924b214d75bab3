"""Mixed load on `twin serve` over loopback: 10,000 buses at 0.1 Hz (1,000 OsmAnd fixes/s) while leaders,
safety officers, analysts and parents use the API. Bounded: SECONDS of traffic, a fixed request pace.

Reports per class of traffic the requests, throughput, latency percentiles and error rate, the positions
committed per second, and the server's resident memory. `python -m bench load`; section "Mixed load".
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import text

from bench.buses import stored, wait_up
from bench.common import bench_database, write_section
from bench.live import process
from twin.access.roles import Role
from twin.access.users import NewUser, add_user
from twin.db.engine import sync_engine
from twin.samples import build_sample
from twin.samples.loading import load_sample
from twin.services import free_port

SECONDS = float(os.environ.get("TWIN_LOAD_SECONDS", "30"))
BUSES = 10_000
BUS_HZ = 0.1  # one fix per bus every 10 s
PASSWORD = "load-test-password-1"  # noqa: S105 (the bench users of a throwaway database)
USER_RATE = 4.0  # requests/s of each simulated user
USERS_PER_ROLE = 3


# The buses come from wrk (C): a Python client spending a core on 1,000 requests/s was the bottleneck
# (the server sat at a few % CPU). Each connection waits DELAY_MS between its fixes: CONNECTIONS / DELAY
# paces the fleet; every fix has a (bus, time) of its own.
CONNECTIONS = 1000
WRK_LUA = """
local counter = 0
local threads = 0
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end
init = function(args)
  base = {BASE}
end
request = function()
  counter = counter + 1
  local bus = (counter * 2 + tid) % {BUSES} + 1
  local ms = base + counter * 2 + tid
  local path = string.format("/osmand?id=LD%05d&lat=%.5f&lon=112.41&speed=25&timestamp=%d",
    bus, 34.6 + (counter % 997) / 100000, ms)
  return wrk.format("GET", path)
end
delay = function()
  return {DELAY_MS}
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRK {"requests": %d, "p50": %.3f, "p95": %.3f, "p99": %.3f, "max": %.3f, '
    .. '"non_2xx": %d, "socket_errors": %d}\\n', summary.requests, latency:percentile(50) / 1000,
    latency:percentile(95) / 1000, latency:percentile(99) / 1000, latency.max / 1000, e.status,
    e.connect + e.read + e.write + e.timeout))
end
"""


async def buses_wrk(host: str) -> dict[str, float]:
    """The fleet's fixes for SECONDS through wrk; its request count, latency percentiles (ms) and errors."""
    script = Path("var/bench/load_buses.lua")
    script.parent.mkdir(parents=True, exist_ok=True)
    delay_ms = round(CONNECTIONS / (BUSES * BUS_HZ) * 1000)
    lua = WRK_LUA.replace("{BASE}", str(int(time.time() * 1000)))
    script.write_text(lua.replace("{BUSES}", str(BUSES)).replace("{DELAY_MS}", str(delay_ms)))
    args = ["wrk", "-t", "2", "-c", str(CONNECTIONS), "-d", f"{SECONDS:.0f}s", "-s", str(script)]
    proc = await asyncio.create_subprocess_exec(*args, f"http://{host}", stdout=asyncio.subprocess.PIPE)
    out, _ = await proc.communicate()
    line = next(x for x in out.decode().splitlines() if x.startswith("WRK "))
    return dict(json.loads(line[4:]))


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    wrk: dict[str, float] = field(default_factory=dict)  # the buses, as wrk measured them

    def add(self, kind: str, seconds: float, ok: bool) -> None:
        self.latencies[kind].append(seconds)
        if not ok:
            self.errors[kind] += 1


# A fleet spread as in a county: SCHOOLS schools (the sample's and siblings beside it) with BUSES / SCHOOLS
# buses each. With all 10,000 in one school, every leader's deck.json and parent's /live/buses carried
# 10,000 buses, which no school has, and those answers alone filled the server's event loop.
SCHOOLS = 1000
LOAD_SCHOOLS = """
INSERT INTO org_units (code, name, level, parent_id, path, enrolment)
SELECT left(s.code, 6) || lpad(n::text, 4, '0'), 'Load school ' || n, 'school', s.parent_id,
       subpath(s.path, 0, 3) || (left(s.code, 6) || lpad(n::text, 4, '0')), 1000
  FROM (SELECT o.* FROM campuses c JOIN org_units o ON o.id = c.school_id ORDER BY c.id LIMIT 1) s,
       generate_series(2, :schools) n
ON CONFLICT DO NOTHING
"""
# Bus n belongs to school n mod SCHOOLS (school 0: the sample's, whose users are the ones signed in).
# Each load school runs its own route (the sample route's line): parents see the buses of their child's
# route, and a route is served by a few buses, not thousands.
LOAD_ROUTES = """
INSERT INTO bus_routes (org_path, campus_id, code, name, geom)
SELECT o.path, r.campus_id, 'LOAD-R' || right(o.code, 4), 'Load route ' || right(o.code, 4), r.geom
  FROM (SELECT * FROM bus_routes ORDER BY id LIMIT 1) r
  JOIN org_units o ON o.parent_id = (SELECT parent_id FROM org_units WHERE path = r.org_path)
       AND o.name LIKE 'Load school %'
ON CONFLICT DO NOTHING
"""
LOAD_BUSES = """
WITH s AS (SELECT c.id AS campus_id, c.org_path, o.code FROM campuses c JOIN org_units o ON o.id = c.school_id
            ORDER BY c.id LIMIT 1)
INSERT INTO vehicles (org_path, campus_id, plate, device_id, route_id)
SELECT coalesce(o.path, s.org_path), s.campus_id, 'LOAD-' || n, 'LD' || lpad(n::text, 5, '0'),
       coalesce((SELECT id FROM bus_routes r WHERE r.org_path = o.path),
                (SELECT id FROM bus_routes r WHERE r.campus_id = s.campus_id ORDER BY id LIMIT 1))
  FROM s CROSS JOIN generate_series(1, :n) n
  LEFT JOIN org_units o ON n % :schools > 0
       AND o.code = left(s.code, 6) || lpad((n % :schools + 1)::text, 4, '0')
"""


def prepare() -> tuple[object, dict[str, str], list[str], int]:
    """The sample campus, 10,000 buses over SCHOOLS schools, one user per role; (settings, users, devices)."""
    settings = bench_database("twin_bench_load")
    engine = sync_engine(settings.db)
    try:
        with engine.connect() as conn:
            loaded = conn.execute(text("SELECT count(*) FROM campuses")).scalar_one() > 0
        if not loaded:  # the sample campus stays between runs; positions are cleared below
            load_sample(engine, build_sample(Path("var/bench/sample")), paths=settings.paths)
        with engine.begin() as conn:
            conn.execute(text("TRUNCATE positions, live_events"))
            conn.execute(text("DELETE FROM vehicles WHERE device_id LIKE 'LD%'"))
            conn.execute(text(LOAD_SCHOOLS), {"schools": SCHOOLS})
            conn.execute(text(LOAD_ROUTES))
            conn.execute(text(LOAD_BUSES), {"n": BUSES, "schools": SCHOOLS})
            school, province = conn.execute(
                text(
                    "SELECT s.code, p.code FROM campuses c JOIN org_units s ON s.id = c.school_id"
                    " JOIN org_units p ON p.path = subpath(s.path, 0, 1) ORDER BY c.id LIMIT 1"
                )
            ).one()
            parent_code = conn.execute(
                text("SELECT code FROM people WHERE role = 'parent' ORDER BY id LIMIT 1")
            ).scalar_one()
            child_bus = conn.execute(
                text(
                    "SELECT v.id FROM people pa JOIN guardians g ON g.parent_id = pa.id"
                    " JOIN people s ON s.id = g.student_id JOIN vehicles v ON v.route_id = s.route_id"
                    " WHERE pa.code = :p ORDER BY v.id LIMIT 1"
                ),
                {"p": parent_code},
            ).scalar_one()
            users = {
                "leader": (Role.leader, school, None),
                "safety_officer": (Role.safety_officer, school, None),
                "analyst": (Role.analyst, province, None),
                "parent": (Role.parent, school, parent_code),
            }
            conn.execute(text("DELETE FROM users WHERE username LIKE 'load_%'"))
            for name, (role, org, person) in users.items():
                add_user(conn, NewUser(f"load_{name}", role, org, PASSWORD, person))
            campus = conn.execute(text("SELECT code FROM campuses ORDER BY id LIMIT 1")).scalar_one()
            devices = [f"LD{n:05d}" for n in range(1, BUSES + 1)]
    finally:
        engine.dispose()
    paths = {
        "leader": [f"/scenes/{campus}/deck.json", "/live/stats", f"/riskmap/{school}/rollup"],
        "safety_officer": ["/collections/risk_zones/items?limit=100", "/hazards?limit=50"],
        "analyst": ["/stats/hazards?group_by=county", "/stats/risks?group_by=school"],
        "parent": ["/live/buses", f"/live/buses/{child_bus}/eta"],
    }
    return settings, paths, devices, child_bus


async def paced(until: float, rate: float, send: Callable[[int], object], concurrency: int) -> None:
    """Request n is due at start + n / rate; `concurrency` senders take the next due one."""
    start = time.perf_counter()
    counter = iter(range(10**9))

    async def sender() -> None:
        for n in counter:
            due = start + n / rate
            if due >= until or time.perf_counter() >= until:  # bounded in time, not only in count
                return
            if (wait := due - time.perf_counter()) > 0:
                await asyncio.sleep(wait)
            await send(n)  # type: ignore[misc]

    await asyncio.gather(*(sender() for _ in range(concurrency)))


async def traffic(base: str, paths: dict[str, list[str]], tally: Tally) -> None:
    limits = httpx.Limits(max_connections=300, max_keepalive_connections=300)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        tokens = {}
        for role in paths:
            r = await client.post("/auth/token", data={"username": f"load_{role}", "password": PASSWORD})
            r.raise_for_status()
            tokens[role] = {"Authorization": f"Bearer {r.json()['access_token']}"}
        until = time.perf_counter() + SECONDS

        async def timed(kind: str, method: str, url: str, **kw: object) -> None:
            t0 = time.perf_counter()
            try:
                r = await client.request(method, url, **kw)  # type: ignore[arg-type]
                ok = r.status_code < 400
            except httpx.HTTPError:
                ok = False
            tally.add(kind, time.perf_counter() - t0, ok)

        def user(role: str) -> Callable[[int], object]:
            async def one(n: int) -> None:
                route = paths[role][n % len(paths[role])]
                await timed(role, "GET", route, headers=tokens[role])

            return one

        results = await asyncio.gather(
            buses_wrk(base.removeprefix("http://")),
            *(paced(until, USER_RATE * USERS_PER_ROLE, user(r), USERS_PER_ROLE) for r in paths),
        )
        tally.wrk = results[0]


def rss_mb(pid: int) -> float:
    """Resident memory of the process and its children (the uvicorn workers), in MB."""
    total = 0
    for p in [pid, *children(pid)]:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def children(pid: int) -> list[int]:
    try:
        kids = [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []
    return kids + [g for k in kids for g in children(k)]


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def run() -> str:
    settings, paths, _, _ = prepare()
    port, jt_port = free_port(), free_port()
    env = {
        **os.environ,
        "DATABASE_URL": settings.db.sync_url(),  # type: ignore[attr-defined]
        "TWIN_LIVE_INGEST": "false",
        "TWIN_BUS_JT808_PORT": str(jt_port),
        "TWIN_BUS_JT808_HOST": "127.0.0.1",
    }
    tally = Tally()
    with process(["serve", "--port", str(port), "--workers", "1"], env) as proc:
        host = f"127.0.0.1:{port}"
        wait_up(host)
        rss_start, peak = rss_mb(proc.pid), 0.0
        before = stored(settings)  # type: ignore[arg-type]

        async def watch() -> None:
            nonlocal peak
            end = time.perf_counter() + SECONDS
            while time.perf_counter() < end:
                peak = max(peak, rss_mb(proc.pid))
                await asyncio.sleep(1)

        async def both() -> None:
            await asyncio.gather(traffic(f"http://{host}", paths, tally), watch())

        started = time.perf_counter()
        asyncio.run(both())
        elapsed = time.perf_counter() - started
        time.sleep(2)  # the last batch committed
        committed = stored(settings) - before  # type: ignore[arg-type]
        rss_end = rss_mb(proc.pid)
    return report(tally, elapsed, committed, (rss_start, peak, rss_end))


def report(tally: Tally, elapsed: float, committed: int, rss: tuple[float, float, float]) -> str:
    rows = []
    for kind, values in sorted(tally.latencies.items()):
        ms = [v * 1000 for v in values]
        rows.append(
            f"| {kind} | {len(values):,} | {len(values) / elapsed:,.1f} | {percentile(ms, 50):.0f} |"
            f" {percentile(ms, 95):.0f} | {percentile(ms, 99):.0f} | {max(ms):.0f} |"
            f" {100 * tally.errors.get(kind, 0) / len(values):.2f} % |"
        )
    if tally.wrk:
        w = tally.wrk
        errors = 100 * (w["non_2xx"] + w["socket_errors"]) / max(w["requests"], 1)
        rows.append(
            f"| bus (OsmAnd, wrk) | {w['requests']:,.0f} | {w['requests'] / elapsed:,.1f} | {w['p50']:.0f} |"
            f" {w['p95']:.0f} | {w['p99']:.0f} | {w['max']:.0f} | {errors:.2f} % |"
        )
    target = BUSES * BUS_HZ
    load = os.getloadavg()[0]
    intro = (
        f"`python -m bench load`: {SECONDS:.0f} s over loopback against `twin serve` (1 worker) on the"
        f" shared 2-core machine (server, PostGIS and the load generator share it; load average at the end"
        f" {load:.1f}). {BUSES:,} buses at {BUS_HZ} Hz = {target:,.0f} OsmAnd fixes/s asked, paced by wrk"
        f" ({CONNECTIONS} keep-alive connections, each waiting {CONNECTIONS / target * 1000:.0f} ms"
        " between fixes);"
        f" {USERS_PER_ROLE} users per role at {USER_RATE:g} requests/s each."
    )
    memory = f"{rss[0]:.0f} MB at start, {rss[1]:.0f} MB peak, {rss[2]:.0f} MB at the end"
    return "\n".join(
        [
            intro,
            "",
            "| traffic | requests | per s | p50 ms | p95 ms | p99 ms | max ms | errors |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
            *rows,
            "",
            f"Positions committed: {committed:,} ({committed / elapsed:,.0f}/s of {target:,.0f}/s asked)."
            f" Server resident memory: {memory}.",
        ]
    )


def main() -> None:
    body = run()
    print(body)
    write_section("Mixed load", body)


if __name__ == "__main__":
    sys.exit(main())
