"""A ceiling on every request body: past `TWIN_MAX_BODY_BYTES` the answer is 413 problem+json.

Endpoints keep their own tighter limits (a feature, a photo); this one guards the whole process against
a body nobody asked for, whether it announces its length or streams it in chunks.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from twin.api.errors import problem


class BodyLimit:
    """Pure ASGI middleware: refuse a too-long Content-Length at once, stop a chunked body at the limit."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._refuse(scope, receive, send, declared)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                # Raised inside the endpoint's body read, where FastAPI passes HTTPExceptions on (and turns
                # anything else into a 400): the app's handler renders it as problem+json.
                raise HTTPException(413, self._detail())
            return message

        await self.app(scope, counted, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, declared: str) -> None:
        status, detail = 413, self._detail()
        if not declared.isdigit():
            status, detail = 400, f"Content-Length must be a number of bytes, not {declared[:40]!r}"
        response = problem(status, detail, instance=scope.get("path"), limit_bytes=self.max_bytes)
        await response(scope, receive, send)

    def _detail(self) -> str:
        return f"the request body is larger than the {self.max_bytes} bytes this server accepts"
