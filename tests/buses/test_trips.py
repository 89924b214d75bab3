"""Stops, trips and ETA on a synthetic drive along a sample route (the expected values come from the drive's
own construction: distances along the line we drove, at the speed we drove)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from pyproj import Transformer
from shapely import wkb
from shapely.geometry import LineString, Point
from sqlalchemy import create_engine, text

from tests.buses.conftest import BusServer
from tests.live.conftest import token
from twin.live import trips
from twin.live.trips import Dwell, RouteStop, Sample

T0 = datetime(2026, 11, 18, 7, 0, tzinfo=UTC)


def at(s: float) -> datetime:
    return T0 + timedelta(seconds=s)


def test_a_stop_is_speed_zero_for_long_enough_and_trips_run_between() -> None:
    speeds = [30] * 6 + [0] * 5 + [25] * 6 + [0.5] * 2 + [28] * 4 + [0] * 8
    samples = [Sample(at(10 * i), s) for i, s in enumerate(speeds)]
    stops = trips.dwells(samples, min_s=30, still_kmh=3)
    # 5 samples at 0 span 40 s (a stop); 2 at 0.5 km/h span 10 s (a red light); 8 at 0 span 70 s
    assert stops == [Dwell(at(60), at(100)), Dwell(at(230), at(300))]
    assert trips.trips_between(stops) == [trips.Trip(at(100), at(230))]


def test_eta_counts_remaining_distance_along_the_line_not_as_the_crow_flies() -> None:
    line = LineString([(0, 0), (1000, 0), (1000, 1000)])  # an L: the last stop is 2 km along, 1.4 km away
    stops = [
        RouteStop(1, "S1", "start", Point(0, 0)),
        RouteStop(2, "S2", "corner", Point(1000, 0)),
        RouteStop(3, "S3", "end", Point(1000, 1000)),
    ]
    along, ahead = trips.next_stop_etas(line, stops, Point(400, 3), at(0), speed_kmh=36)  # 10 m/s
    assert along == pytest.approx(400)
    assert [(s.code, s.distance_m) for s in ahead] == [
        ("S2", pytest.approx(600)),
        ("S3", pytest.approx(1600)),
    ]
    assert [s.eta for s in ahead] == [at(60), at(160)]


def test_recent_speed_ignores_standing_and_has_a_floor() -> None:
    samples = [Sample(at(0), 0), Sample(at(10), 40), Sample(at(20), 20)]
    assert trips.recent_speed(samples, still_kmh=3, floor_kmh=15) == 30
    assert trips.recent_speed([Sample(at(0), 0)], still_kmh=3, floor_kmh=15) == 15


def _route(server: BusServer) -> tuple[LineString, int, list[tuple[int, float]]]:
    """The child's route in its campus metric CRS, that CRS, and each stop's distance along it."""
    engine = create_engine(server.settings.db.sync_url())
    with engine.connect() as conn:
        srid, line = conn.execute(
            text(
                "SELECT c.metric_srid, ST_AsBinary(ST_Transform(r.geom, c.metric_srid)) FROM bus_routes r"
                " JOIN campuses c ON c.id = r.campus_id WHERE r.id = :r"
            ),
            {"r": server.child_bus.route_id},
        ).one()
        stops = conn.execute(
            text(
                "SELECT sequence, ST_AsBinary(ST_Transform(geom, :s)) FROM bus_stops WHERE route_id = :r"
                " ORDER BY sequence"
            ),
            {"r": server.child_bus.route_id, "s": srid},
        ).all()
    engine.dispose()
    metric = wkb.loads(bytes(line))
    return metric, srid, [(seq, metric.project(wkb.loads(bytes(p)))) for seq, p in stops]


def test_eta_of_a_bus_driving_its_route(bus_server: BusServer) -> None:
    line, srid, stops = _route(bus_server)
    to_wgs = Transformer.from_crs(srid, 4326, always_xy=True)
    speed_kmh, drive_s = 36.0, 60  # 10 m/s for a minute, reported every 5 s, starting at the first stop
    url = f"http://{bus_server.host}/osmand"
    for s in range(0, drive_s + 1, 5):
        p = line.interpolate(10.0 * s)
        lon, lat = to_wgs.transform(p.x, p.y)
        params = {
            "id": bus_server.child_bus.device_id,
            "lat": f"{lat:.7f}",
            "lon": f"{lon:.7f}",
            "timestamp": str(int(at(s).timestamp())),
            "speed": str(speed_kmh / 1.852),
        }
        assert httpx.get(url, params=params).status_code == 200
    auth = {"Authorization": f"Bearer {token(bus_server.host, 'parent')}"}
    eta = httpx.get(f"http://{bus_server.host}/live/buses/{bus_server.child_bus.id}/eta", headers=auth).json()
    assert eta["along_m"] == pytest.approx(600, abs=1)
    assert eta["speed_kmh"] == pytest.approx(36, abs=0.01)
    expected = [(seq, d - 600) for seq, d in stops if d - 600 > -trips.PASSED_TOLERANCE_M]
    got = [(s["sequence"], s["distance_m"]) for s in eta["stops"]]
    assert [g[0] for g in got] == [e[0] for e in expected]
    assert [g[1] for g in got] == pytest.approx([max(e[1], 0) for e in expected], abs=1)
    first = eta["stops"][0]
    expected_eta = at(drive_s) + timedelta(seconds=max(expected[0][1], 0) / 10)
    assert abs(datetime.fromisoformat(first["eta"]) - expected_eta) < timedelta(seconds=1)
