"""The project's CRS policy: what is stored, what is accepted, what is returned, and how to convert.

* Storage is EPSG:4326 with coordinates in lon/lat order (:data:`STORAGE_SRID`). CGCS2000 (EPSG:4490) is
  within centimetres of it, so it is not stored separately.
* Input is accepted in CRS84, EPSG:4326, EPSG:4490, the CGCS2000 3-degree Gauss-Krüger zones
  (EPSG:4513-4554), EPSG:3857 and GCJ-02 (the Chinese web-map offset, only when named explicitly).
* Output is CRS84 unless the client asks for one of the CRSs above (OGC API Features Part 2).
* Metric work happens in a per-campus projected CRS; :func:`metric_srid_for` picks the CGCS2000 GK zone.

Geometries handled here always carry x = longitude/easting and y = latitude/northing ("traditional GIS
order", like ``always_xy=True`` in pyproj), whatever the authority's axis order is.
:attr:`CrsSpec.northing_first` tells the HTTP layer when a client's coordinates must be swapped
(:func:`swap_xy`) to honour the authority order, e.g. ``EPSG:4326`` in OGC API Features Part 2.

Everything here is pure: no database, no I/O. ``pyproj.Transformer`` objects are thread-safe since
pyproj 3.1, so the cached ones are shared.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Final, overload

import numpy as np
import pyproj
import shapely
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry

__all__ = [
    "ACCEPTED_SRIDS",
    "CRS84",
    "CRS84_URI",
    "GCJ02",
    "GCJ02_URI",
    "GK_CM_SRIDS",
    "GK_ZONE_SRIDS",
    "STORAGE",
    "STORAGE_SRID",
    "CoordinateRangeError",
    "CrsSpec",
    "UnknownCrsError",
    "check_lonlat",
    "epsg_uri",
    "from_storage",
    "gcj02_to_wgs84",
    "metric_srid_for",
    "parse_crs",
    "swap_xy",
    "to_storage",
    "transformer",
    "wgs84_to_gcj02",
]

STORAGE_SRID: Final = 4326
"""SRID of every geometry column: WGS 84, coordinates stored lon/lat."""

GCJ02: Final = "GCJ-02"
"""Name of the Chinese web-map offset coordinate system (no EPSG code exists for it)."""

CRS84_URI: Final = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG_URI_PREFIX: Final = "http://www.opengis.net/def/crs/EPSG/0/"
GCJ02_URI: Final = "urn:x-campus-twin:crs:GCJ-02"
"""GCJ-02 has no OGC or EPSG identifier; this project-local URN names it in API output."""

GK_ZONE_SRIDS: Final = range(4513, 4534)
"""CGCS2000 3-degree Gauss-Krüger zones 25-45, eastings prefixed with the zone number (38 500 000...)."""
GK_CM_SRIDS: Final = range(4534, 4555)
"""CGCS2000 3-degree Gauss-Krüger "CM" variants, CM 75E (4534) to CM 135E (4554), false easting 500 000."""
ACCEPTED_SRIDS: Final = frozenset({4326, 4490, 3857, *GK_ZONE_SRIDS, *GK_CM_SRIDS})

# China's extent used for the metric-zone choice (longitudes of the outermost GK zones' edges).
_CHINA_LON_MIN: Final = 73.5
_CHINA_LON_MAX: Final = 135.5
# The rough bounding box of China used by the GCJ-02 reference code: outside it GCJ-02 leaves coordinates
# unchanged; its latitudes also bound the metric-zone choice.
_GCJ_LON_MIN: Final = 72.004
_GCJ_LON_MAX: Final = 137.8347
_GCJ_LAT_MIN: Final = 0.8293
_GCJ_LAT_MAX: Final = 55.8271

FloatArray = NDArray[np.float64]
_PairFunc = Callable[[FloatArray, FloatArray], tuple[FloatArray, FloatArray]]


class UnknownCrsError(ValueError):
    """A CRS identifier that is not one of the accepted input/output CRSs."""


class CoordinateRangeError(ValueError):
    """A coordinate that is not a finite lon/lat inside [-180, 180] × [-90, 90]."""


@dataclass(frozen=True, slots=True)
class CrsSpec:
    """One accepted CRS.

    ``srid`` is the EPSG code (4326 for CRS84 too) or ``None`` for GCJ-02; ``uri`` is the identifier to
    put in OGC API responses (``Content-Crs``, ``storageCrs``); ``northing_first`` is True when the
    authority's first axis points north (EPSG:4326/4490 are lat/lon, the GK zones northing/easting), which
    only matters where a client exchanges coordinates in authority order.
    """

    srid: int | None
    uri: str
    northing_first: bool
    gcj02: bool = False

    @property
    def label(self) -> str:
        """Short human-readable name, e.g. ``EPSG:4546``, ``OGC:CRS84`` or ``GCJ-02``."""
        if self.gcj02:
            return GCJ02
        if self.uri == CRS84_URI:
            return "OGC:CRS84"
        return f"EPSG:{self.srid}"


def epsg_uri(srid: int) -> str:
    """The OGC URI of an EPSG code."""
    return f"{EPSG_URI_PREFIX}{srid}"


CRS84: Final = CrsSpec(srid=4326, uri=CRS84_URI, northing_first=False)
STORAGE: Final = CrsSpec(srid=STORAGE_SRID, uri=epsg_uri(STORAGE_SRID), northing_first=True)
_GCJ02_SPEC: Final = CrsSpec(srid=None, uri=GCJ02_URI, northing_first=False, gcj02=True)

_ACCEPTED_TEXT: Final = (
    "accepted: OGC:CRS84, EPSG:4326, EPSG:4490 (CGCS2000), EPSG:4513-4554 (CGCS2000 3-degree "
    "Gauss-Krüger zones), EPSG:3857, GCJ-02; as a code (4326), 'EPSG:4326', an OGC URI "
    "(http://www.opengis.net/def/crs/EPSG/0/4326, http://www.opengis.net/def/crs/OGC/1.3/CRS84) or a URN"
)

_EPSG_PATTERNS: Final = (
    re.compile(r"(\d+)", re.ASCII),
    re.compile(r"epsg:(\d+)", re.ASCII),
    re.compile(r"https?://www\.opengis\.net/def/crs/epsg/0/(\d+)", re.ASCII),
    re.compile(r"urn:ogc:def:crs:epsg:[\d.]*:(\d+)", re.ASCII),
)
_CRS84_NAMES: Final = frozenset(
    {
        "crs84",
        "ogc:crs84",
        CRS84_URI.lower(),
        CRS84_URI.lower().replace("http://", "https://"),
        "urn:ogc:def:crs:ogc:1.3:crs84",
        "urn:ogc:def:crs:ogc::crs84",
    }
)
_GCJ02_NAMES: Final = frozenset({"gcj-02", "gcj02", "gcj_02", GCJ02_URI.lower()})


@lru_cache(maxsize=64)
def _epsg_spec(srid: int) -> CrsSpec:
    axes = pyproj.CRS.from_epsg(srid).axis_info
    return CrsSpec(srid=srid, uri=epsg_uri(srid), northing_first=axes[0].direction == "north")


def parse_crs(value: str | int) -> CrsSpec:
    """Parse a CRS identifier given by a client or a file into a :class:`CrsSpec`.

    Raises :class:`UnknownCrsError` for anything outside the accepted list.
    """
    if isinstance(value, bool):  # bool is an int subclass; True is not EPSG:1
        raise UnknownCrsError(f"CRS {value!r} is not a CRS identifier; {_ACCEPTED_TEXT}")
    if isinstance(value, int):
        srid: int | None = value
    elif isinstance(value, str):
        text = value.strip().lower()
        if text in _CRS84_NAMES:
            return CRS84
        if text in _GCJ02_NAMES:
            return _GCJ02_SPEC
        srid = None
        for pattern in _EPSG_PATTERNS:
            match = pattern.fullmatch(text)
            if match:
                srid = int(match.group(1))
                break
    else:
        raise UnknownCrsError(f"CRS {value!r} is not a CRS identifier; {_ACCEPTED_TEXT}")
    if srid is None or srid not in ACCEPTED_SRIDS:
        raise UnknownCrsError(f"CRS {value!r} is not supported; {_ACCEPTED_TEXT}")
    return _epsg_spec(srid)


def metric_srid_for(lon: float, lat: float) -> int:
    """The CGCS2000 3-degree Gauss-Krüger "CM" zone (EPSG:4534-4554) whose central meridian is nearest.

    EPSG:4534 is CM 75E, each next code 3 degrees further east, EPSG:4554 is CM 135E. Raises ValueError
    for a point outside China (lon 73.5-135.5, lat 0.8293-55.8271), where a UTM zone is the right choice.
    """
    if not (math.isfinite(lon) and math.isfinite(lat)):
        raise ValueError(f"lon/lat must be finite numbers, got ({lon}, {lat})")
    if not (_CHINA_LON_MIN <= lon <= _CHINA_LON_MAX and _GCJ_LAT_MIN <= lat <= _GCJ_LAT_MAX):
        raise ValueError(
            f"({lon}, {lat}) is outside China (lon {_CHINA_LON_MIN}-{_CHINA_LON_MAX}, "
            f"lat {_GCJ_LAT_MIN}-{_GCJ_LAT_MAX}); CGCS2000 Gauss-Krüger zones do not apply, use a UTM zone"
        )
    index = math.floor((lon - 75.0) / 3.0 + 0.5)  # nearest central meridian, ties go east
    return GK_CM_SRIDS.start + min(max(index, 0), len(GK_CM_SRIDS) - 1)


@lru_cache(maxsize=128)
def transformer(src: int, dst: int) -> pyproj.Transformer:
    """A cached pyproj transformer between two EPSG codes, x = lon/easting, y = lat/northing."""
    return pyproj.Transformer.from_crs(f"EPSG:{src}", f"EPSG:{dst}", always_xy=True)


# --- GCJ-02 ---------------------------------------------------------------------------------------------
# pyproj/PROJ has no GCJ-02 (it is an obfuscation, not a geodetic CRS), so this is the one place where
# hand-written coordinate math is justified. Forward: the well-known public algorithm (Krasovsky 1940
# ellipsoid and the transformLat/transformLon polynomials). Inverse: fixed-point iteration to < 1e-7 deg.

_KRASOVSKY_A: Final = 6378245.0
_KRASOVSKY_EE: Final = 0.00669342162296594323
_GCJ_INVERSE_TOLERANCE: Final = 1e-12  # degrees; well below the 1e-7 promised
_GCJ_INVERSE_MAX_ITERATIONS: Final = 30


def _in_gcj_box(lon: FloatArray, lat: FloatArray) -> NDArray[np.bool_]:
    return (lon >= _GCJ_LON_MIN) & (lon <= _GCJ_LON_MAX) & (lat >= _GCJ_LAT_MIN) & (lat <= _GCJ_LAT_MAX)


def _gcj_delta(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """GCJ-02 offset (dlon, dlat) in degrees at a WGS 84 position, without the bounding-box test."""
    x = lon - 105.0
    y = lat - 35.0
    pi = np.pi
    common = (20.0 * np.sin(6.0 * x * pi) + 20.0 * np.sin(2.0 * x * pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x)) + common
    dlat += (20.0 * np.sin(y * pi) + 40.0 * np.sin(y / 3.0 * pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * pi) + 320.0 * np.sin(y * pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x)) + common
    dlon += (20.0 * np.sin(x * pi) + 40.0 * np.sin(x / 3.0 * pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(x / 12.0 * pi) + 300.0 * np.sin(x / 30.0 * pi)) * 2.0 / 3.0
    radlat = lat / 180.0 * pi
    magic = 1.0 - _KRASOVSKY_EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_KRASOVSKY_A * (1.0 - _KRASOVSKY_EE)) / (magic * sqrtmagic) * pi)
    dlon = (dlon * 180.0) / (_KRASOVSKY_A / sqrtmagic * np.cos(radlat) * pi)
    return dlon, dlat


def _forward(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    dlon, dlat = _gcj_delta(lon, lat)
    inside = _in_gcj_box(lon, lat)
    return np.where(inside, lon + dlon, lon), np.where(inside, lat + dlat, lat)


def _inverse(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    # Solve wgs + delta(wgs) = gcj by fixed-point iteration wgs <- gcj - delta(wgs); delta varies by
    # ~1e-3 of a degree per degree, so every step gains about three digits.
    inside = _in_gcj_box(lon, lat)
    wlon, wlat = lon.copy(), lat.copy()
    for _ in range(_GCJ_INVERSE_MAX_ITERATIONS):
        dlon, dlat = _gcj_delta(wlon, wlat)
        nlon, nlat = lon - dlon, lat - dlat
        change = np.maximum(np.abs(nlon - wlon), np.abs(nlat - wlat))
        wlon, wlat = nlon, nlat
        if not np.any(inside & (change > _GCJ_INVERSE_TOLERANCE)):
            break
    return np.where(inside, wlon, lon), np.where(inside, wlat, lat)


@overload
def wgs84_to_gcj02(lon: float, lat: float) -> tuple[float, float]: ...
@overload
def wgs84_to_gcj02(
    lon: FloatArray | list[float], lat: FloatArray | list[float]
) -> tuple[FloatArray, FloatArray]: ...
def wgs84_to_gcj02(
    lon: float | FloatArray | list[float], lat: float | FloatArray | list[float]
) -> tuple[float, float] | tuple[FloatArray, FloatArray]:
    """WGS 84 lon/lat to GCJ-02 lon/lat; scalars or arrays. Outside China the input is returned unchanged."""
    return _apply(_forward, lon, lat)


@overload
def gcj02_to_wgs84(lon: float, lat: float) -> tuple[float, float]: ...
@overload
def gcj02_to_wgs84(
    lon: FloatArray | list[float], lat: FloatArray | list[float]
) -> tuple[FloatArray, FloatArray]: ...
def gcj02_to_wgs84(
    lon: float | FloatArray | list[float], lat: float | FloatArray | list[float]
) -> tuple[float, float] | tuple[FloatArray, FloatArray]:
    """GCJ-02 lon/lat to WGS 84 lon/lat, exact to < 1e-7 degrees; scalars or arrays."""
    return _apply(_inverse, lon, lat)


def _apply(
    func: _PairFunc, lon: float | FloatArray | list[float], lat: float | FloatArray | list[float]
) -> tuple[float, float] | tuple[FloatArray, FloatArray]:
    alon = np.asarray(lon, dtype=np.float64)
    alat = np.asarray(lat, dtype=np.float64)
    scalar = alon.ndim == 0 and alat.ndim == 0
    alon, alat = np.broadcast_arrays(alon, alat)
    rlon, rlat = func(alon, alat)
    if scalar:
        return float(rlon), float(rlat)
    return rlon, rlat


# --- geometries -------------------------------------------------------------------------------------------


def _transform_xy(geom: BaseGeometry, func: _PairFunc) -> BaseGeometry:
    """Apply ``func`` to x/y of every coordinate at once; z, where present, is kept unchanged."""

    def xyz(x: FloatArray, y: FloatArray, z: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        nx, ny = func(x, y)
        return np.asarray(nx, dtype=np.float64), np.asarray(ny, dtype=np.float64), z

    result: BaseGeometry = shapely.transform(geom, xyz, include_z=True, interleaved=False)
    return result


def _pyproj_pair(src: int, dst: int) -> _PairFunc:
    trans = transformer(src, dst)

    def run(x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
        nx, ny = trans.transform(x, y)
        return np.asarray(nx, dtype=np.float64), np.asarray(ny, dtype=np.float64)

    return run


def to_storage(geom: BaseGeometry, crs: CrsSpec) -> BaseGeometry:
    """Convert a geometry given in ``crs`` (x = lon/easting, y = lat/northing) to storage lon/lat.

    Raises :class:`CoordinateRangeError` when the result is not a valid lon/lat (e.g. easting and
    northing given in the wrong CRS), so nothing out of range is ever stored.
    """
    if crs.gcj02:
        result = _transform_xy(geom, _inverse)
    elif crs.srid is None or crs.srid == STORAGE_SRID:
        result = geom
    else:
        result = _transform_xy(geom, _pyproj_pair(crs.srid, STORAGE_SRID))
    check_lonlat(result)
    return result


def from_storage(geom: BaseGeometry, crs: CrsSpec) -> BaseGeometry:
    """Convert a stored lon/lat geometry to ``crs`` for output (x = lon/easting, y = lat/northing)."""
    if crs.gcj02:
        return _transform_xy(geom, _forward)
    if crs.srid is None or crs.srid == STORAGE_SRID:
        return geom
    return _transform_xy(geom, _pyproj_pair(STORAGE_SRID, crs.srid))


def swap_xy(geom: BaseGeometry) -> BaseGeometry:
    """Swap x and y of every coordinate (authority lat/lon or northing/easting <-> x/y order)."""
    return _transform_xy(geom, lambda x, y: (y, x))


def check_lonlat(geom: BaseGeometry) -> None:
    """Raise :class:`CoordinateRangeError` naming the first coordinate that is not a valid lon/lat."""
    coords = shapely.get_coordinates(geom)
    if coords.size == 0:
        return
    x, y = coords[:, 0], coords[:, 1]
    ok = np.isfinite(x) & np.isfinite(y) & (np.abs(x) <= 180.0) & (np.abs(y) <= 90.0)
    if ok.all():
        return
    i = int(np.argmin(ok))
    raise CoordinateRangeError(
        f"coordinate {i + 1} ({float(x[i])}, {float(y[i])}) is out of range: not a longitude/latitude in "
        "[-180, 180] × [-90, 90]; "
        "is it projected (give its CRS) or in lat/lon order (send lon/lat)?"
    )
