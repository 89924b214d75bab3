"""The reliability tests' world: the access tests' schools and users (tests/access/world.py) in a database
of this module's own, served in-process by an app without the JT/T 808 listener (tests share the machine)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.access import world as w
from tests.conftest import TEMPLATE_DB, clone_database, drop_database
from tests.signing import Login, signed_in
from twin.api import create_app
from twin.config import BusSettings, LiveSettings, Settings
from twin.db.engine import sync_engine


def quiet(settings: Settings) -> Settings:
    """No JT/T 808 listener, no MQTT ingest, short SSE streams: an app for request/response tests."""
    return settings.model_copy(
        update={"bus": BusSettings(jt808=False), "live": LiveSettings(ingest=False, sse_max_s=0.2)}
    )


@pytest.fixture(scope="module")
def world_db(services: Settings) -> Iterator[tuple[Settings, w.World]]:
    settings = quiet(clone_database(services, TEMPLATE_DB))
    engine = sync_engine(settings.db)
    with engine.begin() as conn:
        world = w.build(conn)
    engine.dispose()
    yield settings, world
    drop_database(settings)


@pytest.fixture(scope="module")
def world(world_db: tuple[Settings, w.World]) -> w.World:
    return world_db[1]


@pytest.fixture(scope="module")
def client(world_db: tuple[Settings, w.World]) -> Iterator[TestClient]:
    with TestClient(create_app(world_db[0]), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture(scope="module")
def login(client: TestClient) -> Login:
    return signed_in(client, w.PASSWORD)
