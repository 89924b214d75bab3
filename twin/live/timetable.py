"""Late buses: a fix at a stop of the route against the timetable (`bus_trips` + each stop's offset).

Pure: a `Schedule` (the route's stops in the campus metric CRS with their minutes after departure, and its
trips' departures) and the last stop visit seen -> the visit this fix makes and a `late` incident when the
bus is there more than `late_after_min` after the trip's time for it. The trip is the one that left last
by the fix's time at that stop (local time), allowing a bus to be up to `EARLY_MIN` early; each visit
(day, trip, stop) is judged once, at the first fix there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from shapely.geometry import Point

from twin.live.geofence import Incident

LOCAL = ZoneInfo("Asia/Shanghai")  # the timetable's clock (the same as the GTFS feed's)
EARLY_MIN = 10.0  # a bus this much ahead of its trip's time at a stop still runs that trip


@dataclass(frozen=True)
class StopMark:
    sequence: int
    minute: int  # after the trip's departure
    point: Point  # metric CRS


@dataclass(frozen=True)
class Schedule:
    stops: tuple[StopMark, ...] = ()
    trips: tuple[tuple[str, int], ...] = ()  # (trip code, departure in minutes after local midnight)


def arrival(
    schedule: Schedule,
    last_visit: str | None,
    at: datetime,
    point: Point,
    radius_m: float,
    late_after_min: float,
) -> tuple[str | None, Incident | None]:
    """(the stop visit this fix makes, or the last one when it is at no stop; a `late` incident or None)."""
    near = [s for s in schedule.stops if s.point.distance(point) <= radius_m]
    if not near or not schedule.trips:
        return last_visit, None
    stop = min(near, key=lambda s: s.point.distance(point))
    local = at.astimezone(LOCAL)
    minute = local.hour * 60 + local.minute + local.second / 60
    started = [t for t in schedule.trips if t[1] + stop.minute <= minute + EARLY_MIN]
    if not started:
        return last_visit, None  # before the day's first trip reaches this stop: not a timetabled run
    code, departs = max(started, key=lambda t: t[1])
    visit = f"{local.date().isoformat()}/{code}/{stop.sequence}"
    if visit == last_visit:
        return visit, None
    late = minute - (departs + stop.minute)
    return visit, (Incident("late", at, round(late, 1)) if late > late_after_min else None)
