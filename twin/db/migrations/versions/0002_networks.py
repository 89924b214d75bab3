"""Pipe networks of six utilities.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

from twin.db.types import LTree

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_geospatial_table(
        "pipe_nodes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_path", LTree(), nullable=False),
        sa.Column("campus_id", sa.Integer(), nullable=False),
        sa.Column("utility", sa.String(length=16), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("ground_elev_m", sa.Double(), nullable=True),
        sa.Column("well_depth_m", sa.Double(), nullable=True),
        sa.Column("owner", sa.String(length=100), nullable=True),
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
            "kind IN ('junction', 'valve', 'hydrant', 'manhole', 'meter', 'tee', 'source', 'tank', 'plant', 'transformer', 'switch', 'regulator', 'inspection_well', 'outlet', 'end')",
            name=op.f("ck_pipe_nodes_kind_known"),
        ),
        sa.CheckConstraint(
            "utility IN ('water', 'drainage', 'gas', 'power', 'telecom', 'heat')",
            name=op.f("ck_pipe_nodes_utility_known"),
        ),
        sa.CheckConstraint(
            "geom IS NULL OR (ST_IsValid(geom) AND NOT ST_IsEmpty(geom) AND ST_SRID(geom) = 4326)",
            name=op.f("ck_pipe_nodes_geom_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["campus_id"], ["campuses.id"], name=op.f("fk_pipe_nodes_campus_id_campuses"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pipe_nodes")),
        sa.UniqueConstraint(
            "campus_id", "utility", "code", name=op.f("uq_pipe_nodes_campus_id_utility_code")
        ),
    )
    op.create_geospatial_index(
        "idx_pipe_nodes_geom",
        "pipe_nodes",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index(op.f("ix_pipe_nodes_campus_id"), "pipe_nodes", ["campus_id"], unique=False)
    op.create_index(
        "ix_pipe_nodes_org_path", "pipe_nodes", ["org_path"], unique=False, postgresql_using="gist"
    )
    op.create_geospatial_table(
        "pipe_segments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_path", LTree(), nullable=False),
        sa.Column("campus_id", sa.Integer(), nullable=False),
        sa.Column("utility", sa.String(length=16), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("start_node_id", sa.Integer(), nullable=True),
        sa.Column("end_node_id", sa.Integer(), nullable=True),
        sa.Column("start_depth_m", sa.Double(), nullable=True),
        sa.Column("end_depth_m", sa.Double(), nullable=True),
        sa.Column("depth_ref", sa.String(length=8), nullable=False),
        sa.Column("diameter_mm", sa.Double(), nullable=False),
        sa.Column("material", sa.String(length=32), nullable=True),
        sa.Column("laying", sa.String(length=32), nullable=True),
        sa.Column("pressure_class", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=8), server_default="open", nullable=False),
        sa.Column("owner", sa.String(length=100), nullable=True),
        sa.Column("year", sa.Integer(), nullable=True),
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
        sa.CheckConstraint("depth_ref IN ('top', 'invert')", name=op.f("ck_pipe_segments_depth_ref_known")),
        sa.CheckConstraint("status IN ('open', 'closed')", name=op.f("ck_pipe_segments_status_known")),
        sa.CheckConstraint(
            "utility IN ('water', 'drainage', 'gas', 'power', 'telecom', 'heat')",
            name=op.f("ck_pipe_nodes_utility_known"),
        ),
        sa.CheckConstraint(
            "diameter_mm > 0 AND diameter_mm <= 5000", name=op.f("ck_pipe_segments_diameter_plausible")
        ),
        sa.CheckConstraint(
            "end_depth_m IS NULL OR end_depth_m BETWEEN 0 AND 50",
            name=op.f("ck_pipe_segments_end_depth_plausible"),
        ),
        sa.CheckConstraint(
            "geom IS NULL OR (ST_IsValid(geom) AND NOT ST_IsEmpty(geom) AND ST_SRID(geom) = 4326)",
            name=op.f("ck_pipe_segments_geom_valid"),
        ),
        sa.CheckConstraint(
            "start_depth_m IS NULL OR start_depth_m BETWEEN 0 AND 50",
            name=op.f("ck_pipe_segments_start_depth_plausible"),
        ),
        sa.ForeignKeyConstraint(
            ["campus_id"],
            ["campuses.id"],
            name=op.f("fk_pipe_segments_campus_id_campuses"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["end_node_id"],
            ["pipe_nodes.id"],
            name=op.f("fk_pipe_segments_end_node_id_pipe_nodes"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["start_node_id"],
            ["pipe_nodes.id"],
            name=op.f("fk_pipe_segments_start_node_id_pipe_nodes"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pipe_segments")),
        sa.UniqueConstraint(
            "campus_id", "utility", "code", name=op.f("uq_pipe_segments_campus_id_utility_code")
        ),
    )
    op.create_geospatial_index(
        "idx_pipe_segments_geom",
        "pipe_segments",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index(op.f("ix_pipe_segments_campus_id"), "pipe_segments", ["campus_id"], unique=False)
    op.create_index(
        "ix_pipe_segments_org_path", "pipe_segments", ["org_path"], unique=False, postgresql_using="gist"
    )
    op.create_geospatial_table(
        "service_connections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_path", LTree(), nullable=False),
        sa.Column("campus_id", sa.Integer(), nullable=False),
        sa.Column("utility", sa.String(length=16), nullable=False),
        sa.Column("node_id", sa.Integer(), nullable=False),
        sa.Column("building_id", sa.Integer(), nullable=False),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="LINESTRING",
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
            "utility IN ('water', 'drainage', 'gas', 'power', 'telecom', 'heat')",
            name=op.f("ck_pipe_nodes_utility_known"),
        ),
        sa.CheckConstraint(
            "geom IS NULL OR (ST_IsValid(geom) AND NOT ST_IsEmpty(geom) AND ST_SRID(geom) = 4326)",
            name=op.f("ck_service_connections_geom_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["building_id"],
            ["buildings.id"],
            name=op.f("fk_service_connections_building_id_buildings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["campus_id"],
            ["campuses.id"],
            name=op.f("fk_service_connections_campus_id_campuses"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["node_id"],
            ["pipe_nodes.id"],
            name=op.f("fk_service_connections_node_id_pipe_nodes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_connections")),
        sa.UniqueConstraint(
            "node_id", "building_id", name=op.f("uq_service_connections_node_id_building_id")
        ),
    )
    op.create_geospatial_index(
        "idx_service_connections_geom",
        "service_connections",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index(
        op.f("ix_service_connections_building_id"), "service_connections", ["building_id"], unique=False
    )
    op.create_index(
        op.f("ix_service_connections_campus_id"), "service_connections", ["campus_id"], unique=False
    )
    op.create_index(
        "ix_service_connections_org_path",
        "service_connections",
        ["org_path"],
        unique=False,
        postgresql_using="gist",
    )
    op.create_geospatial_table(
        "valves",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_path", LTree(), nullable=False),
        sa.Column("campus_id", sa.Integer(), nullable=False),
        sa.Column("utility", sa.String(length=16), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("segment_id", sa.Integer(), nullable=False),
        sa.Column("node_id", sa.Integer(), nullable=False),
        sa.Column("normal_position", sa.String(length=8), server_default="open", nullable=False),
        sa.Column("operable", sa.Boolean(), server_default="true", nullable=False),
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
            "kind IN ('gate_valve', 'butterfly_valve', 'ball_valve', 'gas_valve', 'squeeze_off', 'switch', 'breaker', 'disconnector')",
            name=op.f("ck_valves_kind_known"),
        ),
        sa.CheckConstraint("normal_position IN ('open', 'closed')", name=op.f("ck_valves_position_known")),
        sa.CheckConstraint(
            "utility IN ('water', 'drainage', 'gas', 'power', 'telecom', 'heat')",
            name=op.f("ck_pipe_nodes_utility_known"),
        ),
        sa.CheckConstraint(
            "geom IS NULL OR (ST_IsValid(geom) AND NOT ST_IsEmpty(geom) AND ST_SRID(geom) = 4326)",
            name=op.f("ck_valves_geom_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["campus_id"], ["campuses.id"], name=op.f("fk_valves_campus_id_campuses"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["node_id"], ["pipe_nodes.id"], name=op.f("fk_valves_node_id_pipe_nodes"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["segment_id"],
            ["pipe_segments.id"],
            name=op.f("fk_valves_segment_id_pipe_segments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_valves")),
        sa.UniqueConstraint("campus_id", "utility", "code", name=op.f("uq_valves_campus_id_utility_code")),
    )
    op.create_geospatial_index(
        "idx_valves_geom", "valves", ["geom"], unique=False, postgresql_using="gist", postgresql_ops={}
    )
    op.create_index(op.f("ix_valves_campus_id"), "valves", ["campus_id"], unique=False)
    op.create_index("ix_valves_org_path", "valves", ["org_path"], unique=False, postgresql_using="gist")
    op.create_index(op.f("ix_valves_segment_id"), "valves", ["segment_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_valves_segment_id"), table_name="valves")
    op.drop_index("ix_valves_org_path", table_name="valves", postgresql_using="gist")
    op.drop_index(op.f("ix_valves_campus_id"), table_name="valves")
    op.drop_geospatial_index(
        "idx_valves_geom", table_name="valves", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("valves")
    op.drop_index(
        "ix_service_connections_org_path", table_name="service_connections", postgresql_using="gist"
    )
    op.drop_index(op.f("ix_service_connections_campus_id"), table_name="service_connections")
    op.drop_index(op.f("ix_service_connections_building_id"), table_name="service_connections")
    op.drop_geospatial_index(
        "idx_service_connections_geom",
        table_name="service_connections",
        postgresql_using="gist",
        column_name="geom",
    )
    op.drop_geospatial_table("service_connections")
    op.drop_index("ix_pipe_segments_org_path", table_name="pipe_segments", postgresql_using="gist")
    op.drop_index(op.f("ix_pipe_segments_campus_id"), table_name="pipe_segments")
    op.drop_geospatial_index(
        "idx_pipe_segments_geom", table_name="pipe_segments", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("pipe_segments")
    op.drop_index("ix_pipe_nodes_org_path", table_name="pipe_nodes", postgresql_using="gist")
    op.drop_index(op.f("ix_pipe_nodes_campus_id"), table_name="pipe_nodes")
    op.drop_geospatial_index(
        "idx_pipe_nodes_geom", table_name="pipe_nodes", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("pipe_nodes")
