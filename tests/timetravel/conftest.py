"""The sample campus with staff accounts, in a database of this package's own (the tests edit it)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.conftest import sample_database
from tests.hazards.conftest import PASSWORD, _users
from tests.signing import Login, signed_in
from twin.api import create_app
from twin.config import Settings
from twin.db.engine import sync_engine


@pytest.fixture(scope="module")
def travel_db(services: Settings, sample_files: object) -> Iterator[Settings]:
    with sample_database(services, sample_files, _users) as settings:
        yield settings


@pytest.fixture(scope="module")
def owner(travel_db: Settings) -> Iterator[Engine]:
    """The database owner's engine: edits as a loader or a script would, triggers included."""
    engine = sync_engine(travel_db.db)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def client(travel_db: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(travel_db)) as c:
        yield c


@pytest.fixture(scope="module")
def login(client: TestClient) -> Login:
    return signed_in(client, PASSWORD)
