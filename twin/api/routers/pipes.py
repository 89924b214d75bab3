"""Pipe networks: isolation trace and simulated excavation. Thin: validate, call twin.pipes, render."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field, model_validator

from twin.access.roles import Role
from twin.api.deps import Scoped, get_settings
from twin.errors import Forbidden
from twin.pipes import report
from twin.pipes.checks import topology
from twin.pipes.digging import ExcavationQuery, create_plan
from twin.pipes.queries import stored_plan
from twin.pipes.trace import IsolationQuery, isolation_trace

Utility = Literal["water", "drainage", "gas", "power", "telecom", "heat"]
LonLat = tuple[float, float]
READERS = {Role.admin, Role.leader, Role.safety_officer, Role.maintenance, Role.analyst}
PLANNERS = {Role.admin, Role.maintenance}


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


class ExcavationRequest(IsolationRequest):
    soil: str | None = Field(None, description="soil class of data/trench_slopes.csv; default from settings")
    load: Literal["none", "static", "dynamic"] = Field("static", description="load at the top of the slope")
    shored: bool = Field(False, description="vertical shored walls instead of slopes")
    length_m: float | None = Field(None, gt=0, le=200, description="length of a trench dug around a point")
    assumed_depth_m: float | None = Field(
        None, gt=0, le=50, description="depth to use where none was surveyed"
    )


def _check_reader(scoped: Any, roles: set[Role] = READERS) -> None:
    if scoped.caller.role not in roles:
        allowed = ", ".join(sorted(r.value for r in roles))
        raise Forbidden(f"this needs the role {allowed}; you are {scoped.caller.role.value}")


def pipes_router() -> APIRouter:
    router = APIRouter(prefix="/pipes", tags=["pipes"])

    @router.post("/isolation", summary="Isolation trace: valves to close, segment, who is cut off")
    async def isolation(body: IsolationRequest, request: Request, scoped: Scoped) -> dict[str, Any]:
        _check_reader(scoped)
        query = IsolationQuery(body.campus, body.utility, body.pipe_id, body.point, tuple(body.failed_valves))
        return await isolation_trace(scoped.conn, scoped.caller, query, get_settings(request).pipes)

    @router.get(
        "/topology", summary="Topology report: dangles, duplicates, unconnected parts, missing depths"
    )
    async def topology_check(
        campus: str, request: Request, scoped: Scoped, utility: Utility | None = None
    ) -> list[dict[str, Any]]:
        _check_reader(scoped)
        snap = get_settings(request).pipes.snap_tolerance_m
        return await topology(scoped.conn, scoped.caller, campus, [utility] if utility else None, snap)

    @router.post("/excavation", status_code=201, summary="Plan and store a simulated excavation")
    async def excavation(body: ExcavationRequest, request: Request, scoped: Scoped) -> dict[str, Any]:
        _check_reader(scoped, PLANNERS)
        query = ExcavationQuery(
            body.campus, body.utility, body.pipe_id, body.point, body.soil, body.load, body.shored,
            body.length_m, body.assumed_depth_m, tuple(body.failed_valves),
        )  # fmt: skip
        doc = await create_plan(scoped.conn, scoped.caller, query, get_settings(request).pipes)
        base = f"{str(request.base_url).rstrip('/')}/pipes/excavation/{doc['id']}"
        return {**doc, "links": {"html": f"{base}/plan.html", "pdf": f"{base}/plan.pdf"}}

    @router.get("/excavation/{plan_id}/plan.html", response_class=HTMLResponse, summary="Printable plan")
    async def plan_html(plan_id: int, scoped: Scoped) -> HTMLResponse:
        _check_reader(scoped)
        doc = await stored_plan(scoped.conn, scoped.caller, plan_id)
        return HTMLResponse(await asyncio.to_thread(report.render_html, {**doc, "id": plan_id}))

    @router.get("/excavation/{plan_id}/plan.pdf", summary="Printable plan as PDF")
    async def plan_pdf(plan_id: int, scoped: Scoped) -> Response:
        _check_reader(scoped)
        doc = await stored_plan(scoped.conn, scoped.caller, plan_id)
        pdf = await asyncio.to_thread(report.render_pdf, {**doc, "id": plan_id})
        headers = {"Content-Disposition": f'inline; filename="excavation-{plan_id}.pdf"'}
        return Response(pdf, media_type="application/pdf", headers=headers)

    return router
