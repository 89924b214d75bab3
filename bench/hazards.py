"""The hazard ledger and the escalation scheduler on a province: 5,100 schools, 102,000 hazards.

Ledger pages are read through `twin.riskmap.read_ledger` in a transaction scoped the way the server scopes
one (`twin_begin_request`), for an analyst of a school, a county, a city and the province. The scheduler
fires 10,000 due escalation steps with `run_due` (batches of 100, as the server does) and is timed per
step, then timed once more with nothing due (the cost of one idle tick on a table of done steps).
"""

from __future__ import annotations

import asyncio
import os
import platform
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import partial

import psycopg
from rich.console import Console

from bench.common import Timing, bench_database, connect, write_section
from bench.scope import PROVINCE_TREE
from twin.access.scope import Caller, begin_request
from twin.config import Settings
from twin.db.engine import async_engine
from twin.riskmap import LedgerFilter, read_ledger, run_due
from twin.riskmap.ledger import to_csv

CITIES, COUNTIES_PER_CITY, SCHOOLS_PER_COUNTY, HAZARDS_PER_SCHOOL = 17, 10, 30, 20
N_SCHOOLS = CITIES * COUNTIES_PER_CITY * SCHOOLS_PER_COUNTY
DUE_STEPS = 10_000
NOW = datetime(2026, 12, 31, tzinfo=UTC)
console = Console()

POPULATE = """
SET session_replication_role = replica;
{tree}
INSERT INTO hazards (org_path, campus_id, number, name, category, grade, state, found_at, deadline, geom)
  SELECT c.org_path, c.id, 'YH-' || c.code || '-2026-' || lpad(n::text, 4, '0'), 'hazard ' || n,
         (ARRAY['fire','laboratory','canteen','traffic','buildings'])[1 + n %% 5],
         CASE WHEN n %% 10 = 0 THEN 'major' ELSE 'general' END,
         (ARRAY['reported','confirmed','assigned','rectifying','submitted','accepted','closed','closed'])
           [1 + (n + c.id) %% 8],
         timestamptz '2026-01-05 02:00+00' + ((n * 13 + c.id) %% 330) * interval '1 day',
         timestamptz '2026-01-12 10:00+00' + ((n * 13 + c.id) %% 330) * interval '1 day',
         ST_Centroid(c.boundary)
    FROM campuses c CROSS JOIN generate_series(1, %(hazards)s) n;
SET session_replication_role = origin;
ANALYZE;
"""

ANALYSTS = (
    "INSERT INTO users (username, password_hash, role, org_id, org_path)"
    " SELECT %s, 'x', 'analyst', id, path FROM org_units WHERE path = %s::ltree"
    " ON CONFLICT (username) DO NOTHING"
)


def populate(conn: psycopg.Connection) -> None:
    if conn.execute("SELECT count(*) FROM hazards").fetchone() == (N_SCHOOLS * HAZARDS_PER_SCHOOL,):
        return
    conn.execute("SET session_replication_role = replica")  # audit_log refuses TRUNCATE by design
    conn.execute(
        "TRUNCATE org_units, campuses, hazards, users, escalations, notifications RESTART IDENTITY CASCADE"
    )
    params = {
        "cities": CITIES,
        "counties": COUNTIES_PER_CITY,
        "per_county": SCHOOLS_PER_COUNTY,
        "hazards": HAZARDS_PER_SCHOOL,
    }
    with console.status(f"generating {N_SCHOOLS * HAZARDS_PER_SCHOOL:,} hazards in {N_SCHOOLS:,} schools…"):
        for statement in filter(str.strip, POPULATE.replace("{tree}", PROVINCE_TREE).split(";\n")):
            conn.execute(statement, params)


def analysts(conn: psycopg.Connection) -> dict[str, int]:
    """An analyst per level: the first school, its county, its city, the province; level -> user id."""
    first = "SELECT path::text FROM org_units WHERE level = 'school' ORDER BY id LIMIT 1"
    school = conn.execute(first).fetchone()
    assert school is not None
    parts = school[0].split(".")
    ids = {}
    for level, depth in (("school", 4), ("county", 3), ("city", 2), ("province", 1)):
        conn.execute(ANALYSTS, (f"bench_{level}", ".".join(parts[:depth])))
        row = conn.execute("SELECT id FROM users WHERE username = %s", (f"bench_{level}",)).fetchone()
        assert row is not None
        ids[level] = row[0]
    return ids


def due_steps(conn: psycopg.Connection) -> None:
    """DUE_STEPS escalation steps of open hazards, due by NOW, one per level in turn."""
    conn.execute("SET session_replication_role = replica")
    conn.execute("DELETE FROM notifications")
    conn.execute("DELETE FROM escalations")
    conn.execute(
        "INSERT INTO escalations (org_path, hazard_id, step, level, deadline, due_at)"
        " SELECT org_path, id, 0, (ARRAY['person','school','county','city','province'])[1 + id %% 5],"
        " deadline, deadline FROM hazards"
        " WHERE state IN ('confirmed', 'assigned', 'rectifying') AND deadline < %s"
        " ORDER BY id LIMIT %s",
        (NOW, DUE_STEPS),
    )
    conn.execute("SET session_replication_role = origin")
    conn.execute("VACUUM ANALYZE escalations")


async def timed(label: str, fn: Callable[[], Awaitable[object]], repeat: int = 15, warmup: int = 2) -> Timing:
    for _ in range(warmup):
        await fn()
    timing = Timing(label)
    for _ in range(repeat):
        start = time.perf_counter()
        await fn()
        timing.seconds.append(time.perf_counter() - start)
    return timing


async def ledger_timings(settings: Settings, users: dict[str, int]) -> list[Timing]:
    engine = async_engine(settings.db)
    timings = []
    try:
        for level, uid in users.items():

            async def page(uid: int = uid, f: LedgerFilter = LedgerFilter()) -> int:
                async with engine.begin() as conn:
                    caller = await begin_request(conn, uid, 1)
                    assert isinstance(caller, Caller)
                    _, total = await read_ledger(conn, caller, f, NOW, 100, 0)
                    return total

            timings.append(await timed(f"ledger page, {level} analyst", page))
            overdue = LedgerFilter(overdue=True, grades=("major",))
            timings.append(await timed(f"overdue major hazards, {level} analyst", partial(page, f=overdue)))

        async def county_csv() -> int:
            async with engine.begin() as conn:
                caller = await begin_request(conn, users["county"], 1)
                assert caller is not None
                rows, _ = await read_ledger(conn, caller, LedgerFilter(), NOW, 10_000, 0)
                return len(to_csv(rows))

        timings.append(await timed("whole county ledger as CSV (6,000 rows)", county_csv, repeat=5))
    finally:
        await engine.dispose()
    return timings


async def scheduler_timings(settings: Settings) -> tuple[float, int, Timing]:
    engine = async_engine(settings.db)
    try:
        fired, start = 0, time.perf_counter()
        while True:
            async with engine.begin() as conn:
                n = len(await run_due(conn, NOW))
            fired += n
            if n == 0:
                break
        elapsed = time.perf_counter() - start

        async def idle() -> None:
            async with engine.begin() as conn:
                await run_due(conn, NOW)

        return elapsed, fired, await timed("idle tick (nothing due)", idle)
    finally:
        await engine.dispose()


def main() -> None:
    settings = bench_database("twin_bench_hazards")
    with connect(settings) as owner:
        populate(owner)
        users = analysts(owner)
        due_steps(owner)
    ledger = asyncio.run(ledger_timings(settings, users))
    elapsed, fired, idle = asyncio.run(scheduler_timings(settings))
    load = os.getloadavg()[0]
    lines = [
        f"{N_SCHOOLS:,} schools, {N_SCHOOLS * HAZARDS_PER_SCHOOL:,} hazards;"
        f" {platform.processor() or platform.machine()},"
        f" {os.cpu_count()} cores, load average {load:.1f} at the end of the run (a shared machine: compare"
        " rows with each other, not with other sections); PostgreSQL on the private cluster; medians of 15"
        " runs (CSV: 5).",
        "",
        "| what | median ms |",
        "|---|---:|",
        *(f"| {t.label} | {t.median_ms:.1f} |" for t in ledger),
        "",
        f"Escalation: {fired:,} due steps fired by `run_due` in batches of 100 in {elapsed:.1f} s"
        f" ({fired / elapsed:,.0f} steps/s, {elapsed / max(fired, 1) * 1000:.2f} ms per step: claim, re-check"
        f" the hazard, store the notification through `twin_notify`); an idle tick over {fired:,} done steps:"
        f" {idle.median_ms:.1f} ms (partial index on pending steps).",
    ]
    body = "\n".join(lines)
    console.print(body)
    write_section("Hazard ledger and escalation (bench/hazards.py)", body)


if __name__ == "__main__":
    main()
