"""The statistics for one caller: what the routers and the CLI call (no HTTP here)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncConnection

from twin.access.roles import Role
from twin.access.scope import Caller, planner_scope
from twin.config import StatsSettings
from twin.errors import Forbidden, InvalidInput, NotFound
from twin.stats import hexbins as hx
from twin.stats import hotspots as hs
from twin.stats import queries as q
from twin.stats.json_rows import json_rows_sql
from twin.stats.parallel import Parallel, json_rows_in_parts, plan_ranges
from twin.stats.period import check_bucket, parse_period
from twin.stats.topics import Topic, topic


@dataclass(frozen=True)
class Query:
    """A statistics request as the caller wrote it (names, not SQL)."""

    topic: str
    group_by: str = "school"
    period: str | None = None
    per: str | None = None
    split: str | None = None
    within: str | None = None  # an org unit's code: count and name only the units under it


@dataclass
class Result:
    topic: Topic
    query: Query
    rows: list[dict[str, Any]]
    columns: list[str] = field(default_factory=list)


def check_reader(caller: Caller) -> None:
    if caller.role is Role.parent:
        raise Forbidden("statistics are for staff and analysts; a parent sees their own child's bus only")


def build_request(
    caller: Caller,
    query: Query,
    now: datetime,
    settings: StatsSettings,
    *,
    geometry: bool = False,
    within_path: str | None = None,
) -> q.StatsRequest:
    """The SQL-level request: names checked against the topic, scope from the caller (narrowed to
    `within_path`, already checked to lie in the caller's jurisdiction)."""
    check_reader(caller)
    t = topic(query.topic)
    if query.group_by not in q.GROUPS:
        raise InvalidInput(
            f"group_by: use one of {', '.join(q.GROUPS)}, not {query.group_by!r}", field="group_by"
        )
    if t.time is None and (query.period or query.per):
        raise InvalidInput(
            f"{t.name} are the register as it stands now; period and per do not apply", field="period"
        )
    return q.StatsRequest(
        topic=t,
        group_by=query.group_by,
        unit_scope=within_path or caller.org_path,
        fact_scope=within_path or planner_scope(caller),
        now=now,
        timezone=settings.timezone,
        period=parse_period(query.period),
        per=check_bucket(query.per),
        split=t.split(query.split),
        geometry=geometry,
    )


def columns_for(req: q.StatsRequest, query: Query) -> list[str]:
    keys = ["code", "name", "level", "schools", "enrolment"]
    if req.split is not None:
        keys.append("split")
    if req.per is not None:
        keys.append("period")
    return [*keys, *req.topic.columns]


async def statistic(
    conn: AsyncConnection,
    caller: Caller,
    query: Query,
    now: datetime,
    settings: StatsSettings,
    *,
    geometry: bool = False,
) -> Result:
    """One statistic's rows for the caller's jurisdiction, grouped as asked."""
    within_path = await _within(conn, caller, query.within)
    req = build_request(caller, query, now, settings, geometry=geometry, within_path=within_path)
    rows = await q.fetch_stats(conn, req)
    return Result(req.topic, query, rows, columns_for(req, query))


@dataclass(frozen=True)
class JsonRows:
    topic: Topic
    columns: list[str]
    rows: str | list[str]  # the JSON array of the rows, or those of its parts (json_rows.json_document)

    @property
    def parts(self) -> int:
        """The statements that built the rows at once (twin.stats.parallel)."""
        return 1 if isinstance(self.rows, str) else len(self.rows)


async def statistic_json(
    conn: AsyncConnection,
    caller: Caller,
    query: Query,
    now: datetime,
    settings: StatsSettings,
    parallel: Parallel | None = None,
) -> JsonRows:
    """The topic, the columns and the rows as one JSON array text (built by PostgreSQL: 50k groups as
    Python objects cost three times the statement). `conn` has q.PLANNING's settings. With `parallel` and
    a large enough answer by school, the array is built in parts at once (`conn` must then be a REPEATABLE
    READ transaction); the text is the same either way."""
    within_path = await _within(conn, caller, query.within)
    req = build_request(caller, query, now, settings, within_path=within_path)
    columns = columns_for(req, query)
    if parallel is not None:
        ranges = await plan_ranges(conn, req, settings, parallel.cache)
        if ranges is not None:
            arrays = await json_rows_in_parts(conn, parallel.connections, req, columns, ranges)
            if arrays is not None:
                return JsonRows(req.topic, columns, arrays)
    sql, params = json_rows_sql(req, columns)
    rows = (await conn.execute(text(sql), params)).scalar_one()
    return JsonRows(req.topic, columns, str(rows))


async def _within(conn: AsyncConnection, caller: Caller, code: str | None) -> str | None:
    """The path of org unit `code` when it lies in the caller's jurisdiction; 404 as if absent otherwise."""
    if code is None:
        return None
    path = await q.unit_path(conn, code)
    inside = path is not None and (
        caller.whole or path == caller.org_path or path.startswith(caller.org_path + ".")
    )
    if path is None or not inside:
        raise NotFound(f"within: no org unit {code!r} in your jurisdiction")
    return path


def _spatial_topic(name: str) -> Topic:
    t = topic(name)
    if not t.spatial:
        allowed = ", ".join(n for n, x in _topics().items() if x.spatial)
        raise InvalidInput(f"{name} have no location of their own; map one of {allowed}", field="topic")
    return t


def _topics() -> dict[str, Topic]:
    from twin.stats.topics import TOPICS

    return TOPICS


async def cell_counts(
    conn: AsyncConnection, caller: Caller, name: str, res: int, period: str | None, settings: StatsSettings
) -> tuple[Topic, dict[str, int]]:
    check_reader(caller)
    t = _spatial_topic(name)
    hx.check_resolution(res)
    points = await q.fetch_points(
        conn, t, planner_scope(caller), parse_period(period), hx.snap_grid_deg(res), settings.timezone
    )
    counts = await asyncio.to_thread(hx.bin_points, points, res)
    if len(counts) > settings.max_cells:
        raise InvalidInput(
            f"{len(counts)} hexagons is over the limit of {settings.max_cells}; choose a coarser res",
            field="res",
        )
    return t, counts


async def hexbins(
    conn: AsyncConnection, caller: Caller, name: str, res: int, period: str | None, settings: StatsSettings
) -> dict[str, Any]:
    """The topic's points in scope counted per H3 cell, as GeoJSON."""
    t, counts = await cell_counts(conn, caller, name, res, period, settings)
    cells = {c: {"count": n} for c, n in counts.items()}
    return hx.feature_collection(
        cells, topic=t.name, resolution=res, period=period, total=sum(counts.values())
    )


class HotspotCache:
    """Hot-spot maps by (scope, query) for a while: the permutation test costs seconds at province scale."""

    def __init__(self, ttl_s: float, size: int = 256) -> None:
        self.ttl_s, self.size = ttl_s, size
        self._entries: dict[tuple[Any, ...], tuple[float, dict[str, Any]]] = {}

    def get(self, key: tuple[Any, ...]) -> dict[str, Any] | None:
        entry = self._entries.get(key)
        return entry[1] if entry and entry[0] > time.monotonic() else None

    def put(self, key: tuple[Any, ...], value: dict[str, Any]) -> None:
        if len(self._entries) >= self.size:
            self._entries.clear()
        self._entries[key] = (time.monotonic() + self.ttl_s, value)


async def hotspots(
    conn: AsyncConnection,
    caller: Caller,
    name: str,
    res: int,
    period: str | None,
    settings: StatsSettings,
    cache: HotspotCache,
) -> dict[str, Any]:
    """Getis-Ord Gi* over the topic's counts per H3 cell: z, pseudo p-value, hot/cold/not significant."""
    check_reader(caller)
    key = (caller.org_path, caller.whole, name, res, period, settings.permutations, settings.alpha)
    cached = cache.get(key)
    if cached is not None:
        return {**cached, "cached": True}
    t, counts = await cell_counts(conn, caller, name, res, period, settings)
    spots = await asyncio.to_thread(
        hs.gi_star, counts, permutations=settings.permutations, alpha=settings.alpha
    )
    cells = {s.cell: {"count": s.count, "z": s.z, "p": s.p, "spot": s.spot} for s in spots}
    result = hx.feature_collection(
        cells,
        topic=t.name,
        resolution=res,
        period=period,
        method="Getis-Ord Gi* (esda.G_Local, binary weights with self, conditional permutations)",
        permutations=settings.permutations,
        alpha=settings.alpha,
    )
    cache.put(key, result)
    return {**result, "cached": False}


def statistic_for_org(
    conn: Connection,
    org_path: str,
    query: Query,
    now: datetime,
    settings: StatsSettings,
    *,
    geometry: bool = False,
) -> Result:
    """The statistic of one org unit's subtree on a plain (owner's) connection: the CLI's exports.

    The owner is not filtered by row-level security; the literal scope of an analyst of `org_path` is
    what limits the facts here.
    """
    analyst = Caller(user_id=0, username="twin-cli", role=Role.analyst, org_path=org_path, person_id=None)
    req = build_request(analyst, query, now, settings, geometry=geometry)
    sql, params = q.stats_sql(req)
    rows = [q.with_rates(req.topic, dict(r)) for r in conn.execute(text(sql), params).mappings()]
    return Result(req.topic, query, rows, columns_for(req, query))
