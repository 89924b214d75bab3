"""Start and stop the bus ingest of one server process: directory, batching writer, JT/T 808 listener."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from twin.config import Settings
from twin.live.geofence import Limits
from twin.live.jt808_server import Jt808Server
from twin.live.positions import PositionWriter, VehicleDirectory, owner_engine

log = logging.getLogger(__name__)


@dataclass
class BusIngest:
    engine: AsyncEngine
    vehicles: VehicleDirectory
    positions: PositionWriter
    jt808: Jt808Server | None
    jt808_port: int | None
    sweeper: asyncio.Task[None]

    async def close(self) -> None:
        self.sweeper.cancel()
        await asyncio.gather(self.sweeper, return_exceptions=True)
        if self.jt808 is not None:
            await self.jt808.close()
        await self.positions.close()
        await self.engine.dispose()


async def start_buses(settings: Settings, secret: str) -> BusIngest:
    engine = owner_engine(settings.db)
    vehicles = VehicleDirectory(engine)
    bus = settings.bus
    limits = Limits(
        bus.overspeed_kmh,
        bus.deviation_m,
        timedelta(minutes=bus.offline_after_min),
        bus.late_after_min,
        bus.stop_radius_m,
    )
    positions = PositionWriter(engine, limits, bus.batch_max)
    positions.start()
    sweeper = asyncio.create_task(_sweep(positions, bus.sweep_every_s), name="bus-offline-sweep")
    server, port = None, None
    if settings.bus.jt808:
        server = Jt808Server(vehicles, positions, secret)
        port = await server.start(settings.bus.jt808_host, settings.bus.jt808_port)
        log.info("JT/T 808 listener on port %d", port)
    return BusIngest(engine, vehicles, positions, server, port, sweeper)


async def _sweep(positions: PositionWriter, every_s: float) -> None:
    while True:
        await asyncio.sleep(every_s)
        try:
            await positions.sweep_offline(datetime.now(UTC))
        except Exception:  # the database is away a moment: the next sweep finds the same buses
            log.exception("offline sweep failed")
