"""Users, roles, the audit log and row-level security on every school-owned table.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from twin.db.rls import ROLE, ROLES, SCOPE, WITHIN, scope_table_sql, unscope_table_sql
from twin.db.types import LTree

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

SCHOOL_OWNED = (
    "campuses",
    "buildings",
    "grounds",
    "campus_rasters",
    "bus_routes",
    "bus_stops",
    "people",
    "guardians",
    "vehicles",
    "positions",
    "pipe_nodes",
    "pipe_segments",
    "valves",
    "service_connections",
    "risk_zones",
    "risk_points",
    "inspections",
    "hazards",
    "sensors",
    "alerts",
)
NOT_AUDITED = {"positions"}  # a GPS fix every few seconds per bus: the table itself is the record
USER_ROLES = ("admin", "leader", "safety_officer", "maintenance", "analyst", "parent")
APPS = ", ".join(ROLES)
WRITE_GRANTS = {
    "admin": SCHOOL_OWNED,
    "safety_officer": ("risk_points", "risk_zones", "hazards", "inspections"),
    "maintenance": ("pipe_nodes", "pipe_segments", "valves", "service_connections"),
}


def upgrade() -> None:
    for role in ROLES:
        op.execute(
            f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN "
            f"CREATE ROLE {role} NOLOGIN NOSUPERUSER NOBYPASSRLS; END IF; END $$"
        )
        # The login role (superuser or not) must be able to SET ROLE to it.
        op.execute(f"GRANT {role} TO CURRENT_USER")
    _tables()
    _functions()
    _leakproof_ltree()
    # `<@` whose estimate never narrows: the policy guards, the query's own filter plans (twin.db.rls).
    op.execute(
        f"CREATE OPERATOR {WITHIN} (FUNCTION = ltree_risparent, LEFTARG = ltree, RIGHTARG = ltree,"
        " RESTRICT = neqsel)"
    )
    op.execute(f"GRANT USAGE ON SCHEMA public TO {APPS}")
    op.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {APPS}")
    op.execute(f"GRANT SELECT ON org_units, write_grants, spatial_ref_sys, alembic_version TO {APPS}")
    for table in SCHOOL_OWNED:
        for statement in scope_table_sql(table, audit=table not in NOT_AUDITED):
            op.execute(statement)
    _users_policies()


def _tables() -> None:
    op.create_table(
        "write_grants",
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("table_name", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("role", "table_name", name="pk_write_grants"),
    )
    op.bulk_insert(
        sa.table("write_grants", sa.column("role"), sa.column("table_name")),
        [{"role": r, "table_name": t} for r, tables in WRITE_GRANTS.items() for t in tables],
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("username", sa.String(64), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("org_id", sa.Integer(), sa.ForeignKey("org_units.id", ondelete="RESTRICT"), nullable=False),
        sa.Column("org_path", LTree(), nullable=False),
        sa.Column("person_id", sa.Integer(), sa.ForeignKey("people.id", ondelete="SET NULL")),
        sa.Column("disabled", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("token_version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(f"role IN {USER_ROLES}", name="ck_users_role_known"),
        sa.CheckConstraint("role <> 'parent' OR person_id IS NOT NULL", name="ck_users_parent_is_a_person"),
    )
    op.create_index("ix_users_org_path", "users", ["org_path"], postgresql_using="gist")
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), primary_key=True),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("clock_timestamp()"), nullable=False
        ),
        sa.Column("user_id", sa.Integer()),
        sa.Column("role", sa.String(32)),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("table_name", sa.String(64), nullable=False),
        sa.Column("row_id", sa.BigInteger()),
        sa.Column("org_path", LTree()),
        sa.Column("before", postgresql.JSONB()),
        sa.Column("after", postgresql.JSONB()),
    )
    op.create_index("ix_audit_log_org_path", "audit_log", ["org_path"], postgresql_using="gist")
    op.create_index("ix_audit_log_table_row", "audit_log", ["table_name", "row_id"])


def _functions() -> None:
    op.execute("""
CREATE FUNCTION twin_audit() RETURNS trigger LANGUAGE plpgsql AS $$
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
END $$""")
    op.execute("""
CREATE FUNCTION twin_audit_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only' USING ERRCODE = 'insufficient_privilege';
END $$""")
    op.execute(
        "CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON audit_log"
        " FOR EACH ROW EXECUTE FUNCTION twin_audit_is_append_only()"
    )
    op.execute(
        "CREATE TRIGGER append_only_truncate BEFORE TRUNCATE ON audit_log"
        " FOR EACH STATEMENT EXECUTE FUNCTION twin_audit_is_append_only()"
    )
    # Login must read a user before any scope exists: a definer function returns just what it needs.
    op.execute("""
CREATE FUNCTION twin_login(name text)
RETURNS TABLE (id int, password_hash text, disabled boolean, token_version int)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
    SELECT u.id, u.password_hash, u.disabled, u.token_version FROM users u WHERE u.username = name
$$""")
    # Every request starts here: the scope comes from the user row, never from the token's claims.
    op.execute("""
CREATE FUNCTION twin_begin_request(uid int, version int)
RETURNS TABLE (username text, role text, org_path ltree, person_id int, whole boolean)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    u users%ROWTYPE;
    routes int[] := '{}';
    vehicles int[] := '{}';
BEGIN
    SELECT * INTO u FROM users WHERE users.id = uid AND NOT users.disabled AND users.token_version = version;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    IF u.role = 'parent' THEN
        SELECT coalesce(array_agg(DISTINCT s.route_id), '{}') INTO routes
          FROM guardians g JOIN people s ON s.id = g.student_id
         WHERE g.parent_id = u.person_id AND s.route_id IS NOT NULL;
        SELECT coalesce(array_agg(v.id), '{}') INTO vehicles FROM vehicles v WHERE v.route_id = ANY (routes);
        PERFORM set_config('twin.scope', '', true);
    ELSE
        PERFORM set_config('twin.scope', u.org_path::text, true);
    END IF;
    PERFORM set_config('twin.role', u.role, true);
    PERFORM set_config('twin.user', u.id::text, true);
    PERFORM set_config('twin.routes', routes::text, true);
    PERFORM set_config('twin.vehicles', vehicles::text, true);
    -- The whole territory: a root of the tree with no sibling root (see twin.db.rls, role twin_app_all).
    RETURN QUERY SELECT u.username::text, u.role::text, u.org_path, u.person_id,
        u.role <> 'parent' AND nlevel(u.org_path) = 1
        AND NOT EXISTS (SELECT 1 FROM org_units o WHERE o.parent_id IS NULL AND o.path <> u.org_path);
END $$""")
    # Health reports row counts to anyone, without revealing rows: counts only, across every scope.
    op.execute("""
CREATE FUNCTION twin_row_counts(names text[], exact_limit bigint)
RETURNS TABLE (table_name text, n bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    t text;
    estimate bigint;
BEGIN
    FOREACH t IN ARRAY names LOOP
        SELECT CASE WHEN c.relkind = 'p' THEN
                   (SELECT coalesce(sum(greatest(p.reltuples, 0)), 0) FROM pg_inherits i
                      JOIN pg_class p ON p.oid = i.inhrelid WHERE i.inhparent = c.oid)
               ELSE greatest(c.reltuples, 0) END::bigint
          INTO estimate
          FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
         WHERE s.nspname = 'public' AND c.relname = t AND c.relkind IN ('r', 'p');
        CONTINUE WHEN estimate IS NULL;
        IF estimate > exact_limit THEN
            table_name := t; n := estimate;
        ELSE
            table_name := t;
            EXECUTE format('SELECT count(*) FROM %I', t) INTO n;
        END IF;
        RETURN NEXT;
    END LOOP;
END $$""")
    functions = "twin_login(text), twin_begin_request(int, int), twin_row_counts(text[], bigint)"
    op.execute(f"REVOKE ALL ON FUNCTION {functions} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {functions} TO {APPS}")


def _leakproof_ltree() -> None:
    """Let the planner use a query's own `org_path <@ '<scope>'` filter under row-level security.

    Non-leakproof operators in a query may not run before the policies, so they cannot be index
    conditions; `<@` on ltree only compares two paths and raises nothing that depends on them. Needs a
    superuser; without one, scoped queries stay correct but cannot use the filter (bench/scope.py).
    """
    op.execute(
        "DO $$ BEGIN IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN "
        "ALTER FUNCTION ltree_risparent(ltree, ltree) LEAKPROOF; ELSE "
        "RAISE NOTICE 'not a superuser: ltree <@ stays non-leakproof, scoped lists are slower'; END IF; END $$"
    )


def _users_policies() -> None:
    admin_here = f"({ROLE} = 'admin' AND org_path {WITHIN} {SCOPE})"
    myself = "(id = (SELECT nullif(current_setting('twin.user', true), '')::int))"
    op.execute("ALTER TABLE users ENABLE ROW LEVEL SECURITY")
    op.execute(f"GRANT SELECT, INSERT, UPDATE ON users TO {APPS}")
    op.execute(f"CREATE POLICY users_read ON users FOR SELECT TO {APPS} USING ({admin_here} OR {myself})")
    op.execute(f"CREATE POLICY users_insert ON users FOR INSERT TO {APPS} WITH CHECK ({admin_here})")
    op.execute(
        f"CREATE POLICY users_update ON users FOR UPDATE TO {APPS} USING ({admin_here} OR {myself})"
        f" WITH CHECK ({admin_here} OR {myself})"
    )
    # Changing one's own role or place is an admin's act, never a side effect of a password change.
    op.execute(f"""
CREATE FUNCTION twin_users_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.role, NEW.org_path, NEW.org_id, NEW.username) IS DISTINCT FROM
       (OLD.role, OLD.org_path, OLD.org_id, OLD.username)
       AND current_user IN ({", ".join(repr(r) for r in ROLES)}) AND current_setting('twin.role', true) IS DISTINCT FROM 'admin' THEN
        RAISE EXCEPTION 'only an admin may change a user''s role, organisation or name'
              USING ERRCODE = 'insufficient_privilege';
    END IF;
    NEW.updated_at := now();
    RETURN NEW;
END $$""")
    op.execute("CREATE TRIGGER guard BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION twin_users_guard()")
    op.execute(
        "CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON users"
        " FOR EACH ROW EXECUTE FUNCTION twin_audit()"
    )
    op.execute("ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY")
    op.execute(f"GRANT SELECT, INSERT ON audit_log TO {APPS}")
    op.execute(f"CREATE POLICY audit_read ON audit_log FOR SELECT TO {APPS} USING ({admin_here})")
    op.execute(f"CREATE POLICY audit_append ON audit_log FOR INSERT TO {APPS} WITH CHECK (true)")


def downgrade() -> None:
    for table in reversed(SCHOOL_OWNED):
        for statement in unscope_table_sql(table):
            op.execute(statement)
    op.execute(f"REVOKE ALL ON org_units, write_grants, spatial_ref_sys, alembic_version FROM {APPS}")
    op.execute(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {APPS}")
    op.execute(f"REVOKE USAGE ON SCHEMA public FROM {APPS}")
    op.drop_table("audit_log")
    op.drop_table("users")
    op.drop_table("write_grants")
    op.execute(f"DROP OPERATOR IF EXISTS {WITHIN} (ltree, ltree)")
    op.execute(
        "DO $$ BEGIN IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN "
        "ALTER FUNCTION ltree_risparent(ltree, ltree) NOT LEAKPROOF; END IF; END $$"
    )
    for fn in (
        "twin_row_counts(text[], bigint)",
        "twin_begin_request(int, int)",
        "twin_login(text)",
        "twin_users_guard()",
        "twin_audit_is_append_only()",
        "twin_audit()",
    ):
        op.execute(f"DROP FUNCTION IF EXISTS {fn}")
    # The role is cluster-wide and may serve other databases; it stays.
