"""The sample campus LY01 with staff of every role, a county leader and a sibling school, in a database
of this package's own (the tests report incidents into it)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, text

from tests.conftest import sample_database
from tests.hazards.conftest import CAMPUS, COUNTY, PASSWORD, _users
from tests.signing import Login, signed_in
from twin.access.roles import Role
from twin.access.users import NewUser, add_user
from twin.api import create_app
from twin.config import Settings
from twin.db.engine import sync_engine


def _staff(conn: Connection) -> None:
    _users(conn)
    add_user(conn, NewUser("county_leader", Role.leader, COUNTY, PASSWORD))


@pytest.fixture(scope="module")
def incidents_db(services: Settings, sample_files: object) -> Iterator[Settings]:
    with sample_database(services, sample_files, _staff) as settings:
        yield settings


@pytest.fixture(scope="module")
def owner(incidents_db: Settings) -> Iterator[Engine]:
    """The database owner's engine: reads what is really stored, past row-level security."""
    engine = sync_engine(incidents_db.db)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def client(incidents_db: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(incidents_db)) as c:
        yield c


@pytest.fixture(scope="module")
def login(client: TestClient) -> Login:
    return signed_in(client, PASSWORD)


def report_as(client: TestClient, login: Login, user: str = "officer", **fields: Any) -> Any:
    body = {
        "type": "physical",
        "place_kind": "toilet",
        "occurred_at": "2026-10-12T10:20:00+08:00",
        "campus": CAMPUS,
        "building": "B01",
        "floor": 1,
        **fields,
    }
    return client.post("/incidents", json=body, headers=login(user))


Stored = Callable[[], int]


@pytest.fixture
def stored(owner: Engine) -> Stored:
    def count() -> int:
        with owner.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM incidents")).scalar_one())

    return count
