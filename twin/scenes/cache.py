"""Generated 3D content kept in memory (bytes, ETag, box), dropped when the data under it changes.

Migration 0012 makes PostgreSQL notify `twin_tiles` with the table and lon/lat boxes a statement
changed, at commit, to every process; `on_notification` drops each entry drawn from that table whose
area meets one of the boxes. Keys name the database and a campus, plan or quadtree tile, never a user:
whoever may see a campus sees all of its rows, and access is checked on every request before the cache
is asked.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass

from twin.layers.tile_cache import BBox
from twin.layers.tile_events import parse
from twin.scenes.tileset import Box

# Which tables each layer is drawn from: a change to one of them drops the layer's content.
LAYER_TABLES: dict[str, frozenset[str]] = {
    "buildings": frozenset({"buildings", "campuses"}),
    "pipes": frozenset({"pipe_segments", "campuses"}),
    "terrain": frozenset({"campuses"}),
    "risk_zones": frozenset({"risk_zones", "risk_points", "buildings", "campuses"}),
    "province": frozenset({"buildings"}),
}
MARGIN = 0.01
"""Degrees (about 1 km) around a campus: its pipes and zones may run past the drawn boundary."""


@dataclass(frozen=True)
class Content:
    data: bytes
    etag: str
    box: Box | None  # in the scene's frame; None when the layer is empty

    @staticmethod
    def of(data: bytes, box: Box | None) -> Content:
        return Content(data, '"' + hashlib.blake2b(data, digest_size=12).hexdigest() + '"', box)


@dataclass(frozen=True)
class _Entry:
    content: Content
    layer: str
    area: BBox


class SceneCache:
    """A bounded LRU of content, safe to use from the event loop and worker threads."""

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Content | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            self._entries.move_to_end(key)
            return entry.content

    def put(self, key: Hashable, layer: str, area: BBox, content: Content) -> None:
        x0, y0, x1, y1 = area
        with self._lock:
            self._entries[key] = _Entry(content, layer, (x0 - MARGIN, y0 - MARGIN, x1 + MARGIN, y1 + MARGIN))
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def invalidate(self, table: str, boxes: list[BBox]) -> int:
        """Drop the entries drawn from `table` whose area meets one of `boxes`; how many were dropped."""
        with self._lock:
            doomed = [
                key
                for key, e in self._entries.items()
                if table in LAYER_TABLES.get(e.layer, frozenset()) and any(_meets(e.area, b) for b in boxes)
            ]
            for key in doomed:
                del self._entries[key]
        return len(doomed)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


def _meets(a: BBox, b: BBox) -> bool:
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


_CACHE = SceneCache()


def scene_cache() -> SceneCache:
    return _CACHE


def on_notification(payload: str) -> int:
    """A `twin_tiles` payload applied to the scene cache (ValueError when it is not one)."""
    table, boxes = parse(payload)
    return _CACHE.invalidate(table, boxes)
