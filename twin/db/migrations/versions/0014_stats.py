"""Drills, safety-education sessions and bus incidents, counted by the statistics (twin.stats).

Revision ID: 0014
Revises: 0013

All three belong to a school and carry its org path, so the one scope rule filters them. Drills and
sessions are edited by people (version bump, audit trail); bus incidents are written by the bus tracking
in volume and not audited row by row. Enrolment for the per-1,000-students rates is `org_units.enrolment`
(migration 0001).
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

from twin.db.rls import scope_table_sql, unscope_table_sql
from twin.db.types import LTree
from twin.models.activities import DRILL_TYPES, EDUCATION_TYPES

BUS_INCIDENT_KINDS = ("overspeed", "deviation", "late")  # frozen here: 0016 adds the geofences' kinds

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

HELD = {"drills": DRILL_TYPES, "education_sessions": EDUCATION_TYPES}
TABLES = (*HELD, "bus_incidents")
WRITE_GRANTS = {
    "admin": TABLES,
    "safety_officer": tuple(HELD),
    "leader": tuple(HELD),
}


def upgrade() -> None:
    for table, types in HELD.items():
        _held(table, types)
    _bus_incidents()
    for table in TABLES:
        for statement in scope_table_sql(table, audit=table != "bus_incidents"):
            op.execute(statement)
    for table in HELD:
        op.execute(f"GRANT USAGE, SELECT ON SEQUENCE {table}_id_seq TO twin_app, twin_app_all")
        op.execute(
            f"CREATE TRIGGER version_bump BEFORE UPDATE ON {table}"
            " FOR EACH ROW EXECUTE FUNCTION twin_version_bump()"
        )
    op.bulk_insert(
        sa.table("write_grants", sa.column("role"), sa.column("table_name")),
        [{"role": r, "table_name": t} for r, tables in WRITE_GRANTS.items() for t in tables],
    )


def _held(table: str, types: tuple[str, ...]) -> None:
    op.create_table(
        table,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_path", LTree(), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("participants", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(f"type IN {types}", name=op.f(f"ck_{table}_type_known")),
        sa.CheckConstraint("participants >= 0", name=op.f(f"ck_{table}_participants_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
    )
    op.create_index(f"ix_{table}_org_path", table, ["org_path"], postgresql_using="gist")
    op.create_index(f"ix_{table}_held_on", table, ["held_on"])


def _bus_incidents() -> None:
    op.create_geospatial_table(
        "bus_incidents",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("org_path", LTree(), nullable=False),
        sa.Column("vehicle_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
            ),
            nullable=True,
        ),
        sa.CheckConstraint(f"kind IN {BUS_INCIDENT_KINDS}", name=op.f("ck_bus_incidents_kind_known")),
        sa.CheckConstraint(
            "geom IS NULL OR (ST_IsValid(geom) AND NOT ST_IsEmpty(geom) AND ST_SRID(geom) = 4326)",
            name=op.f("ck_bus_incidents_geom_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["vehicle_id"],
            ["vehicles.id"],
            name=op.f("fk_bus_incidents_vehicle_id_vehicles"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bus_incidents")),
    )
    op.create_geospatial_index(
        "idx_bus_incidents_geom", "bus_incidents", ["geom"], postgresql_using="gist", postgresql_ops={}
    )
    op.create_index("ix_bus_incidents_org_path", "bus_incidents", ["org_path"], postgresql_using="gist")
    op.create_index(
        "ix_bus_incidents_geom_org_path", "bus_incidents", ["geom", "org_path"], postgresql_using="gist"
    )
    op.create_index("ix_bus_incidents_at", "bus_incidents", ["at"])


def downgrade() -> None:
    op.execute(
        "DELETE FROM write_grants WHERE table_name IN ('drills', 'education_sessions', 'bus_incidents')"
    )
    for table in TABLES:
        for statement in unscope_table_sql(table):
            op.execute(statement)
    op.drop_geospatial_index(
        "idx_bus_incidents_geom", table_name="bus_incidents", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("bus_incidents")
    for table in HELD:
        op.drop_table(table)
