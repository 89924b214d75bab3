"""Security patrols over HTTP: coverage per route and shift (the map has the OGC collections)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import AwareDatetime, BaseModel

from twin.access.scope import planner_scope
from twin.api.deps import Scoped
from twin.api.routers.hazards import clock
from twin.errors import InvalidInput
from twin.live.queries_patrols import coverage

MAX_SPAN = timedelta(days=366)


class Coverage(BaseModel):
    route_id: int
    route_code: str
    route_name: str
    schedule_id: int
    schedule_name: str
    judged: int  # checks whose time is up (not pending)
    on_time: int
    late: int
    missed: int
    on_time_pct: float | None  # of the judged; None when none was due yet


class CoverageAnswer(BaseModel):
    start: datetime
    end: datetime
    shifts: list[Coverage]


def patrols_router() -> APIRouter:
    router = APIRouter(tags=["patrols"])

    @router.get(
        "/patrols/coverage",
        response_model=CoverageAnswer,
        summary="Patrol coverage per route and shift: checkpoints visited on time, late, missed",
    )
    async def patrol_coverage(
        request: Request,
        scoped: Scoped,
        start: Annotated[AwareDatetime | None, Query(description="from (default: 7 days before end)")] = None,
        end: Annotated[AwareDatetime | None, Query(description="until, excluded (default: now)")] = None,
    ) -> CoverageAnswer:
        end = end or clock(request)
        start = start or end - timedelta(days=7)
        if not start < end or end - start > MAX_SPAN:
            raise InvalidInput(f"start must be before end and at most {MAX_SPAN.days} days before it")
        rows = await coverage(scoped.conn, start, end, planner_scope(scoped.caller))
        return CoverageAnswer(start=start, end=end, shifts=[Coverage(**r) for r in rows])

    return router
