"""Engines: async (asyncpg) for the server, sync (psycopg) for migrations, imports and scripts."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from twin.config import DatabaseSettings


def sync_engine(settings: DatabaseSettings) -> Engine:
    return create_engine(settings.sync_url(), pool_pre_ping=True)


def async_engine(settings: DatabaseSettings) -> AsyncEngine:
    return create_async_engine(
        settings.async_url(),
        pool_size=settings.pool_size,
        pool_pre_ping=True,
        connect_args={"server_settings": {"statement_timeout": str(settings.statement_timeout_ms)}},
    )


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
