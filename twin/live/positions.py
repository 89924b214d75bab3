"""Bus positions into the monthly partitions, many per transaction, each pushed as a live "position" event.

Devices are nobody's session: the writer acts as the schema owner (like the MQTT ingest worker), so it may
call `twin_live_publish`. Callers await `submit()`: it resolves once the fix's batch is committed, so an
OsmAnd client that is answered 200 can forget the fix, and one that is not will send it again (the primary
key (vehicle_id, time) makes the repeat a no-op).

Geofence state (inside the campus, off the route, speeding, offline, last fix) lives in `bus_fence_state`
(migration 0017): a batch locks the rows of its buses (in vehicle order), checks its fixes against them and
writes them back in its own transaction, so fixes of one bus spread over several uvicorn workers report a
crossing exactly once, and a batch that fails changes no state.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shapely import wkb
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from twin.config import DatabaseSettings
from twin.live.geofence import Fence, Incident, Limits, Watch, check, went_silent
from twin.live.gps_osmand import Fix
from twin.live.timetable import Schedule, StopMark, arrival

log = logging.getLogger(__name__)
WRITERS = 2  # batches stored at once by one process


@dataclass(frozen=True)
class VehicleRow:
    id: int
    org_path: str
    device_id: str
    fence: Fence = field(default=Fence(None, None), compare=False)
    schedule: Schedule = field(default=Schedule(), compare=False)


class PositionStats:
    """Counters of this process: stored, duplicate, rejected by reason (shown at /live/stats)."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def add(self, outcome: str, n: int = 1) -> None:
        self.counts[outcome] += n

    def snapshot(self) -> dict[str, int]:
        return dict(self.counts)


STATS = PositionStats()

_STOPS = text("""
SELECT s.route_id, s.sequence, coalesce(s.scheduled_min, 0) AS minute,
       ST_AsBinary(ST_Transform(s.geom, c.metric_srid)) AS point
  FROM bus_stops s JOIN bus_routes r ON r.id = s.route_id JOIN campuses c ON c.id = r.campus_id
 ORDER BY s.route_id, s.sequence
""")
_TRIPS = text("SELECT route_id, code, departs_min FROM bus_trips ORDER BY route_id, departs_min")
_VEHICLES = text("""
SELECT v.id, v.org_path::text AS org_path, v.device_id, v.route_id, c.metric_srid AS srid,
       ST_AsBinary(ST_Transform(c.boundary, c.metric_srid)) AS campus,
       ST_AsBinary(ST_Transform(r.geom, c.metric_srid)) AS route
  FROM vehicles v JOIN campuses c ON c.id = v.campus_id LEFT JOIN bus_routes r ON r.id = v.route_id
""")
_INCIDENTS = text("""
INSERT INTO bus_incidents (org_path, vehicle_id, kind, at, value, geom)
SELECT CAST(o AS ltree), v, k, t, x, ST_SetSRID(ST_MakePoint(lon, lat), 4326)
  FROM unnest(CAST(:org AS text[]), CAST(:vehicle AS int[]), CAST(:kind AS text[]),
              CAST(:at AS timestamptz[]), CAST(:value AS float8[]), CAST(:lon AS float8[]),
              CAST(:lat AS float8[])) AS i(o, v, k, t, x, lon, lat)
""")

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


def _incident_params(found: list[tuple[VehicleRow, Fix | None, Incident]]) -> dict[str, list[Any]]:
    return {
        "org": [v.org_path for v, _f, _i in found],
        "vehicle": [v.id for v, _f, _i in found],
        "kind": [i.kind for _v, _f, i in found],
        "at": [i.at for _v, _f, i in found],
        "value": [i.value for _v, _f, i in found],
        "lon": [f.lon if f else None for _v, f, _i in found],  # offline: no place
        "lat": [f.lat if f else None for _v, f, _i in found],
    }


def _settle(batch: list[tuple[VehicleRow, Fix, asyncio.Future[None]]], exc: Exception | None) -> None:
    for _v, _f, future in batch:
        if future.done():
            continue
        if exc is None:
            future.set_result(None)
        else:
            future.set_exception(exc)


def owner_engine(settings: DatabaseSettings) -> AsyncEngine:
    """An async engine acting as the schema owner (the server's own engine is `twin_app`, under RLS)."""
    return create_async_engine(settings.async_url(), pool_size=WRITERS + 2, pool_pre_ping=True)


def _vehicle(row: Any, schedules: dict[int, Schedule]) -> VehicleRow:
    campus = wkb.loads(bytes(row["campus"])) if row["campus"] else None
    route = wkb.loads(bytes(row["route"])) if row["route"] else None
    schedule = schedules.get(row["route_id"], Schedule())
    return VehicleRow(
        row["id"], row["org_path"], row["device_id"], Fence(campus, route, row["srid"]), schedule
    )


async def _schedules(conn: AsyncConnection) -> dict[int, Schedule]:
    """Each route's stops (metric) and trips: what `timetable.arrival` judges a fix at a stop against."""
    stops: dict[int, list[StopMark]] = {}
    for r in (await conn.execute(_STOPS)).mappings():
        stops.setdefault(r["route_id"], []).append(
            StopMark(r["sequence"], r["minute"], wkb.loads(bytes(r["point"])))
        )
    trips: dict[int, list[tuple[str, int]]] = {}
    for r in (await conn.execute(_TRIPS)).mappings():
        trips.setdefault(r["route_id"], []).append((r["code"], r["departs_min"]))
    return {k: Schedule(tuple(v), tuple(trips.get(k, []))) for k, v in stops.items()}


class VehicleDirectory:
    """Terminal id -> vehicle, reloaded every `ttl_s`; JT/T 808 phones match without leading zeros."""

    def __init__(self, engine: AsyncEngine, ttl_s: float = 30.0) -> None:
        self.engine, self.ttl_s = engine, ttl_s
        self._by_device: dict[str, VehicleRow] = {}
        self._loaded = -1e9
        # One reload at a time: when the directory expires under load, hundreds of requests would
        # otherwise each reload it at once and exhaust the owner pool (seen with 10,000 buses).
        self._reloading = asyncio.Lock()

    def _stale(self, device_id: str) -> bool:
        age = time.monotonic() - self._loaded
        unknown = device_id.lstrip("0") not in self._by_device
        return age > self.ttl_s or (unknown and age > min(self.ttl_s, 1.0))  # an unknown id reloads ≤ 1/s

    async def find(self, device_id: str) -> VehicleRow | None:
        if self._stale(device_id):
            async with self._reloading:
                if self._stale(device_id):  # not already reloaded by the request we waited for
                    await self._load()
        return self._by_device.get(device_id.lstrip("0"))

    async def _load(self) -> None:
        async with self.engine.connect() as conn:
            rows = (await conn.execute(_VEHICLES)).mappings().all()
            schedules = await _schedules(conn)
        self._by_device = {r["device_id"].lstrip("0"): _vehicle(r, schedules) for r in rows}
        self._loaded = time.monotonic()


class PositionWriter:
    """Gathers fixes from many requests/connections and stores them in batches of up to `batch_max`."""

    def __init__(
        self, engine: AsyncEngine, limits: Limits, batch_max: int = 2000, stats: PositionStats = STATS
    ) -> None:
        self.engine, self.limits, self.batch_max, self.stats = engine, limits, batch_max, stats
        self._queue: asyncio.Queue[tuple[VehicleRow, Fix, asyncio.Future[None]]] = asyncio.Queue()
        self._months: set[datetime] = set()
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        # Two batches in flight: while one commits, the next is already being stored, so a client that
        # waits for its commit waits about one commit, not two (the fence rows are locked in vehicle order).
        self._tasks = [asyncio.create_task(self._run(), name=f"position-writer-{i}") for i in range(WRITERS)]

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

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
            await self._store_or_split(batch)

    async def _store_or_split(self, batch: list[tuple[VehicleRow, Fix, asyncio.Future[None]]]) -> None:
        """One transaction for the batch; if it fails, each fix alone, so one bad fix fails only itself."""
        try:
            await self.store([(v, f) for v, f, _ in batch])
        except Exception as exc:  # the requests get the error, the writer keeps serving
            if len(batch) > 1:
                for item in batch:
                    await self._store_or_split([item])
                return
            log.exception("storing a position failed")
            self.stats.add("failed")
            _settle(batch, exc)
            return
        _settle(batch, None)

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
            incidents = await self._incidents(conn, fixes)
            if incidents:
                await conn.execute(_INCIDENTS, _incident_params(incidents))
        self._months |= months
        self.stats.add("stored", stored)
        self.stats.add("duplicate", len(fixes) - stored)
        self.stats.add("incidents", len(incidents))
        return int(stored)

    async def sweep_offline(self, now: datetime) -> int:
        """An `offline` incident for each bus silent for `offline_after` (once per silence, whichever worker
        sweeps first: the state row turns offline in the same statement)."""
        async with self.engine.begin() as conn:
            silent = (await conn.execute(_GONE_SILENT, {"before": now - self.limits.offline_after})).all()
            found: list[tuple[VehicleRow, Fix | None, Incident]] = [
                (VehicleRow(r.vehicle_id, r.org_path, ""), None, went_silent(r.last_at, now)) for r in silent
            ]
            if found:
                await conn.execute(_INCIDENTS, _incident_params(found))
        self.stats.add("incidents", len(found))
        return len(found)

    async def _incidents(
        self, conn: AsyncConnection, fixes: list[tuple[VehicleRow, Fix]]
    ) -> list[tuple[VehicleRow, Fix | None, Incident]]:
        """Geofence checks in time order per bus, against the state rows this transaction holds locked."""
        ids = sorted({v.id for v, _f in fixes})
        await conn.execute(_NEW_STATES, {"ids": ids})
        watches = {r.vehicle_id: _watch(r) for r in await conn.execute(_LOCK_STATES, {"ids": ids})}
        found: list[tuple[VehicleRow, Fix | None, Incident]] = []
        for vehicle, fix in sorted(fixes, key=lambda vf: vf[1].time):
            watch = watches[vehicle.id]
            point = vehicle.fence.metric(fix.lon, fix.lat)
            if watch.last_at is not None and fix.time <= watch.last_at:
                continue  # an old fix re-sent (a blind-area batch): the present state is newer
            for incident in check(vehicle.fence, watch, fix.time, point, fix.speed_kmh, self.limits):
                found.append((vehicle, fix, incident))
            limits = self.limits
            watch.visit, late = arrival(
                vehicle.schedule, watch.visit, fix.time, point, limits.stop_radius_m, limits.late_after_min
            )
            if late is not None:
                found.append((vehicle, fix, late))
        await conn.execute(_SAVE_STATES, _state_params(watches))
        return found


def _watch(row: Any) -> Watch:
    return Watch(row.inside, row.off_route, row.speeding, row.offline, row.last_at, row.stop_visit)


def _state_params(watches: dict[int, Watch]) -> dict[str, list[Any]]:
    return {
        "ids": list(watches),
        "inside": [w.inside for w in watches.values()],
        "off_route": [w.off_route for w in watches.values()],
        "speeding": [w.speeding for w in watches.values()],
        "offline": [w.offline for w in watches.values()],
        "last_at": [w.last_at for w in watches.values()],
        "visit": [w.visit for w in watches.values()],
    }


_NEW_STATES = text("""
INSERT INTO bus_fence_state (vehicle_id) SELECT unnest(CAST(:ids AS int[])) ON CONFLICT DO NOTHING
""")
# In vehicle order: two workers' batches with the same buses queue up instead of deadlocking.
_LOCK_STATES = text("""
SELECT vehicle_id, inside, off_route, speeding, offline, last_at, stop_visit FROM bus_fence_state
 WHERE vehicle_id = ANY(CAST(:ids AS int[])) ORDER BY vehicle_id FOR UPDATE
""")
_SAVE_STATES = text("""
UPDATE bus_fence_state s SET inside = n.inside, off_route = n.off_route, speeding = n.speeding,
       offline = n.offline, last_at = n.last_at, stop_visit = n.visit
  FROM unnest(CAST(:ids AS int[]), CAST(:inside AS bool[]), CAST(:off_route AS bool[]),
              CAST(:speeding AS bool[]), CAST(:offline AS bool[]), CAST(:last_at AS timestamptz[]),
              CAST(:visit AS text[]))
       AS n(vehicle_id, inside, off_route, speeding, offline, last_at, visit)
 WHERE s.vehicle_id = n.vehicle_id
""")
_GONE_SILENT = text("""
UPDATE bus_fence_state s SET offline = true
  FROM vehicles v
 WHERE v.id = s.vehicle_id AND NOT s.offline AND s.last_at < :before
RETURNING s.vehicle_id, v.org_path::text AS org_path, s.last_at
""")
