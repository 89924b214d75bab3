"""Every SQL statement of the incidents, with bound parameters; row-level security scopes each one.

Callers pass the request's scoped connection; nothing here commits. Lists and statistics also write the
caller's scope in (twin.access.planner_scope) so the planner can size it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

# What a list shows: where, what, when, state, and how many people by part, never who.
_LISTED = (
    "SELECT i.id, c.code AS campus, i.type, i.place_kind, i.building_id, b.code AS building, i.floor,"
    " i.occurred_at, i.reported_at, i.state, i.version, ST_X(i.geom) AS lon, ST_Y(i.geom) AS lat,"
    " (SELECT coalesce(jsonb_object_agg(k, n), '{}') FROM (SELECT p ->> 'role' AS k, count(*) AS n"
    "  FROM jsonb_array_elements(i.involved) p GROUP BY 1) x) AS people_by_role"
    " FROM incidents i JOIN campuses c ON c.id = i.campus_id LEFT JOIN buildings b ON b.id = i.building_id"
)

# What a detail adds: the summary and the people (with ids where known).
_DETAIL = _LISTED.replace("SELECT i.id,", "SELECT i.id, i.org_path::text AS org_path, i.summary, i.involved,")


@dataclass(frozen=True)
class Filter:
    scope: str | None
    campus: str | None = None
    state: str | None = None
    type: str | None = None
    place_kind: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def _where(f: Filter) -> tuple[str, dict[str, Any]]:
    clauses = ["true"]
    if f.scope is not None:
        clauses.append("i.org_path <@ CAST(:scope AS ltree)")
    for name, column in (("campus", "c.code"), ("state", "i.state"), ("type", "i.type")):
        if getattr(f, name) is not None:
            clauses.append(f"{column} = :{name}")
    if f.place_kind is not None:
        clauses.append("i.place_kind = :place_kind")
    if f.since is not None:
        clauses.append("i.occurred_at >= :since")
    if f.until is not None:
        clauses.append("i.occurred_at < :until")
    params = {k: v for k, v in vars(f).items() if v is not None}
    return " WHERE " + " AND ".join(clauses), params


async def campus_by_code(conn: AsyncConnection, code: str) -> dict[str, Any] | None:
    row = await conn.execute(
        text("SELECT id, code, org_path::text AS org_path FROM campuses WHERE code = :c"), {"c": code}
    )
    found = row.mappings().first()
    return dict(found) if found else None


async def campus_by_id(conn: AsyncConnection, campus_id: int) -> dict[str, Any] | None:
    row = await conn.execute(
        text("SELECT id, code, org_path::text AS org_path FROM campuses WHERE id = :c"), {"c": campus_id}
    )
    found = row.mappings().first()
    return dict(found) if found else None


async def building(conn: AsyncConnection, campus_id: int | None, ref: int | str) -> dict[str, Any] | None:
    """A visible building by id, or by code within the campus; with its floors and centroid."""
    by = "b.id = :ref" if isinstance(ref, int) else "b.code = :ref AND b.campus_id = :campus"
    row = await conn.execute(
        text(
            "SELECT b.id, b.code, b.campus_id, b.floors, ST_X(ST_PointOnSurface(b.geom)) AS lon,"
            f" ST_Y(ST_PointOnSurface(b.geom)) AS lat FROM buildings b WHERE {by}"
        ),
        {"ref": ref, "campus": campus_id},
    )
    found = row.mappings().first()
    return dict(found) if found else None


async def campuses_at(conn: AsyncConnection, lon: float, lat: float, metres: float) -> list[dict[str, Any]]:
    """Visible campuses whose boundary is within `metres` of the point, nearest first."""
    rows = await conn.execute(
        text(
            "SELECT id, code, org_path::text AS org_path FROM campuses"
            " WHERE ST_DWithin(boundary::geography, ST_SetSRID(ST_MakePoint(:x, :y), 4326)::geography, :m)"
            " ORDER BY boundary <-> ST_SetSRID(ST_MakePoint(:x, :y), 4326)"
        ),
        {"x": lon, "y": lat, "m": metres},
    )
    return [dict(r) for r in rows.mappings()]


async def people_of_school(conn: AsyncConnection, ids: list[int], school_path: str) -> set[int]:
    """The ids among `ids` of visible people of the school at `school_path`."""
    if not ids:
        return set()
    rows = await conn.execute(
        text("SELECT p.id FROM people p WHERE p.id = ANY(:ids) AND p.org_path <@ CAST(:p AS ltree)"),
        {"ids": ids, "p": school_path},
    )
    return {int(r) for r in rows.scalars()}


async def insert(conn: AsyncConnection, values: dict[str, Any], lon: float, lat: float) -> int:
    stmt = text(
        "INSERT INTO incidents (org_path, campus_id, type, place_kind, building_id, floor, occurred_at,"
        " reported_at, reported_by, state, summary, involved, geom) VALUES (CAST(:org_path AS ltree),"
        " :campus_id, :type, :place_kind, :building_id, :floor, :occurred_at, :reported_at, :reported_by,"
        " 'reported', :summary, CAST(:involved AS jsonb), ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))"
        " RETURNING id"
    )
    params = {**values, "involved": json.dumps(values["involved"]), "lon": lon, "lat": lat}
    return int((await conn.execute(stmt, params)).scalar_one())


async def record_step(conn: AsyncConnection, values: dict[str, Any]) -> None:
    await conn.execute(
        text(
            "INSERT INTO incident_transitions"
            " (org_path, incident_id, from_state, to_state, user_id, role, note)"
            " VALUES (CAST(:org_path AS ltree), :incident_id, :from_state, :to_state, :user_id, :role, :note)"
        ),
        values,
    )


async def listed(
    conn: AsyncConnection, f: Filter, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """One page of incidents, newest first, and how many match."""
    where, params = _where(f)
    page = await conn.execute(
        text(f"{_LISTED}{where} ORDER BY i.occurred_at DESC, i.id DESC LIMIT :limit OFFSET :offset"),
        {**params, "limit": limit, "offset": offset},
    )
    total = await conn.execute(
        text(f"SELECT count(*) FROM incidents i JOIN campuses c ON c.id = i.campus_id{where}"), params
    )
    return [dict(r) for r in page.mappings()], int(total.scalar_one())


async def one(conn: AsyncConnection, incident_id: int, *, lock: bool = False) -> dict[str, Any] | None:
    """An incident with its people and summary (details), if visible; locked for a follow-up step."""
    row = await conn.execute(
        text(f"{_DETAIL} WHERE i.id = :id{' FOR UPDATE OF i' if lock else ''}"),
        {"id": incident_id},
    )
    found = row.mappings().first()
    return dict(found) if found else None


async def set_state(conn: AsyncConnection, incident_id: int, state: str) -> int:
    stmt = text("UPDATE incidents SET state = :s WHERE id = :id RETURNING version")
    return int((await conn.execute(stmt, {"s": state, "id": incident_id})).scalar_one())


async def steps(conn: AsyncConnection, incident_id: int) -> list[dict[str, Any]]:
    rows = await conn.execute(
        text(
            "SELECT from_state, to_state, user_id, role, at, note FROM incident_transitions"
            " WHERE incident_id = :id ORDER BY at, id"
        ),
        {"id": incident_id},
    )
    return [dict(r) for r in rows.mappings()]


async def points(conn: AsyncConnection, f: Filter) -> list[dict[str, Any]]:
    """Where incidents happened and of what kind of place, with their people by part (statistics)."""
    where, params = _where(f)
    rows = await conn.execute(
        text(
            "SELECT ST_X(i.geom) AS lon, ST_Y(i.geom) AS lat, i.place_kind, i.type,"
            " (SELECT coalesce(jsonb_agg(jsonb_build_object('kind', p ->> 'kind', 'role', p ->> 'role')),"
            " '[]')"
            "  FROM jsonb_array_elements(i.involved) p) AS people"
            f" FROM incidents i JOIN campuses c ON c.id = i.campus_id{where}"
        ),
        params,
    )
    return [dict(r) for r in rows.mappings()]


async def org_unit(conn: AsyncConnection, code: str) -> dict[str, Any] | None:
    row = await conn.execute(
        text("SELECT code, name, level, path::text AS path FROM org_units WHERE code = :c"), {"c": code}
    )
    found = row.mappings().first()
    return dict(found) if found else None
