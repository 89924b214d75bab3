"""Pipe networks: isolation trace and simulated excavation. Thin: validate, call twin.pipes, render."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field, model_validator

from twin.access.roles import Role
from twin.api.deps import Scoped, get_settings
from twin.errors import Forbidden
from twin.pipes.trace import IsolationQuery, isolation_trace

Utility = Literal["water", "drainage", "gas", "power", "telecom", "heat"]
LonLat = tuple[float, float]
READERS = {Role.admin, Role.leader, Role.safety_officer, Role.maintenance, Role.analyst}


class IsolationRequest(BaseModel):
    campus: str = Field(description="campus code, e.g. LY01")
    utility: Utility
    pipe_id: int | None = Field(None, description="the broken pipe (pipe_segments id)")
    point: LonLat | None = Field(None, description="a clicked [lon, lat]: the nearest pipe of the utility")
    failed_valves: list[int] = Field(default_factory=list, description="valves that will not close (ids)")

    @model_validator(mode="after")
    def one_target(self) -> IsolationRequest:
        if (self.pipe_id is None) == (self.point is None):
            raise ValueError("give exactly one of pipe_id or point")
        return self


def _check_reader(scoped: Any) -> None:
    if scoped.caller.role not in READERS:
        raise Forbidden(f"pipe networks are for school staff; you are {scoped.caller.role.value}")


def pipes_router() -> APIRouter:
    router = APIRouter(prefix="/pipes", tags=["pipes"])

    @router.post("/isolation", summary="Isolation trace: valves to close, segment, who is cut off")
    async def isolation(body: IsolationRequest, request: Request, scoped: Scoped) -> dict[str, Any]:
        _check_reader(scoped)
        query = IsolationQuery(body.campus, body.utility, body.pipe_id, body.point, tuple(body.failed_valves))
        return await isolation_trace(scoped.conn, scoped.caller, query, get_settings(request).pipes)

    return router
