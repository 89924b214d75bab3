"""Fixtures of the family-level and patrol tests: the live tests' database (sample campus LY01, sibling
school, users, a parent) plus two gates with terminals, cards and faces of the parent's child and of
another student, the child's class and class teacher, and a patrol route of three checkpoints with a
shift and a guard's phone and tag reader."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from sqlalchemy import Connection, Engine, create_engine, text

from tests.layers.test_tiles_maplibre import CHROMIUM, CHROMIUM_ARGS
from tests.live.conftest import PASSWORD, SCHOOL, SIBLING, live_db, live_template, running_server, token
from twin.config import Settings

__all__ = ["SCHOOL", "SIBLING", "live_db", "live_template", "running_server", "token"]

# Checkpoints of the patrol route, a few tens of metres apart inside the sample campus.
CHECKPOINTS = ((112.4490, 34.6190), (112.4495, 34.6190), (112.4500, 34.6190))
# The shift starts at 16:00 in Luoyang (08:00 UTC on the test day), checkpoints due +0, +10, +20 min.
SHIFT_START = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


@dataclass(frozen=True)
class World:
    settings: Settings
    engine: Engine
    child_id: int  # the parent's child: card C-CHILD, face F-CHILD
    child_name: str
    other_id: int  # another student of the school: card C-OTHER
    teacher_id: int  # the child's class teacher
    route_id: int  # the child's bus route
    vehicle_id: int  # a bus of that route
    patrol_route_id: int
    checkpoint_ids: tuple[int, int, int]


def _one(conn: Connection, sql: str, **params: object) -> int:
    return int(conn.execute(text(sql), params).scalar_one())


def _gates(conn: Connection) -> None:
    campus = "(SELECT id FROM campuses WHERE code = 'LY01')"
    org = f"(SELECT org_path FROM campuses WHERE id = {campus})"
    conn.execute(
        text(
            f"INSERT INTO gates (org_path, campus_id, code, name, geom) VALUES"
            f" ({org}, {campus}, 'GN', 'North Gate', ST_SetSRID(ST_MakePoint(112.4492, 34.6205), 4326)),"
            f" ({org}, {campus}, 'GS', 'South Gate', ST_SetSRID(ST_MakePoint(112.4492, 34.6180), 4326))"
        )
    )
    conn.execute(
        text(
            "INSERT INTO gate_terminals (org_path, gate_id, device_id, method, direction)"
            " SELECT org_path, id, code || '-' || d || '-' || m, m, d FROM gates,"
            " (VALUES ('card', 'in'), ('card', 'out'), ('face', 'both')) AS t(m, d)"
            " WHERE code IN ('GN', 'GS')"
        )
    )


def _students(conn: Connection) -> tuple[int, str, int]:
    child = conn.execute(
        text(
            "SELECT s.id, s.name FROM users u JOIN guardians g ON g.parent_id = u.person_id"
            " JOIN people s ON s.id = g.student_id WHERE u.username = 'parent' ORDER BY s.id LIMIT 1"
        )
    ).one()
    other = _one(
        conn,
        "SELECT s.id FROM people s WHERE s.role = 'student' AND s.id <> :c AND NOT EXISTS"
        " (SELECT 1 FROM guardians g JOIN users u ON u.person_id = g.parent_id"
        "   WHERE g.student_id = s.id AND u.username = 'parent') ORDER BY s.id LIMIT 1",
        c=child.id,
    )
    for person, method, credential in (
        (child.id, "card", "C-CHILD"),
        (child.id, "face", "F-CHILD"),
        (other, "card", "C-OTHER"),
    ):
        conn.execute(
            text(
                "INSERT INTO access_credentials (org_path, person_id, method, credential)"
                " SELECT org_path, id, :m, :c FROM people WHERE id = :p"
            ),
            {"m": method, "c": credential, "p": person},
        )
    return int(child.id), str(child.name), other


def _class(conn: Connection, child: int) -> int:
    teacher = _one(conn, "SELECT id FROM people WHERE role = 'teacher' ORDER BY id LIMIT 1")
    class_id = _one(
        conn,
        "INSERT INTO school_classes (org_path, code, name, teacher_id)"
        " SELECT org_path, 'T-BUS', 'the bus class', :t FROM people WHERE id = :t RETURNING id",
        t=teacher,
    )
    # The child and every other student of the child's route are in this class.
    conn.execute(
        text(
            "INSERT INTO class_students (student_id, org_path, class_id)"
            " SELECT s.id, s.org_path, :k FROM people s"
            " WHERE s.role = 'student' AND s.route_id = (SELECT route_id FROM people WHERE id = :c)"
            " ON CONFLICT (student_id) DO UPDATE SET class_id = EXCLUDED.class_id"
        ),
        {"k": class_id, "c": child},
    )
    return teacher


def _patrol(conn: Connection) -> tuple[int, tuple[int, int, int]]:
    line = ", ".join(f"{x} {y}" for x, y in CHECKPOINTS)
    route = _one(
        conn,
        "INSERT INTO patrol_routes (org_path, campus_id, code, name, geom)"
        " SELECT org_path, id, 'P1', 'Night round', ST_GeomFromText(:line, 4326) FROM campuses"
        " WHERE code = 'LY01' RETURNING id",
        line=f"LINESTRING({line})",
    )
    ids = []
    for i, (x, y) in enumerate(CHECKPOINTS):
        ids.append(
            _one(
                conn,
                "INSERT INTO patrol_checkpoints (org_path, route_id, sequence, code, name, radius_m,"
                " offset_min, tag_id, geom) SELECT org_path, id, :i, :code, :name, 15, :off, :tag,"
                " ST_SetSRID(ST_MakePoint(:x, :y), 4326) FROM patrol_routes WHERE id = :r RETURNING id",
                i=i + 1,
                code=f"CP{i + 1}",
                name=f"Checkpoint {i + 1}",
                off=10 * i,
                tag=f"TAG-{i + 1}",
                x=x,
                y=y,
                r=route,
            )
        )
    conn.execute(
        text(
            "INSERT INTO patrol_schedules"
            " (org_path, route_id, name, starts, duration_min, tolerance_min, created_at)"
            " SELECT org_path, id, 'Evening', '16:00', 60, 5, :made FROM patrol_routes WHERE id = :r"
        ),
        {"r": route, "made": SHIFT_START - timedelta(hours=2)},
    )
    conn.execute(
        text(
            "INSERT INTO patrol_devices (org_path, campus_id, device_id, person_id)"
            " SELECT c.org_path, c.id, d, (SELECT id FROM people WHERE role = 'guard' ORDER BY id LIMIT 1)"
            " FROM campuses c, (VALUES ('GUARD-PHONE-1'), ('TAG-READER-1')) AS t(d) WHERE c.code = 'LY01'"
        )
    )
    return route, (ids[0], ids[1], ids[2])


@pytest.fixture
def world(live_db: Settings) -> Iterator[World]:
    engine = create_engine(live_db.db.sync_url())
    with engine.begin() as conn:
        _gates(conn)
        child, name, other = _students(conn)
        teacher = _class(conn, child)
        route_id, vehicle_id = conn.execute(
            text(
                "SELECT p.route_id, v.id FROM people p JOIN vehicles v ON v.route_id = p.route_id"
                " WHERE p.id = :c ORDER BY v.id LIMIT 1"
            ),
            {"c": child},
        ).one()
        patrol_route, checkpoints = _patrol(conn)
    try:
        yield World(
            live_db, engine, child, name, other, teacher, route_id, vehicle_id, patrol_route, checkpoints
        )
    finally:
        engine.dispose()


def minutes(m: float) -> datetime:
    return SHIFT_START + timedelta(minutes=m)


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    # Package scope: the sync Playwright loop must be gone before tests elsewhere call asyncio.run.
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def sign_in(page: Page, user: str) -> None:
    """Through the page's own form, as a person would."""
    page.fill("#login input[name=username]", user)
    page.fill("#login input[name=password]", PASSWORD)
    page.click("#login button[type=submit]")
    page.wait_for_selector("#login", state="hidden")
