"""Where a generated campus sits: its identity, its metric CRS and the local-metre frame it is drawn in.

Every campus is drawn once in local metres (origin at the south-west corner of the site, x east, y north)
and then placed: shifted onto whole metres of its Gauss-Krüger zone (so the 1 m DEM cells line up with the
local grid) and transformed to EPSG:4326 for storage.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray

from twin.crs import metric_srid_for, transformer

WIDTH_M = 400.0
HEIGHT_M = 300.0
STORAGE_SRID = 4326
# 1e-9 degree is about 0.1 mm: rounding keeps output stable without moving anything visibly.
LONLAT_DECIMALS = 9


@dataclass(frozen=True)
class Site:
    """The identity of one generated campus and the school that owns it."""

    campus_code: str
    campus_name: str
    school_code: str
    school_name: str
    county_code: str
    address: str
    lon: float  # centre of the campus
    lat: float
    enrolment: int = 2400
    person_prefix: str = ""  # people codes are unique across schools, so they carry the school's prefix
    device_prefix: str = "SN-"  # sensor device ids are unique across the platform
    plate_prefix: str = "豫C·"
    plate_serial: int = 161001  # letter number 16 (S) and 1001: the first bus is 豫C·S1001
    terminal_start: int = 13803790001  # 12-digit JT/T 808 terminal numbers, zero-padded
    elevation_offset_m: float = 0.0  # shifts every height of the template (province mode has no DEM)

    @property
    def metric_srid(self) -> int:
        return metric_srid_for(self.lon, self.lat)


@dataclass(frozen=True)
class Frame:
    """Local metres -> metric CRS (a whole-metre shift) -> EPSG:4326."""

    metric_srid: int
    origin_e: float  # metric coordinates of local (0, 0), whole metres
    origin_n: float

    @classmethod
    def for_site(cls, site: Site) -> Frame:
        srid = site.metric_srid
        e, n = transformer(STORAGE_SRID, srid).transform(site.lon, site.lat)
        return cls(srid, float(round(e - WIDTH_M / 2)), float(round(n - HEIGHT_M / 2)))

    def lonlat_array(self, xy: NDArray[np.float64]) -> NDArray[np.float64]:
        """Local (n, 2) coordinates to rounded lon/lat."""
        lon, lat = transformer(self.metric_srid, STORAGE_SRID).transform(
            xy[:, 0] + self.origin_e, xy[:, 1] + self.origin_n
        )
        return np.round(np.column_stack([lon, lat]), LONLAT_DECIMALS)

    def to_lonlat(self, geoms: list[Any]) -> list[Any]:
        """Transform many local geometries at once (None stays None); one pyproj call per batch."""
        array = np.array(geoms, dtype=object)
        mask = np.array([g is not None for g in geoms], dtype=bool)
        if mask.any():
            array[mask] = shapely.transform(array[mask], self.lonlat_array)
        return list(array)
