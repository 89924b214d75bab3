"""The sample campus with signed-in users, in a database this module may write to."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, text

from tests.conftest import sample_database
from tests.layers.conftest import PASSWORD, _add_sibling_and_users
from tests.signing import signed_in
from twin.api import create_app
from twin.config import Settings
from twin.db.engine import sync_engine


@pytest.fixture(scope="module")
def risk_db(services: Settings, sample_files: object) -> Iterator[Settings]:
    def users(conn: Connection) -> None:
        _add_sibling_and_users(conn)
        conn.execute(text("ANALYZE"))

    with sample_database(services, sample_files, users) as settings:
        yield settings


@pytest.fixture(scope="module")
def owner(risk_db: Settings) -> Iterator[Engine]:
    """The database owner's engine: writes as a loader or the other helpers' code would, triggers included."""
    engine = sync_engine(risk_db.db)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def client(risk_db: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(risk_db)) as c:
        yield c


@pytest.fixture(scope="module")
def login(client: TestClient) -> Callable[[str], dict[str, str]]:
    return signed_in(client, PASSWORD)
