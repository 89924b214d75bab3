"""The missing-entry watch: a child whose bus reached the campus and who did not pass a gate in time.

"Expected" comes from what the database knows: the child is assigned to the bus's route
(`people.route_id`) and the bus entered the campus (a geofence `enter` incident). There are no boarding
records, so a child who stayed home raises the alert too; the class teacher, who knows, acknowledges it.
Run by the scheduler from the database, so a restart misses nothing within `watch_window_h`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from twin.config import FamilySettings
from twin.live import queries_gates as q
from twin.live.derived import Derived, raise_derived
from twin.live.gates import SCHOOL_ZONE


def _alert(row: dict[str, Any], grace_min: float) -> Derived:
    arrived = row["arrived_at"].astimezone(SCHOOL_ZONE).strftime("%H:%M")
    title = (
        f"{row['student_name']} came on bus {row['plate']} (on campus at {arrived})"
        f" but has not passed a gate within {grace_min:g} minutes"
    )
    teacher = (
        {"id": row["teacher_id"], "name": row["teacher_name"], "phone": row["teacher_phone"]}
        if row["teacher_id"] is not None
        else None
    )
    context = {
        "student": {"id": row["student_id"], "code": row["student_code"], "name": row["student_name"]},
        "class": {"code": row["class_code"], "name": row["class_name"]} if row["class_code"] else None,
        "class_teacher": teacher,
        "bus": {"vehicle_id": row["vehicle_id"], "plate": row["plate"], "arrived_at": row["arrived_at"]},
    }
    return Derived(
        event_id=f"missed_entry:{row['incident_id']}:{row['student_id']}",
        type="missed_entry",
        severity="major",
        org_path=row["org_path"],
        campus_id=row["campus_id"],
        lon=row["lon"],
        lat=row["lat"],
        title=title,
        context=context,
        person_id=row["teacher_id"],
    )


def watch_entries(conn: Connection, now: datetime, settings: FamilySettings) -> list[int]:
    """Raise a `missed_entry` alert for each child now overdue at the gate; the new alerts' ids."""
    rows = q.missing_entries(
        conn,
        now,
        settings.entry_grace_min,
        settings.watch_window_h,
        settings.on_campus_lookback_h,
        settings.watch_batch,
    )
    raised = []
    for row in rows:
        if row["lon"] is None:
            continue  # a campus with neither boundary nor gate: nowhere to pin it
        alert_id = raise_derived(conn, _alert(row, settings.entry_grace_min), now)
        if alert_id is not None:
            raised.append(alert_id)
    return raised
