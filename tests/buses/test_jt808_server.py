"""The JT/T 808 listener: register -> 0x8100 with an auth code, authenticate, heartbeat, location and batch
upload -> 0x8001 after the commit; broken frames rejected and counted while the connection keeps serving."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, text

from tests.buses.conftest import BusServer
from twin.live import jt808
from twin.live.jt808 import Header, Location, Message, Registration
from twin.live.positions import STATS

WHEN = datetime(2026, 11, 18, 7, 30, tzinfo=UTC)


class Terminal:
    """A bus terminal on a TCP connection, speaking 2013 or 2019 framing."""

    def __init__(self, port: int, phone: str, version: int | None = None) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.phone, self.version, self.serial = phone, version, 0
        self.deframer = jt808.Deframer()
        self.frames: list[bytes] = []

    def send(self, message_id: int, body: bytes = b"") -> int:
        self.serial += 1
        header = Header(message_id, self.phone, self.serial, self.version)
        self.sock.sendall(jt808.encode(Message(header, body)))
        return self.serial

    def receive(self) -> Message:
        while not self.frames:
            data = self.sock.recv(4096)
            assert data, "the platform closed the connection"
            self.frames += self.deframer.feed(data)
        return jt808.decode(self.frames.pop(0))

    def sign_in(self) -> None:
        is_2019 = self.version is not None
        reg = Registration(41, 300, "HNSB", "SB-X1", "T0001", 2, "豫C00001")
        serial = self.send(jt808.REGISTER, jt808.register_body(reg, is_2019))
        reply = self.receive()
        assert reply.header.message_id == jt808.REGISTER_REPLY
        replied_serial, result, code = jt808.parse_register_reply(reply.body)
        assert (replied_serial, result) == (serial, jt808.REGISTERED) and code
        serial = self.send(jt808.AUTHENTICATE, jt808.authenticate_body(code, is_2019))
        assert self.general() == (serial, jt808.AUTHENTICATE, jt808.OK)

    def general(self) -> tuple[int, int, int]:
        reply = self.receive()
        assert reply.header.message_id == jt808.GENERAL_REPLY
        assert reply.header.phone == self.phone.lstrip("0")
        return jt808.parse_general_reply(reply.body)

    def close(self) -> None:
        self.sock.close()


@pytest.fixture(params=[None, 1], ids=["2013", "2019"])
def terminal(request: pytest.FixtureRequest, bus_server: BusServer) -> Iterator[Terminal]:
    t = Terminal(bus_server.jt808_port, bus_server.child_bus.device_id, request.param)
    yield t
    t.close()


def positions(server: BusServer, vehicle_id: int) -> list[tuple[float, float, float]]:
    engine = create_engine(server.settings.db.sync_url())
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT ST_Y(geom), ST_X(geom), speed_kmh FROM positions"
                " WHERE vehicle_id = :v AND time >= :t ORDER BY time"
            ),
            {"v": vehicle_id, "t": WHEN},
        ).all()
    engine.dispose()
    return [(r[0], r[1], r[2]) for r in rows]


def loc(minute: int, lat: float = 34.61, speed: float = 30.0) -> Location:
    return Location(0, 3, lat, 112.41, 120, speed, 90, WHEN + timedelta(minutes=minute))


def test_register_authenticate_heartbeat_and_location(terminal: Terminal, bus_server: BusServer) -> None:
    terminal.sign_in()
    serial = terminal.send(jt808.HEARTBEAT)
    assert terminal.general() == (serial, jt808.HEARTBEAT, jt808.OK)
    serial = terminal.send(jt808.LOCATION, jt808.location_body(loc(0)))
    assert terminal.general() == (serial, jt808.LOCATION, jt808.OK)
    assert positions(bus_server, bus_server.child_bus.id) == [pytest.approx((34.61, 112.41, 30.0))]


def test_batch_upload_stores_every_location(terminal: Terminal, bus_server: BusServer) -> None:
    terminal.sign_in()
    batch = [loc(m, 34.61 + m / 1000) for m in range(5)]
    serial = terminal.send(jt808.BATCH_LOCATION, jt808.batch_body(batch, kind=1))
    assert terminal.general() == (serial, jt808.BATCH_LOCATION, jt808.OK)
    assert [p[0] for p in positions(bus_server, bus_server.child_bus.id)] == pytest.approx(
        [34.61 + m / 1000 for m in range(5)]
    )


def test_a_sub_packaged_batch_upload_is_reassembled_in_any_order_then_stored(
    terminal: Terminal, bus_server: BusServer
) -> None:
    """A 0x0704 of 12 locations split into 3 packages (分包: header bit 13, total and index), sent 2, 1, 3:
    each package is acknowledged on receipt, nothing is stored until the message is whole, then all is."""
    terminal.sign_in()
    body = jt808.batch_body([loc(m, 34.61 + m / 1000) for m in range(12)], kind=1)
    third = len(body) // 3 + 1
    chunks = [body[i : i + third] for i in range(0, len(body), third)]
    assert len(chunks) == 3
    first = terminal.serial + 1
    for index in (2, 1, 3):
        serial = (first + index - 1) & 0xFFFF
        header = Header(jt808.BATCH_LOCATION, terminal.phone, serial, terminal.version, package=(3, index))
        terminal.sock.sendall(jt808.encode(Message(header, chunks[index - 1])))
        assert terminal.general() == (serial, jt808.BATCH_LOCATION, jt808.OK)
        stored = positions(bus_server, bus_server.child_bus.id)
        assert len(stored) == (12 if index == 3 else 0)
    assert [p[0] for p in stored] == pytest.approx([34.61 + m / 1000 for m in range(12)])


def test_location_before_authentication_is_refused(bus_server: BusServer) -> None:
    t = Terminal(bus_server.jt808_port, bus_server.child_bus.device_id)
    serial = t.send(jt808.LOCATION, jt808.location_body(loc(0)))
    assert t.general() == (serial, jt808.LOCATION, jt808.FAILED)
    serial = t.send(jt808.AUTHENTICATE, b"guessed-code")
    assert t.general() == (serial, jt808.AUTHENTICATE, jt808.FAILED)
    t.close()
    assert positions(bus_server, bus_server.child_bus.id) == []


def test_unknown_terminal_cannot_register(bus_server: BusServer) -> None:
    t = Terminal(bus_server.jt808_port, "19999999999")
    reg = Registration(41, 300, "X", "Y", "Z", 2, "豫C99999")
    t.send(jt808.REGISTER, jt808.register_body(reg, False))
    assert jt808.parse_register_reply(t.receive().body)[1] == jt808.NO_SUCH_TERMINAL
    t.close()


def test_broken_frames_are_counted_and_the_connection_keeps_serving(
    terminal: Terminal, bus_server: BusServer
) -> None:
    terminal.sign_in()
    before = STATS.snapshot()
    good = jt808.encode(
        Message(Header(jt808.LOCATION, terminal.phone, 99, terminal.version), jt808.location_body(loc(1)))
    )
    bad_checksum = bytearray(good)
    bad_checksum[-2] ^= 0x55
    terminal.sock.sendall(
        bytes(bad_checksum) + b"\x7e\x7d\x03\x7e" + b"\x7e\x00\x02\x7e"
    )  # + bad escape, too short
    serial = terminal.send(jt808.HEARTBEAT)
    assert terminal.general() == (serial, jt808.HEARTBEAT, jt808.OK)  # nothing answered the broken ones
    after = STATS.snapshot()
    for reason in ("bad_checksum", "bad_escape", "too_short"):
        key = f"jt808_rejected_{reason}"
        assert after.get(key, 0) == before.get(key, 0) + 1
    other = Terminal(bus_server.jt808_port, bus_server.other_bus.device_id)  # the listener serves others too
    serial = other.send(jt808.HEARTBEAT)
    assert other.general() == (serial, jt808.HEARTBEAT, jt808.OK)
    other.close()
    assert positions(bus_server, bus_server.child_bus.id) == []
