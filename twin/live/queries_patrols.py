"""SQL of patrols: devices, visits, the checks of each shift and coverage (bound parameters only)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncConnection

_DEVICE = text("""
SELECT id, device_id, campus_id, person_id, org_path::text AS org_path,
       subpath(org_path, -1)::text AS school_code
  FROM patrol_devices WHERE device_id = :device
""")


def find_device(conn: Connection, device_id: str) -> dict[str, Any] | None:
    row = conn.execute(_DEVICE, {"device": device_id}).mappings().first()
    return dict(row) if row else None


async def find_device_async(conn: AsyncConnection, device_id: str) -> dict[str, Any] | None:
    row = (await conn.execute(_DEVICE, {"device": device_id})).mappings().first()
    return dict(row) if row else None


_BY_TAG = text("""
SELECT id, org_path::text AS org_path FROM patrol_checkpoints
 WHERE tag_id = :tag AND org_path = CAST(:org AS ltree)
""")


def checkpoint_by_tag(conn: Connection, org_path: str, tag: str) -> dict[str, Any] | None:
    row = conn.execute(_BY_TAG, {"tag": tag, "org": org_path}).mappings().first()
    return dict(row) if row else None


_VISIT = text("""
INSERT INTO patrol_visits (org_path, event_id, checkpoint_id, device_id, person_id, source, time, geom)
SELECT cp.org_path, :event_id, cp.id, :device, :person, :source, :time,
       coalesce(ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), cp.geom)
  FROM patrol_checkpoints cp WHERE cp.id = :checkpoint
ON CONFLICT (event_id) DO NOTHING RETURNING id
""")


def insert_visit(
    conn: Connection,
    event_id: str,
    checkpoint: dict[str, Any],
    device: dict[str, Any],
    source: str,
    time: datetime,
    where: tuple[float, float] | None,
) -> bool:
    """Record a visit (at the fix, or at the checkpoint for a tag); False when it was recorded before."""
    params = {
        "event_id": event_id,
        "checkpoint": checkpoint["id"],
        "device": device["id"],
        "person": device["person_id"],
        "source": source,
        "time": time,
        "lon": where[0] if where else None,
        "lat": where[1] if where else None,
    }
    return conn.execute(_VISIT, params).first() is not None


# A fix within a checkpoint's radius (metres, on the spheroid) of the guard's campus is a visit there.
_FIX_VISITS = text("""
INSERT INTO patrol_visits (org_path, event_id, checkpoint_id, device_id, person_id, source, time, geom)
SELECT cp.org_path, 'gps:' || :device_code || ':' || :epoch || ':' || cp.id, cp.id, :device, :person, 'gps',
       :time, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)
  FROM patrol_checkpoints cp JOIN patrol_routes r ON r.id = cp.route_id
 WHERE r.campus_id = :campus
   AND ST_DWithin(cp.geom::geography, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography, cp.radius_m)
ON CONFLICT (event_id) DO NOTHING RETURNING checkpoint_id
""")


async def visits_from_fix(
    conn: AsyncConnection, device: dict[str, Any], time: datetime, lon: float, lat: float
) -> list[int]:
    """Visits a guard's fix makes; the checkpoints visited (none when it is near none)."""
    params = {
        "device_code": device["device_id"],
        "epoch": f"{time.timestamp():.3f}",
        "device": device["id"],
        "person": device["person_id"],
        "campus": device["campus_id"],
        "time": time,
        "lon": lon,
        "lat": lat,
    }
    return [int(r) for r in (await conn.execute(_FIX_VISITS, params)).scalars()]


# One check per checkpoint per shift that began in (since, now] (and since the schedule exists), on the
# schedule's weekdays, in its local time.
_PLAN = text("""
INSERT INTO patrol_checks
       (org_path, schedule_id, checkpoint_id, shift_start, shift_end, due_at, tolerance_min)
SELECT s.org_path, s.id, cp.id, x.start, x.start + make_interval(mins => s.duration_min),
       x.start + make_interval(secs => cp.offset_min * 60), s.tolerance_min
  FROM patrol_schedules s
  JOIN patrol_checkpoints cp ON cp.route_id = s.route_id
  CROSS JOIN LATERAL (
      SELECT (d::date + s.starts) AT TIME ZONE s.tz AS start
        FROM generate_series((CAST(:since AS timestamptz) AT TIME ZONE s.tz)::date,
                             (CAST(:now AS timestamptz) AT TIME ZONE s.tz)::date, interval '1 day') d
       WHERE strpos(s.weekdays, extract(isodow FROM d)::int::text) > 0) x
 WHERE x.start > :since AND x.start <= :now
   AND x.start >= s.created_at  -- a new schedule does not report the shifts before it as missed
ON CONFLICT (schedule_id, checkpoint_id, due_at) DO NOTHING
""")


def plan_checks(conn: Connection, now: datetime, since: datetime) -> int:
    return int(conn.execute(_PLAN, {"now": now, "since": since}).rowcount or 0)


# Checks not yet settled for good (pending, or missed that a late visit may still turn late), with the
# first visit inside the tolerance window and the first after it within the shift.
_OPEN = text("""
SELECT c.id, c.org_path::text AS org_path, c.schedule_id, c.checkpoint_id, c.due_at, c.tolerance_min,
       c.shift_end, c.status, s.name AS schedule_name, r.id AS route_id, r.code AS route_code,
       r.name AS route_name, r.campus_id, cp.code AS checkpoint_code, cp.name AS checkpoint_name,
       ST_X(cp.geom) AS lon, ST_Y(cp.geom) AS lat,
       ot.id AS on_time_visit, ot.time AS on_time_at, lt.id AS late_visit, lt.time AS late_at
  FROM patrol_checks c
  JOIN patrol_schedules s ON s.id = c.schedule_id
  JOIN patrol_checkpoints cp ON cp.id = c.checkpoint_id
  JOIN patrol_routes r ON r.id = cp.route_id
  LEFT JOIN LATERAL (
      SELECT v.id, v.time FROM patrol_visits v
       WHERE v.checkpoint_id = c.checkpoint_id AND v.time <= :now
         AND v.time BETWEEN c.due_at - make_interval(mins => c.tolerance_min)
                        AND c.due_at + make_interval(mins => c.tolerance_min)
       ORDER BY v.time LIMIT 1) ot ON true
  LEFT JOIN LATERAL (
      SELECT v.id, v.time FROM patrol_visits v
       WHERE v.checkpoint_id = c.checkpoint_id AND v.time <= :now
         AND v.time > c.due_at + make_interval(mins => c.tolerance_min) AND v.time <= c.shift_end
       ORDER BY v.time LIMIT 1) lt ON true
 WHERE c.status IN ('pending', 'missed') AND c.due_at > :since
   AND c.due_at - make_interval(mins => c.tolerance_min) <= :now
 ORDER BY c.due_at, c.id
 LIMIT :limit
   FOR UPDATE OF c SKIP LOCKED
""")


def open_checks(conn: Connection, now: datetime, since: datetime, limit: int) -> list[dict[str, Any]]:
    """Checks to judge, locked so that two schedulers never judge one twice."""
    params = {"now": now, "since": since, "limit": limit}
    return [dict(r) for r in conn.execute(_OPEN, params).mappings()]


def set_status(
    conn: Connection, check_id: int, status: str, visit_id: int | None, visited_at: datetime | None
) -> None:
    query = text(
        "UPDATE patrol_checks SET status = :status, visit_id = :visit, visited_at = :at WHERE id = :id"
    )
    conn.execute(query, {"status": status, "visit": visit_id, "at": visited_at, "id": check_id})


# Coverage per route and shift: checks judged (not pending) and how many were on time, late, missed.
_COVERAGE = """
SELECT r.id AS route_id, r.code AS route_code, r.name AS route_name, s.id AS schedule_id,
       s.name AS schedule_name, count(*) FILTER (WHERE c.status <> 'pending') AS judged,
       count(*) FILTER (WHERE c.status = 'on_time') AS on_time,
       count(*) FILTER (WHERE c.status = 'late') AS late,
       count(*) FILTER (WHERE c.status = 'missed') AS missed
  FROM patrol_checks c
  JOIN patrol_schedules s ON s.id = c.schedule_id
  JOIN patrol_routes r ON r.id = s.route_id
 WHERE c.due_at >= :start AND c.due_at < :end {scope}
 GROUP BY r.id, r.code, r.name, s.id, s.name
 ORDER BY r.code, s.name
"""
_IN_SCOPE = "AND c.org_path <@ CAST(:scope AS ltree)"  # twin.access.planner_scope: sizes the plan


async def coverage(
    conn: AsyncConnection, start: datetime, end: datetime, scope: str | None
) -> list[dict[str, Any]]:
    """Per route and shift in [start, end): checks judged, on time, late, missed, and the % on time."""
    query = text(_COVERAGE.format(scope=_IN_SCOPE if scope is not None else ""))
    rows = (await conn.execute(query, {"start": start, "end": end, "scope": scope})).mappings()
    return [
        {**r, "on_time_pct": round(100.0 * r["on_time"] / r["judged"], 1) if r["judged"] else None}
        for r in rows
    ]
