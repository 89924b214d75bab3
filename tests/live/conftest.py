"""Fixtures of the live tests: the sample campus LY01 plus a sibling school with a campus and one sensor.

`live_template` is built once; each test that writes gets `live_db`, a clone of it. Users are the layers
tests' (leader, officer, …, sibling) plus a parent of the sample school.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Connection, text

from tests.conftest import clone_database, drop_database, sample_database
from tests.layers.conftest import PASSWORD, SCHOOL, SIBLING, USERS, _add_sibling_and_users
from twin.access.roles import Role
from twin.access.users import NewUser, add_user
from twin.config import LiveSettings, Settings

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
