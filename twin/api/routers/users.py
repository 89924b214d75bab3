"""Users of an admin's subtree, who am I, and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from twin.access.audit import read_audit
from twin.access.roles import Role
from twin.access.users import NewUser, create_user, list_users, set_disabled
from twin.api.deps import Scoped, ScopedConnection, require_role

admin_only = require_role(Role.admin)


class UserIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    role: Role
    org_code: str = Field(min_length=2, max_length=32)
    password: str = Field(max_length=200)
    person_code: str | None = Field(default=None, max_length=64)


class UserOut(BaseModel):
    id: int
    username: str
    role: Role
    org_code: str
    org_path: str
    disabled: bool


class Me(BaseModel):
    id: int
    username: str
    role: Role
    org_path: str


def users_router() -> APIRouter:
    router = APIRouter(tags=["users"])

    @router.get("/me", response_model=Me, summary="Who the token belongs to")
    async def me(scoped: Scoped) -> Any:
        c = scoped.caller
        return Me(id=c.user_id, username=c.username, role=c.role, org_path=c.org_path)

    @router.get("/users", response_model=list[UserOut], summary="Users of your subtree (admins)")
    async def users(scoped: ScopedConnection = admin_only) -> Any:  # type: ignore[assignment]
        return await list_users(scoped.conn)

    @router.post("/users", status_code=201, summary="Create a user in your subtree (admins)")
    async def add(body: UserIn, scoped: ScopedConnection = admin_only) -> dict[str, int]:  # type: ignore[assignment]
        new = NewUser(body.username, body.role, body.org_code, body.password, body.person_code)
        return {"id": await create_user(scoped.conn, new)}

    @router.post("/users/{user_id}/disable", status_code=204, summary="Disable a user and revoke its tokens")
    async def disable(user_id: int, scoped: ScopedConnection = admin_only) -> None:  # type: ignore[assignment]
        await set_disabled(scoped.conn, user_id, True)

    @router.post("/users/{user_id}/enable", status_code=204, summary="Enable a disabled user")
    async def enable(user_id: int, scoped: ScopedConnection = admin_only) -> None:  # type: ignore[assignment]
        await set_disabled(scoped.conn, user_id, False)

    @router.get("/audit", summary="Who changed what and when, within your subtree (admins)")
    async def audit(
        scoped: ScopedConnection = admin_only,  # type: ignore[assignment]
        table: str | None = Query(default=None, max_length=64),
        since: datetime | None = None,
        limit: int = Query(default=100, ge=1, le=1000),
    ) -> list[dict[str, Any]]:
        return await read_audit(scoped.conn, table=table, since=since, limit=limit)

    return router
