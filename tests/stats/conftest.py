"""The sample campus with signed-in users, a sibling school with facts of its own, and bus incidents.

The sibling (same county) has drills, sessions and incidents marked SIBLINGLEAK in their notes, so a
school's statistics can be checked for what they must not count and a county's for what they must.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, text

from tests.conftest import sample_database
from tests.layers.conftest import PASSWORD, SCHOOL, SIBLING, _add_sibling_and_users
from twin.api import create_app
from twin.config import Settings
from twin.db.engine import sync_engine

NOW = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)
SIBLING_ENROLMENT = 500
SIBLING_DRILLS = 3  # each with 100 participants


def _sibling_facts(conn: Connection) -> None:
    _add_sibling_and_users(conn)
    conn.execute(
        text("UPDATE org_units SET enrolment = :n WHERE code = :code"),
        {"n": SIBLING_ENROLMENT, "code": SIBLING},
    )
    path = f"(SELECT path FROM org_units WHERE code = '{SIBLING}')"
    conn.execute(
        text(
            f"INSERT INTO drills (org_path, type, held_on, participants, note)"
            f" SELECT {path}, 'fire', date '2026-05-10' + k, 100, 'SIBLINGLEAK' FROM generate_series(1, 3) k"
        )
    )
    school = f"(SELECT path FROM org_units WHERE code = '{SCHOOL}')"
    conn.execute(
        text(
            "INSERT INTO bus_incidents (org_path, kind, at, value, geom) VALUES"
            f" ({school}, 'overspeed', '2026-05-02T08:00+08', 12, ST_SetSRID(ST_MakePoint(112.45, 34.62), 4326)),"
            f" ({school}, 'late', '2026-05-03T08:00+08', 7, NULL),"
            f" ({school}, 'late', '2026-06-03T08:00+08', 4, NULL),"
            f" ({path}, 'deviation', '2026-05-04T08:00+08', 300, NULL)"
        )
    )
    conn.execute(text("ANALYZE"))


@pytest.fixture(scope="session")
def stats_db(services: Settings, sample_files: object) -> Iterator[Settings]:
    with sample_database(services, sample_files, _sibling_facts) as settings:
        yield settings


@pytest.fixture(scope="module")
def owner(stats_db: Settings) -> Iterator[Engine]:
    """The owner's engine: reference counts straight from the tables, without the statistics code."""
    engine = sync_engine(stats_db.db)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def client(stats_db: Settings) -> Iterator[TestClient]:
    app = create_app(stats_db)
    app.state.clock = lambda: NOW
    with TestClient(app) as c:
        yield c


@pytest.fixture(scope="module")
def login(client: TestClient) -> Callable[[str], dict[str, str]]:
    cache: dict[str, dict[str, str]] = {}

    def headers(username: str) -> dict[str, str]:
        if username not in cache:
            response = client.post("/auth/token", data={"username": username, "password": PASSWORD})
            assert response.status_code == 200, response.text
            cache[username] = {"Authorization": f"Bearer {response.json()['access_token']}"}
        return cache[username]

    return headers
