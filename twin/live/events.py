"""Sensor events as they arrive over MQTT: the topic layout and the JSON payload, validated."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from twin.live.policy import SensorType, Severity

TOPIC_FILTER = "campus/+/sensors/+/events"
NOTIFICATION_FILTER = "campus/+/notifications"  # published by other domains (hazards) after their commit
MAX_NOTIFICATION_BYTES = 64 * 1024
M = TypeVar("M", bound=BaseModel)


class Rejected(ValueError):
    """A message that can never be taken in (bad topic, bad payload, unknown device): log, count, ack."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class SensorEvent(BaseModel):
    """`{event_id, type, severity, time, value?, unit?}`; the device's registration supplies the place."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    event_id: str = Field(min_length=1, max_length=128)
    type: SensorType
    severity: Severity
    time: AwareDatetime
    value: float | None = None
    unit: str | None = Field(default=None, max_length=16)


@dataclass(frozen=True)
class Source:
    school_code: str
    device_id: str


def parse_topic(topic: str) -> Source:
    """`campus/{school_code}/sensors/{device_id}/events` -> its school and device."""
    parts = topic.split("/")
    if len(parts) != 5 or parts[0] != "campus" or parts[2] != "sensors" or parts[4] != "events":
        raise Rejected("bad_topic", f"{topic!r} is not campus/{{school_code}}/sensors/{{device_id}}/events")
    if not parts[1] or not parts[3]:
        raise Rejected("bad_topic", f"{topic!r} names no school or no device")
    return Source(parts[1], parts[3])


def notification_school(topic: str) -> str | None:
    """The school code of `campus/{school_code}/notifications`, None for any other topic."""
    parts = topic.split("/")
    if len(parts) == 3 and parts[0] == "campus" and parts[2] == "notifications" and parts[1]:
        return parts[1]
    return None


def parse_notification(payload: bytes) -> dict[str, object]:
    """A notification is any JSON object (its shape belongs to the domain that sent it)."""
    if len(payload) > MAX_NOTIFICATION_BYTES:
        raise Rejected("malformed", f"notification larger than {MAX_NOTIFICATION_BYTES} bytes")
    try:
        data = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Rejected("malformed", f"payload is not JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise Rejected("malformed", "a notification must be a JSON object")
    return data


def _not_json(token: str) -> None:
    """NaN and Infinity are not JSON numbers (RFC 8259); a reading of NaN is no reading to alert on."""
    raise json.JSONDecodeError(f"{token} is not a number in JSON", token, 0)


def parse_json_model(payload: bytes, model: type[M]) -> M:
    """`payload` as a `model`, or Rejected naming what was wrong: every device topic reads its JSON so."""
    try:
        data = json.loads(payload, parse_constant=_not_json)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Rejected("malformed", f"payload is not JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise Rejected("malformed", "payload must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        issues = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise Rejected("malformed", issues) from exc


def parse_payload(payload: bytes) -> SensorEvent:
    """The validated event, or Rejected naming what was wrong."""
    return parse_json_model(payload, SensorEvent)


def event_json(event_id: str, type_: str, severity: str, time: datetime, **extra: object) -> bytes:
    """A payload as a device sends it (tests, the benchmark, simulators)."""
    body = {"event_id": event_id, "type": type_, "severity": severity, "time": time.isoformat(), **extra}
    return json.dumps(body).encode()
