"""What the scope rule costs: row-level security vs the same query with a literal filter, on 2.5M rows.

Both sides run in one process against one table: the "literal" side as the table owner (RLS does not
apply) with `WHERE org_path <@ '<scope>'` written in; the "RLS" side as `twin_app` with the scope set the
way the server sets it, and no filter in the query.
"""

from __future__ import annotations

import platform

import psycopg
from rich.console import Console

from bench.common import Timing, bench_database, connect, measure, write_section
from twin.access.passwords import hash_password
from twin.db.rls import APP_ROLE, WHOLE_ROLE

SCHOOLS = 50_000
POINTS_PER_SCHOOL = 50
CITIES, COUNTIES_PER_CITY = 17, 10
console = Console()

# A province, its cities and counties, `per_county` schools in each, and a campus per school; shared by
# the benches that need a province (bench/hazards.py).
PROVINCE_TREE = """
INSERT INTO org_units (code, name, level, path) VALUES ('410000', 'province', 'province', '410000');
INSERT INTO org_units (code, name, level, parent_id, path)
  SELECT lpad((4100 + c)::text || '00', 6, '0'), 'city ' || c, 'city', 1,
         ('410000.' || (4100 + c) || '00')::ltree
    FROM generate_series(1, %(cities)s) c;
INSERT INTO org_units (code, name, level, parent_id, path)
  SELECT (4100 + c)::text || lpad(k::text, 2, '0'), 'county', 'county', u.id,
         (u.path::text || '.' || (4100 + c)::text || lpad(k::text, 2, '0'))::ltree
    FROM generate_series(1, %(cities)s) c CROSS JOIN generate_series(1, %(counties)s) k
    JOIN org_units u ON u.code = (4100 + c)::text || '00';
INSERT INTO org_units (code, name, level, parent_id, path)
  SELECT u.code || lpad(s::text, 4, '0'), 'school', 'school', u.id,
         (u.path::text || '.' || u.code || lpad(s::text, 4, '0'))::ltree
    FROM org_units u CROSS JOIN generate_series(1, %(per_county)s) s WHERE u.level = 'county';
INSERT INTO campuses (org_path, school_id, code, name, metric_srid, boundary)
  SELECT path, id, 'C' || code, 'campus', 4546,
         ST_Multi(ST_MakeEnvelope(111 + (id %% 500) * 0.01, 33 + (id / 500) * 0.01,
                                  111.004 + (id %% 500) * 0.01, 33.004 + (id / 500) * 0.01, 4326))
    FROM org_units WHERE level = 'school';
"""

POPULATE = """
-- bulk load: no audit rows for generated data
SET session_replication_role = replica;
{tree}
INSERT INTO risk_points (org_path, campus_id, code, name, category, level, geom)
  SELECT c.org_path, c.id, 'R' || n, 'risk', (ARRAY['fire','laboratory','canteen','traffic'])[1 + n %% 4],
         1 + (n + c.id) %% 4, ST_SetSRID(ST_MakePoint(ST_X(ST_Centroid(c.boundary)) + n * 1e-5,
                                                      ST_Y(ST_Centroid(c.boundary))), 4326)
    FROM campuses c CROSS JOIN generate_series(1, %(points)s) n;
SET session_replication_role = origin;
ANALYZE;
"""

ITEMS = "SELECT id, code, level, ST_AsBinary(geom) FROM risk_points {where} ORDER BY id LIMIT 100"
AGGREGATE = "SELECT level, count(*) FROM risk_points {where} GROUP BY level"


def populate(conn: psycopg.Connection) -> None:
    if conn.execute("SELECT count(*) FROM risk_points").fetchone() == (SCHOOLS * POINTS_PER_SCHOOL,):
        return
    conn.execute("TRUNCATE org_units, campuses, risk_points, users RESTART IDENTITY CASCADE")
    conn.execute("SET session_replication_role = replica")  # TRUNCATE of audit_log is refused by design
    per_county = SCHOOLS // (CITIES * COUNTIES_PER_CITY) + 1
    with console.status(f"generating {SCHOOLS * POINTS_PER_SCHOOL:,} risk points in {SCHOOLS:,} schools…"):
        params = {
            "cities": CITIES,
            "counties": COUNTIES_PER_CITY,
            "per_county": per_county,
            "points": POINTS_PER_SCHOOL,
        }
        for statement in filter(str.strip, POPULATE.replace("{tree}", PROVINCE_TREE).split(";\n")):
            conn.execute(statement, params)
        # Trim to exactly SCHOOLS schools' worth of points, so the row count is the advertised one.
        conn.execute("DELETE FROM risk_points WHERE campus_id > %s", (SCHOOLS,))
        conn.execute("VACUUM ANALYZE risk_points")


def scopes(conn: psycopg.Connection) -> dict[str, str]:
    pick = "SELECT path::text FROM org_units WHERE level = %s ORDER BY id LIMIT 1"
    return {
        level: conn.execute(pick, (level,)).fetchone()[0]  # type: ignore[index]
        for level in ("school", "county", "city", "province")
    }


def analyst(owner: psycopg.Connection, path: str) -> int:
    """A user at `path`, made the way `twin user add` makes one."""
    found = owner.execute("SELECT id FROM users WHERE username = %s", (f"bench_{path}",)).fetchone()
    if found:
        return int(found[0])
    row = owner.execute(
        "INSERT INTO users (username, password_hash, role, org_id, org_path)"
        " SELECT %s, %s, 'analyst', id, path FROM org_units WHERE path = %s::ltree RETURNING id",
        (f"bench_{path}", hash_password("bench-password-1"), path),
    ).fetchone()
    assert row is not None
    return int(row[0])


def run() -> str:
    settings = bench_database("twin_bench_scope")
    with connect(settings) as owner, connect(settings) as app:
        populate(owner)
        app.execute(f"SET ROLE {APP_ROLE}")
        rows = []
        for level, path in scopes(owner).items():
            uid = analyst(owner, path)
            with app.transaction():
                # Exactly what every request does (twin.access.scope.begin_request).
                whole = app.execute("SELECT whole FROM twin_begin_request(%s, 1)", (uid,)).fetchone()
                assert whole is not None
                if whole[0]:
                    app.execute(f"SET LOCAL ROLE {WHOLE_ROLE}")
                for name, query in (("items (100)", ITEMS), ("aggregate", AGGREGATE)):
                    literal = measure(
                        f"{name} literal",
                        lambda q=query, p=path: owner.execute(
                            q.format(where="WHERE org_path <@ %s::ltree"), (p,)
                        ).fetchall(),
                    )
                    bare = measure(f"{name} rls", lambda q=query: app.execute(q.format(where="")).fetchall())
                    # What endpoints run: RLS plus the caller's scope written in (twin.access.planner_scope).
                    both = measure(
                        f"{name} rls+filter",
                        lambda q=query, p=path, w=whole[0]: app.execute(
                            q.format(where="" if w else "WHERE org_path <@ %s::ltree"), () if w else (p,)
                        ).fetchall(),
                    )
                    n = (
                        len(app.execute("SELECT id FROM risk_points").fetchall())
                        if name == "aggregate"
                        else 100
                    )
                    rows.append((level, name, n, literal, bare, both))
                    console.print(
                        f"{level:9} {name:12} literal {literal.median_ms:8.2f} ms   "
                        f"rls {bare.median_ms:8.2f} ms   rls+filter {both.median_ms:8.2f} ms"
                    )
    return report(rows)


def report(rows: list[tuple[str, str, int, Timing, Timing, Timing]]) -> str:
    lines = [
        f"risk_points: {SCHOOLS * POINTS_PER_SCHOOL:,} rows in {SCHOOLS:,} schools; PostgreSQL + PostGIS on "
        f"{platform.machine()}, 2 cores. Median of 15 runs after 2 warm-ups; both sides in one run.",
        "",
        "Reproduce: `make bench` (or `.venv/bin/python -m bench scope`).",
        "",
        "Columns: the query as the table owner with the scope written in (no RLS); as `twin_app` with only",
        "row-level security; and as endpoints run it, RLS plus the scope written in (the planner can size",
        "it because `ltree <@` is marked leakproof). A province-wide caller runs as `twin_app_all`.",
        "",
        "| scope | query | rows | owner + filter ms | RLS only ms | RLS + filter ms | RLS + filter / owner |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for level, name, n, literal, bare, both in rows:
        lines.append(
            f"| {level} | {name} | {n:,} | {literal.median_ms:.2f} | {bare.median_ms:.2f} | "
            f"{both.median_ms:.2f} | {both.median_ms / literal.median_ms:.2f} |"
        )
    return "\n".join(lines)


def main() -> None:
    write_section("Cost of the scope rule (row-level security)", run())


if __name__ == "__main__":
    main()
