"""Geofence incidents: each begins once (entering, leaving, going off the route, starting to speed, going
silent), and the bus ingest writes them to bus_incidents in the batch's transaction."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
from shapely.geometry import LineString, Point, box
from sqlalchemy import create_engine, text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.buses.conftest import BusServer
from twin.config import Settings
from twin.crs import transformer
from twin.live.geofence import Fence, Limits, Watch, check, went_offline
from twin.live.gps_osmand import Fix
from twin.live.positions import PositionWriter, VehicleDirectory, VehicleRow, owner_engine

T0 = datetime(2026, 11, 18, 7, 0, tzinfo=UTC)
LIMITS = Limits(overspeed_kmh=60, deviation_m=200, offline_after=timedelta(minutes=10))
FENCE = Fence(box(0, 0, 500, 500), LineString([(250, 250), (250, 5000)]))


def drive(points: list[tuple[float, float, float]]) -> list[tuple[str, float | None]]:
    watch, kinds = Watch(), []
    for i, (x, y, speed) in enumerate(points):
        kinds += [
            (i.kind, i.value)
            for i in check(FENCE, watch, T0 + timedelta(seconds=10 * i), Point(x, y), speed, LIMITS)
        ]
    return kinds


def test_leaving_and_entering_the_campus_are_one_incident_each() -> None:
    assert drive([(250, 400, 10), (250, 600, 20), (250, 900, 30), (250, 450, 10)]) == [
        ("exit", None),
        ("enter", None),
    ]


def test_the_first_fix_is_no_crossing() -> None:
    assert drive([(250, 900, 30)]) == []


def test_deviation_starts_once_beyond_the_distance() -> None:
    found = drive([(250, 1000, 30), (400, 1200, 30), (500, 1400, 30), (260, 1600, 30), (600, 1800, 30)])
    assert found == [("deviation", 250.0), ("deviation", 350.0)]


def test_overspeed_counts_the_excess_once_per_episode() -> None:
    found = drive([(250, 1000, 55), (250, 1100, 72.5), (250, 1200, 80), (250, 1300, 50), (250, 1400, 61)])
    assert found == [("overspeed", 12.5), ("overspeed", 1.0)]


def test_an_old_fix_sent_late_changes_nothing() -> None:
    watch = Watch()
    check(FENCE, watch, T0, Point(250, 900), 30, LIMITS)
    assert check(FENCE, watch, T0 - timedelta(minutes=5), Point(250, 100), 90, LIMITS) == []
    assert watch.inside is False


def test_offline_once_per_silence() -> None:
    watch = Watch()
    check(FENCE, watch, T0, Point(250, 900), 30, LIMITS)
    assert went_offline(watch, T0 + timedelta(minutes=9), LIMITS) is None
    incident = went_offline(watch, T0 + timedelta(minutes=12), LIMITS)
    assert incident is not None and (incident.kind, incident.value) == ("offline", 12.0)
    assert went_offline(watch, T0 + timedelta(minutes=20), LIMITS) is None
    check(FENCE, watch, T0 + timedelta(minutes=21), Point(250, 900), 30, LIMITS)
    assert went_offline(watch, T0 + timedelta(minutes=32), LIMITS) is not None


def test_a_speeding_bus_leaving_its_route_is_recorded(bus_server: BusServer) -> None:
    bus, url = bus_server.child_bus, f"http://{bus_server.host}/osmand"
    engine = create_engine(bus_server.settings.db.sync_url())
    with engine.connect() as conn:
        lon, lat = conn.execute(
            text("SELECT ST_X(ST_StartPoint(geom)), ST_Y(ST_StartPoint(geom)) FROM bus_routes WHERE id = :r"),
            {"r": bus.route_id},
        ).one()
    fixes = [
        (lat, lon, 30),
        (lat, lon, 75 / 1.852 * 1.0),
        (lat + 0.01, lon + 0.01, 20),
    ]  # 75 km/h, then ~1.4 km off
    for i, (y, x, knots) in enumerate(fixes):
        params = {
            "id": bus.device_id,
            "lat": str(y),
            "lon": str(x),
            "speed": str(knots if i != 0 else 30 / 1.852),
            "timestamp": str(int((T0 + timedelta(seconds=10 * i)).timestamp())),
        }
        assert httpx.get(url, params=params).status_code == 200
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT kind, round(value::numeric) FROM bus_incidents WHERE vehicle_id = :v AND kind IN"
                " ('overspeed', 'deviation') ORDER BY at"
            ),
            {"v": bus.id},
        ).all()
    engine.dispose()
    assert [r[0] for r in rows] == ["overspeed", "deviation"]
    assert rows[0][1] == 15


async def test_two_workers_report_a_crossing_and_a_silence_once(live_db: Settings) -> None:
    """Two writers (as two uvicorn workers have) take alternate fixes of one bus driving out of and back
    into its campus: the state is the database's, so every crossing is seen once, and the silence after."""
    engines = [owner_engine(live_db.db) for _ in range(2)]
    writers = [PositionWriter(e, LIMITS) for e in engines]
    try:
        bus = await _a_bus(engines[0])
        inside = bus.fence.campus.representative_point()  # type: ignore[union-attr]
        to_lonlat = transformer(bus.fence.srid, 4326)  # type: ignore[arg-type]
        far = (inside.x + 5000, inside.y)
        path = [(inside.x, inside.y), far, (inside.x, inside.y), far]  # each worker alone: no change seen
        for i, (x, y) in enumerate(path):
            lon, lat = to_lonlat.transform(x, y)
            fix = Fix(bus.device_id, T0 + timedelta(seconds=10 * i), lat, lon, 20.0)
            await writers[i % 2].store([(bus, fix)])
        now = T0 + timedelta(minutes=30)
        swept = await asyncio.gather(*(w.sweep_offline(now) for w in writers))
        assert sorted(swept) == [0, 1]
        async with engines[0].connect() as conn:
            kinds = (
                (
                    await conn.execute(
                        text("SELECT kind FROM bus_incidents WHERE vehicle_id = :v ORDER BY at, id"),
                        {"v": bus.id},
                    )
                )
                .scalars()
                .all()
            )
        assert [k for k in kinds if k in ("exit", "enter", "offline")] == ["exit", "enter", "exit", "offline"]
    finally:
        for engine in engines:
            await engine.dispose()


async def _a_bus(engine: AsyncEngine) -> VehicleRow:
    directory = VehicleDirectory(engine)
    async with engine.connect() as conn:
        device = (
            await conn.execute(
                text(
                    "SELECT v.device_id FROM vehicles v JOIN campuses c ON c.id = v.campus_id ORDER BY v.id LIMIT 1"
                )
            )
        ).scalar_one()
    bus = await directory.find(device)
    assert bus is not None and bus.fence.campus is not None
    return bus
