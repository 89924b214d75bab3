"""OsmAnd fixes answered before routing: parse, look the terminal up, hand to the batching writer, "OK".

A bus sends a fix every few seconds; at thousands of buses the router's per-request work (route matching,
dependency resolution, a pydantic response) costs more than storing the fix, which the position writer
batches anyway. This middleware takes what it can take exactly like the route would (same parser, same
directory, same writer, answered once the fix is committed) and hands everything else — a malformed
request, an unknown device — to the app unchanged, body included, so the route answers the problem+json
and counts the rejection.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from twin.live.gps_osmand import BadFix, parse_request
from twin.live.positions import STATS

PATH = "/osmand"
MAX_BODY = 1024 * 1024  # a bigger body goes to the route (and its limits)
OK = b"OK"
HEADERS = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(OK)).encode())]


class OsmandFastPath:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] not in ("GET", "POST"):
            await self.app(scope, receive, send)
            return
        body, complete = await _body(receive) if scope["method"] == "POST" else (b"", True)
        if not complete or not await _take(scope, body):
            await self.app(scope, _replay(body, receive, complete), send)
            return
        await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
        await send({"type": "http.response.body", "body": OK})


async def _take(scope: Scope, body: bytes) -> bool:
    """True once the fixes are committed; False for what the route must answer (nothing stored then)."""
    state = scope["app"].state
    if not hasattr(state, "positions"):
        return False  # not started (no lifespan): the route says so
    content_type = next((v.decode("latin-1") for n, v in scope["headers"] if n == b"content-type"), "")
    try:
        fixes = parse_request(scope["method"], content_type, scope["query_string"], body, datetime.now(UTC))
    except BadFix:
        return False
    vehicle = await state.vehicles.find(fixes[0].device_id)
    if vehicle is None:
        return False
    await state.positions.submit(vehicle, fixes)
    STATS.add("osmand_taken", len(fixes))
    return True


async def _body(receive: Receive) -> tuple[bytes, bool]:
    """The request body, and whether it is all there (False: over MAX_BODY, the rest still unread)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), False
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), True
        if size > MAX_BODY:
            return b"".join(chunks), False


def _replay(body: bytes, receive: Receive, complete: bool) -> Receive:
    """`receive` for the app: what was read already, then (if any) the rest from the client."""
    sent = False

    async def again() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            message: dict[str, Any] = {"type": "http.request", "body": body, "more_body": not complete}
            return message
        return await receive()

    return again
