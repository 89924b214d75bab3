"""Per-school summaries of each topic: what a province-level statistic reads instead of millions of rows.

A summary table `stats_<topic>` holds, per fact org path (the school's) and calendar cell, the sums of a few
per-row integers (`columns`); rows with `county` true hold the same sums per county (PATHS), for callers
whose jurisdiction is a county or wider grouping by county or wider. Cells come in grains: `day`, `month`
and `year` (local dates in SUMMARY_TZ; `day` is the cell's first date) for topics with a time, `all` for
snapshots (risks). Every fact row counts once in each grain, so a period is read as whole years, whole
months and the days at its edges (twin.stats.summary_sql), and a province year is ~50k rows instead of 1M.

Measures that compare with `now` (overdue, due, missed) cannot be summed ahead of time; they are stored as
"all that could be" (`open_dated`) and the few rows that are not yet (`later`: deadline or due time still
ahead, found through an index) are subtracted at query time from the raw table.

The tables are kept in the writing transaction by statement-level triggers with transition tables
(`statement_sql`), so a summary is never staler than the rows a caller can see; bulk loads with the triggers
off call `twin_stats_rebuild()`. Every SQL fragment here is a constant of the code.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SUMMARY_TZ = "Asia/Shanghai"  # the local calendar of the stored days (twin.config.StatsSettings.timezone)
GRAINS = ("day", "month", "year", "all")
OPEN = "state NOT IN ('closed', 'rejected')"
RISK_LEVEL = "coalesce(effective_level, level)"


@dataclass(frozen=True)
class Summary:
    """How one topic's rows are summed per school and cell, and how its measures are read back."""

    topic: str
    source: str  # the raw table
    columns: dict[str, str]  # stored column -> integer per raw row (alias-free expression)
    time: str | None = None  # raw time column (local day of a timestamptz, or a date)
    time_is_date: bool = False
    # measure -> (stored column, raw aggregate over `later` rows to subtract); default: sum of the column
    corrected: dict[str, tuple[str, str]] = field(default_factory=dict)
    later: str | None = None  # raw filter (may use :now) of the rows the corrections count
    # split name -> the raw row's split value (alias t), exactly twin.stats.topics' expression; each split
    # has a table of its own (`split_table`), keyed by the value too, so unsplit reads stay as small
    splits: dict[str, str] = field(default_factory=dict)

    @property
    def table(self) -> str:
        return f"stats_{self.topic}"

    def split_table(self, split: str) -> str:
        return f"stats_{self.topic}_by_{split}"

    def split_named(self, expression: str) -> str | None:
        """The split whose row expression is `expression` (a request carries the expression)."""
        return next((name for name, expr in self.splits.items() if expr == expression), None)

    def day_sql(self, alias: str = "t") -> str:
        """The local date a raw row counts on (`-infinity` for no time, so every period skips it)."""
        if self.time is None:
            return "date '-infinity'"
        col = f"{alias}.{self.time}"
        local = col if self.time_is_date else f"({col} AT TIME ZONE '{SUMMARY_TZ}')::date"
        return f"coalesce({local}, date '-infinity')"


def _flag(condition: str) -> str:
    return f"(coalesce({condition}, false))::int"


SUMMARIES: dict[str, Summary] = {
    s.topic: s
    for s in (
        Summary(
            "risks",
            "risk_points",
            {
                "points": "1",
                **{f"level_{n}": _flag(f"{RISK_LEVEL} = {n}") for n in (1, 2, 3, 4)},
                "dynamic": _flag("dynamic"),
            },
            splits={"category": "t.category", "level": f"{RISK_LEVEL}::text"},
        ),
        Summary(
            "hazards",
            "hazards",
            {
                "found": "1",
                "open": _flag(OPEN),
                "open_dated": _flag(f"{OPEN} AND deadline IS NOT NULL"),
                "major": _flag("grade = 'major'"),
                "general": _flag("grade = 'general'"),
                "closed": _flag("state = 'closed'"),
            },
            time="found_at",
            corrected={"overdue": ("open_dated", "count(*)")},
            later=f"t.{OPEN} AND t.deadline >= :now",
            splits={"category": "t.category", "grade": "coalesce(t.grade, 'ungraded')"},
        ),
        Summary(
            "inspections",
            "inspections",
            {
                "planned": _flag("due_at IS NOT NULL"),
                "done": _flag("done_at IS NOT NULL"),
                "not_done": _flag("done_at IS NULL AND due_at IS NOT NULL"),
                "done_late": _flag("done_at > due_at"),
            },
            time="due_at",
            corrected={
                "due": ("planned", "count(*)"),
                "missed": ("not_done", "count(*) FILTER (WHERE t.done_at IS NULL)"),
            },
            later="t.due_at >= :now",
            splits={"frequency": "t.frequency"},
        ),
        Summary(
            "alerts",
            "alerts",
            {
                "alerts": "1",
                "critical": _flag("severity = 'critical'"),
                "major": _flag("severity = 'major'"),
                "active": _flag("cleared_at IS NULL"),
            },
            time="first_at",
            splits={"type": "t.type", "severity": "t.severity"},
        ),
        Summary(
            "drills",
            "drills",
            {"drills": "1", "participants": "coalesce(participants, 0)"},
            time="held_on",
            time_is_date=True,
            splits={"type": "t.type"},
        ),
        Summary(
            "education",
            "education_sessions",
            {"sessions": "1", "participants": "coalesce(participants, 0)"},
            time="held_on",
            time_is_date=True,
            splits={"type": "t.type"},
        ),
        Summary(
            "bus_incidents",
            "bus_incidents",
            {
                "incidents": "1",
                **{k: _flag(f"kind = '{k}'") for k in ("overspeed", "deviation", "late")},
            },
            time="at",
            splits={"kind": "t.kind"},
        ),
    )
}


def _cells(s: Summary) -> str:
    """The grains and first days a raw row's day `d0` counts in."""
    if s.time is None:
        return "(VALUES ('all', d.d0)) g(grain, day)"
    return (
        "(VALUES ('day', d.d0), ('month', date_trunc('month', d.d0)::date),"
        " ('year', date_trunc('year', d.d0)::date)) g(grain, day)"
    )


# A row counts under its own org path and once more under its county's (`county` true; a row owned by a
# county or above counts there under its own path): a province's or a city's months are then ~200 county
# rows, not ~500k school rows.
PATHS = (
    "(VALUES (d.org_path, false), (subpath(d.org_path, 0, least(nlevel(d.org_path), 3)), true))"
    " o(path, county)"
)


def statement_sql(s: Summary, sources: dict[str, int], split: str | None = None) -> str:
    """Add the rows of `sources` (relation -> +1 or -1) to the summary: one upsert, keys in order.

    Used with the transition tables in the triggers and with the raw table for a rebuild; with `split`, to
    that split's table (one more key: the row's split value). Groups whose sums are all zero (an update
    that changed nothing counted) are not written, so unrelated edits take no summary row locks.
    """
    cols = list(s.columns)
    table, key, value = s.table, "", ""
    if split is not None:
        table, key, value = s.split_table(split), ", split", f", {s.splits[split]} AS split"
    parts = [
        f"SELECT t.org_path, {s.day_sql()} AS d0{value}, {sign} AS sign, "
        + ", ".join(f"{expr} AS {c}" for c, expr in s.columns.items())
        + f" FROM {rel} t"
        for rel, sign in sources.items()
    ]
    sums = ", ".join(f"sum(d.sign * d.{c})" for c in cols)
    zero = " AND ".join(["sum(d.sign) = 0", *(f"sum(d.sign * d.{c}) = 0" for c in cols)])
    updates = ", ".join(f"{c} = s.{c} + EXCLUDED.{c}" for c in ["n_rows", *cols])
    group = "1, 2, 3, 4, 5" if split is not None else "1, 2, 3, 4"
    return f"""
INSERT INTO {table} AS s (org_path, county, grain, day{key}, n_rows, {", ".join(cols)})
SELECT o.path, o.county, g.grain, g.day{key.replace("split", "d.split")}, sum(d.sign), {sums}
  FROM ({" UNION ALL ".join(parts)}) d
 CROSS JOIN LATERAL {PATHS}
 CROSS JOIN LATERAL {_cells(s)}
 GROUP BY {group}
HAVING NOT ({zero})
 ORDER BY {group}
ON CONFLICT (org_path, county, grain, day{key}) DO UPDATE SET {updates}"""


def _statements(s: Summary, sources: dict[str, int], splits: bool) -> str:
    """The upserts of one change: the summary's, then (with `splits`) each split table's."""
    names: list[str | None] = [None, *(s.splits if splits else ())]
    return ";\n        ".join(statement_sql(s, sources, name) for name in names)


def counted_sql(s: Summary, relation: str) -> str:
    """What a raw row adds to the summaries, one column each: its org path, day, sums and split values.

    Two multisets of these with the same members add the same to every cell, whatever else differs."""
    values = ["t.org_path", s.day_sql(), *s.columns.values(), *s.splits.values()]
    return f"SELECT {', '.join(values)} FROM {relation} t"


def trigger_function_sql(s: Summary, *, splits: bool = False, skip_unchanged: bool = False) -> str:
    """The statement-level trigger function of one topic (SECURITY DEFINER: apps cannot write summaries).

    `splits`: also keep the split tables (migration 0022; 0018 made the function without them).
    `skip_unchanged`: an update whose old and new rows count the same (migration 0026) returns at once
    (an UPDATE has as many new rows as old, so old ⊆ new as multisets means equal). Without it every
    update still summed its rows into zero deltas: 10 ms for each ingest batch counting up 200 alerts.
    """
    skip = (
        f"""
        IF NOT EXISTS ({counted_sql(s, "old_rows")} EXCEPT ALL {counted_sql(s, "new_rows")}) THEN
            RETURN NULL;
        END IF;"""
        if skip_unchanged
        else ""
    )
    return f"""
CREATE OR REPLACE FUNCTION twin_stats_{s.topic}() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {_statements(s, {"new_rows": 1}, splits)};
    ELSIF TG_OP = 'DELETE' THEN
        {_statements(s, {"old_rows": -1}, splits)};
    ELSE{skip}
        {_statements(s, {"old_rows": -1, "new_rows": 1}, splits)};
    END IF;
    RETURN NULL;
END $$"""


def trigger_sql(s: Summary) -> list[str]:
    """A trigger per event (one with transition tables may fire on one event only), and TRUNCATE."""
    refs = {"INSERT": "NEW TABLE AS new_rows", "DELETE": "OLD TABLE AS old_rows",
            "UPDATE": "OLD TABLE AS old_rows NEW TABLE AS new_rows"}  # fmt: skip
    return [
        f"CREATE TRIGGER stats_summary_{op.lower()} AFTER {op} ON {s.source} REFERENCING {ref}"
        f" FOR EACH STATEMENT EXECUTE FUNCTION twin_stats_{s.topic}()"
        for op, ref in refs.items()
    ] + [
        f"CREATE TRIGGER stats_summary_truncate AFTER TRUNCATE ON {s.source}"
        f" FOR EACH STATEMENT EXECUTE FUNCTION twin_stats_truncated('{s.table}')"
    ]


def split_truncate_trigger_sql(s: Summary, split: str) -> str:
    """TRUNCATE of the raw table empties the split table too (the function empties one table)."""
    return (
        f"CREATE TRIGGER stats_summary_truncate_{split} AFTER TRUNCATE ON {s.source}"
        f" FOR EACH STATEMENT EXECUTE FUNCTION twin_stats_truncated('{s.split_table(split)}')"
    )


TRUNCATED_SQL = """
CREATE FUNCTION twin_stats_truncated() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    EXECUTE format('DELETE FROM %I', TG_ARGV[0]);
    RETURN NULL;
END $$"""


def rebuild_function_sql(*, splits: bool = False) -> str:
    """`twin_stats_rebuild()`: every summary from its raw table, set-based (after a bulk load); with
    `splits`, the split tables too (migration 0022)."""
    tables: list[tuple[Summary, str | None]] = [(s, None) for s in SUMMARIES.values()]
    if splits:
        tables += [(s, name) for s in SUMMARIES.values() for name in s.splits]
    body = "\n".join(
        f"    DELETE FROM {s.split_table(name) if name else s.table};\n"
        f"    {statement_sql(s, {s.source: 1}, name)};"
        for s, name in tables
    )
    return f"""
CREATE OR REPLACE FUNCTION twin_stats_rebuild() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
{body}
END $$"""
