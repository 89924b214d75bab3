"""Bus incidents written by the geofences (overspeed, deviation, late, offline, enter, exit).

Revision ID: 0016
Revises: 0013

The stats branch (0014) creates the same `bus_incidents` table with kinds overspeed/deviation/late; when
it is already there this revision only widens the kinds, else it creates the table in the same shape.
Written by the bus ingest in volume: school-scoped, not audited row by row.
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

from twin.db.rls import scope_table_sql, unscope_table_sql
from twin.db.types import LTree
from twin.models.live import BUS_INCIDENT_KINDS

revision = "0016"
down_revision = "0013"
branch_labels = None
depends_on = None

STATS_KINDS = ("overspeed", "deviation", "late")


def _exists() -> bool:
    return sa.inspect(op.get_bind()).has_table("bus_incidents")


def upgrade() -> None:
    if _exists():
        op.drop_constraint("ck_bus_incidents_kind_known", "bus_incidents", type_="check")
        op.create_check_constraint(
            "ck_bus_incidents_kind_known", "bus_incidents", f"kind IN {BUS_INCIDENT_KINDS}"
        )
        return
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
    for statement in scope_table_sql("bus_incidents", audit=False):
        op.execute(statement)


def downgrade() -> None:
    # Back to the stats kinds would fail on rows of the new kinds; this revision's table goes entirely.
    for statement in unscope_table_sql("bus_incidents"):
        op.execute(statement)
    op.drop_geospatial_index(
        "idx_bus_incidents_geom", table_name="bus_incidents", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("bus_incidents")
