"""Excavation plans: stored, school-owned, under the scope rule; maintenance crews and admins write them.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

from twin.db.rls import APP_ROLE, WHOLE_ROLE, scope_table_sql, unscope_table_sql
from twin.db.types import LTree

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

WRITERS = ("admin", "maintenance")
UTILITIES = "('water', 'drainage', 'gas', 'power', 'telecom', 'heat')"


def upgrade() -> None:
    op.create_geospatial_table(
        "excavation_plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_path", LTree(), nullable=False),
        sa.Column("campus_id", sa.Integer(), nullable=False),
        sa.Column("utility", sa.String(length=16), nullable=False),
        sa.Column("segment_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("request", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("plan", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
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
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(f"utility IN {UTILITIES}", name=op.f("ck_excavation_plans_utility_known")),
        sa.CheckConstraint(
            "geom IS NULL OR (ST_IsValid(geom) AND NOT ST_IsEmpty(geom) AND ST_SRID(geom) = 4326)",
            name=op.f("ck_excavation_plans_geom_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["campus_id"],
            ["campuses.id"],
            name=op.f("fk_excavation_plans_campus_id_campuses"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["segment_id"],
            ["pipe_segments.id"],
            name=op.f("fk_excavation_plans_segment_id_pipe_segments"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_excavation_plans_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_excavation_plans")),
    )
    op.create_geospatial_index(
        "idx_excavation_plans_geom",
        "excavation_plans",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index(op.f("ix_excavation_plans_campus_id"), "excavation_plans", ["campus_id"], unique=False)
    op.create_index(
        "ix_excavation_plans_org_path",
        "excavation_plans",
        ["org_path"],
        unique=False,
        postgresql_using="gist",
    )
    for statement in scope_table_sql("excavation_plans"):
        op.execute(statement)
    op.execute(f"GRANT USAGE, SELECT ON SEQUENCE excavation_plans_id_seq TO {APP_ROLE}, {WHOLE_ROLE}")
    grants = ", ".join(f"('{role}', 'excavation_plans')" for role in WRITERS)
    op.execute(f"INSERT INTO write_grants (role, table_name) VALUES {grants}")


def downgrade() -> None:
    op.execute("DELETE FROM write_grants WHERE table_name = 'excavation_plans'")
    for statement in unscope_table_sql("excavation_plans"):
        op.execute(statement)
    op.drop_index("ix_excavation_plans_org_path", table_name="excavation_plans", postgresql_using="gist")
    op.drop_index(op.f("ix_excavation_plans_campus_id"), table_name="excavation_plans")
    op.drop_geospatial_index(
        "idx_excavation_plans_geom",
        table_name="excavation_plans",
        postgresql_using="gist",
        column_name="geom",
    )
    op.drop_geospatial_table("excavation_plans")
