"""A school day of GPS fixes for the province's buses: what the bus tracking would have stored.

Each chosen bus drives its own route back and forth at a steady KMH during the morning and afternoon
school runs (local time, SCHOOL_RUNS; each bus starts at its own point of the loop), one fix every FIX_S
seconds: 480 fixes a bus, 4.8M rows for 10,000 buses.
The rows are made by the database itself from the routes (`ST_LineInterpolatePoint` along the route),
a block of buses per statement, straight into the month's partition of `positions` (made first with
`twin_ensure_month_partition`); triggers are off for the load as in twin.samples.copyload (no per-row
NOTIFY or audit for historic fixes).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import psycopg

FIX_S = 30
SCHOOL_RUNS = (("06:30", "08:30"), ("16:00", "18:00"))  # local start and end
KMH = 30.0
TZ = "Asia/Shanghai"

DAY_SQL = """
INSERT INTO positions (vehicle_id, time, org_path, speed_kmh, heading, received_at, geom)
SELECT b.id, x.t, b.org_path, %(kmh)s, degrees(ST_Azimuth(x.here, x.ahead)), x.t + interval '2 seconds',
       x.here
  FROM (SELECT v.id, v.org_path, r.geom AS route, greatest(ST_Length(r.geom::geography), 100) AS metres
          FROM vehicles v JOIN bus_routes r ON r.id = v.route_id
         WHERE v.id > %(after)s
         ORDER BY v.id LIMIT %(block)s) b
 CROSS JOIN LATERAL (
        SELECT g.t, ST_LineInterpolatePoint(b.route, s.f) AS here,
               ST_LineInterpolatePoint(b.route, least(greatest(s.f + 0.001 * s.dir, 0), 1)) AS ahead
          FROM generate_series(%(start)s::timestamptz, %(end)s::timestamptz - interval '1 second',
                               make_interval(secs => %(fix_s)s)) g(t),
               LATERAL (SELECT mod((extract(epoch FROM g.t - %(start)s::timestamptz) * %(kmh)s / 3.6
                                    + b.id * 97)::numeric, (2 * b.metres)::numeric)::float8 AS d) p,
               LATERAL (SELECT CASE WHEN p.d <= b.metres THEN p.d / b.metres ELSE 2 - p.d / b.metres END AS f,
                               CASE WHEN p.d <= b.metres THEN 1 ELSE -1 END AS dir) s) x
"""


def _runs(day: date) -> list[dict[str, Any]]:
    runs = []
    for start, end in SCHOOL_RUNS:
        t0, t1 = f"{day.isoformat()} {start} {TZ}", f"{day.isoformat()} {end} {TZ}"
        runs.append({"start": t0, "end": t1, "kmh": KMH, "fix_s": FIX_S})
    return runs


def load_day_positions(
    dsn: str, day: date, buses: int, *, block: int = 500, progress: Callable[[int], None] | None = None
) -> int:
    """Fixes of `buses` buses (those with a route, lowest ids first) for `day`; returns rows stored."""
    stored = 0
    with psycopg.connect(dsn, autocommit=True) as conn:
        for run in _runs(day):  # a local day can straddle two UTC months
            for edge in (run["start"], run["end"]):
                conn.execute("SELECT twin_ensure_month_partition('positions', %s::timestamptz)", (edge,))
        after, done = 0, 0
        while done < buses:
            n = min(block, buses - done)
            with conn.transaction(), conn.cursor() as cur:
                cur.execute("SET LOCAL session_replication_role = replica")
                for run in _runs(day):
                    cur.execute(DAY_SQL, {**run, "after": after, "block": n})
                    stored += cur.rowcount
                last = cur.execute(
                    "SELECT max(id), count(*) FROM (SELECT v.id FROM vehicles v"
                    " WHERE v.route_id IS NOT NULL AND v.id > %s ORDER BY v.id LIMIT %s) s",
                    (after, n),
                ).fetchone()
            if last is None or not last[1]:
                break
            after, done = int(last[0]), done + int(last[1])
            if progress:
                progress(done)
        conn.execute("ANALYZE positions")
    return stored
