"""Geofence events of a bus: campus enter/exit, route deviation, overspeed, offline.

Pure: a `Fence` (campus boundary and route line in the campus metric CRS) and a `Watch` (what we knew of
the bus after its previous fix) -> the incidents this fix starts. An incident is written when a condition
begins (entering, leaving, going off the route, starting to speed), not for every fix while it lasts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from shapely.geometry import LineString, Point
from shapely.geometry.base import BaseGeometry

from twin.crs import transformer


@dataclass(frozen=True)
class Limits:
    overspeed_kmh: float  # a school bus carrying pupils: 60 km/h off motorways (校车安全管理条例 art. 35)
    deviation_m: float  # farther than this from its route line is a deviation
    offline_after: timedelta  # no fix for this long while in service is "offline"
    late_after_min: float = 5.0  # at a stop later than the timetable by more than this is "late"
    stop_radius_m: float = 40.0  # this close to a stop is at the stop


@dataclass(frozen=True)
class Fence:
    campus: BaseGeometry | None  # metric CRS
    route: LineString | None  # metric CRS
    srid: int | None = None  # the campus metric CRS

    def metric(self, lon: float, lat: float) -> Point:
        if self.srid is None:
            return Point(lon, lat)
        x, y = transformer(4326, self.srid).transform(lon, lat)
        return Point(x, y)


@dataclass
class Watch:
    inside: bool | None = None  # unknown before the first fix: the first fix is no crossing
    off_route: bool = False
    speeding: bool = False
    offline: bool = False
    last_at: datetime | None = None
    visit: str | None = None  # the last stop visit judged against the timetable (day/trip/stop)


@dataclass(frozen=True)
class Incident:
    kind: str  # overspeed | deviation | enter | exit | offline (| late, from the timetable)
    at: datetime
    value: float | None  # km/h over the limit, metres off the route, minutes without a fix


def check(
    fence: Fence, watch: Watch, at: datetime, point: Point, speed_kmh: float | None, limits: Limits
) -> list[Incident]:
    """The incidents this fix begins; `watch` is updated to the fix."""
    found: list[Incident] = []
    if watch.last_at is not None and at <= watch.last_at:
        return found  # an old fix re-sent (JT/T 808 blind-area batch): the present state is newer
    if fence.campus is not None:
        inside = bool(fence.campus.covers(point))
        if watch.inside is not None and inside != watch.inside:
            found.append(Incident("enter" if inside else "exit", at, None))
        watch.inside = inside
    if fence.route is not None:
        off = fence.route.distance(point)
        if off > limits.deviation_m and not watch.off_route:
            found.append(Incident("deviation", at, round(off, 1)))
        watch.off_route = off > limits.deviation_m
    over = (speed_kmh or 0.0) - limits.overspeed_kmh
    if over > 0 and not watch.speeding:
        found.append(Incident("overspeed", at, round(over, 1)))
    watch.speeding = over > 0
    watch.offline, watch.last_at = False, at
    return found


def went_offline(watch: Watch, now: datetime, limits: Limits) -> Incident | None:
    """Once per silence: the bus has sent nothing for `offline_after`."""
    if watch.last_at is None or watch.offline or now - watch.last_at < limits.offline_after:
        return None
    watch.offline = True
    return went_silent(watch.last_at, now)


def went_silent(last_at: datetime, now: datetime) -> Incident:
    """The `offline` incident of a bus whose last fix was at `last_at` (the caller decided it is silent)."""
    return Incident("offline", now, round((now - last_at).total_seconds() / 60, 1))
