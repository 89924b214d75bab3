"""Every SQL statement of the statistics, with bound parameters.

Facts are aggregated by key, never by a spatial join: the group of a row is the ancestor of its org path
at the requested level (`subpath(org_path, 0, depth)`; province 1, city 2, county 3, school 4). The groups
themselves come from `org_units` under the caller's own path, so a group with nothing to count still shows
(with zeros) and nothing outside the jurisdiction is named. Row-level security filters the facts; the
literal scope (twin.access.planner_scope) is for the planner only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from twin.stats.period import Period
from twin.stats.summary_sql import BY_CODE, in_code_range, span_cte, summary_for, summary_sql
from twin.stats.topics import Topic

# The server settings of a statistics transaction (twin.api.deps.Statistics; the bench's direct runs too):
# - planned for these values every time: the driver's prepared statement would switch to a generic plan
#   after five runs, and the best plan for a school's 1 group and a province's 50k differs by minutes;
# - no JIT: compiling took 20–40 ms of statements that run in 50–250 ms over the summaries.
# - sorts and hashes of 50k groups in memory (4 MB spilled them to disk).
PLANNING = {"plan_cache_mode": "force_custom_plan", "jit": "off", "work_mem": "32MB"}
DEPTH = {"province": 1, "city": 2, "county": 3, "school": 4}
GROUPS = tuple(DEPTH)
# Group codes from (inclusive) to (exclusive), compared byte by byte as the groups are sorted (BY_CODE);
# None leaves that end open.
CodeRange = tuple[str | None, str | None]


@dataclass(frozen=True)
class StatsRequest:
    """What to count, for whom: plain values, so the CLI and the bench build the same SQL as the API."""

    topic: Topic
    group_by: str
    unit_scope: str  # the org path whose units may be named (the caller's)
    fact_scope: str | None  # the literal scope for the planner; None: whole territory
    now: datetime
    timezone: str
    period: Period | None = None
    per: str | None = None  # time bucket
    split: str | None = None  # split expression (from Topic.split)
    geometry: bool = False  # also each group's boundary as WKB (maps and GeoPackage/GeoParquet)
    codes: CodeRange | None = None  # only the schools of this range (twin.stats.parallel); by school only


def _time_bucket(topic: Topic) -> str:
    if topic.time_is_date:
        return f"date_trunc(:per, t.{topic.time}::timestamp)::date"
    return f"(date_trunc(:per, t.{topic.time}, :tz) AT TIME ZONE :tz)::date"


def _period_filter(topic: Topic) -> str:
    if topic.time_is_date:
        return f"t.{topic.time} >= :start AND t.{topic.time} < :end"
    return (
        f"t.{topic.time} >= (CAST(:start AS date)::timestamp AT TIME ZONE :tz)"
        f" AND t.{topic.time} < (CAST(:end AS date)::timestamp AT TIME ZONE :tz)"
    )


# A group's key is its org path as text: ltree has no hash support in PostgreSQL 15, so keyed on the ltree
# itself every join and group-by of 50k schools was a sort of ltree values (half the statement's time).
KEY = "subpath({alias}.org_path, 0, :depth)::text"

GROUPED_UNITS = """
    SELECT x.key, x.enrolment, x.schools, g.code, g.name, g.level, coalesce(g.boundary, x.hull) AS boundary
      FROM (SELECT subpath(o.path, 0, :depth)::text AS key, sum(o.enrolment)::bigint AS enrolment,
                   count(*) AS schools, {hull} AS hull
              FROM org_units o
             WHERE o.level = 'school' AND o.path <@ CAST(:unit_scope AS ltree) AND nlevel(o.path) >= :depth
             GROUP BY 1) x
     CROSS JOIN LATERAL (SELECT o.code, o.name, o.level, o.boundary FROM org_units o
                          WHERE o.path = x.key::ltree LIMIT 1) g  -- one unique-index probe per group
"""
# A region with no stored boundary (the samples store schools' only) is drawn as the hull of its schools:
# computed only when a map asks for shapes.
SCHOOLS_HULL = "ST_Multi(ST_ConvexHull(ST_Collect(o.boundary)))"
# Schools are the fourth level of the tree: a school group is the school's own row, no grouping or join
# (50k groups for a province).
SCHOOL_UNITS = """
    SELECT o.path::text AS key, o.enrolment::bigint AS enrolment, 1::bigint AS schools, o.code, o.name,
           o.level, {boundary}
      FROM org_units o
     WHERE o.level = 'school' AND o.path <@ CAST(:unit_scope AS ltree) AND nlevel(o.path) = :depth
"""


def units_sql(req: StatsRequest) -> str:
    """The groups under the caller's path: key, code, name, level, boundary, schools and enrolment."""
    if req.group_by == "school":
        if req.codes is None:
            return SCHOOL_UNITS.format(boundary="o.boundary")
        # A range's schools are materialised (the statement reads them thrice): their path as an ltree
        # for summary_sql.span_cte, no shapes unless asked (a school's outline can be kilobytes).
        boundary = "o.boundary" if req.geometry else "NULL::geometry AS boundary"
        return SCHOOL_UNITS.format(boundary=f"{boundary}, o.path") + _code_range(req)
    if req.codes is not None:
        raise ValueError("a range of codes splits statistics by school only")
    return GROUPED_UNITS.format(hull=SCHOOLS_HULL if req.geometry else "NULL::geometry")


def _code_range(req: StatsRequest) -> str:
    if req.codes is None:
        return ""
    first, end = req.codes  # compared as BY_CODE sorts
    bounds = ['o.code COLLATE "C" >= :code_from'] if first is not None else []
    bounds += ['o.code COLLATE "C" < :code_to'] if end is not None else []
    return "".join(f"       AND {b}\n" for b in bounds)


def _params(req: StatsRequest) -> tuple[dict[str, Any], str | None]:
    """The bound parameters of a request, and its period filter over the raw rows (alias t)."""
    topic = req.topic
    params: dict[str, Any] = {"depth": DEPTH[req.group_by], "unit_scope": req.unit_scope, "now": req.now}
    if req.fact_scope is not None:
        params["fact_scope"] = req.fact_scope
    if req.codes is not None:
        first, end = req.codes
        params.update({k: v for k, v in (("code_from", first), ("code_to", end)) if v is not None})
    if req.per is not None and topic.time is not None:
        params["per"] = req.per
    period_filter = None
    if req.period is not None and topic.time is not None:
        period_filter = _period_filter(topic)
        params.update(start=req.period.start, end=req.period.end)
    if topic.time is not None and not topic.time_is_date:
        params["tz"] = req.timezone
    return params, period_filter


def stats_sql(req: StatsRequest, *, order: bool = True) -> tuple[str, dict[str, Any]]:
    """The statement and its parameters for one statistics request: from the summary when it answers.

    Sorted by group (then split, then bucket) unless `order` is false (a caller that sorts itself)."""
    summary = summary_for(req)
    if summary is None:
        return raw_stats_sql(req, order=order)
    params, period_filter = _params(req)
    return summary_sql(summary, req, params, period_filter, units_sql(req), order=order), params


def raw_stats_sql(req: StatsRequest, *, order: bool = True) -> tuple[str, dict[str, Any]]:
    """The statement over the fact rows themselves (another calendar, a topic with no summary; the
    tests' and the bench's reference for the summaries)."""
    params, period_filter = _params(req)
    return _raw_sql(req, period_filter, order), params


def _raw_sql(req: StatsRequest, period_filter: str | None, order: bool = True) -> str:
    """The statement over the fact rows themselves (split by a category, or another calendar)."""
    topic = req.topic
    keys = [f"{KEY.format(alias='t')} AS key"]
    where = ["nlevel(t.org_path) >= :depth"]
    if req.fact_scope is not None:
        where.append("t.org_path <@ CAST(:fact_scope AS ltree)")
    if req.split is not None:
        keys.append(f"{req.split} AS split")
    if req.per is not None and topic.time is not None:
        keys.append(f"{_time_bucket(topic)} AS period")
    if period_filter is not None:
        where.append(period_filter)
    where += in_code_range(req, "t")
    measures = [f"{sql} AS {name}" for name, sql in topic.measures.items()]
    group = ", ".join(str(i + 1) for i in range(len(keys)))
    extra = [k.rsplit(" AS ", 1)[1] for k in keys[1:]]
    select_extra = "".join(f", f.{name}" for name in extra)
    order_by = f"\n ORDER BY {BY_CODE}" + "".join(f", f.{name}" for name in extra) if order else ""
    geom = ", ST_AsBinary(u.boundary) AS geom" if req.geometry else ""
    return f"""
WITH units AS ({units_sql(req)}){span_cte(req)}, facts AS (
    SELECT {", ".join(keys)}, {", ".join(measures)}
      FROM {topic.table} t
     WHERE {" AND ".join(where)}
     GROUP BY {group}
)
SELECT u.code, u.name, u.level, u.schools, u.enrolment{select_extra},
       {", ".join(f"coalesce(f.{name}, 0) AS {name}" for name in topic.measures)}{geom}
  FROM units u
  LEFT JOIN facts f ON f.key = u.key{order_by}
"""


async def fetch_stats(conn: AsyncConnection, req: StatsRequest) -> list[dict[str, Any]]:
    """The rows of one statistic, with rates added.

    `conn` must have the PLANNING settings (twin.api.deps.Statistics)."""
    sql, params = stats_sql(req)
    rows = (await conn.execute(text(sql), params)).mappings().all()
    return [with_rates(req.topic, dict(r)) for r in rows]


async def unit_path(conn: AsyncConnection, code: str) -> str | None:
    """The org path of the unit `code` (org_units is not school-owned: callers check the scope)."""
    query = text("SELECT path::text FROM org_units WHERE code = :code")
    path = (await conn.execute(query, {"code": code})).scalar_one_or_none()
    return None if path is None else str(path)


def ratio(num: int, den: int, places: int) -> float:
    """num / den rounded half away from zero to `places` decimals: PostgreSQL's round(numeric), which
    builds the JSON rows (twin.stats.json_rows), so every format carries the same number."""
    exact = Decimal(num) / Decimal(den)
    return float(exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


def with_rates(topic: Topic, row: dict[str, Any]) -> dict[str, Any]:
    """Rates per 1,000 students and percentages; None where the denominator is unknown or zero."""
    enrolment = row.get("enrolment")
    for m in topic.per_1000:
        row[f"{m}_per_1000"] = ratio(row[m] * 1000, enrolment, 3) if enrolment else None
    for name, (num, den) in topic.percent.items():
        row[name] = ratio(100 * row[num], row[den], 1) if row[den] else None
    for key in ("period",):
        if isinstance(row.get(key), date):
            row[key] = row[key].isoformat()
    return row


def points_sql(
    topic: Topic, fact_scope: str | None, period: Period | None, grid_deg: float, tz: str
) -> tuple[str, dict[str, Any]]:
    """The topic's points in scope snapped to a grid far finer than the hexagons, counted per grid node.

    Hexagons are computed in Python (h3 is not in Debian's PostgreSQL packages); snapping first keeps
    a province of 2.5M points to the few hundred thousand nodes that carry them.
    """
    params: dict[str, Any] = {"grid": grid_deg}
    where = ["t.geom IS NOT NULL"]
    if fact_scope is not None:
        where.append("t.org_path <@ CAST(:fact_scope AS ltree)")
        params["fact_scope"] = fact_scope
    if period is not None and topic.time is not None:
        where.append(_period_filter(topic))
        params.update(start=period.start, end=period.end)
        if not topic.time_is_date:
            params["tz"] = tz
    sql = f"""
SELECT ST_X(p) AS lon, ST_Y(p) AS lat, n
  FROM (SELECT ST_SnapToGrid(t.geom, :grid) AS p, count(*) AS n
          FROM {topic.table} t
         WHERE {" AND ".join(where)}
         GROUP BY 1) s
"""
    return sql, params


async def fetch_points(
    conn: AsyncConnection,
    topic: Topic,
    fact_scope: str | None,
    period: Period | None,
    grid_deg: float,
    tz: str,
) -> list[tuple[float, float, int]]:
    sql, params = points_sql(topic, fact_scope, period, grid_deg, tz)
    rows = (await conn.execute(text(sql), params)).all()
    return [(r.lon, r.lat, r.n) for r in rows]


# The schools of a scope and the codes that cut them into equal parts, in the order the groups are sorted
# (twin.stats.parallel).
SPLIT_SQL = """
SELECT count(*) AS schools,
       percentile_disc(CAST(:fractions AS float8[])) WITHIN GROUP (ORDER BY o.code COLLATE "C") AS points
  FROM org_units o
 WHERE o.level = 'school' AND o.path <@ CAST(:unit_scope AS ltree) AND nlevel(o.path) = :depth
"""


async def school_split(
    conn: AsyncConnection, unit_scope: str, fractions: list[float]
) -> tuple[int, list[str | None]]:
    """How many schools lie under `unit_scope`, and the codes at those fractions of them in code order."""
    params = {"fractions": fractions, "unit_scope": unit_scope, "depth": DEPTH["school"]}
    row = (await conn.execute(text(SPLIT_SQL), params)).one()
    return int(row.schools), list(row.points or ())
