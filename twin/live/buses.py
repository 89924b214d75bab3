"""Start and stop the bus ingest of one server process: directory, batching writer, JT/T 808 listener."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from twin.config import Settings
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

    async def close(self) -> None:
        if self.jt808 is not None:
            await self.jt808.close()
        await self.positions.close()
        await self.engine.dispose()


async def start_buses(settings: Settings, secret: str) -> BusIngest:
    engine = owner_engine(settings.db)
    vehicles = VehicleDirectory(engine)
    positions = PositionWriter(engine, settings.bus.batch_max)
    positions.start()
    server, port = None, None
    if settings.bus.jt808:
        server = Jt808Server(vehicles, positions, secret)
        port = await server.start(settings.bus.jt808_host, settings.bus.jt808_port)
        log.info("JT/T 808 listener on port %d", port)
    return BusIngest(engine, vehicles, positions, server, port)
