"""Engines: async (asyncpg) for the server, sync (psycopg) for migrations, imports and scripts."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from twin.config import DatabaseSettings
from twin.db.rls import APP_ROLE


def sync_engine(settings: DatabaseSettings) -> Engine:
    return create_engine(settings.sync_url(), pool_pre_ping=True)


def async_engine(settings: DatabaseSettings) -> AsyncEngine:
    """The server's engine: every connection acts as `twin_app`, so row-level security always applies."""
    engine = create_async_engine(
        settings.async_url(),
        pool_size=settings.pool_size,
        pool_pre_ping=True,
        connect_args={"server_settings": {"statement_timeout": str(settings.statement_timeout_ms)}},
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _act_as_app_role(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f"SET ROLE {APP_ROLE}")
        cursor.close()

    return engine


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
