"""Alerts the scheduler computes from the database (no sensor sent them): raise once, notify, escalate.

The event id names what the alert is about (`missed_entry:{incident}:{student}`, `patrol_missed:{check}`),
so a second run, or a second worker, raises nothing new: the unique event id is the durable memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from twin.live import queries_gates as qg
from twin.live import queries_ingest as q
from twin.live.policy import Policy, load_policy


@dataclass(frozen=True)
class Derived:
    """An alert to raise: where, about what, and whom to tell beyond the policy's titles."""

    event_id: str
    type: str
    severity: str
    org_path: str
    campus_id: int
    lon: float
    lat: float
    title: str
    context: dict[str, Any]
    person_id: int | None = None  # told by a notification of their own (the class teacher)


def raise_derived(
    conn: Connection, alert: Derived, now: datetime, policy: Policy | None = None
) -> int | None:
    """Raise `alert` unless it was raised before; the new alert's id, or None."""
    policy = policy or load_policy()
    notify = q.people_titled(conn, alert.org_path, policy.titles_to_notify(alert.type))
    context = {**alert.context, "title": alert.title, "notify": notify}
    values = {
        "org": alert.org_path,
        "campus": alert.campus_id,
        "event_id": alert.event_id,
        "type": alert.type,
        "severity": alert.severity,
        "now": now,
        "context": context,
        "lon": alert.lon,
        "lat": alert.lat,
    }
    alert_id = qg.raise_derived_alert(conn, values)
    if alert_id is None:
        return None
    if alert.person_id is not None:
        body = {"alert_id": alert_id, **alert.context}
        qg.notify_person(conn, alert.org_path, alert.person_id, alert.type, alert.title, body, now)
    steps = [
        {"step": s.step, "due": now + timedelta(minutes=s.after_min), "notify": {"titles": s.titles}}
        for s in policy.steps(alert.severity)
    ]
    q.add_timers(conn, alert_id, alert.org_path, steps)
    return alert_id
