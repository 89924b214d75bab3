"""Province scale: a geodetic quadtree of building tiles, each node an external tileset made on demand.

Level z splits lon [-180, 180] and lat [-90, 90] into 2^z × 2^z tiles (x from the west, y from the
south). A node with at most `per_tile` buildings (by centroid) is a leaf holding their GLB in its own ENU
frame; a fuller node refers to its non-empty children's tilesets. Content only in leaves (refine ADD),
like pg2b3dm. geometricError is a load distance (tileset.load_distance_error): a node's children are
fetched when the camera comes within about twice the node's width (at least `MIN_LOAD_M`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from twin.scenes.frame import Frame, region
from twin.scenes.tileset import load_distance_error

BASE_LEVEL = 6  # 5.6° × 2.8°: a province spans a handful of these
MAX_LEVEL = 22
MIN_LOAD_M = 1500.0
METRES_PER_DEGREE = 111_320.0


@dataclass(frozen=True)
class QuadTile:
    z: int
    x: int
    y: int

    def __post_init__(self) -> None:
        # z first: 1 << z of a huge z would take all memory before the range check refused it.
        n = 1 << self.z if 0 <= self.z <= MAX_LEVEL else 0
        if not (0 <= self.z <= MAX_LEVEL and 0 <= self.x < n and 0 <= self.y < n):
            raise ValueError(
                f"no tile {self.z}/{self.x}/{self.y}: z in 0..{MAX_LEVEL}, x and y in 0..{n - 1}"
            )

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        n = 1 << self.z
        w, s = -180.0 + 360.0 * self.x / n, -90.0 + 180.0 * self.y / n
        return (w, s, w + 360.0 / n, s + 180.0 / n)

    def children(self) -> list[QuadTile]:
        return [QuadTile(self.z + 1, 2 * self.x + dx, 2 * self.y + dy) for dy in (0, 1) for dx in (0, 1)]

    @property
    def width_m(self) -> float:
        w, s, e, n = self.bounds
        return (e - w) * METRES_PER_DEGREE * math.cos(math.radians((s + n) / 2))

    @property
    def frame(self) -> Frame:
        w, s, e, n = self.bounds
        return Frame((w + e) / 2, (s + n) / 2, 0.0)

    def path(self) -> str:
        return f"{self.z}/{self.x}/{self.y}"


def covering(extent: tuple[float, float, float, float], z: int = BASE_LEVEL) -> list[QuadTile]:
    """The level-z tiles that meet the lon/lat extent."""
    n = 1 << z
    x0 = max(0, min(n - 1, int((extent[0] + 180.0) / 360.0 * n)))
    x1 = max(0, min(n - 1, int((extent[2] + 180.0) / 360.0 * n)))
    y0 = max(0, min(n - 1, int((extent[1] + 90.0) / 180.0 * n)))
    y1 = max(0, min(n - 1, int((extent[3] + 90.0) / 180.0 * n)))
    return [QuadTile(z, x, y) for y in range(y0, y1 + 1) for x in range(x0, x1 + 1)]


def node_error(tile: QuadTile) -> float:
    return load_distance_error(max(2.0 * tile.width_m, MIN_LOAD_M))


@dataclass(frozen=True)
class Heights:
    low: float
    high: float


def _volume(tile: QuadTile, h: Heights) -> dict[str, list[float]]:
    return {"region": region(*tile.bounds, h.low, h.high)}


def reference(tile: QuadTile, base: str, h: Heights) -> dict[str, Any]:
    """A tile that points at the node's own tileset (external tileset)."""
    return {
        "boundingVolume": _volume(tile, h),
        "geometricError": node_error(tile),
        "content": {"uri": f"{base}/{tile.path()}/tileset.json"},
    }


def node_tileset(
    tile: QuadTile, count: int, per_tile: int, children: dict[QuadTile, tuple[int, Heights]], base: str,
    h: Heights,
) -> dict[str, Any]:  # fmt: skip
    """The node's tileset: a leaf with its buildings' GLB, or references to its non-empty children."""
    root: dict[str, Any] = {"boundingVolume": _volume(tile, h), "refine": "ADD"}
    if count <= per_tile or tile.z >= MAX_LEVEL:
        root.update(
            geometricError=0.0,
            transform=tile.frame.transform(),
            content={"uri": f"{base}/{tile.path()}/buildings.glb"},
        )
    else:
        root["geometricError"] = node_error(tile)
        root["children"] = [
            reference(c, base, ch) for c, (n, ch) in sorted(children.items(), key=_order) if n
        ]
    return {
        "asset": {"version": "1.1", "generator": "Campus Twin twin.scenes"},
        "geometricError": node_error(tile),
        "root": root,
    }


def root_tileset(tiles: dict[QuadTile, tuple[int, Heights]], base: str) -> dict[str, Any]:
    """The province's entry: the base-level nodes with buildings; empty when there are none."""
    kept = [(t, h) for t, (n, h) in sorted(tiles.items(), key=_order) if n]
    if kept:
        w = min(t.bounds[0] for t, _ in kept)
        s = min(t.bounds[1] for t, _ in kept)
        e = max(t.bounds[2] for t, _ in kept)
        n = max(t.bounds[3] for t, _ in kept)
        low, high = min(h.low for _, h in kept), max(h.high for _, h in kept)
    else:
        w, s, e, n, low, high = 0.0, 0.0, 1e-6, 1e-6, 0.0, 1.0
    error = load_distance_error(200_000.0)
    return {
        "asset": {"version": "1.1", "generator": "Campus Twin twin.scenes"},
        "geometricError": error,
        "root": {
            "boundingVolume": {"region": region(w, s, e, n, low, high)},
            "geometricError": error,
            "refine": "ADD",
            "children": [reference(t, base, h) for t, h in kept],
        },
    }


def _order(item: tuple[QuadTile, Any]) -> tuple[int, int, int]:
    t = item[0]
    return (t.z, t.y, t.x)
