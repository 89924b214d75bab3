"""One risk-map edit on a province: the incremental roll-up (triggers, O(depth)) vs a full recount.

The dataset is bench/scope.py's: 2.5M risk points in 50,000 schools under 1 province, 17 cities and 170
counties, generated with SQL. The roll-up (risk_rollup) is then built once, set-based.

- incremental: `UPDATE risk_points SET level = …` (or a DELETE) as the server's edits run it, committed,
  with every trigger of the table (versions, audit, effective level, roll-up).
- recount (the naive peer): the same statement with no triggers at all, then the summaries of the edited
  point's path recounted from the points: per level, under each of its org units (school, county, city,
  province) and its campus. This is what refreshing the summaries costs without incremental upkeep; the
  peer skips versioning and audit, so the comparison favours it.
"""

from __future__ import annotations

import platform
import random
import time

import psycopg
from rich.console import Console

from bench.common import Timing, bench_database, connect, measure, write_section
from bench.scope import POINTS_PER_SCHOOL, SCHOOLS, populate

console = Console()
RECOUNT_ORG = "SELECT effective_level, count(*) FROM risk_points WHERE org_path <@ %s::ltree GROUP BY 1"
RECOUNT_CAMPUS = "SELECT effective_level, count(*) FROM risk_points WHERE campus_id = %s GROUP BY 1"


def prepare(conn: psycopg.Connection) -> None:
    """bench/scope.py's points (bulk-loaded without triggers), graded and rolled up once."""
    populate(conn)
    missing = conn.execute("SELECT 1 FROM risk_points WHERE effective_level IS NULL LIMIT 1").fetchone()
    if missing:
        with console.status("setting effective levels of the bulk-loaded points…"):
            conn.execute("SET session_replication_role = replica")
            conn.execute("UPDATE risk_points SET effective_level = level WHERE effective_level IS NULL")
            conn.execute("SET session_replication_role = origin")
            conn.execute("VACUUM ANALYZE risk_points")
    if not conn.execute("SELECT 1 FROM risk_rollup WHERE key = 'org:410000'").fetchone():
        with console.status("building the roll-up once…"):
            start = time.perf_counter()
            conn.execute("SELECT twin_rollup_rebuild()")
            console.print(f"roll-up built in {time.perf_counter() - start:.1f} s")
            conn.execute("ANALYZE risk_rollup")


def sample_points(conn: psycopg.Connection, n: int) -> list[tuple[int, int, str, int]]:
    top = conn.execute("SELECT max(id) FROM risk_points").fetchone()[0]  # type: ignore[index]
    rng = random.Random(5)  # noqa: S311 - a reproducible sample, not a secret
    rows: list[tuple[int, int, str, int]] = []
    while len(rows) < n:
        row = conn.execute(
            "SELECT id, level, org_path::text, campus_id FROM risk_points WHERE id = %s",
            (rng.randint(1, top),),
        ).fetchone()
        if row:
            rows.append(row)
    return rows


def edit_incremental(conn: psycopg.Connection, points: list[tuple[int, int, str, int]]) -> Timing:
    cycle = iter(points * 4)

    def one() -> None:
        pid, level, _, _ = next(cycle)
        conn.execute("UPDATE risk_points SET level = %s WHERE id = %s", (1 + level % 4, pid))

    return measure("incremental", one)


def keep_copies(conn: psycopg.Connection, points: list[tuple[int, int, str, int]]) -> None:
    """Copies of the points a delete will remove, put back afterwards: the dataset stays as generated."""
    conn.execute("DROP TABLE IF EXISTS bench_gone")
    conn.execute(
        "CREATE TEMP TABLE bench_gone AS SELECT * FROM risk_points WHERE id = ANY(%s)",
        ([p[0] for p in points],),
    )


def put_back(conn: psycopg.Connection) -> None:
    # Past the deleted version and its tombstone, as a restore would be.
    conn.execute("UPDATE bench_gone SET version = version + 2")
    conn.execute("INSERT INTO risk_points SELECT * FROM bench_gone ON CONFLICT (id) DO NOTHING")


def delete_incremental(conn: psycopg.Connection, points: list[tuple[int, int, str, int]]) -> Timing:
    cycle = iter(points)
    keep_copies(conn, points)

    def one() -> None:
        conn.execute("DELETE FROM risk_points WHERE id = %s", (next(cycle)[0],))

    try:
        return measure("delete incremental", one)
    finally:
        put_back(conn)


def edit_recount(conn: psycopg.Connection, points: list[tuple[int, int, str, int]], delete: bool) -> Timing:
    keep_copies(conn, points)
    conn.execute("SET session_replication_role = replica")  # no triggers: the peer keeps no roll-up
    cycle = iter(points * 4)

    def one() -> None:
        pid, level, path, campus = next(cycle)
        with conn.transaction():
            if delete:
                conn.execute("DELETE FROM risk_points WHERE id = %s", (pid,))
            else:
                conn.execute("UPDATE risk_points SET level = %s WHERE id = %s", (1 + level % 4, pid))
            labels = path.split(".")
            for n in range(1, len(labels) + 1):
                conn.execute(RECOUNT_ORG, (".".join(labels[:n]),)).fetchall()
            conn.execute(RECOUNT_CAMPUS, (campus,)).fetchall()

    try:
        return measure("delete recount" if delete else "recount", one, repeat=7, warmup=1)
    finally:
        put_back(conn)
        conn.execute("SET session_replication_role = origin")


def consistent(conn: psycopg.Connection) -> bool:
    """The province row after all the edits equals a recount of the points."""
    kept = conn.execute("SELECT points FROM risk_rollup WHERE key = 'org:410000'").fetchone()[0]  # type: ignore[index]
    counted = dict(conn.execute("SELECT effective_level, count(*) FROM risk_points GROUP BY 1").fetchall())
    return list(kept) == [counted.get(level, 0) for level in range(1, 5)]


def run() -> str:
    settings = bench_database("twin_bench_riskmap")
    with connect(settings) as conn:
        prepare(conn)
        points = sample_points(conn, 60)
        edit = edit_incremental(conn, points[:20])
        gone = delete_incremental(conn, points[20:40])
        ok = consistent(conn)
        peer = edit_recount(conn, points[40:50], delete=False)
        peer_delete = edit_recount(conn, points[50:60], delete=True)
        conn.execute("SELECT twin_rollup_rebuild()")  # the peer's edits bypassed the triggers
        rebuild = measure("rebuild", lambda: conn.execute("SELECT twin_rollup_rebuild()"), repeat=1, warmup=0)
        n = conn.execute("SELECT count(*) FROM risk_points").fetchone()[0]  # type: ignore[index]
    for t in (edit, gone, peer, peer_delete, rebuild):
        console.print(f"{t.label:20} {t.median_ms:10.2f} ms")
    return report(n, edit, gone, peer, peer_delete, rebuild, ok)


def report(
    n: int, edit: Timing, gone: Timing, peer: Timing, peer_delete: Timing, rebuild: Timing, ok: bool
) -> str:
    return "\n".join(
        [
            f"risk_points: {n:,} rows in {SCHOOLS:,} schools ({POINTS_PER_SCHOOL} each), 1 province,",
            f"17 cities, 170 counties; PostgreSQL + PostGIS on {platform.machine()}, 2 cores shared.",
            "Median of 15 edits (incremental, each committed) and of 7 (recount); other points each time.",
            "",
            "Reproduce: `.venv/bin/python -m bench riskmap` (bench/scope.py's data, kept between runs).",
            "",
            "incremental = the edit with every trigger (versions, audit, effective level, roll-up along its",
            "path: school, county, city, province, campus). recount = the edit with no trigger, then the",
            "counts per level under each org unit of its path and its campus recounted from the points.",
            "",
            "| edit | incremental roll-up ms | full recount of its path ms | recount / incremental |",
            "|---|---:|---:|---:|",
            f"| change of a point's level | {edit.median_ms:.2f} | {peer.median_ms:.2f} | "
            f"{peer.median_ms / edit.median_ms:.0f}x |",
            f"| delete of a point | {gone.median_ms:.2f} | {peer_delete.median_ms:.2f} | "
            f"{peer_delete.median_ms / gone.median_ms:.0f}x |",
            "",
            f"Goal ≤ 100 ms per edit: {'met' if max(edit.median_ms, gone.median_ms) <= 100 else 'NOT met'}. "
            f"Province counts after the edits equal a recount: {'yes' if ok else 'NO'}. "
            f"Rebuilding the whole roll-up (set-based, all {n:,} points): {rebuild.median_ms / 1000:.1f} s.",
        ]
    )


def main() -> None:
    write_section("Risk map: one edit and its roll-up on a province", run())


if __name__ == "__main__":
    main()
