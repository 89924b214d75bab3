"""FastAPI dependencies shared by the routers; swap them in tests with app.dependency_overrides.

Every data route takes `Scoped`: one transaction, as `twin_app`, with the caller's jurisdiction set, so
row-level security filters whatever the route reads or writes. It commits before the response is sent.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from twin.access import Caller, TokenError, begin_request, read_token
from twin.access.roles import Role
from twin.access.tokens import TokenClaims
from twin.config import Settings
from twin.errors import Forbidden, Unauthorized
from twin.stats.queries import PLANNING

bearer = OAuth2PasswordBearer(tokenUrl="/auth/token", auto_error=False)


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


async def statistics_connection(
    request: Request, token: Annotated[str | None, Depends(bearer)]
) -> AsyncIterator[ScopedConnection]:
    """`Scoped`, on the statistics' own pool (no ping on checkout), with the statistics' settings
    (twin.stats.queries.PLANNING) in the scope's round trip."""
    claims = _claims(request, token)
    engine: AsyncEngine = request.app.state.stats_engine
    conn, caller = await _begin_retrying(engine, claims, PLANNING)
    try:
        yield ScopedConnection(conn, caller)
        await conn.commit()
    finally:
        await conn.close()  # rolls back what was not committed


async def _begin_retrying(
    engine: AsyncEngine, claims: TokenClaims, settings: Mapping[str, str]
) -> tuple[AsyncConnection, Caller]:
    """A transaction with the caller's scope, from a pool that does not ping: a pooled connection the server
    dropped fails `twin_begin_request`, the first statement (nothing read or written yet), and the request
    begins again once instead of answering 503. Once is enough: a disconnect marks every older connection
    of the pool for reconnection (SQLAlchemy's pool invalidation), so even after a server restart the
    second try is on a new connection."""
    for attempt in (1, 2):
        conn = await engine.connect()
        try:
            await conn.begin()
            return conn, await _begin(conn, claims, settings=settings)
        except DBAPIError as exc:
            await conn.close()
            if attempt == 2 or not exc.connection_invalidated:
                raise
        except BaseException:
            await conn.close()
            raise
    raise AssertionError("unreachable")


class CallerCache:
    """Who a token's (user, version) is, for a few seconds, so a cached answer needs no database.

    Only for answers served from a cache (tiles): anything read from the database still goes through
    `twin_begin_request` in its own transaction. A disabled user keeps cached answers for `ttl` at most.
    """

    def __init__(self, ttl: float, size: int = 10_000) -> None:
        self.ttl, self.size = ttl, size
        self._entries: dict[tuple[int, int], tuple[float, Caller]] = {}

    def get(self, key: tuple[int, int]) -> Caller | None:
        entry = self._entries.get(key)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, key: tuple[int, int], caller: Caller) -> None:
        if len(self._entries) >= self.size:
            self._entries.clear()  # bounded; refilled by the next requests
        self._entries[key] = (time.monotonic() + self.ttl, caller)


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
Statistics = Annotated[ScopedConnection, Depends(statistics_connection, scope="function")]
Cached = Annotated[CachedCaller, Depends(cached_caller)]


def require_role(*roles: Role) -> object:
    """A dependency refusing callers whose role is not among `roles` (403)."""

    async def check(scoped: Scoped) -> ScopedConnection:
        if scoped.caller.role not in roles:
            allowed = ", ".join(r.value for r in roles)
            raise Forbidden(f"this needs the role {allowed}; you are {scoped.caller.role.value}")
        return scoped

    return Depends(check, scope="function")
