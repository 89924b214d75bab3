"""Items of a versioned collection as they were at an instant (`as-at`, or `datetime` with one instant).

The parameters are read by twin.layers.params; this adds the past state of the collection's tables
(twin.db.asat) to the query, after refusing an instant before the caller's first campus existed.
"""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy.ext.asyncio import AsyncConnection

from twin.access import Caller, planner_scope
from twin.db import asat
from twin.layers.queries import ItemQuery
from twin.layers.registry import Collection


async def at_instant(conn: AsyncConnection, c: Collection, q: ItemQuery, caller: Caller) -> ItemQuery:
    """`q` reading the past when it asks for an instant; unchanged otherwise."""
    if q.as_at is None:
        return q
    when = asat.AsAt(q.as_at, planner_scope(caller))
    await asat.check_not_before(conn, when, field="as-at or datetime")
    return replace(q, ctes=tuple(asat.ctes(c.versioned, when)))
