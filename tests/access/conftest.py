from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from tests.access import world as w
from tests.conftest import TEMPLATE_DB, clone_database, drop_database
from tests.signing import signed_in
from twin.api import create_app
from twin.config import Settings
from twin.db.engine import sync_engine


@pytest.fixture(scope="module")
def world_db(services: Settings) -> Iterator[tuple[Settings, w.World]]:
    settings = clone_database(services, TEMPLATE_DB)
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
    with TestClient(create_app(world_db[0])) as client:
        yield client


@pytest.fixture(scope="module")
def login(client: TestClient) -> Callable[[str], dict[str, str]]:
    """username -> Authorization header (cached: argon2 is slow on purpose)."""
    return signed_in(client, w.PASSWORD)
