"""JT/T 808 (2013 and 2019) as bytes: framing, escaping, checksum, header, BCD, and the messages we use.

Pure: no sockets, no database. A frame is `0x7e | escaped(header + body + checksum) | 0x7e`; inside,
`0x7e` is sent as `0x7d 0x02` and `0x7d` as `0x7d 0x01`. The checksum is the XOR of header and body.
Every multi-byte value is big-endian. Times are BCD YYMMDDhhmmss in GMT+8.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone

FLAG = 0x7E
ESC = 0x7D
BEIJING = timezone(timedelta(hours=8))

REGISTER = 0x0100
REGISTER_REPLY = 0x8100
AUTHENTICATE = 0x0102
HEARTBEAT = 0x0002
LOCATION = 0x0200
BATCH_LOCATION = 0x0704
GENERAL_REPLY = 0x8001
TERMINAL_REPLY = 0x0001

# 0x8001 results
OK, FAILED, BAD_MESSAGE, UNSUPPORTED = 0, 1, 2, 3
# 0x8100 results
REGISTERED, VEHICLE_TAKEN, NO_SUCH_VEHICLE, TERMINAL_TAKEN, NO_SUCH_TERMINAL = 0, 1, 2, 3, 4

_BODY_LENGTH = 0x03FF
_SUBPACKAGE = 1 << 13
_VERSION_2019 = 1 << 14
MAX_FRAME = 2 * (17 + _BODY_LENGTH + 4 + 1) + 2  # everything escaped, 2019 header, sub-package fields


class FrameError(ValueError):
    """A frame that can never be understood: bad escape, wrong checksum, wrong length."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


def escape(data: bytes) -> bytes:
    return data.replace(b"\x7d", b"\x7d\x01").replace(b"\x7e", b"\x7d\x02")


def unescape(data: bytes) -> bytes:
    out = bytearray()
    i = 0
    while i < len(data):
        byte = data[i]
        if byte == ESC:
            if i + 1 >= len(data) or data[i + 1] not in (1, 2):
                raise FrameError("bad_escape", f"0x7d at {i} not followed by 0x01 or 0x02")
            out.append(ESC if data[i + 1] == 1 else FLAG)
            i += 2
            continue
        out.append(byte)
        i += 1
    return bytes(out)


def checksum(data: bytes) -> int:
    value = 0
    for byte in data:
        value ^= byte
    return value


def bcd(digits: str, size: int) -> bytes:
    """`digits` left-padded with zeros to 2*size digits, two per byte."""
    if not digits.isdigit() or len(digits) > 2 * size:
        raise ValueError(f"{digits!r} is not at most {2 * size} decimal digits")
    return bytes.fromhex(digits.rjust(2 * size, "0"))


def from_bcd(data: bytes) -> str:
    text = data.hex()
    if not text.isdigit():
        raise FrameError("bad_bcd", f"{text} is not BCD")
    return text


@dataclass(frozen=True)
class Header:
    message_id: int
    phone: str  # the terminal's phone number, leading zeros removed
    serial: int
    version: int | None = None  # protocol version byte of a 2019 frame; None for 2013
    encryption: int = 0
    package: tuple[int, int] | None = None  # (total, index) of a sub-packaged message

    @property
    def is_2019(self) -> bool:
        return self.version is not None


@dataclass(frozen=True)
class Message:
    header: Header
    body: bytes = field(default=b"")


def encode(message: Message) -> bytes:
    """The frame on the wire, flags included."""
    h, body = message.header, message.body
    if len(body) > _BODY_LENGTH:
        raise ValueError(f"body of {len(body)} bytes; at most {_BODY_LENGTH} per package")
    attributes = len(body) | (h.encryption & 0x7) << 10
    if h.package:
        attributes |= _SUBPACKAGE
    head = bytearray()
    if h.is_2019:
        attributes |= _VERSION_2019
        head += struct.pack(">HHB", h.message_id, attributes, h.version or 0) + bcd(h.phone, 10)
    else:
        head += struct.pack(">HH", h.message_id, attributes) + bcd(h.phone, 6)
    head += struct.pack(">H", h.serial & 0xFFFF)
    if h.package:
        head += struct.pack(">HH", *h.package)
    content = bytes(head) + body
    return bytes([FLAG]) + escape(content + bytes([checksum(content)])) + bytes([FLAG])


def decode(frame: bytes) -> Message:
    """A frame (with or without its 0x7e flags) -> its message; FrameError naming what was wrong."""
    if frame[:1] == b"\x7e":
        frame = frame[1:]
    if frame[-1:] == b"\x7e":
        frame = frame[:-1]
    data = unescape(frame)
    if len(data) < 13:
        raise FrameError("too_short", f"{len(data)} bytes; a header alone is 12")
    content, check = data[:-1], data[-1]
    if checksum(content) != check:
        raise FrameError("bad_checksum", f"checksum 0x{check:02x}, content XORs to 0x{checksum(content):02x}")
    message_id, attributes = struct.unpack_from(">HH", content)
    if attributes & _VERSION_2019 and len(content) < 17:
        raise FrameError("too_short", f"{len(content)} bytes; a 2019 header alone is 17")
    if attributes & _VERSION_2019:
        version: int | None = content[4]
        phone, at = from_bcd(content[5:15]), 15
    else:
        version, (phone, at) = None, (from_bcd(content[4:10]), 10)
    (serial,) = struct.unpack_from(">H", content, at)
    at += 2
    package = None
    if attributes & _SUBPACKAGE:
        if len(content) < at + 4:
            raise FrameError("too_short", "sub-package fields missing")
        package = struct.unpack_from(">HH", content, at)
        at += 4
    body = content[at:]
    if len(body) != attributes & _BODY_LENGTH:
        said = attributes & _BODY_LENGTH
        raise FrameError("bad_length", f"header says {said} body bytes, frame has {len(body)}")
    header = Header(message_id, phone.lstrip("0") or "0", serial, version, (attributes >> 10) & 0x7, package)
    return Message(header, body)


class Deframer:
    """Bytes as they arrive on a TCP stream -> complete frames between 0x7e flags."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        self._buffer += data
        frames: list[bytes] = []
        while True:
            start = self._buffer.find(b"\x7e")
            if start < 0:
                self._buffer.clear()  # noise before any flag
                return frames
            end = self._buffer.find(b"\x7e", start + 1)
            if end < 0:
                del self._buffer[:start]
                if len(self._buffer) > MAX_FRAME:
                    raise FrameError("too_long", f"no closing flag within {MAX_FRAME} bytes")
                return frames
            if end == start + 1:  # two flags in a row: the second opens the next frame
                del self._buffer[: start + 1]
                continue
            frames.append(bytes(self._buffer[start : end + 1]))
            del self._buffer[: end + 1]


# --- message bodies ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Registration:
    province: int
    city: int
    maker: str
    model: str
    terminal_id: str
    plate_color: int
    plate: str


def parse_register(body: bytes, is_2019: bool) -> Registration:
    maker_n, model_n, term_n = (11, 30, 30) if is_2019 else (5, 20, 7)
    fixed = 4 + maker_n + model_n + term_n + 1
    if len(body) < fixed:
        raise FrameError("bad_body", f"register body of {len(body)} bytes, at least {fixed}")
    province, city = struct.unpack_from(">HH", body)
    at = 4
    parts = []
    for n in (maker_n, model_n, term_n):
        parts.append(body[at : at + n].rstrip(b"\x00").decode("ascii", "replace"))
        at += n
    color = body[at]
    plate = body[at + 1 :].decode("gbk", "replace")
    return Registration(province, city, parts[0], parts[1], parts[2], color, plate)


def register_body(reg: Registration, is_2019: bool) -> bytes:
    sizes = (11, 30, 30) if is_2019 else (5, 20, 7)
    names = (reg.maker, reg.model, reg.terminal_id)
    fields = b"".join(s.encode().ljust(n, b"\x00")[:n] for s, n in zip(names, sizes, strict=True))
    head = struct.pack(">HH", reg.province, reg.city)
    return head + fields + bytes([reg.plate_color]) + reg.plate.encode("gbk")


def register_reply(serial: int, result: int, auth_code: str) -> bytes:
    """0x8100 body: the register's serial, a result, and (when registered) the authentication code."""
    return struct.pack(">HB", serial, result) + (auth_code.encode() if result == REGISTERED else b"")


def parse_register_reply(body: bytes) -> tuple[int, int, str]:
    serial, result = struct.unpack_from(">HB", body)
    return serial, result, body[3:].decode()


def parse_authenticate(body: bytes, is_2019: bool) -> str:
    """The authentication code (2019: length-prefixed, followed by IMEI and software version)."""
    if is_2019:
        n = body[0] if body else 0
        return body[1 : 1 + n].decode("ascii", "replace")
    return body.decode("ascii", "replace")


def authenticate_body(code: str, is_2019: bool, imei: str = "0" * 15, software: str = "1.0") -> bytes:
    raw = code.encode()
    if not is_2019:
        return raw
    tail = imei.encode().ljust(15, b"0")[:15] + software.encode().ljust(20, b"\x00")[:20]
    return bytes([len(raw)]) + raw + tail


def general_reply(serial: int, message_id: int, result: int) -> bytes:
    return struct.pack(">HHB", serial, message_id, result)


def parse_general_reply(body: bytes) -> tuple[int, int, int]:
    serial, message_id, result = struct.unpack_from(">HHB", body)
    return serial, message_id, result


@dataclass(frozen=True)
class Location:
    alarm: int
    status: int
    lat: float
    lon: float
    altitude_m: int
    speed_kmh: float
    course: int
    time: datetime  # UTC
    extras: dict[int, bytes] = field(default_factory=dict)


_LOCATION = struct.Struct(">IIIIHHH6s")
_SOUTH, _WEST = 1 << 2, 1 << 3


def _time(raw: bytes) -> datetime:
    text = from_bcd(raw)
    try:
        local = datetime.strptime(text, "%y%m%d%H%M%S").replace(tzinfo=BEIJING)
    except ValueError as exc:
        raise FrameError("bad_time", f"{text} is not YYMMDDhhmmss") from exc
    return local.astimezone(UTC)


def parse_location(body: bytes) -> Location:
    if len(body) < _LOCATION.size:
        raise FrameError("bad_body", f"location body of {len(body)} bytes, at least {_LOCATION.size}")
    alarm, status, lat, lon, alt, speed, course, raw_time = _LOCATION.unpack_from(body)
    extras: dict[int, bytes] = {}
    at = _LOCATION.size
    while at + 2 <= len(body):
        key, n = body[at], body[at + 1]
        extras[key] = body[at + 2 : at + 2 + n]
        at += 2 + n
    return Location(
        alarm,
        status,
        (-1 if status & _SOUTH else 1) * lat / 1e6,
        (-1 if status & _WEST else 1) * lon / 1e6,
        alt,
        speed / 10,
        course,
        _time(raw_time),
        extras,
    )


def location_body(loc: Location) -> bytes:
    status = loc.status | (_SOUTH if loc.lat < 0 else 0) | (_WEST if loc.lon < 0 else 0)
    when = bcd(loc.time.astimezone(BEIJING).strftime("%y%m%d%H%M%S"), 6)
    fixed = _LOCATION.pack(
        loc.alarm,
        status,
        round(abs(loc.lat) * 1e6),
        round(abs(loc.lon) * 1e6),
        loc.altitude_m,
        round(loc.speed_kmh * 10),
        loc.course,
        when,
    )
    return fixed + b"".join(bytes([k, len(v)]) + v for k, v in loc.extras.items())


def parse_batch(body: bytes) -> list[Location]:
    """0x0704: count WORD, type BYTE (0 regular, 1 blind-area re-send), then length-prefixed locations."""
    if len(body) < 3:
        raise FrameError("bad_body", "batch body shorter than its 3-byte head")
    count, _kind = struct.unpack_from(">HB", body)
    at, locations = 3, list[Location]()
    for _ in range(count):
        if at + 2 > len(body):
            raise FrameError("bad_body", f"batch says {count} locations, body ends after {len(locations)}")
        (n,) = struct.unpack_from(">H", body, at)
        locations.append(parse_location(body[at + 2 : at + 2 + n]))
        at += 2 + n
    return locations


def batch_body(locations: list[Location], kind: int = 0) -> bytes:
    items = [location_body(loc) for loc in locations]
    return struct.pack(">HB", len(items), kind) + b"".join(struct.pack(">H", len(i)) + i for i in items)
