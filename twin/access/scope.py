"""Turn a verified token into the scope of one transaction (row-level security settings)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from twin.access.roles import Role


@dataclass(frozen=True)
class Caller:
    """Who is acting in this transaction, as the database established it."""

    user_id: int
    username: str
    role: Role
    org_path: str
    person_id: int | None

    def may_administer(self) -> bool:
        return self.role is Role.admin


async def begin_request(conn: AsyncConnection, user_id: int, version: int) -> Caller | None:
    """Set the transaction's scope from the user row; None if the user is gone, disabled or revoked."""
    row = (
        await conn.execute(
            text("SELECT username, role, org_path::text, person_id FROM twin_begin_request(:uid, :ver)"),
            {"uid": user_id, "ver": version},
        )
    ).first()
    if row is None:
        return None
    return Caller(
        user_id=user_id,
        username=row.username,
        role=Role(row.role),
        org_path=row.org_path,
        person_id=row.person_id,
    )
