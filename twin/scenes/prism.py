"""Closed prisms from 2D polygons: walls, roof and floor with flat normals, all polygons at once.

Used for buildings (footprint from base elevation to roof) and risk-zone volumes. Vertices are duplicated
per face so normals stay flat; welded by position, each prism is a closed (watertight) surface.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import NDArray

F = NDArray[np.float64]


@dataclass
class MeshArrays:
    positions: F
    normals: F
    indices: NDArray[np.int64]
    feature_ids: F

    @staticmethod
    def empty() -> MeshArrays:
        z3 = np.zeros((0, 3))
        return MeshArrays(z3, z3, np.zeros((0, 3), dtype="int64"), np.zeros(0))


def concat(parts: list[MeshArrays]) -> MeshArrays:
    parts = [p for p in parts if len(p.indices)]
    if not parts:
        return MeshArrays.empty()
    offsets = np.cumsum([0] + [len(p.positions) for p in parts[:-1]])
    return MeshArrays(
        np.concatenate([p.positions for p in parts]),
        np.concatenate([p.normals for p in parts]),
        np.concatenate([p.indices + o for p, o in zip(parts, offsets, strict=True)]),
        np.concatenate([p.feature_ids for p in parts]),
    )


def prisms(polygons: NDArray[np.object_], bottom: F, top: F) -> MeshArrays:
    """Prism i = polygons[i] (local x, y in metres) from z = bottom[i] to top[i]; feature id i."""
    if len(polygons) == 0:
        return MeshArrays.empty()
    invalid = ~shapely.is_valid(polygons)
    if invalid.any():  # stored footprints are validated on import; this is for hand-made input
        polygons = polygons.copy()
        polygons[invalid] = shapely.make_valid(polygons[invalid])
    polygons = shapely.orient_polygons(polygons, exterior_cw=False)
    return concat([_walls(polygons, bottom, top), _caps(polygons, bottom, top)])


def _walls(polygons: NDArray[np.object_], bottom: F, top: F) -> MeshArrays:
    # Every ring's edges; exterior counter-clockwise and holes clockwise, so (dy, -dx) points outwards.
    rings = shapely.get_rings(shapely.get_parts(polygons), return_index=False)
    ring_owner = _ring_owner(polygons)
    coords, ring_idx = shapely.get_coordinates(rings, return_index=True)
    same = ring_idx[1:] == ring_idx[:-1]
    a, b = coords[:-1][same], coords[1:][same]
    owner = ring_owner[ring_idx[:-1][same]]
    d = b - a
    length = np.hypot(d[:, 0], d[:, 1])
    keep = length > 1e-9
    a, b, d, length, owner = a[keep], b[keep], d[keep], length[keep], owner[keep]
    n = len(a)
    z0, z1 = bottom[owner], top[owner]
    pos = np.empty((n, 4, 3))
    pos[:, 0, :2], pos[:, 0, 2] = a, z0
    pos[:, 1, :2], pos[:, 1, 2] = b, z0
    pos[:, 2, :2], pos[:, 2, 2] = b, z1
    pos[:, 3, :2], pos[:, 3, 2] = a, z1
    normal = np.column_stack([d[:, 1] / length, -d[:, 0] / length, np.zeros(n)])
    base = np.arange(n)[:, None] * 4
    tris = np.concatenate([base + np.array([0, 1, 2]), base + np.array([0, 2, 3])], axis=1).reshape(-1, 3)
    return MeshArrays(
        pos.reshape(-1, 3), np.repeat(normal, 4, axis=0), tris, np.repeat(owner, 4).astype("float64")
    )


def _ring_owner(polygons: NDArray[np.object_]) -> NDArray[np.int64]:
    """For each ring of get_rings(get_parts(polygons)), the index of the polygon it belongs to."""
    parts, part_owner = shapely.get_parts(polygons, return_index=True)
    counts = shapely.get_num_interior_rings(parts) + 1
    return np.repeat(part_owner, counts)


def _caps(polygons: NDArray[np.object_], bottom: F, top: F) -> MeshArrays:
    triangles = shapely.constrained_delaunay_triangles(polygons)
    parts, owner = shapely.get_parts(triangles, return_index=True)
    if len(parts) == 0:
        return MeshArrays.empty()
    xy = shapely.get_coordinates(shapely.get_exterior_ring(parts)).reshape(-1, 4, 2)[:, :3]
    e1, e2 = xy[:, 1] - xy[:, 0], xy[:, 2] - xy[:, 0]
    clockwise = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0] < 0
    xy[clockwise] = xy[clockwise][:, ::-1]
    n = len(xy)
    roof = np.empty((n, 3, 3))
    roof[..., :2], roof[..., 2] = xy, top[owner][:, None]
    floor = np.empty((n, 3, 3))
    floor[..., :2], floor[..., 2] = xy[:, ::-1], bottom[owner][:, None]
    pos = np.concatenate([roof, floor]).reshape(-1, 3)
    up = np.repeat(np.array([[0.0, 0.0, 1.0], [0.0, 0.0, -1.0]]), n * 3, axis=0)
    fid = np.tile(np.repeat(owner, 3), 2).astype("float64")
    return MeshArrays(pos, up, np.arange(len(pos)).reshape(-1, 3), fid)
