"""The excavation cut: the ground opened along the trench, its walls and floor, and the exposed pipes.

Built from a stored plan (twin.pipes.digging): the profile's stations give, at each chainage, the ground,
the trench bottom and the top width; the bottom width is the trench's. Walls slope from the top edge at
ground level to the bottom edge; the floor joins the two bottom edges; end walls close it. The terrain
around the trench is a DEM window with the cells inside the trench's top outline removed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from twin.errors import UnprocessableContent
from twin.scenes.frame import Frame
from twin.scenes.glb import Primitive, PropertyTable, write_glb

F = NDArray[np.float64]
SOIL = (0.58, 0.42, 0.26, 1.0)
CONFLICT = (1.0, 0.0, 1.0, 1.0)  # magenta: a utility too close to the trench, whatever its own colour


@dataclass(frozen=True)
class TrenchShape:
    """Per station (metric CRS): centre x, y; ground and bottom heights; top and bottom widths."""

    x: F
    y: F
    ground: F
    bottom: F
    top_width: F
    bottom_width: float


def trench_shape(plan: dict[str, Any]) -> TrenchShape:
    """The trench of a stored plan; UnprocessableContent when the plan has no profile to build from."""
    stations = plan.get("profile") or []
    if len(stations) < 2 or "trench" not in plan:
        raise UnprocessableContent("this excavation plan has no trench profile to build a 3D cut from")
    col = {k: np.array([float(s[k]) for s in stations]) for k in ("x", "y", "ground", "bottom", "top_width")}
    return TrenchShape(
        col["x"],
        col["y"],
        col["ground"],
        col["bottom"],
        col["top_width"],
        float(plan["trench"]["bottom_width_m"]),
    )


def _sides(t: TrenchShape) -> tuple[F, F, F, F]:
    """(top left, top right, bottom left, bottom right) as (n, 3) metric x, y, height."""
    xy = np.column_stack([t.x, t.y])
    tangent = np.gradient(xy, axis=0)
    tangent /= np.linalg.norm(tangent, axis=1)[:, None]
    normal = np.column_stack([-tangent[:, 1], tangent[:, 0]])  # to the left of the centreline

    def edge(half: F | float, z: F, sign: float) -> F:
        return np.column_stack([xy + sign * normal * np.reshape(half, (-1, 1)), z])

    return (
        edge(t.top_width / 2, t.ground, 1.0),
        edge(t.top_width / 2, t.ground, -1.0),
        edge(np.full(len(xy), t.bottom_width / 2), t.bottom, 1.0),
        edge(np.full(len(xy), t.bottom_width / 2), t.bottom, -1.0),
    )


def _strip(a: F, b: F) -> list[F]:
    """Quads between two polylines a[i]→a[i+1] and b[i]→b[i+1], each (4, 3)."""
    return [np.array([a[i], a[i + 1], b[i + 1], b[i]]) for i in range(len(a) - 1)]


def trench_quads(t: TrenchShape) -> list[F]:
    """Every face of the open trench (left and right walls, floor, two end walls) as quads, metric CRS."""
    tl, tr, bl, br = _sides(t)
    ends = [np.array([tl[0], bl[0], br[0], tr[0]]), np.array([tl[-1], tr[-1], br[-1], bl[-1]])]
    return _strip(tl, bl) + _strip(br, tr) + _strip(bl, br) + ends


def trench_glb(frame: Frame, srid: int, t: TrenchShape, properties: dict[str, Any]) -> bytes:
    """The trench's walls and floor, double-sided (seen from inside the cut), one feature."""
    quads = np.array(trench_quads(t))  # (q, 4, 3)
    flat = quads.reshape(-1, 3)
    pos = frame.from_crs(srid, flat[:, 0], flat[:, 1], flat[:, 2]).reshape(-1, 4, 3)
    normal = np.cross(pos[:, 1] - pos[:, 0], pos[:, 2] - pos[:, 0])
    normal /= np.maximum(np.linalg.norm(normal, axis=1), 1e-12)[:, None]
    base = np.arange(len(pos))[:, None] * 4
    tris = np.concatenate([base + np.array([0, 1, 2]), base + np.array([0, 2, 3])], axis=1).reshape(-1, 3)
    prim = Primitive(
        pos.reshape(-1, 3).astype("float32"),
        np.repeat(normal, 4, axis=0).astype("float32"),
        tris.astype("uint32"),
        np.zeros(len(pos) * 4, dtype="float32"),
        colour=SOIL,
        double_sided=True,
    )
    table = PropertyTable("trench", {k: [v] for k, v in properties.items()})
    return write_glb([prim], table)


def top_ring(t: TrenchShape) -> F:
    """The trench's outline at ground level (metric x, y, ground height), closed, counter-clockwise."""
    tl, tr, _, _ = _sides(t)
    ring = np.concatenate([tr, tl[::-1], tr[:1]])
    area = np.sum(ring[:-1, 0] * ring[1:, 1] - ring[1:, 0] * ring[:-1, 1])
    return ring if area > 0 else ring[::-1]
