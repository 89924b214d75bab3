"""JT/T 808 codec: the example frame published by SmallChi/JT808 (README, 0x0200 with mileage and fuel extras),
escaping edge cases, checksum, 2013 and 2019 headers, and round trips of the messages we speak."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from twin.live import jt808
from twin.live.jt808 import FrameError, Header, Location, Message, Registration

# From the README of github.com/SmallChi/JT808: terminal 123456789012, serial 126 (0x007e, so escaped),
# alarm 1, status 2, lat 12.222222, lon 132.444444, altitude 40 m, speed 6.0 km/h, 2018-10-15 10:10:10
# GMT+8, extras 0x01 mileage 100 and 0x02 fuel 125 (0x007d, escaped). Checksum 0x13.
PUBLISHED = bytes.fromhex(
    "7E02000026123456789012007D02000000010000000200BA7F0E07E4F11C0028003C00001810151010100104000000640202007D01137E"
)


def test_published_location_frame_decodes_to_its_documented_values() -> None:
    message = jt808.decode(PUBLISHED)
    assert message.header == Header(jt808.LOCATION, "123456789012", 126)
    loc = jt808.parse_location(message.body)
    assert (loc.alarm, loc.status, loc.lat, loc.lon) == (1, 2, 12.222222, 132.444444)
    assert (loc.altitude_m, loc.speed_kmh, loc.course) == (40, 6.0, 0)
    assert loc.time == datetime(2018, 10, 15, 2, 10, 10, tzinfo=UTC)  # 10:10:10 in GMT+8
    assert loc.extras == {1: (100).to_bytes(4, "big"), 2: (125).to_bytes(2, "big")}


def test_published_location_frame_is_reencoded_byte_for_byte() -> None:
    assert jt808.encode(jt808.decode(PUBLISHED)) == PUBLISHED


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        (b"\x7e", b"\x7d\x02"),
        (b"\x7d", b"\x7d\x01"),
        (b"\x7d\x02", b"\x7d\x01\x02"),  # an escape byte followed by 02 is not a flag
        (b"\x7e\x7d\x7e", b"\x7d\x02\x7d\x01\x7d\x02"),
        (b"\x01\x02", b"\x01\x02"),
    ],
)
def test_escaping_round_trips(raw: bytes, escaped: bytes) -> None:
    assert jt808.escape(raw) == escaped
    assert jt808.unescape(escaped) == raw


@pytest.mark.parametrize("bad", [b"\x01\x7d", b"\x7d\x03", b"\x7d\x7e"])
def test_a_dangling_or_unknown_escape_is_rejected(bad: bytes) -> None:
    with pytest.raises(FrameError) as err:
        jt808.unescape(bad)
    assert err.value.reason == "bad_escape"


def test_wrong_checksum_is_rejected() -> None:
    frame = bytearray(PUBLISHED)
    frame[-2] ^= 0x01
    with pytest.raises(FrameError) as err:
        jt808.decode(bytes(frame))
    assert err.value.reason == "bad_checksum"


def test_body_length_must_match_the_header() -> None:
    content = bytes.fromhex("0002000512345678901200010102")  # says 5 body bytes, carries 2
    frame = b"\x7e" + content + bytes([jt808.checksum(content)]) + b"\x7e"
    with pytest.raises(FrameError) as err:
        jt808.decode(frame)
    assert err.value.reason == "bad_length"


def test_2019_header_carries_version_and_a_20_digit_phone() -> None:
    header = Header(jt808.HEARTBEAT, "13912345678", 7, version=1)
    frame = jt808.encode(Message(header))
    content = jt808.unescape(frame[1:-1])
    assert content[:2] == b"\x00\x02" and content[2] & 0x40  # version bit 14 in the attributes
    assert content[4] == 1 and content[5:15] == bytes.fromhex("00000000013912345678")
    assert jt808.decode(frame).header == header


def test_sub_packaged_header_round_trips() -> None:
    header = Header(jt808.BATCH_LOCATION, "1", 9, package=(3, 2))
    assert jt808.decode(jt808.encode(Message(header, b"\x00\x00\x00"))).header == header


@pytest.mark.parametrize("is_2019", [False, True])
def test_register_and_authenticate_bodies_round_trip(is_2019: bool) -> None:
    reg = Registration(41, 300, "HNSB", "SB-X1", "T0001", 2, "豫C12345")
    assert jt808.parse_register(jt808.register_body(reg, is_2019), is_2019) == reg
    assert jt808.parse_authenticate(jt808.authenticate_body("AC-77", is_2019), is_2019) == "AC-77"


def test_replies_carry_serial_message_and_result() -> None:
    assert jt808.parse_general_reply(jt808.general_reply(126, jt808.LOCATION, jt808.OK)) == (126, 0x0200, 0)
    assert jt808.parse_register_reply(jt808.register_reply(5, jt808.REGISTERED, "AUTH")) == (5, 0, "AUTH")
    assert jt808.parse_register_reply(jt808.register_reply(5, jt808.NO_SUCH_TERMINAL, "x")) == (5, 4, "")


def test_southern_western_location_and_batch_round_trip() -> None:
    when = datetime(2026, 11, 24, 7, 30, 5, tzinfo=UTC)
    locs = [
        Location(0, 0, -33.8688, -70.6693, 500, 42.5, 270, when),
        Location(0, 3, 34.6123, 112.4567, 120, 0.0, 0, when, {0x30: b"\x1f"}),
    ]
    decoded = jt808.parse_batch(jt808.batch_body(locs))
    assert [(d.lat, d.lon, d.speed_kmh, d.time) for d in decoded] == [
        (x.lat, x.lon, x.speed_kmh, x.time) for x in locs
    ]
    assert decoded[1].extras == {0x30: b"\x1f"}


def test_deframer_splits_a_stream_in_arbitrary_chunks() -> None:
    stream = b"noise" + PUBLISHED + PUBLISHED + jt808.encode(Message(Header(jt808.HEARTBEAT, "1", 1)))
    deframer, frames = jt808.Deframer(), []
    for i in range(0, len(stream), 7):
        frames += deframer.feed(stream[i : i + 7])
    assert frames[:2] == [PUBLISHED, PUBLISHED]
    assert jt808.decode(frames[2]).header.message_id == jt808.HEARTBEAT


def test_a_2019_flag_on_a_2013_sized_header_is_too_short_not_a_crash() -> None:
    content = bytes.fromhex("00024000123456789012") + b"\x00\x01"  # version bit set, 12-byte header
    frame = b"\x7e" + content + bytes([jt808.checksum(content)]) + b"\x7e"
    with pytest.raises(FrameError) as err:
        jt808.decode(frame)
    assert err.value.reason == "too_short"
