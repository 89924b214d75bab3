"""SQL of escalations and notifications, with bound parameters; nothing here commits."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from twin.errors import Forbidden
from twin.models import Escalation, Hazard, Notification
from twin.riskmap.queries_hazards import cast_table, within

E = cast_table(Escalation)
N = cast_table(Notification)


async def act_as_scheduler(conn: AsyncConnection) -> None:
    """The escalation worker sees the whole territory and writes only what `write_grants` gives `scheduler`.

    It is nobody's request, so it has no user and no scope of its own; the role `twin_app_all` reads
    every row, and its write policies still check the grants of the role named here.
    """
    await conn.execute(text("SET LOCAL ROLE twin_app_all"))
    await conn.execute(
        text(
            "SELECT set_config('twin.role', 'scheduler', true), set_config('twin.user', '', true),"
            " set_config('twin.scope', '', true)"
        )
    )


async def cancel_pending(conn: AsyncConnection, hazard_id: int, now: datetime) -> None:
    """Steps not yet fired become moot (a new deadline, or the hazard left the open states)."""
    stmt = (
        update(E)
        .where(E.c.hazard_id == hazard_id, E.c.done_at.is_(None))
        .values(done_at=now, outcome="skipped")
    )
    await conn.execute(stmt)


async def add_steps(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    if rows:
        await conn.execute(insert(E), rows)


async def claim_due(conn: AsyncConnection, now: datetime, batch: int) -> list[dict[str, Any]]:
    """Steps due by `now`, locked: another worker skips them (SKIP LOCKED) and never fires them twice."""
    query = (
        select(E.c.id, E.c.hazard_id, E.c.step, E.c.level, E.c.deadline, E.c.due_at)
        .where(E.c.done_at.is_(None), E.c.due_at <= now)
        .order_by(E.c.due_at, E.c.id)
        .limit(batch)
        .with_for_update(skip_locked=True)
    )
    return [dict(r) for r in (await conn.execute(query)).mappings()]


async def mark_done(conn: AsyncConnection, step_ids: list[int], now: datetime, outcome: str) -> None:
    if step_ids:
        await conn.execute(update(E).where(E.c.id.in_(step_ids)).values(done_at=now, outcome=outcome))


async def ladder_of(conn: AsyncConnection, hazard_id: int) -> list[dict[str, Any]]:
    """The escalation steps of a hazard's current deadline: when each level hears of it, and if it has."""
    current = select(Hazard.deadline).where(Hazard.id == hazard_id).scalar_subquery()
    query = (
        select(E.c.step, E.c.level, E.c.due_at, E.c.done_at, E.c.outcome)
        .where(E.c.hazard_id == hazard_id, E.c.deadline == current)
        .order_by(E.c.step, E.c.id)
    )
    return [dict(r) for r in (await conn.execute(query)).mappings()]


async def hazards_for_escalation(conn: AsyncConnection, hazard_ids: list[int]) -> dict[int, dict[str, Any]]:
    """The fields a notification tells, of each hazard still there; one query for a batch of steps."""
    h = Hazard
    query = select(
        h.id,
        h.number,
        h.name,
        h.state,
        h.grade,
        h.deadline,
        h.org_path.cast(String).label("org_path"),
        h.responsible_person_id,
        h.responsible_department,
    ).where(h.id.in_(hazard_ids))
    return {r["id"]: dict(r) for r in (await conn.execute(query)).mappings()}


async def insert_notification(conn: AsyncConnection, values: dict[str, Any]) -> int:
    """Store a notification; returns its id."""
    # Through the definer function: a notification sent up the tree lies outside the sender's scope.
    stmt = text(
        "SELECT twin_notify(CAST(:org_path AS ltree), CAST(:school_path AS ltree), :level, :person_id,"
        " :hazard_id, :kind, :title, CAST(:body AS jsonb), :created_at)"
    )
    return int((await conn.execute(stmt, values)).scalar_one())


async def list_notifications(
    conn: AsyncConnection, *, scope: str | None, person_id: int | None, unread: bool, limit: int
) -> list[dict[str, Any]]:
    """Notifications in the caller's jurisdiction, newest first; `person_id` keeps the caller's own."""
    query = select(
        N.c.id,
        N.c.org_path.cast(String).label("org_path"),
        N.c.level,
        N.c.person_id,
        N.c.hazard_id,
        N.c.kind,
        N.c.title,
        N.c.body,
        N.c.created_at,
        N.c.read_at,
    )
    if scope is not None:
        query = query.where(within(N.c.org_path, scope))
    if person_id is not None:
        query = query.where(N.c.person_id == person_id)
    if unread:
        query = query.where(N.c.read_at.is_(None))
    query = query.order_by(N.c.created_at.desc(), N.c.id.desc()).limit(limit)
    return [dict(r) for r in (await conn.execute(query)).mappings()]


async def mark_read(conn: AsyncConnection, notification_id: int, now: datetime) -> bool:
    """Mark one visible notification read (the first reading counts); False when it is not visible."""
    visible = (await conn.execute(select(N.c.id).where(N.c.id == notification_id))).first()
    if visible is None:
        return False
    stmt = update(N).where(N.c.id == notification_id, N.c.read_at.is_(None)).values(read_at=now)
    updated = (await conn.execute(stmt.returning(N.c.id))).first() is not None
    if not updated and not await _is_read(conn, notification_id):
        # Visible but not updatable: row security kept the write from this caller (say so, not a silent 204).
        raise Forbidden(f"notification {notification_id} is not yours to mark read")
    return True


async def _is_read(conn: AsyncConnection, notification_id: int) -> bool:
    read_at = (await conn.execute(select(N.c.read_at).where(N.c.id == notification_id))).scalar_one()
    return read_at is not None
