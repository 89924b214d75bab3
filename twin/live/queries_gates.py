"""SQL of gate access and the missing-entry watch (sync, as the schema owner, like the ingest)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, text

if TYPE_CHECKING:
    from twin.live.gates import GatePass


@dataclass(frozen=True)
class Terminal:
    id: int
    device_id: str
    org_path: str
    school_code: str
    method: str
    direction: str
    gate_id: int
    gate_code: str
    gate_name: str


_TERMINAL = text("""
SELECT t.id, t.device_id, t.org_path::text AS org_path, subpath(t.org_path, -1)::text AS school_code,
       t.method, t.direction, g.id AS gate_id, g.code AS gate_code, g.name AS gate_name
  FROM gate_terminals t JOIN gates g ON g.id = t.gate_id
 WHERE t.device_id = :device
""")


def find_terminal(conn: Connection, device_id: str) -> Terminal | None:
    row = conn.execute(_TERMINAL, {"device": device_id}).mappings().first()
    return Terminal(**row) if row else None


@dataclass(frozen=True)
class Holder:
    id: int
    code: str
    name: str
    role: str
    org_path: str


_HOLDER = text("""
SELECT p.id, p.code, p.name, p.role, p.org_path::text AS org_path
  FROM access_credentials c JOIN people p ON p.id = c.person_id
 WHERE c.method = :method AND c.credential = :credential AND c.org_path = CAST(:org AS ltree)
""")


def find_holder(conn: Connection, org_path: str, method: str, credential: str) -> Holder | None:
    """The person enrolled with this card or face at this school (another school's card is unknown)."""
    params = {"method": method, "credential": credential, "org": org_path}
    row = conn.execute(_HOLDER, params).mappings().first()
    return Holder(**row) if row else None


# The pass, then (a student's, first time only) a notification per guardian and the live event: the
# notifications and the live event hang off the inserted row, so a redelivery adds nothing.
_STORE = text("""
WITH pass AS (
    INSERT INTO gate_events (org_path, event_id, gate_id, terminal_id, person_id, direction, time)
    VALUES (CAST(:org AS ltree), :event_id, :gate, :terminal, :person, :direction, :time)
    ON CONFLICT (event_id) DO NOTHING RETURNING id),
told AS (
    INSERT INTO notifications (org_path, school_path, level, person_id, hazard_id, kind, title, body,
                               created_at)
    SELECT CAST(:org AS ltree), CAST(:org AS ltree), 'person', g.parent_id, NULL, :kind, :title,
           CAST(:body AS jsonb), :now
      FROM guardians g, pass WHERE g.student_id = :person AND CAST(:body AS jsonb) IS NOT NULL
    RETURNING id),
live AS (
    SELECT twin_live_publish(CAST(:org AS ltree), 'notification', CAST(:body AS jsonb)) AS id
      FROM pass WHERE CAST(:body AS jsonb) IS NOT NULL)
SELECT (SELECT count(*) FROM pass) AS stored, (SELECT count(*) FROM told) AS told,
       (SELECT count(*) FROM live) AS live
""")


def store_pass(
    conn: Connection,
    terminal: Terminal,
    person: Holder,
    direction: str,
    event: GatePass,
    notice: dict[str, Any] | None,
    now: datetime,
) -> bool:
    """Store the pass and tell (when `notice`) the guardians; False when the event id was taken in before."""
    params = {
        "org": terminal.org_path,
        "event_id": event.event_id,
        "gate": terminal.gate_id,
        "terminal": terminal.id,
        "person": person.id,
        "direction": direction,
        "time": event.time,
        "kind": notice["kind"] if notice else None,
        "title": notice["title"] if notice else None,
        "body": json.dumps(notice, ensure_ascii=False) if notice else None,
        "now": now,
    }
    return bool(conn.execute(_STORE, params).one().stored)


# --- the missing-entry watch ----------------------------------------------------------------------------

# Children of a route whose bus entered the campus `grace` minutes ago or more, who are not on campus:
# their latest gate event up to `grace` after the arrival (within `lookback`) is not an entry. A child
# who entered in the morning is on campus when the bus comes back in the afternoon: no alert then.
_MISSING = text("""
SELECT i.id AS incident_id, i.at AS arrived_at, v.id AS vehicle_id, v.plate, v.campus_id,
       s.id AS student_id, s.code AS student_code, s.name AS student_name, s.org_path::text AS org_path,
       sc.code AS class_code, sc.name AS class_name,
       t.id AS teacher_id, t.name AS teacher_name, t.phone AS teacher_phone,
       ST_X(coalesce(ST_PointOnSurface(c.boundary), g.geom)) AS lon,
       ST_Y(coalesce(ST_PointOnSurface(c.boundary), g.geom)) AS lat
  FROM bus_incidents i
  JOIN vehicles v ON v.id = i.vehicle_id
  JOIN campuses c ON c.id = v.campus_id
  JOIN people s ON s.route_id = v.route_id AND s.role = 'student'
  LEFT JOIN class_students cs ON cs.student_id = s.id
  LEFT JOIN school_classes sc ON sc.id = cs.class_id
  LEFT JOIN people t ON t.id = sc.teacher_id
  LEFT JOIN LATERAL (SELECT geom FROM gates WHERE campus_id = c.id ORDER BY id LIMIT 1) g ON true
 WHERE i.kind = 'enter'
   AND i.at <= CAST(:now AS timestamptz) - CAST(:grace AS float8) * interval '1 minute'
   AND i.at > CAST(:now AS timestamptz) - CAST(:window_h AS float8) * interval '1 hour'
   AND coalesce((SELECT e.direction FROM gate_events e
                  WHERE e.person_id = s.id
                    AND e.time <= i.at + CAST(:grace AS float8) * interval '1 minute'
                    AND e.time > i.at - CAST(:lookback_h AS float8) * interval '1 hour'
                  ORDER BY e.time DESC LIMIT 1), 'out') <> 'in'
   AND NOT EXISTS (SELECT 1 FROM alerts a WHERE a.event_id = 'missed_entry:' || i.id || ':' || s.id)
 ORDER BY i.at, s.id
 LIMIT :limit
""")


def missing_entries(
    conn: Connection, now: datetime, grace_min: float, window_h: float, lookback_h: float, limit: int
) -> list[dict[str, Any]]:
    params = {"now": now, "grace": grace_min, "window_h": window_h, "lookback_h": lookback_h, "limit": limit}
    return [dict(r) for r in conn.execute(_MISSING, params).mappings()]


_RAISE = text("""
INSERT INTO alerts
       (org_path, campus_id, sensor_id, event_id, type, severity, first_at, last_at, context, geom)
VALUES (CAST(:org AS ltree), :campus, NULL, :event_id, :type, :severity, :now, :now,
        CAST(:context AS jsonb), ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))
ON CONFLICT (event_id) DO NOTHING RETURNING id
""")


def raise_derived_alert(conn: Connection, values: dict[str, Any]) -> int | None:
    """An alert computed from the database (no sensor); None when its event id was raised before."""
    params = {**values, "context": json.dumps(values["context"], ensure_ascii=False, default=str)}
    return conn.execute(_RAISE, params).scalar_one_or_none()


_NOTIFY_PERSON = text("""
INSERT INTO notifications (org_path, school_path, level, person_id, hazard_id, kind, title, body, created_at)
VALUES (CAST(:org AS ltree), CAST(:org AS ltree), 'person', :person, NULL, :kind, :title,
        CAST(:body AS jsonb), :now)
""")


def notify_person(
    conn: Connection,
    org_path: str,
    person_id: int,
    kind: str,
    title: str,
    body: dict[str, Any],
    now: datetime,
) -> None:
    params = {
        "org": org_path,
        "person": person_id,
        "kind": kind,
        "title": title,
        "body": json.dumps(body, ensure_ascii=False, default=str),
        "now": now,
    }
    conn.execute(_NOTIFY_PERSON, params)
