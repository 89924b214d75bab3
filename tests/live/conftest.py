"""Fixtures of the live tests: the sample campus LY01 plus a sibling school with a campus and one sensor.

`live_template` is built once; each test that writes gets `live_db`, a clone of it. Users are the layers
tests' (leader, officer, …, sibling) plus a parent of the sample school.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import httpx
import paho.mqtt.client as mqtt
import pytest
from sqlalchemy import Connection, text

from tests.conftest import clone_database, drop_database, sample_database
from tests.layers.conftest import PASSWORD, SCHOOL, SIBLING, USERS, _add_sibling_and_users
from twin.access.roles import Role
from twin.access.users import NewUser, add_user
from twin.broker import parse_mqtt_url
from twin.config import LiveSettings, Settings
from twin.live.events import event_json
from twin.services import free_port

__all__ = ["PASSWORD", "SCHOOL", "SIBLING", "USERS"]

SIBLING_DEVICE = "SIB-SMOKE-1"
SIBLING_MARK = "SIBLINGLEAK"  # in every name of the sibling's rows: a leak is a substring search


def _sibling_campus(conn: Connection) -> None:
    campus = conn.execute(
        text(
            "INSERT INTO campuses (org_path, school_id, code, name, metric_srid, boundary)"
            " SELECT path, id, 'SIB', :name, 4546, ST_Multi(ST_MakeEnvelope(112.50, 34.60, 112.51, 34.61, 4326))"
            " FROM org_units WHERE code = :school RETURNING id"
        ),
        {"school": SIBLING, "name": f"campus {SIBLING_MARK}"},
    ).scalar_one()
    conn.execute(
        text(
            "INSERT INTO sensors (org_path, campus_id, device_id, type, name, geom)"
            " SELECT path, :campus, :device, 'smoke', :name, ST_SetSRID(ST_MakePoint(112.505, 34.605), 4326)"
            " FROM org_units WHERE code = :school"
        ),
        {"campus": campus, "device": SIBLING_DEVICE, "school": SIBLING, "name": f"smoke {SIBLING_MARK}"},
    )


def _parent(conn: Connection) -> None:
    code = conn.execute(
        text("SELECT code FROM people WHERE role = 'parent' ORDER BY id LIMIT 1")
    ).scalar_one()
    add_user(conn, NewUser("parent", Role.parent, SCHOOL, PASSWORD, code))


@pytest.fixture(scope="session")
def live_template(services: Settings, sample_files: object) -> Iterator[Settings]:
    def extras(conn: Connection) -> None:
        _add_sibling_and_users(conn)
        _sibling_campus(conn)
        _parent(conn)
        conn.execute(text("ANALYZE"))

    with sample_database(services, sample_files, extras) as settings:
        yield settings


@pytest.fixture
def live_db(services: Settings, live_template: Settings) -> Iterator[Settings]:
    """The sample campus, sibling and users in a database of this test's own; the ingest off."""
    settings = clone_database(services, live_template.db.name)
    settings = settings.model_copy(update={"live": LiveSettings(ingest=False, escalate_every_s=3600)})
    try:
        yield settings
    finally:
        drop_database(settings)


def at(minute: float) -> datetime:
    """A fixed moment of the test day, `minute` minutes after 08:00 UTC."""
    return datetime(2026, 11, 24, 8, 0, tzinfo=UTC) + timedelta(minutes=minute)


def streaming(settings: Settings, **live: object) -> Settings:
    """`settings` with the ingest worker on, in a share group and under client ids of this test alone."""
    tag = uuid.uuid4().hex[:8]
    options: dict[str, object] = {
        "ingest": True,
        "share_group": f"g{tag}",
        "client_id_prefix": f"t{tag}",
        "session_expiry_s": 60,
        "escalate_every_s": 3600,
        "sse_max_s": 5.0,
        **live,
    }
    return settings.model_copy(update={"live": LiveSettings(**options)})  # type: ignore[arg-type]


@contextmanager
def running_server(settings: Settings) -> Iterator[str]:
    """The app under uvicorn on a free port, in a thread of this process; its base URL."""
    import uvicorn

    from twin.api import create_app

    port = free_port()
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def token(host: str, username: str) -> str:
    response = httpx.post(f"http://{host}/auth/token", data={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


class Publisher:
    """A device-side MQTT client publishing QoS 1 events to the test broker."""

    def __init__(self, settings: Settings) -> None:
        address = parse_mqtt_url(settings.broker.effective_url())
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        self.client.connect(address.host, address.port)
        self.client.loop_start()

    def send(self, topic: str, payload: bytes) -> mqtt.MQTTMessageInfo:
        return self.client.publish(topic, payload, qos=1)

    def event(
        self, school: str, device: str, event_id: str, type_: str = "smoke", severity: str = "major"
    ) -> None:
        self.send(
            f"campus/{school}/sensors/{device}/events", event_json(event_id, type_, severity, at(0))
        ).wait_for_publish(10)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


@pytest.fixture
def publisher(live_db: Settings) -> Iterator[Publisher]:
    pub = Publisher(live_db)
    yield pub
    pub.close()


def wait_for(condition: Callable[[], object], timeout: float = 15.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
