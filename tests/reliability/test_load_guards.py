"""Guards found by the mixed-load bench (bench/load.py): what kept 10,000 buses from overrunning the server."""

from __future__ import annotations

import asyncio

import pytest

from tests.access import world as w
from twin.config import Settings
from twin.live.positions import VehicleDirectory, owner_engine


@pytest.mark.asyncio
async def test_an_expired_vehicle_directory_is_reloaded_once_however_many_fixes_wait(
    world_db: tuple[Settings, w.World],
) -> None:
    engine = owner_engine(world_db[0].db)
    directory = VehicleDirectory(engine, ttl_s=30.0)
    loads = 0
    real = directory._load

    async def counted() -> None:
        nonlocal loads
        loads += 1
        await real()

    directory._load = counted  # type: ignore[method-assign]
    try:
        found = await asyncio.gather(*(directory.find(f"A{1 + i % 2}") for i in range(200)))
    finally:
        await engine.dispose()
    assert loads == 1  # not 200 reloads competing for a pool of 2 (+10 overflow) connections
    assert {v.device_id for v in found if v is not None} == {"A1", "A2"}
