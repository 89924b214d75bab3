"""Stops, trips and arrival estimates of a bus.

A stop is speed ≈ 0 for at least N seconds; a trip runs between two stops. The ETA to each next stop is
the remaining distance along the route line (in the campus metric CRS) over the bus's recent moving speed.
The computation is pure (plain points and times); `vehicle_eta` fetches them under the caller's scope.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

from shapely import wkb
from shapely.geometry import LineString, Point
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from twin.config import BusSettings
from twin.crs import metric_srid_for

PASSED_TOLERANCE_M = 15.0  # a stop this close behind the bus counts as not yet reached (GPS noise)


@dataclass(frozen=True)
class Sample:
    time: datetime
    speed_kmh: float


@dataclass(frozen=True)
class Dwell:
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Trip:
    start: datetime
    end: datetime


def dwells(samples: list[Sample], min_s: float, still_kmh: float) -> list[Dwell]:
    """Runs of samples at speed ≤ `still_kmh` lasting at least `min_s` seconds."""
    found: list[Dwell] = []
    start: datetime | None = None
    last: datetime | None = None
    for s in sorted(samples, key=lambda s: s.time):
        if s.speed_kmh <= still_kmh:
            start = start or s.time
            last = s.time
            continue
        if start and last and (last - start).total_seconds() >= min_s:
            found.append(Dwell(start, last))
        start = last = None
    if start and last and (last - start).total_seconds() >= min_s:
        found.append(Dwell(start, last))
    return found


def trips_between(stops: list[Dwell]) -> list[Trip]:
    """A trip leaves one stop and arrives at the next."""
    return [Trip(a.end, b.start) for a, b in pairwise(stops)]


@dataclass(frozen=True)
class RouteStop:
    sequence: int
    code: str
    name: str
    point: Point  # metric CRS


@dataclass(frozen=True)
class StopEta:
    sequence: int
    code: str
    name: str
    distance_m: float
    eta: datetime


def next_stop_etas(
    line: LineString, stops: list[RouteStop], position: Point, at: datetime, speed_kmh: float
) -> tuple[float, list[StopEta]]:
    """How far along the line the bus is, and the stops still ahead with their arrival estimates."""
    along = line.project(position)
    speed_ms = speed_kmh / 3.6
    ahead = []
    for stop in sorted(stops, key=lambda s: s.sequence):
        remaining = line.project(stop.point) - along
        if remaining < -PASSED_TOLERANCE_M:
            continue
        remaining = max(remaining, 0.0)
        eta = at + timedelta(seconds=remaining / speed_ms)
        ahead.append(StopEta(stop.sequence, stop.code, stop.name, remaining, eta))
    return along, ahead


def recent_speed(samples: list[Sample], still_kmh: float, floor_kmh: float) -> float:
    """Mean moving speed of the samples (a bus waiting at a light is not standing still for the ETA)."""
    moving = [s.speed_kmh for s in samples if s.speed_kmh > still_kmh]
    return max(sum(moving) / len(moving), floor_kmh) if moving else floor_kmh


@dataclass(frozen=True)
class VehicleEta:
    vehicle_id: int
    time: datetime | None
    speed_kmh: float
    along_m: float | None
    off_route_m: float | None
    stops: list[StopEta]


# A parent may not read the campus row: then the metric CRS is the campus's rule (crs.metric_srid_for)
# applied to the route itself.
_VEHICLE = text("""
SELECT v.id, v.route_id, c.metric_srid AS srid, ST_X(ST_Centroid(r.geom)) AS lon,
       ST_Y(ST_Centroid(r.geom)) AS lat, p.time
  FROM vehicles v
  LEFT JOIN campuses c ON c.id = v.campus_id
  LEFT JOIN bus_routes r ON r.id = v.route_id
  LEFT JOIN LATERAL (SELECT time FROM positions WHERE vehicle_id = v.id ORDER BY time DESC LIMIT 1) p ON true
 WHERE v.id = :id
""")
_GEOMS = text("""
SELECT ST_AsBinary(ST_Transform(r.geom, CAST(:srid AS integer))) AS line,
       ST_AsBinary(ST_Transform(p.geom, CAST(:srid AS integer))) AS position
  FROM bus_routes r, positions p
 WHERE r.id = :route AND p.vehicle_id = :id AND p.time = :time
""")
_SAMPLES = text("""
SELECT time, coalesce(speed_kmh, 0) AS speed_kmh FROM positions
 WHERE vehicle_id = :id AND time > :since AND time <= :until ORDER BY time
""")
_STOPS = text("""
SELECT sequence, code, name, ST_AsBinary(ST_Transform(geom, CAST(:srid AS integer))) AS point
  FROM bus_stops WHERE route_id = :route ORDER BY sequence
""")


async def vehicle_eta(conn: AsyncConnection, vehicle_id: int, settings: BusSettings) -> VehicleEta | None:
    """None when the caller may not see the bus; no stops when it has no route or no position yet."""
    row = (await conn.execute(_VEHICLE, {"id": vehicle_id})).mappings().first()
    if row is None:
        return None
    if row["time"] is None or row["route_id"] is None:
        return VehicleEta(vehicle_id, row["time"], settings.eta_min_speed_kmh, None, None, [])
    srid = row["srid"] or metric_srid_for(row["lon"], row["lat"])
    params = {"srid": srid, "route": row["route_id"], "id": vehicle_id, "time": row["time"]}
    geoms = (await conn.execute(_GEOMS, params)).one()
    since = row["time"] - timedelta(seconds=settings.eta_window_s)
    found = await conn.execute(_SAMPLES, {"id": vehicle_id, "since": since, "until": row["time"]})
    samples = [Sample(r.time, r.speed_kmh) for r in found]
    speed = recent_speed(samples, settings.stop_speed_kmh, settings.eta_min_speed_kmh)
    stops = [
        RouteStop(r.sequence, r.code, r.name, _geom(r.point))
        for r in await conn.execute(_STOPS, {"srid": srid, "route": row["route_id"]})
    ]
    line, position = _geom(geoms.line), _geom(geoms.position)
    along, ahead = next_stop_etas(line, stops, position, row["time"], speed)
    return VehicleEta(vehicle_id, row["time"], speed, along, line.distance(position), ahead)


def _geom(raw: Any) -> Any:
    return wkb.loads(bytes(raw))
