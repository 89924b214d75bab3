"""The hazard closed loop: transition history, photos, numbers, escalations, notifications, inspection plans.

Revision ID: 0009
Revises: 0008

Who may move a hazard is decided in Python from the state machine (twin/riskmap/transitions.yaml); the
database keeps two promises of its own. A hazard's state changes only inside the loop (`twin.hazard_loop`
set by twin.riskmap.hazards for one transaction): a PATCH through OGC API Features cannot close a
hazard. And leaders and maintenance crews, who act on hazards only through the loop, change hazard rows
only there; safety officers and admins keep their feature edits. The transition history is append-only.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from twin.db.rls import ROLES, scope_table_sql, unscope_table_sql
from twin.db.types import LTree

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TABLES = (
    "hazard_transitions",
    "hazard_photos",
    "hazard_numbers",
    "escalations",
    "notifications",
    "inspection_plans",
)
LEVELS = "('person', 'school', 'county', 'city', 'province')"
APPS = ", ".join(ROLES)
# New write grants: who works the loop. `scheduler` is the escalation worker's role (twin.riskmap.escalation).
LOOP = ("hazards", "hazard_transitions", "hazard_photos", "hazard_numbers", "escalations", "notifications")
WRITE_GRANTS = {
    "admin": TABLES,
    "safety_officer": (*LOOP[1:], "inspection_plans"),
    "leader": (*LOOP, "inspections"),
    "maintenance": (*LOOP, "inspections"),
    "analyst": ("notifications",),  # marking their own notifications read
    "scheduler": ("notifications", "escalations", "inspections"),
}


def _now() -> sa.TextClause:
    return sa.text("now()")


def _org_path_index(table: str) -> None:
    op.create_index(f"ix_{table}_org_path", table, ["org_path"], unique=False, postgresql_using="gist")


def upgrade() -> None:
    _transitions()
    _photos_and_numbers()
    _escalations_and_notifications()
    _inspection_plans()
    op.create_unique_constraint(
        "uq_inspections_risk_point_id_frequency_due_at",
        "inspections",
        ["risk_point_id", "frequency", "due_at"],
    )
    for table in TABLES:
        for statement in scope_table_sql(table, audit=table not in {"hazard_transitions", "hazard_numbers"}):
            op.execute(statement)
    op.bulk_insert(
        sa.table("write_grants", sa.column("role"), sa.column("table_name")),
        [{"role": r, "table_name": t} for r, tables in WRITE_GRANTS.items() for t in tables],
    )
    op.create_index("ix_hazards_found_at_id", "hazards", ["found_at", "id"])
    op.execute(f"GRANT USAGE, SELECT ON SEQUENCE inspection_plans_id_seq TO {APPS}")
    _guards()
    _notify_function()


def _transitions() -> None:
    op.create_table(
        "hazard_transitions",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("org_path", LTree(), nullable=False),
        sa.Column("hazard_id", sa.Integer(), nullable=False),
        sa.Column("from_state", sa.String(length=24), nullable=True),
        sa.Column("to_state", sa.String(length=24), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("role", sa.String(length=32), nullable=True),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("clock_timestamp()"), nullable=False
        ),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hazard_transitions")),
    )
    op.create_index("ix_hazard_transitions_hazard_id", "hazard_transitions", ["hazard_id"])
    _org_path_index("hazard_transitions")


def _photos_and_numbers() -> None:
    op.create_table(
        "hazard_photos",
        sa.Column("hazard_id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("org_path", LTree(), nullable=False),
        sa.Column("media_type", sa.String(length=16), nullable=False),
        sa.Column("bytes", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("uploaded_by", sa.Integer(), nullable=True),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.CheckConstraint("sha256 ~ '^[0-9a-f]{64}$'", name=op.f("ck_hazard_photos_sha256_hex")),
        sa.CheckConstraint(
            "media_type IN ('image/jpeg', 'image/png', 'image/webp')",
            name=op.f("ck_hazard_photos_media_type_known"),
        ),
        sa.ForeignKeyConstraint(
            ["hazard_id"], ["hazards.id"], name=op.f("fk_hazard_photos_hazard_id_hazards"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("hazard_id", "sha256", name=op.f("pk_hazard_photos")),
    )
    op.create_index("ix_hazard_photos_sha256", "hazard_photos", ["sha256"])
    _org_path_index("hazard_photos")
    op.create_table(
        "hazard_numbers",
        sa.Column("org_path", LTree(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("org_path", "year", name=op.f("pk_hazard_numbers")),
    )
    _org_path_index("hazard_numbers")


def _escalations_and_notifications() -> None:
    op.create_table(
        "escalations",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("org_path", LTree(), nullable=False),
        sa.Column("hazard_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.CheckConstraint(f"level IN {LEVELS}", name=op.f("ck_escalations_level_known")),
        sa.CheckConstraint(
            "outcome IS NULL OR outcome IN ('notified', 'skipped')", name=op.f("ck_escalations_outcome_known")
        ),
        sa.ForeignKeyConstraint(
            ["hazard_id"], ["hazards.id"], name=op.f("fk_escalations_hazard_id_hazards"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalations")),
    )
    op.create_index("ix_escalations_hazard_id", "escalations", ["hazard_id"])
    op.create_index(
        "ix_escalations_pending", "escalations", ["due_at"], postgresql_where=sa.text("done_at IS NULL")
    )
    _org_path_index("escalations")
    op.create_table(
        "notifications",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("org_path", LTree(), nullable=False),
        sa.Column("school_path", LTree(), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("hazard_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("body", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(f"level IN {LEVELS}", name=op.f("ck_notifications_level_known")),
        sa.ForeignKeyConstraint(
            ["hazard_id"], ["hazards.id"], name=op.f("fk_notifications_hazard_id_hazards"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_notifications_person_id_people"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    op.create_index("ix_notifications_hazard_id", "notifications", ["hazard_id"])
    _org_path_index("notifications")


def _inspection_plans() -> None:
    op.create_table(
        "inspection_plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_path", LTree(), nullable=False),
        sa.Column("campus_id", sa.Integer(), nullable=False),
        sa.Column("risk_point_id", sa.Integer(), nullable=False),
        sa.Column("frequency", sa.String(length=32), nullable=False),
        sa.Column("active", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campus_id"],
            ["campuses.id"],
            name=op.f("fk_inspection_plans_campus_id_campuses"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["risk_point_id"],
            ["risk_points.id"],
            name=op.f("fk_inspection_plans_risk_point_id_risk_points"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspection_plans")),
        sa.UniqueConstraint(
            "risk_point_id", "frequency", name=op.f("uq_inspection_plans_risk_point_id_frequency")
        ),
    )
    _org_path_index("inspection_plans")


def _guards() -> None:
    apps = ", ".join(repr(r) for r in ROLES)
    op.execute(f"""
CREATE FUNCTION twin_hazard_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_user IN ({apps}) AND current_setting('twin.hazard_loop', true) IS DISTINCT FROM 'on' THEN
        IF TG_OP = 'UPDATE' AND NEW.state IS DISTINCT FROM OLD.state THEN
            RAISE EXCEPTION 'a hazard changes state only through POST /hazards/{{id}}/transitions'
                  USING ERRCODE = 'check_violation';
        END IF;
        IF current_setting('twin.role', true) NOT IN ('admin', 'safety_officer') THEN
            RAISE EXCEPTION 'your role changes hazards only through POST /hazards and its transitions'
                  USING ERRCODE = 'insufficient_privilege';
        END IF;
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END $$""")
    op.execute(
        "CREATE TRIGGER loop_guard BEFORE INSERT OR UPDATE OR DELETE ON hazards"
        " FOR EACH ROW EXECUTE FUNCTION twin_hazard_guard()"
    )
    op.execute("""
CREATE FUNCTION twin_hazard_history_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'hazard_transitions is append-only' USING ERRCODE = 'insufficient_privilege';
END $$""")
    op.execute(
        "CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON hazard_transitions"
        " FOR EACH ROW EXECUTE FUNCTION twin_hazard_history_is_append_only()"
    )
    op.execute(f"REVOKE UPDATE, DELETE ON hazard_transitions FROM {APPS}")


def _notify_function() -> None:
    """Notifications go up the tree (a school's hazard to its county), where the sender's scope cannot
    write: this definer function stores one for a hazard of the caller's jurisdiction, addressed to its
    school or a unit above it, and nothing else. The escalation worker (role `scheduler`) sends for any.
    """
    op.execute("""
CREATE FUNCTION twin_notify(to_path ltree, from_school ltree, level text, person int, hazard int, kind text,
                            title text, body jsonb, at timestamptz)
RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    scope ltree := nullif(current_setting('twin.scope', true), '')::ltree;
    new_id bigint;
BEGIN
    IF NOT (to_path @> from_school) THEN
        RAISE EXCEPTION 'a notification goes to the school or a unit above it' USING ERRCODE = 'check_violation';
    END IF;
    IF current_setting('twin.role', true) IS DISTINCT FROM 'scheduler'
       AND (scope IS NULL OR NOT (from_school <@ scope)) THEN
        RAISE EXCEPTION 'notifications only about your own jurisdiction' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF hazard IS NOT NULL AND NOT EXISTS (SELECT 1 FROM hazards h WHERE h.id = hazard AND h.org_path = from_school) THEN
        RAISE EXCEPTION 'hazard % is not of that school', hazard USING ERRCODE = 'check_violation';
    END IF;
    INSERT INTO notifications (org_path, school_path, level, person_id, hazard_id, kind, title, body, created_at)
    VALUES (to_path, from_school, level, person, hazard, kind, title, body, at) RETURNING id INTO new_id;
    RETURN new_id;
END $$""")
    signature = "twin_notify(ltree, ltree, text, int, int, text, text, jsonb, timestamptz)"
    op.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {signature} TO {APPS}")


def downgrade() -> None:
    op.execute(
        "DROP FUNCTION IF EXISTS twin_notify(ltree, ltree, text, int, int, text, text, jsonb, timestamptz)"
    )
    op.execute("DROP TRIGGER IF EXISTS loop_guard ON hazards")
    op.execute("DROP FUNCTION IF EXISTS twin_hazard_guard()")
    grants = [(r, t) for r, tables in WRITE_GRANTS.items() for t in tables]
    for role, table in grants:
        op.execute(sa.text(f"DELETE FROM write_grants WHERE role = '{role}' AND table_name = '{table}'"))
    for table in reversed(TABLES):
        for statement in unscope_table_sql(table):
            op.execute(statement)
    op.drop_constraint("uq_inspections_risk_point_id_frequency_due_at", "inspections", type_="unique")
    op.drop_index("ix_hazards_found_at_id", "hazards")
    for table in reversed(TABLES):
        op.drop_table(table)
    op.execute("DROP FUNCTION IF EXISTS twin_hazard_history_is_append_only()")
