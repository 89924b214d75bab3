"""Feature versions: every state of an editable feature, kept by triggers, for ETags, history and restore.

Revision ID: 0006
Revises: 0005

The version number of an editable row is the database's: a BEFORE UPDATE trigger sets it to the old one
plus one, so no client can forge it. An AFTER trigger (SECURITY DEFINER: the app roles may only read
`feature_versions`, never write or rewrite it) records the new state, or for a delete a tombstone holding
the last state, with the acting user (`twin.user`, set per request by `twin_begin_request`).
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

from twin.db.rls import ROLES, scope_table_sql, unscope_table_sql
from twin.db.types import LTree

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

EDITABLE = ("buildings", "pipe_nodes", "pipe_segments", "risk_zones", "risk_points", "hazards")
OPERATIONS = ("insert", "update", "delete", "restore", "baseline")
APPS = ", ".join(ROLES)
COLUMNS = "collection, feature_id, version, org_path, operation, properties, geom, changed_by, changed_at"
# What a version keeps as properties: the row without what has a column of its own.
PROPS = "- '{id,geom,org_path,version}'::text[]"


def upgrade() -> None:
    _table()
    for statement in scope_table_sql("feature_versions", audit=False):
        op.execute(statement)
    # Read-only for the server: only the definer trigger below writes history.
    op.execute(f"REVOKE INSERT, UPDATE, DELETE ON feature_versions FROM {APPS}")
    _functions()
    for table in EDITABLE:
        op.execute(
            f"CREATE TRIGGER version_bump BEFORE UPDATE ON {table}"
            " FOR EACH ROW EXECUTE FUNCTION twin_version_bump()"
        )
        op.execute(
            f"CREATE TRIGGER version_keep AFTER INSERT OR UPDATE OR DELETE ON {table}"
            " FOR EACH ROW EXECUTE FUNCTION twin_version_keep()"
        )


def _table() -> None:
    op.create_geospatial_table(
        "feature_versions",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("collection", sa.String(length=64), nullable=False),
        sa.Column("feature_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("org_path", LTree(), nullable=False),
        sa.Column("operation", sa.String(length=8), nullable=False),
        sa.Column("properties", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="GEOMETRY",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=True,
            ),
            nullable=True,
        ),
        sa.Column("changed_by", sa.Integer(), nullable=True),
        sa.Column(
            "changed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("clock_timestamp()"),
            nullable=False,
        ),
        sa.CheckConstraint(f"operation IN {OPERATIONS}", name=op.f("ck_feature_versions_operation_known")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feature_versions")),
        sa.UniqueConstraint(
            "collection",
            "feature_id",
            "version",
            name=op.f("uq_feature_versions_collection_feature_id_version"),
        ),
    )
    op.create_geospatial_index(
        "idx_feature_versions_geom",
        "feature_versions",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index(
        "ix_feature_versions_org_path",
        "feature_versions",
        ["org_path"],
        unique=False,
        postgresql_using="gist",
    )


def _functions() -> None:
    op.execute("""
CREATE FUNCTION twin_version_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.version := OLD.version + 1;
    NEW.updated_at := now();
    RETURN NEW;
END $$""")
    # `current_setting('role')` is the role the session SET, not the definer: the app roles cannot skip
    # history with twin.bulk, only the owner's bulk loads (twin sample province) can.
    op.execute(f"""
CREATE FUNCTION twin_version_keep() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    who int := nullif(current_setting('twin.user', true), '')::int;
    how text := coalesce(nullif(current_setting('twin.operation', true), ''), lower(TG_OP));
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF current_setting('twin.bulk', true) = 'on' AND current_setting('role') NOT IN ('twin_app', 'twin_app_all') THEN
            RETURN NULL;
        END IF;
    ELSE
        -- A row history has not met yet (bulk-loaded, or older than this table) keeps its state too.
        INSERT INTO feature_versions ({COLUMNS})
        VALUES (TG_TABLE_NAME, OLD.id, OLD.version, OLD.org_path, 'baseline', to_jsonb(OLD) {PROPS}, OLD.geom,
                NULL, OLD.updated_at)
        ON CONFLICT (collection, feature_id, version) DO NOTHING;
    END IF;
    IF TG_OP = 'DELETE' THEN
        INSERT INTO feature_versions ({COLUMNS})
        VALUES (TG_TABLE_NAME, OLD.id, OLD.version + 1, OLD.org_path, 'delete', to_jsonb(OLD) {PROPS}, OLD.geom,
                who, clock_timestamp());
    ELSE
        INSERT INTO feature_versions ({COLUMNS})
        VALUES (TG_TABLE_NAME, NEW.id, NEW.version, NEW.org_path, how, to_jsonb(NEW) {PROPS}, NEW.geom,
                who, clock_timestamp());
    END IF;
    RETURN NULL;
END $$""")
    op.execute("REVOKE ALL ON FUNCTION twin_version_keep() FROM PUBLIC")


def downgrade() -> None:
    for table in reversed(EDITABLE):
        op.execute(f"DROP TRIGGER IF EXISTS version_keep ON {table}")
        op.execute(f"DROP TRIGGER IF EXISTS version_bump ON {table}")
    op.execute("DROP FUNCTION IF EXISTS twin_version_keep()")
    op.execute("DROP FUNCTION IF EXISTS twin_version_bump()")
    for statement in unscope_table_sql("feature_versions"):
        op.execute(statement)
    op.drop_index("ix_feature_versions_org_path", table_name="feature_versions", postgresql_using="gist")
    op.drop_geospatial_index(
        "idx_feature_versions_geom",
        table_name="feature_versions",
        postgresql_using="gist",
        column_name="geom",
    )
    op.drop_geospatial_table("feature_versions")
