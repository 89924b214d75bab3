"""The framework floor of a statistics request: a bare FastAPI + asyncpg app, no token, no scope, no
row-level security, that runs the statement it was handed for a URL and answers the same JSON document.

What a `/stats/{topic}` request could cost at least with this stack: the ASGI call, one route, one round
trip, the body. bench/stats.py calls it the way it calls the real endpoint (TestClient, in-process), so
"endpoint − floor" is what token, scope, row-level security and the transaction add.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
from fastapi import FastAPI, Request, Response

from twin.config import Settings
from twin.stats.json_rows import json_document
from twin.stats.service import Query


@dataclass(frozen=True)
class Statement:
    sql: str  # with $n parameters
    args: tuple[Any, ...]
    query: Query
    title: str
    columns: list[str]


def dollar(sql: str, params: Mapping[str, Any]) -> tuple[str, tuple[Any, ...]]:
    """`:name` parameters (SQLAlchemy's text) as asyncpg's `$n`, one number per name; `::type` casts stay."""
    order: list[str] = []

    def number(m: re.Match[str]) -> str:
        if m.group(1) not in order:
            order.append(m.group(1))
        return f"${order.index(m.group(1)) + 1}"

    text = re.sub(r"(?<![:\w]):(\w+)", number, sql)
    return text, tuple(params[name] for name in order)


async def _no_reset(conn: asyncpg.Connection) -> None:
    """The floor changes no session state, so a returned connection needs no reset (a round trip)."""


def floor_app(settings: Settings, server_settings: Mapping[str, str]) -> FastAPI:
    """The app; put a URL's statement in `app.state.statements[<query string>]` before calling it."""
    dsn = settings.db.async_url().replace("postgresql+asyncpg://", "postgresql://", 1)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with asyncpg.create_pool(
            dsn, min_size=1, max_size=2, server_settings=dict(server_settings), reset=_no_reset
        ) as pool:
            app.state.pool = pool
            yield

    app = FastAPI(lifespan=lifespan)
    app.state.statements = {}

    @app.get("/stats/{topic}")
    async def statistic(topic: str, request: Request) -> Response:
        s: Statement = request.app.state.statements[request.url.query]
        async with request.app.state.pool.acquire() as conn:
            rows = await conn.fetchval(s.sql, *s.args)
        return Response(json_document(s.query, s.title, s.columns, rows), media_type="application/json")

    return app
