"""Ground heights from a DEM GeoTIFF (rasterio) at points given in another CRS (pyproj)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import rasterio

from twin.crs import transformer
from twin.pipes.network import XY


class Dem:
    """A DEM read once into memory; `heights` samples it bilinearly, None outside it or on no-data."""

    def __init__(self, path: Path | str, srid: int) -> None:
        with rasterio.open(path) as src:
            band = src.read(1, masked=True).astype("float64")
            self.values = band.filled(np.nan)
            self.inverse = ~src.transform
        self.srid = srid

    def heights(self, points: Sequence[XY], srid: int) -> list[float | None]:
        if not points:
            return []
        xs = np.array([p[0] for p in points], dtype="float64")
        ys = np.array([p[1] for p in points], dtype="float64")
        if srid != self.srid:
            xs, ys = transformer(srid, self.srid).transform(xs, ys)
        return [self._bilinear(float(x), float(y)) for x, y in zip(xs, ys, strict=True)]

    def _bilinear(self, x: float, y: float) -> float | None:
        col, row = self.inverse @ (x, y)
        c, r = col - 0.5, row - 0.5  # cell centres
        c0, r0 = math.floor(c), math.floor(r)
        rows, cols = self.values.shape
        if c0 < -1 or r0 < -1 or c0 >= cols or r0 >= rows:
            return None
        c0, r0 = min(max(c0, 0), cols - 2), min(max(r0, 0), rows - 2)
        fc, fr = min(max(c - c0, 0.0), 1.0), min(max(r - r0, 0.0), 1.0)
        window = self.values[r0 : r0 + 2, c0 : c0 + 2]
        if np.isnan(window).any():
            return None
        top = window[0, 0] * (1 - fc) + window[0, 1] * fc
        bottom = window[1, 0] * (1 - fc) + window[1, 1] * fc
        return float(top * (1 - fr) + bottom * fr)
