"""Late buses: a fix at a stop against the timetable (trip departure + the stop's minutes) is a `late`
incident when more than `late_after_min` behind, once per visit; pure and through OsmAnd into PostGIS."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
from shapely.geometry import Point
from sqlalchemy import create_engine, text

from tests.buses.conftest import BusServer
from twin.live.timetable import Schedule, StopMark, arrival

LOCAL = ZoneInfo("Asia/Shanghai")
DAY = datetime(2026, 11, 18, tzinfo=LOCAL)
SCHEDULE = Schedule(
    (StopMark(1, 0, Point(0, 0)), StopMark(2, 6, Point(1000, 0)), StopMark(3, 12, Point(2000, 0))),
    (("R1-AM", 7 * 60), ("R1-AM2", 7 * 60 + 40)),
)


def at(hour: int, minute: float) -> datetime:
    return DAY + timedelta(hours=hour, minutes=minute)


def test_a_bus_nine_minutes_behind_at_a_stop_is_late_once() -> None:
    visit, late = arrival(SCHEDULE, None, at(7, 15), Point(1010, 5), 40, 5)  # stop 2 is due 07:06
    assert visit == "2026-11-18/R1-AM/2" and late is not None and (late.kind, late.value) == ("late", 9.0)
    again, late = arrival(SCHEDULE, visit, at(7, 15.5), Point(1000, 0), 40, 5)  # still standing there
    assert again == visit and late is None


def test_on_time_early_or_between_stops_is_not_late() -> None:
    assert arrival(SCHEDULE, None, at(7, 9), Point(1000, 0), 40, 5)[1] is None  # 3 min behind: tolerated
    assert arrival(SCHEDULE, None, at(7, 44), Point(1000, 0), 40, 5) == ("2026-11-18/R1-AM2/2", None)  # early
    assert arrival(SCHEDULE, "x", at(7, 30), Point(1500, 0), 40, 5) == ("x", None)  # at no stop
    assert arrival(SCHEDULE, None, at(6, 0), Point(0, 0), 40, 5) == (None, None)  # before the first run


def test_a_late_osmand_fix_at_a_stop_becomes_a_late_incident(bus_server: BusServer) -> None:
    bus, url = bus_server.child_bus, f"http://{bus_server.host}/osmand"
    engine = create_engine(bus_server.settings.db.sync_url())
    with engine.connect() as conn:
        stops = conn.execute(
            text(
                "SELECT sequence, scheduled_min, ST_X(geom), ST_Y(geom) FROM bus_stops"
                " WHERE route_id = :r ORDER BY sequence"
            ),
            {"r": bus.route_id},
        ).all()
        departures = (
            conn.execute(
                text("SELECT departs_min FROM bus_trips WHERE route_id = :r ORDER BY departs_min"),
                {"r": bus.route_id},
            )
            .scalars()
            .all()
        )
    third, fourth = stops[2], stops[3]
    first = departures[0]
    fixes = [
        (third, DAY + timedelta(minutes=first + third.scheduled_min + 12)),  # 12 min behind
        (third, DAY + timedelta(minutes=first + third.scheduled_min + 13)),  # the same visit
        (fourth, DAY + timedelta(minutes=first + fourth.scheduled_min + 13)),  # still 13 behind
    ]
    for stop, when in fixes:
        params = {
            "id": bus.device_id,
            "lat": str(stop[3]),
            "lon": str(stop[2]),
            "timestamp": str(int(when.timestamp())),
        }
        assert httpx.get(url, params=params).status_code == 200
    with engine.connect() as conn:
        late = (
            conn.execute(
                text("SELECT value FROM bus_incidents WHERE vehicle_id = :v AND kind = 'late' ORDER BY at"),
                {"v": bus.id},
            )
            .scalars()
            .all()
        )
    engine.dispose()
    assert late == [12.0, 13.0]
