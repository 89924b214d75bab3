"""A large statistic by school as K statements, one per contiguous range of the group code, run at once on
K connections in one snapshot, their JSON arrays spliced in range order (the way `pg_dump -j` reads tables
side by side).

PostgreSQL builds a JSON array in one backend (no parallel worker takes the aggregate): a province's 50k
schools spend ~100 ms there. Each part runs the request's own statement restricted to its schools
(`StatsRequest.codes`, which also filters the facts at their scan); every part's transaction has the
caller's scope from the same `twin_begin_request` and imported the first one's snapshot, so row-level
security decides every row and all parts read one state of the database.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, replace
from typing import Protocol

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from twin.config import StatsSettings
from twin.stats.json_rows import json_rows_sql
from twin.stats.queries import CodeRange, StatsRequest, school_split
from twin.ttl_cache import TtlCache

SNAPSHOT_ID = re.compile(r"[0-9A-F]+-[0-9A-F]+-[0-9]+")  # pg_export_snapshot(): 00000003-0000001B-1


class PartConnections(Protocol):
    """Where the parts after the first run (twin.api.deps.PoolParts)."""

    def __call__(
        self, snapshot: str, n: int
    ) -> AbstractAsyncContextManager[Sequence[AsyncConnection] | None]:
        """`n` more connections, each in a REPEATABLE READ transaction that imported `snapshot` and then
        set the same caller's scope and the statistics' settings; None when they cannot be had now."""
        ...


@dataclass(frozen=True)
class Split:
    schools: int
    points: tuple[str, ...]  # the codes the second, third… range begin at


class SplitCache(TtlCache[tuple[str, int], Split]):
    """Split points per (scope, parts) for a while: they only balance the parts (every range set covers
    all codes), so a school added since makes a part a little bigger, never an answer wrong."""

    def __init__(self, ttl: float = 600.0, size: int = 256) -> None:
        super().__init__(ttl, size)


@dataclass(frozen=True)
class Parallel:
    """What a request needs to answer in parts: more connections, and the process's split points."""

    connections: PartConnections
    cache: SplitCache


def code_ranges(points: Sequence[str]) -> list[CodeRange]:
    """Ranges that cover every code, cut at `points` (ascending): below the first, …, from the last."""
    bounds: list[str | None] = [None, *points, None]
    return [(bounds[i], bounds[i + 1]) for i in range(len(bounds) - 1)]


async def plan_ranges(
    conn: AsyncConnection, req: StatsRequest, settings: StatsSettings, cache: SplitCache
) -> list[CodeRange] | None:
    """The code ranges to answer `req` in, or None when one statement should (parts off, not by school,
    or fewer schools in scope than pays for the parts' connections)."""
    k = settings.parallel_parts
    if k < 2 or req.group_by != "school" or req.codes is not None:
        return None
    key = (req.unit_scope, k)
    split = cache.get(key)
    if split is None:
        schools, points = await school_split(conn, req.unit_scope, [i / k for i in range(1, k)])
        split = Split(schools, tuple(dict.fromkeys(p for p in points if p is not None)))
        cache.put(key, split)
    if split.schools < settings.parallel_min_schools or not split.points:
        return None
    return code_ranges(split.points)


async def json_rows_in_parts(
    conn: AsyncConnection,
    connections: PartConnections,
    req: StatsRequest,
    columns: list[str],
    ranges: Sequence[CodeRange],
) -> list[str] | None:
    """The JSON arrays of `req`'s rows, one per range (in order) built by a statement each, at once, for
    json_rows.json_document to splice; None (nothing run) when the other connections cannot be had.
    `conn` is the caller's REPEATABLE READ transaction, whose snapshot the others import. A failed part
    fails the whole: no answer is made of the rest."""
    row = (
        await conn.execute(text("SELECT pg_export_snapshot(), current_setting('transaction_isolation')"))
    ).one()
    snapshot, isolation = str(row[0]), str(row[1])
    if isolation != "repeatable read" or not SNAPSHOT_ID.fullmatch(snapshot):
        raise RuntimeError(f"parts need the caller's transaction in repeatable read, not {isolation}")
    statements = [json_rows_sql(replace(req, codes=r), columns) for r in ranges]
    async with connections(snapshot, len(ranges) - 1) as others:
        if others is None:
            return None
        # Every part runs to its end before the connections are given back (no cancelled statement
        # leaves a connection mid-protocol); the first failure is then raised.
        results = await asyncio.gather(
            *(_array(c, sql, params) for c, (sql, params) in zip([conn, *others], statements, strict=True)),
            return_exceptions=True,
        )
    arrays = []
    for result in results:
        if isinstance(result, BaseException):
            raise result
        arrays.append(result)
    return arrays


async def _array(conn: AsyncConnection, sql: str, params: dict[str, object]) -> str:
    return str((await conn.execute(text(sql), params)).scalar_one())
