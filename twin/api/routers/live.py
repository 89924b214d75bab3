"""Buses as their callers may see them."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel

from twin.api.deps import Scoped
from twin.live.queries import visible_buses


class Bus(BaseModel):
    id: int
    plate: str
    route: str | None
    route_name: str | None
    time: datetime | None
    speed_kmh: float | None
    heading: float | None
    lon: float | None
    lat: float | None


def live_router() -> APIRouter:
    router = APIRouter(prefix="/live", tags=["live"])

    @router.get("/buses", response_model=list[Bus], summary="Buses you may see, with their latest position")
    async def buses(scoped: Scoped) -> list[Bus]:
        return [Bus(**row) for row in await visible_buses(scoped.conn)]

    return router
