"""The hazard loop (隐患排查治理闭环): one-click report, transitions with their effects, and history.

Each function works inside the caller's scoped transaction (row-level security decides what exists) and
stores everything or nothing; the router commits, then publishes the notifications returned.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy.ext.asyncio import AsyncConnection

from twin.access.scope import Caller
from twin.errors import Forbidden, NotFound, PreconditionFailed, UnprocessableContent
from twin.models.risk import HAZARD_GRADES, HAZARD_STATES, RISK_CATEGORIES
from twin.riskmap import escalation
from twin.riskmap import photos as media
from twin.riskmap import queries_hazards as qh
from twin.riskmap.deadlines import rules
from twin.riskmap.transitions import machine

Grade = Literal[HAZARD_GRADES]  # type: ignore[valid-type]
State = Literal[HAZARD_STATES]  # type: ignore[valid-type]
Category = Literal[RISK_CATEGORIES]  # type: ignore[valid-type]
NEAR_CAMPUS_M = 100.0  # a reported point may lie this far outside the campus boundary (gates, roadside)


class HazardReport(BaseModel):
    """A one-click report: where (a point, or a building and floor), what, and optionally which campus."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    category: Category
    description: str | None = Field(default=None, max_length=4000)
    campus: str | None = Field(default=None, max_length=64, description="campus code")
    lon: float | None = Field(default=None, ge=-180, le=180)
    lat: float | None = Field(default=None, ge=-90, le=90)
    building: int | str | None = Field(default=None, description="building id, or code within the campus")
    floor: int | None = Field(default=None, ge=-10, le=200)
    risk_point_id: int | None = None
    inspection_id: int | None = None

    @model_validator(mode="after")
    def _somewhere(self) -> HazardReport:
        if (self.lon is None) != (self.lat is None):
            raise ValueError("send both lon and lat, or neither")
        if self.lon is None and self.building is None:
            raise ValueError("say where: lon and lat, or a building (id or code) with an optional floor")
        if self.floor is not None and self.building is None:
            raise ValueError("a floor needs a building")
        return self


class TransitionRequest(BaseModel):
    """`{"to": state, "note", …}`: the move and the fields its step of the loop needs."""

    model_config = ConfigDict(extra="forbid")

    to: State
    note: str | None = Field(default=None, max_length=4000)
    grade: Grade | None = None
    reason: str | None = Field(default=None, max_length=4000)
    responsible_person_id: int | None = None
    responsible_department: str | None = Field(default=None, max_length=100)
    deadline: datetime | None = None
    requested_deadline: datetime | None = None
    decision: Literal["granted", "refused"] | None = None
    result: str | None = Field(default=None, max_length=4000)
    evaluation: str | None = Field(default=None, max_length=4000)
    measures: str | None = Field(default=None, max_length=4000)
    funds_cny: float | None = Field(default=None, ge=0)

    def fields(self) -> dict[str, Any]:
        values = self.model_dump()
        values["responsible"] = self.responsible_person_id or self.responsible_department
        return values


@dataclass
class Moved:
    """What a transition did: the hazard's new state and version, and the notifications to publish."""

    hazard_id: int
    state: str
    version: int
    notices: list[escalation.Notice] = field(default_factory=list)

    @property
    def etag(self) -> str:
        return etag(self.hazard_id, self.version)


def etag(hazard_id: int, version: int) -> str:
    """The same strong ETag as the hazard's feature (`"{id}-{version}"`, twin.layers.edits)."""
    return f'"{hazard_id}-{version}"'


def check_if_match(header: str | None, hazard_id: int, version: int) -> None:
    """412 when If-Match is sent and names another version; a transition without it still checks the state."""
    if header is None or not header.strip():
        return
    tags = [t.strip() for t in header.split(",")]
    if "*" in tags or etag(hazard_id, version) in tags:
        return
    raise PreconditionFailed(
        f"hazard {hazard_id} is at version {version} (ETag {etag(hazard_id, version)}), not the one you sent"
        f" ({header.strip()}); GET it again and decide again",
        current_version=version,
        etag=etag(hazard_id, version),
    )


async def locked(conn: AsyncConnection, hazard_id: int) -> dict[str, Any]:
    hazard = await qh.lock_hazard(conn, hazard_id)
    if hazard is None:
        raise NotFound(f"no hazard {hazard_id}")
    return hazard


async def transition(
    conn: AsyncConnection,
    caller: Caller,
    hazard_id: int,
    request: TransitionRequest,
    now: datetime,
    if_match: str | None = None,
) -> Moved:
    """Move a hazard one step through the loop, if the step is legal, the caller's and complete."""
    hazard = await locked(conn, hazard_id)
    check_if_match(if_match, hazard_id, hazard["version"])
    fields = request.fields()
    machine().check(hazard["state"], hazard["grade"], caller.role.value, request.to, fields)
    values = await _effects(conn, caller, hazard, request, now)
    version = await qh.update_hazard(conn, hazard_id, {**values, "state": request.to})
    payload = {k: _plain(v) for k, v in fields.items() if v is not None and k not in {"to", "note"}}
    await qh.record_transition(
        conn,
        {
            "org_path": hazard["org_path"],
            "hazard_id": hazard_id,
            "from_state": hazard["state"],
            "to_state": request.to,
            "user_id": caller.user_id,
            "role": caller.role.value,
            "at": now,
            "note": request.note or request.reason,
            "payload": payload or None,
        },
    )
    moved = Moved(hazard_id, request.to, version)
    after = {**hazard, **values, "state": request.to}
    moved.notices = await _follow_up(conn, hazard, after, now)
    return moved


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _future(when: datetime, after: datetime, name: str) -> datetime:
    """`when`, if it has a time zone and falls after `after` (now, or the deadline a deferral extends)."""
    if when.tzinfo is None:
        raise UnprocessableContent(f"{name} needs a time zone, e.g. 2026-05-01T18:00:00+08:00", field=name)
    if when <= after:
        raise UnprocessableContent(
            f"{name} {when.isoformat()} must be later than {after.isoformat()}", field=name
        )
    return when


async def _effects(
    conn: AsyncConnection, caller: Caller, hazard: dict[str, Any], r: TransitionRequest, now: datetime
) -> dict[str, Any]:
    """The ledger fields a step fills in (besides the state)."""
    values: dict[str, Any] = {}
    if r.measures is not None:
        values["measures"] = r.measures
    if r.funds_cny is not None:
        values["funds_cny"] = r.funds_cny
    if r.to == "confirmed":
        values["grade"] = r.grade
    elif r.to == "rejected":
        values["result"] = r.reason
    elif r.to == "assigned":
        values |= await _assignment(conn, hazard, r, now)
    elif r.to == "deferral_requested":
        assert r.requested_deadline is not None
        _future(r.requested_deadline, hazard["deadline"] or now, "requested_deadline")
    elif r.to == "rectifying" and hazard["state"] == "deferral_requested" and r.decision == "granted":
        assert r.deadline is not None
        values["deadline"] = _future(r.deadline, now, "deadline")
    elif r.to == "submitted":
        values |= {"rectified_at": now, "result": r.result}
    elif r.to == "accepted":
        values |= {"accepted_by_id": caller.person_id, "accepted_at": now}
    return values


async def _assignment(
    conn: AsyncConnection, hazard: dict[str, Any], r: TransitionRequest, now: datetime
) -> dict[str, Any]:
    values: dict[str, Any] = {"responsible_department": r.responsible_department}
    if r.responsible_person_id is not None:
        if not await qh.person_visible(conn, r.responsible_person_id):
            raise UnprocessableContent(
                f"no person {r.responsible_person_id} in your jurisdiction", field="responsible_person_id"
            )
        values["responsible_person_id"] = r.responsible_person_id
    if r.deadline is not None:
        values["deadline"] = _future(r.deadline, now, "deadline")
    else:  # the rule of hazard_rules.yaml for this grade and category
        values["deadline"] = rules().deadline(hazard["grade"], hazard["category"], now)
    return values


async def _follow_up(
    conn: AsyncConnection, before: dict[str, Any], after: dict[str, Any], now: datetime
) -> list[escalation.Notice]:
    """Escalation and notifications a step sets off: new ladders, the major report, the assignee's bell."""
    notices: list[escalation.Notice | None] = []
    if after["state"] not in machine().open_states:
        await escalation.q.cancel_pending(conn, after["id"], now)
    elif after.get("deadline") is not None and after["deadline"] != before["deadline"]:
        await escalation.schedule(conn, after, after["deadline"], now)
    if after["state"] == "confirmed" and after["grade"] == "major":
        title = f"Major hazard {after['number']} ({after['name']}) confirmed"
        for level in rules().major_report_to:
            notices.append(await escalation.notify(conn, after, level, "major_reported", title, now))
    if after["state"] == "assigned" and after.get("responsible_person_id") is not None:
        title = f"Hazard {after['number']} ({after['name']}) is assigned to you"
        notices.append(await escalation.notify(conn, after, "person", "assigned", title, now))
    return [n for n in notices if n is not None]


async def report(
    conn: AsyncConnection,
    caller: Caller,
    r: HazardReport,
    photos: list[media.Photo],
    now: datetime,
    media_dir: Path,
) -> int:
    """Store a reported hazard (state `reported`, numbered YH-<school>-<year>-<n>) with its photos."""
    if caller.role.value not in machine().report_roles:
        raise Forbidden(
            f"reporting a hazard needs the role {', '.join(machine().report_roles)};"
            f" you are {caller.role.value}"
        )
    campus, building, (lon, lat) = await _place(conn, r)
    if r.risk_point_id is not None and await qh.risk_point_campus(conn, r.risk_point_id) != campus["id"]:
        raise UnprocessableContent(
            f"no risk point {r.risk_point_id} on campus {campus['code']}", field="risk_point_id"
        )
    school = await qh.school_of(conn, campus["org_path"])
    year = now.astimezone(rules().zone).year
    n = await qh.next_number(conn, school["path"], year)
    values = {
        "org_path": campus["org_path"],
        "campus_id": campus["id"],
        "number": f"YH-{school['code']}-{year}-{n:04d}",
        "name": r.name,
        "category": r.category,
        "state": "reported",
        "found_at": now,
        "found_by_id": caller.person_id,
        "building_id": building["id"] if building else None,
        "floor": r.floor,
        "description": r.description,
        "risk_point_id": r.risk_point_id,
        "inspection_id": r.inspection_id,
    }
    hazard_id = await qh.insert_hazard(conn, values, lon, lat)
    await qh.record_transition(
        conn,
        {
            "org_path": campus["org_path"],
            "hazard_id": hazard_id,
            "from_state": None,
            "to_state": "reported",
            "user_id": caller.user_id,
            "role": caller.role.value,
            "at": now,
            "note": r.description,
            "payload": {"number": values["number"]},
        },
    )
    await add_photos(conn, caller, hazard_id, campus["org_path"], photos, media_dir)
    return hazard_id


async def add_photos(
    conn: AsyncConnection,
    caller: Caller,
    hazard_id: int,
    org_path: str,
    photos: list[media.Photo],
    media_dir: Path,
) -> None:
    """Keep each photo once on disk (by hash) and once per hazard in the database."""
    for photo in photos:
        media.store(media_dir, photo)
        await qh.add_photo(
            conn,
            {**photo.meta(), "hazard_id": hazard_id, "org_path": org_path, "uploaded_by": caller.user_id},
        )


async def _place(
    conn: AsyncConnection, r: HazardReport
) -> tuple[dict[str, Any], dict[str, Any] | None, tuple[float, float]]:
    """The campus, the building (if named) and the point of a report; the point defaults to the building's."""
    campus = None
    if r.campus is not None:
        campus = await qh.campus_by(conn, code=r.campus)
        if campus is None:
            raise UnprocessableContent(f"no campus {r.campus!r} in your jurisdiction", field="campus")
    building = None
    if r.building is not None:
        ref = int(r.building) if isinstance(r.building, str) and r.building.isdigit() else r.building
        if isinstance(ref, str) and campus is None:
            raise UnprocessableContent("a building code needs the campus code too (or send the building id)")
        building = await qh.building(conn, campus["id"] if campus else None, ref)
        if building is None or (campus is not None and building["campus_id"] != campus["id"]):
            raise UnprocessableContent(f"no building {r.building!r} in your jurisdiction", field="building")
        if r.floor is not None and r.floor > building["floors"]:
            raise UnprocessableContent(
                f"building {building['code']} has {building['floors']} floors, not {r.floor}", field="floor"
            )
        campus = campus or await qh.campus_by(conn, id_=building["campus_id"])
    if r.lon is not None and r.lat is not None:
        near = await qh.campuses_near(conn, r.lon, r.lat, NEAR_CAMPUS_M)
        if campus is None and near:
            campus = near[0]
        if campus is None or campus["id"] not in {c["id"] for c in near}:
            raise UnprocessableContent(
                f"the point ({r.lon}, {r.lat}) is not on a campus of your jurisdiction"
                f" (within {NEAR_CAMPUS_M:.0f} m of its boundary)",
                field="lon",
            )
        return campus, building, (r.lon, r.lat)
    assert building is not None and campus is not None
    return campus, building, (building["lon"], building["lat"])


async def photo_of(conn: AsyncConnection, hazard_id: int, sha256: str, media_dir: Path) -> tuple[bytes, str]:
    """A photo of a visible hazard: its bytes and media type (404 for anything not visible)."""
    row = await qh.photo(conn, hazard_id, sha256)
    if row is None:
        raise NotFound(f"no photo {sha256} of hazard {hazard_id}")
    return media.read(media_dir, sha256), row["media_type"]


async def history(conn: AsyncConnection, hazard_id: int) -> list[dict[str, Any]]:
    """Every step of a visible hazard, oldest first (404 when the hazard is not visible)."""
    if not await qh.hazard_visible(conn, hazard_id):
        raise NotFound(f"no hazard {hazard_id}")
    return await qh.history(conn, hazard_id)
