"""Write layers to a GeoPackage that is byte-identical from run to run."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from twin.ingest.spec import BY_NAME

# GDAL's names for the OGC types of the layer contract; GEOMETRY layers hold mixed types.
GDAL_TYPES = {
    "POINT": "Point",
    "LINESTRING": "LineString",
    "POLYGON": "Polygon",
    "MULTIPOLYGON": "MultiPolygon",
    "GEOMETRY": "Unknown",
}
# GeoPackage records a last-change time per table; fixing it keeps the file identical across builds.
FIXED_DATE = "2026-01-01T00:00:00.000Z"


def write_gpkg(path: Path, frames: dict[str, gpd.GeoDataFrame | pd.DataFrame]) -> Path:
    """One layer per table, in the given order; an existing file is replaced."""
    path.unlink(missing_ok=True)
    previous = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": FIXED_DATE})
    try:
        for table, frame in frames.items():
            kind = BY_NAME[table].geometry
            options = {"geometry_type": GDAL_TYPES[kind], "promote_to_multi": False} if kind else {}
            pyogrio.write_dataframe(frame, path, layer=table, driver="GPKG", **options)
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": previous})
    return path
