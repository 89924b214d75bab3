"""Live at scale: the bell names the school, the log's purge uses an index, geofence state and timetables.

Revision ID: 0017
Revises: 0016

- `twin_live_publish` rings `pg_notify('twin_live', '<id> <org path>')`: a server rings only the stream
  groups whose jurisdiction holds the path, and the others learn that the id is not theirs (no gap to
  wait for). Still keys, not rows: the row is read under the reader's scope.
- `ix_live_events_at`: the retention purge (`DELETE … WHERE at < …`) walks an index, not the log.
- `bus_fence_state`: what the geofences knew of each bus after its last fix (inside the campus, off the
  route, speeding, offline, the last stop visit judged against the timetable), in the database so that
  with several workers a crossing is reported once (a batch locks its buses' rows, in vehicle order).
  Written only by the ingest (the owner).
- `twin_audit()` asks whether the write is a bulk one before copying the rows to JSON, not after: the
  ingest's count-ups (bulk, see twin.live.queries_ingest.count_repeats) spent most of their time there.
- `bus_trips`: a route's timetable, one row per departure (minutes after local midnight); a trip's stop
  times are its departure plus each stop's `scheduled_min`. Existing routes get the trip the feed used
  to assume (07:00, `{route}-AM`).
"""

import sqlalchemy as sa
from alembic import op

from twin.db.rls import ROLES, scope_table_sql, unscope_table_sql
from twin.db.types import LTree

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

APPS = ", ".join(ROLES)
CHANNEL = "twin_live"


def _publish(payload: str) -> str:
    return f"""
CREATE OR REPLACE FUNCTION twin_live_publish(path ltree, kind text, payload jsonb) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    new_id bigint;
BEGIN
    INSERT INTO live_events (org_path, kind, payload) VALUES (path, kind, payload) RETURNING id INTO new_id;
    PERFORM pg_notify('{CHANNEL}', {payload});
    RETURN new_id;
END $$"""


_AUDIT = """
CREATE OR REPLACE FUNCTION twin_audit() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    old_row jsonb;
    new_row jsonb;
    row_ jsonb;
BEGIN
    -- Generated bulk data (twin sample province) is not audited; only the owner may ask for that.
    IF current_setting('twin.bulk', true) = 'on' AND current_user NOT IN ('twin_app', 'twin_app_all') THEN
        RETURN NULL;
    END IF;
    old_row := CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) END;
    new_row := CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END;
    row_ := coalesce(new_row, old_row);
    INSERT INTO audit_log (user_id, role, action, table_name, row_id, org_path, before, after)
    VALUES (nullif(current_setting('twin.user', true), '')::int, nullif(current_setting('twin.role', true), ''),
            lower(TG_OP), TG_TABLE_NAME, (row_ ->> 'id')::bigint, (row_ ->> 'org_path')::ltree, old_row, new_row);
    RETURN NULL;
END $$"""

_AUDIT_0005 = """
CREATE OR REPLACE FUNCTION twin_audit() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    old_row jsonb := CASE WHEN TG_OP <> 'INSERT' THEN to_jsonb(OLD) END;
    new_row jsonb := CASE WHEN TG_OP <> 'DELETE' THEN to_jsonb(NEW) END;
    row_ jsonb := coalesce(new_row, old_row);
BEGIN
    -- Generated bulk data (twin sample province) is not audited; only the owner may ask for that.
    IF current_setting('twin.bulk', true) = 'on' AND current_user NOT IN ('twin_app', 'twin_app_all') THEN
        RETURN NULL;
    END IF;
    INSERT INTO audit_log (user_id, role, action, table_name, row_id, org_path, before, after)
    VALUES (nullif(current_setting('twin.user', true), '')::int, nullif(current_setting('twin.role', true), ''),
            lower(TG_OP), TG_TABLE_NAME, (row_ ->> 'id')::bigint, (row_ ->> 'org_path')::ltree, old_row, new_row);
    RETURN NULL;
END $$"""


def upgrade() -> None:
    op.execute(_publish("new_id::text || ' ' || path::text"))
    op.execute(_AUDIT)
    op.create_index("ix_live_events_at", "live_events", ["at"])
    op.create_table(
        "bus_fence_state",
        sa.Column("vehicle_id", sa.Integer(), nullable=False),
        sa.Column("inside", sa.Boolean(), nullable=True),
        sa.Column("off_route", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("speeding", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("offline", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stop_visit", sa.String(length=96), nullable=True),
        sa.ForeignKeyConstraint(
            ["vehicle_id"],
            ["vehicles.id"],
            name=op.f("fk_bus_fence_state_vehicle_id_vehicles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("vehicle_id", name=op.f("pk_bus_fence_state")),
    )
    op.execute(f"REVOKE ALL ON bus_fence_state FROM {APPS}")
    _bus_trips()


def _bus_trips() -> None:
    op.create_table(
        "bus_trips",
        sa.Column("id", sa.Integer(), sa.Identity(always=True), nullable=False),
        sa.Column("org_path", LTree(), nullable=False),
        sa.Column("route_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("departs_min", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "departs_min >= 0 AND departs_min < 2880", name=op.f("ck_bus_trips_departs_in_day")
        ),
        sa.ForeignKeyConstraint(
            ["route_id"], ["bus_routes.id"], name=op.f("fk_bus_trips_route_id_bus_routes"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bus_trips")),
        sa.UniqueConstraint("route_id", "code", name=op.f("uq_bus_trips_route_id_code")),
    )
    op.create_index(op.f("ix_bus_trips_route_id"), "bus_trips", ["route_id"], unique=False)
    op.create_index("ix_bus_trips_org_path", "bus_trips", ["org_path"], postgresql_using="gist")
    for statement in scope_table_sql("bus_trips"):
        op.execute(statement)
    op.execute("INSERT INTO write_grants (role, table_name) VALUES ('admin', 'bus_trips')")
    op.execute(
        "INSERT INTO bus_trips (org_path, route_id, code, departs_min)"
        " SELECT org_path, id, code || '-AM', 420 FROM bus_routes"
    )


def downgrade() -> None:
    op.execute("DELETE FROM write_grants WHERE table_name = 'bus_trips'")
    for statement in unscope_table_sql("bus_trips"):
        op.execute(statement)
    op.drop_index("ix_bus_trips_org_path", table_name="bus_trips", postgresql_using="gist")
    op.drop_index(op.f("ix_bus_trips_route_id"), table_name="bus_trips")
    op.drop_table("bus_trips")
    op.drop_table("bus_fence_state")
    op.drop_index("ix_live_events_at", table_name="live_events")
    op.execute(_AUDIT_0005)
    op.execute(_publish("new_id::text"))
