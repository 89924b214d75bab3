"""Row-level security: the one scope rule every school-owned table obeys, written by migrations.

The server's connections run as the role `twin_app` (see twin.db.engine), which owns nothing and has no
BYPASSRLS, so every query it makes — from any endpoint, including ones written later — is filtered by
these policies. The scope is a transaction-local setting made by `twin_begin_request` from the user row:

- `twin.scope`: the org path (ltree) whose subtree the caller may see; unset or empty sees nothing;
- `twin.role`: the caller's role, which `write_grants` maps to the tables it may change;
- `twin.routes`, `twin.vehicles`: for parents, the bus routes and vehicles of their own children;
- `twin.user`: who is acting, for the audit log.

The scope is tested with `<@#`: ltree's `<@` under an operator whose selectivity estimate is "keeps
almost everything", so the policy never steers the plan. Queries also write the caller's scope in as a
plain `org_path <@ '<path>'` (twin.access.planner_scope), which the planner sizes from statistics and,
with `<@` marked leakproof, uses as an index condition: a school's page then reads its 50 rows through
the GiST index and a city's through a plain scan, like the same query without RLS (bench/scope.py).
A caller whose jurisdiction is the whole territory switches to `twin_app_all`, whose read policy is
`true`: testing the scope on every row of a province costs time for nothing.
"""

from __future__ import annotations

APP_ROLE = "twin_app"
WHOLE_ROLE = "twin_app_all"
ROLES = (APP_ROLE, WHOLE_ROLE)

# Evaluated once per query (an initplan); one ltree, not an array.
SCOPE = "(SELECT nullif(current_setting('twin.scope', true), '')::ltree)"
WITHIN = "<@#"  # planner-neutral `<@`, created by migration 0005
ROLE = "(SELECT current_setting('twin.role', true))"
ROUTES = "(SELECT coalesce(nullif(current_setting('twin.routes', true), ''), '{}')::int[])"
VEHICLES = "(SELECT coalesce(nullif(current_setting('twin.vehicles', true), ''), '{}')::int[])"

# Tables a parent may read beyond nothing, and the column that ties a row to their child's bus.
PARENT_VISIBLE = {
    "bus_routes": "id",
    "bus_stops": "route_id",
    "bus_trips": "route_id",
    "vehicles": "route_id",
    "positions": "vehicle_id",
}
POLICIES = (
    "scope_read",
    "scope_insert",
    "scope_update",
    "scope_delete",
    "parent_read",
    "whole_read",
    "whole_insert",
    "whole_update",
    "whole_delete",
)


def may_write(table: str) -> str:
    return f"EXISTS (SELECT 1 FROM write_grants g WHERE g.role = {ROLE} AND g.table_name = '{table}')"


def scope_table_sql(table: str, *, audit: bool = True) -> list[str]:
    """Statements that put `table` under the scope rule (and, unless high-volume, the audit trigger)."""
    in_scope = f"org_path {WITHIN} {SCOPE}"
    writable = f"{in_scope} AND {may_write(table)}"
    statements = [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {APP_ROLE}, {WHOLE_ROLE}",
        f"CREATE POLICY scope_read ON {table} FOR SELECT TO {APP_ROLE} USING ({in_scope})",
        f"CREATE POLICY scope_insert ON {table} FOR INSERT TO {APP_ROLE} WITH CHECK ({writable})",
        f"CREATE POLICY scope_update ON {table} FOR UPDATE TO {APP_ROLE} USING ({in_scope})"
        f" WITH CHECK ({writable})",
        f"CREATE POLICY scope_delete ON {table} FOR DELETE TO {APP_ROLE} USING ({writable})",
        f"CREATE POLICY whole_read ON {table} FOR SELECT TO {WHOLE_ROLE} USING (true)",
        f"CREATE POLICY whole_insert ON {table} FOR INSERT TO {WHOLE_ROLE} WITH CHECK ({may_write(table)})",
        f"CREATE POLICY whole_update ON {table} FOR UPDATE TO {WHOLE_ROLE} USING (true)"
        f" WITH CHECK ({may_write(table)})",
        f"CREATE POLICY whole_delete ON {table} FOR DELETE TO {WHOLE_ROLE} USING ({may_write(table)})",
    ]
    if audit:
        statements.append(
            f"CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON {table}"
            " FOR EACH ROW EXECUTE FUNCTION twin_audit()"
        )
    if table in PARENT_VISIBLE:
        column = PARENT_VISIBLE[table]
        ids = VEHICLES if table == "positions" else ROUTES
        statements.append(
            f"CREATE POLICY parent_read ON {table} FOR SELECT TO {APP_ROLE}"
            f" USING ({column} = ANY ({ids}::int[]))"
        )
    return statements


def unscope_table_sql(table: str) -> list[str]:
    statements = [f"DROP TRIGGER IF EXISTS audit ON {table}"]
    statements += [f"DROP POLICY IF EXISTS {name} ON {table}" for name in POLICIES]
    statements += [
        f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY",
        f"REVOKE ALL ON {table} FROM {APP_ROLE}, {WHOLE_ROLE}",
    ]
    return statements
