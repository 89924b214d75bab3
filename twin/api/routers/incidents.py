"""Bullying and violence incidents over HTTP: report, list, one incident, follow-up steps, hot spots.

Thin: parse, call twin.incidents, render. Details are for safety officers, leaders and admins of the
school and the levels above (incidents.yaml); parents get 403, another school's incident is 404.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from twin.access.scope import planner_scope
from twin.api.deps import Scoped
from twin.incidents import IncidentReport, Step, catalogue, detail, listing, move, report
from twin.incidents.hotspots import DEFAULT_RESOLUTION
from twin.incidents.queries import Filter
from twin.incidents.statistics import hot_spots

# An id the database can hold (int4): a larger one is a 422 naming the range, not a database error.
IncidentId = Annotated[int, Path(ge=1, le=2**31 - 1, description="the incident's id")]


def _now(request: Request) -> datetime:
    """The app's clock (tests may replace `app.state.clock`, as for the hazard loop)."""
    now: Callable[[], datetime] = request.app.state.clock
    return now()


def incidents_router() -> APIRouter:
    router = APIRouter(prefix="/incidents", tags=["incidents"])

    @router.get("/catalogue", summary="Types, kinds of place, people and follow-up steps (incidents.yaml)")
    async def get_catalogue(scoped: Scoped) -> Any:
        c = catalogue()
        return {
            "types": [vars(k) for k in c.types.values()],
            "places": [vars(k) for k in c.places.values()],
            "person_kinds": c.person_kinds,
            "involvement": c.involvement,
            "roles": c.roles,
        }

    @router.post("", status_code=201, summary="Report an incident at a place")
    async def post_incident(body: IncidentReport, request: Request, scoped: Scoped) -> Any:
        incident_id = await report(scoped.conn, scoped.caller, body, _now(request))
        if catalogue().may("detail", scoped.caller.role):
            return JSONResponse(jsonable_encoder(await detail(scoped.conn, scoped.caller, incident_id)), 201)
        return {"id": incident_id, "state": "reported"}  # a reporter who does not follow up sees no more

    @router.get("", summary="Incidents in your jurisdiction (no people; newest first)")
    async def get_incidents(
        scoped: Scoped,
        campus: str | None = None,
        state: str | None = None,
        type: str | None = None,
        place_kind: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> Any:
        f = Filter(planner_scope(scoped.caller), campus, state, type, place_kind, since, until)
        return await listing(scoped.conn, scoped.caller, f, limit, offset)

    @router.get("/hotspots", summary="Where incidents gather: H3 cells with Gi*, counts by kind of place")
    async def get_hotspots(
        scoped: Scoped,
        org: str | None = None,
        res: int = DEFAULT_RESOLUTION,
        type: str | None = None,
        place_kind: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> Any:
        f = Filter(None, None, None, type, place_kind, since, until)
        return await hot_spots(scoped.conn, scoped.caller, org, f, res)

    @router.get("/{incident_id}", summary="One incident with its people by part and its record")
    async def get_incident(incident_id: IncidentId, scoped: Scoped) -> Any:
        return await detail(scoped.conn, scoped.caller, incident_id)

    @router.post("/{incident_id}/transitions", summary="A follow-up step: {'to': state, 'note'}")
    async def post_transition(incident_id: IncidentId, body: Step, scoped: Scoped) -> Any:
        return await move(scoped.conn, scoped.caller, incident_id, body)

    return router
