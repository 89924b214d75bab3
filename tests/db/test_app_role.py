"""The server's connections act as `twin_app` for their whole life, whatever their first transaction did:
the role set on connect is not undone by a rollback (so row-level security never spares a connection)."""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from twin.config import Settings
from twin.db.engine import async_engine, reader_engine, statistics_engine
from twin.db.rls import APP_ROLE


async def _roles_after_a_rollback(engine: AsyncEngine, isolation: str | None) -> list[str]:
    roles = []
    try:
        for _ in range(2):
            async with engine.connect() as conn:
                if isolation is not None:
                    await conn.execution_options(isolation_level=isolation)
                roles.append((await conn.execute(text("SELECT current_user"))).scalar_one())
                await conn.rollback()  # the first transaction of a new connection fails, say
    finally:
        await engine.dispose()
    return roles


def test_a_rolled_back_first_transaction_keeps_the_app_role(fresh_db: Settings) -> None:
    for make, isolation in (
        (async_engine, None),
        (statistics_engine, "REPEATABLE READ"),  # as twin.api.deps begins the statistics
        (reader_engine, None),
    ):
        engine = make(fresh_db.db)
        assert asyncio.run(_roles_after_a_rollback(engine, isolation)) == [APP_ROLE, APP_ROLE], make
