"""Inspections (排查) over HTTP: due and overdue tasks, generating a period's tasks, plans, recording one."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.encoders import jsonable_encoder

from twin.api.deps import Scoped, get_settings
from twin.api.routers.hazards import PROBLEM, clock
from twin.riskmap import inspections


def inspections_router() -> APIRouter:
    router = APIRouter(tags=["inspections"], responses=PROBLEM)

    @router.get("/inspections", summary="Inspection tasks: due, overdue (missed), done or all")
    async def list_tasks(
        request: Request,
        scoped: Scoped,
        status: Literal["due", "overdue", "done", "all"] = "due",
        until: datetime | None = None,
        limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> Any:
        now = clock(request)
        rows, total = await inspections.tasks(scoped.conn, scoped.caller, status, now, until, limit, offset)
        return jsonable_encoder({"items": rows, "total": total, "limit": limit, "offset": offset, "now": now})

    @router.post("/inspections/generate", summary="Make the inspection tasks of a period (idempotent)")
    async def generate(body: inspections.Period, scoped: Scoped) -> dict[str, int]:
        return {"created": await inspections.generate(scoped.conn, scoped.caller, body)}

    @router.post(
        "/inspections/after-disaster", summary="Call for an inspection of every risk point (灾后排查)"
    )
    async def after_disaster(body: inspections.Disaster, request: Request, scoped: Scoped) -> Any:
        return jsonable_encoder(
            await inspections.after_disaster(scoped.conn, scoped.caller, body, clock(request))
        )

    @router.put("/inspections/plans", summary="Set the inspection frequencies of a risk point")
    async def plan(body: inspections.PlanIn, scoped: Scoped) -> dict[str, Any]:
        names = await inspections.set_plan(scoped.conn, scoped.caller, body)
        return {"risk_point_id": body.risk_point_id, "frequencies": names}

    @router.post(
        "/inspections/{inspection_id}/record", summary="Record an inspection; a failed one may open a hazard"
    )
    async def record(inspection_id: int, body: inspections.Record, request: Request, scoped: Scoped) -> Any:
        done = await inspections.record(
            scoped.conn,
            scoped.caller,
            inspection_id,
            body,
            clock(request),
            get_settings(request).paths.media_dir,
        )
        return jsonable_encoder(done)

    return router
