"""Reading the audit log; rows are written by triggers and the policies show admins their subtree only."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from twin.models import AuditEntry

_COLUMNS = (
    AuditEntry.id,
    AuditEntry.at,
    AuditEntry.user_id,
    AuditEntry.role,
    AuditEntry.action,
    AuditEntry.table_name,
    AuditEntry.row_id,
    AuditEntry.org_path,
    AuditEntry.before,
    AuditEntry.after,
)


async def read_audit(
    conn: AsyncConnection, *, table: str | None = None, since: datetime | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """Newest first."""
    query = select(*_COLUMNS).order_by(AuditEntry.id.desc()).limit(limit)
    if table:
        query = query.where(AuditEntry.table_name == table)
    if since:
        query = query.where(AuditEntry.at >= since)
    return [dict(row) for row in (await conn.execute(query)).mappings()]
