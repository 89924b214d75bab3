"""FastAPI dependencies shared by the routers; swap them in tests with app.dependency_overrides.

Every data route takes `Scoped`: one transaction, as `twin_app`, with the caller's jurisdiction set, so
row-level security filters whatever the route reads or writes. It commits before the response is sent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from twin.access import Caller, TokenError, begin_request, read_token
from twin.access.roles import Role
from twin.config import Settings
from twin.errors import Forbidden, Unauthorized

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


async def scoped_connection(
    request: Request, token: Annotated[str | None, Depends(bearer)]
) -> AsyncIterator[ScopedConnection]:
    if not token:
        raise Unauthorized("sign in first: send 'Authorization: Bearer <access token>' from POST /auth/token")
    settings = get_settings(request)
    try:
        claims = read_token(token, "access", settings.auth, get_secret(request))
    except TokenError as exc:
        raise Unauthorized(str(exc)) from exc
    async with get_engine(request).begin() as conn:
        caller = await begin_request(conn, claims.user_id, claims.version)
        if caller is None:
            raise Unauthorized("the account is disabled or the token was revoked; sign in again")
        yield ScopedConnection(conn, caller)


Unscoped = Annotated[AsyncConnection, Depends(unscoped_connection, scope="function")]
Scoped = Annotated[ScopedConnection, Depends(scoped_connection, scope="function")]


def require_role(*roles: Role) -> object:
    """A dependency refusing callers whose role is not among `roles` (403)."""

    async def check(scoped: Scoped) -> ScopedConnection:
        if scoped.caller.role not in roles:
            allowed = ", ".join(r.value for r in roles)
            raise Forbidden(f"this needs the role {allowed}; you are {scoped.caller.role.value}")
        return scoped

    return Depends(check, scope="function")
