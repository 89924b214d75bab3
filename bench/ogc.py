"""OGC API Features and Tiles against tipg 1.6 and pygeoapi 0.21: same database, same tables, same pool
size, one worker each, run side by side in one process.

Workloads: items?limit=100 with a bbox; cold tiles (each tile's first request after a server start) over
a z12–z17 sweep of the sample campus and its streets; warm tiles (the same sweep again and again, driven
by wrk so that the client is not the bottleneck). Clients keep 4 requests in flight.
"""

from __future__ import annotations

import asyncio
import re
import statistics
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import morecantile
from rich.console import Console

from bench import peers
from bench.common import bench_database, write_section
from twin.access.roles import Role
from twin.access.users import NewUser, add_user
from twin.config import Settings
from twin.db.engine import sync_engine
from twin.samples import build_sample
from twin.samples.loading import load_sample
from twin.services import free_port

console = Console()
CAMPUS_BBOX = (112.445, 34.617, 112.455, 34.623)  # items: the campus
SWEEP_BBOX = (112.43, 34.60, 112.47, 34.64)  # tiles: the campus and the streets its buses use
ZOOMS = range(12, 18)
CONCURRENCY = 4
COLD_RUNS = 3
ITEM_REQUESTS = 1000
PASSWORD = "bench-password-1"  # noqa: S105 (a throw-away bench user)


@dataclass
class Result:
    workload: str
    server: str
    requests: int
    seconds: float
    latencies: list[float]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    @property
    def median_ms(self) -> float:
        return statistics.median(self.latencies) * 1000


def sweep() -> list[morecantile.Tile]:
    tms = morecantile.tms.get("WebMercatorQuad")
    return list(tms.tiles(*SWEEP_BBOX, zooms=list(ZOOMS)))


async def fetch_all(server: peers.Server, paths: list[str]) -> tuple[float, list[float]]:
    latencies: list[float] = []
    queue = list(paths)
    async with httpx.AsyncClient(base_url=server.base, headers=server.headers, timeout=60) as client:

        async def worker() -> None:
            while queue:
                path = queue.pop()
                start = time.perf_counter()
                response = await client.get(path)
                latencies.append(time.perf_counter() - start)
                if response.status_code not in (200, 204):
                    raise RuntimeError(f"{server.name} {path}: {response.status_code} {response.text[:200]}")

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        return time.perf_counter() - start, latencies


WRK_SCRIPT = """
local paths = {%s}
local i = 0
request = function()
  i = i %% #paths + 1
  return wrk.format("GET", paths[i])
end
"""


def run_wrk(workload: str, server: peers.Server, paths: list[str], seconds: int = 8) -> Result:
    """Throughput from wrk (C, 4 connections): a Python client saturates before a cached server does."""
    script = peers.BENCH_DIR / "paths.lua"
    script.write_text(WRK_SCRIPT % ", ".join(f'"{p}"' for p in paths))
    argv = ["wrk", "-t1", "-c4", f"-d{seconds}s", "--latency", "-s", str(script)]
    for name, value in server.headers.items():
        argv += ["-H", f"{name}: {value}"]
    out = subprocess.run([*argv, server.base], capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in out:
        raise RuntimeError(f"{server.name}: wrk saw errors\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)", out)
    assert p50 is not None
    median = float(p50.group(1)) * {"us": 1e-6, "ms": 1e-3, "s": 1.0}[p50.group(2)]
    result = Result(workload, server.name, int(rps * seconds), float(seconds), [median])
    console.print(f"{workload:22} {server.name:12} {rps:8.1f} req/s  median {median * 1000:.2f} ms  (wrk)")
    return result


def run_paths(workload: str, server: peers.Server, paths: list[str]) -> Result:
    seconds, latencies = asyncio.run(fetch_all(server, paths))
    result = Result(workload, server.name, len(paths), seconds, latencies)
    console.print(
        f"{workload:22} {server.name:12} {result.rps:8.1f} req/s  median {result.median_ms:7.2f} ms"
    )
    return result


PATHS: dict[str, dict[str, Callable[..., str]]] = {
    "campus-twin": {
        "tile": lambda t: f"/collections/buildings/tiles/WebMercatorQuad/{t.z}/{t.x}/{t.y}",
        "items": lambda bbox: f"/collections/buildings/items?limit=100&bbox={bbox}",
    },
    "tipg": {
        "tile": lambda t: f"/collections/public.buildings/tiles/WebMercatorQuad/{t.z}/{t.x}/{t.y}",
        "items": lambda bbox: f"/collections/public.buildings/items?limit=100&bbox={bbox}",
    },
    "pygeoapi": {"items": lambda bbox: f"/collections/buildings/items?limit=100&bbox={bbox}&f=json"},
}


def prepare() -> tuple[Settings, str]:
    settings = bench_database("twin_bench_ogc")
    engine = sync_engine(settings.db)
    try:
        load_sample(engine, build_sample(Path("var/bench/sample")), paths=settings.paths)
        with engine.begin() as conn:
            from sqlalchemy import text

            if conn.execute(text("SELECT 1 FROM users WHERE username = 'bench_leader'")).first() is None:
                add_user(conn, NewUser("bench_leader", Role.leader, "4103110001", PASSWORD))
    finally:
        engine.dispose()
    return settings, "bench_leader"


def token(server_base: str, username: str) -> str:
    response = httpx.post(f"{server_base}/auth/token", data={"username": username, "password": PASSWORD})
    response.raise_for_status()
    return str(response.json()["access_token"])


@contextmanager
def ours_signed_in(settings: Settings, username: str) -> Iterator[peers.Server]:
    with peers.ours(settings, free_port(), "") as server:
        yield peers.Server(
            server.name, server.base, {"Authorization": f"Bearer {token(server.base, username)}"}
        )


Starter = Callable[[], AbstractContextManager[peers.Server]]


def servers(settings: Settings, username: str) -> Iterator[tuple[str, Starter]]:
    yield "campus-twin", lambda: ours_signed_in(settings, username)
    yield "tipg", lambda: peers.tipg(settings, free_port())
    yield "pygeoapi", lambda: peers.pygeoapi(settings, free_port(), {"buildings": "geom"})


def run() -> str:
    settings, username = prepare()
    tiles = sweep()
    bbox = ",".join(str(v) for v in CAMPUS_BBOX)
    results: list[Result] = []
    for name, start in servers(settings, username):
        paths = PATHS[name]
        if "tile" in paths:
            tile_paths = [paths["tile"](t) for t in tiles]
            colds = []
            for _ in range(COLD_RUNS):  # cold happens once per server start: start it again each time
                with start() as server:
                    colds.append(run_paths("tiles cold z12-17", server, tile_paths))
            results.append(median_run(colds))
        with start() as server:
            if "tile" in paths:
                results.append(run_wrk("tiles warm z12-17", server, tile_paths))
            results.append(run_paths("items limit=100 bbox", server, [paths["items"](bbox)] * ITEM_REQUESTS))
    return report(results, len(tiles))


def median_run(runs: list[Result]) -> Result:
    """The run with the median throughput."""
    return sorted(runs, key=lambda r: r.rps)[len(runs) // 2]


def report(results: list[Result], n_tiles: int) -> str:
    by = {(r.workload, r.server): r for r in results}
    lines = [
        f"Sample campus (25 buildings); {n_tiles} tiles in the z12–z17 sweep; {CONCURRENCY} requests in",
        f"flight; pool {peers.POOL}, one worker each; campus-twin signed in as a school leader (RLS on).",
        f"Cold: median of {COLD_RUNS} sweeps, each on a freshly started server; items: {ITEM_REQUESTS}",
        "requests.",
        "",
        "Reproduce: `make bench` (or `.venv/bin/python -m bench ogc`).",
        "",
        "| workload | server | req/s | median ms | campus-twin / peer (req/s) |",
        "|---|---|---:|---:|---:|",
    ]
    for r in results:
        ours = by.get((r.workload, "campus-twin"))
        ratio = f"{ours.rps / r.rps:.2f}" if ours and r.server != "campus-twin" else ""
        lines.append(f"| {r.workload} | {r.server} | {r.rps:.1f} | {r.median_ms:.2f} | {ratio} |")
    lines += ["", *NOTES]
    return "\n".join(lines)


NOTES = [
    "What made the difference:",
    "- Tiles: each layer's SQL is built once per shape with bound parameters (building the SQLAlchemy tree",
    "  per request cost more than PostGIS on small tiles), and morecantile's matrix sets are kept (its",
    "  `get()` deep-copies one per call): a cold tile went from 11.3 ms to 3.0 ms of server time in-process.",
    "- Warm tiles come from a per-jurisdiction cache, and the caller behind a token is remembered for 5 s;",
    "  an ASGI middleware answers a cache hit before routing (twin/api/tile_fastpath.py), so what is left",
    "  per request is JWT verification and a dictionary lookup (about 4,000 -> 10,000 tiles/s).",
    "- Cold tiles still pay four round trips (BEGIN, twin_begin_request, the tile, COMMIT) where tipg",
    "  pays one: the scope must be set in the tile's own transaction.",
    "- Items: the FeatureCollection is assembled as GeoJSON text by PostgreSQL; numberMatched is a count",
    "  capped at 100,001.",
    "- Not measured yet: the province-size sweep and a 4490 table (the issue asks for both).",
]


def main() -> None:
    write_section("OGC API Features and Tiles against tipg and pygeoapi", run())


if __name__ == "__main__":
    main()
