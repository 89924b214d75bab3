"""The alert model: take a sensor event in exactly once, dedupe while active, inhibit, escalate.

`take_event` runs in the ingest's transaction (the caller commits, then acks the MQTT message); every
change of an alert row is logged to `live_events` and rung on `pg_notify` by a database trigger, in that
same transaction (migration 0011), so what the streams push is exactly what was committed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from sqlalchemy import Connection

from twin.live import queries_ingest as q
from twin.live.context import gather_context
from twin.live.events import Rejected, SensorEvent, Source
from twin.live.policy import Policy, load_policy

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class Outcome(StrEnum):
    raised = "raised"  # a new alert
    repeated = "repeated"  # counted on the active alert of the same sensor and type
    inhibited = "inhibited"  # a new alert under an active parent alarm of its building
    duplicate = "duplicate"  # this event id was taken in before (QoS 1 redelivery)


@dataclass(frozen=True)
class Taken:
    outcome: Outcome
    alert_id: int | None


SensorLookup = Callable[[Connection, str], "q.SensorRow | None"]


def take_event(
    conn: Connection,
    source: Source,
    event: SensorEvent,
    *,
    now: datetime,
    policy: Policy | None = None,
    find_sensor: SensorLookup = q.find_sensor,
) -> Taken:
    """Store one event in the caller's transaction; raises Rejected for a device not registered there.

    Several events may share one transaction (the ingest commits a batch): a duplicate undoes its own
    work instead of asking for a rollback.
    """
    policy = policy or load_policy()
    return _take_found(conn, _registered(conn, source, find_sensor), event, policy, now)


def _registered(conn: Connection, source: Source, find_sensor: SensorLookup) -> q.SensorRow:
    sensor = find_sensor(conn, source.device_id)
    if sensor is None or sensor.school_code != source.school_code:
        raise Rejected(
            "unknown_device", f"device {source.device_id!r} is not registered at school {source.school_code}"
        )
    return sensor


def take_events(
    conn: Connection,
    events: list[tuple[Source, SensorEvent]],
    *,
    now: datetime,
    policy: Policy | None = None,
    find_sensor: SensorLookup = q.find_sensor,
) -> list[Taken | Rejected]:
    """`take_event` for a batch: the first event of each (sensor, type) without an active alert raises it,
    in message order, so new alarms are pushed first; then every other event counts up in one statement
    (one update per alert, so one live event per alert and batch)."""
    policy = policy or load_policy()
    results: list[Taken | Rejected] = [Taken(Outcome.duplicate, None)] * len(events)
    found: list[tuple[int, q.SensorRow, SensorEvent]] = []
    for i, (source, event) in enumerate(events):
        try:
            found.append((i, _registered(conn, source, find_sensor), event))
        except Rejected as exc:
            results[i] = exc
    active = q.active_pairs(conn, [s.id for _i, s, _e in found]) if found else set()
    rest = []
    for i, sensor, event in found:
        if (sensor.id, event.type) in active:
            rest.append((i, sensor, event))
        else:
            results[i] = _take_found(conn, sensor, event, policy, now)
            active.add((sensor.id, event.type))
    for (i, sensor, event), result in zip(rest, _count_up(conn, rest), strict=True):
        results[i] = result if result is not None else _take_found(conn, sensor, event, policy, now)
    return results


def _count_up(conn: Connection, found: list[tuple[int, q.SensorRow, SensorEvent]]) -> list[Taken | None]:
    """Repeats counted in one statement, in order; None for an event whose alert was cleared meanwhile."""
    if not found:
        return []
    repeats = q.count_repeats(conn, [(s, e) for _i, s, e in found])
    first: set[str] = set()
    undo: Counter[int] = Counter()
    taken: list[Taken | None] = []
    for _i, _sensor, event in found:
        repeat = repeats[event.event_id]
        if repeat.seen or event.event_id in first:
            taken.append(Taken(Outcome.duplicate, None))
        elif repeat.alert_id is None:
            taken.append(None)
        elif not repeat.kept:  # another worker kept this id a moment earlier
            undo[repeat.alert_id] += 1
            taken.append(Taken(Outcome.duplicate, None))
        else:
            taken.append(Taken(Outcome.repeated, repeat.alert_id))
        first.add(event.event_id)
    if undo:
        q.undo_counts(conn, dict(undo))
    return taken


def _take_found(
    conn: Connection, sensor: q.SensorRow, event: SensorEvent, policy: Policy, now: datetime
) -> Taken:
    repeat = q.count_repeat_once(conn, sensor, event)
    if repeat.seen:
        return Taken(Outcome.duplicate, None)
    if repeat.alert_id is not None:
        if not repeat.kept:  # the same id arrived twice at once and the other worker committed first
            q.undo_count(conn, repeat.alert_id, drop=False)
            return Taken(Outcome.duplicate, None)
        return Taken(Outcome.repeated, repeat.alert_id)
    alert_id, outcome = _raise(conn, sensor, event, policy, now)
    if not q.keep_event(conn, sensor, alert_id, event):
        q.undo_count(conn, alert_id, drop=outcome is not Outcome.repeated)
        return Taken(Outcome.duplicate, None)
    return Taken(outcome, alert_id)


def _raise(
    conn: Connection, sensor: q.SensorRow, event: SensorEvent, policy: Policy, now: datetime
) -> tuple[int, Outcome]:
    parent_id = None
    if sensor.building_id is not None and (parents := policy.parent_types(event.type)):
        parent_id = q.active_parent(conn, sensor.building_id, parents)
    context = gather_context(conn, sensor, event.type, policy)
    alert_id, inserted = q.raise_alert(conn, sensor, event, parent_id, context)
    if not inserted:
        return alert_id, Outcome.repeated
    if sensor.building_id is not None and (children := policy.child_types(event.type)):
        q.adopt_children(conn, alert_id, sensor.building_id, children)
    if parent_id is not None:
        return alert_id, Outcome.inhibited  # the parent's escalation covers it
    steps = [
        {"step": s.step, "due": now + timedelta(minutes=s.after_min), "notify": {"titles": s.titles}}
        for s in policy.steps(event.severity)
    ]
    q.add_timers(conn, alert_id, sensor.org_path, steps)
    return alert_id, Outcome.raised


@dataclass(frozen=True)
class Fired:
    alert_id: int
    step: int
    escalated: bool  # False: the alert was acknowledged or cleared in time, the step was skipped


def escalate_due(conn: Connection, now: datetime, limit: int = 100) -> list[Fired]:
    """Fire every escalation timer due by `now` that no other worker holds; each step happens once."""
    fired = []
    for timer in q.claim_due_timers(conn, now, limit):
        if timer["settled"]:
            q.finish_timer(conn, timer["id"], now, "skipped")
            fired.append(Fired(timer["alert_id"], timer["step"], escalated=False))
            continue
        titles = (timer["notify"] or {}).get("titles", [])
        entry = {
            "step": timer["step"],
            "at": now.isoformat(),
            "notify": q.people_titled(conn, timer["org_path"], titles),
        }
        q.escalate_alert(conn, timer["alert_id"], timer["step"], entry)
        q.finish_timer(conn, timer["id"], now, "fired")
        fired.append(Fired(timer["alert_id"], timer["step"], escalated=True))
    return fired
