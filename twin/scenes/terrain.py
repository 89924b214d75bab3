"""Terrain: a triangle mesh from the campus DEM (rasterio), thinned to a bounded grid.

The grid takes every `step`-th cell centre so a campus DEM of any resolution gives at most
`max_cells`² cells; cells with no-data are left open. `cut` removes the triangles inside an outline
(the excavation trench) so the ground is open where it is dug.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import rasterio
import shapely
from numpy.typing import NDArray

from twin.scenes.frame import Frame
from twin.scenes.glb import Primitive, PropertyTable, write_glb
from twin.scenes.prism import MeshArrays

F = NDArray[np.float64]
COLOUR = (0.55, 0.62, 0.45, 1.0)


@dataclass(frozen=True)
class Grid:
    """Heights on a regular grid of points given in the DEM's CRS (`srid`); NaN = no data."""

    x: F  # (rows, cols)
    y: F
    z: F
    srid: int
    resolution_m: float


def read_grid(
    path: str, srid: int, max_cells: int = 256, window: tuple[float, float, float, float] | None = None
) -> Grid:
    """The DEM's cell centres thinned to at most `max_cells` per side (inside `window`, DEM CRS, if given)."""
    with rasterio.open(path) as src:
        win = None
        if window is not None:
            win = (
                rasterio.windows.from_bounds(*window, transform=src.transform).round_offsets().round_lengths()
            )
            win = win.intersection(rasterio.windows.Window(0, 0, src.width, src.height))
        band = src.read(1, masked=True, window=win).astype("float64").filled(np.nan)
        transform = src.window_transform(win) if win is not None else src.transform
    step = max(1, int(np.ceil(max(band.shape) / max_cells)))
    rows, cols = np.arange(0, band.shape[0], step), np.arange(0, band.shape[1], step)
    cc, rr = np.meshgrid(cols + 0.5, rows + 0.5)
    t = transform
    x, y = t.c + t.a * cc + t.b * rr, t.f + t.d * cc + t.e * rr
    z = band[np.ix_(rows, cols)]
    return Grid(np.asarray(x), np.asarray(y), z, srid, abs(transform.a) * step)


def grid_mesh(frame: Frame, grid: Grid, cut: shapely.Geometry | None = None) -> MeshArrays:
    """Triangles of the grid in the frame (two per cell), minus cells with no data or inside `cut`
    (given in the grid's CRS)."""
    nr, nc = grid.z.shape
    if nr < 2 or nc < 2:
        return MeshArrays.empty()
    z = np.nan_to_num(grid.z, nan=float(np.nanmin(grid.z)) if np.isfinite(grid.z).any() else 0.0)
    pos = frame.from_crs(grid.srid, grid.x.ravel(), grid.y.ravel(), z.ravel())
    idx = np.arange(nr * nc).reshape(nr, nc)
    a, b, c, d = idx[:-1, :-1], idx[1:, :-1], idx[:-1, 1:], idx[1:, 1:]  # row 0 is the north edge
    tris = np.concatenate([np.stack([a, b, c], -1).reshape(-1, 3), np.stack([c, b, d], -1).reshape(-1, 3)])
    missing = np.isnan(grid.z.ravel())
    keep = ~missing[tris].any(axis=1)
    if cut is not None:
        cx, cy = grid.x.ravel()[tris].mean(axis=1), grid.y.ravel()[tris].mean(axis=1)
        keep &= ~shapely.contains_xy(shapely.buffer(cut, grid.resolution_m / 2), cx, cy)
    tris = tris[keep]
    return MeshArrays(pos, vertex_normals(pos, tris), tris, np.zeros(len(pos)))


def vertex_normals(pos: F, tris: NDArray[np.int64]) -> F:
    """Smooth normals: the area-weighted face normals summed at each vertex."""
    face = np.cross(pos[tris[:, 1]] - pos[tris[:, 0]], pos[tris[:, 2]] - pos[tris[:, 0]])
    normals = np.zeros_like(pos)
    for k in range(3):
        np.add.at(normals, tris[:, k], face)
    length = np.linalg.norm(normals, axis=1)
    normals[length == 0] = (0.0, 0.0, 1.0)
    length[length == 0] = 1.0
    return normals / length[:, None]


def terrain_glb(frame: Frame, grid: Grid, campus: str, cut: shapely.Geometry | None = None) -> bytes:
    mesh = grid_mesh(frame, grid, cut)
    prim = Primitive(
        mesh.positions.astype("float32"),
        mesh.normals.astype("float32"),
        mesh.indices.astype("uint32"),
        mesh.feature_ids.astype("float32"),
        colour=COLOUR,
    )
    table = PropertyTable(
        "terrain",
        {"campus": [campus], "resolution_m": [float(grid.resolution_m)], "cut": ["yes" if cut else "no"]},
    )
    return write_glb([prim], table)
