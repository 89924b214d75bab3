"""Shared fixtures of the layers tests (Features, Tiles, editing): the sample campus with signed-in users.

`layers_db` is the sample campus LY01 (school 4103110001, county 410311) in a database of its own, plus a
sibling school with no data and users of several roles. Tests must only read it; a test that writes
takes `fresh_db` or clones `layers_db` itself. `layers_client` is a TestClient on it and
`login(username)` gives the Authorization header of one of `USERS`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, text

from tests.conftest import sample_database
from tests.signing import signed_in
from twin.access.roles import Role
from twin.access.users import NewUser, add_user
from twin.api import create_app
from twin.config import Settings

PASSWORD = "correct-horse-42"
SCHOOL = "4103110001"  # the sample campus's school
COUNTY = "410311"
SIBLING = "4103110099"  # a school of the same county with no features
# username -> (role, org code)
USERS: dict[str, tuple[Role, str]] = {
    "leader": (Role.leader, SCHOOL),
    "officer": (Role.safety_officer, SCHOOL),
    "crew": (Role.maintenance, SCHOOL),
    "analyst": (Role.analyst, SCHOOL),
    "admin": (Role.admin, SCHOOL),
    "county": (Role.analyst, COUNTY),
    "province": (Role.analyst, "410000"),
    "sibling": (Role.leader, SIBLING),
}


def _add_sibling_and_users(conn: Connection) -> None:
    conn.execute(
        text(
            "INSERT INTO org_units (code, name, level, parent_id, path)"
            " SELECT :code, 'sibling school', 'school', id, path || CAST(:label AS text) FROM org_units"
            " WHERE code = :county"
        ),
        {"code": SIBLING, "label": SIBLING, "county": COUNTY},
    )
    for name, (role, org) in USERS.items():
        add_user(conn, NewUser(name, role, org, PASSWORD))


@pytest.fixture(scope="session")
def layers_db(services: Settings, sample_files: object) -> Iterator[Settings]:
    """The sample campus and `USERS`, in a database of its own (read-only for tests)."""

    def sibling_and_users(conn: Connection) -> None:
        _add_sibling_and_users(conn)
        conn.execute(text("ANALYZE"))

    with sample_database(services, sample_files, sibling_and_users) as settings:
        yield settings


@pytest.fixture(scope="module")
def layers_client(layers_db: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(layers_db)) as client:
        yield client


@pytest.fixture(scope="module")
def login(layers_client: TestClient) -> Callable[[str], dict[str, str]]:
    """username -> Authorization header (cached: argon2 is slow on purpose)."""
    return signed_in(layers_client, PASSWORD)


@pytest.fixture(scope="module")
def server(layers_db: Settings) -> Iterator[str]:
    """The app under uvicorn on a free port, in a thread of this process, for real outside clients."""
    import threading
    import time

    import uvicorn

    from twin.services import free_port

    port = free_port()
    config = uvicorn.Config(create_app(layers_db), host="127.0.0.1", port=port, log_level="warning")
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not uv.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    uv.should_exit = True
    thread.join(timeout=10)
