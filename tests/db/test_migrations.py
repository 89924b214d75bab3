"""The schema comes only from migrations: up, down and up again; what the models declare is what exists."""

from __future__ import annotations

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine

from twin.config import Settings
from twin.db import migrate
from twin.db.provision import libpq_dsn
from twin.models import Base

GEOMETRY_TABLES = {
    "org_units",
    "campuses",
    "buildings",
    "grounds",
    "campus_rasters",
    "pipe_nodes",
    "pipe_segments",
    "valves",
    "service_connections",
    "risk_points",
    "risk_zones",
    "hazards",
    "incidents",
    "inspections",
    "sensors",
    "alerts",
    "bus_routes",
    "bus_stops",
    "positions",
    "feature_versions",
    "excavation_plans",
    "bus_incidents",
    "gates",
    "patrol_routes",
    "patrol_checkpoints",
    "patrol_visits",
}


def connect(settings: Settings) -> psycopg.Connection:
    return psycopg.connect(libpq_dsn(settings.db.sync_url()), autocommit=True)


def test_models_and_migrations_declare_the_same_schema(fresh_db: Settings) -> None:
    engine = create_engine(fresh_db.db.sync_url())
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"include_object": _ours})
        diff = compare_metadata(ctx, Base.metadata)
    engine.dispose()
    assert diff == []


def _ours(obj, name, type_, reflected, compare_to):  # type: ignore[no-untyped-def]
    from twin.db.migrations_filter import include_object

    return include_object(obj, name, type_, reflected, compare_to)


def test_every_geometry_column_is_4326_and_gist_indexed(fresh_db: Settings) -> None:
    with connect(fresh_db) as conn:
        columns = conn.execute(
            "SELECT f_table_name, f_geometry_column, srid FROM geometry_columns"
            " WHERE f_table_schema = 'public'"
            " AND f_table_name NOT IN (SELECT relname FROM pg_class WHERE relispartition)"
        ).fetchall()
        gist = {
            (t, c)
            for t, c in conn.execute(
                "SELECT t.relname, a.attname FROM pg_index x"
                " JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_am am ON am.oid = i.relam"
                " JOIN pg_class t ON t.oid = x.indrelid"
                " JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = ANY(x.indkey)"
                " WHERE am.amname = 'gist'"
            ).fetchall()
        }
    assert {t for t, _, _ in columns} == GEOMETRY_TABLES
    for table, column, srid in columns:
        assert srid == 4326, f"{table}.{column}"
        assert (table, column) in gist, f"{table}.{column} has no GiST index"


def test_downgrade_to_base_removes_everything_and_upgrade_restores_it(fresh_db: Settings) -> None:
    migrate.downgrade(fresh_db.db, "base")
    with connect(fresh_db) as conn:
        left = conn.execute(
            "SELECT relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND relname <> 'spatial_ref_sys'"
            " AND relname <> 'alembic_version'"
        ).fetchall()
    assert left == []
    migrate.upgrade(fresh_db.db)
    assert migrate.current(fresh_db.db) == migrate_head()


def migrate_head() -> str:
    from alembic.script import ScriptDirectory

    from twin.config import DatabaseSettings

    head = ScriptDirectory.from_config(migrate.alembic_config(DatabaseSettings())).get_current_head()
    assert head is not None
    return head


SCHOOL = "INSERT INTO org_units (code, name, level, path) VALUES ('4103110001', 'S', 'school', '41.4103.410311.4103110001')"
CAMPUS = (
    "INSERT INTO campuses (org_path, school_id, code, name, metric_srid, boundary) SELECT path, id, 'C1', 'C', 4546,"
    " ST_GeomFromText('MULTIPOLYGON(((112.44 34.61, 112.46 34.61, 112.46 34.63, 112.44 34.61)))', 4326)"
    " FROM org_units"
)


@pytest.mark.parametrize(
    ("wkt", "srid", "message"),
    [
        (
            "POLYGON((112.45 34.62, 112.46 34.63, 112.46 34.62, 112.45 34.63, 112.45 34.62))",
            4326,
            "ck_buildings_geom_valid",
        ),
        ("POLYGON((112.45 34.62, 112.46 34.62, 112.46 34.63, 112.45 34.62))", 4490, "SRID"),
        ("LINESTRING(112.45 34.62, 112.46 34.62)", 4326, "Geometry type"),
    ],
    ids=["self-intersecting ring", "CGCS2000 SRID", "line in a polygon column"],
)
def test_database_refuses_bad_geometries(fresh_db: Settings, wkt: str, srid: int, message: str) -> None:
    with connect(fresh_db) as conn:
        conn.execute(SCHOOL)
        conn.execute(CAMPUS)
        with pytest.raises(psycopg.Error, match=message):
            conn.execute(
                "INSERT INTO buildings (org_path, campus_id, code, name, use, floors, height_m, base_elev_m, geom)"
                " SELECT org_path, id, 'B1', 'B', 'teaching', 4, 14, 150, ST_GeomFromText(%s, %s) FROM campuses",
                (wkt, srid),
            )
        assert conn.execute("SELECT count(*) FROM buildings").fetchone() == (0,)


def test_positions_land_in_the_partition_of_their_month(fresh_db: Settings) -> None:
    with connect(fresh_db) as conn:
        conn.execute(SCHOOL)
        conn.execute(CAMPUS)
        conn.execute(
            "INSERT INTO vehicles (org_path, campus_id, plate, device_id) SELECT org_path, id, 'P', 'D' FROM campuses"
        )
        conn.execute("SELECT twin_ensure_month_partition('positions', '2031-03-15T08:00:00Z')")
        conn.execute(
            "INSERT INTO positions (vehicle_id, time, org_path, geom) SELECT v.id, '2031-03-15T08:00:00Z', v.org_path,"
            " ST_SetSRID(ST_MakePoint(112.45, 34.62), 4326) FROM vehicles v"
        )
        assert conn.execute("SELECT count(*) FROM positions_2031_03").fetchone() == (1,)
        assert conn.execute("SELECT count(*) FROM positions").fetchone() == (1,)
