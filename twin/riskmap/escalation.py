"""Escalation of overdue hazards up the org tree, by a scheduler whose state is the `escalations` table.

When a hazard gets a deadline, every rung of its ladder (hazard_rules.yaml) becomes a row with its due
time. `run_due(conn, now)` fires the rows due by `now`: claimed with FOR UPDATE SKIP LOCKED, so several
workers never fire one twice; done when its transaction commits, so a crash before that leaves it due for
the next worker or the next start. A step whose hazard is no longer overdue on that deadline (fixed,
closed, or given a new deadline) is marked skipped. The clock is a parameter: tests drive it.

Notifications are rows (the truth) and, after the commit, MQTT messages on
`campus/{school_code}/notifications` (the bell), published by `publish`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from twin.broker import parse_mqtt_url
from twin.riskmap import queries_escalation as q
from twin.riskmap import queries_hazards as qh
from twin.riskmap.deadlines import rules
from twin.riskmap.transitions import machine

log = logging.getLogger(__name__)
Notice = dict[str, Any]  # a stored notification, as published
LEVEL_NAMES = {"person": "the responsible person", "school": "the school"}


def topic(school_code: str) -> str:
    return f"campus/{school_code}/notifications"


@dataclass
class Lookups:
    """Org units already looked up in this run: a batch of steps often shares schools and counties."""

    units: dict[tuple[str, str], dict[str, Any] | None] = field(default_factory=dict)
    codes: dict[str, str] = field(default_factory=dict)

    async def unit(self, conn: AsyncConnection, path: str, level: str) -> dict[str, Any] | None:
        if (path, level) not in self.units:
            self.units[(path, level)] = await qh.ancestor(conn, path, level)
        return self.units[(path, level)]

    async def school_code(self, conn: AsyncConnection, path: str) -> str:
        if path not in self.codes:
            self.codes[path] = (await qh.school_of(conn, path))["code"]
        return self.codes[path]


async def notify(
    conn: AsyncConnection,
    hazard: dict[str, Any],
    level: str,
    kind: str,
    title: str,
    now: datetime,
    lookups: Lookups | None = None,
) -> Notice | None:
    """Store a notification about `hazard` for `level` (a person, or the org unit of that level above it).

    None when the tree has no unit of that level above the hazard's school.
    """
    lookups = lookups or Lookups()
    person_id = None
    if level == "person":
        org_path, person_id = hazard["org_path"], hazard["responsible_person_id"]
    else:
        unit = await lookups.unit(conn, hazard["org_path"], level)
        if unit is None:
            return None
        org_path = unit["path"]
    body = {
        "hazard_id": hazard["id"],
        "number": hazard["number"],
        "name": hazard["name"],
        "grade": hazard["grade"],
        "state": hazard["state"],
        "deadline": hazard["deadline"].isoformat() if hazard.get("deadline") else None,
        "responsible_department": hazard.get("responsible_department"),
    }
    values = {
        "org_path": org_path,
        "school_path": hazard["org_path"],
        "level": level,
        "person_id": person_id,
        "hazard_id": hazard["id"],
        "kind": kind,
        "title": title,
        "body": json.dumps(body, ensure_ascii=False),
        "created_at": now,
    }
    new_id = await q.insert_notification(conn, values)
    return {**values, "id": new_id, "school_code": await lookups.school_code(conn, hazard["org_path"])}


async def schedule(conn: AsyncConnection, hazard: dict[str, Any], deadline: datetime, now: datetime) -> int:
    """Replace the hazard's pending escalation by the ladder of this deadline; returns the steps added."""
    await q.cancel_pending(conn, hazard["id"], now)
    ladder = rules().ladder(hazard["grade"], deadline)
    await q.add_steps(
        conn,
        [
            {
                "org_path": hazard["org_path"],
                "hazard_id": hazard["id"],
                "step": step.step,
                "level": step.level,
                "deadline": deadline,
                "due_at": due,
            }
            for step, due in ladder
        ],
    )
    return len(ladder)


def still_overdue(hazard: dict[str, Any] | None, deadline: datetime, now: datetime) -> bool:
    """Whether the hazard is overdue on the very deadline the step was scheduled for."""
    return (
        hazard is not None
        and hazard["state"] in machine().open_states
        and hazard["deadline"] == deadline
        and deadline <= now
    )


def _title(hazard: dict[str, Any], level: str) -> str:
    who = LEVEL_NAMES.get(level, f"the {level}")
    return f"Hazard {hazard['number']} ({hazard['name']}) is overdue; escalated to {who}"


async def run_due(conn: AsyncConnection, now: datetime, *, batch: int = 100) -> list[Notice]:
    """Fire the escalation steps due by `now`; the notifications stored, to publish after the commit."""
    await q.act_as_scheduler(conn)
    steps = await q.claim_due(conn, now, batch)
    hazards = await q.hazards_for_escalation(conn, sorted({s["hazard_id"] for s in steps}))
    lookups, notices = Lookups(), []
    done: dict[str, list[int]] = {"notified": [], "skipped": []}
    for step in steps:
        hazard = hazards.get(step["hazard_id"])
        notice = None
        if hazard is not None and still_overdue(hazard, step["deadline"], now):
            title = _title(hazard, step["level"])
            notice = await notify(conn, hazard, step["level"], "overdue", title, now, lookups)
        if notice is not None:
            notices.append(notice)
        done["notified" if notice is not None else "skipped"].append(step["id"])
    for outcome, ids in done.items():
        await q.mark_done(conn, ids, now, outcome)
    return notices


def _message(notice: Notice) -> tuple[str, str]:
    payload = {
        "id": notice["id"],
        "level": notice["level"],
        "org_path": notice["org_path"],
        "person_id": notice["person_id"],
        "hazard_id": notice["hazard_id"],
        "kind": notice["kind"],
        "title": notice["title"],
        "body": json.loads(notice["body"]),
        "created_at": notice["created_at"].isoformat(),
    }
    return topic(notice["school_code"]), json.dumps(payload, ensure_ascii=False)


def publish_now(broker_url: str, notices: Sequence[Notice], timeout: float = 5.0) -> None:
    """Ring the bell for stored notifications (QoS 1). A broker that is down loses the bell, not the row."""
    if not notices:
        return
    import paho.mqtt.client as mqtt

    address = parse_mqtt_url(broker_url)
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    if address.username:
        client.username_pw_set(address.username, address.password)
    try:
        client.connect(address.host, address.port, keepalive=10)
        client.loop_start()
        sent = [client.publish(t, p, qos=1) for t, p in map(_message, notices)]
        for message in sent:
            message.wait_for_publish(timeout)
    except (OSError, ValueError, RuntimeError):
        log.warning("could not publish %d notifications to %s; they are stored", len(notices), broker_url)
    finally:
        client.disconnect()
        client.loop_stop()


async def publish(broker_url: str, notices: Sequence[Notice]) -> None:
    await asyncio.to_thread(publish_now, broker_url, notices)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Scheduler:
    """Runs `run_due` every `interval_s` seconds on the server's engine (the app's lifespan starts it)."""

    engine: AsyncEngine
    broker_url: str
    interval_s: float
    clock: Callable[[], datetime] = utc_now
    fired: int = field(default=0, init=False)

    async def run_once(self) -> list[Notice]:
        async with self.engine.begin() as conn:
            notices = await run_due(conn, self.clock())
        await publish(self.broker_url, notices)  # after the commit: the row is the truth
        self.fired += len(notices)
        return notices

    async def run_forever(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:  # a bad tick must not stop the next; the steps stay due
                log.exception("escalation run failed; retrying in %s s", self.interval_s)
            await asyncio.sleep(self.interval_s)
