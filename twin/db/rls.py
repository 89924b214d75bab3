"""Row-level security: the one scope rule every school-owned table obeys, written by migrations.

The server's connections run as the role `twin_app` (see twin.db.engine), which owns nothing and has no
BYPASSRLS, so every query it makes — from any endpoint, including ones written later — is filtered by
these policies. The scope is a transaction-local setting made from the caller's token:

- `twin.scope`: the org paths (ltree[]) the caller may see; an empty array sees nothing;
- `twin.role`: the caller's role, which `write_grants` maps to the tables it may change;
- `twin.routes`, `twin.vehicles`: for parents, the bus routes and vehicles of their own children;
- `twin.user`: who is acting, for the audit log.

Each setting is read through `(SELECT current_setting(…))` so it is evaluated once per query, not per row.
"""

from __future__ import annotations

APP_ROLE = "twin_app"

SCOPE = "(SELECT coalesce(nullif(current_setting('twin.scope', true), ''), '{}')::ltree[])"
ROLE = "(SELECT current_setting('twin.role', true))"
ROUTES = "(SELECT coalesce(nullif(current_setting('twin.routes', true), ''), '{}')::int[])"
VEHICLES = "(SELECT coalesce(nullif(current_setting('twin.vehicles', true), ''), '{}')::int[])"

# Tables a parent may read beyond nothing, and the column that ties a row to their child's bus.
PARENT_VISIBLE = {
    "bus_routes": "id",
    "bus_stops": "route_id",
    "vehicles": "route_id",
    "positions": "vehicle_id",
}


def may_write(table: str) -> str:
    return f"EXISTS (SELECT 1 FROM write_grants g WHERE g.role = {ROLE} AND g.table_name = '{table}')"


def scope_table_sql(table: str, *, audit: bool = True) -> list[str]:
    """Statements that put `table` under the scope rule (and, unless high-volume, the audit trigger)."""
    in_scope = f"org_path <@ {SCOPE}"
    writable = f"{in_scope} AND {may_write(table)}"
    statements = [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {APP_ROLE}",
        f"CREATE POLICY scope_read ON {table} FOR SELECT TO {APP_ROLE} USING ({in_scope})",
        f"CREATE POLICY scope_insert ON {table} FOR INSERT TO {APP_ROLE} WITH CHECK ({writable})",
        f"CREATE POLICY scope_update ON {table} FOR UPDATE TO {APP_ROLE} USING ({in_scope})"
        f" WITH CHECK ({writable})",
        f"CREATE POLICY scope_delete ON {table} FOR DELETE TO {APP_ROLE} USING ({writable})",
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
    statements += [
        f"DROP POLICY IF EXISTS {name} ON {table}"
        for name in ("scope_read", "scope_insert", "scope_update", "scope_delete", "parent_read")
    ]
    statements += [
        f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY",
        f"REVOKE ALL ON {table} FROM {APP_ROLE}",
    ]
    return statements
