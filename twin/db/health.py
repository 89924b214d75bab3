"""Database health: reachable, migrated, and how many rows each table holds."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from twin.models import Base

# Above this estimate an exact count(*) is too slow for a health probe; the estimate is reported.
EXACT_COUNT_LIMIT = 200_000


def counted_tables() -> list[str]:
    return sorted(Base.metadata.tables)


async def table_counts(conn: AsyncConnection) -> dict[str, int]:
    """Rows per table: exact for small tables, the planner's estimate for large ones."""
    estimates: dict[str, float] = dict(
        (
            await conn.execute(
                text(
                    "SELECT c.relname, (CASE WHEN c.relkind = 'p' THEN"
                    " (SELECT coalesce(sum(greatest(p.reltuples, 0)), 0) FROM pg_inherits i"
                    "  JOIN pg_class p ON p.oid = i.inhrelid WHERE i.inhparent = c.oid)"
                    " ELSE greatest(c.reltuples, 0) END)::bigint"
                    " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                    " WHERE n.nspname = current_schema() AND c.relname = ANY(:names)"
                ),
                {"names": counted_tables()},
            )
        ).all()
    )
    counts: dict[str, int] = {}
    for name in counted_tables():
        if name not in estimates:
            continue
        if estimates[name] > EXACT_COUNT_LIMIT:
            counts[name] = int(estimates[name])
        else:
            # Table names come from our own metadata, never from a request.
            counts[name] = int((await conn.execute(text(f'SELECT count(*) FROM "{name}"'))).scalar_one())
    return counts


async def schema_revision(conn: AsyncConnection) -> str | None:
    exists = (await conn.execute(text("SELECT to_regclass('alembic_version') IS NOT NULL"))).scalar_one()
    if not exists:
        return None
    return (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar_one_or_none()
