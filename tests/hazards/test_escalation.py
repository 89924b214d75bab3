"""Escalation of overdue hazards at exact times of a controlled clock, by a scheduler whose state is rows."""

from __future__ import annotations

import asyncio
import json
import threading
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from tests.hazards.conftest import SCHOOL, T0, Login, move, person_of, reported
from twin.config import Settings
from twin.db.engine import async_engine
from twin.riskmap import Scheduler, run_due

# A general fire hazard assigned at T0 is due 3 days later at 18:00 Henan time (hazard_rules.yaml).
DEADLINE = datetime.fromisoformat("2026-10-15T18:00:00+08:00")
SECOND = timedelta(seconds=1)
SCHOOL_PATH = f"410000.410300.410311.{SCHOOL}"
# The general ladder of hazard_rules.yaml: (hours after the deadline, level, org path notified).
GENERAL = [
    (0, "person", SCHOOL_PATH),
    (24, "school", SCHOOL_PATH),
    (72, "county", "410000.410300.410311"),
    (168, "city", "410000.410300"),
    (336, "province", "410000"),
]


def fire(settings: Settings, when: datetime) -> list[dict[str, Any]]:
    """One run of the scheduler at `when`, on a connection of its own."""

    async def go() -> list[dict[str, Any]]:
        engine = async_engine(settings.db)
        try:
            async with engine.begin() as conn:
                return await run_due(conn, when)
        finally:
            await engine.dispose()

    return asyncio.run(go())


def notified(settings: Settings, hazard_id: int, kind: str = "overdue") -> list[tuple[str, str, int | None]]:
    """(level, org path, person) of the stored notifications of a hazard, oldest first, as the owner sees them."""
    engine = create_engine(settings.db.sync_url())
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT level, org_path::text, person_id FROM notifications WHERE hazard_id = :h AND kind = :k"
                " ORDER BY id"
            ),
            {"h": hazard_id, "k": kind},
        ).all()
    engine.dispose()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def assigned(client: TestClient, login: Login, settings: Settings) -> dict[str, Any]:
    hazard = reported(client, login)
    assert move(client, login, hazard["id"], "officer", "confirmed", grade="general").status_code == 200
    response = move(
        client, login, hazard["id"], "officer", "assigned", responsible_person_id=person_of(settings, "crew")
    )
    assert response.status_code == 200, response.text
    assert datetime.fromisoformat(response.json()["deadline"]) == DEADLINE
    return response.json()


def test_each_level_is_notified_exactly_at_its_delay_after_the_deadline(
    client: TestClient, login: Login, loop_db: Settings
) -> None:
    hazard = assigned(client, login, loop_db)
    crew = person_of(loop_db, "crew")
    ladder = [(s["level"], datetime.fromisoformat(s["due_at"])) for s in hazard["escalation"]]
    assert ladder == [(level, DEADLINE + timedelta(hours=h)) for h, level, _ in GENERAL]
    expected: list[tuple[str, str, int | None]] = []
    for hours, level, path in GENERAL:
        due = DEADLINE + timedelta(hours=hours)
        fire(loop_db, due - SECOND)
        assert notified(loop_db, hazard["id"]) == expected, f"{level} notified before {due}"
        fire(loop_db, due)
        expected.append((level, path, crew if level == "person" else None))
        assert notified(loop_db, hazard["id"]) == expected, f"{level} not notified at {due}"
    fire(loop_db, DEADLINE + timedelta(days=365))
    assert len(notified(loop_db, hazard["id"])) == len(GENERAL)  # each step fires once
    shown = client.get(f"/hazards/{hazard['id']}", headers=login("leader")).json()["escalation"]
    assert {s["outcome"] for s in shown} == {"notified"}


def test_the_ledger_flags_overdue_from_the_clock_not_a_state(
    client: TestClient,
    login: Login,
    loop_db: Settings,
    clock,  # type: ignore[no-untyped-def]
) -> None:
    hazard = assigned(client, login, loop_db)
    url = f"/hazards/{hazard['id']}"
    try:
        clock.now = DEADLINE - SECOND
        assert client.get(url, headers=login("officer")).json()["overdue"] is False
        clock.now = DEADLINE + SECOND
        after = client.get(url, headers=login("officer")).json()
        assert after["overdue"] is True and after["state"] == "assigned"
    finally:
        clock.now = T0


def test_a_hazard_fixed_in_time_is_not_escalated(client: TestClient, login: Login, loop_db: Settings) -> None:
    hazard = assigned(client, login, loop_db)
    for who, to, fields in (
        ("crew", "rectifying", {}),
        ("crew", "submitted", {"result": "done"}),
        ("officer", "accepted", {}),
    ):
        assert move(client, login, hazard["id"], who, to, **fields).status_code == 200
    fire(loop_db, DEADLINE + timedelta(days=30))
    assert notified(loop_db, hazard["id"]) == []


def test_a_granted_deferral_replaces_the_ladder(client: TestClient, login: Login, loop_db: Settings) -> None:
    hazard = assigned(client, login, loop_db)
    later = DEADLINE + timedelta(days=10)
    assert move(client, login, hazard["id"], "crew", "rectifying").status_code == 200
    asked = move(
        client,
        login,
        hazard["id"],
        "crew",
        "deferral_requested",
        reason="parts",
        requested_deadline=later.isoformat(),
    )
    assert asked.status_code == 200
    granted = move(
        client, login, hazard["id"], "leader", "rectifying", decision="granted", deadline=later.isoformat()
    )
    assert granted.status_code == 200
    fire(loop_db, later - SECOND)  # the old deadline and its first three rungs have passed
    assert notified(loop_db, hazard["id"]) == []
    fire(loop_db, later)
    assert [n[0] for n in notified(loop_db, hazard["id"])] == ["person"]


def test_a_major_hazard_is_reported_up_at_once(client: TestClient, login: Login, loop_db: Settings) -> None:
    hazard = reported(client, login)
    assert move(client, login, hazard["id"], "officer", "confirmed", grade="major").status_code == 200
    assert notified(loop_db, hazard["id"], "major_reported") == [
        ("school", SCHOOL_PATH, None),
        ("county", "410000.410300.410311", None),
    ]
    # The county sees what was sent to it; the school sees its own, not the county's.
    county = client.get("/notifications", headers=login("county")).json()
    assert any(n["hazard_id"] == hazard["id"] and n["level"] == "county" for n in county)
    school = client.get("/notifications", headers=login("leader")).json()
    assert {n["level"] for n in school if n["hazard_id"] == hazard["id"]} == {"school"}
    mine = next(n for n in county if n["hazard_id"] == hazard["id"])
    assert client.post(f"/notifications/{mine['id']}/read", headers=login("county")).status_code == 204
    assert client.post(f"/notifications/{mine['id']}/read", headers=login("leader")).status_code == 404
    unread = client.get("/notifications", params={"unread": True}, headers=login("county")).json()
    assert mine["id"] not in {n["id"] for n in unread}


def test_a_step_scheduled_before_a_restart_fires_in_a_new_scheduler(
    client: TestClient, login: Login, loop_db: Settings
) -> None:
    hazard = assigned(client, login, loop_db)  # scheduled through the app; the app's engine is not used below

    async def new_process() -> int:
        engine = async_engine(loop_db.db)
        try:
            scheduler = Scheduler(engine, loop_db.broker.effective_url(), 60, clock=lambda: DEADLINE)
            return len([n for n in await scheduler.run_once() if n["hazard_id"] == hazard["id"]])
        finally:
            await engine.dispose()

    assert asyncio.run(new_process()) == 1
    assert asyncio.run(new_process()) == 0


def test_two_workers_never_fire_the_same_step(client: TestClient, login: Login, loop_db: Settings) -> None:
    hazard = assigned(client, login, loop_db)

    async def race() -> tuple[int, int]:
        engine = async_engine(loop_db.db)
        try:
            async with engine.connect() as first, engine.connect() as second:
                tx1 = await first.begin()
                a = await run_due(first, DEADLINE)  # claims the step, holds the lock until commit
                async with second.begin():
                    b = await run_due(second, DEADLINE)  # skips what the first has locked
                await tx1.commit()
            return (
                len([n for n in a if n["hazard_id"] == hazard["id"]]),
                len([n for n in b if n["hazard_id"] == hazard["id"]]),
            )
        finally:
            await engine.dispose()

    assert asyncio.run(race()) == (1, 0)
    assert len(notified(loop_db, hazard["id"])) == 1


def test_a_notification_rings_on_the_schools_mqtt_topic(
    client: TestClient, login: Login, loop_db: Settings
) -> None:
    import paho.mqtt.client as mqtt

    from twin.broker import parse_mqtt_url

    hazard = assigned(client, login, loop_db)
    address = parse_mqtt_url(loop_db.broker.effective_url())
    received: list[dict[str, Any]] = []
    subscribed, arrived = threading.Event(), threading.Event()
    sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    sub.on_subscribe = lambda *_: subscribed.set()

    def on_message(_c: object, _u: object, message: Any) -> None:
        received.append({"topic": message.topic, **json.loads(message.payload)})
        arrived.set()

    sub.on_message = on_message
    sub.connect(address.host, address.port)
    sub.subscribe(f"campus/{SCHOOL}/notifications", qos=1)
    sub.loop_start()
    try:
        assert subscribed.wait(5)

        async def tick() -> None:
            engine = async_engine(loop_db.db)
            try:
                await Scheduler(engine, loop_db.broker.effective_url(), 60, clock=lambda: DEADLINE).run_once()
            finally:
                await engine.dispose()

        asyncio.run(tick())
        assert arrived.wait(5)
    finally:
        sub.loop_stop()
        sub.disconnect()
    mine = [m for m in received if m["hazard_id"] == hazard["id"]]
    assert mine and mine[0]["level"] == "person" and mine[0]["kind"] == "overdue"
    assert mine[0]["body"]["number"] == hazard["number"]


@pytest.mark.parametrize("grade", ["general", "major"])
def test_the_ladder_is_data_with_non_decreasing_delays(grade: str) -> None:
    from twin.riskmap import rules

    ladder = rules().ladder(grade, DEADLINE)
    assert [s.level for s, _ in ladder] == ["person", "school", "county", "city", "province"]
    assert [due for _, due in ladder] == sorted(due for _, due in ladder)


def test_the_server_runs_the_scheduler_in_the_background_when_asked(
    client: TestClient, login: Login, loop_db: Settings
) -> None:
    import time

    from twin.api import create_app
    from twin.config import HazardSettings

    hazard = assigned(client, login, loop_db)
    asked = loop_db.model_copy(update={"hazards": HazardSettings(scheduler_interval_s=0.2)})
    with TestClient(create_app(asked)) as server:
        server.app.state.clock = lambda: DEADLINE  # type: ignore[attr-defined]
        deadline = time.monotonic() + 20
        while not notified(loop_db, hazard["id"]) and time.monotonic() < deadline:
            time.sleep(0.1)
    assert [n[0] for n in notified(loop_db, hazard["id"])] == ["person"]


def test_a_broker_that_is_down_loses_the_bell_not_the_row() -> None:
    from twin.riskmap.escalation import publish_now
    from twin.services import free_port

    notice = {
        "id": 1,
        "level": "school",
        "org_path": SCHOOL_PATH,
        "person_id": None,
        "hazard_id": 1,
        "kind": "overdue",
        "title": "t",
        "body": "{}",
        "created_at": DEADLINE,
        "school_code": SCHOOL,
    }
    publish_now(f"mqtt://127.0.0.1:{free_port()}", [notice], timeout=1)  # logs, does not raise
