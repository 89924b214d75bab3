"""GTFS for the school buses: a static feed (agency, routes, stops, trips, stop times, calendar) and
GTFS-Realtime VehiclePositions and TripUpdates (gtfs-realtime-bindings), all under the caller's scope.

Trips come from the timetable (`bus_trips`, migration 0017): each departure of a route is a trip, and a
stop's time on it is the departure plus the stop's `scheduled_min`. A vehicle runs its route's trip that
left last before its fix (local time), or the first of the day before any has left.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from google.transit import gtfs_realtime_pb2 as rt
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from twin.config import BusSettings
from twin.live.trips import VehicleEta, vehicle_eta

SCHOOL_BUS = 712  # GTFS extended route type "School Bus"
TIMEZONE = "Asia/Shanghai"
LOCAL = ZoneInfo(TIMEZONE)


@dataclass(frozen=True)
class ScheduledTrip:
    code: str
    route: str
    departs_min: int  # after local midnight


@dataclass(frozen=True)
class StaticFeed:
    routes: list[dict[str, Any]]
    stops: list[dict[str, Any]]
    agency: str
    trips: list[ScheduledTrip] = field(default_factory=list)


def current_trip(trips: list[ScheduledTrip], at: datetime) -> ScheduledTrip | None:
    """The trip of a route a bus seen at `at` runs: the last to have left by then (local), else the first."""
    if not trips:
        return None
    local = at.astimezone(LOCAL)
    minute = local.hour * 60 + local.minute
    ordered = sorted(trips, key=lambda t: t.departs_min)
    left = [t for t in ordered if t.departs_min <= minute]
    return left[-1] if left else ordered[0]


def _csv(rows: list[dict[str, Any]], fields: list[str]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: r.get(k, "") for k in fields} for r in rows)
    return out.getvalue()


def _hhmmss(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}:00"


def static_zip(feed: StaticFeed) -> bytes:
    """The GTFS zip (required files only, plus nothing we cannot fill honestly)."""
    agency = [
        {
            "agency_id": "school",
            "agency_name": feed.agency,
            "agency_url": "https://example.invalid/",
            "agency_timezone": TIMEZONE,
        }
    ]
    routes = [
        {
            "route_id": r["code"],
            "agency_id": "school",
            "route_short_name": r["code"],
            "route_long_name": r["name"],
            "route_type": SCHOOL_BUS,
        }
        for r in feed.routes
    ]
    trips = [{"route_id": t.route, "service_id": "school_days", "trip_id": t.code} for t in feed.trips]
    stops = [
        {
            "stop_id": s["code"],
            "stop_name": s["name"],
            "stop_lat": f"{s['lat']:.7f}",
            "stop_lon": f"{s['lon']:.7f}",
        }
        for s in feed.stops
    ]
    times = [
        {
            "trip_id": t.code,
            "arrival_time": _hhmmss(t.departs_min + (s["minute"] or 0)),
            "departure_time": _hhmmss(t.departs_min + (s["minute"] or 0)),
            "stop_id": s["code"],
            "stop_sequence": s["sequence"],
        }
        for t in feed.trips
        for s in feed.stops
        if s["route"] == t.route
    ]
    calendar = [
        {
            "service_id": "school_days",
            "monday": 1,
            "tuesday": 1,
            "wednesday": 1,
            "thursday": 1,
            "friday": 1,
            "saturday": 0,
            "sunday": 0,
            "start_date": "20260901",
            "end_date": "20270731",
        }
    ]
    files = {
        "agency.txt": _csv(agency, list(agency[0])),
        "routes.txt": _csv(
            routes, ["route_id", "agency_id", "route_short_name", "route_long_name", "route_type"]
        ),
        "trips.txt": _csv(trips, ["route_id", "service_id", "trip_id"]),
        "stops.txt": _csv(stops, ["stop_id", "stop_name", "stop_lat", "stop_lon"]),
        "stop_times.txt": _csv(
            times, ["trip_id", "arrival_time", "departure_time", "stop_id", "stop_sequence"]
        ),
        "calendar.txt": _csv(calendar, list(calendar[0])),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for name, content in files.items():
            z.writestr(name, content)
    return buffer.getvalue()


def _header(feed: rt.FeedMessage, now: datetime) -> None:
    feed.header.gtfs_realtime_version = "2.0"
    feed.header.incrementality = rt.FeedHeader.FULL_DATASET
    feed.header.timestamp = int(now.timestamp())


Timetable = dict[str, list[ScheduledTrip]]  # route code -> its trips


def vehicle_positions(
    buses: list[dict[str, Any]], etas: dict[int, VehicleEta], now: datetime, timetable: Timetable
) -> bytes:
    feed = rt.FeedMessage()
    _header(feed, now)
    for bus in buses:
        if bus["time"] is None:
            continue
        entity = feed.entity.add(id=f"vehicle-{bus['id']}")
        vp = entity.vehicle
        vp.vehicle.id, vp.vehicle.label = str(bus["id"]), bus["plate"]
        trip = current_trip(timetable.get(bus["route"], []), bus["time"]) if bus["route"] else None
        if trip is not None:
            vp.trip.trip_id, vp.trip.route_id = trip.code, trip.route
        vp.position.latitude, vp.position.longitude = bus["lat"], bus["lon"]
        if bus["speed_kmh"] is not None:
            vp.position.speed = bus["speed_kmh"] / 3.6
        if bus["heading"] is not None:
            vp.position.bearing = bus["heading"]
        vp.timestamp = int(bus["time"].timestamp())
        eta = etas.get(bus["id"])
        if eta and eta.stops:
            vp.current_stop_sequence = eta.stops[0].sequence
            vp.current_status = rt.VehiclePosition.IN_TRANSIT_TO
    return feed.SerializeToString()


def trip_updates(
    buses: list[dict[str, Any]], etas: dict[int, VehicleEta], now: datetime, timetable: Timetable
) -> bytes:
    feed = rt.FeedMessage()
    _header(feed, now)
    for bus in buses:
        eta = etas.get(bus["id"])
        trip = (
            current_trip(timetable.get(bus["route"], []), eta.time or now) if bus["route"] and eta else None
        )
        if trip is None or eta is None or not eta.stops:
            continue
        tu = feed.entity.add(id=f"trip-{bus['id']}").trip_update
        tu.trip.trip_id, tu.trip.route_id = trip.code, trip.route
        tu.vehicle.id, tu.vehicle.label = str(bus["id"]), bus["plate"]
        if eta.time is not None:
            tu.timestamp = int(eta.time.timestamp())
        for stop in eta.stops:
            update = tu.stop_time_update.add(stop_sequence=stop.sequence, stop_id=stop.code)
            update.arrival.time = int(stop.eta.timestamp())
    return feed.SerializeToString()


_ROUTES = text("SELECT code, name FROM bus_routes ORDER BY code")
_STOPS = text("""
SELECT r.code AS route, s.code, s.name, s.sequence, s.scheduled_min AS minute, ST_X(s.geom) AS lon,
       ST_Y(s.geom) AS lat
  FROM bus_stops s JOIN bus_routes r ON r.id = s.route_id ORDER BY r.code, s.sequence
""")


_TRIPS = text("""
SELECT t.code, r.code AS route, t.departs_min FROM bus_trips t JOIN bus_routes r ON r.id = t.route_id
 ORDER BY r.code, t.departs_min, t.code
""")


async def timetable(conn: AsyncConnection) -> Timetable:
    """The trips the caller may see, by route code."""
    found: Timetable = {}
    for r in (await conn.execute(_TRIPS)).mappings():
        found.setdefault(r["route"], []).append(ScheduledTrip(r["code"], r["route"], r["departs_min"]))
    return found


async def static_feed(conn: AsyncConnection, agency: str) -> StaticFeed:
    routes = [dict(r) for r in (await conn.execute(_ROUTES)).mappings()]
    stops = [dict(r) for r in (await conn.execute(_STOPS)).mappings()]
    trips = [t for ts in (await timetable(conn)).values() for t in ts]
    return StaticFeed(routes, stops, agency, trips)


async def etas(
    conn: AsyncConnection, buses: list[dict[str, Any]], settings: BusSettings
) -> dict[int, VehicleEta]:
    found = {}
    for bus in buses:
        if bus["time"] is not None and bus["route"]:
            eta = await vehicle_eta(conn, bus["id"], settings)
            if eta is not None:
                found[bus["id"]] = eta
    return found
