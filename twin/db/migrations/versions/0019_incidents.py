"""Bullying and violence incidents and their follow-up steps (twin.incidents).

Revision ID: 0019
Revises: 0016

Both tables belong to a school and carry its org path, so the one scope rule filters them; which roles
see an incident's details (safety officers, leaders, admins) is the application's (incidents.yaml), the
jurisdiction the database's. Staff who may report (maintenance too) may insert; the follow-up steps are
append-only. `incidents` keeps a version for ETags and the audit trail like the other edited tables.
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

from twin.db.rls import ROLES, scope_table_sql, unscope_table_sql
from twin.db.types import LTree

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

STATES = ("reported", "investigating", "confirmed", "dismissed", "intervening", "closed")
TABLES = ("incidents", "incident_transitions")
WRITERS = ("admin", "leader", "safety_officer", "maintenance")
APPS = ", ".join(ROLES)


def upgrade() -> None:
    _incidents()
    _transitions()
    for table in TABLES:
        for statement in scope_table_sql(table, audit=table == "incidents"):
            op.execute(statement)
    op.execute(f"GRANT USAGE, SELECT ON SEQUENCE incidents_id_seq TO {APPS}")
    # The follow-up record is history: the server adds steps and never rewrites them.
    op.execute(f"REVOKE UPDATE, DELETE ON incident_transitions FROM {APPS}")
    op.execute(
        "CREATE TRIGGER version_bump BEFORE UPDATE ON incidents FOR EACH ROW EXECUTE FUNCTION twin_version_bump()"
    )
    op.bulk_insert(
        sa.table("write_grants", sa.column("role"), sa.column("table_name")),
        [{"role": r, "table_name": t} for r in WRITERS for t in TABLES],
    )


def _incidents() -> None:
    op.create_geospatial_table(
        "incidents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_path", LTree(), nullable=False),
        sa.Column("campus_id", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("place_kind", sa.String(length=32), nullable=False),
        sa.Column("building_id", sa.Integer(), nullable=True),
        sa.Column("floor", sa.Integer(), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reported_by", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=24), server_default="reported", nullable=False),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column(
            "involved",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
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
        sa.CheckConstraint("jsonb_typeof(involved) = 'array'", name=op.f("ck_incidents_involved_is_list")),
        sa.CheckConstraint(f"state IN {STATES}", name=op.f("ck_incidents_state_known")),
        sa.CheckConstraint(
            "floor IS NULL OR floor BETWEEN -10 AND 200", name=op.f("ck_incidents_floor_plausible")
        ),
        sa.CheckConstraint(
            "geom IS NULL OR (ST_IsValid(geom) AND NOT ST_IsEmpty(geom) AND ST_SRID(geom) = 4326)",
            name=op.f("ck_incidents_geom_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["building_id"],
            ["buildings.id"],
            name=op.f("fk_incidents_building_id_buildings"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["campus_id"], ["campuses.id"], name=op.f("fk_incidents_campus_id_campuses"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
    )
    op.create_geospatial_index(
        "idx_incidents_geom", "incidents", ["geom"], unique=False, postgresql_using="gist", postgresql_ops={}
    )
    op.create_index(op.f("ix_incidents_campus_id"), "incidents", ["campus_id"], unique=False)
    op.create_index("ix_incidents_geom_org_path", "incidents", ["geom", "org_path"], postgresql_using="gist")
    op.create_index("ix_incidents_occurred_at", "incidents", ["occurred_at"], unique=False)
    op.create_index("ix_incidents_org_path", "incidents", ["org_path"], postgresql_using="gist")


def _transitions() -> None:
    op.create_table(
        "incident_transitions",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("org_path", LTree(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("from_state", sa.String(length=24), nullable=True),
        sa.Column("to_state", sa.String(length=24), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("role", sa.String(length=32), nullable=True),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("clock_timestamp()"), nullable=False
        ),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_transitions")),
    )
    op.create_index("ix_incident_transitions_incident_id", "incident_transitions", ["incident_id"])
    op.create_index(
        "ix_incident_transitions_org_path", "incident_transitions", ["org_path"], postgresql_using="gist"
    )


def downgrade() -> None:
    op.execute(f"DELETE FROM write_grants WHERE table_name IN {TABLES}")
    op.execute("DROP TRIGGER IF EXISTS version_bump ON incidents")
    for table in TABLES:
        for statement in unscope_table_sql(table):
            op.execute(statement)
    op.drop_table("incident_transitions")
    op.drop_geospatial_index(
        "idx_incidents_geom", table_name="incidents", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("incidents")
