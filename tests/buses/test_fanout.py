"""A fix taken over OsmAnd or JT/T 808 reaches a parent's WebSocket as a "position" event of their child's
bus, and another route's bus never does."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
from websockets.sync.client import connect

from tests.buses.conftest import BusServer
from tests.buses.test_jt808_server import Terminal, loc
from tests.live.conftest import token
from twin.live import jt808


def test_positions_reach_the_parents_stream_for_their_childs_bus_only(bus_server: BusServer) -> None:
    host = bus_server.host
    with connect(f"ws://{host}/live/ws?access_token={token(host, 'parent')}", open_timeout=10) as client:
        json.loads(client.recv(timeout=10))  # the snapshot
        when = int(datetime(2026, 11, 18, 7, 0, tzinfo=UTC).timestamp())
        for bus in (bus_server.other_bus, bus_server.child_bus):
            params = {"id": bus.device_id, "lat": "34.61", "lon": "112.41", "timestamp": str(when)}
            assert httpx.get(f"http://{host}/osmand", params=params).status_code == 200
        event = json.loads(client.recv(timeout=10))
        assert event["kind"] == "position" and event["data"]["vehicle_id"] == bus_server.child_bus.id
        assert event["data"]["lat"] == 34.61
        terminal = Terminal(bus_server.jt808_port, bus_server.child_bus.device_id)
        terminal.sign_in()
        terminal.send(jt808.LOCATION, jt808.location_body(loc(5, lat=34.62)))
        assert terminal.general()[2] == jt808.OK
        terminal.close()
        event = json.loads(client.recv(timeout=10))
        assert event["data"]["vehicle_id"] == bus_server.child_bus.id and event["data"]["lat"] == 34.62
        try:
            client.recv(timeout=0.7)
            raise AssertionError("the other route's bus reached a parent")
        except TimeoutError:
            pass
