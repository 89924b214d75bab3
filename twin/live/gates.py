"""Gate access (家校): card and face terminals at campus gates, over MQTT like the sensors.

Topic `campus/{school_code}/gates/{device_id}/events`, JSON `{event_id, credential, time, direction?,
method?}`. The terminal's registration names its gate and, unless it serves both ways, the direction.
Each event is stored once (its id is unique; QoS 1 redeliveries are no-ops); a student's event becomes
an "entered / left campus at T through gate G" notification to each of their guardians, stored and put
on the live log (kind `notification`, `topic: gate`), which a parent's stream shows for their own
children only (migration 0020). Runs in the ingest's transaction: acknowledged after the commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy import Connection

from twin.live import queries_gates as q
from twin.live.events import Rejected, parse_json_model

GATE_FILTER = "campus/+/gates/+/events"
# Titles are written in the schools' time: a parent reads "07:42", not the UTC hour.
SCHOOL_ZONE = ZoneInfo("Asia/Shanghai")
WORDS = {"in": "entered", "out": "left"}


class GatePass(BaseModel):
    """What a terminal sends: who (card number or face id), when, and which way if it serves both."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    event_id: str = Field(min_length=1, max_length=128)
    credential: str = Field(min_length=1, max_length=128)
    time: AwareDatetime
    direction: Literal["in", "out"] | None = None
    method: Literal["card", "face"] | None = None


@dataclass(frozen=True)
class GateSource:
    school_code: str
    device_id: str


def gate_source(topic: str) -> GateSource | None:
    """The school and terminal of `campus/{school}/gates/{device}/events`; None for any other topic."""
    parts = topic.split("/")
    if len(parts) == 5 and parts[0] == "campus" and parts[2] == "gates" and parts[4] == "events":
        if not parts[1] or not parts[3]:
            raise Rejected("bad_topic", f"{topic!r} names no school or no terminal")
        return GateSource(parts[1], parts[3])
    return None


def parse_pass(payload: bytes) -> GatePass:
    return parse_json_model(payload, GatePass)


def direction_of(terminal: q.Terminal, event: GatePass) -> str:
    """The way the person went: the terminal's, or the event's at a terminal serving both ways."""
    if terminal.direction == "both":
        if event.direction is None:
            raise Rejected("malformed", f"terminal {terminal.device_id} serves both ways: send direction")
        return event.direction
    if event.direction not in (None, terminal.direction):
        raise Rejected(
            "malformed",
            f"terminal {terminal.device_id} only registers '{terminal.direction}', not '{event.direction}'",
        )
    return terminal.direction


def title(name: str, direction: str, at: datetime, gate: str) -> str:
    local = at.astimezone(SCHOOL_ZONE).strftime("%H:%M")
    return f"{name} {WORDS[direction]} campus at {local} through {gate}"


def take_gate_event(conn: Connection, source: GateSource, event: GatePass, now: datetime) -> str:
    """Store one gate pass and tell the guardians; the outcome's name. Rejected: nothing stored."""
    terminal = q.find_terminal(conn, source.device_id)
    if terminal is None or terminal.school_code != source.school_code:
        raise Rejected(
            "unknown_gate",
            f"terminal {source.device_id!r} is not registered at a gate of {source.school_code}",
        )
    method = event.method or terminal.method
    direction = direction_of(terminal, event)
    person = q.find_holder(conn, terminal.org_path, method, event.credential)
    if person is None:
        raise Rejected(f"unknown_{method}", f"no {method} {event.credential!r} is enrolled at this school")
    notice = _notice(person, direction, terminal, event) if person.role == "student" else None
    # One statement: the pass, a notification per guardian and the live event (round trips dominate).
    if not q.store_pass(conn, terminal, person, direction, event, notice, now):
        return "duplicate"
    return "gate"


def _notice(person: q.Holder, direction: str, terminal: q.Terminal, event: GatePass) -> dict[str, object]:
    """What the guardians are told, and what their stream carries."""
    return {
        "topic": "gate",
        "kind": f"gate_{direction}",
        "student_id": person.id,
        "student": person.name,
        "direction": direction,
        "gate": terminal.gate_name,
        "gate_code": terminal.gate_code,
        "time": event.time.isoformat(),
        "title": title(person.name, direction, event.time, terminal.gate_name),
        "event_id": event.event_id,
    }
