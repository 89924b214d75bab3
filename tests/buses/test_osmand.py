"""OsmAnd over HTTP: query, form and JSON variants stored and pushed; bad input and unknown devices refused."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.buses.conftest import BusServer
from tests.live.conftest import token
from twin.live.positions import STATS

T0 = int(datetime(2026, 11, 18, 8, tzinfo=UTC).timestamp())


def stored(server: BusServer, vehicle_id: int) -> list[tuple[float, float, float | None, str]]:
    engine = create_engine(server.settings.db.sync_url())
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT ST_Y(geom), ST_X(geom), speed_kmh, to_char(time AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS')"
                " FROM positions WHERE vehicle_id = :v ORDER BY time"
            ),
            {"v": vehicle_id},
        ).all()
    engine.dispose()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def test_query_form_and_json_variants_are_stored(bus_server: BusServer) -> None:
    bus, url = bus_server.child_bus, f"http://{bus_server.host}/osmand"
    query = {"id": bus.device_id, "lat": "34.61", "lon": "112.41", "timestamp": str(T0), "speed": "10"}
    assert httpx.get(url, params=query).status_code == 200
    form = {"deviceid": bus.device_id, "location": "34.612,112.412", "timestamp": str((T0 + 10) * 1000)}
    assert httpx.post(url, data=form).status_code == 200
    body = {
        "device_id": bus.device_id,
        "location": {
            "timestamp": "2026-11-18T08:00:20Z",
            "coords": {"latitude": 34.614, "longitude": 112.414, "speed": 5.0, "heading": 90},
        },
    }
    assert httpx.post(url, json=body).status_code == 200
    rows = stored(bus_server, bus.id)
    assert rows[0] == pytest.approx((34.61, 112.41, 18.52, "2026-11-18T08:00:00"))  # 10 knots
    assert rows[1][:2] == pytest.approx((34.612, 112.412)) and rows[1][3] == "2026-11-18T08:00:10"  # epoch ms
    assert rows[2] == pytest.approx((34.614, 112.414, 18.0, "2026-11-18T08:00:20"))  # 5 m/s


def test_a_repeated_fix_is_stored_once(bus_server: BusServer) -> None:
    bus, url = bus_server.child_bus, f"http://{bus_server.host}/osmand"
    query = {"id": bus.device_id, "lat": "34.61", "lon": "112.41", "timestamp": str(T0)}
    assert [httpx.get(url, params=query).status_code for _ in range(2)] == [200, 200]
    assert len(stored(bus_server, bus.id)) == 1


@pytest.mark.parametrize(
    ("params", "names"),
    [
        ({"lat": "34.6", "lon": "112.4"}, "id"),
        ({"id": "{dev}", "lat": "94", "lon": "112.4"}, "lat"),
        ({"id": "{dev}", "lat": "north", "lon": "112.4"}, "lat"),
        ({"id": "{dev}", "lon": "112.4"}, "lat"),
        ({"id": "{dev}", "location": "34.6;112.4"}, "location"),
        ({"id": "{dev}", "lat": "34.6", "lon": "112.4", "timestamp": "yesterday"}, "timestamp"),
        ({"id": "{dev}", "lat": "34.6", "lon": "112.4", "timestamp": "2026-11-18T08:00:00"}, "time zone"),
        ({"id": "NOT-A-BUS", "lat": "34.6", "lon": "112.4"}, "NOT-A-BUS"),
    ],
)
def test_bad_requests_are_refused_as_problem_json_and_counted(
    bus_server: BusServer, params: dict[str, str], names: str
) -> None:
    params = {k: v.replace("{dev}", bus_server.child_bus.device_id) for k, v in params.items()}
    before = sum(v for k, v in STATS.snapshot().items() if k.startswith("osmand_rejected"))
    response = httpx.get(f"http://{bus_server.host}/osmand", params=params)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    assert names in response.json()["detail"]
    assert sum(v for k, v in STATS.snapshot().items() if k.startswith("osmand_rejected")) == before + 1
    ok = {"id": bus_server.child_bus.device_id, "lat": "34.6", "lon": "112.4", "timestamp": str(T0)}
    assert httpx.get(f"http://{bus_server.host}/osmand", params=ok).status_code == 200  # still serving


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'{"device_id": "x"}'])
def test_bad_json_variant_is_refused(bus_server: BusServer, body: bytes) -> None:
    response = httpx.post(
        f"http://{bus_server.host}/osmand", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400


def test_a_parent_sees_only_their_childs_bus_move(bus_server: BusServer) -> None:
    url = f"http://{bus_server.host}/osmand"
    for bus in (bus_server.child_bus, bus_server.other_bus):
        httpx.get(url, params={"id": bus.device_id, "lat": "34.61", "lon": "112.41", "timestamp": str(T0)})
    auth = {"Authorization": f"Bearer {token(bus_server.host, 'parent')}"}
    buses = httpx.get(f"http://{bus_server.host}/live/buses", headers=auth).json()
    seen = {b["id"]: b for b in buses}  # the buses of the child's route, nothing else
    assert bus_server.child_bus.id in seen and bus_server.other_bus.id not in seen
    assert seen[bus_server.child_bus.id]["lat"] == pytest.approx(34.61)
    eta = f"http://{bus_server.host}/live/buses/{{}}/eta"
    assert httpx.get(eta.format(bus_server.child_bus.id), headers=auth).status_code == 200
    assert httpx.get(eta.format(bus_server.other_bus.id), headers=auth).status_code == 404


def test_each_stored_fix_is_a_position_event_for_the_fan_out(bus_server: BusServer) -> None:
    bus = bus_server.child_bus
    httpx.get(
        f"http://{bus_server.host}/osmand",
        params={"id": bus.device_id, "lat": "34.61", "lon": "112.41", "timestamp": str(T0)},
    )
    engine = create_engine(bus_server.settings.db.sync_url())
    with engine.connect() as conn:
        payloads = (
            conn.execute(text("SELECT payload FROM live_events WHERE kind = 'position'")).scalars().all()
        )
    engine.dispose()
    assert [(p["vehicle_id"], p["lat"]) for p in payloads] == [(bus.id, pytest.approx(34.61))]


def _coords(lat: float, second: int) -> dict[str, object]:
    return {
        "timestamp": f"2026-11-18T08:01:{second:02d}Z",
        "coords": {"latitude": lat, "longitude": 112.41, "speed": 2.0, "heading": 0},
    }


@pytest.mark.parametrize("key", ["locations", "location"])
def test_fixes_buffered_offline_come_as_one_json_list_and_are_all_stored(
    bus_server: BusServer, key: str
) -> None:
    bus = bus_server.child_bus
    body = {"device_id": bus.device_id, key: [_coords(34.60 + i / 1000, i) for i in range(3)]}
    assert httpx.post(f"http://{bus_server.host}/osmand", json=body).status_code == 200
    rows = stored(bus_server, bus.id)
    assert [(round(r[0], 3), r[3]) for r in rows] == [
        (34.6, "2026-11-18T08:01:00"),
        (34.601, "2026-11-18T08:01:01"),
        (34.602, "2026-11-18T08:01:02"),
    ]


def test_a_json_list_with_one_bad_fix_is_refused_whole_naming_it(bus_server: BusServer) -> None:
    bus = bus_server.child_bus
    bad = {"timestamp": "2026-11-18T08:01:09Z", "coords": {"latitude": 134.0, "longitude": 112.41}}
    body = {"device_id": bus.device_id, "locations": [_coords(34.6, 0), bad]}
    response = httpx.post(f"http://{bus_server.host}/osmand", json=body)
    assert response.status_code == 400
    assert "locations[1].coords.latitude" in response.json()["detail"]
    assert stored(bus_server, bus.id) == []  # nothing of the request


def test_get_and_post_osmand_have_distinct_operation_ids(bus_server: BusServer) -> None:
    spec = httpx.get(f"http://{bus_server.host}/api").json()
    ids = {method: op["operationId"] for method, op in spec["paths"]["/osmand"].items()}
    assert set(ids) == {"get", "post"} and ids["get"] != ids["post"]
    every = [op["operationId"] for path in spec["paths"].values() for op in path.values()]
    assert len(every) == len(set(every))
