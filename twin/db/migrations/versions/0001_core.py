"""Org tree, campuses, people and transport.

Revision ID: 0001
Revises: None
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

from twin.db.types import LTree

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.execute("CREATE EXTENSION IF NOT EXISTS ltree")
    op.create_geospatial_table(
        "org_units",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("path", LTree(), nullable=False),
        sa.Column("enrolment", sa.Integer(), nullable=True),
        sa.Column(
            "boundary",
            Geometry(
                geometry_type="MULTIPOLYGON",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
            ),
            nullable=True,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "level = 'school' OR code ~ '^[0-9]{6}$'", name=op.f("ck_org_units_admin_code_6_digits")
        ),
        sa.CheckConstraint(
            "level IN ('province', 'city', 'county', 'school')", name=op.f("ck_org_units_level_known")
        ),
        sa.CheckConstraint(
            "boundary IS NULL OR (ST_IsValid(boundary) AND NOT ST_IsEmpty(boundary) AND ST_SRID(boundary) = 4326)",
            name=op.f("ck_org_units_boundary_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["org_units.id"],
            name=op.f("fk_org_units_parent_id_org_units"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_org_units")),
        sa.UniqueConstraint("code", name=op.f("uq_org_units_code")),
        sa.UniqueConstraint("path", name=op.f("uq_org_units_path")),
    )
    op.create_geospatial_index(
        "idx_org_units_boundary",
        "org_units",
        ["boundary"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index("ix_org_units_path", "org_units", ["path"], unique=False, postgresql_using="gist")
    op.create_geospatial_table(
        "campuses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_path", LTree(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=True),
        sa.Column("metric_srid", sa.Integer(), nullable=False),
        sa.Column(
            "boundary",
            Geometry(
                geometry_type="MULTIPOLYGON",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "boundary IS NULL OR (ST_IsValid(boundary) AND NOT ST_IsEmpty(boundary) AND ST_SRID(boundary) = 4326)",
            name=op.f("ck_campuses_boundary_valid"),
        ),
        sa.CheckConstraint(
            "metric_srid BETWEEN 2000 AND 900913", name=op.f("ck_campuses_metric_srid_plausible")
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["org_units.id"], name=op.f("fk_campuses_school_id_org_units"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campuses")),
        sa.UniqueConstraint("code", name=op.f("uq_campuses_code")),
    )
    op.create_geospatial_index(
        "idx_campuses_boundary",
        "campuses",
        ["boundary"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index("ix_campuses_org_path", "campuses", ["org_path"], unique=False, postgresql_using="gist")
    op.create_geospatial_table(
        "buildings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_path", LTree(), nullable=False),
        sa.Column("campus_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("use", sa.String(length=32), nullable=False),
        sa.Column("floors", sa.Integer(), nullable=False),
        sa.Column("height_m", sa.Double(), nullable=False),
        sa.Column("base_elev_m", sa.Double(), nullable=False),
        sa.Column("year_built", sa.Integer(), nullable=True),
        sa.Column("occupancy", sa.Integer(), nullable=True),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="POLYGON",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "use IN ('teaching', 'dormitory', 'canteen', 'laboratory', 'gym', 'library', 'admin', 'boiler', 'auditorium', 'clinic', 'guardhouse', 'utility', 'other')",
            name=op.f("ck_buildings_use_known"),
        ),
        sa.CheckConstraint("floors >= 1 AND floors < 200", name=op.f("ck_buildings_floors_plausible")),
        sa.CheckConstraint(
            "geom IS NULL OR (ST_IsValid(geom) AND NOT ST_IsEmpty(geom) AND ST_SRID(geom) = 4326)",
            name=op.f("ck_buildings_geom_valid"),
        ),
        sa.CheckConstraint("height_m > 0 AND height_m < 1000", name=op.f("ck_buildings_height_plausible")),
        sa.ForeignKeyConstraint(
            ["campus_id"], ["campuses.id"], name=op.f("fk_buildings_campus_id_campuses"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_buildings")),
        sa.UniqueConstraint("campus_id", "code", name=op.f("uq_buildings_campus_id_code")),
    )
    op.create_geospatial_index(
        "idx_buildings_geom", "buildings", ["geom"], unique=False, postgresql_using="gist", postgresql_ops={}
    )
    op.create_index(op.f("ix_buildings_campus_id"), "buildings", ["campus_id"], unique=False)
    op.create_index("ix_buildings_org_path", "buildings", ["org_path"], unique=False, postgresql_using="gist")
    op.create_geospatial_table(
        "bus_routes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_path", LTree(), nullable=False),
        sa.Column("campus_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="LINESTRING",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "geom IS NULL OR (ST_IsValid(geom) AND NOT ST_IsEmpty(geom) AND ST_SRID(geom) = 4326)",
            name=op.f("ck_bus_routes_geom_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["campus_id"], ["campuses.id"], name=op.f("fk_bus_routes_campus_id_campuses"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bus_routes")),
        sa.UniqueConstraint("campus_id", "code", name=op.f("uq_bus_routes_campus_id_code")),
    )
    op.create_geospatial_index(
        "idx_bus_routes_geom",
        "bus_routes",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index(op.f("ix_bus_routes_campus_id"), "bus_routes", ["campus_id"], unique=False)
    op.create_index(
        "ix_bus_routes_org_path", "bus_routes", ["org_path"], unique=False, postgresql_using="gist"
    )
    op.create_geospatial_table(
        "campus_rasters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_path", LTree(), nullable=False),
        sa.Column("campus_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("srid", sa.Integer(), nullable=False),
        sa.Column("resolution_m", sa.Double(), nullable=False),
        sa.Column(
            "extent",
            Geometry(
                geometry_type="POLYGON",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.CheckConstraint(
            "extent IS NULL OR (ST_IsValid(extent) AND NOT ST_IsEmpty(extent) AND ST_SRID(extent) = 4326)",
            name=op.f("ck_campus_rasters_extent_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["campus_id"],
            ["campuses.id"],
            name=op.f("fk_campus_rasters_campus_id_campuses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campus_rasters")),
        sa.UniqueConstraint("campus_id", "kind", name=op.f("uq_campus_rasters_campus_id_kind")),
    )
    op.create_geospatial_index(
        "idx_campus_rasters_extent",
        "campus_rasters",
        ["extent"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index(
        "ix_campus_rasters_org_path", "campus_rasters", ["org_path"], unique=False, postgresql_using="gist"
    )
    op.create_geospatial_table(
        "grounds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_path", LTree(), nullable=False),
        sa.Column("campus_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column(
            "geom",
            Geometry(
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "kind IN ('road', 'walkway', 'sports_field', 'green', 'gate', 'assembly_point', 'parking', 'water')",
            name=op.f("ck_grounds_kind_known"),
        ),
        sa.CheckConstraint(
            "geom IS NULL OR (ST_IsValid(geom) AND NOT ST_IsEmpty(geom) AND ST_SRID(geom) = 4326)",
            name=op.f("ck_grounds_geom_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["campus_id"], ["campuses.id"], name=op.f("fk_grounds_campus_id_campuses"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grounds")),
    )
    op.create_geospatial_index(
        "idx_grounds_geom", "grounds", ["geom"], unique=False, postgresql_using="gist", postgresql_ops={}
    )
    op.create_index(op.f("ix_grounds_campus_id"), "grounds", ["campus_id"], unique=False)
    op.create_index("ix_grounds_org_path", "grounds", ["org_path"], unique=False, postgresql_using="gist")
    op.create_geospatial_table(
        "bus_stops",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_path", LTree(), nullable=False),
        sa.Column("route_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("scheduled_min", sa.Integer(), nullable=True),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "geom IS NULL OR (ST_IsValid(geom) AND NOT ST_IsEmpty(geom) AND ST_SRID(geom) = 4326)",
            name=op.f("ck_bus_stops_geom_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["route_id"], ["bus_routes.id"], name=op.f("fk_bus_stops_route_id_bus_routes"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bus_stops")),
        sa.UniqueConstraint("route_id", "sequence", name=op.f("uq_bus_stops_route_id_sequence")),
    )
    op.create_geospatial_index(
        "idx_bus_stops_geom", "bus_stops", ["geom"], unique=False, postgresql_using="gist", postgresql_ops={}
    )
    op.create_index("ix_bus_stops_org_path", "bus_stops", ["org_path"], unique=False, postgresql_using="gist")
    op.create_index(op.f("ix_bus_stops_route_id"), "bus_stops", ["route_id"], unique=False)
    op.create_table(
        "people",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_path", LTree(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=True),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("route_id", sa.Integer(), nullable=True),
        sa.Column("stop_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "role IN ('staff', 'teacher', 'student', 'parent', 'guard', 'driver')",
            name=op.f("ck_people_role_known"),
        ),
        sa.ForeignKeyConstraint(
            ["route_id"], ["bus_routes.id"], name=op.f("fk_people_route_id_bus_routes"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["stop_id"], ["bus_stops.id"], name=op.f("fk_people_stop_id_bus_stops"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_people")),
        sa.UniqueConstraint("code", name=op.f("uq_people_code")),
    )
    op.create_index("ix_people_org_path", "people", ["org_path"], unique=False, postgresql_using="gist")
    op.create_table(
        "guardians",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_path", LTree(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.Column("relation", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["people.id"], name=op.f("fk_guardians_parent_id_people"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["student_id"], ["people.id"], name=op.f("fk_guardians_student_id_people"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_guardians")),
        sa.UniqueConstraint("parent_id", "student_id", name=op.f("uq_guardians_parent_id_student_id")),
    )
    op.create_index("ix_guardians_org_path", "guardians", ["org_path"], unique=False, postgresql_using="gist")
    op.create_table(
        "vehicles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_path", LTree(), nullable=False),
        sa.Column("campus_id", sa.Integer(), nullable=False),
        sa.Column("plate", sa.String(length=16), nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("route_id", sa.Integer(), nullable=True),
        sa.Column("capacity", sa.Integer(), nullable=True),
        sa.Column("driver_id", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["campus_id"], ["campuses.id"], name=op.f("fk_vehicles_campus_id_campuses"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["driver_id"], ["people.id"], name=op.f("fk_vehicles_driver_id_people"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["route_id"], ["bus_routes.id"], name=op.f("fk_vehicles_route_id_bus_routes"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vehicles")),
        sa.UniqueConstraint("device_id", name=op.f("uq_vehicles_device_id")),
        sa.UniqueConstraint("plate", name=op.f("uq_vehicles_plate")),
    )
    op.create_index(op.f("ix_vehicles_campus_id"), "vehicles", ["campus_id"], unique=False)
    op.create_index("ix_vehicles_org_path", "vehicles", ["org_path"], unique=False, postgresql_using="gist")
    op.create_geospatial_table(
        "positions",
        sa.Column("vehicle_id", sa.Integer(), nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("org_path", LTree(), nullable=False),
        sa.Column("speed_kmh", sa.Double(), nullable=True),
        sa.Column("heading", sa.Double(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.CheckConstraint(
            "geom IS NULL OR (ST_IsValid(geom) AND NOT ST_IsEmpty(geom) AND ST_SRID(geom) = 4326)",
            name=op.f("ck_positions_geom_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["vehicle_id"], ["vehicles.id"], name=op.f("fk_positions_vehicle_id_vehicles"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("vehicle_id", "time", name=op.f("pk_positions")),
        postgresql_partition_by="RANGE (time)",
    )
    op.create_geospatial_index(
        "idx_positions_geom", "positions", ["geom"], unique=False, postgresql_using="gist", postgresql_ops={}
    )
    op.create_index("ix_positions_org_path", "positions", ["org_path"], unique=False, postgresql_using="gist")
    op.create_index("ix_positions_time", "positions", ["time"], unique=False)
    op.execute(ENSURE_MONTH_PARTITION)
    # Partitions around the migration date; live ingest creates later months as it needs them.
    op.execute(
        "SELECT twin_ensure_month_partition('positions', m) FROM generate_series("
        "date_trunc('month', now()) - interval '12 months', date_trunc('month', now()) + interval '12 months',"
        " interval '1 month') AS m"
    )


def downgrade() -> None:
    op.drop_index("ix_positions_time", table_name="positions")
    op.drop_index("ix_positions_org_path", table_name="positions", postgresql_using="gist")
    op.drop_geospatial_index(
        "idx_positions_geom", table_name="positions", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("positions")
    op.drop_index("ix_vehicles_org_path", table_name="vehicles", postgresql_using="gist")
    op.drop_index(op.f("ix_vehicles_campus_id"), table_name="vehicles")
    op.drop_table("vehicles")
    op.drop_index("ix_guardians_org_path", table_name="guardians", postgresql_using="gist")
    op.drop_table("guardians")
    op.drop_index("ix_people_org_path", table_name="people", postgresql_using="gist")
    op.drop_table("people")
    op.drop_index(op.f("ix_bus_stops_route_id"), table_name="bus_stops")
    op.drop_index("ix_bus_stops_org_path", table_name="bus_stops", postgresql_using="gist")
    op.drop_geospatial_index(
        "idx_bus_stops_geom", table_name="bus_stops", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("bus_stops")
    op.drop_index("ix_grounds_org_path", table_name="grounds", postgresql_using="gist")
    op.drop_index(op.f("ix_grounds_campus_id"), table_name="grounds")
    op.drop_geospatial_index(
        "idx_grounds_geom", table_name="grounds", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("grounds")
    op.drop_index("ix_campus_rasters_org_path", table_name="campus_rasters", postgresql_using="gist")
    op.drop_geospatial_index(
        "idx_campus_rasters_extent",
        table_name="campus_rasters",
        postgresql_using="gist",
        column_name="extent",
    )
    op.drop_geospatial_table("campus_rasters")
    op.drop_index("ix_bus_routes_org_path", table_name="bus_routes", postgresql_using="gist")
    op.drop_index(op.f("ix_bus_routes_campus_id"), table_name="bus_routes")
    op.drop_geospatial_index(
        "idx_bus_routes_geom", table_name="bus_routes", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("bus_routes")
    op.drop_index("ix_buildings_org_path", table_name="buildings", postgresql_using="gist")
    op.drop_index(op.f("ix_buildings_campus_id"), table_name="buildings")
    op.drop_geospatial_index(
        "idx_buildings_geom", table_name="buildings", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("buildings")
    op.drop_index("ix_campuses_org_path", table_name="campuses", postgresql_using="gist")
    op.drop_geospatial_index(
        "idx_campuses_boundary", table_name="campuses", postgresql_using="gist", column_name="boundary"
    )
    op.drop_geospatial_table("campuses")
    op.drop_index("ix_org_units_path", table_name="org_units", postgresql_using="gist")
    op.drop_geospatial_index(
        "idx_org_units_boundary", table_name="org_units", postgresql_using="gist", column_name="boundary"
    )
    op.drop_geospatial_table("org_units")
    op.execute("DROP FUNCTION IF EXISTS twin_ensure_month_partition(regclass, timestamptz)")


ENSURE_MONTH_PARTITION = """
CREATE OR REPLACE FUNCTION twin_ensure_month_partition(parent regclass, ts timestamptz)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    lo timestamptz := date_trunc('month', ts AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
    name text := parent::text || '_' || to_char(lo AT TIME ZONE 'UTC', 'YYYY_MM');
BEGIN
    IF to_regclass(name) IS NULL THEN
        EXECUTE format('CREATE TABLE %I PARTITION OF %s FOR VALUES FROM (%L) TO (%L)',
                       name, parent, lo, lo + interval '1 month');
    END IF;
    RETURN name;
END $$;
"""
