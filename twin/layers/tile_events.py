"""Drop cached tiles when any process commits a change: a listener on PostgreSQL's `twin_tiles` channel.

Migration 0012 makes every table behind a cached tile layer notify `twin_tiles` with the lon/lat boxes
a statement changed; PostgreSQL delivers it at commit, to every worker. This listener turns each
notification into `tiles.invalidate` calls. While it is not connected it cannot know what changed, so
it empties the cache on every (re)connection: a missed notification costs a re-render, never a stale tile.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

import asyncpg

from twin.layers import tiles
from twin.layers.registry import COLLECTIONS
from twin.layers.tile_cache import BBox

log = logging.getLogger(__name__)

CHANNEL = "twin_tiles"
SLACK = 1e-6
"""Degrees added around each box: ST_Extent rounds outwards to float precision, not always enough."""


def collections_of(table: str) -> list[str]:
    """The tile layers drawn from `table` (tiles.invalidate adds the layers derived from them)."""
    return [c.id for c in COLLECTIONS.values() if c.table.name == table and not c.derived_from]


def parse(payload: str) -> tuple[str, list[BBox]]:
    """(table, boxes) of one notification; ValueError when it is not one of ours."""
    try:
        message = json.loads(payload)
        boxes = {tuple(float(v) for v in box) for box in message["boxes"]}
        table = str(message["table"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"not a tile notification: {payload[:200]!r}") from exc
    if any(len(b) != 4 for b in boxes):
        raise ValueError(f"a box needs 4 numbers: {payload[:200]!r}")
    return table, [(b[0] - SLACK, b[1] - SLACK, b[2] + SLACK, b[3] + SLACK) for b in sorted(boxes)]


def apply(payload: str) -> int:
    """Invalidate what one notification names; returns how many cached tiles were dropped."""
    table, boxes = parse(payload)
    return sum(tiles.invalidate(c, *boxes) for c in collections_of(table))


class TileListener:
    """One connection per server process that LISTENs and invalidates, reconnecting when it drops."""

    def __init__(self, dsn: str, retry_s: float = 1.0, on_change: Callable[[str], int] = apply) -> None:
        self.dsn, self.retry_s, self.on_change = dsn, retry_s, on_change
        self.connected = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="tile-listener")

    async def wait_connected(self, timeout_s: float) -> bool:
        """True once listening; False after `timeout_s` (the server starts anyway, tiles expire by TTL)."""
        try:
            await asyncio.wait_for(self.connected.wait(), timeout_s)
        except TimeoutError:
            log.warning("tile listener not connected after %.0f s; cached tiles rely on their TTL", timeout_s)
            return False
        return True

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            try:
                await self._listen()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("tile listener lost the database (%s); retrying in %.0f s", exc, self.retry_s)
            self.connected.clear()
            await asyncio.sleep(self.retry_s)

    async def _listen(self) -> None:
        conn = await asyncpg.connect(self.dsn)
        try:
            await conn.add_listener(CHANNEL, self._notified)
            tiles.tile_cache().clear()  # whatever changed while nobody listened
            self.connected.set()
            while not conn.is_closed():
                await asyncio.sleep(self.retry_s * 5)
                await conn.execute("SELECT 1")  # notices a dead connection
        finally:
            await conn.close(timeout=2)

    def _notified(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        try:
            self.on_change(payload)
        except ValueError:
            log.warning("ignored a malformed %s notification", CHANNEL, exc_info=True)
