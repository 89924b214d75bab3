"""SQL of the ingest and escalation workers (sync, as the schema owner: a device is nobody's session).

The server's own reads (snapshots, acknowledgements) are in queries.py and run under the caller's scope.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from twin.live.events import SensorEvent


@dataclass(frozen=True)
class SensorRow:
    id: int
    org_path: str
    school_code: str
    campus_id: int
    building_id: int | None
    floor: int | None
    height_m: float | None
    lon: float
    lat: float


_SENSOR_COLUMNS = """
SELECT id, org_path::text AS org_path, subpath(org_path, -1)::text AS school_code, campus_id, building_id,
       floor, height_m, ST_X(geom) AS lon, ST_Y(geom) AS lat"""
_SENSOR = text(f"{_SENSOR_COLUMNS}, device_id FROM sensors WHERE device_id = :device")
_SENSORS = text(f"{_SENSOR_COLUMNS}, device_id FROM sensors WHERE device_id = ANY(:devices)")


def find_sensor(conn: Connection, device_id: str) -> SensorRow | None:
    row = conn.execute(_SENSOR, {"device": device_id}).mappings().first()
    return _sensor(row) if row else None


def find_sensors(conn: Connection, device_ids: list[str]) -> dict[str, SensorRow]:
    """The registered ones among `device_ids`, in one query."""
    rows = conn.execute(_SENSORS, {"devices": device_ids}).mappings()
    return {row["device_id"]: _sensor(row) for row in rows}


def _sensor(row: Any) -> SensorRow:
    return SensorRow(**{k: v for k, v in row.items() if k != "device_id"})


# The common case in one round trip: not seen before, an active alert to count on, the id kept.
# `alert_events` is partitioned by the event's time and keyed (event_id, time): a redelivery carries its
# original time, so the lookup and the conflict read one month's partition (migration 0021).
_REPEAT_ONCE = text("""
WITH seen AS (SELECT 1 FROM alert_events WHERE event_id = :e AND time = :time),
upd AS (
    UPDATE alerts SET count = count + 1, last_at = greatest(last_at, :time), updated_at = now()
     WHERE sensor_id = :sensor AND type = :type AND cleared_at IS NULL AND NOT EXISTS (SELECT 1 FROM seen)
    RETURNING id),
kept AS (
    INSERT INTO alert_events (event_id, org_path, alert_id, severity, time, value, unit)
    SELECT :e, CAST(:org AS ltree), upd.id, :severity, :time, :value, :unit FROM upd
    ON CONFLICT (event_id, time) DO NOTHING RETURNING event_id)
SELECT EXISTS (SELECT 1 FROM seen) AS seen, (SELECT id FROM upd) AS alert_id,
       EXISTS (SELECT 1 FROM kept) AS kept
""")


@dataclass(frozen=True)
class Repeat:
    seen: bool  # the event id was taken in before
    alert_id: int | None  # the active alert counted on; None: there is none, raise one
    kept: bool  # the event id is now recorded (False with an alert id: another worker won the race)


def count_repeat_once(conn: Connection, sensor: SensorRow, event: SensorEvent) -> Repeat:
    """Skip a seen event, else count it on the active alert of (sensor, type) and keep its id."""
    params = {
        "e": event.event_id,
        "org": sensor.org_path,
        "sensor": sensor.id,
        "type": event.type,
        "severity": event.severity,
        "time": event.time,
        "value": event.value,
        "unit": event.unit,
    }
    row = conn.execute(_REPEAT_ONCE, params).one()
    return Repeat(bool(row.seen), row.alert_id, bool(row.kept))


# A whole batch in one statement: events of (sensor, type) pairs with an active alert count up on it (one
# UPDATE per alert, so one live event per alert per batch), their ids kept; the rest say why they were not.
_REPEAT_BATCH = text("""
WITH bulk AS (  -- read by the audit and live_alert triggers at statement end (migration 0023)
    SELECT set_config('twin.bulk', 'on', true), set_config('twin.alert_logged', 'on', true)),
ev AS (
    SELECT DISTINCT ON (e) *
      FROM unnest(CAST(:e AS text[]), CAST(:org AS text[]), CAST(:sensor AS int[]), CAST(:type AS text[]),
                  CAST(:severity AS text[]), CAST(:time AS timestamptz[]), CAST(:value AS float8[]),
                  CAST(:unit AS text[])) AS u(e, org, sensor, type, severity, time, value, unit)
     ORDER BY e
), fresh AS (
    SELECT ev.* FROM ev
     WHERE NOT EXISTS (SELECT 1 FROM alert_events a
                        -- the batch's time range, so only its months' partitions are probed
                        WHERE a.event_id = ev.e AND a.time = ev.time AND a.time BETWEEN :tmin AND :tmax)
), agg AS (
    SELECT sensor, type, count(*) AS n, max(time) AS t FROM fresh GROUP BY sensor, type
), locked AS (  -- in id order: two workers counting on the same alerts never wait on each other in a cycle
    SELECT a.id, agg.n, agg.t FROM alerts a JOIN agg ON a.sensor_id = agg.sensor AND a.type = agg.type
     WHERE a.cleared_at IS NULL ORDER BY a.id FOR UPDATE OF a
), upd AS (
    UPDATE alerts a SET count = a.count + l.n, last_at = greatest(a.last_at, l.t), updated_at = now()
      FROM locked l WHERE a.id = l.id
    RETURNING a.id, a.sensor_id, a.type, a.org_path, a.parent_id, twin_alert_body(a) AS body
), logged AS (  -- the deltas the live_alert trigger would log, in one insert; then their bells
    INSERT INTO live_events (org_path, kind, payload)
    SELECT org_path, 'alert', jsonb_build_object('action', 'repeated', 'alert', body)
      FROM upd WHERE parent_id IS NULL ORDER BY id
    RETURNING id, org_path
), rung AS (  -- one bell per 64 deltas, '<id> <path>;…' (a payload holds 8,000 bytes)
    SELECT count(pg_notify('twin_live', b)) AS n FROM (
        SELECT string_agg(id::text || ' ' || org_path::text, ';' ORDER BY id) AS b
          FROM (SELECT id, org_path, (row_number() OVER (ORDER BY id) - 1) / 64 AS part FROM logged) l
         GROUP BY part) bells
), kept AS (
    INSERT INTO alert_events (event_id, org_path, alert_id, severity, time, value, unit)
    SELECT f.e, CAST(f.org AS ltree), upd.id, f.severity, f.time, f.value, f.unit
      FROM fresh f JOIN upd ON upd.sensor_id = f.sensor AND upd.type = f.type
    ON CONFLICT (event_id, time) DO NOTHING RETURNING event_id
)
SELECT ev.e, f.e IS NULL AS seen, u.id AS alert_id, k.event_id IS NOT NULL AS kept
  FROM ev LEFT JOIN fresh f ON f.e = ev.e
  LEFT JOIN upd u ON u.sensor_id = ev.sensor AND u.type = ev.type
  LEFT JOIN kept k ON k.event_id = ev.e
 CROSS JOIN bulk CROSS JOIN rung
""")


def count_repeats(conn: Connection, found: list[tuple[SensorRow, SensorEvent]]) -> dict[str, Repeat]:
    """`count_repeat_once` for many events in one round trip; by event id (ids repeated in `found` once).

    The count-ups are not written to the audit log (each event is in `alert_events`, and a counter bumped
    by a device is nobody's edit): copying the whole alert row, context included, twice per batch and alert
    was most of the ingest's time. Raising, acknowledging and clearing stay audited.
    """
    rows = conn.execute(
        _REPEAT_BATCH,
        {
            "e": [e.event_id for _s, e in found],
            "org": [s.org_path for s, _e in found],
            "sensor": [s.id for s, _e in found],
            "type": [e.type for _s, e in found],
            "severity": [e.severity for _s, e in found],
            "time": [e.time for _s, e in found],
            "value": [e.value for _s, e in found],
            "unit": [e.unit for _s, e in found],
            "tmin": min(e.time for _s, e in found),
            "tmax": max(e.time for _s, e in found),
        },
    )
    repeats = {r.e: Repeat(bool(r.seen), None if r.seen else r.alert_id, bool(r.kept)) for r in rows}
    conn.execute(_BULK_OFF)  # the statement turned it on; what the transaction writes next is audited
    return repeats


_BULK_OFF = text(
    "SELECT set_config('twin.bulk', 'off', true), set_config('twin.alert_logged', 'off', true)"
)  # read by twin_audit(): the owner's bulk writes


def active_pairs(conn: Connection, sensor_ids: list[int]) -> set[tuple[int, str]]:
    """(sensor, type) of the active alerts of these sensors."""
    query = text("SELECT sensor_id, type FROM alerts WHERE cleared_at IS NULL AND sensor_id = ANY(:ids)")
    return {(int(r.sensor_id), str(r.type)) for r in conn.execute(query, {"ids": sorted(set(sensor_ids))})}


def undo_counts(conn: Connection, alerts: dict[int, int]) -> None:
    """Take back `n` counts of each alert: event ids another worker kept a moment earlier."""
    query = text("""
UPDATE alerts a SET count = a.count - u.n
  FROM unnest(CAST(:ids AS int[]), CAST(:ns AS int[])) AS u(id, n) WHERE a.id = u.id
""")
    conn.execute(query, {"ids": list(alerts), "ns": list(alerts.values())})


_RAISE = text("""
INSERT INTO alerts (org_path, campus_id, sensor_id, event_id, type, severity, first_at, last_at, parent_id,
                    context, geom)
VALUES (CAST(:org AS ltree), :campus, :sensor, :event_id, :type, :severity, :time, :time, :parent,
        CAST(:context AS jsonb), ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))
ON CONFLICT (sensor_id, type) WHERE cleared_at IS NULL
DO UPDATE SET count = alerts.count + 1, last_at = greatest(alerts.last_at, EXCLUDED.last_at),
              updated_at = now()
RETURNING id, (xmax = 0) AS inserted
""")


def raise_alert(
    conn: Connection, sensor: SensorRow, event: SensorEvent, parent_id: int | None, context: dict[str, Any]
) -> tuple[int, bool]:
    """(alert id, whether it is new): another worker may have raised it a moment ago, then it counts up."""
    row = conn.execute(
        _RAISE,
        {
            "org": sensor.org_path,
            "campus": sensor.campus_id,
            "sensor": sensor.id,
            "event_id": event.event_id,
            "type": event.type,
            "severity": event.severity,
            "time": event.time,
            "parent": parent_id,
            "context": json.dumps(context, ensure_ascii=False, default=str),
            "lon": sensor.lon,
            "lat": sensor.lat,
        },
    ).one()
    return int(row.id), bool(row.inserted)


def keep_event(conn: Connection, sensor: SensorRow, alert_id: int, event: SensorEvent) -> bool:
    """Record the event id; False when it is already there (a redelivery that raced this one)."""
    query = text("""
INSERT INTO alert_events (event_id, org_path, alert_id, severity, time, value, unit)
VALUES (:e, CAST(:org AS ltree), :alert, :severity, :time, :value, :unit)
ON CONFLICT (event_id, time) DO NOTHING RETURNING event_id
""")
    params = {
        "e": event.event_id,
        "org": sensor.org_path,
        "alert": alert_id,
        "severity": event.severity,
        "time": event.time,
        "value": event.value,
        "unit": event.unit,
    }
    return conn.execute(query, params).first() is not None


def undo_count(conn: Connection, alert_id: int, *, drop: bool) -> None:
    """Take back one event's count (or the alert it just raised); the event's time was counted already."""
    if drop:
        conn.execute(text("DELETE FROM alerts WHERE id = :id"), {"id": alert_id})
    else:
        conn.execute(text("UPDATE alerts SET count = count - 1 WHERE id = :id"), {"id": alert_id})


_PARENT = text("""
SELECT a.id FROM alerts a JOIN sensors s ON s.id = a.sensor_id
 WHERE s.building_id = :building AND a.type = ANY(:types) AND a.cleared_at IS NULL AND a.parent_id IS NULL
 ORDER BY a.id LIMIT 1
""")


def active_parent(conn: Connection, building_id: int, parent_types: list[str]) -> int | None:
    return conn.execute(_PARENT, {"building": building_id, "types": parent_types}).scalar_one_or_none()


_ADOPT = text("""
UPDATE alerts a SET parent_id = :parent, updated_at = now()
  FROM sensors s
 WHERE s.id = a.sensor_id AND s.building_id = :building AND a.type = ANY(:types)
   AND a.cleared_at IS NULL AND a.parent_id IS NULL AND a.id <> :parent
""")


def adopt_children(conn: Connection, parent_id: int, building_id: int, child_types: list[str]) -> None:
    """Active alerts of the building that the new parent alarm now inhibits."""
    conn.execute(_ADOPT, {"parent": parent_id, "building": building_id, "types": child_types})


def add_timers(conn: Connection, alert_id: int, org_path: str, steps: list[dict[str, Any]]) -> None:
    if not steps:
        return
    query = text("""
INSERT INTO alert_timers (org_path, alert_id, step, due_at, notify)
VALUES (CAST(:org AS ltree), :alert, :step, :due, CAST(:notify AS jsonb))
ON CONFLICT (alert_id, step) DO NOTHING
""")
    conn.execute(
        query,
        [
            {
                "org": org_path,
                "alert": alert_id,
                "step": s["step"],
                "due": s["due"],
                "notify": json.dumps(s["notify"]),
            }
            for s in steps
        ],
    )


# --- context -------------------------------------------------------------------------------------------

_BUILDING = text("""
SELECT id, code, name, use, floors, occupancy, base_elev_m, height_m FROM buildings WHERE id = :b
""")


def building(conn: Connection, building_id: int) -> dict[str, Any] | None:
    row = conn.execute(_BUILDING, {"b": building_id}).mappings().first()
    return dict(row) if row else None


_CAMERA = text("""
SELECT id, device_id, name, ST_X(geom) AS lon, ST_Y(geom) AS lat, height_m,
       round(ST_Distance(geom::geography,
                         ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography)::numeric, 1)::float
         AS distance_m
  FROM sensors
 WHERE campus_id = :campus AND type = 'camera'
 ORDER BY geom <-> ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)
 LIMIT 1
""")


def nearest_camera(conn: Connection, campus_id: int, lon: float, lat: float) -> dict[str, Any] | None:
    row = conn.execute(_CAMERA, {"campus": campus_id, "lon": lon, "lat": lat}).mappings().first()
    return dict(row) if row else None


# The zone containing the point wins over one merely tied to the building; then the graver risk (level 1).
_RESPONSIBLE = text("""
SELECT p.id, p.name, p.title, p.phone, z.code AS zone_code, z.name AS zone_name
  FROM risk_zones z JOIN people p ON p.id = z.responsible_person_id
 WHERE z.campus_id = :campus
   AND (ST_Contains(z.geom, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)) OR z.building_id = :building)
 ORDER BY ST_Contains(z.geom, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)) DESC,
          (z.floor IS NOT DISTINCT FROM :floor) DESC, z.level NULLS LAST, z.id
 LIMIT 1
""")


def responsible_person(
    conn: Connection, campus_id: int, lon: float, lat: float, building_id: int | None, floor: int | None
) -> dict[str, Any] | None:
    params = {"campus": campus_id, "lon": lon, "lat": lat, "building": building_id, "floor": floor}
    row = conn.execute(_RESPONSIBLE, params).mappings().first()
    return dict(row) if row else None


_PEOPLE = text("""
SELECT id, name, title, phone FROM people
 WHERE org_path = CAST(:org AS ltree) AND title = ANY(:titles)
 ORDER BY array_position(CAST(:titles AS text[]), title::text), id
""")


def people_titled(conn: Connection, org_path: str, titles: list[str]) -> list[dict[str, Any]]:
    if not titles:
        return []
    return [dict(r) for r in conn.execute(_PEOPLE, {"org": org_path, "titles": titles}).mappings()]


_GROUNDS = text("""
SELECT g.kind, g.code, g.name, ST_AsBinary(ST_Transform(g.geom, c.metric_srid)) AS wkb, c.metric_srid
  FROM grounds g JOIN campuses c ON c.id = g.campus_id
 WHERE g.campus_id = :campus AND g.kind IN ('road', 'walkway', 'assembly_point')
 ORDER BY g.kind, g.code
""")


def walk_network(conn: Connection, campus_id: int) -> list[dict[str, Any]]:
    """Roads, walkways and assembly points of the campus in its metric CRS (WKB)."""
    return [dict(r) for r in conn.execute(_GROUNDS, {"campus": campus_id}).mappings()]


def footprint_metric(conn: Connection, building_id: int) -> tuple[bytes, int] | None:
    query = text("""
SELECT ST_AsBinary(ST_Transform(b.geom, c.metric_srid)) AS wkb, c.metric_srid
  FROM buildings b JOIN campuses c ON c.id = b.campus_id WHERE b.id = :b
""")
    row = conn.execute(query, {"b": building_id}).first()
    return (bytes(row.wkb), int(row.metric_srid)) if row else None


# --- escalation ---------------------------------------------------------------------------------------

_DUE = text("""
SELECT t.id, t.alert_id, t.step, t.notify, t.org_path::text AS org_path,
       (a.acked_at IS NOT NULL OR a.cleared_at IS NOT NULL) AS settled
  FROM alert_timers t JOIN alerts a ON a.id = t.alert_id
 WHERE t.done_at IS NULL AND t.due_at <= :now
 ORDER BY t.due_at, t.id
 LIMIT :limit
   FOR UPDATE OF t SKIP LOCKED
""")


def claim_due_timers(conn: Connection, now: datetime, limit: int = 100) -> list[dict[str, Any]]:
    """Due timers no other worker holds; locked until this transaction ends."""
    return [dict(r) for r in conn.execute(_DUE, {"now": now, "limit": limit}).mappings()]


def finish_timer(conn: Connection, timer_id: int, now: datetime, outcome: str) -> None:
    query = text("UPDATE alert_timers SET done_at = :now, outcome = :outcome WHERE id = :id")
    conn.execute(query, {"now": now, "outcome": outcome, "id": timer_id})


_ESCALATE = text("""
UPDATE alerts
   SET escalation_step = greatest(escalation_step, :step), updated_at = now(),
       context = coalesce(context, '{}'::jsonb) || jsonb_build_object(
           'escalations', coalesce(context -> 'escalations', '[]'::jsonb) || CAST(:entry AS jsonb))
 WHERE id = :alert
""")


def escalate_alert(conn: Connection, alert_id: int, step: int, entry: dict[str, Any]) -> None:
    params = {"alert": alert_id, "step": step, "entry": json.dumps(entry, ensure_ascii=False, default=str)}
    conn.execute(_ESCALATE, params)


def forget_events(conn: Connection, before: datetime) -> None:
    """Drop live events older than `before`: a client that far behind gets a fresh snapshot instead."""
    conn.execute(text("DELETE FROM live_events WHERE at < :before"), {"before": before})


def publish_live_event(conn: Connection, org_path: str, kind: str, payload: dict[str, Any]) -> int:
    """Append to the live log in the caller's transaction (pushed once it commits); the new event id.

    For other domains: bus positions as kind "position" with `vehicle_id` in the payload (a parent's
    stream shows those of their child's bus and nothing else), hazard notices as kind "notification".
    """
    query = text("SELECT twin_live_publish(CAST(:org AS ltree), :kind, CAST(:payload AS jsonb))")
    params = {"org": org_path, "kind": kind, "payload": json.dumps(payload, ensure_ascii=False, default=str)}
    return int(conn.execute(query, params).scalar_one())


def school_path(conn: Connection, school_code: str) -> str | None:
    query = text("SELECT path::text FROM org_units WHERE code = :code AND level = 'school'")
    return conn.execute(query, {"code": school_code}).scalar_one_or_none()


_NOTIFICATION_SEEN = text("""
SELECT EXISTS (SELECT 1 FROM live_events
                WHERE org_path = CAST(:org AS ltree) AND kind = 'notification'
                  AND payload = CAST(:p AS jsonb))
""")


def notification_seen(conn: Connection, org_path: str, payload: dict[str, Any]) -> bool:
    """The same notification for the same school is in the log already (a QoS 1 redelivery)."""
    params = {"org": org_path, "p": json.dumps(payload, ensure_ascii=False, default=str)}
    return bool(conn.execute(_NOTIFICATION_SEEN, params).scalar_one())
