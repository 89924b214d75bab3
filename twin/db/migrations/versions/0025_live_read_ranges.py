"""`twin_live_read` reads the log by id range, with one plan for every call.

Revision ID: 0025
Revises: 0024

The read's condition `(id > after AND id <= upto) OR id = ANY (gaps)` has no index condition in a generic
plan, and PL/pgSQL moves to the generic plan after five calls of a session: from then on every stream
group's read walked the whole log (seven days of it) through the primary key and filtered each row —
1.7 ms at 4,000 rows, linear in the log, once per group and bell. The two halves are now separate
branches, each an index range of the primary key whatever the parameters, and the function always takes
the generic plan: a custom one re-planned the query with its row-level security policies on every call
(0.5 ms, twice the execution of a usual read).
"""

from __future__ import annotations

from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

_HEAD = """
CREATE OR REPLACE FUNCTION twin_live_read(uid int, version int, after bigint, upto bigint, gaps bigint[], lim int)
RETURNS TABLE (id bigint, kind text, payload jsonb, at timestamptz)
LANGUAGE plpgsql SET search_path = public, pg_temp {plan}AS $$
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
{query};
END $$"""

_RANGES = """
        SELECT r.id, r.kind, r.payload, r.at FROM (
            SELECT e.id, e.kind::text AS kind, e.payload, e.at FROM live_events e
             WHERE e.id > after AND e.id <= upto
            UNION ALL
            SELECT e.id, e.kind::text, e.payload, e.at FROM live_events e
             WHERE e.id = ANY (gaps) AND NOT (e.id > after AND e.id <= upto)
        ) r
         ORDER BY r.id
         LIMIT lim"""

_OR_0023 = """
        SELECT e.id, e.kind::text, e.payload, e.at FROM live_events e
         WHERE (e.id > after AND e.id <= upto) OR e.id = ANY (gaps)
         ORDER BY e.id
         LIMIT lim"""


def upgrade() -> None:
    op.execute(_HEAD.format(plan="SET plan_cache_mode = force_generic_plan ", query=_RANGES))


def downgrade() -> None:
    # The function's attributes are replaced whole: without the SET, the plan is chosen as before.
    op.execute(_HEAD.format(plan="", query=_OR_0023))
