"""FastAPI dependencies shared by the routers; swap them in tests with app.dependency_overrides.

Every data route takes `Scoped`: one transaction, as `twin_app`, with the caller's jurisdiction set, so
row-level security filters whatever the route reads or writes. It commits before the response is sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.pool import QueuePool

from twin.access import Caller, TokenError, begin_request, read_token
from twin.access.roles import Role
from twin.access.tokens import TokenClaims
from twin.config import Settings
from twin.db.engine import statistics_pool_capacity
from twin.errors import Forbidden, Unauthorized
from twin.stats.parallel import PartConnections
from twin.stats.queries import PLANNING
from twin.ttl_cache import TtlCache

bearer = OAuth2PasswordBearer(tokenUrl="/auth/token", auto_error=False)
# How long the other parts of a statistic may take to begin (a new connection, BEGIN, the snapshot, the
# scope) before the statistic is one statement instead; pooled ones take a millisecond or two.
PART_WAIT_S = 0.5


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_engine(request: Request) -> AsyncEngine:
    engine: AsyncEngine = request.app.state.engine
    return engine


def get_secret(request: Request) -> str:
    secret: str = request.app.state.jwt_secret
    return secret


async def unscoped_connection(request: Request) -> AsyncIterator[AsyncConnection]:
    """A transaction with no jurisdiction: row-level security shows it nothing (sign-in only)."""
    async with get_engine(request).begin() as conn:
        yield conn


@dataclass(frozen=True)
class ScopedConnection:
    conn: AsyncConnection
    caller: Caller


def _claims(request: Request, token: str | None) -> TokenClaims:
    if not token:
        raise Unauthorized("sign in first: send 'Authorization: Bearer <access token>' from POST /auth/token")
    try:
        return read_token(token, "access", get_settings(request).auth, get_secret(request))
    except TokenError as exc:
        raise Unauthorized(str(exc)) from exc


async def _begin(
    conn: AsyncConnection, claims: TokenClaims, *, settings: Mapping[str, str] | None = None
) -> Caller:
    caller = await begin_request(conn, claims.user_id, claims.version, settings=settings)
    if caller is None:
        raise Unauthorized("the account is disabled or the token was revoked; sign in again")
    return caller


@asynccontextmanager
async def _scoped_transaction(
    request: Request, claims: TokenClaims, *, settings: Mapping[str, str] | None = None
) -> AsyncIterator[ScopedConnection]:
    async with get_engine(request).begin() as conn:
        yield ScopedConnection(conn, await _begin(conn, claims, settings=settings))


async def scoped_connection(
    request: Request, token: Annotated[str | None, Depends(bearer)]
) -> AsyncIterator[ScopedConnection]:
    async with _scoped_transaction(request, _claims(request, token)) as scoped:
        yield scoped


@dataclass(frozen=True)
class StatisticsConnection(ScopedConnection):
    parts: PartConnections  # more transactions of the caller's in this one's snapshot


async def statistics_connection(
    request: Request, token: Annotated[str | None, Depends(bearer)]
) -> AsyncIterator[StatisticsConnection]:
    """`Scoped`, on the statistics' own pool (no ping on checkout), with the statistics' settings
    (twin.stats.queries.PLANNING) in the scope's round trip; REPEATABLE READ, so a statistic answered in
    parts (twin.stats.parallel) reads one snapshot: a read-only transaction pays nothing for it."""
    claims = _claims(request, token)
    engine: AsyncEngine = request.app.state.stats_engine
    conn, caller = await _begin_retrying(engine, claims, PLANNING)
    capacity = statistics_pool_capacity(get_settings(request).db)
    try:
        yield StatisticsConnection(conn, caller, PoolParts(engine, claims, capacity))
        await conn.commit()
    finally:
        await conn.close()  # rolls back what was not committed


async def _begin_retrying(
    engine: AsyncEngine, claims: TokenClaims, settings: Mapping[str, str], snapshot: str | None = None
) -> tuple[AsyncConnection, Caller]:
    """A REPEATABLE READ transaction with the caller's scope (in `snapshot` if given), from a pool that does
    not ping: a pooled connection the server dropped fails the first statement (nothing read or written
    yet), and the transaction begins again once instead of answering 503. Once is enough: a disconnect
    marks every older connection of the pool for reconnection (SQLAlchemy's pool invalidation), so even
    after a server restart the second try is on a new connection."""
    for attempt in (1, 2):
        conn = await engine.connect()
        try:
            # asyncpg's BEGIN carries the level: no round trip of its own
            await conn.execution_options(isolation_level="REPEATABLE READ")
            await conn.begin()
            if snapshot is not None:  # an id from pg_export_snapshot(), checked by twin.stats.parallel
                await conn.exec_driver_sql(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
            return conn, await _begin(conn, claims, settings=settings)
        except DBAPIError as exc:
            await conn.close()
            if attempt == 2 or not exc.connection_invalidated:
                raise
        except BaseException:
            await conn.close()
            raise
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class PoolParts:
    """The parts of a statistic after the first (twin.stats.parallel.PartConnections): transactions of
    the same caller on the statistics' pool, each begun by `_begin_retrying` in the first one's snapshot.

    A request never waits for these while it holds its own connection: when the pool cannot give them
    at once (every request of a busy moment holding one and waiting for more would deadlock the pool),
    or they take longer than PART_WAIT_S to open, the statistic is one statement instead."""

    engine: AsyncEngine
    claims: TokenClaims
    capacity: int  # the pool's connections, overflow included

    @asynccontextmanager
    async def __call__(self, snapshot: str, n: int) -> AsyncIterator[list[AsyncConnection] | None]:
        opened = await self._open(snapshot, n)
        try:
            yield opened
        finally:
            for conn in opened or ():
                await conn.close()  # the parts only read: rolled back

    async def _open(self, snapshot: str, n: int) -> list[AsyncConnection] | None:
        pool = self.engine.pool
        if not isinstance(pool, QueuePool) or pool.checkedout() + n > self.capacity:
            return None
        opened: list[AsyncConnection] = []
        try:
            async with asyncio.timeout(PART_WAIT_S):
                for _ in range(n):
                    conn, _caller = await _begin_retrying(self.engine, self.claims, PLANNING, snapshot)
                    opened.append(conn)
        except BaseException as exc:
            for conn in opened:
                await conn.close()
            if isinstance(exc, TimeoutError):
                return None
            raise
        return opened


class CallerCache(TtlCache[tuple[int, int], Caller]):
    """Who a token's (user, version) is, for a few seconds, so a cached answer needs no database.

    Only for answers served from a cache (tiles): anything read from the database still goes through
    `twin_begin_request` in its own transaction. A disabled user keeps cached answers for `ttl` at most.
    """

    def __init__(self, ttl: float, size: int = 10_000) -> None:
        super().__init__(ttl, size)


@dataclass(frozen=True)
class CachedCaller:
    """The caller, and how to open a scoped transaction for them when the cache cannot answer."""

    caller: Caller
    claims: TokenClaims
    request: Request

    def scoped(self) -> AbstractAsyncContextManager[ScopedConnection]:
        return _scoped_transaction(self.request, self.claims)


async def cached_caller(request: Request, token: Annotated[str | None, Depends(bearer)]) -> CachedCaller:
    claims = _claims(request, token)
    cache: CallerCache = request.app.state.caller_cache
    key = (claims.user_id, claims.version)
    caller = cache.get(key)
    if caller is None:
        async with get_engine(request).begin() as conn:
            caller = await _begin(conn, claims)
        cache.put(key, caller)
    return CachedCaller(caller, claims, request)


Unscoped = Annotated[AsyncConnection, Depends(unscoped_connection, scope="function")]
Scoped = Annotated[ScopedConnection, Depends(scoped_connection, scope="function")]
Statistics = Annotated[StatisticsConnection, Depends(statistics_connection, scope="function")]
Cached = Annotated[CachedCaller, Depends(cached_caller)]


def require_role(*roles: Role) -> object:
    """A dependency refusing callers whose role is not among `roles` (403)."""

    async def check(scoped: Scoped) -> ScopedConnection:
        if scoped.caller.role not in roles:
            allowed = ", ".join(r.value for r in roles)
            raise Forbidden(f"this needs the role {allowed}; you are {scoped.caller.role.value}")
        return scoped

    return Depends(check, scope="function")
