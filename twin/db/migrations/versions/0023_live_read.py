"""The live fan-out reads the log in one statement: `twin_live_read`.

Revision ID: 0023
Revises: 0021

A stream group's read used to be five round trips (pool ping, BEGIN, `twin_begin_request`, the SELECT,
COMMIT), once per group and bell: with 50 groups and a few hundred bells a second that was most of the
server's and the database's work. `twin_live_read` does the same in one call, in autocommit: it sets the
request's scope with `twin_begin_request` (which refuses a disabled or revoked user), takes the whole
territory's role when the caller has it (as `begin_request` does), then selects the log rows. It runs as
the caller (SECURITY INVOKER), so row-level security still decides what the group sees; the settings are
local to the statement's own transaction.
"""

from alembic import op

revision = "0023"
down_revision = "0021"
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


def upgrade() -> None:
    op.execute(_READ)
    op.execute(
        "GRANT EXECUTE ON FUNCTION twin_live_read(int, int, bigint, bigint, bigint[], int) TO twin_app"
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION twin_live_read(int, int, bigint, bigint, bigint[], int)")
