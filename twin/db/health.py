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
    """Rows per table across every scope (a definer function: counts, never rows)."""
    rows = await conn.execute(
        text("SELECT table_name, n FROM twin_row_counts(:names, :limit)"),
        {"names": counted_tables(), "limit": EXACT_COUNT_LIMIT},
    )
    return {name: int(n) for name, n in rows.all()}


async def schema_revision(conn: AsyncConnection) -> str | None:
    exists = (await conn.execute(text("SELECT to_regclass('alembic_version') IS NOT NULL"))).scalar_one()
    if not exists:
        return None
    return (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar_one_or_none()
