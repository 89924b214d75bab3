"""A local east-north-up frame in metres (z up) and its ENU→ECEF matrix for a 3D Tiles `transform`.

Vertices stay small float32 numbers around the frame's origin (no jitter); the tileset's root transform
carries them to Earth-centred coordinates. Heights are taken as ellipsoidal: the DEM and building base
elevations are orthometric, and the geoid separation (tens of metres in China) is left out on purpose so
that every layer of a scene stays consistent with the others; a viewer with its own terrain sees the
scene floating or sunk by that separation.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray
from pyproj import Transformer

from twin.crs import transformer

Array = NDArray[np.float64]


@lru_cache(maxsize=1)
def _to_ecef() -> Transformer:
    return Transformer.from_crs(4979, 4978, always_xy=True)


@lru_cache(maxsize=1)
def _to_geodetic() -> Transformer:
    return Transformer.from_crs(4978, 4979, always_xy=True)


@dataclass(frozen=True)
class Frame:
    """ENU at (lon, lat, h): x east, y north, z up, in metres."""

    lon: float
    lat: float
    h: float = 0.0

    @property
    def origin(self) -> Array:
        x, y, z = _to_ecef().transform(self.lon, self.lat, self.h)
        return np.array([x, y, z], dtype="float64")

    @property
    def rotation(self) -> Array:
        """Rows east, north, up as ECEF unit vectors."""
        lam, phi = np.radians(self.lon), np.radians(self.lat)
        sl, cl, sp, cp = np.sin(lam), np.cos(lam), np.sin(phi), np.cos(phi)
        return np.array([[-sl, cl, 0.0], [-sp * cl, -sp * sl, cp], [cp * cl, cp * sl, sp]])

    def transform(self) -> list[float]:
        """The ENU→ECEF 4×4 matrix, column-major (columns east, north, up, origin) as 3D Tiles wants."""
        r, o = self.rotation, self.origin
        cols = [*r[0], 0.0, *r[1], 0.0, *r[2], 0.0, *o, 1.0]
        return [float(v) for v in cols]

    def from_lonlat(self, lon: Array, lat: Array, h: Array) -> Array:
        """(N, 3) ENU coordinates of geodetic points (degrees, metres)."""
        x, y, z = _to_ecef().transform(np.asarray(lon), np.asarray(lat), np.asarray(h))
        ecef = np.column_stack([x, y, z]) - self.origin
        return ecef @ self.rotation.T

    def from_crs(self, srid: int, x: Array, y: Array, h: Array) -> Array:
        """(N, 3) ENU coordinates of points given in another CRS (e.g. the campus metric CRS)."""
        if srid == 4326:
            return self.from_lonlat(x, y, h)
        lon, lat = transformer(srid, 4326).transform(np.asarray(x), np.asarray(y))
        return self.from_lonlat(lon, lat, h)

    def to_lonlat(self, enu: Array) -> Array:
        """(N, 3) lon, lat, h of ENU points."""
        ecef = np.asarray(enu) @ self.rotation + self.origin
        lon, lat, h = _to_geodetic().transform(ecef[:, 0], ecef[:, 1], ecef[:, 2])
        return np.column_stack([lon, lat, h])


def region(west: float, south: float, east: float, north: float, low: float, high: float) -> list[float]:
    """A 3D Tiles bounding `region`: EPSG:4979 in radians, heights in metres."""
    return [float(np.radians(v)) for v in (west, south, east, north)] + [float(low), float(high)]
