"""Engines: async (asyncpg) for the server, sync (psycopg) for migrations, imports and scripts."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from twin.config import DatabaseSettings
from twin.db.rls import APP_ROLE


def sync_engine(settings: DatabaseSettings, *, pre_ping: bool = True) -> Engine:
    """`pre_ping=False` for a worker that retries a failed unit of work anyway: a ping is a round trip."""
    return create_engine(settings.sync_url(), pool_pre_ping=pre_ping)


def async_engine(settings: DatabaseSettings) -> AsyncEngine:
    """The server's engine: every connection acts as `twin_app`, so row-level security always applies."""
    return _app_engine(settings, pool_size=settings.pool_size, pool_pre_ping=True)


def statistics_engine(settings: DatabaseSettings) -> AsyncEngine:
    """As `twin_app`, for the statistics' transactions (twin.api.deps.Statistics): no ping on checkout,
    which with asyncpg is three round trips (BEGIN, `;`, ROLLBACK) before a statement of a millisecond or
    two. A pooled connection the server has dropped fails the transaction's first statement, which reads
    and writes nothing, and the dependency tries it once more on a new connection."""
    size = settings.stats_pool_size
    overflow = statistics_pool_capacity(settings) - size
    return _app_engine(settings, pool_size=size, max_overflow=overflow, pool_pre_ping=False)


def statistics_pool_capacity(settings: DatabaseSettings) -> int:
    """The statistics' connections at most: the pool and as many more under load."""
    return 2 * settings.stats_pool_size


def reader_engine(settings: DatabaseSettings, pool_size: int = 6) -> AsyncEngine:
    """As `twin_app` too, for the live fan-out's one-statement reads (`twin_live_read`): autocommit and
    no ping on checkout, which would double the round trips of a read; a read that meets a dropped
    connection fails, the pool discards it, and the stream group reads again on its next bell or poll.
    No overflow: a group waits for one of the pool's connections rather than open and close one of its own
    (a connection made per read, with its statements prepared again, cost more than the read)."""
    return _app_engine(
        settings,
        pool_size=pool_size,
        max_overflow=0,
        pool_pre_ping=False,
        pool_use_lifo=True,  # the group reads, one statement at a time, keep to one warm connection
        isolation_level="AUTOCOMMIT",
    )


def _app_engine(settings: DatabaseSettings, **options: Any) -> AsyncEngine:
    engine = create_async_engine(
        settings.async_url(),
        connect_args={"server_settings": {"statement_timeout": str(settings.statement_timeout_ms)}},
        **options,
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _act_as_app_role(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f"SET ROLE {APP_ROLE}")
        cursor.close()
        # asyncpg's adapter ran that in a transaction of its own making: committed here, or the rollback of
        # the connection's first transaction (a failed request, a change of isolation level) would undo
        # the role with it and leave the connection acting as the owner, whom row-level security spares
        dbapi_connection.commit()

    return engine


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
