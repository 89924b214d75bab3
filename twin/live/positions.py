"""Bus positions into the monthly partitions, many per transaction, each pushed as a live "position" event.

Devices are nobody's session: the writer acts as the schema owner (like the MQTT ingest worker), so it may
call `twin_live_publish`. Callers await `submit()`: it resolves once the fix's batch is committed, so an
OsmAnd client that is answered 200 can forget the fix, and one that is not will send it again (the primary
key (vehicle_id, time) makes the repeat a no-op).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from twin.config import DatabaseSettings
from twin.live.gps_osmand import Fix

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class VehicleRow:
    id: int
    org_path: str
    device_id: str


class PositionStats:
    """Counters of this process: stored, duplicate, rejected by reason (shown at /live/stats)."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def add(self, outcome: str, n: int = 1) -> None:
        self.counts[outcome] += n

    def snapshot(self) -> dict[str, int]:
        return dict(self.counts)


STATS = PositionStats()

_VEHICLES = text("SELECT id, org_path::text AS org_path, device_id FROM vehicles")

_ENSURE = text(
    "SELECT twin_ensure_month_partition('positions', m) FROM unnest(CAST(:months AS timestamptz[])) m"
)

# One statement per batch; the latest fix of each vehicle in it becomes a live event.
_INSERT = text("""
WITH fix AS (
    SELECT * FROM unnest(CAST(:vehicle AS int[]), CAST(:org AS text[]), CAST(:time AS timestamptz[]),
                         CAST(:lon AS float8[]), CAST(:lat AS float8[]), CAST(:speed AS float8[]),
                         CAST(:heading AS float8[]))
           AS f(vehicle_id, org_path, time, lon, lat, speed, heading)
), stored AS (
    INSERT INTO positions (vehicle_id, time, org_path, speed_kmh, heading, received_at, geom)
    SELECT vehicle_id, time, CAST(org_path AS ltree), speed, heading, now(),
           ST_SetSRID(ST_MakePoint(lon, lat), 4326) FROM fix
    ON CONFLICT DO NOTHING
    RETURNING vehicle_id, time, org_path, speed_kmh, heading, geom
), latest AS (
    SELECT DISTINCT ON (vehicle_id) * FROM stored ORDER BY vehicle_id, time DESC
)
SELECT (SELECT count(*) FROM stored) AS stored,
       (SELECT count(*) FROM (
            SELECT twin_live_publish(org_path, 'position', jsonb_build_object(
                'vehicle_id', vehicle_id, 'time', time, 'speed_kmh', speed_kmh, 'heading', heading,
                'lon', ST_X(geom), 'lat', ST_Y(geom))) FROM latest) p) AS published
""")


def owner_engine(settings: DatabaseSettings) -> AsyncEngine:
    """An async engine acting as the schema owner (the server's own engine is `twin_app`, under RLS)."""
    return create_async_engine(settings.async_url(), pool_size=2, pool_pre_ping=True)


class VehicleDirectory:
    """Terminal id -> vehicle, reloaded every `ttl_s`; JT/T 808 phones match without leading zeros."""

    def __init__(self, engine: AsyncEngine, ttl_s: float = 30.0) -> None:
        self.engine, self.ttl_s = engine, ttl_s
        self._by_device: dict[str, VehicleRow] = {}
        self._loaded = -1e9

    async def find(self, device_id: str) -> VehicleRow | None:
        age = time.monotonic() - self._loaded
        unknown = device_id.lstrip("0") not in self._by_device
        if age > self.ttl_s or (unknown and age > min(self.ttl_s, 1.0)):  # an unknown id reloads ≤ 1/s
            await self._load()
        return self._by_device.get(device_id.lstrip("0"))

    async def _load(self) -> None:
        async with self.engine.connect() as conn:
            rows = (await conn.execute(_VEHICLES)).mappings().all()
        self._by_device = {r["device_id"].lstrip("0"): VehicleRow(**r) for r in rows}
        self._loaded = time.monotonic()


class PositionWriter:
    """Gathers fixes from many requests/connections and stores them in batches of up to `batch_max`."""

    def __init__(self, engine: AsyncEngine, batch_max: int = 2000, stats: PositionStats = STATS) -> None:
        self.engine, self.batch_max, self.stats = engine, batch_max, stats
        self._queue: asyncio.Queue[tuple[VehicleRow, Fix, asyncio.Future[None]]] = asyncio.Queue()
        self._months: set[datetime] = set()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="position-writer")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def submit(self, vehicle: VehicleRow, fixes: list[Fix]) -> None:
        """Resolves when every fix is committed (or raises what the database said)."""
        loop = asyncio.get_running_loop()
        futures = []
        for fix in fixes:
            future: asyncio.Future[None] = loop.create_future()
            self._queue.put_nowait((vehicle, fix, future))
            futures.append(future)
        await asyncio.gather(*futures)

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self.batch_max and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self.store([(v, f) for v, f, _ in batch])
            except Exception as exc:  # the requests get the error, the writer keeps serving
                log.exception("storing %d positions failed", len(batch))
                for _v, _f, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for _v, _f, future in batch:
                if not future.done():
                    future.set_result(None)

    async def store(self, fixes: list[tuple[VehicleRow, Fix]]) -> int:
        """Insert in one transaction; returns how many were new."""
        months = {f.time.replace(day=1, hour=0, minute=0, second=0, microsecond=0) for _v, f in fixes}
        params = {
            "vehicle": [v.id for v, _f in fixes],
            "org": [v.org_path for v, _f in fixes],
            "time": [f.time for _v, f in fixes],
            "lon": [f.lon for _v, f in fixes],
            "lat": [f.lat for _v, f in fixes],
            "speed": [f.speed_kmh for _v, f in fixes],
            "heading": [f.heading for _v, f in fixes],
        }
        async with self.engine.begin() as conn:
            if months - self._months:
                await conn.execute(_ENSURE, {"months": sorted(months - self._months)})
            stored = (await conn.execute(_INSERT, params)).one().stored
        self._months |= months
        self.stats.add("stored", stored)
        self.stats.add("duplicate", len(fixes) - stored)
        return int(stored)
