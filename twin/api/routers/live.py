"""Live data: buses, alerts (acknowledge, clear), and the scoped streams `WS /live/ws` and `GET /live/sse`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from twin.access import TokenError, read_token
from twin.access.roles import Role
from twin.access.tokens import TokenClaims
from twin.api.deps import Scoped, ScopedConnection, require_role
from twin.config import Settings
from twin.errors import NotFound, Unauthorized
from twin.live import queries
from twin.live.fanout import Dropped, Hub, Stream, encode
from twin.live.ingest import STATS
from twin.live.positions import STATS as BUS_STATS
from twin.live.queries import visible_buses

ALERT_WRITERS = (Role.admin, Role.leader, Role.safety_officer)
BEARER = "bearer"  # WebSocket subprotocol announcing that the next offered subprotocol is the access token


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


class Alert(BaseModel):
    id: int
    type: str
    severity: str
    count: int
    sensor_id: int | None
    event_id: str
    first_at: datetime
    last_at: datetime
    acked_at: datetime | None
    acked_by: str | None
    cleared_at: datetime | None
    parent_id: int | None
    escalation_step: int
    lon: float
    lat: float
    context: dict[str, Any] | None


class LiveStats(BaseModel):
    ingest: dict[str, int]
    buses: dict[str, int]  # bus positions of this process: stored, duplicate, rejected by reason, incidents
    ingest_worker: str | None
    streams: dict[str, int]


def _claims(
    settings: Settings, secret: str, authorization: str | None, access_token: str | None
) -> TokenClaims:
    token = access_token
    if authorization and authorization.lower().startswith("bearer "):
        token = authorization[7:].strip()
    if not token:
        raise Unauthorized(
            "sign in first: send 'Authorization: Bearer <access token>', or for a browser's WebSocket the "
            "subprotocols ['bearer', <token>], or ?access_token="
        )
    try:
        return read_token(token, "access", settings.auth, secret)
    except TokenError as exc:
        raise Unauthorized(str(exc)) from exc


async def _found(scoped: ScopedConnection, alert_id: int) -> Alert:
    row = await queries.alert(scoped.conn, alert_id)
    if row is None:
        raise NotFound(f"alert {alert_id} does not exist or is outside your jurisdiction")
    return Alert(**row)


def live_router() -> APIRouter:
    router = APIRouter(tags=["live"])

    @router.get(
        "/live/buses", response_model=list[Bus], summary="Buses you may see, with their latest position"
    )
    async def buses(scoped: Scoped) -> list[Bus]:
        return [Bus(**row) for row in await visible_buses(scoped.conn)]

    @router.post(
        "/alerts/{alert_id}/ack", response_model=Alert, summary="Acknowledge an alert (a person saw it)"
    )
    async def ack(alert_id: int, scoped: ScopedConnection = require_role(*ALERT_WRITERS)) -> Alert:  # type: ignore[assignment]
        await _found(scoped, alert_id)
        await queries.acknowledge(scoped.conn, alert_id, scoped.caller.username)
        return await _found(scoped, alert_id)

    @router.post(
        "/alerts/{alert_id}/clear", response_model=Alert, summary="Clear an alert (the condition ended)"
    )
    async def clear(alert_id: int, scoped: ScopedConnection = require_role(*ALERT_WRITERS)) -> Alert:  # type: ignore[assignment]
        await _found(scoped, alert_id)
        await queries.clear(scoped.conn, alert_id)
        return await _found(scoped, alert_id)

    @router.get(
        "/live/stats", response_model=LiveStats, summary="Ingest counters and stream clients of this process"
    )
    async def stats(request: Request, scoped: Scoped) -> LiveStats:
        worker = getattr(request.app.state, "ingest", None)
        hub: Hub = request.app.state.hub
        return LiveStats(
            ingest=STATS.snapshot(),
            buses=BUS_STATS.snapshot(),
            ingest_worker=worker.client_id if worker else None,
            streams=hub.stats(),
        )

    @router.get(
        "/live/sse",
        summary="Server-sent events: a snapshot, then alert and position events; resume with Last-Event-ID",
        response_class=StreamingResponse,
        responses={200: {"content": {"text/event-stream": {}}}},
    )
    async def sse(
        request: Request,
        authorization: Annotated[str | None, Header()] = None,
        last_event_id: Annotated[str | None, Header()] = None,
        access_token: Annotated[str | None, Query()] = None,
        since: Annotated[int | None, Query(ge=0, description="resume after this event id")] = None,
    ) -> StreamingResponse:
        state = request.app.state
        claims = _claims(state.settings, state.jwt_secret, authorization, access_token)
        if last_event_id and last_event_id.isdigit():
            since = int(last_event_id)
        stream = await state.hub.open(claims, since)
        return StreamingResponse(
            _sse(stream, state.settings),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    @router.websocket("/live/ws")
    async def ws(
        websocket: WebSocket,
        access_token: Annotated[str | None, Query()] = None,
        since: Annotated[int | None, Query(ge=0)] = None,
    ) -> None:
        state = websocket.app.state
        offered = list(websocket.scope.get("subprotocols") or [])
        # `new WebSocket(url, ["bearer", token])` keeps the token out of URLs and access logs.
        in_protocol = offered[offered.index(BEARER) + 1] if BEARER in offered[:-1] else None
        try:
            header = websocket.headers.get("authorization")
            claims = _claims(state.settings, state.jwt_secret, header, in_protocol or access_token)
            stream = await state.hub.open(claims, since)
        except Unauthorized as exc:
            await websocket.close(code=1008, reason=exc.detail[:120])
            return
        await websocket.accept(subprotocol=BEARER if in_protocol else None)
        try:
            await _ws(websocket, stream)
        finally:
            stream.close()

    return router


async def _sse(stream: Stream, settings: Settings) -> AsyncIterator[str]:
    live = settings.live
    try:
        yield "retry: 2000\n\n"
        if stream.snapshot is not None:
            yield f"id: {stream.snapshot['last_id']}\nevent: snapshot\ndata: {encode(stream.snapshot)}\n\n"
        ends = time.monotonic() + live.sse_max_s
        while (left := ends - time.monotonic()) > 0:
            event = await stream.next(timeout=min(live.sse_ping_s, left))
            if event is None:
                yield ": ping\n\n"
                continue
            yield f"id: {event.id}\nevent: {event.kind}\ndata: {event.text}\n\n"
    except Dropped as exc:
        yield f"event: dropped\ndata: {encode({'reason': exc.reason, 'last_id': stream.last_id})}\n\n"
    finally:
        stream.close()


async def _ws(websocket: WebSocket, stream: Stream) -> None:
    """Send until the client leaves or is dropped; what the client sends is read only to notice it left."""
    if stream.snapshot is not None:
        await websocket.send_text(encode(stream.snapshot))
    gone = asyncio.ensure_future(_until_gone(websocket))
    try:
        while not gone.done():
            event = await stream.next(timeout=1.0)
            if event is not None:
                await websocket.send_text(event.text)
    except Dropped as exc:
        await websocket.close(code=1013, reason=exc.reason[:120])  # 1013: try again later
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        gone.cancel()


async def _until_gone(websocket: WebSocket) -> None:
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
    except (WebSocketDisconnect, RuntimeError):
        return
