"""Read a delivery into layers: GeoPackage, Shapefile (file or folder) and GeoJSON, via pyogrio/GDAL."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
from pyproj import CRS

from twin.errors import ImportRejected

VECTOR_SUFFIXES = {".gpkg", ".shp", ".geojson", ".json"}


@dataclass
class RawLayer:
    """A layer as read: its name, features and declared CRS (None when the file declares none)."""

    name: str
    frame: gpd.GeoDataFrame | pd.DataFrame
    crs: CRS | None
    has_geometry: bool


def read_layers(path: Path, *, encoding: str | None = None) -> list[RawLayer]:
    """Every layer of the file or folder at `path`."""
    if not path.exists():
        raise ImportRejected(f"{path} does not exist")
    if path.is_dir():
        shapefiles = sorted(path.glob("*.shp"))
        if not shapefiles:
            raise ImportRejected(f"{path} is a folder without Shapefiles")
        return [_read_one(shp, None, shp.stem, encoding) for shp in shapefiles]
    suffix = path.suffix.lower()
    if suffix not in VECTOR_SUFFIXES:
        raise ImportRejected(
            f"{path.name}: unsupported file type {suffix!r}; "
            f"allowed: {', '.join(sorted(VECTOR_SUFFIXES))}, .tif (DEM)"
        )
    if suffix == ".gpkg":
        names = [str(row[0]) for row in _list_layers(path)]
        return [_read_one(path, name, name, encoding) for name in names]
    return [_read_one(path, None, path.stem, encoding)]


def _list_layers(path: Path) -> list[list[str]]:
    try:
        return [list(r) for r in pyogrio.list_layers(path)]
    except Exception as exc:  # GDAL reports unreadable files with many exception types
        raise ImportRejected(f"{path.name} cannot be read as a GeoPackage: {exc}") from exc


def _read_one(path: Path, layer: str | None, name: str, encoding: str | None) -> RawLayer:
    if path.suffix.lower() == ".shp":
        encoding = encoding or shapefile_encoding(path)
    try:
        frame = pyogrio.read_dataframe(path, layer=layer, encoding=encoding, on_invalid="raise")
    except Exception as exc:
        raise ImportRejected(f"cannot be read: {exc}", layer=name) from exc
    has_geometry = isinstance(frame, gpd.GeoDataFrame) and frame.geometry.name in frame.columns
    crs = frame.crs if has_geometry else None
    return RawLayer(name=name, frame=frame, crs=crs, has_geometry=has_geometry)


def shapefile_encoding(shp: Path) -> str:
    """The .cpg's encoding, else UTF-8 when the .dbf decodes as such, else GBK (Chinese surveys)."""
    cpg = shp.with_suffix(".cpg")
    if cpg.exists():
        return cpg.read_text(errors="replace").strip() or "UTF-8"
    dbf = shp.with_suffix(".dbf")
    if not dbf.exists():
        return "UTF-8"
    data = dbf.read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return "GB18030"  # a superset of GBK, so every GBK file decodes
    return "UTF-8"
