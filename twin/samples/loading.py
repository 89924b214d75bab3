"""Put the sample campus (and province-size datasets) into the database."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import geopandas as gpd
import pandas as pd
from sqlalchemy import Engine, select, text

from twin.config import PathSettings
from twin.ingest import import_into, validated_layers
from twin.ingest.raster import register_dem
from twin.ingest.reader import RawLayer
from twin.ingest.spec import BY_NAME
from twin.ingest.validate import Row, clean_rows
from twin.models import Campus
from twin.samples.activities import seed_activities
from twin.samples.family import seed_family

if TYPE_CHECKING:
    from twin.samples import SampleFiles

SAMPLE_CAMPUS = "LY01"


def load_sample(
    engine: Engine, files: SampleFiles, *, replace: bool = False, paths: PathSettings | None = None
) -> bool:
    """Load the sample GeoPackage and DEM in one transaction; False when it was already stored."""
    layers = validated_layers(files.gpkg, None, None)
    with engine.begin() as conn:
        stored = conn.execute(select(Campus.id).where(Campus.code == SAMPLE_CAMPUS)).first()
        if stored and not replace:
            return False
        import_into(conn, layers, replace=replace)
        register_dem(conn, files.dem, SAMPLE_CAMPUS, paths or PathSettings())
        school = conn.execute(select(Campus.org_path).where(Campus.code == SAMPLE_CAMPUS)).scalar_one()
        seed_activities(conn, str(school))
        seed_family(conn, SAMPLE_CAMPUS, str(school))
    return True


def load_province(
    engine: Engine, n_schools: int, *, seed: int, progress: Callable[[int], None] | None = None
) -> int:
    """Build `n_schools` schools in the database, a chunk per transaction; returns schools stored.

    The same validation as `twin load` applies to every generated row. Generated rows are not audited
    (twin.bulk, honoured only for the owner's sessions).
    """
    from twin.samples.province import province_chunks

    done = 0
    for chunk in province_chunks(n_schools, seed):
        with engine.begin() as conn:
            conn.execute(text("SET LOCAL twin.bulk = 'on'"))
            for code in chunk.campuses["code"]:
                # Each campus comes with its org units (parents first) and its campus row.
                layers = {name: _clean(name, frame) for name, frame in chunk.for_campus(str(code)).items()}
                import_into(conn, layers, campus=str(code))
        done += len(chunk.campuses)
        if progress:
            progress(done)
    with engine.begin() as conn:  # drills and sessions for every new school, set-based, once
        for root in conn.execute(text("SELECT path FROM org_units WHERE parent_id IS NULL")).scalars():
            seed_activities(conn, str(root))
    return done


def _clean(name: str, frame: gpd.GeoDataFrame | pd.DataFrame) -> list[Row]:
    spatial = isinstance(frame, gpd.GeoDataFrame) and frame.geometry.name in frame.columns
    raw = RawLayer(name=name, frame=frame, crs=frame.crs if spatial else None, has_geometry=spatial)
    return clean_rows(raw, BY_NAME[name], None)
