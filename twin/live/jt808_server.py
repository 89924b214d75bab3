"""The JT/T 808 TCP listener: register (-> 0x8100 with an auth code), authenticate, heartbeat, location and
batch upload (-> 0x8001 after the positions are committed). A frame that cannot be understood is logged,
counted and skipped; the connection and the listener keep serving.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import struct
from dataclasses import dataclass, field, replace

from twin.live import jt808
from twin.live.gps_osmand import Fix
from twin.live.jt808 import FrameError, Header, Message
from twin.live.positions import STATS, PositionStats, PositionWriter, VehicleDirectory, VehicleRow

log = logging.getLogger(__name__)


def auth_code(secret: str, phone: str) -> str:
    """A stable code per terminal: a re-registering terminal gets the same one; no table needed."""
    return hmac.new(secret.encode(), phone.encode(), hashlib.sha256).hexdigest()[:16]


MAX_PACKAGES = 256  # sub-packages of one message (a 0x0704 of 256 × ~1 KB is more than any terminal sends)
MAX_PENDING = 4  # messages being reassembled at once on one connection; the oldest is given up beyond


@dataclass
class Session:
    vehicle: VehicleRow | None = None
    authenticated: bool = False
    serial: int = 0
    # (message id, total, serial of package 1) -> {index: body}: sub-packages (分包) until all are there
    packages: dict[tuple[int, int, int], dict[int, bytes]] = field(default_factory=dict)

    def next_serial(self) -> int:
        self.serial = (self.serial + 1) & 0xFFFF
        return self.serial


class Jt808Server:
    def __init__(
        self, directory: VehicleDirectory, writer: PositionWriter, secret: str, stats: PositionStats = STATS
    ) -> None:
        self.directory, self.writer, self.secret, self.stats = directory, writer, secret, stats
        self._server: asyncio.Server | None = None

    async def start(self, host: str, port: int) -> int:
        """Listen; returns the port bound (useful with port 0)."""
        # reuse_port: every uvicorn worker listens and the kernel spreads the terminals over them
        self._server = await asyncio.start_server(self._serve, host, port, reuse_port=True)
        return int(self._server.sockets[0].getsockname()[1])

    async def serve_forever(self) -> None:
        assert self._server is not None, "start() first"
        await self._server.serve_forever()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session, deframer = Session(), jt808.Deframer()
        try:
            while data := await reader.read(65536):
                try:
                    frames = deframer.feed(data)
                except FrameError as exc:
                    self._reject(exc, writer)
                    deframer = jt808.Deframer()
                    continue
                for frame in frames:
                    reply = await self._frame(session, frame)
                    if reply is not None:
                        writer.write(reply)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    def _reject(self, exc: FrameError, writer: asyncio.StreamWriter) -> None:
        self.stats.add(f"jt808_rejected_{exc.reason}")
        log.warning("JT/T 808 frame from %s rejected: %s", writer.get_extra_info("peername"), exc)

    async def _frame(self, session: Session, frame: bytes) -> bytes | None:
        try:
            message = jt808.decode(frame)
            return await self._handle(session, message)
        except FrameError as exc:
            self.stats.add(f"jt808_rejected_{exc.reason}")
            log.warning("JT/T 808 frame rejected: %s (%s)", exc, frame[:64].hex())
            return None
        except (struct.error, ValueError, UnicodeError) as exc:  # a body we misread: skip it, keep serving
            self.stats.add("jt808_rejected_bad_body")
            log.warning("JT/T 808 frame rejected: %s (%s)", exc, frame[:64].hex())
            return None

    def _reply(self, session: Session, to: Header, message_id: int, body: bytes) -> bytes:
        header = Header(message_id, to.phone, session.next_serial(), to.version)
        return jt808.encode(Message(header, body))

    def _general(self, session: Session, to: Header, result: int) -> bytes:
        body = jt808.general_reply(to.serial, to.message_id, result)
        return self._reply(session, to, jt808.GENERAL_REPLY, body)

    async def _handle(self, session: Session, message: Message) -> bytes | None:
        if message.header.package is not None:
            whole = reassemble(session, message)
            if whole is None:  # more to come: this package is received
                return self._general(session, message.header, jt808.OK)
            message = whole
        h = message.header
        if h.message_id == jt808.REGISTER:
            jt808.parse_register(message.body, h.is_2019)
            vehicle = await self.directory.find(h.phone)
            if vehicle is None:
                self.stats.add("jt808_unknown_terminal")
                body = jt808.register_reply(h.serial, jt808.NO_SUCH_TERMINAL, "")
            else:
                body = jt808.register_reply(h.serial, jt808.REGISTERED, auth_code(self.secret, h.phone))
            return self._reply(session, h, jt808.REGISTER_REPLY, body)
        if h.message_id == jt808.AUTHENTICATE:
            code = jt808.parse_authenticate(message.body, h.is_2019)
            vehicle = await self.directory.find(h.phone)
            ok = vehicle is not None and hmac.compare_digest(code, auth_code(self.secret, h.phone))
            session.vehicle, session.authenticated = (vehicle, True) if ok else (None, False)
            if not ok:
                self.stats.add("jt808_auth_failed")
            return self._general(session, h, jt808.OK if ok else jt808.FAILED)
        if h.message_id == jt808.HEARTBEAT:
            return self._general(session, h, jt808.OK)
        if h.message_id in (jt808.LOCATION, jt808.BATCH_LOCATION):
            return await self._locations(session, message)
        return self._general(session, h, jt808.UNSUPPORTED)

    async def _locations(self, session: Session, message: Message) -> bytes:
        h = message.header
        vehicle = session.vehicle if session.authenticated else None
        if vehicle is None or vehicle.device_id.lstrip("0") != h.phone:
            self.stats.add("jt808_unauthenticated")
            return self._general(session, h, jt808.FAILED)
        if h.message_id == jt808.LOCATION:
            locations = [jt808.parse_location(message.body)]
        else:
            locations = jt808.parse_batch(message.body)
        fixes = [Fix(h.phone, x.time, x.lat, x.lon, x.speed_kmh, float(x.course)) for x in locations]
        try:
            await self.writer.submit(vehicle, fixes)
        except Exception:  # the terminal keeps the fixes and sends them again
            return self._general(session, h, jt808.FAILED)
        return self._general(session, h, jt808.OK)


def reassemble(session: Session, message: Message) -> Message | None:
    """The whole message once its last missing sub-package arrived (in any order), else None.

    Packages of one message carry consecutive serials (JT/T 808 4.4.3), so package 1's serial and the
    total name the message; the whole message answers with the serial of the package that completed it.
    """
    h = message.header
    assert h.package is not None
    total, index = h.package
    if not 1 <= index <= total <= MAX_PACKAGES:
        raise FrameError("bad_package", f"package {index} of {total} (1 ≤ index ≤ total ≤ {MAX_PACKAGES})")
    key = (h.message_id, total, (h.serial - index + 1) & 0xFFFF)
    parts = session.packages.setdefault(key, {})
    parts[index] = message.body
    if len(parts) < total:
        if len(session.packages) > MAX_PENDING:
            oldest = next(iter(session.packages))
            log.warning("JT/T 808 sub-packaged message %s given up: incomplete", oldest)
            del session.packages[oldest]
        return None
    del session.packages[key]
    body = b"".join(parts[i] for i in range(1, total + 1))
    return Message(replace(h, package=None), body)
