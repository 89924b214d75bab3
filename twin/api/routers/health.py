"""`GET /healthz`: database, broker and row counts."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import SQLAlchemyError

from twin.api.deps import get_engine, get_settings
from twin.broker import parse_mqtt_url, ping
from twin.config import Settings
from twin.db.health import schema_revision, table_counts


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    db: str
    mqtt: str
    schema_revision: str | None
    counts: dict[str, int]


def health_router() -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/healthz", response_model=Health, summary="Liveness and readiness")
    async def healthz(request: Request, settings: Settings = Depends(get_settings)) -> Any:
        db, revision, counts = await _database(request)
        mqtt_ok = await asyncio.to_thread(ping, parse_mqtt_url(settings.broker.effective_url()), 2.0)
        mqtt = "ok" if mqtt_ok else "unreachable"
        body = Health(
            status="ok" if db == "ok" and mqtt_ok else "degraded",
            db=db,
            mqtt=mqtt,
            schema_revision=revision,
            counts=counts,
        )
        return JSONResponse(body.model_dump(), status_code=200 if body.status == "ok" else 503)

    return router


async def _database(request: Request) -> tuple[str, str | None, dict[str, int]]:
    try:
        async with get_engine(request).connect() as conn:
            revision = await schema_revision(conn)
            if revision is None:
                return "not migrated", None, {}
            return "ok", revision, await table_counts(conn)
    except (SQLAlchemyError, OSError) as exc:
        return f"unreachable: {type(exc).__name__}", None, {}
