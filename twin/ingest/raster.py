"""Register a campus DEM: checked with rasterio, copied under the data directory, recorded in the database."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import rasterio
from geoalchemy2.shape import from_shape
from pyproj import CRS
from rasterio.errors import RasterioIOError
from shapely.geometry import box
from sqlalchemy import Connection, delete, insert

from twin.config import PathSettings
from twin.crs import parse_crs, to_storage
from twin.errors import ImportRejected
from twin.ingest.writer import campus_target
from twin.models import CampusRaster


def register_dem(conn: Connection, path: Path, campus: str, paths: PathSettings) -> Path:
    """Store the DEM for `campus` and return where it was copied; the row commits with `conn`."""
    srid, resolution, extent = _inspect(path)
    campus_id, org_path = campus_target(conn, campus)
    target = paths.data_dir / "rasters" / campus / "dem.tif"
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_suffix(".tif.part")
    shutil.copyfile(path, staging)
    conn.execute(delete(CampusRaster).where(CampusRaster.campus_id == campus_id, CampusRaster.kind == "dem"))
    conn.execute(
        insert(CampusRaster).values(
            campus_id=campus_id,
            org_path=org_path,
            kind="dem",
            path=str(target),
            srid=srid,
            resolution_m=resolution,
            extent=from_shape(extent, srid=4326),
        )
    )
    os.replace(staging, target)  # atomic: readers never see a half-copied file
    return target


def _inspect(path: Path) -> tuple[int, float, object]:
    try:
        with rasterio.open(path) as src:
            if src.crs is None:
                raise ImportRejected("the DEM declares no CRS", layer=path.name)
            epsg = CRS.from_user_input(src.crs.to_wkt()).to_epsg()
            if epsg is None:
                raise ImportRejected(f"the DEM's CRS has no EPSG code: {src.crs}", layer=path.name)
            spec = parse_crs(epsg)
            if src.count < 1:
                raise ImportRejected("the DEM has no band", layer=path.name)
            band = src.read(1, masked=True)
            if band.count() == 0 or not np.isfinite(band.compressed()).all():
                raise ImportRejected("the DEM has no finite elevations", layer=path.name)
            res = float(max(abs(src.res[0]), abs(src.res[1])))
            if not CRS.from_epsg(epsg).is_projected:
                raise ImportRejected("the DEM must be in a projected CRS with metre cells", layer=path.name)
            extent = to_storage(box(*src.bounds), spec)
            return epsg, res, extent
    except RasterioIOError as exc:
        raise ImportRejected(f"not a readable GeoTIFF: {exc}", layer=path.name) from exc
