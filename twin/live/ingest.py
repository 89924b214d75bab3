"""The MQTT ingest worker: sensor events in, exactly once, acknowledged only after commit.

QoS 1 with a persistent session (MQTT 5 `clean_start=False`, session expiry > 0) under a fixed client
id, so the broker keeps what arrives while the worker is down and redelivers what it never acknowledged;
`manual_ack=True` and `client.ack(mid, qos)` after the transaction commits, so a crash between the two
only causes a redelivery, which the event id (unique) turns into a no-op. Several workers share the
subscription (`$share/<group>/...`). The fixed client id comes from a numbered slot held by a Postgres
advisory lock: a restarted worker takes the free slot, usually its own, and with it its session.

Malformed payloads and unknown devices are logged, counted (`STATS`, shown by `GET /live/stats`) and
acknowledged, so they do not come back forever.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, InterfaceError, OperationalError

from twin.broker import parse_mqtt_url
from twin.config import Settings
from twin.db.engine import sync_engine
from twin.heap import freeze_startup_heap
from twin.live.alerts import Clock, SensorLookup, escalate_due, take_event, take_events, utc_now
from twin.live.events import (
    NOTIFICATION_FILTER,
    TOPIC_FILTER,
    Rejected,
    SensorEvent,
    Source,
    notification_school,
    parse_notification,
    parse_payload,
    parse_topic,
)
from twin.live.gate_watch import watch_entries
from twin.live.gates import GATE_FILTER, gate_source, parse_pass, take_gate_event
from twin.live.patrols import PATROL_FILTER, check_patrols, parse_scan, scan_source, take_scan
from twin.live.queries_ingest import (
    SensorRow,
    find_sensor,
    find_sensors,
    forget_events,
    notification_seen,
    publish_live_event,
    school_path,
)

log = logging.getLogger(__name__)

SLOT_LOCK = 7411  # first key of the advisory locks that number the ingest workers
PURGE_EVERY_S = 3600.0


@dataclass
class IngestStats:
    """What this process's ingest took in, by outcome (raised, repeated, duplicate, malformed…)."""

    counts: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, outcome: str) -> None:
        with self.lock:
            self.counts[outcome] += 1

    def snapshot(self) -> dict[str, int]:
        with self.lock:
            return dict(self.counts)


STATS = IngestStats()


def claim_slot(engine: Engine, max_slots: int) -> tuple[int, Connection]:
    """A worker number no live worker holds, and the connection whose session holds it."""
    conn = engine.connect()
    for slot in range(max_slots):
        taken = conn.execute(text("SELECT pg_try_advisory_lock(:k, :s)"), {"k": SLOT_LOCK, "s": slot})
        if taken.scalar_one():
            conn.commit()
            return slot, conn
    conn.close()
    raise RuntimeError(f"all {max_slots} ingest slots are taken; raise TWIN_LIVE_MAX_SLOTS")


def handle(engine: Engine, topic: str, payload: bytes, now: datetime, stats: IngestStats = STATS) -> str:
    """Take one message in; the outcome's name. Rejected messages are logged and counted, never raised."""
    try:
        with engine.connect() as conn, conn.begin():
            outcome = _take_one(conn, topic, payload, now, find_sensor)
    except Rejected as exc:
        log.warning("rejected MQTT message on %s: %s", topic, exc)
        stats.add(exc.reason)
        return exc.reason
    except (DataError, IntegrityError) as exc:
        # Valid JSON the database cannot hold (a NUL in a string, a number out of range): never storable.
        log.warning("rejected MQTT message on %s: the database refused it: %s", topic, exc.orig)
        stats.add("malformed")
        return "malformed"
    stats.add(outcome)
    return outcome


class SensorCache:
    """Device registrations for a few seconds: most events come from devices seen a moment ago."""

    def __init__(self, ttl_s: float = 10.0) -> None:
        self.ttl_s = ttl_s
        self._rows: dict[str, tuple[float, SensorRow | None]] = {}

    def __call__(self, conn: Connection, device_id: str) -> SensorRow | None:
        now = time.monotonic()
        hit = self._rows.get(device_id)
        if hit is not None and hit[0] > now:
            return hit[1]
        self._bound()
        row = find_sensor(conn, device_id)
        self._rows[device_id] = (now + self.ttl_s, row)
        return row

    def _bound(self) -> None:
        if len(self._rows) > 100_000:
            self._rows.clear()

    def prefetch(self, conn: Connection, device_ids: set[str]) -> None:
        """Look up a batch's unknown or expired devices in one query, not one round trip each (after the
        time to live, every device of a busy campus expires within the same second)."""
        now = time.monotonic()
        missing = [d for d in device_ids if (hit := self._rows.get(d)) is None or hit[0] <= now]
        if not missing:
            return
        self._bound()
        found = find_sensors(conn, missing)
        # Spread the expiries over the time to live so they do not all come due in one batch again.
        for i, device_id in enumerate(missing):
            self._rows[device_id] = (now + self.ttl_s * (1 + i / len(missing)) / 2, found.get(device_id))


def _take_one(conn: Connection, topic: str, payload: bytes, now: datetime, sensors: SensorLookup) -> str:
    school = notification_school(topic)
    if school is not None:
        return take_notification(conn, school, parse_notification(payload))
    if (gate := gate_source(topic)) is not None:
        return take_gate_event(conn, gate, parse_pass(payload), now)
    if (scanner := scan_source(topic)) is not None:
        return take_scan(conn, scanner, parse_scan(payload))
    taken = take_event(conn, parse_topic(topic), parse_payload(payload), now=now, find_sensor=sensors)
    return taken.outcome.value


def take_notification(conn: Connection, school_code: str, notification: dict[str, object]) -> str:
    """Forward another domain's notification to the school's live streams, once."""
    org_path = school_path(conn, school_code)
    if org_path is None:
        raise Rejected("unknown_school", f"no school has the code {school_code!r}")
    if notification_seen(conn, org_path, notification):
        return "duplicate"
    publish_live_event(conn, org_path, "notification", notification)
    return "notification"


def handle_batch(
    engine: Engine, messages: list[tuple[str, bytes]], now: datetime, stats: IngestStats, sensors: SensorCache
) -> list[str]:
    """Take several messages in one transaction (one commit); outcomes in order. Sensor events go through
    `take_events` (repeats counted set-based); a message the database refuses rolls the batch back, and
    the batch is then taken one message per transaction."""
    try:
        with engine.connect() as conn, conn.begin():
            outcomes = _take_batch(conn, messages, now, sensors)
    except (DataError, IntegrityError):
        return [handle(engine, topic, payload, now, stats) for topic, payload in messages]
    for outcome in outcomes:
        stats.add(outcome)
    return outcomes


def _take_batch(
    conn: Connection, messages: list[tuple[str, bytes]], now: datetime, sensors: SensorCache
) -> list[str]:
    outcomes: list[str] = [""] * len(messages)
    events: list[tuple[int, Source, SensorEvent]] = []
    for i, (topic, payload) in enumerate(messages):
        try:
            if _is_sensor_topic(topic):
                events.append((i, parse_topic(topic), parse_payload(payload)))
            else:  # notifications, gate passes and patrol scans: one by one, in the batch's transaction
                outcomes[i] = _take_one(conn, topic, payload, now, sensors)
        except Rejected as exc:
            log.warning("rejected MQTT message on %s: %s", topic, exc)
            outcomes[i] = exc.reason
    sensors.prefetch(conn, {src.device_id for _i, src, _ev in events})
    taken = take_events(conn, [(src, ev) for _i, src, ev in events], now=now, find_sensor=sensors)
    for (i, _src, _ev), result in zip(events, taken, strict=True):
        if isinstance(result, Rejected):
            log.warning("rejected MQTT message on %s: %s", messages[i][0], result)
            outcomes[i] = result.reason
        else:
            outcomes[i] = result.outcome.value
    return outcomes


def _is_sensor_topic(topic: str) -> bool:
    """Sensor events are taken set-based; notifications, gate passes and patrol scans one by one."""
    return notification_school(topic) is None and gate_source(topic) is None and scan_source(topic) is None


class IngestWorker:
    """One MQTT client in the shared subscription, plus the escalation ticker; threads of this process."""

    def __init__(self, settings: Settings, clock: Clock = utc_now, stats: IngestStats = STATS) -> None:
        self.settings, self.clock, self.stats = settings, clock, stats
        # No ping per batch: a batch that meets a dropped connection is not acknowledged and is retried.
        self.engine = sync_engine(settings.db, pre_ping=False)
        self.subscribed = threading.Event()
        self._stop = threading.Event()
        self._slot_conn: Connection | None = None
        self._client: mqtt.Client | None = None
        self._ticker: threading.Thread | None = None
        self.client_id = ""
        self._purged = float("-inf")
        self._inbox: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        self._taker: threading.Thread | None = None
        self._sensors = SensorCache()

    def start(self) -> None:
        live = self.settings.live
        slot, self._slot_conn = claim_slot(self.engine, live.max_slots)
        self.client_id = f"{live.client_id_prefix}-{slot}"
        address = parse_mqtt_url(self.settings.broker.effective_url())
        client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            protocol=mqtt.MQTTv5,
            manual_ack=True,
        )
        if address.username:
            client.username_pw_set(address.username, address.password)
        client.on_connect = self._on_connect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        client.reconnect_delay_set(min_delay=1, max_delay=5)
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = live.session_expiry_s
        properties.ReceiveMaximum = live.batch_max  # unacknowledged messages the broker may send us
        client.connect_async(
            address.host, address.port, keepalive=30, clean_start=False, properties=properties
        )
        self._client = client
        self._taker = threading.Thread(target=self._take, name="twin-ingest", daemon=True)
        self._taker.start()
        client.loop_start()
        self._ticker = threading.Thread(target=self._tick, name="twin-escalation", daemon=True)
        self._ticker.start()
        log.info("ingest worker %s started", self.client_id)

    def stop(self) -> None:
        self._stop.set()
        if self._client is not None:
            self._client.disconnect()
            self._client.loop_stop()
        if self._taker is not None:
            self._taker.join(timeout=10)
        if self._ticker is not None:
            self._ticker.join(timeout=5)
        if self._slot_conn is not None:
            self._slot_conn.close()
        self.engine.dispose()

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any = None) -> None:
        if getattr(reason, "is_failure", False):
            log.warning("MQTT connect refused: %s", reason)
            return
        group = self.settings.live.share_group
        options = SubscribeOptions(qos=1)
        filters = (TOPIC_FILTER, NOTIFICATION_FILTER, GATE_FILTER, PATROL_FILTER)
        client.subscribe([(f"$share/{group}/{f}", options) for f in filters])

    def _on_subscribe(self, _c: Any, _u: Any, _mid: Any, _reasons: Any, _p: Any = None) -> None:
        self.subscribed.set()

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        self._inbox.put(msg)  # taken in by `_take`; the network loop stays free for acks and pings

    def _take(self) -> None:
        """Commit whatever has arrived as one batch, then acknowledge each message of it."""
        while not self._stop.is_set():
            try:
                batch = [self._inbox.get(timeout=0.5)]
            except queue.Empty:
                continue
            while len(batch) < self.settings.live.batch_max:
                try:
                    batch.append(self._inbox.get_nowait())
                except queue.Empty:
                    break
            if self._store(batch) and self._client is not None:
                for msg in batch:
                    self._client.ack(msg.mid, msg.qos)

    def _store(self, batch: list[mqtt.MQTTMessage]) -> bool:
        """True once the batch is committed; False only when stopping (nothing acknowledged then)."""
        delay = 0.5
        messages = [(m.topic, bytes(m.payload)) for m in batch]
        while not self._stop.is_set():
            try:
                handle_batch(self.engine, messages, self.clock(), self.stats, self._sensors)
                return True
            except (OperationalError, InterfaceError) as exc:
                # Not acknowledged: the broker keeps the messages. Wait for the database, then try again.
                log.warning("database unavailable for %d MQTT messages (%s); retrying", len(batch), exc)
                self.stats.add("db_retry")
                time.sleep(delay)
                delay = min(delay * 2, 10.0)
            except Exception:
                # A bug, not the messages: leave them unacknowledged (redelivered on reconnect), keep serving.
                log.exception("%d MQTT messages could not be taken in", len(batch))
                self.stats.add("failed")
                return False
        return False

    def _tick(self) -> None:
        while not self._stop.wait(self.settings.live.escalate_every_s):
            try:
                self.escalate()
            except DBAPIError as exc:
                log.warning("escalation skipped this round: %s", exc)

    def escalate(self) -> int:
        """Fire due escalation timers now, and forget live events past retention; how many timers fired.

        Also the watches computed from the database: children missing at the gate, patrol checks.
        """
        with self.engine.begin() as conn:
            fired = len(escalate_due(conn, self.clock()))
            watch_entries(conn, self.clock(), self.settings.family)
            check_patrols(conn, self.clock(), self.settings.family)
            if time.monotonic() - self._purged > PURGE_EVERY_S:  # a scan of the log: not every tick
                forget_events(conn, self.clock() - timedelta(days=self.settings.live.retention_days))
                self._purged = time.monotonic()
        return fired


async def start_ingest(settings: Settings) -> IngestWorker | None:
    """The server's own ingest worker (unless TWIN_LIVE_INGEST=false); None when off or it cannot start."""
    if not settings.live.ingest:
        return None
    worker = IngestWorker(settings)
    try:
        await asyncio.to_thread(worker.start)
    except (DBAPIError, RuntimeError, OSError) as exc:
        log.error("MQTT ingest not started in this process: %s", exc)
        await asyncio.to_thread(worker.engine.dispose)
        return None
    return worker


def run_forever(settings: Settings) -> None:
    """`twin live ingest`: a worker in the foreground until SIGINT or SIGTERM."""
    import signal

    worker = IngestWorker(settings)
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    worker.start()
    if settings.server.freeze_heap:
        freeze_startup_heap()
    try:
        done.wait()
    finally:
        worker.stop()
