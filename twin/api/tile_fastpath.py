"""Cached tiles answered before routing: no dependency resolution, no database, just the bytes.

A warm tile is the request a map makes most; the router's path (dependencies, a transaction) costs more
than the answer. This middleware answers only what it can answer exactly like the router would — a
signed-in caller already known from the caller cache, a tile already in the tile cache — and hands every
other request (errors included) to the app unchanged.
"""

from __future__ import annotations

import re
import time
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from twin.access.tokens import TokenClaims, TokenError, read_token
from twin.api.routers.tiles import not_modified, tile_headers
from twin.config import AuthSettings
from twin.errors import TwinError
from twin.layers import tiles
from twin.layers.tile_cache import RenderedTile

COLLECTION_TILE = re.compile(r"^/collections/(\w+)/tiles/(\w+)/(\d{1,2})/(\d{1,9})/(\d{1,9})$")
DATASET_TILE = re.compile(r"^/tiles/(\w+)/(\d{1,2})/(\d{1,9})/(\d{1,9})$")


class VerifiedTokens:
    """Access tokens already verified, until they expire: a map's next tiles skip the signature check.

    Revocation is not this cache's business: the caller cache (5 s) decides whether the user behind a
    verified token may still see cached tiles.
    """

    def __init__(self, size: int = 10_000) -> None:
        self.size = size
        self._claims: dict[str, TokenClaims] = {}

    def read(self, token: str, auth: AuthSettings, secret: str) -> TokenClaims:
        claims = self._claims.get(token)
        if claims is not None and claims.expires > time.time():
            return claims
        claims = read_token(token, "access", auth, secret)
        if len(self._claims) >= self.size:
            self._claims.clear()  # bounded; refilled by the next requests
        self._claims[token] = claims
        return claims


class CachedTiles:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.tokens = VerifiedTokens()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and not scope.get("query_string"):
            hit = self._cached(scope)
            if hit is not None:
                await _answer(scope, send, hit)
                return
        await self.app(scope, receive, send)

    def _cached(self, scope: Scope) -> RenderedTile | None:
        path = scope["path"]
        layers: tuple[str, ...]
        if m := COLLECTION_TILE.match(path):
            layers, tms, z, x, y = (m[1],), m[2], int(m[3]), int(m[4]), int(m[5])
        elif m := DATASET_TILE.match(path):
            layers, tms, z, x, y = tuple(tiles.COLLECTIONS), m[1], int(m[2]), int(m[3]), int(m[4])
        else:
            return None
        app: Any = scope["app"]
        token = _bearer(scope)
        if token is None or not hasattr(app.state, "caller_cache"):
            return None
        try:
            claims = self.tokens.read(token, app.state.settings.auth, app.state.jwt_secret)
            caller = app.state.caller_cache.get((claims.user_id, claims.version))
            if caller is None:
                return None
            database = tiles.database_key(app.state.engine.url)
            return tiles.cached_tile(database, caller, tms, z, x, y, layers)
        except (TokenError, TwinError):
            return None  # the router gives the proper problem response


def _bearer(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            kind, _, token = value.decode("latin-1").partition(" ")
            return token if kind.lower() == "bearer" and token else None
    return None


async def _answer(scope: Scope, send: Send, tile: RenderedTile) -> None:
    asked = next((v.decode("latin-1") for n, v in scope["headers"] if n == b"if-none-match"), "")
    headers = [(k.lower().encode(), v.encode()) for k, v in tile_headers(tile).items()]
    if not_modified(asked, tile):
        await send({"type": "http.response.start", "status": 304, "headers": headers})
        await send({"type": "http.response.body", "body": b""})
        return
    headers += [(b"content-type", tiles.MVT.encode()), (b"content-length", str(len(tile.content)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": tile.content})
