"""Reporting an incident and its follow-up steps (举报 → 调查 → 认定 → 处置 → 复查), each with its record.

Each function works inside the caller's scoped transaction (row-level security decides what exists)
and stores everything or nothing; the router commits.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy.ext.asyncio import AsyncConnection

from twin.access.scope import Caller
from twin.errors import NotFound, UnprocessableContent
from twin.incidents import queries as q
from twin.incidents.catalogue import catalogue

ON_CAMPUS_M = 30.0  # a reported point may lie this far outside the boundary (GPS error at a gate)
CLOCK_SKEW = timedelta(minutes=10)  # an incident "in the future" by less than this is a phone's clock


def _one_of(value: str, allowed: list[str] | tuple[str, ...], what: str) -> str:
    if value not in allowed:
        raise ValueError(f"unknown {what} {value!r}; use one of: {', '.join(allowed)}")
    return value


class Involved(BaseModel):
    """Someone involved, by what they are and the part they had; a person id only when known."""

    model_config = ConfigDict(extra="forbid")

    kind: str = Field(description="student, teacher, staff or outsider")
    role: str = Field(description="victim, perpetrator or witness")
    person_id: int | None = None

    @field_validator("kind")
    @classmethod
    def _kind(cls, v: str) -> str:
        return _one_of(v, catalogue().person_kinds, "kind of person")

    @field_validator("role")
    @classmethod
    def _role(cls, v: str) -> str:
        return _one_of(v, catalogue().involvement, "part in the incident")


class IncidentReport(BaseModel):
    """Where (a point, or a building and floor), what kind of place, what, when, and who by part."""

    model_config = ConfigDict(extra="forbid")

    type: str = Field(description="a type of incidents.yaml (GET /incidents/catalogue)")
    place_kind: str = Field(description="a kind of place of incidents.yaml: toilet, stairwell, …")
    occurred_at: datetime
    campus: str | None = Field(default=None, max_length=64, description="campus code")
    lon: float | None = Field(default=None, ge=-180, le=180)
    lat: float | None = Field(default=None, ge=-90, le=90)
    building: int | str | None = Field(default=None, description="building id, or code within the campus")
    floor: int | None = Field(default=None, ge=-10, le=200)
    summary: str | None = Field(default=None, max_length=4000)
    involved: list[Involved] = Field(default_factory=list, max_length=100)

    @field_validator("type")
    @classmethod
    def _type(cls, v: str) -> str:
        return _one_of(v, list(catalogue().types), "incident type")

    @field_validator("place_kind")
    @classmethod
    def _place(cls, v: str) -> str:
        return _one_of(v, list(catalogue().places), "kind of place")

    @model_validator(mode="after")
    def _somewhere(self) -> IncidentReport:
        if (self.lon is None) != (self.lat is None):
            raise ValueError("send both lon and lat, or neither")
        if self.lon is None and self.building is None:
            raise ValueError("say where: lon and lat, or a building (id or code) with an optional floor")
        if self.floor is not None and self.building is None:
            raise ValueError("a floor needs a building")
        if self.occurred_at.tzinfo is None:
            raise ValueError("occurred_at needs a time zone, e.g. 2026-05-01T12:30:00+08:00")
        return self


class Step(BaseModel):
    """`{"to": state, "note": …}`: a follow-up step."""

    model_config = ConfigDict(extra="forbid")

    to: str
    note: str | None = Field(default=None, max_length=4000)


async def report(conn: AsyncConnection, caller: Caller, r: IncidentReport, now: datetime) -> int:
    """Store a reported incident (state `reported`) and the first step of its record."""
    catalogue().require("report", caller.role, "reporting an incident")
    if r.occurred_at > now + CLOCK_SKEW:
        raise UnprocessableContent(
            f"occurred_at {r.occurred_at.isoformat()} is in the future (now {now.isoformat()})",
            field="occurred_at",
        )
    campus, building, (lon, lat) = await _place(conn, r)
    await _people(conn, r.involved, campus["org_path"])
    values = {
        "org_path": campus["org_path"],
        "campus_id": campus["id"],
        "type": r.type,
        "place_kind": r.place_kind,
        "building_id": building["id"] if building else None,
        "floor": r.floor,
        "occurred_at": r.occurred_at,
        "reported_at": now,
        "reported_by": caller.user_id,
        "summary": r.summary,
        "involved": [p.model_dump() for p in r.involved],
    }
    incident_id = await q.insert(conn, values, lon, lat)
    await _record(conn, caller, campus["org_path"], incident_id, None, "reported", None)
    return incident_id


async def move(conn: AsyncConnection, caller: Caller, incident_id: int, step: Step) -> dict[str, Any]:
    """Take one follow-up step, if the procedure has it and the caller's role may take it."""
    catalogue().require("detail", caller.role, "following an incident up")
    incident = await q.one(conn, incident_id, lock=True)
    if incident is None:
        raise NotFound(f"no incident {incident_id}")
    catalogue().check(incident["state"], caller.role.value, step.to, step.note)
    await q.set_state(conn, incident_id, step.to)
    await _record(conn, caller, incident["org_path"], incident_id, incident["state"], step.to, step.note)
    return await detail(conn, caller, incident_id)


async def detail(conn: AsyncConnection, caller: Caller, incident_id: int) -> dict[str, Any]:
    """An incident with its people (ids where known), summary, record and the steps the caller may take."""
    catalogue().require("detail", caller.role, "reading an incident's details")
    incident = await q.one(conn, incident_id)
    if incident is None:
        raise NotFound(f"no incident {incident_id}")
    incident.pop("org_path")
    incident["steps"] = await q.steps(conn, incident_id)
    incident["allowed_next"] = catalogue().next_states(incident["state"], caller.role.value)
    return incident


async def listing(
    conn: AsyncConnection, caller: Caller, f: q.Filter, limit: int, offset: int
) -> dict[str, Any]:
    """A page of incidents in the caller's jurisdiction: places, kinds and counts by part, no people."""
    catalogue().require("detail", caller.role, "listing incidents")
    items, total = await q.listed(conn, f, limit, offset)
    return {"items": items, "total": total, "limit": limit, "offset": offset}


async def _record(
    conn: AsyncConnection,
    caller: Caller,
    org_path: str,
    incident_id: int,
    source: str | None,
    to: str,
    note: str | None,
) -> None:
    await q.record_step(
        conn,
        {
            "org_path": org_path,
            "incident_id": incident_id,
            "from_state": source,
            "to_state": to,
            "user_id": caller.user_id,
            "role": caller.role.value,
            "note": note,
        },
    )


async def _people(conn: AsyncConnection, involved: list[Involved], school_path: str) -> None:
    ids = [p.person_id for p in involved if p.person_id is not None]
    known = await q.people_of_school(conn, ids, school_path)
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise UnprocessableContent(
            f"no person {unknown[0]} at this school in your jurisdiction; leave person_id out when unknown",
            field="involved",
        )


async def _place(
    conn: AsyncConnection, r: IncidentReport
) -> tuple[dict[str, Any], dict[str, Any] | None, tuple[float, float]]:
    """The campus, the building (if named) and the point; the point defaults to the building's."""
    campus = None
    if r.campus is not None:
        campus = await q.campus_by_code(conn, r.campus)
        if campus is None:
            raise UnprocessableContent(f"no campus {r.campus!r} in your jurisdiction", field="campus")
    building = await _building(conn, r, campus)
    if building is not None and campus is None:
        campus = await q.campus_by_id(conn, building["campus_id"])
    if r.lon is not None and r.lat is not None:
        near = await q.campuses_at(conn, r.lon, r.lat, ON_CAMPUS_M)
        campus = campus or (near[0] if near else None)
        if campus is None or campus["id"] not in {c["id"] for c in near}:
            where = f"campus {campus['code']}" if campus else "a campus of your jurisdiction"
            raise UnprocessableContent(
                f"the point ({r.lon}, {r.lat}) is not on {where} (within {ON_CAMPUS_M:.0f} m of its edge)",
                field="lon",
            )
        return campus, building, (r.lon, r.lat)
    assert building is not None and campus is not None
    return campus, building, (building["lon"], building["lat"])


async def _building(
    conn: AsyncConnection, r: IncidentReport, campus: dict[str, Any] | None
) -> dict[str, Any] | None:
    if r.building is None:
        return None
    ref = int(r.building) if isinstance(r.building, str) and r.building.isdigit() else r.building
    if isinstance(ref, str) and campus is None:
        raise UnprocessableContent("a building code needs the campus code too (or send the building id)")
    found = await q.building(conn, campus["id"] if campus else None, ref)
    if found is None or (campus is not None and found["campus_id"] != campus["id"]):
        raise UnprocessableContent(
            f"no building {r.building!r} on that campus in your jurisdiction", field="building"
        )
    if r.floor is not None and not (r.floor <= found["floors"] and r.floor != 0):
        raise UnprocessableContent(
            f"building {found['code']} has floors 1 to {found['floors']} (and basements -1, -2…),"
            f" not {r.floor}",
            field="floor",
        )
    return found
