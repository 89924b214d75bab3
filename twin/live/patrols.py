"""Security patrols (人防, 巡更): checkpoint visits in, checks planned and judged, missed or late alerted.

A visit comes from a guard's phone (an OsmAnd fix within a checkpoint's radius) or from a tag reader
(MQTT `campus/{school}/patrols/{device}/scans`, `{event_id, tag, time}`: the NFC tag fixed at the
checkpoint). The scheduler plans one check per checkpoint per shift (`patrol_checks`, due at the shift's
start plus the checkpoint's offset) and judges it: on time (a visit within ± tolerance of the due time),
late (a visit after that, within the shift) or missed (none yet when the tolerance ran out). Missed and
late raise alerts; coverage is the share of checks on time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from twin.config import FamilySettings
from twin.live import queries_patrols as q
from twin.live.derived import Derived, raise_derived
from twin.live.events import Rejected, parse_json_model
from twin.live.gates import SCHOOL_ZONE
from twin.live.gps_osmand import Fix

PATROL_FILTER = "campus/+/patrols/+/scans"


class TagScan(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    event_id: str = Field(min_length=1, max_length=128)
    tag: str = Field(min_length=1, max_length=128)
    time: AwareDatetime


@dataclass(frozen=True)
class ScanSource:
    school_code: str
    device_id: str


def scan_source(topic: str) -> ScanSource | None:
    parts = topic.split("/")
    if len(parts) == 5 and parts[0] == "campus" and parts[2] == "patrols" and parts[4] == "scans":
        if not parts[1] or not parts[3]:
            raise Rejected("bad_topic", f"{topic!r} names no school or no device")
        return ScanSource(parts[1], parts[3])
    return None


def parse_scan(payload: bytes) -> TagScan:
    return parse_json_model(payload, TagScan)


def take_scan(conn: Connection, source: ScanSource, scan: TagScan) -> str:
    """Store the visit a tag scan records; the outcome's name. Rejected: nothing stored."""
    device = q.find_device(conn, source.device_id)
    if device is None or device["school_code"] != source.school_code:
        raise Rejected(
            "unknown_device", f"patrol device {source.device_id!r} is not registered at {source.school_code}"
        )
    checkpoint = q.checkpoint_by_tag(conn, device["org_path"], scan.tag)
    if checkpoint is None:
        raise Rejected("unknown_tag", f"no checkpoint of this school carries the tag {scan.tag!r}")
    stored = q.insert_visit(conn, f"tag:{scan.event_id}", checkpoint, device, "tag", scan.time, None)
    return "visit" if stored else "duplicate"


async def take_guard_fix(engine: AsyncEngine, fix: Fix) -> list[int] | None:
    """Visits an OsmAnd fix of a guard's phone makes (checkpoints visited); None: not a guard's device.

    `engine` acts as the schema owner (devices are nobody's session), like the bus position writer.
    """
    async with engine.begin() as conn:
        device = await q.find_device_async(conn, fix.device_id)
        if device is None:
            return None
        return await q.visits_from_fix(conn, device, fix.time, fix.lon, fix.lat)


# --- judging checks --------------------------------------------------------------------------------------


def judge(check: dict[str, Any], now: datetime) -> str:
    """The check's status at `now` from its first visits in and after the tolerance window."""
    if check["on_time_at"] is not None:
        return "on_time"
    if now <= check["due_at"] + timedelta(minutes=check["tolerance_min"]):
        return "pending"
    return "late" if check["late_at"] is not None else "missed"


def _alert(check: dict[str, Any], status: str) -> Derived:
    due = check["due_at"].astimezone(SCHOOL_ZONE).strftime("%H:%M")
    what = "visited late" if status == "late" else "not visited"
    title = (
        f"Patrol {check['route_name']} ({check['schedule_name']}): checkpoint {check['checkpoint_name']}"
        f" {what} (due {due} ± {check['tolerance_min']} min)"
    )
    context = {
        "route": {"id": check["route_id"], "code": check["route_code"], "name": check["route_name"]},
        "checkpoint": {"id": check["checkpoint_id"], "code": check["checkpoint_code"]},
        "schedule": {"id": check["schedule_id"], "name": check["schedule_name"]},
        "check_id": check["id"],
        "due_at": check["due_at"],
        "visited_at": check["late_at"] if status == "late" else None,
    }
    return Derived(
        event_id=f"patrol_{status}:{check['id']}",
        type=f"patrol_{status}",
        severity="minor" if status == "late" else "major",
        org_path=check["org_path"],
        campus_id=check["campus_id"],
        lon=check["lon"],
        lat=check["lat"],
        title=title,
        context=context,
    )


def check_patrols(conn: Connection, now: datetime, settings: FamilySettings) -> dict[str, int]:
    """Plan the checks of shifts begun by `now`, judge those due, alert missed and late ones; counts."""
    since = now - timedelta(hours=settings.patrol_lookback_h)
    planned = q.plan_checks(conn, now, since)
    counts = {"planned": planned, "on_time": 0, "late": 0, "missed": 0, "alerts": 0}
    for check in q.open_checks(conn, now, since, settings.watch_batch):
        status = judge(check, now)
        if status == check["status"] or status == "pending":
            continue
        visit_id, visited_at = (
            (check["on_time_visit"], check["on_time_at"])
            if status == "on_time"
            else (check["late_visit"], check["late_at"])
        )
        q.set_status(conn, check["id"], status, visit_id, visited_at)
        counts[status] += 1
        if status in ("missed", "late") and raise_derived(conn, _alert(check, status), now) is not None:
            counts["alerts"] += 1
    return counts
