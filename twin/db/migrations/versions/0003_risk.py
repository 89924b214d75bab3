"""Risk points and zones, inspections, hazards.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

from twin.db.types import LTree

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_geospatial_table(
        "risk_zones",
        sa.Column("campus_id", sa.Integer(), nullable=False),
        sa.Column("building_id", sa.Integer(), nullable=True),
        sa.Column("responsible_person_id", sa.Integer(), nullable=True),
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
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_path", LTree(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("accident_types", postgresql.ARRAY(sa.String(length=8)), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("method", sa.String(length=4), nullable=True),
        sa.Column("inputs", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("score", sa.Double(), nullable=True),
        sa.Column("level", sa.Integer(), nullable=True),
        sa.Column("dynamic", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("measures", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("control_level", sa.String(length=32), nullable=True),
        sa.Column("floor", sa.Integer(), nullable=True),
        sa.Column("review_date", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "category IN ('fire', 'buildings', 'laboratory', 'canteen', 'dormitory', 'traffic', 'sports', 'utilities', 'crowd', 'events', 'drowning', 'bullying', 'security', 'natural_disaster', 'epidemic')",
            name=op.f("ck_risk_zones_category_known"),
        ),
        sa.CheckConstraint(
            "method IS NULL OR method IN ('LS', 'LEC')", name=op.f("ck_risk_zones_method_known")
        ),
        sa.CheckConstraint(
            "geom IS NULL OR (ST_IsValid(geom) AND NOT ST_IsEmpty(geom) AND ST_SRID(geom) = 4326)",
            name=op.f("ck_risk_zones_geom_valid"),
        ),
        sa.CheckConstraint("level IS NULL OR level BETWEEN 1 AND 4", name=op.f("ck_risk_zones_level_1_to_4")),
        sa.ForeignKeyConstraint(
            ["building_id"],
            ["buildings.id"],
            name=op.f("fk_risk_zones_building_id_buildings"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["campus_id"], ["campuses.id"], name=op.f("fk_risk_zones_campus_id_campuses"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["responsible_person_id"],
            ["people.id"],
            name=op.f("fk_risk_zones_responsible_person_id_people"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_zones")),
        sa.UniqueConstraint("campus_id", "code", name=op.f("uq_risk_zones_campus_id_code")),
    )
    op.create_geospatial_index(
        "idx_risk_zones_geom",
        "risk_zones",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index(op.f("ix_risk_zones_campus_id"), "risk_zones", ["campus_id"], unique=False)
    op.create_index(
        "ix_risk_zones_org_path", "risk_zones", ["org_path"], unique=False, postgresql_using="gist"
    )
    op.create_geospatial_table(
        "risk_points",
        sa.Column("campus_id", sa.Integer(), nullable=False),
        sa.Column("zone_id", sa.Integer(), nullable=True),
        sa.Column("building_id", sa.Integer(), nullable=True),
        sa.Column("responsible_person_id", sa.Integer(), nullable=True),
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
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_path", LTree(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("accident_types", postgresql.ARRAY(sa.String(length=8)), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("method", sa.String(length=4), nullable=True),
        sa.Column("inputs", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("score", sa.Double(), nullable=True),
        sa.Column("level", sa.Integer(), nullable=True),
        sa.Column("dynamic", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("measures", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("control_level", sa.String(length=32), nullable=True),
        sa.Column("floor", sa.Integer(), nullable=True),
        sa.Column("review_date", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "category IN ('fire', 'buildings', 'laboratory', 'canteen', 'dormitory', 'traffic', 'sports', 'utilities', 'crowd', 'events', 'drowning', 'bullying', 'security', 'natural_disaster', 'epidemic')",
            name=op.f("ck_risk_points_category_known"),
        ),
        sa.CheckConstraint(
            "method IS NULL OR method IN ('LS', 'LEC')", name=op.f("ck_risk_points_method_known")
        ),
        sa.CheckConstraint(
            "geom IS NULL OR (ST_IsValid(geom) AND NOT ST_IsEmpty(geom) AND ST_SRID(geom) = 4326)",
            name=op.f("ck_risk_points_geom_valid"),
        ),
        sa.CheckConstraint(
            "level IS NULL OR level BETWEEN 1 AND 4", name=op.f("ck_risk_points_level_1_to_4")
        ),
        sa.ForeignKeyConstraint(
            ["building_id"],
            ["buildings.id"],
            name=op.f("fk_risk_points_building_id_buildings"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["campus_id"], ["campuses.id"], name=op.f("fk_risk_points_campus_id_campuses"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["responsible_person_id"],
            ["people.id"],
            name=op.f("fk_risk_points_responsible_person_id_people"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["zone_id"],
            ["risk_zones.id"],
            name=op.f("fk_risk_points_zone_id_risk_zones"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_points")),
        sa.UniqueConstraint("campus_id", "code", name=op.f("uq_risk_points_campus_id_code")),
    )
    op.create_geospatial_index(
        "idx_risk_points_geom",
        "risk_points",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index(op.f("ix_risk_points_campus_id"), "risk_points", ["campus_id"], unique=False)
    op.create_index(
        "ix_risk_points_org_path", "risk_points", ["org_path"], unique=False, postgresql_using="gist"
    )
    op.create_geospatial_table(
        "inspections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_path", LTree(), nullable=False),
        sa.Column("campus_id", sa.Integer(), nullable=False),
        sa.Column("risk_point_id", sa.Integer(), nullable=True),
        sa.Column("frequency", sa.String(length=32), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_by_id", sa.Integer(), nullable=True),
        sa.Column("result", sa.String(length=32), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
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
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "geom IS NULL OR (ST_IsValid(geom) AND NOT ST_IsEmpty(geom) AND ST_SRID(geom) = 4326)",
            name=op.f("ck_inspections_geom_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["campus_id"], ["campuses.id"], name=op.f("fk_inspections_campus_id_campuses"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["done_by_id"], ["people.id"], name=op.f("fk_inspections_done_by_id_people"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["risk_point_id"],
            ["risk_points.id"],
            name=op.f("fk_inspections_risk_point_id_risk_points"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspections")),
    )
    op.create_geospatial_index(
        "idx_inspections_geom",
        "inspections",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index(op.f("ix_inspections_campus_id"), "inspections", ["campus_id"], unique=False)
    op.create_index(
        "ix_inspections_org_path", "inspections", ["org_path"], unique=False, postgresql_using="gist"
    )
    op.create_geospatial_table(
        "hazards",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_path", LTree(), nullable=False),
        sa.Column("campus_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("grade", sa.String(length=8), nullable=True),
        sa.Column("state", sa.String(length=24), server_default="reported", nullable=False),
        sa.Column("found_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("found_by_id", sa.Integer(), nullable=True),
        sa.Column("building_id", sa.Integer(), nullable=True),
        sa.Column("floor", sa.Integer(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("photos", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("measures", sa.Text(), nullable=True),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=True),
        sa.Column("responsible_department", sa.String(length=100), nullable=True),
        sa.Column("responsible_person_id", sa.Integer(), nullable=True),
        sa.Column("funds_cny", sa.Double(), nullable=True),
        sa.Column("rectified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("accepted_by_id", sa.Integer(), nullable=True),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("risk_point_id", sa.Integer(), nullable=True),
        sa.Column("inspection_id", sa.Integer(), nullable=True),
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
            "category IN ('fire', 'buildings', 'laboratory', 'canteen', 'dormitory', 'traffic', 'sports', 'utilities', 'crowd', 'events', 'drowning', 'bullying', 'security', 'natural_disaster', 'epidemic')",
            name=op.f("ck_hazards_category_known"),
        ),
        sa.CheckConstraint(
            "grade IS NULL OR grade IN ('general', 'major')", name=op.f("ck_hazards_grade_known")
        ),
        sa.CheckConstraint(
            "state IN ('reported', 'confirmed', 'rejected', 'assigned', 'rectifying', 'deferral_requested', 'submitted', 'supervised', 'evaluated', 'accepted', 'closed')",
            name=op.f("ck_hazards_state_known"),
        ),
        sa.CheckConstraint(
            "geom IS NULL OR (ST_IsValid(geom) AND NOT ST_IsEmpty(geom) AND ST_SRID(geom) = 4326)",
            name=op.f("ck_hazards_geom_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["accepted_by_id"],
            ["people.id"],
            name=op.f("fk_hazards_accepted_by_id_people"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["building_id"],
            ["buildings.id"],
            name=op.f("fk_hazards_building_id_buildings"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["campus_id"], ["campuses.id"], name=op.f("fk_hazards_campus_id_campuses"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["found_by_id"], ["people.id"], name=op.f("fk_hazards_found_by_id_people"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["inspection_id"],
            ["inspections.id"],
            name=op.f("fk_hazards_inspection_id_inspections"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["responsible_person_id"],
            ["people.id"],
            name=op.f("fk_hazards_responsible_person_id_people"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["risk_point_id"],
            ["risk_points.id"],
            name=op.f("fk_hazards_risk_point_id_risk_points"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hazards")),
        sa.UniqueConstraint("campus_id", "number", name=op.f("uq_hazards_campus_id_number")),
    )
    op.create_geospatial_index(
        "idx_hazards_geom", "hazards", ["geom"], unique=False, postgresql_using="gist", postgresql_ops={}
    )
    op.create_index(op.f("ix_hazards_campus_id"), "hazards", ["campus_id"], unique=False)
    op.create_index("ix_hazards_org_path", "hazards", ["org_path"], unique=False, postgresql_using="gist")


def downgrade() -> None:
    op.drop_index("ix_hazards_org_path", table_name="hazards", postgresql_using="gist")
    op.drop_index(op.f("ix_hazards_campus_id"), table_name="hazards")
    op.drop_geospatial_index(
        "idx_hazards_geom", table_name="hazards", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("hazards")
    op.drop_index("ix_inspections_org_path", table_name="inspections", postgresql_using="gist")
    op.drop_index(op.f("ix_inspections_campus_id"), table_name="inspections")
    op.drop_geospatial_index(
        "idx_inspections_geom", table_name="inspections", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("inspections")
    op.drop_index("ix_risk_points_org_path", table_name="risk_points", postgresql_using="gist")
    op.drop_index(op.f("ix_risk_points_campus_id"), table_name="risk_points")
    op.drop_geospatial_index(
        "idx_risk_points_geom", table_name="risk_points", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("risk_points")
    op.drop_index("ix_risk_zones_org_path", table_name="risk_zones", postgresql_using="gist")
    op.drop_index(op.f("ix_risk_zones_campus_id"), table_name="risk_zones")
    op.drop_geospatial_index(
        "idx_risk_zones_geom", table_name="risk_zones", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("risk_zones")
