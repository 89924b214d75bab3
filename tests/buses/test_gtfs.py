"""GTFS: the static zip reads as GTFS (csv files linked by ids); the realtime feeds decode with the
gtfs-realtime-bindings, and a parent's feed holds only their child's route's buses."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, datetime

import httpx
from google.transit import gtfs_realtime_pb2 as rt

from tests.buses.conftest import BusServer
from tests.live.conftest import token

T0 = int(datetime(2026, 11, 18, 7, 0, tzinfo=UTC).timestamp())


def _get(server: BusServer, path: str, user: str) -> httpx.Response:
    auth = {"Authorization": f"Bearer {token(server.host, user)}"}
    response = httpx.get(f"http://{server.host}{path}", headers=auth)
    assert response.status_code == 200, response.text
    return response


def _table(z: zipfile.ZipFile, name: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(z.read(name).decode())))


def test_static_gtfs_links_routes_trips_stops_and_stop_times(bus_server: BusServer) -> None:
    z = zipfile.ZipFile(io.BytesIO(_get(bus_server, "/gtfs/static.zip", "leader").content))
    assert {"agency.txt", "routes.txt", "trips.txt", "stops.txt", "stop_times.txt", "calendar.txt"} <= set(
        z.namelist()
    )
    routes = {r["route_id"] for r in _table(z, "routes.txt")}
    trips = {t["trip_id"]: t["route_id"] for t in _table(z, "trips.txt")}
    stops = {s["stop_id"] for s in _table(z, "stops.txt")}
    times = _table(z, "stop_times.txt")
    assert routes and set(trips.values()) == routes
    assert {t["trip_id"] for t in times} == set(trips) and {t["stop_id"] for t in times} == stops
    # The sample's timetable: two morning runs per route, 07:00 and 07:40; each trip's stops follow it.
    first = {t["trip_id"]: t["arrival_time"] for t in times if t["stop_sequence"] == "1"}
    for route in routes:
        assert sorted(first[t] for t, r in trips.items() if r == route) == ["07:00:00", "07:40:00"]
    for trip in trips:
        mine = sorted((int(t["stop_sequence"]), t["arrival_time"]) for t in times if t["trip_id"] == trip)
        assert [a for _s, a in mine] == sorted(a for _s, a in mine) and len(mine) > 1


def test_realtime_feeds_decode_and_a_parent_gets_only_their_childs_route(bus_server: BusServer) -> None:
    for bus in (bus_server.child_bus, bus_server.other_bus):
        params = {"id": bus.device_id, "lat": "34.6", "lon": "112.4", "timestamp": str(T0), "speed": "20"}
        assert httpx.get(f"http://{bus_server.host}/osmand", params=params).status_code == 200
    feeds = {}
    for user in ("leader", "parent"):
        feed = rt.FeedMessage()
        feed.ParseFromString(_get(bus_server, "/gtfs-rt/vehicle-positions", user).content)
        feeds[user] = feed
    leader, parent = feeds["leader"], feeds["parent"]
    assert leader.header.gtfs_realtime_version == "2.0"
    assert leader.header.incrementality == rt.FeedHeader.FULL_DATASET
    leader_ids = {e.vehicle.vehicle.id for e in leader.entity}
    parent_ids = {e.vehicle.vehicle.id for e in parent.entity}
    assert {str(bus_server.child_bus.id), str(bus_server.other_bus.id)} <= leader_ids
    assert str(bus_server.child_bus.id) in parent_ids and str(bus_server.other_bus.id) not in parent_ids
    child = next(e.vehicle for e in parent.entity if e.vehicle.vehicle.id == str(bus_server.child_bus.id))
    assert (round(child.position.latitude, 4), round(child.position.longitude, 4)) == (34.6, 112.4)
    assert child.timestamp == T0 and child.trip.trip_id.endswith("-AM2")  # 15:00 local: the 07:40 run
    assert abs(child.position.speed - 20 * 1.852 / 3.6) < 1e-3  # m/s


def test_trip_updates_give_arrival_times_at_the_next_stops(bus_server: BusServer) -> None:
    bus = bus_server.child_bus
    params = {"id": bus.device_id, "lat": "34.6", "lon": "112.4", "timestamp": str(T0), "speed": "20"}
    assert httpx.get(f"http://{bus_server.host}/osmand", params=params).status_code == 200
    feed = rt.FeedMessage()
    feed.ParseFromString(_get(bus_server, "/gtfs-rt/trip-updates", "parent").content)
    updates = [e.trip_update for e in feed.entity if e.trip_update.vehicle.id == str(bus.id)]
    assert len(updates) == 1
    arrivals = [u.arrival.time for u in updates[0].stop_time_update]
    sequences = [u.stop_sequence for u in updates[0].stop_time_update]
    assert arrivals and arrivals == sorted(arrivals) and all(a >= T0 for a in arrivals)
    assert sequences == sorted(sequences)
