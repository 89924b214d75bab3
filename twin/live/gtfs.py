"""GTFS for the school buses: a static feed (agency, routes, stops, trips, stop times, calendar) and
GTFS-Realtime VehiclePositions and TripUpdates (gtfs-realtime-bindings), all under the caller's scope.

Each route has one trip a school day, `{route}-AM`, leaving at `FIRST_DEPARTURE`; a stop's time is its
`scheduled_min` after that. Vehicles run their route's trip.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from google.transit import gtfs_realtime_pb2 as rt
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from twin.config import BusSettings
from twin.live.trips import VehicleEta, vehicle_eta

FIRST_DEPARTURE_MIN = 7 * 60  # 07:00 local
SCHOOL_BUS = 712  # GTFS extended route type "School Bus"
TIMEZONE = "Asia/Shanghai"


def trip_id(route_code: str) -> str:
    return f"{route_code}-AM"


@dataclass(frozen=True)
class StaticFeed:
    routes: list[dict[str, Any]]
    stops: list[dict[str, Any]]
    agency: str


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
    trips = [
        {"route_id": r["code"], "service_id": "school_days", "trip_id": trip_id(r["code"])}
        for r in feed.routes
    ]
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
            "trip_id": trip_id(s["route"]),
            "arrival_time": _hhmmss(FIRST_DEPARTURE_MIN + (s["minute"] or 0)),
            "departure_time": _hhmmss(FIRST_DEPARTURE_MIN + (s["minute"] or 0)),
            "stop_id": s["code"],
            "stop_sequence": s["sequence"],
        }
        for s in feed.stops
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


def vehicle_positions(buses: list[dict[str, Any]], etas: dict[int, VehicleEta], now: datetime) -> bytes:
    feed = rt.FeedMessage()
    _header(feed, now)
    for bus in buses:
        if bus["time"] is None:
            continue
        entity = feed.entity.add(id=f"vehicle-{bus['id']}")
        vp = entity.vehicle
        vp.vehicle.id, vp.vehicle.label = str(bus["id"]), bus["plate"]
        if bus["route"]:
            vp.trip.trip_id, vp.trip.route_id = trip_id(bus["route"]), bus["route"]
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


def trip_updates(buses: list[dict[str, Any]], etas: dict[int, VehicleEta], now: datetime) -> bytes:
    feed = rt.FeedMessage()
    _header(feed, now)
    for bus in buses:
        eta = etas.get(bus["id"])
        if not bus["route"] or eta is None or not eta.stops:
            continue
        tu = feed.entity.add(id=f"trip-{bus['id']}").trip_update
        tu.trip.trip_id, tu.trip.route_id = trip_id(bus["route"]), bus["route"]
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


async def static_feed(conn: AsyncConnection, agency: str) -> StaticFeed:
    routes = [dict(r) for r in (await conn.execute(_ROUTES)).mappings()]
    stops = [dict(r) for r in (await conn.execute(_STOPS)).mappings()]
    return StaticFeed(routes, stops, agency)


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
