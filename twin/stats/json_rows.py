"""A statistic's rows as one JSON array built by PostgreSQL: what `/stats/{topic}` sends as JSON.

A province by school is 50k groups: turning them into Python dicts and then into JSON cost ~3× the
statement itself. Built in the database (the way tipg builds GeoJSON) the rows cross the wire as one text
value that is spliced into the response unparsed. The rates follow the rule of
twin.stats.queries.with_rates (the exact ratio rounded half away from zero), so JSON, CSV and the other
formats carry the same numbers; the columns and their order are `columns_for`'s, as before.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from twin.stats.queries import GROUPS, StatsRequest, stats_sql
from twin.stats.topics import Topic

if TYPE_CHECKING:
    from twin.stats.service import Query


def _ratio(num: str, den: str, scale: int, places: int) -> str:
    """num × scale / den rounded half away from zero to `places` decimals, in integers (numeric division
    of 50k rows cost ~30 ms), then as a double: the count of 10^-places units divided by 10^places is the
    double nearest the rounded decimal, which PostgreSQL prints in its shortest form (7.813, 25) as
    Python prints the float `ratio` gives. Numeric arithmetic and output cost ~60 ms more for 50k rows."""
    units = scale * 10**places
    whole = f"((2 * {units} * abs({num}) + abs({den})) / (2 * abs({den})))"  # bigint division: floor
    return f"CASE WHEN {den} <> 0 THEN (sign({num}) * sign({den}) * {whole})::float8 / 1e{places}::float8 END"


def rate_columns(topic: Topic) -> dict[str, str]:
    """Output column -> SQL over the statistic's row `r`: rates per 1,000 enrolled and percentages."""
    rates = {f"{m}_per_1000": _ratio(f"r.{m}", "r.enrolment", 1000, 3) for m in topic.per_1000}
    percents = {name: _ratio(f"r.{num}", f"r.{den}", 100, 1) for name, (num, den) in topic.percent.items()}
    return {**rates, **percents}


def json_rows_sql(req: StatsRequest, columns: list[str]) -> tuple[str, dict[str, Any]]:
    """One row, one text column: the JSON array of the statistic's rows (objects keyed by `columns`),
    sorted by group, split and bucket as the plain statement is."""
    inner, params = stats_sql(req, order=False)
    computed = rate_columns(req.topic)
    select = ", ".join(f"{computed[c]} AS {c}" if c in computed else f"r.{c}" for c in columns)
    order = ", ".join(f"j.{c}" for c in ("code", "split", "period") if c in columns)
    order = order.replace("j.code", 'j.code COLLATE "C"')  # as the plain statement (summary_sql.BY_CODE)
    sql = f"""
SELECT coalesce(json_agg(j ORDER BY {order}), '[]')::text
  FROM (SELECT {select} FROM ({inner}) r) j
"""
    return sql, params


# What json_agg writes between two composite elements (PostgreSQL 15's json_agg_transfn: ", " and a
# line break before each element but the first).
SEPARATOR = b", \n "


def json_document(query: Query, title: str, columns: list[str], rows: str | Sequence[str]) -> bytes:
    """The response of `/stats/{topic}?f=json`: the request's members, then `"rows": <rows>` spliced in
    unparsed as the last member, in JSONResponse's own encoding (compact, UTF-8).

    `rows` may come as the arrays of consecutive ranges of groups (twin.stats.parallel): they are spliced
    into the one array json_agg writes over all their rows, byte for byte (an empty part, `[]`, leaves
    nothing), with no more copies of ~10 MB than one array takes."""
    head: dict[str, Any] = {
        "topic": query.topic,
        "title": title,
        "group_by": query.group_by,
        "groups": list(GROUPS),
        "period": query.period,
        "per": query.per,
        "split": query.split,
        "within": query.within,
        "columns": columns,
    }
    text = json.dumps(head, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    if isinstance(rows, str):
        return f'{text[:-1]},"rows":{rows}}}'.encode()
    chunks: list[bytes | memoryview] = [f'{text[:-1]},"rows":['.encode()]
    for array in (a.encode() for a in rows if a != "[]"):
        if len(chunks) > 1:
            chunks.append(SEPARATOR)
        chunks.append(memoryview(array)[1:-1])
    chunks.append(b"]}")
    return b"".join(chunks)
