"""Every SQL statement of the risk map, with bound parameters; run on the caller's scoped connection.

Row-level security filters every read; queries also write the org path in (`org_path <@ :path`) so the
planner uses the GiST index (twin.access.planner_scope does the same for the layers).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from twin.access import Caller
from twin.db.asat import RISK_TABLES, AsAt, with_clause
from twin.errors import NotFound
from twin.riskmap.scales import Scale, build_scale, default_scale, shipped


@dataclass(frozen=True)
class OrgUnit:
    code: str
    name: str
    level: str
    path: str


async def org_unit(conn: AsyncConnection, caller: Caller, code: str) -> OrgUnit:
    """The org unit `code` if it lies in the caller's jurisdiction; 404 otherwise, as if it did not exist."""
    row = (
        await conn.execute(
            text("SELECT code, name, level, path::text AS path FROM org_units WHERE code = :code"),
            {"code": code},
        )
    ).first()
    inside = row is not None and (
        caller.whole or row.path == caller.org_path or row.path.startswith(caller.org_path + ".")
    )
    if row is None or not inside:
        raise NotFound(f"no org unit {code!r} in your jurisdiction")
    return OrgUnit(row.code, row.name, row.level, row.path)


# --- scales ------------------------------------------------------------------------------------------


async def scale_row(conn: AsyncConnection, path: str) -> dict[str, Any] | None:
    """The override in force at `path` (nearest ancestor's row), or None for the default."""
    row = (
        await conn.execute(
            text(
                "SELECT org_path::text AS org_path, scheme, colours, dynamic FROM risk_scales"
                " WHERE org_path @> CAST(:p AS ltree) ORDER BY nlevel(org_path) DESC LIMIT 1"
            ),
            {"p": path},
        )
    ).first()
    return dict(row._mapping) if row is not None else None


async def scale_for(conn: AsyncConnection, path: str) -> Scale:
    """The scale a school (or any org unit) grades with."""
    row = await scale_row(conn, path)
    if row is None:  # only when the root row of migration 0008 was removed
        return default_scale()
    if not row["colours"] and not row["dynamic"] and row["scheme"] in shipped():
        return shipped()[row["scheme"]]
    return build_scale(row["scheme"], colours=row["colours"], dynamic=row["dynamic"])


async def save_scale(
    conn: AsyncConnection,
    path: str,
    scale: Scale,
    colours: dict[str, str] | None,
    dynamic: dict[str, int] | None,
    user_id: int,
) -> int:
    """Store the override of `path`, then re-grade the risks below it; returns how many points changed."""
    await conn.execute(
        text(
            "INSERT INTO risk_scales (org_path, scheme, colours, dynamic, definition, updated_by)"
            " VALUES (CAST(:p AS ltree), :scheme, CAST(:colours AS jsonb), CAST(:dynamic AS jsonb),"
            " CAST(:definition AS jsonb), :user)"
            " ON CONFLICT (org_path) DO UPDATE SET scheme = excluded.scheme, colours = excluded.colours,"
            " dynamic = excluded.dynamic, definition = excluded.definition, updated_by = excluded.updated_by,"
            " updated_at = now()"
        ),
        {
            "p": path,
            "scheme": scale.scheme,
            "colours": json.dumps(colours) if colours else None,
            "dynamic": json.dumps(dynamic) if dynamic else None,
            "definition": json.dumps(scale.definition(), ensure_ascii=False),
            "user": user_id,
        },
    )
    return await regrade(conn, path)


async def delete_scale(conn: AsyncConnection, path: str) -> tuple[bool, int]:
    """Drop the override of `path` (it inherits again); whether there was one, and how many re-graded."""
    result = await conn.execute(
        text("DELETE FROM risk_scales WHERE org_path = CAST(:p AS ltree) AND nlevel(org_path) > 0"),
        {"p": path},
    )
    if not result.rowcount:
        return False, 0
    return True, await regrade(conn, path)


async def regrade(conn: AsyncConnection, path: str) -> int:
    """Grade the assessed risks below `path` again with the scale now in force (after an override)."""
    changed = 0
    for table in ("risk_points", "risk_zones"):
        result = await conn.execute(
            text(
                f"UPDATE {table} t SET level = g.level FROM ("
                f" SELECT id, twin_risk_grade(method, inputs, 0, twin_risk_scale(org_path)) AS level"
                f" FROM {table} WHERE org_path <@ CAST(:p AS ltree) AND method IS NOT NULL) g"
                " WHERE t.id = g.id AND g.level IS NOT NULL AND t.level IS DISTINCT FROM g.level"
            ),
            {"p": path},
        )
        changed += result.rowcount
    return changed


# --- four-colour map and roll-up -------------------------------------------------------------------


def _at(sql: str, params: dict[str, Any], past: AsAt | None) -> tuple[Any, dict[str, Any]]:
    """The statement reading today's tables, or (`past`) the same statement over their state then."""
    if past is None:
        return text(sql), params
    return text(with_clause(RISK_TABLES, past) + sql), {**params, **past.params()}


async def zones(conn: AsyncConnection, path: str, past: AsAt | None = None) -> list[dict[str, Any]]:
    """The risk zones below `path` with their roll-up counts (the zone and the points linked to it)."""
    rows = await conn.execute(
        *_at(
            "SELECT z.id, z.code, z.name, z.category, z.level, z.floor, z.org_path::text AS org_path,"
            " b.name AS building, coalesce(r.points, '{0,0,0,0}') AS points,"
            " coalesce(r.zones, '{0,0,0,0}') AS zones, ST_AsGeoJSON(z.geom, 7)::json AS geometry"
            " FROM risk_zones z LEFT JOIN risk_rollup r ON r.key = 'zone:' || z.id"
            " LEFT JOIN buildings b ON b.id = z.building_id"
            " WHERE z.org_path <@ CAST(:p AS ltree) ORDER BY z.id",
            {"p": path},
            past,
        )
    )
    return [dict(r._mapping) for r in rows]


async def rollup_rows(
    conn: AsyncConnection, path: str, depth: int, past: AsAt | None = None
) -> list[dict[str, Any]]:
    """Roll-up rows of the org unit at `path`: its own, its children's and (for a school) its places."""
    rows = await conn.execute(
        *_at(
            "SELECT r.key, r.kind, r.org_path::text AS org_path, r.campus_id, r.building_id, r.floor,"
            " r.zone_id, r.points, r.zones, coalesce(o.code, c.code, b.code, z.code) AS code,"
            " coalesce(o.name, c.name, b.name, z.name) AS name"
            " FROM risk_rollup r"
            " LEFT JOIN org_units o ON r.kind = 'org' AND o.path = r.org_path"
            " LEFT JOIN campuses c ON r.kind = 'campus' AND c.id = r.campus_id"
            " LEFT JOIN buildings b ON r.kind IN ('building', 'floor') AND b.id = r.building_id"
            " LEFT JOIN risk_zones z ON r.kind = 'zone' AND z.id = r.zone_id"
            " WHERE r.org_path <@ CAST(:p AS ltree)"
            " AND (r.kind <> 'org' OR nlevel(r.org_path) <= :depth + 1)"
            " AND (r.kind = 'org' OR nlevel(r.org_path) = :depth)"
            " ORDER BY r.kind <> 'org', nlevel(r.org_path), r.key",
            {"p": path, "depth": depth},
            past,
        )
    )
    return [dict(r._mapping) for r in rows]


async def depth_of(conn: AsyncConnection, path: str) -> int:
    return int((await conn.execute(text("SELECT nlevel(CAST(:p AS ltree))"), {"p": path})).scalar_one())


# --- control list, boards and cards ----------------------------------------------------------------

_POINTS = (
    "SELECT p.id, p.code, p.name, p.category, p.description, p.method, p.inputs, p.score, p.level,"
    " p.effective_level, p.dynamic, p.measures, p.control_level, p.review_date, p.floor,"
    " p.accident_types, p.org_path::text AS org_path, b.id AS building_id, b.name AS building,"
    " z.name AS zone, c.name AS campus, per.name AS responsible, per.title AS responsible_title,"
    " per.phone AS responsible_phone"
    " FROM risk_points p"
    " LEFT JOIN buildings b ON b.id = p.building_id"
    " LEFT JOIN risk_zones z ON z.id = p.zone_id"
    " LEFT JOIN campuses c ON c.id = p.campus_id"
    " LEFT JOIN people per ON per.id = p.responsible_person_id"
    " WHERE p.org_path <@ CAST(:p AS ltree)"
)


async def count_points(
    conn: AsyncConnection, path: str, building_id: int | None = None, past: AsAt | None = None
) -> int:
    sql = "SELECT count(*) FROM risk_points p WHERE p.org_path <@ CAST(:p AS ltree)"
    if building_id is not None:
        sql += " AND p.building_id = :b"
    return int((await conn.execute(*_at(sql, {"p": path, "b": building_id}, past))).scalar_one())


async def risk_points(
    conn: AsyncConnection,
    path: str,
    *,
    building_id: int | None = None,
    point_id: int | None = None,
    past: AsAt | None = None,
) -> list[dict[str, Any]]:
    """Risk points below `path` with their place and responsible person, highest level first."""
    where, params = "", {"p": path, "b": building_id, "id": point_id}
    if building_id is not None:
        where += " AND p.building_id = :b"
    if point_id is not None:
        where += " AND p.id = :id"
    sql = _POINTS + where + " ORDER BY coalesce(p.effective_level, 9), p.code"
    rows = await conn.execute(*_at(sql, params, past))
    return [dict(r._mapping) for r in rows]
