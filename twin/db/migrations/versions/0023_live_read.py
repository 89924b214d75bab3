"""The live fan-out reads the log in one statement (`twin_live_read`); count-ups log their deltas set-based.

Revision ID: 0023
Revises: 0022

A stream group's read used to be five round trips (pool ping, BEGIN, `twin_begin_request`, the SELECT,
COMMIT), once per group and bell: with 50 groups and a few hundred bells a second that was most of the
server's and the database's work. `twin_live_read` does the same in one call, in autocommit: it sets the
request's scope with `twin_begin_request` (which refuses a disabled or revoked user), takes the whole
territory's role when the caller has it (as `begin_request` does), then selects the log rows. It runs as
the caller (SECURITY INVOKER), so row-level security still decides what the group sees; the settings are
local to the statement's own transaction.

The ingest's count-up (twin.live.queries_ingest) updates a few hundred alerts per statement; the row
trigger `live_alert` then published each delta with its own function call, insert and notification (a third
of the statement's time). The statement now logs its deltas itself, in one INSERT, with the same body
(`twin_alert_body`, shared with the trigger) and the same bell, and says so with `twin.alert_logged`, which
the trigger honours for updates by the owner only (as `twin.bulk` for the audit).

`twin_parent_schools()`: the schools of a parent's children and of their buses. A parent's stream group
is woken by the bells of those schools only, not by every bell of the territory (a thousand parents
following their buses would otherwise each read the log for every position of every bus).
"""

from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

_READ = """
CREATE FUNCTION twin_live_read(uid int, version int, after bigint, upto bigint, gaps bigint[], lim int)
RETURNS TABLE (id bigint, kind text, payload jsonb, at timestamptz)
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
    whole_ boolean;
BEGIN
    SELECT b.whole INTO whole_ FROM twin_begin_request(uid, version) b;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'the account was disabled or the token revoked' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF whole_ THEN
        PERFORM set_config('role', 'twin_app_all', true);
    END IF;
    RETURN QUERY
        SELECT e.id, e.kind::text, e.payload, e.at FROM live_events e
         WHERE (e.id > after AND e.id <= upto) OR e.id = ANY (gaps)
         ORDER BY e.id
         LIMIT lim;
END $$"""


_BODY = """
CREATE FUNCTION twin_alert_body(a alerts) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object(
        'id', a.id, 'type', a.type, 'severity', a.severity, 'count', a.count,
        'sensor_id', a.sensor_id, 'event_id', a.event_id, 'first_at', a.first_at,
        'last_at', a.last_at, 'acked_at', a.acked_at, 'acked_by', a.acked_by,
        'cleared_at', a.cleared_at, 'escalation_step', a.escalation_step,
        'lon', ST_X(a.geom), 'lat', ST_Y(a.geom))
$$"""


_PARENT_SCHOOLS = """
CREATE FUNCTION twin_parent_schools() RETURNS text[]
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT coalesce(array_agg(DISTINCT s.path ORDER BY s.path), '{}') FROM (
        SELECT p.org_path::text AS path FROM people p WHERE p.id = ANY (twin_caller_children())
        UNION
        SELECT v.org_path::text FROM vehicles v
         WHERE v.id = ANY (coalesce(nullif(current_setting('twin.vehicles', true), ''), '{}')::int[])) s
$$"""


def _trigger(skip: str, body: str) -> str:
    return f"""
CREATE OR REPLACE FUNCTION twin_live_alert() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    action text;
    body jsonb;
BEGIN
    -- An inhibited alert (under an active parent, e.g. the building's fire alarm) is not its own alarm.
    IF NEW.parent_id IS NOT NULL {skip} THEN
        RETURN NULL;
    END IF;
    action := CASE
        WHEN TG_OP = 'INSERT' THEN 'raised'
        WHEN NEW.cleared_at IS DISTINCT FROM OLD.cleared_at THEN 'cleared'
        WHEN NEW.acked_at IS DISTINCT FROM OLD.acked_at THEN 'acked'
        WHEN NEW.escalation_step <> OLD.escalation_step THEN 'escalated'
        WHEN NEW.count <> OLD.count THEN 'repeated'
        ELSE 'updated' END;
    body := {body};
    IF TG_OP = 'INSERT' THEN
        body := body || jsonb_build_object('context', NEW.context);  -- large: sent once, when raised
    END IF;
    PERFORM twin_live_publish(NEW.org_path, 'alert', jsonb_build_object('action', action, 'alert', body));
    RETURN NULL;
END $$"""


# The statement logged this update's delta itself (only the owner's ingest may say so).
_SKIP = """OR (TG_OP = 'UPDATE' AND current_setting('twin.alert_logged', true) = 'on'
                                   AND current_user NOT IN ('twin_app', 'twin_app_all'))"""
_BODY_0011 = """jsonb_build_object(
        'id', NEW.id, 'type', NEW.type, 'severity', NEW.severity, 'count', NEW.count,
        'sensor_id', NEW.sensor_id, 'event_id', NEW.event_id, 'first_at', NEW.first_at,
        'last_at', NEW.last_at, 'acked_at', NEW.acked_at, 'acked_by', NEW.acked_by,
        'cleared_at', NEW.cleared_at, 'escalation_step', NEW.escalation_step,
        'lon', ST_X(NEW.geom), 'lat', ST_Y(NEW.geom))"""


def upgrade() -> None:
    op.execute(_BODY)
    op.execute(_trigger(_SKIP, "twin_alert_body(NEW)"))
    op.execute(_READ)
    op.execute(
        "GRANT EXECUTE ON FUNCTION twin_live_read(int, int, bigint, bigint, bigint[], int) TO twin_app"
    )
    op.execute(_PARENT_SCHOOLS)
    op.execute("REVOKE ALL ON FUNCTION twin_parent_schools() FROM PUBLIC")
    op.execute("GRANT EXECUTE ON FUNCTION twin_parent_schools() TO twin_app, twin_app_all")


def downgrade() -> None:
    op.execute("DROP FUNCTION twin_parent_schools()")
    op.execute("DROP FUNCTION twin_live_read(int, int, bigint, bigint, bigint[], int)")
    op.execute(_trigger("", _BODY_0011))
    op.execute("DROP FUNCTION twin_alert_body(alerts)")
