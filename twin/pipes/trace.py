"""The isolation trace as the server answers it: load (or reuse) the network, isolate, describe the result."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from twin.access import Caller
from twin.config import PipeSettings
from twin.pipes import queries
from twin.pipes.isolation import Isolation, isolate
from twin.pipes.network import Network


@dataclass(frozen=True)
class IsolationQuery:
    campus: str
    utility: str
    pipe_id: int | None = None
    point: tuple[float, float] | None = None
    failed_valves: tuple[int, ...] = ()


@dataclass
class NetworkCache:
    """Networks by (campus, utility, fingerprint): a break query needs no reload while nothing changed.

    The fingerprint (row count and newest row version of each of the four tables) is read in the caller's own
    transaction, so a caller only ever reaches a network whose rows row-level security lets them see.
    """

    size: int = 32
    entries: OrderedDict[tuple[Any, ...], Network] = field(default_factory=OrderedDict)

    async def get(
        self, conn: AsyncConnection, caller: Caller, c: queries.CampusRef, utility: str, snap_m: float
    ) -> Network:
        # the database's URL too: one process may serve several databases whose campus ids coincide
        key = (str(conn.engine.url), c.id, utility, snap_m, await _fingerprint(conn, c, utility))
        net = self.entries.get(key)
        if net is None:
            net = await queries.load_network(conn, caller, c, utility, snap_m=snap_m)
            self.entries[key] = net
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)
        self.entries.move_to_end(key)
        return net


CACHE = NetworkCache()


# xmin is the id of the transaction that wrote a row version: any insert or update makes a newer one, any
# delete lowers the count. Valves and service connections have no version trigger, so versions would not do.
FINGERPRINT = " UNION ALL ".join(
    f"(SELECT count(*), max(xmin::text::bigint) FROM {table} WHERE campus_id = :c AND utility = :u)"
    for table in ("pipe_nodes", "pipe_segments", "valves", "service_connections")
)


async def _fingerprint(conn: AsyncConnection, c: queries.CampusRef, utility: str) -> tuple[Any, ...]:
    rows = await conn.execute(text(FINGERPRINT), {"c": c.id, "u": utility})
    return tuple(tuple(r) for r in rows)


async def isolation_trace(
    conn: AsyncConnection, caller: Caller, q: IsolationQuery, settings: PipeSettings
) -> dict[str, Any]:
    """The contract's answer: valves to close, the segment, unintended isolation, buildings out."""
    c = await queries.campus(conn, caller, q.campus)
    snapped: dict[str, Any] | None = None
    if q.pipe_id is not None:
        pipe = await queries.pipe_id(conn, caller, c, q.utility, q.pipe_id)
    else:
        assert q.point is not None
        pipe, dist = await queries.nearest_pipe(conn, caller, c, q.utility, *q.point, settings.max_click_m)
        snapped = {"point": list(q.point), "pipe_id": pipe, "distance_m": round(dist, 2)}
    net = await CACHE.get(conn, caller, c, q.utility, settings.snap_tolerance_m)
    iso = await asyncio.to_thread(isolate, net, pipe, q.failed_valves)
    return await describe(conn, c, q.utility, iso, snapped)


async def describe(
    conn: AsyncConnection, c: queries.CampusRef, utility: str, iso: Isolation, snapped: dict[str, Any] | None
) -> dict[str, Any]:
    valves = await queries.features(conn, "valves", iso.valves_to_close, "'code', code, 'kind', kind")
    role = "CASE WHEN id = ANY(:lost) THEN 'unintended' ELSE 'segment' END"
    pipes = await queries.features(
        conn,
        "pipe_segments",
        [*iso.segment_pipes, *iso.unintended_pipes],
        f"'code', code, 'diameter_mm', diameter_mm, 'role', {role}",
        lost=list(iso.unintended_pipes),
    )
    out = await queries.buildings(conn, iso.buildings_out)
    return {
        "campus": c.code,
        "utility": utility,
        "pipe_id": iso.broken,
        "snapped": snapped,
        "valves_to_close": [
            {
                "id": v["id"],
                "code": v["properties"]["code"],
                "kind": v["properties"]["kind"],
                "position": v["geometry"]["coordinates"],
            }
            for v in valves
        ],
        "segment": {"pipes": iso.segment_pipes, "nodes": iso.segment_nodes},
        "unintended": {"pipes": iso.unintended_pipes, "nodes": iso.unintended_nodes},
        "buildings_out": [{"id": b.id, "code": b.code, "name": b.name} for b in out],
        "failed_valves": iso.failed_valves,
        "notes": iso.notes,
        "geojson": {"type": "FeatureCollection", "features": pipes + valves},
    }
