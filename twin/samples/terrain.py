"""The sample terrain: a gentle slope rising to the north-west and a drainage ditch along the east fence.

Heights of features (building bases, pipe node ground levels) are read from the same 1 m cells the DEM
stores, so a nearest-cell sample of the GeoTIFF returns them exactly (to the centimetre).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from numpy.typing import NDArray
from rasterio.crs import CRS

from twin.samples.frame import HEIGHT_M, WIDTH_M, Frame

NODATA = -9999.0
MARGIN_M = 30


@dataclass(frozen=True)
class Terrain:
    """Analytic ground height in local metres; `at` gives the value of the DEM cell holding a point."""

    base_m: float = 150.0  # at the campus centre
    slope: float = 0.015  # 1.5 % rising towards the north-west
    ditch_x: float = 395.25  # centreline of the ditch, inside the east fence
    ditch_bottom_m: float = 1.5  # bottom width
    ditch_top_m: float = 4.5  # top width
    ditch_depth_m: float = 1.3
    offset_m: float = 0.0

    def height(self, x: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.float64]:
        nw = (-(x - WIDTH_M / 2) + (y - HEIGHT_M / 2)) / math.sqrt(2.0)
        z = self.base_m + self.offset_m + self.slope * nw
        z = z + 0.25 * np.sin(x / 70.0) * np.cos(y / 55.0)  # a little relief so the surface is not a plane
        # Trapezoidal ditch: full depth over the bottom width, linear side slopes to the top width.
        d = np.abs(x - self.ditch_x)
        half_b, half_t = self.ditch_bottom_m / 2, self.ditch_top_m / 2
        cut = np.clip((half_t - d) / (half_t - half_b), 0.0, 1.0) * self.ditch_depth_m
        return np.asarray(z - cut, dtype=np.float64)

    def grid(self, x0: int, y0: int, cols: int, rows: int) -> NDArray[np.float32]:
        """Heights of the 1 m cells whose south-west corner is (x0 + i, y0 + j), north row first."""
        xs = x0 + np.arange(cols) + 0.5
        ys = y0 + rows - np.arange(rows) - 0.5
        gx, gy = np.meshgrid(xs, ys)
        return self.height(gx, gy).astype(np.float32)

    def at(self, x: float, y: float) -> float:
        """Height of the cell that holds (x, y), as the float32 DEM stores it, to the centimetre."""
        cx, cy = np.array([math.floor(x) + 0.5]), np.array([math.floor(y) + 0.5])
        return round(float(np.float32(self.height(cx, cy)[0])), 2)


def write_dem(path: Path, terrain: Terrain, frame: Frame) -> Path:
    """The DEM GeoTIFF: float32, 1 m cells on whole metres of the metric CRS, the site plus a margin."""
    x0, y0 = -MARGIN_M, -MARGIN_M
    cols, rows = int(WIDTH_M) + 2 * MARGIN_M, int(HEIGHT_M) + 2 * MARGIN_M
    data = terrain.grid(x0, y0, cols, rows)
    transform = Affine(1.0, 0.0, frame.origin_e + x0, 0.0, -1.0, frame.origin_n + y0 + rows)  # north up
    profile = {
        "driver": "GTiff",
        "width": cols,
        "height": rows,
        "count": 1,
        "dtype": "float32",
        "crs": CRS.from_epsg(frame.metric_srid),
        "transform": transform,
        "nodata": NODATA,
        "compress": "deflate",
        "predictor": 3,
        "tiled": True,
        "blockxsize": 256,
        "blockysize": 256,
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data, 1)
        dst.update_tags(AREA_OR_POINT="Area", VERTICAL_DATUM="1985 National Height Datum (assumed)")
    return path
