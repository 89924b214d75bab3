"""Inspections (排查): recurring checks per risk point at frequencies from data, tasks made per period.

`due_times` is pure: the due times of a frequency inside a period. Generating tasks is idempotent (one
row per risk point, frequency and due time); recording one may open a hazard from a failed check. A task
not done by its due time is overdue: a flag from the clock, like a hazard's.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import yaml
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncConnection

from twin.access.scope import Caller
from twin.errors import Conflict, Forbidden, NotFound, UnprocessableContent
from twin.models.risk import RISK_CATEGORIES
from twin.riskmap import hazards
from twin.riskmap import queries_inspections as q

HERE = Path(__file__).resolve().parent
KINDS = ("every", "weekday", "monthday", "months", "calendar", "event")
CONTROL_LEVELS = ("school", "department", "grade", "post")
GENERATE_ROLES = ("admin", "safety_officer")
RECORD_ROLES = ("admin", "leader", "safety_officer", "maintenance")
MAX_PERIOD_DAYS = 400


@dataclass(frozen=True)
class Frequency:
    name: str
    kind: str
    due_hour: int
    days: int = 1
    weekday: int = 5
    day: int | str = 1
    months: tuple[int, ...] = ()
    calendar: str | None = None
    due_hours: int = 24  # event: hours from the event to the due time


@dataclass(frozen=True)
class Frequencies:
    zone: ZoneInfo
    table: dict[str, Frequency]
    defaults: dict[str, tuple[str, ...]]
    calendars: dict[str, tuple[date, ...]]

    def for_level(self, control_level: str | None) -> tuple[str, ...]:
        """The default frequencies of a risk point controlled at this level (post when unknown)."""
        return self.defaults.get(control_level or "post", self.defaults["post"])


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def _on_day(f: Frequency, d: date, dates: frozenset[date]) -> bool:
    if f.kind == "every":
        return d.toordinal() % f.days == 0
    if f.kind == "weekday":
        return d.isoweekday() == f.weekday
    if f.kind == "monthday":
        last = calendar.monthrange(d.year, d.month)[1]
        return d.day == (last if f.day == "last" else min(int(f.day), last))
    if f.kind == "months":
        return d.month in f.months and d.day == int(f.day)
    if f.kind == "calendar":
        return d + timedelta(days=1) in dates  # the day before a holiday or a term starts
    return False  # event: made on demand, never by the calendar


def due_times(freqs: Frequencies, name: str, start: datetime, end: datetime) -> list[datetime]:
    """The due times of frequency `name` in [start, end), local due hour, as aware datetimes."""
    f = freqs.table[name]
    dates = frozenset(freqs.calendars.get(f.calendar or "", ()))
    first, last = start.astimezone(freqs.zone).date(), end.astimezone(freqs.zone).date()
    due = (
        datetime.combine(d, time(f.due_hour), tzinfo=freqs.zone)
        for d in _days(first, last)
        if _on_day(f, d, dates)
    )
    return [t for t in due if start <= t < end]


def _frequency(name: str, raw: dict[str, Any]) -> Frequency:
    if (
        raw.get("kind") not in KINDS
        or not raw.get("source")
        or raw.get("status") not in ("adopted", "assumed")
    ):
        raise ValueError(
            f"inspection_frequencies.yaml: {name} needs a kind of {KINDS}, a source and a status"
        )
    return Frequency(
        name=name,
        kind=raw["kind"],
        due_hour=int(raw.get("due_hour", 18)),
        days=int(raw.get("days", 1)),
        weekday=int(raw.get("weekday", 5)),
        day=raw.get("day", 1),
        months=tuple(raw.get("months", ())),
        calendar=raw.get("calendar"),
        due_hours=int(raw.get("due_hours", 24)),
    )


def load_frequencies(path: Path = HERE / "inspection_frequencies.yaml") -> Frequencies:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    table = {name: _frequency(name, f) for name, f in raw["frequencies"].items()}
    defaults = {level: tuple(names) for level, names in raw["defaults"].items()}
    if set(defaults) != set(CONTROL_LEVELS) or any(set(n) - set(table) for n in defaults.values()):
        raise ValueError(
            "inspection_frequencies.yaml: defaults need every control level and known frequencies"
        )
    calendars = {k: tuple(date.fromisoformat(d) for d in v) for k, v in raw["calendar"].items()}
    for f in table.values():
        if f.kind == "calendar" and f.calendar not in calendars:
            raise ValueError(f"inspection_frequencies.yaml: {f.name} names an unknown calendar")
    return Frequencies(ZoneInfo(raw["timezone"]), table, defaults, calendars)


@lru_cache
def frequencies() -> Frequencies:
    """The table of inspection_frequencies.yaml, loaded and validated once."""
    return load_frequencies()


class Period(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    start: date = Field(alias="from")
    end: date = Field(alias="to", description="inclusive")
    campus: str | None = Field(default=None, max_length=64)


class FoundHazard(BaseModel):
    """The hazard a failed check opens (source: inspection)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    category: Literal[RISK_CATEGORIES] | None = None  # type: ignore[valid-type]
    description: str | None = Field(default=None, max_length=4000)


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid")

    result: Literal["pass", "fail"]
    note: str | None = Field(default=None, max_length=4000)
    hazard: FoundHazard | None = None


class PlanIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    risk_point_id: int
    frequencies: list[str] = Field(min_length=1, max_length=10)


def _local_bounds(p: Period, zone: ZoneInfo) -> tuple[datetime, datetime]:
    if p.end < p.start or (p.end - p.start).days > MAX_PERIOD_DAYS:
        raise UnprocessableContent(f"the period runs from 'from' to 'to', at most {MAX_PERIOD_DAYS} days")
    start = datetime.combine(p.start, time(0), tzinfo=zone)
    return start, datetime.combine(p.end + timedelta(days=1), time(0), tzinfo=zone)


async def generate(conn: AsyncConnection, caller: Caller | None, period: Period) -> int:
    """Make the inspection tasks of a period for every visible risk point; returns how many are new."""
    if caller is not None and caller.role.value not in GENERATE_ROLES:
        raise Forbidden(f"generating inspections needs the role {', '.join(GENERATE_ROLES)}")
    freqs = frequencies()
    start, end = _local_bounds(period, freqs.zone)
    campus_id = await _campus_id(conn, period.campus)
    rows = []
    for point in await q.risk_points_with_plans(conn, campus_id):
        names = point["plan"] or freqs.for_level(point["control_level"])
        for name in names:
            rows += [
                {"risk_point_id": point["id"], "frequency": name, "due_at": t}
                for t in due_times(freqs, name, start, end)
            ]
    return await q.add_tasks(conn, rows)


class Disaster(BaseModel):
    """A disaster (storm, earthquake, flood) after which every risk point is checked (灾后排查)."""

    model_config = ConfigDict(extra="forbid")

    event: str = Field(min_length=1, max_length=200)
    campus: str | None = Field(default=None, max_length=64)


async def after_disaster(conn: AsyncConnection, caller: Caller, d: Disaster, now: datetime) -> dict[str, Any]:
    """Tasks of kind `event` for every visible risk point (of the campus), due `due_hours` from now."""
    if caller.role.value not in GENERATE_ROLES:
        raise Forbidden(f"calling for inspections needs the role {', '.join(GENERATE_ROLES)}")
    events = [f for f in frequencies().table.values() if f.kind == "event"]
    if not events:
        raise UnprocessableContent("inspection_frequencies.yaml has no event frequency")
    campus_id = await _campus_id(conn, d.campus)
    due = now + timedelta(hours=events[0].due_hours)
    rows = [
        {"risk_point_id": p["id"], "frequency": events[0].name, "due_at": due}
        for p in await q.risk_points_with_plans(conn, campus_id)
    ]
    return {
        "event": d.event,
        "frequency": events[0].name,
        "due_at": due,
        "created": await q.add_tasks(conn, rows),
    }


async def _campus_id(conn: AsyncConnection, code: str | None) -> int | None:
    if code is None:
        return None
    campus = await hazards.qh.campus_by(conn, code=code)
    if campus is None:
        raise UnprocessableContent(f"no campus {code!r} in your jurisdiction", field="campus")
    return int(campus["id"])


async def set_plan(conn: AsyncConnection, caller: Caller, plan: PlanIn) -> list[str]:
    """Replace a risk point's plan by these frequencies (its defaults no longer apply)."""
    if caller.role.value not in GENERATE_ROLES:
        raise Forbidden(f"planning inspections needs the role {', '.join(GENERATE_ROLES)}")
    unknown = sorted(set(plan.frequencies) - set(frequencies().table))
    if unknown:
        known = ", ".join(frequencies().table)
        raise UnprocessableContent(
            f"unknown frequency {', '.join(unknown)}; known: {known}", field="frequencies"
        )
    if not await q.set_plan(conn, plan.risk_point_id, sorted(set(plan.frequencies))):
        raise NotFound(f"no risk point {plan.risk_point_id}")
    return sorted(set(plan.frequencies))


async def record(
    conn: AsyncConnection, caller: Caller, inspection_id: int, r: Record, now: datetime, media_dir: Path
) -> dict[str, Any]:
    """Record an inspection as done; a failed one with a `hazard` opens it, linked to the inspection."""
    task = await q.lock_task(conn, inspection_id)
    if task is None:
        raise NotFound(f"no inspection {inspection_id}")
    if caller.role.value not in RECORD_ROLES:
        raise Forbidden(f"recording inspections needs the role {', '.join(RECORD_ROLES)}")
    if task["done_at"] is not None:
        raise Conflict(f"inspection {inspection_id} was already recorded at {task['done_at'].isoformat()}")
    if r.hazard is not None and r.result != "fail":
        raise UnprocessableContent("only a failed check opens a hazard", field="hazard")
    hazard_id = None
    if r.hazard is not None:
        report = hazards.HazardReport(
            name=r.hazard.name,
            category=r.hazard.category or task["category"],
            description=r.hazard.description or r.note,
            campus=task["campus"],
            lon=task["lon"],
            lat=task["lat"],
            risk_point_id=task["risk_point_id"],
            inspection_id=inspection_id,
        )
        hazard_id = await hazards.report(conn, caller, report, [], now, media_dir)
    await q.mark_done(conn, inspection_id, now, caller.person_id, r.result, r.note)
    return {"id": inspection_id, "done_at": now, "result": r.result, "hazard_id": hazard_id}


async def tasks(
    conn: AsyncConnection,
    caller: Caller,
    status: str,
    now: datetime,
    until: datetime | None,
    limit: int,
    offset: int,
) -> tuple[list[dict[str, Any]], int]:
    """Inspection tasks: due (open, not yet late), overdue (open, late: missed), done, or all."""
    return await q.list_tasks(conn, caller, status, now, until, limit, offset)
