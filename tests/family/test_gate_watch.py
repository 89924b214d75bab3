"""A child whose bus reached the campus and who did not pass a gate within the grace raises one alert,
told to their class teacher; a child who entered, or who is on campus already, raises none."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text

from tests.family.conftest import World, minutes
from twin.config import FamilySettings
from twin.live.gate_watch import watch_entries

SETTINGS = FamilySettings(entry_grace_min=15)


def _bus_enters(world: World, at: datetime) -> None:
    with world.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO bus_incidents (org_path, vehicle_id, kind, at, geom)"
                " SELECT org_path, id, 'enter', :at, NULL FROM vehicles WHERE id = :v"
            ),
            {"at": at, "v": world.vehicle_id},
        )


def _passes(world: World, person: int, direction: str, at: datetime, event_id: str) -> None:
    with world.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO gate_events (org_path, event_id, gate_id, person_id, direction, time)"
                " SELECT p.org_path, :e, (SELECT min(id) FROM gates), p.id, :d, :at FROM people p"
                " WHERE p.id = :p"
            ),
            {"e": event_id, "d": direction, "at": at, "p": person},
        )


def _route_students(world: World) -> set[int]:
    with world.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT id FROM people WHERE role = 'student' AND route_id = :r"), {"r": world.route_id}
        )
        return {int(r) for r in rows.scalars()}


def _alerted(world: World) -> dict[int, dict]:  # type: ignore[type-arg]
    with world.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT context FROM alerts WHERE type = 'missed_entry' ORDER BY id")
        ).scalars()
        return {c["student"]["id"]: c for c in rows}


def test_a_child_who_came_by_bus_and_never_entered_raises_an_alert_to_the_class_teacher(
    world: World,
) -> None:
    _bus_enters(world, minutes(0))
    _passes(world, world.other_id, "in", minutes(-3), "g-early")  # a walker, or off the bus just before
    _passes(world, world.child_id, "in", minutes(4), "g-child")
    with world.engine.begin() as conn:
        assert watch_entries(conn, minutes(14), SETTINGS) == []  # still within the grace
    with world.engine.begin() as conn:
        raised = watch_entries(conn, minutes(16), SETTINGS)
    missing = _route_students(world) - {world.child_id, world.other_id}
    assert missing, "the sample route carries more children than the one who entered"
    alerted = _alerted(world)
    assert set(alerted) == missing and len(raised) == len(missing)
    some = alerted[min(missing)]
    assert some["class_teacher"]["id"] == world.teacher_id
    assert some["bus"]["vehicle_id"] == world.vehicle_id
    assert "has not passed a gate within 15 minutes" in some["title"]
    with world.engine.connect() as conn:
        told = conn.execute(
            text("SELECT count(*) FROM notifications WHERE kind = 'missed_entry' AND person_id = :t"),
            {"t": world.teacher_id},
        ).scalar_one()
        timers = conn.execute(text("SELECT count(*) FROM alert_timers")).scalar_one()
        streamed = conn.execute(
            text(
                "SELECT count(*) FROM live_events WHERE kind = 'alert' AND payload->'alert'->>'type' = 'missed_entry'"
            )
        ).scalar_one()
    assert told == len(missing)
    assert timers == 2 * len(missing)  # major: two escalation steps each (policy.yaml)
    assert streamed == len(missing)
    with world.engine.begin() as conn:
        assert watch_entries(conn, minutes(30), SETTINGS) == []  # raised once, whoever runs next


def test_a_child_already_on_campus_when_the_bus_returns_raises_nothing(world: World) -> None:
    students = _route_students(world)
    for i, student in enumerate(sorted(students)):
        _passes(world, student, "in", minutes(-400), f"morning-{i}")
    # The child went out at noon: not on campus when the bus comes in the afternoon.
    _passes(world, world.child_id, "out", minutes(-100), "noon-out")
    _bus_enters(world, minutes(0))
    with world.engine.begin() as conn:
        watch_entries(conn, minutes(20), SETTINGS)
    assert set(_alerted(world)) == {world.child_id}


def test_arrivals_older_than_the_watch_window_are_left_alone(world: World) -> None:
    _bus_enters(world, minutes(0))
    with world.engine.begin() as conn:
        late_run = minutes(60 * SETTINGS.watch_window_h + 1)
        assert watch_entries(conn, late_run, SETTINGS) == []
