"""Pipes: tubes of their real diameter along their real 3D axis below the ground, coloured by utility.

Depths are surveyed at the two ends (to the top of the pipe or to its invert) and interpolated along the
length; the ground under each vertex comes from the DEM. The axis is then ground - depth - radius (top)
or ground - depth + radius (invert, the wall thickness being unknown). A pipe without a surveyed depth
gets the assumed depth and says so in its properties.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from twin.scenes.frame import Frame
from twin.scenes.glb import Primitive, PropertyTable, write_glb
from twin.scenes.prism import MeshArrays

F = NDArray[np.float64]
SIDES = 8
# Colours of the Chinese pipeline survey convention (CJJ 61): water blue, drainage brown, gas pink,
# power red, telecom green, heat orange.
UTILITY_COLOURS: dict[str, tuple[float, float, float, float]] = {
    "water": (0.0, 0.45, 0.95, 1.0),
    "drainage": (0.55, 0.35, 0.15, 1.0),
    "gas": (0.95, 0.40, 0.75, 1.0),
    "power": (0.90, 0.10, 0.10, 1.0),
    "telecom": (0.10, 0.70, 0.20, 1.0),
    "heat": (0.95, 0.55, 0.05, 1.0),
}
OTHER = (0.6, 0.6, 0.6, 1.0)
Ground = Callable[[F, F], F]
"""lon, lat arrays -> ground heights (NaN where unknown)."""


@dataclass(frozen=True)
class PipeRow:
    id: int
    code: str
    utility: str
    diameter_mm: float
    start_depth_m: float | None
    end_depth_m: float | None
    depth_ref: str
    material: str | None
    coords: Sequence[tuple[float, float]]  # lon, lat


@dataclass(frozen=True)
class PipeAxis:
    row: PipeRow
    points: F  # (n, 3) ENU axis
    depth_assumed: bool


def axes(frame: Frame, rows: Sequence[PipeRow], ground: Ground, assumed_depth_m: float) -> list[PipeAxis]:
    """Each pipe's 3D axis in the frame (all pipes transformed and sampled at once)."""
    if not rows:
        return []
    lonlath, assumed = axes_lonlat(rows, ground, assumed_depth_m)
    enu = frame.from_lonlat(lonlath[:, 0], lonlath[:, 1], lonlath[:, 2])
    ends = np.cumsum([len(r.coords) for r in rows])[:-1]
    return [PipeAxis(r, pts, a) for r, pts, a in zip(rows, np.split(enu, ends), assumed, strict=True)]


def axis_lonlat(row: PipeRow, ground: Ground, assumed_depth_m: float) -> tuple[F, bool]:
    """One pipe's axis as (n, 3) lon, lat, height, and whether its depth was assumed."""
    lonlath, assumed = axes_lonlat([row], ground, assumed_depth_m)
    return lonlath, bool(assumed[0])


def axes_lonlat(rows: Sequence[PipeRow], ground: Ground, assumed_depth_m: float) -> tuple[F, list[bool]]:
    """The axes of all `rows` stacked as (Σn, 3) lon, lat, height; which depths were assumed."""
    counts = np.array([len(r.coords) for r in rows])
    owner = np.repeat(np.arange(len(rows)), counts)
    ll = np.concatenate([np.asarray(r.coords, dtype="float64")[:, :2] for r in rows])
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    # chainage along each pipe, proportional to metres (longitude scaled by cos(latitude))
    step = np.zeros(len(ll))
    step[1:] = np.hypot(np.diff(ll[:, 0]) * np.cos(np.radians(ll[1:, 1])), np.diff(ll[:, 1]))
    step[first] = 0.0
    along = np.cumsum(step)
    along -= along[first][owner]
    total = along[np.cumsum(counts) - 1][owner]
    t = np.divide(along, total, out=np.zeros_like(along), where=total > 0)
    d0 = np.array([_depth(r.start_depth_m, r.end_depth_m, assumed_depth_m) for r in rows])[owner]
    d1 = np.array([_depth(r.end_depth_m, r.start_depth_m, assumed_depth_m) for r in rows])[owner]
    radius = np.array([r.diameter_mm / 2000.0 for r in rows])[owner]
    sign = np.array([1.0 if r.depth_ref == "invert" else -1.0 for r in rows])[owner]
    surface = ground(ll[:, 0], ll[:, 1])
    if np.isnan(surface).any():  # outside the DEM: the mean ground of the rest, else 0
        surface = np.where(
            np.isnan(surface), np.nanmean(surface) if np.isfinite(surface).any() else 0.0, surface
        )
    centre = surface - (d0 + (d1 - d0) * t) + sign * radius
    assumed = [r.start_depth_m is None and r.end_depth_m is None for r in rows]
    return np.column_stack([ll, centre]), assumed


def _depth(own: float | None, other: float | None, assumed: float) -> float:
    return own if own is not None else (other if other is not None else assumed)


def tubes(starts: F, ends: F, radii: F, owners: NDArray[np.int64], sides: int = SIDES) -> MeshArrays:
    """A closed cylinder per segment (starts[i] → ends[i], radius radii[i]), feature id owners[i]."""
    d = ends - starts
    length = np.linalg.norm(d, axis=1)
    keep = length > 1e-6
    starts, ends, d, length, radii, owners = (
        starts[keep],
        ends[keep],
        d[keep],
        length[keep],
        radii[keep],
        owners[keep],
    )
    m = len(starts)
    if m == 0:
        return MeshArrays.empty()
    d = d / length[:, None]
    helper = np.where(np.abs(d[:, 2:3]) > 0.99, [[1.0, 0.0, 0.0]], [[0.0, 0.0, 1.0]])
    u = np.cross(d, helper)
    u /= np.linalg.norm(u, axis=1)[:, None]
    v = np.cross(d, u)  # (u, v, d) right-handed
    theta = np.linspace(0.0, 2 * np.pi, sides, endpoint=False)
    radial = np.cos(theta)[None, :, None] * u[:, None, :] + np.sin(theta)[None, :, None] * v[:, None, :]
    ring0 = starts[:, None, :] + radii[:, None, None] * radial
    ring1 = ends[:, None, :] + radii[:, None, None] * radial
    # Sides: 2 rings of `sides` vertices with radial normals; caps: each ring again plus a centre.
    side_pos = np.concatenate([ring0, ring1], axis=1)  # (m, 2k, 3)
    side_nrm = np.concatenate([radial, radial], axis=1)
    cap_pos = np.concatenate([ring0, starts[:, None], ring1, ends[:, None]], axis=1)  # (m, 2k+2, 3)
    cap_nrm = np.concatenate([np.repeat(-d[:, None], sides + 1, 1), np.repeat(d[:, None], sides + 1, 1)], 1)
    per = 4 * sides + 2
    pos = np.concatenate([side_pos, cap_pos], axis=1).reshape(-1, 3)
    nrm = np.concatenate([side_nrm, cap_nrm], axis=1).reshape(-1, 3)
    k = np.arange(sides)
    k1 = (k + 1) % sides
    side = np.concatenate([np.column_stack([k, k1, sides + k1]), np.column_stack([k, sides + k1, sides + k])])
    c0, c1 = 2 * sides, 3 * sides + 1  # offsets of the two cap rings in the cap block
    start_cap = np.column_stack([np.full(sides, c0 + sides), c0 + k1, c0 + k])  # faces -d
    end_cap = np.column_stack([np.full(sides, c1 + sides), c1 + k, c1 + k1])  # faces +d
    tris = np.concatenate([side, start_cap, end_cap])
    tris = (np.arange(m)[:, None, None] * per + tris[None]).reshape(-1, 3)
    fid = np.repeat(owners, per).astype("float64")
    return MeshArrays(pos, nrm, tris, fid)


def pipe_mesh(pipes: Sequence[PipeAxis]) -> MeshArrays:
    if not pipes:
        return MeshArrays.empty()
    starts = np.concatenate([p.points[:-1] for p in pipes])
    ends = np.concatenate([p.points[1:] for p in pipes])
    counts = [len(p.points) - 1 for p in pipes]
    owners = np.repeat(np.arange(len(pipes)), counts)
    radii = np.repeat([p.row.diameter_mm / 2000.0 for p in pipes], counts)
    return tubes(starts, ends, radii, owners)


def pipe_table(pipes: Sequence[PipeAxis], extra: dict[str, list[object]] | None = None) -> PropertyTable:
    rows = [p.row for p in pipes]
    top = [float(p.points[:, 2].max() + p.row.diameter_mm / 2000.0) for p in pipes]
    return PropertyTable(
        "pipe",
        {
            "id": [r.id for r in rows],
            "code": [r.code for r in rows],
            "utility": [r.utility for r in rows],
            "diameter_mm": [float(r.diameter_mm) for r in rows],
            "depth_ref": [r.depth_ref for r in rows],
            "start_depth_m": [r.start_depth_m for r in rows],
            "end_depth_m": [r.end_depth_m for r in rows],
            "depth_assumed": ["yes" if p.depth_assumed else "no" for p in pipes],
            "material": [r.material for r in rows],
            "top_height_m": top,
            **(extra or {}),
        },
    )


def pipes_glb(
    pipes: Sequence[PipeAxis],
    colours: Sequence[tuple[float, float, float, float]] | None = None,
    extra: dict[str, list[object]] | None = None,
) -> bytes:
    """One primitive, per-vertex colours by utility (or `colours` per pipe), property table `pipe`."""
    mesh = pipe_mesh(pipes)
    palette = np.array(colours or [UTILITY_COLOURS.get(p.row.utility, OTHER) for p in pipes] or [OTHER])
    vertex_colours = palette[mesh.feature_ids.astype("int64")] if len(mesh.feature_ids) else None
    prim = Primitive(
        mesh.positions.astype("float32"),
        mesh.normals.astype("float32"),
        mesh.indices.astype("uint32"),
        mesh.feature_ids.astype("float32"),
        colours=None if vertex_colours is None else vertex_colours.astype("float32"),
    )
    return write_glb([prim], pipe_table(pipes, extra))
