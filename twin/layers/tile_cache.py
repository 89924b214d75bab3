"""An in-process LRU of rendered vector tiles, bounded in bytes, dropped tile by tile when data changes.

The cache is per process: each server worker keeps its own. An edit committed through the editing engine
calls `twin.layers.tiles.invalidate(collection, bbox_before, bbox_after)` in the worker that made it, which
drops exactly the cached tiles (any zoom, any tile matrix set, any jurisdiction) whose buffered extent
touches one of the boxes, before it answers. Every other change — made in another worker, by an import,
by the hazard loop — reaches every worker's cache through PostgreSQL (`NOTIFY twin_tiles` at commit,
twin.layers.tile_events), with the same boxes; the time to live only bounds what a listener that lost its
connection might have missed, and it empties the cache when it reconnects. Tiles of collections that
change all the time (vehicles, alerts) are not cached at all.

The ETag is a hash of the tile's bytes, so it is the same in every worker and after a restart.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

BBox = tuple[float, float, float, float]


@dataclass(frozen=True)
class TileKey:
    """What makes two tiles the same: which database, who may see what, where, and which layers."""

    database: str  # host:port/name, so two databases served by one process never share tiles
    scope: str  # the jurisdiction's org path, or 'whole'
    tms: str
    z: int
    x: int
    y: int
    collections: tuple[str, ...]


@dataclass(frozen=True)
class RenderedTile:
    content: bytes
    etag: str


def etag_of(content: bytes) -> str:
    """A strong ETag from the tile's bytes (quoted, as the header wants it)."""
    return '"' + hashlib.blake2b(content, digest_size=16).hexdigest() + '"'


def rendered(content: bytes) -> RenderedTile:
    return RenderedTile(content, etag_of(content))


def intersects(a: BBox, b: BBox) -> bool:
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


@dataclass
class _Entry:
    tile: RenderedTile
    expires: float


class TileCache:
    """Tiles by key, least recently used out first once `max_bytes` is exceeded."""

    def __init__(self, max_bytes: int, ttl_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_bytes = max_bytes
        self.ttl_s = ttl_s
        self._clock = clock
        self._entries: OrderedDict[TileKey, _Entry] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        # Bumped by every invalidation: a tile rendered before an edit committed is not stored after it.
        self.generation = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size_bytes(self) -> int:
        return self._bytes

    def get(self, key: TileKey) -> RenderedTile | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry.expires <= self._clock():
                self._drop(key)
                return None
            self._entries.move_to_end(key)
            return entry.tile

    def put(self, key: TileKey, tile: RenderedTile, generation: int) -> bool:
        """Store `tile` unless data changed since `generation` was read, or it alone overflows the cache."""
        size = len(tile.content)
        with self._lock:
            if generation != self.generation or size > self.max_bytes:
                return False
            if key in self._entries:
                self._drop(key)
            self._entries[key] = _Entry(tile, self._clock() + self.ttl_s)
            self._bytes += size
            while self._bytes > self.max_bytes:
                self._drop(next(iter(self._entries)))
            return True

    def invalidate(
        self, collection_id: str, boxes: Iterable[BBox], extent_of: Callable[[TileKey], BBox]
    ) -> int:
        """Drop every tile holding `collection_id` whose extent (`extent_of`) touches one of `boxes`."""
        boxes = list(boxes)
        with self._lock:
            self.generation += 1
            doomed = [
                key
                for key in self._entries
                if collection_id in key.collections and any(intersects(extent_of(key), b) for b in boxes)
            ]
            for key in doomed:
                self._drop(key)
            return len(doomed)

    def clear(self) -> None:
        with self._lock:
            self.generation += 1
            self._entries.clear()
            self._bytes = 0

    def _drop(self, key: TileKey) -> None:
        entry = self._entries.pop(key)
        self._bytes -= len(entry.tile.content)
