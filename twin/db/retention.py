"""Retention of the monthly-partitioned logs: make the coming months, retire the old ones.

`positions`, `alert_events` and `bus_incidents` only grow; a month is retired by detaching and dropping
its partition (optionally dumped to GeoParquet first), which is O(1) where a `DELETE` of a month of fixes
is not, and fires no row or statement trigger: the statistics' summaries (`stats_bus_incidents`) keep the
retired months' counts. `twin_stats_rebuild()` recomputes summaries from the rows still stored, so run it
only for a bulk load, never after a retirement, or the retired months' counts go with their rows.

Each month is retired in its own short transaction: the partition is locked against writes, dumped,
detached and dropped, so a failure leaves that month whole (the dump file is replaced on the next run).
`DETACH … CONCURRENTLY` is not used: it cannot run in a transaction (the dump and the drop would no longer
be one unit) and PostgreSQL refuses it on a table with a default partition, which `alert_events` and
`bus_incidents` have. A plain DETACH holds the parent's lock for milliseconds; `lock_timeout` keeps it
from queueing behind a long query with the ingest queued behind it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Connection, Engine, text

from twin.db.parquet_dump import dump_table
from twin.errors import InvalidInput

TABLES = ("positions", "alert_events", "bus_incidents")  # the monthly-partitioned tables
AHEAD_MONTHS = 12  # months made ahead of the current one, as the migrations do
LOCK_TIMEOUT = "5s"


@dataclass(frozen=True)
class MonthPartition:
    table: str
    name: str
    start: datetime
    end: datetime
    estimated_rows: int  # the planner's estimate (-1: never analysed); an exact count is a full scan


@dataclass(frozen=True)
class Retired:
    partition: MonthPartition
    rows: int | None  # rows dumped; None without a dump
    file: Path | None


# A range bound reads "FOR VALUES FROM ('…') TO ('…')" in the session's time zone, which casts back exactly.
_BOUNDS = r"FROM \(''([^'']+)''\) TO \(''([^'']+)''\)"
_PARTITIONS = text(f"""
SELECT c.relname AS name, b[1]::timestamptz AS start, b[2]::timestamptz AS end,
       c.reltuples::bigint AS estimated_rows
  FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid,
       LATERAL regexp_match(pg_get_expr(c.relpartbound, c.oid), '{_BOUNDS}') b
 WHERE i.inhparent = CAST(:table AS regclass) AND b IS NOT NULL
 ORDER BY 2
""")


def month_partitions(conn: Connection, table: str) -> list[MonthPartition]:
    """The table's range partitions, oldest first (the default partition is not a month)."""
    _check_table(table)
    return [MonthPartition(table, **r._asdict()) for r in conn.execute(_PARTITIONS, {"table": table})]


def first_kept(now: datetime, keep_months: int) -> datetime:
    """Start of the oldest month kept: the current month and the `keep_months` whole months before it."""
    if keep_months < 1:
        raise InvalidInput(f"keep at least 1 month, not {keep_months}")
    months = now.astimezone(UTC).year * 12 + now.astimezone(UTC).month - 1 - keep_months
    return datetime(months // 12, months % 12 + 1, 1, tzinfo=UTC)


def expired(conn: Connection, table: str, keep_months: int, now: datetime) -> list[MonthPartition]:
    """The months that end before the oldest kept month starts."""
    cutoff = first_kept(now, keep_months)
    return [p for p in month_partitions(conn, table) if p.end <= cutoff]


def missing_ahead(conn: Connection, table: str, now: datetime, months: int = AHEAD_MONTHS) -> list[str]:
    """Partitions of the current and next `months` months that do not exist yet."""
    _check_table(table)
    query = text("""
SELECT n FROM generate_series(date_trunc('month', CAST(:now AS timestamptz) AT TIME ZONE 'UTC'),
                              date_trunc('month', CAST(:now AS timestamptz) AT TIME ZONE 'UTC')
                              + make_interval(months => :months), interval '1 month') AS m,
       LATERAL (SELECT :table || '_' || to_char(m, 'YYYY_MM') AS n) AS named
 WHERE to_regclass(n) IS NULL ORDER BY n
""")
    return list(conn.execute(query, {"now": now, "months": months, "table": table}).scalars())


def ensure_ahead(conn: Connection, table: str, now: datetime, months: int = AHEAD_MONTHS) -> list[str]:
    """Make the current and next `months` months' partitions (rows of them waiting in a default
    partition move in); the names made."""
    made = missing_ahead(conn, table, now, months)
    query = text("""
SELECT twin_ensure_month_partition(CAST(:table AS regclass), m AT TIME ZONE 'UTC')
  FROM generate_series(date_trunc('month', CAST(:now AS timestamptz) AT TIME ZONE 'UTC'),
                       date_trunc('month', CAST(:now AS timestamptz) AT TIME ZONE 'UTC')
                       + make_interval(months => :months), interval '1 month') AS m
""")
    conn.execute(query, {"table": table, "now": now, "months": months})
    return made


def retire_month(engine: Engine, partition: MonthPartition, export_dir: Path | None = None) -> Retired:
    """Dump (if asked), detach and drop one month in one transaction."""
    with engine.begin() as conn:
        quoted = _quote(partition.name)
        conn.execute(text(f"LOCK TABLE {quoted} IN SHARE MODE"))  # no late write is dumped and then lost
        rows, file = None, None
        if export_dir is not None:
            file = export_dir / f"{partition.name}.parquet"
            rows = dump_table(conn, partition.name, file, geometry_of=partition.table)
        conn.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
        conn.execute(text(f"ALTER TABLE {_quote(partition.table)} DETACH PARTITION {quoted}"))
        conn.execute(text(f"DROP TABLE {quoted}"))
    return Retired(partition, rows, file)


def retire_months(
    engine: Engine,
    table: str,
    keep_months: int,
    *,
    now: datetime | None = None,
    export_dir: Path | None = None,
    dry_run: bool = False,
    on_month: Callable[[MonthPartition], None] | None = None,
) -> tuple[list[str], list[Retired]]:
    """Make the months ahead, then retire those older than `keep_months`: (partitions made, retired).

    A dry run changes nothing and reports what would be made and retired (rows are estimates).
    """
    now = now or datetime.now(UTC)
    first_kept(now, keep_months)  # refused before anything is made
    with engine.begin() as conn:
        made = missing_ahead(conn, table, now) if dry_run else ensure_ahead(conn, table, now)
        old = expired(conn, table, keep_months, now)
    if dry_run:
        return made, [Retired(p, None, None) for p in old]
    retired = []
    for partition in old:
        if on_month is not None:
            on_month(partition)
        retired.append(retire_month(engine, partition, export_dir))
    return made, retired


def _check_table(table: str) -> None:
    if table not in TABLES:
        raise InvalidInput(f"{table} is not a monthly-partitioned table; one of {', '.join(TABLES)}")


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
