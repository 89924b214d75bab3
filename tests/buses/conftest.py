"""Bus tests reuse the live tests' database (sample campus LY01, sibling school, users and a parent)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import create_engine, text

from tests.live.conftest import live_db, live_template, running_server, token
from twin.config import BusSettings, Settings
from twin.services import free_port

__all__ = ["live_db", "live_template", "token"]


@dataclass(frozen=True)
class Bus:
    id: int
    device_id: str
    route_id: int


@dataclass(frozen=True)
class BusServer:
    host: str
    jt808_port: int
    settings: Settings
    child_bus: Bus  # the parent's child rides it
    other_bus: Bus  # same school, another route


def _buses(settings: Settings) -> tuple[Bus, Bus]:
    engine = create_engine(settings.db.sync_url())
    with engine.connect() as conn:
        child = conn.execute(
            text(
                "SELECT v.id, v.device_id, v.route_id FROM users u"
                " JOIN guardians g ON g.parent_id = u.person_id"
                " JOIN people s ON s.id = g.student_id"
                " JOIN vehicles v ON v.route_id = s.route_id"
                " WHERE u.username = 'parent' ORDER BY v.id LIMIT 1"
            )
        ).one()
        other = conn.execute(
            text(
                "SELECT v.id, v.device_id, v.route_id FROM vehicles v"
                " WHERE v.route_id IS DISTINCT FROM :r AND v.device_id ~ '^[0-9]+$' ORDER BY v.id LIMIT 1"
            ),
            {"r": child.route_id},
        ).one()
    engine.dispose()
    return Bus(*child), Bus(*other)


@pytest.fixture
def bus_server(live_db: Settings) -> Iterator[BusServer]:
    port = free_port()
    settings = live_db.model_copy(update={"bus": BusSettings(jt808_host="127.0.0.1", jt808_port=port)})
    child, other = _buses(settings)
    with running_server(settings) as host:
        yield BusServer(host, port, settings, child, other)
