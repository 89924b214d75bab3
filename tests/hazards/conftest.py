"""Fixtures of the hazard-loop tests: the sample campus with staff accounts, a client with a clock to set.

`loop_template` is the sample campus LY01 (school 4103110001) plus a sibling school and users of every
role, each staff account tied to a person of the school; each test module works on a clone of its own
(`loop_db`), so hazards reported in one module never show in another.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, text

from tests.conftest import clone_database, drop_database, sample_database
from tests.signing import signed_in
from twin.access.roles import Role
from twin.access.users import NewUser, add_user
from twin.api import create_app
from twin.config import PathSettings, Settings

PASSWORD = "correct-horse-42"
SCHOOL = "4103110001"
COUNTY = "410311"
SIBLING = "4103110099"
CAMPUS = "LY01"
# username -> (role, org code, title of the person the account belongs to)
USERS: dict[str, tuple[Role, str, str | None]] = {
    "leader": (Role.leader, SCHOOL, "校长"),
    "officer": (Role.safety_officer, SCHOOL, "安全办主任"),
    "crew": (Role.maintenance, SCHOOL, "电工"),
    "analyst": (Role.analyst, SCHOOL, None),
    "admin": (Role.admin, SCHOOL, None),
    "county": (Role.analyst, COUNTY, None),
    "sibling": (Role.safety_officer, SIBLING, None),
    "parent": (Role.parent, SCHOOL, "parent"),
}
T0 = datetime(2026, 10, 12, 2, 0, tzinfo=UTC)  # Monday 10:00 in Henan


def _person(conn: Connection, title: str | None) -> str | None:
    if title is None:
        return None
    if title == "parent":
        return conn.execute(
            text("SELECT code FROM people WHERE role = 'parent' ORDER BY id LIMIT 1")
        ).scalar_one()
    return conn.execute(
        text("SELECT code FROM people WHERE title = :t ORDER BY id LIMIT 1"), {"t": title}
    ).scalar_one()


def _users(conn: Connection) -> None:
    conn.execute(
        text(
            "INSERT INTO org_units (code, name, level, parent_id, path)"
            " SELECT :code, 'sibling school', 'school', id, path || CAST(:label AS text) FROM org_units"
            " WHERE code = :county"
        ),
        {"code": SIBLING, "label": SIBLING, "county": COUNTY},
    )
    for name, (role, org, title) in USERS.items():
        add_user(conn, NewUser(name, role, org, PASSWORD, _person(conn, title)))


@pytest.fixture(scope="session")
def loop_template(services: Settings, sample_files: object) -> Iterator[Settings]:
    with sample_database(services, sample_files, _users) as settings:
        yield settings


@pytest.fixture(scope="module")
def loop_db(loop_template: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    settings = clone_database(loop_template, loop_template.db.name)
    # Photos of this module's database in a media store of its own.
    paths = PathSettings(data_dir=tmp_path_factory.mktemp("data"))
    settings = settings.model_copy(update={"paths": paths})
    try:
        yield settings
    finally:
        drop_database(settings)


@dataclass
class Clock:
    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(scope="module")
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="module")
def client(loop_db: Settings, clock: Clock) -> Iterator[TestClient]:
    with TestClient(create_app(loop_db)) as client:
        client.app.state.clock = clock  # type: ignore[attr-defined]
        yield client


Login = Callable[[str], dict[str, str]]


@pytest.fixture(scope="module")
def login(client: TestClient) -> Login:
    return signed_in(client, PASSWORD)


def reported(client: TestClient, login: Login, **fields: Any) -> dict[str, Any]:
    """A hazard reported by the safety officer on building B01's first floor (unless told otherwise)."""
    body = {
        "name": "灭火器过期",
        "category": "fire",
        "campus": CAMPUS,
        "building": "B01",
        "floor": 1,
        **fields,
    }
    response = client.post("/hazards", json=body, headers=login(fields.pop("by", "officer")))
    assert response.status_code == 201, response.text
    return response.json()


def move(client: TestClient, login: Login, hazard_id: int, user: str, to: str, **fields: Any) -> Any:
    return client.post(f"/hazards/{hazard_id}/transitions", json={"to": to, **fields}, headers=login(user))


def owner_query(settings: Settings, sql: str, **params: Any) -> Any:
    """One value read as the schema owner (no row-level security): what the database really holds."""
    from sqlalchemy import create_engine

    engine = create_engine(settings.db.sync_url())
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()
    finally:
        engine.dispose()


def person_of(settings: Settings, username: str) -> int:
    return int(owner_query(settings, "SELECT person_id FROM users WHERE username = :u", u=username))
