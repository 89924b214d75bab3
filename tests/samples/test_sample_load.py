"""The sample campus lands whole: every layer counted, every geometry valid in 4326, every building served."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pyogrio
import pytest

from twin.config import Settings
from twin.db.engine import sync_engine
from twin.db.provision import libpq_dsn
from twin.ingest.spec import LAYERS
from twin.samples import SampleFiles
from twin.samples.loading import load_sample


@pytest.fixture(scope="module")
def db(sample_db: Settings) -> psycopg.Connection:
    return psycopg.connect(libpq_dsn(sample_db.db.sync_url()))


def test_every_layer_is_stored_with_all_its_features(
    db: psycopg.Connection, sample_files: SampleFiles
) -> None:
    in_file = {
        name: pyogrio.read_info(sample_files.gpkg, layer=name)["features"]
        for name, *_ in pyogrio.list_layers(sample_files.gpkg)
    }
    assert set(in_file) == {spec.table for spec in LAYERS}
    for table, n in in_file.items():
        stored = db.execute(f"SELECT count(*) FROM {table}").fetchone()
        if table == "org_units":
            assert stored == (4,)  # province, city, county, school
        else:
            assert stored == (n,), table
    assert db.execute("SELECT count(*) FROM buildings").fetchone()[0] >= 20  # type: ignore[index]
    assert db.execute("SELECT count(DISTINCT utility) FROM pipe_segments").fetchone() == (6,)


def test_every_geometry_is_valid_and_in_4326(db: psycopg.Connection) -> None:
    columns = db.execute(
        "SELECT f_table_name, f_geometry_column FROM geometry_columns"
        " WHERE f_table_schema = 'public' AND f_table_name NOT LIKE 'positions%'"
    ).fetchall()
    for table, column in columns:
        bad = db.execute(
            f"SELECT count(*) FROM {table} WHERE {column} IS NOT NULL"
            f" AND (NOT ST_IsValid({column}) OR ST_SRID({column}) <> 4326)"
        ).fetchone()
        assert bad == (0,), table


def test_every_building_is_served_by_water_and_power(db: psycopg.Connection) -> None:
    unserved = db.execute(
        "SELECT b.code, u.utility FROM buildings b CROSS JOIN (VALUES ('water'), ('power')) u(utility)"
        " WHERE NOT EXISTS (SELECT 1 FROM service_connections s WHERE s.building_id = b.id"
        " AND s.utility = u.utility)"
    ).fetchall()
    assert unserved == []


def test_campus_sits_near_luoyang_with_its_metric_crs_and_dem(db: psycopg.Connection) -> None:
    path, srid, lon, lat = db.execute(
        "SELECT org_path::text, metric_srid, ST_X(ST_Centroid(boundary)), ST_Y(ST_Centroid(boundary))"
        " FROM campuses WHERE code = 'LY01'"
    ).fetchone()  # type: ignore[misc]
    assert path == "410000.410300.410311.4103110001"
    assert srid == 4546
    assert (lon, lat) == pytest.approx((112.45, 34.62), abs=0.01)
    dem, covers = db.execute(
        "SELECT r.path, ST_Covers(r.extent, c.boundary) FROM campus_rasters r JOIN campuses c ON c.id = r.campus_id"
        " WHERE r.kind = 'dem'"
    ).fetchone()  # type: ignore[misc]
    assert covers and Path(dem).is_file()


def test_valves_include_normally_closed_and_inoperable_ones(db: psycopg.Connection) -> None:
    closed, inoperable = db.execute(
        "SELECT count(*) FILTER (WHERE normal_position = 'closed'), count(*) FILTER (WHERE NOT operable) FROM valves"
    ).fetchone()  # type: ignore[misc]
    assert closed > 0 and inoperable > 0


def test_loading_the_sample_again_changes_nothing(
    sample_db: Settings, sample_files: SampleFiles, db: psycopg.Connection
) -> None:
    before = db.execute("SELECT count(*) FROM pipe_segments").fetchone()
    engine = sync_engine(sample_db.db)
    try:
        assert load_sample(engine, sample_files, paths=sample_db.paths) is False
    finally:
        engine.dispose()
    assert db.execute("SELECT count(*) FROM pipe_segments").fetchone() == before
