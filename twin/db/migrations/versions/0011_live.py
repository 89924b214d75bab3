"""Live alerts: event ids of repeats, durable escalation timers, and the live event log the streams replay.

Revision ID: 0011
Revises: 0010

A trigger on `alerts` writes the change into `live_events` in the same transaction and rings
`pg_notify('twin_live', id)` — delivered at commit, ids only (payloads stay in the table, the database is
the truth). The trigger and `twin_live_publish` are SECURITY DEFINER: the app roles may read the log
within their scope but never write it directly, so a stream shows only what really happened.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from twin.db.rls import ROLES, VEHICLES, scope_table_sql, unscope_table_sql
from twin.db.types import LTree

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

APPS = ", ".join(ROLES)
LIVE_TABLES = ("alert_events", "alert_timers", "live_events")
# Who may acknowledge and clear alerts, beyond the admin who may write every school-owned table.
ALERT_WRITERS = ("leader", "safety_officer")
CHANNEL = "twin_live"


def upgrade() -> None:
    op.add_column("alerts", sa.Column("escalation_step", sa.Integer(), server_default="0", nullable=False))
    op.create_index(
        "uq_alerts_active_sensor_type",
        "alerts",
        ["sensor_id", "type"],
        unique=True,
        postgresql_where=sa.text("cleared_at IS NULL"),
    )
    _tables()
    for table in LIVE_TABLES:
        for statement in scope_table_sql(table, audit=False):
            op.execute(statement)
    # Only the ingest (the owner) writes these; the server reads within the caller's scope.
    op.execute(f"REVOKE INSERT, UPDATE, DELETE ON alert_events, alert_timers, live_events FROM {APPS}")
    # A parent follows their child's bus: position events of those vehicles, never alerts.
    op.execute(
        f"CREATE POLICY parent_read ON live_events FOR SELECT TO {ROLES[0]}"
        f" USING (kind = 'position' AND (payload ->> 'vehicle_id')::int = ANY ({VEHICLES}::int[]))"
    )
    op.bulk_insert(
        sa.table("write_grants", sa.column("role"), sa.column("table_name")),
        [{"role": r, "table_name": "alerts"} for r in ALERT_WRITERS],
    )
    _functions()


def _tables() -> None:
    op.create_table(
        "alert_events",
        sa.Column("event_id", sa.String(length=128), nullable=False),
        sa.Column("org_path", LTree(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("value", sa.Double(), nullable=True),
        sa.Column("unit", sa.String(length=16), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name=op.f("fk_alert_events_alert_id_alerts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_alert_events")),
    )
    op.create_index(op.f("ix_alert_events_alert_id"), "alert_events", ["alert_id"], unique=False)
    op.create_index("ix_alert_events_org_path", "alert_events", ["org_path"], postgresql_using="gist")
    op.create_table(
        "alert_timers",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("org_path", LTree(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("notify", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name=op.f("fk_alert_timers_alert_id_alerts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_timers")),
        sa.UniqueConstraint("alert_id", "step", name=op.f("uq_alert_timers_alert_id_step")),
    )
    op.create_index("ix_alert_timers_org_path", "alert_timers", ["org_path"], postgresql_using="gist")
    op.create_index(
        "ix_alert_timers_due", "alert_timers", ["due_at"], postgresql_where=sa.text("done_at IS NULL")
    )
    op.create_table(
        "live_events",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("org_path", LTree(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("clock_timestamp()"), nullable=False
        ),
        sa.CheckConstraint(
            "kind IN ('alert', 'position', 'notification')", name=op.f("ck_live_events_kind_known")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_live_events")),
    )
    op.create_index("ix_live_events_org_path", "live_events", ["org_path"], postgresql_using="gist")


def _functions() -> None:
    # Any domain (bus positions, hazard notifications) appends to the log through this one door.
    op.execute(f"""
CREATE FUNCTION twin_live_publish(path ltree, kind text, payload jsonb) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    new_id bigint;
BEGIN
    INSERT INTO live_events (org_path, kind, payload) VALUES (path, kind, payload) RETURNING id INTO new_id;
    PERFORM pg_notify('{CHANNEL}', new_id::text);
    RETURN new_id;
END $$""")
    op.execute("""
CREATE FUNCTION twin_live_alert() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    action text;
    body jsonb;
BEGIN
    -- An inhibited alert (under an active parent, e.g. the building's fire alarm) is not its own alarm.
    IF NEW.parent_id IS NOT NULL THEN
        RETURN NULL;
    END IF;
    action := CASE
        WHEN TG_OP = 'INSERT' THEN 'raised'
        WHEN NEW.cleared_at IS DISTINCT FROM OLD.cleared_at THEN 'cleared'
        WHEN NEW.acked_at IS DISTINCT FROM OLD.acked_at THEN 'acked'
        WHEN NEW.escalation_step <> OLD.escalation_step THEN 'escalated'
        WHEN NEW.count <> OLD.count THEN 'repeated'
        ELSE 'updated' END;
    body := jsonb_build_object(
        'id', NEW.id, 'type', NEW.type, 'severity', NEW.severity, 'count', NEW.count,
        'sensor_id', NEW.sensor_id, 'event_id', NEW.event_id, 'first_at', NEW.first_at,
        'last_at', NEW.last_at, 'acked_at', NEW.acked_at, 'acked_by', NEW.acked_by,
        'cleared_at', NEW.cleared_at, 'escalation_step', NEW.escalation_step,
        'lon', ST_X(NEW.geom), 'lat', ST_Y(NEW.geom));
    IF TG_OP = 'INSERT' THEN
        body := body || jsonb_build_object('context', NEW.context);  -- large: sent once, when raised
    END IF;
    PERFORM twin_live_publish(NEW.org_path, 'alert', jsonb_build_object('action', action, 'alert', body));
    RETURN NULL;
END $$""")
    op.execute(
        "CREATE TRIGGER live_alert AFTER INSERT OR UPDATE ON alerts"
        " FOR EACH ROW EXECUTE FUNCTION twin_live_alert()"
    )
    op.execute("REVOKE ALL ON FUNCTION twin_live_publish(ltree, text, jsonb) FROM PUBLIC")


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS live_alert ON alerts")
    op.execute("DROP FUNCTION IF EXISTS twin_live_alert()")
    op.execute("DROP FUNCTION IF EXISTS twin_live_publish(ltree, text, jsonb)")
    op.execute(
        "DELETE FROM write_grants WHERE table_name = 'alerts' AND role IN "
        + "("
        + ", ".join(f"'{r}'" for r in ALERT_WRITERS)
        + ")"
    )
    op.execute("DROP POLICY IF EXISTS parent_read ON live_events")
    for table in reversed(LIVE_TABLES):
        for statement in unscope_table_sql(table):
            op.execute(statement)
    op.drop_index("ix_live_events_org_path", table_name="live_events", postgresql_using="gist")
    op.drop_table("live_events")
    op.drop_index(
        "ix_alert_timers_due", table_name="alert_timers", postgresql_where=sa.text("done_at IS NULL")
    )
    op.drop_index("ix_alert_timers_org_path", table_name="alert_timers", postgresql_using="gist")
    op.drop_table("alert_timers")
    op.drop_index("ix_alert_events_org_path", table_name="alert_events", postgresql_using="gist")
    op.drop_index(op.f("ix_alert_events_alert_id"), table_name="alert_events")
    op.drop_table("alert_events")
    op.drop_index(
        "uq_alerts_active_sensor_type", table_name="alerts", postgresql_where=sa.text("cleared_at IS NULL")
    )
    op.drop_column("alerts", "escalation_step")
