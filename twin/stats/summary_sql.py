"""The statistics read from the per-school summaries (twin.db.summaries) when the question allows.

A request is answered from a summary when its topic has one, its split (if any) is one the summaries
keep (`stats_<topic>_by_<split>`, migration 0022), and its local calendar is the summaries'
(SUMMARY_TZ). Periods are whole local days (twin.stats.period), so a period is covered exactly by whole
years, whole months and single days (`cells`); the time bucket (`per`) only limits how coarse the cells
may be. Measures that compare with now subtract the rows that are not due yet, read from the raw table
through an index.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from twin.db.summaries import SUMMARIES, SUMMARY_TZ, Summary
from twin.stats.period import Period

if TYPE_CHECKING:
    from twin.stats.queries import StatsRequest

# Groups are listed in code order, byte by byte: codes are identifiers, and the "C" comparison sorts a
# province's 50k codes without the locale's rules (the JSON rows are sorted the same way).
BY_CODE = 'u.code COLLATE "C"'


def in_code_range(req: StatsRequest, alias: str) -> list[str]:
    """The facts (alias `alias`) of the org paths from the first school of `req.codes` to the last and
    under it, in ltree order: a filter at the scan, before the rows are summed. Taken from the part's own
    schools (the statement's `span`), it always holds every fact of the part; it is exactly the part's
    share when codes sort as paths do (a school's code extends its county's), else wider, never wrong."""
    if req.codes is None:
        return []
    column = f"{alias}.org_path"
    return [
        f"{column} >= (SELECT p.first FROM span p)",
        f"({column} <= (SELECT p.last FROM span p) OR {column} <@ (SELECT p.last FROM span p))",
    ]


def span_cte(req: StatsRequest) -> str:
    """The first and last org path of the schools of `req.codes` (after `units`), for in_code_range."""
    if req.codes is None:
        return ""
    end = "(SELECT u.path FROM units u ORDER BY 1{} LIMIT 1)"  # ltree has no min() or max()
    return f", span AS (SELECT {end.format('')} AS first, {end.format(' DESC')} AS last)"


# The coarsest cell each time bucket can be summed from.
COARSEST = {None: "year", "year": "year", "quarter": "month", "month": "month", "week": "day", "day": "day"}


def summary_for(req: StatsRequest) -> Summary | None:
    """The summary that answers `req` exactly, or None (the raw rows do)."""
    s = SUMMARIES.get(req.topic.name)
    if s is None or (req.split is not None and s.split_named(req.split) is None):
        return None
    if s.time is not None and not s.time_is_date and req.timezone != SUMMARY_TZ:
        return None
    return s


def _month(d: date) -> date:
    return date(d.year, d.month, 1)


def _next_month(d: date) -> date:
    return date(d.year + d.month // 12, d.month % 12 + 1, 1)


def cells(period: Period, coarsest: str) -> list[tuple[str, date, date]]:
    """(grain, first day, end) ranges that cover [start, end) exactly, as coarse as allowed."""
    start, end = period.start, period.end
    m0 = start if start.day == 1 else _next_month(start)
    m1 = _month(end)
    if coarsest == "day" or m0 >= m1:
        return [("day", start, end)]
    edges = [("day", start, m0), ("day", m1, end)]
    y0 = m0 if m0.month == 1 else date(m0.year + 1, 1, 1)
    y1 = date(m1.year, 1, 1)
    if coarsest == "month" or y0 >= y1:
        middle = [("month", m0, m1)]
    else:
        middle = [("month", m0, y0), ("year", y0, y1), ("month", y1, m1)]
    return [(g, a, b) for g, a, b in [*edges, *middle] if a < b]


def _cell_filter(s: Summary, req: StatsRequest, params: dict[str, Any]) -> str:
    if s.time is None:
        return "s.grain = 'all'"
    coarsest = COARSEST[req.per]
    if req.period is None:
        return f"s.grain = '{coarsest}'"
    ors = []
    for i, (grain, first, end) in enumerate(cells(req.period, coarsest)):
        params[f"c{i}_from"], params[f"c{i}_to"] = first, end
        ors.append(f"(s.grain = '{grain}' AND s.day >= :c{i}_from AND s.day < :c{i}_to)")
    return "(" + " OR ".join(ors) + ")"


def _later_cte(s: Summary, req: StatsRequest, period_filter: str | None) -> str:
    """Per group, the raw rows whose now-dependent measures are not counted yet."""
    raw_keys = ["subpath(t.org_path, 0, :depth)::text AS key"]  # as twin.stats.queries.KEY
    if req.split is not None:
        raw_keys.append(f"{req.split} AS split")
    if req.per is not None:
        raw_keys.append(f"{_raw_bucket(s)} AS period")
    where = ["nlevel(t.org_path) >= :depth", str(s.later)]
    if req.fact_scope is not None:
        where.append("t.org_path <@ CAST(:fact_scope AS ltree)")
    if period_filter is not None:
        where.append(period_filter)
    where += in_code_range(req, "t")
    counts = ", ".join(f"{agg} AS {name}" for name, (_, agg) in s.corrected.items())
    return f"""
, later AS (
    SELECT {", ".join(raw_keys)}, {counts}
      FROM {s.source} t
     WHERE {" AND ".join(where)}
     GROUP BY {", ".join(str(i + 1) for i in range(len(raw_keys)))}
)"""


def _raw_bucket(s: Summary) -> str:
    if s.time_is_date:
        return f"date_trunc(:per, t.{s.time}::timestamp)::date"
    return f"(date_trunc(:per, t.{s.time}, :tz) AT TIME ZONE :tz)::date"


def _measure(s: Summary, name: str) -> str:
    if name in s.corrected:
        column = s.corrected[name][0]
        return f"coalesce(f.{column}, 0) - coalesce(l.{name}, 0) AS {name}"
    return f"coalesce(f.{name}, 0) AS {name}"


def summary_sql(
    s: Summary,
    req: StatsRequest,
    params: dict[str, Any],
    period_filter: str | None,
    units: str,
    *,
    order: bool = True,
) -> str:
    """The statement over the summary: facts summed per group (and split, bucket), joined to the units.

    `order`: sorted by group (and split, bucket); without, for a caller that sorts itself (JSON).
    """
    split = s.split_named(req.split) if req.split is not None else None
    table = s.split_table(split) if split is not None else s.table
    keys = ["subpath(s.org_path, 0, :depth)::text AS key"]  # as twin.stats.queries.KEY
    if split is not None:
        keys.append("s.split AS split")
    if req.per is not None and s.time is not None:
        keys.append("date_trunc(:per, s.day::timestamp)::date AS period")
    # County totals answer a county-or-wider caller grouping by county or wider; a school's caller may
    # not see its county's total (row-level security hides it) and reads its school rows.
    county = req.group_by != "school" and req.unit_scope.count(".") <= 2
    where = ["nlevel(s.org_path) >= :depth", f"s.county = {county}", _cell_filter(s, req, params)]
    if req.fact_scope is not None:
        where.append("s.org_path <@ CAST(:fact_scope AS ltree)")
    where += in_code_range(req, "s")
    # Summed as doubles: sum(bigint) accumulates in numeric (a palloc'd state per group, ~15 ms of a
    # province's 50k schools); counts are whole numbers far below 2^53, so the double sum is exact.
    sums = ", ".join(f"sum(s.{c}::float8)::bigint AS {c}" for c in s.columns)
    group = ", ".join(str(i + 1) for i in range(len(keys)))
    later = _later_cte(s, req, period_filter) if s.corrected else ""
    extra = [k.rsplit(" AS ", 1)[1] for k in keys[1:]]
    join_later = ""
    if s.corrected:
        # NULL is a split value of its own (as in the GROUP BY of the raw rows); the key and the period
        # stay plain equalities, so the join can hash on them
        on = "".join(
            f" AND l.{name} IS NOT DISTINCT FROM f.{name}" if name == "split" else f" AND l.{name} = f.{name}"
            for name in extra
        )
        join_later = f" LEFT JOIN later l ON l.key = f.key{on}"
    geom = ", ST_AsBinary(u.boundary) AS geom" if req.geometry else ""
    measures = ", ".join(_measure(s, name) for name in req.topic.measures)
    select_extra = "".join(f", f.{name}" for name in extra)
    # A split value or a bucket shows only where rows are (as over the raw rows); a cell whose rows were
    # all deleted keeps its summary row, with n_rows 0.
    having = "\n     HAVING sum(s.n_rows) <> 0" if extra else ""
    order_by = f"\n ORDER BY {BY_CODE}{select_extra}" if order else ""
    return f"""
WITH units AS ({units}){span_cte(req)}, facts AS (
    SELECT {", ".join(keys)}, {sums}
      FROM {table} s
     WHERE {" AND ".join(where)}
     GROUP BY {group}{having}
){later}
SELECT u.code, u.name, u.level, u.schools, u.enrolment{select_extra},
       {measures}{geom}
  FROM units u
  LEFT JOIN facts f ON f.key = u.key{join_later}{order_by}
"""
