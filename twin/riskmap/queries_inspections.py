"""SQL of inspections and their plans, with bound parameters; nothing here commits."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import String, and_, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from twin.access.scope import Caller, planner_scope
from twin.models import Campus, Inspection, InspectionPlan, RiskPoint
from twin.riskmap.queries_hazards import cast_table, within

I = cast_table(Inspection)  # noqa: E741
P = cast_table(InspectionPlan)


async def risk_points_with_plans(conn: AsyncConnection, campus_id: int | None) -> list[dict[str, Any]]:
    """Visible risk points, their control level and active plan frequencies (empty: use the defaults)."""
    plan = (
        select(func.array_agg(P.c.frequency))
        .where(P.c.risk_point_id == RiskPoint.id, P.c.active)
        .scalar_subquery()
    )
    query = select(RiskPoint.id, RiskPoint.control_level, plan.label("plan")).order_by(RiskPoint.id)
    if campus_id is not None:
        query = query.where(RiskPoint.campus_id == campus_id)
    return [dict(r) for r in (await conn.execute(query)).mappings()]


async def add_tasks(conn: AsyncConnection, rows: list[dict[str, Any]]) -> int:
    """Insert tasks, the risk point's place and scope copied; an existing task is left as it is."""
    if not rows:
        return 0
    stmt = text(
        "INSERT INTO inspections (org_path, campus_id, risk_point_id, frequency, due_at, geom)"
        " SELECT r.org_path, r.campus_id, r.id, t.frequency, t.due_at, r.geom"
        " FROM jsonb_to_recordset(CAST(:rows AS jsonb))"
        " AS t(risk_point_id int, frequency text, due_at timestamptz)"
        " JOIN risk_points r ON r.id = t.risk_point_id"
        " ON CONFLICT (risk_point_id, frequency, due_at) DO NOTHING RETURNING id"
    )
    payload = json.dumps([{**r, "due_at": r["due_at"].isoformat()} for r in rows])
    return len((await conn.execute(stmt, {"rows": payload})).all())


async def set_plan(conn: AsyncConnection, risk_point_id: int, names: list[str]) -> bool:
    point = (
        await conn.execute(
            select(RiskPoint.campus_id, RiskPoint.org_path.cast(String)).where(RiskPoint.id == risk_point_id)
        )
    ).first()
    if point is None:
        return False
    await conn.execute(
        update(P).where(P.c.risk_point_id == risk_point_id).values(active=P.c.frequency.in_(names))
    )
    rows = [
        {"org_path": point[1], "campus_id": point[0], "risk_point_id": risk_point_id, "frequency": n}
        for n in names
    ]
    stmt = text(
        "INSERT INTO inspection_plans (org_path, campus_id, risk_point_id, frequency)"
        " VALUES (CAST(:org_path AS ltree), :campus_id, :risk_point_id, :frequency)"
        " ON CONFLICT (risk_point_id, frequency) DO UPDATE SET active = true"
    )
    for row in rows:
        await conn.execute(stmt, row)
    return True


async def lock_task(conn: AsyncConnection, inspection_id: int) -> dict[str, Any] | None:
    query = (
        select(
            I.c.id,
            I.c.done_at,
            I.c.risk_point_id,
            RiskPoint.category,
            Campus.code.label("campus"),
            func.ST_X(RiskPoint.geom).label("lon"),
            func.ST_Y(RiskPoint.geom).label("lat"),
        )
        .join(RiskPoint, RiskPoint.id == I.c.risk_point_id)
        .join(Campus, Campus.id == I.c.campus_id)
        .where(I.c.id == inspection_id)
        .with_for_update(of=I)
    )
    row = (await conn.execute(query)).mappings().first()
    return dict(row) if row else None


async def mark_done(
    conn: AsyncConnection,
    inspection_id: int,
    now: datetime,
    person_id: int | None,
    result: str,
    note: str | None,
) -> None:
    stmt = (
        update(I)
        .where(I.c.id == inspection_id)
        .values(done_at=now, done_by_id=person_id, result=result, note=note, version=I.c.version + 1)
    )
    await conn.execute(stmt)


STATUSES = ("due", "overdue", "done", "all")


async def list_tasks(
    conn: AsyncConnection,
    caller: Caller,
    status: str,
    now: datetime,
    until: datetime | None,
    limit: int,
    offset: int,
) -> tuple[list[dict[str, Any]], int]:
    late = and_(I.c.done_at.is_(None), I.c.due_at < now)
    where = []
    scope = planner_scope(caller)
    if scope is not None:
        where.append(within(I.c.org_path, scope))
    if status == "due":
        where += [I.c.done_at.is_(None), I.c.due_at >= now]
    elif status == "overdue":
        where.append(late)
    elif status == "done":
        where.append(I.c.done_at.is_not(None))
    if until is not None:
        where.append(I.c.due_at < until)
    query = (
        select(
            I.c.id,
            I.c.risk_point_id,
            RiskPoint.code.label("risk_point"),
            RiskPoint.name.label("risk_point_name"),
            RiskPoint.control_level,
            I.c.frequency,
            I.c.due_at,
            I.c.done_at,
            I.c.result,
            I.c.note,
            late.label("overdue"),
        )
        .join(RiskPoint, RiskPoint.id == I.c.risk_point_id)
        .where(*where)
        .order_by(I.c.due_at, I.c.id)
        .limit(limit)
        .offset(offset)
    )
    total = (await conn.execute(select(func.count()).select_from(I).where(*where))).scalar_one()
    return [dict(r) for r in (await conn.execute(query)).mappings()], int(total)
