"""Statistics endpoints vs the same SQL run directly, side by side, on a province of 50,000 schools.

The province is bench/scope.py's (2.5M risk points, made with SQL in seconds) plus 1M hazards and
200k drills made the same way (education sessions are not timed). Each endpoint is called through the
whole app (ASGI: token, scope, row-level security, JSON) by an analyst of a school, a county, a city and the
province; "direct" is the statement twin.stats builds (from the per-school summaries where they answer),
run by the table owner with the scope written in; "raw" the same statistic counted over the fact rows;
"floor" the endpoint's very statement behind a bare FastAPI + asyncpg route (bench/floor.py), called the
same way, whose body must equal the endpoint's.
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable
from datetime import UTC, datetime

import psycopg
from fastapi.testclient import TestClient
from rich.console import Console

from bench.common import Timing, bench_database, connect, measure, write_section
from bench.floor import Statement, dollar, floor_app
from bench.scope import analyst, populate, scopes
from twin.access.roles import Role
from twin.access.scope import Caller
from twin.access.tokens import issue_tokens
from twin.api import create_app
from twin.config import Settings
from twin.samples.activities import seed_activities, seed_activities_sql
from twin.stats import queries as q
from twin.stats.json_rows import json_rows_sql
from twin.stats.service import Query, build_request, columns_for
from twin.stats.topics import topic

console = Console()
HAZARDS_PER_SCHOOL = 20
NOW = datetime(2026, 11, 20, tzinfo=UTC)
CASES = (
    ("risks by county", Query("risks", "county")),
    ("hazards by school, 2026", Query("hazards", "school", period="2026")),
    ("hazards by city per month", Query("hazards", "city", period="2026", per="month")),
    ("hazards by county, 15 Mar–30 Sep", Query("hazards", "county", period="2026-03-15/2026-09-30")),
    ("drills by county", Query("drills", "county")),
    ("hazards by county, split by grade", Query("hazards", "county", split="grade")),
)
HAZARDS = """
SET session_replication_role = replica;
INSERT INTO hazards (org_path, campus_id, number, name, category, grade, state, found_at, deadline, geom)
SELECT r.org_path, r.campus_id, 'YH-' || r.id, 'hazard', r.category,
       CASE WHEN r.id %% 10 = 0 THEN 'major' ELSE 'general' END,
       (ARRAY['reported','assigned','rectifying','closed','closed'])[1 + r.id %% 5],
       timestamptz '2026-01-01' + (r.id %% 330) * interval '1 day',
       timestamptz '2026-01-20' + (r.id %% 330) * interval '1 day', r.geom
  FROM risk_points r WHERE r.id %% 50 < %(per_school)s;
SET session_replication_role = origin;
"""


def _seed_drills(conn: psycopg.Connection) -> None:
    """The drills of every school, with the org-path index built once after the rows: 200k GiST inserts
    of 50k repeated paths took 12 minutes on the loaded machine, a build takes seconds."""
    with console.status("generating drills…"):
        conn.execute("DROP INDEX IF EXISTS ix_drills_org_path")
        statement = seed_activities_sql()[0]  # drills (education sessions are not timed here)
        conn.execute(statement.replace("%", "%%").replace(":under", "%(under)s"), {"under": "410000"})
        conn.execute("CREATE INDEX ix_drills_org_path ON drills USING gist (org_path)")
        conn.execute("VACUUM ANALYZE drills")


def populate_stats(conn: psycopg.Connection) -> None:
    populate(conn)
    if conn.execute("SELECT count(*) > 0 FROM hazards").fetchone() == (True,):
        if conn.execute("SELECT NOT EXISTS (SELECT 1 FROM drills)").fetchone() == (True,):
            _seed_drills(conn)
        return
    with console.status("generating hazards, drills and sessions…"):
        for statement in filter(str.strip, HAZARDS.split(";\n")):
            conn.execute(statement, {"per_school": HAZARDS_PER_SCHOOL})
        conn.execute("UPDATE org_units SET enrolment = 800 + (id * 37) % 2800 WHERE level = 'school'")
        from sqlalchemy import create_engine

        engine = create_engine("postgresql+psycopg://", creator=lambda: psycopg.connect(conn.info.dsn))
        with engine.begin() as c:
            c.exec_driver_sql("SET session_replication_role = replica")
            seed_activities(c, "410000")
        engine.dispose()
        conn.execute("VACUUM ANALYZE")
    # The data above is made with the triggers off (replica): the summaries are built once, as after a
    # bulk load (twin.samples.copyload.finish).
    # Any timed topic's summary empty means they were never built (stats_risks alone may hold the sample's).
    empty = " OR ".join(f"NOT EXISTS (SELECT 1 FROM stats_{t})" for t in ("risks", "hazards", "drills"))
    if conn.execute(f"SELECT {empty}").fetchone() == (True,):
        with console.status("building the per-school summaries…"):
            conn.execute("SELECT twin_stats_rebuild()")
            conn.execute("VACUUM ANALYZE")


def _url(query: Query) -> str:
    params = {"group_by": query.group_by, "period": query.period, "per": query.per, "split": query.split}
    text = "&".join(f"{k}={v}" for k, v in params.items() if v)
    return f"/stats/{query.topic}?{text}"


Row = tuple[str, str, int, str, Timing, Timing, Timing, Timing, Timing, int]


def run() -> str:
    settings: Settings = bench_database("twin_bench_stats")
    rows: list[Row] = []
    load_before = _load()
    with connect(settings) as owner:
        populate_stats(owner)
        # As the endpoint does (twin.stats.queries.PLANNING): psycopg prepares a statement after five
        # runs, and a generic plan of the province's statements takes minutes; no JIT.
        for name, value in q.PLANNING.items():
            owner.execute("SELECT set_config(%s, %s, false)", (name, value))
        app = create_app(settings)
        app.state.clock = lambda: NOW
        floor = floor_app(settings, q.PLANNING)
        with TestClient(app) as client, TestClient(floor) as bare:
            for level, path in scopes(owner).items():
                uid = analyst(owner, path)
                token = issue_tokens(uid, 1, settings.auth, app.state.jwt_secret).access_token
                headers = {"Authorization": f"Bearer {token}"}
                caller = Caller(uid, "bench", Role.analyst, path, None, whole=level == "province")
                for label, query in CASES:
                    req = build_request(caller, query, NOW, settings.stats)
                    sql, params = q.stats_sql(req)  # what the endpoint runs (summary or raw)
                    if "fact_scope" not in params and level != "province":
                        raise AssertionError("a non-province caller must carry a literal scope")
                    raw_sql, raw_params = q.raw_stats_sql(req)  # over the fact rows: before 0018
                    raw = measure(
                        "raw",
                        lambda s=raw_sql, p=raw_params: owner.execute(_pyformat(s), p).fetchall(),
                        repeat=5,
                        warmup=1,
                    )
                    columns = columns_for(req, query)
                    json_sql, json_params = json_rows_sql(req, columns)  # as the endpoint
                    url = _url(query)
                    floor.state.statements[url.partition("?")[2]] = Statement(
                        *dollar(json_sql, json_params), query, topic(query.topic).title, columns
                    )
                    direct, same, bottom, endpoint = measure_side_by_side(
                        {
                            "direct": lambda s=sql, p=params: owner.execute(_pyformat(s), p).fetchall(),
                            "same SQL": lambda s=json_sql, p=json_params: owner.execute(
                                _pyformat(s), p
                            ).fetchall(),
                            "floor": lambda u=url: _ok(bare.get(u)),
                            "endpoint": lambda u=url, h=headers: _ok(client.get(u, headers=h)),
                        }
                    )
                    answer = owner.execute(_pyformat(sql), params).fetchall()
                    if answer != owner.execute(_pyformat(raw_sql), raw_params).fetchall():
                        raise AssertionError(f"{level} {label}: the summary disagrees with the rows")
                    answered = client.get(url, headers=headers)
                    if bare.get(url).content != answered.content:  # in parts too: the same bytes
                        raise AssertionError(f"{level} {label}: the endpoint's body is not the floor's")
                    parts = int(answered.headers["Twin-Stats-Parts"])
                    source = "summary" if "FROM stats_" in sql else "rows"
                    rows.append(
                        (level, label, len(answer), source, raw, direct, same, bottom, endpoint, parts)
                    )
                    console.print(
                        f"{level:9} {label:34} groups {len(answer):6} {source:7} raw {raw.median_ms:8.1f}"
                        f"  direct {direct.median_ms:7.1f}  same SQL {same.median_ms:7.1f}"
                        f"  floor {bottom.median_ms:7.1f}  endpoint {endpoint.median_ms:7.1f} ms"
                        f"  ({parts} part{'s' if parts > 1 else ''})"
                    )
    return report(rows, load_before, settings)


def measure_side_by_side(
    fns: dict[str, Callable[[], object]], *, repeat: int = 15, warmup: int = 2
) -> list[Timing]:
    """Each function `repeat` times, taking turns, so a spell of load elsewhere on the machine falls on
    all of them alike (the columns of one row are compared with each other)."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    timings = {label: Timing(label) for label in fns}
    for _ in range(repeat):
        for label, fn in fns.items():
            start = time.perf_counter()
            fn()
            timings[label].seconds.append(time.perf_counter() - start)
    return list(timings.values())


def _ok(response: object) -> None:
    assert getattr(response, "status_code", None) == 200, getattr(response, "text", response)


def _pyformat(sql: str) -> str:
    """`:name` (SQLAlchemy) as `%(name)s` (psycopg); the casts `::type` stay."""
    import re

    return re.sub(r"(?<![:\w]):(\w+)", r"%(\1)s", sql.replace("%", "%%"))


def report(rows: list[Row], load_before: str, settings: Settings) -> str:
    lines = [
        "Province of bench/scope.py: 50,000 schools, 2.5M risk points, 1M hazards, 200k drills;"
        f" PostgreSQL + PostGIS on {platform.machine()}, 2 cores. Median of 15 runs after 2 warm-ups, the",
        "four timed columns taking turns (raw: 5 after 1, before them).",
        "",
        "Reproduce: `.venv/bin/python -m bench stats`. Endpoint: the whole app in-process (token, scope,",
        "row-level security, JSON — the rows array built by PostgreSQL around the statement, twin.stats.",
        "json_rows); direct: the plain grouped statement (no JSON), from the per-school summaries of",
        "migrations 0018 and 0022 (splits) where they answer, else over the rows, as the table owner with",
        "the scope written in and the endpoint's planner settings (twin.stats.queries.PLANNING); raw: the",
        "same statistic counted over the fact rows (what the endpoint ran before 0018); same SQL: the",
        "very statement the endpoint sends (the plain one wrapped in the JSON array of its rows), run the",
        "same way as direct; floor: that statement behind a bare FastAPI + asyncpg route (bench/floor.py:",
        "no token, scope, row-level security or transaction; one round trip), called in-process the same",
        "way as the endpoint, answering the same body (checked byte for byte). Every answer is checked",
        "equal to the raw one. Goal: p50 ≤ 200 ms and ≤ 1.3× the same SQL run directly. Load average",
        f"before / after this run: {load_before} and {_load()} (2 cores; the bench's own processes count);",
        "read the ratios within one row.",
        "",
        "| analyst at | statistic | groups | from | raw ms | direct ms | same SQL ms | floor ms | endpoint ms"
        " | endpoint / same SQL | endpoint / direct | endpoint − floor ms |",
        "|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for level, label, groups, source, raw, direct, same, bottom, endpoint, _ in rows:
        lines.append(
            f"| {level} | {label} | {groups:,} | {source} | {raw.median_ms:.1f} | {direct.median_ms:.1f} |"
            f" {same.median_ms:.1f} | {bottom.median_ms:.1f} | {endpoint.median_ms:.1f}"
            f" | {endpoint.median_ms / same.median_ms:.2f} | {endpoint.median_ms / direct.median_ms:.2f}"
            f" | {endpoint.median_ms - bottom.median_ms:.1f} |"
        )
    in_parts = [f"{level} / {label}" for level, label, *_, parts in rows if parts > 1]
    stats = settings.stats
    lines += [
        "",
        f"Endpoint rows built in {stats.parallel_parts} parts at once (twin.stats.parallel: by school over",
        f"≥ {stats.parallel_min_schools:,} schools, one connection per range of codes, one snapshot; the",
        f"others in one statement, as floor, direct and same SQL always): {', '.join(in_parts) or 'none'}.",
        "",
        *NOTES,
    ]
    return "\n".join(lines)


# Where the time goes, measured on 2026-12-06 with bench/floor.py and EXPLAIN ANALYZE (not re-measured by
# each run; the table above is).
NOTES = (
    "What a request adds to its statement (endpoint − floor): BEGIN, `twin_begin_request` (scope, planner",
    "settings and, for the whole territory, the role, in one SELECT), COMMIT, the token and the app's",
    "middleware and routing: ~1.5 ms in-process without TestClient, 2–4 ms with it under load. The",
    "statistics' pool does not ping on checkout (asyncpg's ping is BEGIN, `;`, ROLLBACK); a dropped",
    "connection is retried once at `twin_begin_request`. The floor's own ~2 ms is TestClient and FastAPI:",
    "for statements of a millisecond the 1.3× goal is out of reach of any endpoint of this stack.",
    "For the province's 50,150 schools, PostgreSQL spends ~100 ms building the JSON array (two catalogue",
    "lookups per value in PostgreSQL 15's composite_to_json, 13 values a row); `format()`, `||` and",
    "`array_to_string` texts were slower, asyncpg records with `json.dumps` in Python slower still, and",
    "parallel workers do not take the projection. The statement itself is ~110 ms to its last join.",
    "In parts (twin.stats.parallel, measured 2026-12-06 at load 1.4–4 with a province build beside it):",
    "each half of the province's schools runs in 158–160 ms in PostgreSQL against 284 ms for the whole",
    "(best of 6, `length()` of the array, no transfer), but the parts' backends spend ~30% more CPU in all",
    "(/proc: 305–320 against 230–240 ms a request: each part scans every org unit and the whole overdue",
    "index, plans, and sends its half) and the splice copies the 9.6 MB once more (~10 ms). So the parts",
    "win only with two cores free; with a core taken elsewhere the one statement is as fast or faster.",
)


def _load() -> str:
    import os

    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> None:
    write_section("Statistics endpoints vs direct SQL", run())


if __name__ == "__main__":
    main()
