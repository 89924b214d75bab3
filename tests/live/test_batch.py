"""A batch of MQTT messages in one transaction: repeats count up in one statement, in message order otherwise.

`handle_batch` is what the worker calls with whatever arrived since its last commit; real PostGIS.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, text

from tests.live.conftest import SCHOOL, at
from twin.config import Settings
from twin.db.engine import sync_engine
from twin.live.events import event_json
from twin.live.ingest import IngestStats, SensorCache, handle_batch

SMOKE = "SN-0001"
OTHER = "SN-0002"


def topic(device: str) -> str:
    return f"campus/{SCHOOL}/sensors/{device}/events"


def message(device: str, event_id: str, minute: float) -> tuple[str, bytes]:
    return topic(device), event_json(event_id, "smoke", "major", at(minute))


@pytest.fixture
def engine(live_db: Settings) -> Iterator[Engine]:
    engine = sync_engine(live_db.db)
    yield engine
    engine.dispose()


def take(engine: Engine, messages: list[tuple[str, bytes]]) -> list[str]:
    return handle_batch(engine, messages, at(0), IngestStats(), SensorCache())


def rows(engine: Engine, sql: str) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(text(sql)).mappings())


def test_forty_repeats_in_one_batch_count_up_once_and_push_one_delta(engine: Engine) -> None:
    assert take(engine, [message(SMOKE, "b-0", 0)]) == ["raised"]
    before = rows(engine, "SELECT max(id) AS id FROM live_events")[0]["id"]
    outcomes = take(engine, [message(SMOKE, f"b-{i}", i / 10) for i in range(1, 41)])
    assert outcomes == ["repeated"] * 40
    [alert] = rows(engine, "SELECT count, first_at, last_at FROM alerts")
    assert (alert["count"], alert["first_at"], alert["last_at"]) == (41, at(0), at(4))
    deltas = rows(engine, f"SELECT payload FROM live_events WHERE id > {before} ORDER BY id")
    assert [(d["payload"]["action"], d["payload"]["alert"]["count"]) for d in deltas] == [("repeated", 41)]
    assert rows(engine, "SELECT count(*) AS n FROM alert_events")[0]["n"] == 41


def test_a_counted_up_delta_carries_the_same_alert_fields_as_one_the_trigger_logs(engine: Engine) -> None:
    """The batch logs its deltas itself (migration 0023); a client must not see a different shape."""
    take(engine, [message(SMOKE, "s-0", 0)])
    take(engine, [message(SMOKE, f"s-{i}", i) for i in (1, 2)])
    with engine.begin() as conn:  # an update the batch does not log: the trigger does
        conn.execute(text("UPDATE alerts SET acked_at = now(), acked_by = 'officer'"))
    raised, repeated, acked = (
        d["payload"] for d in rows(engine, "SELECT payload FROM live_events WHERE kind = 'alert' ORDER BY id")
    )
    assert (repeated["action"], acked["action"]) == ("repeated", "acked")
    assert set(repeated["alert"]) == set(acked["alert"]) == set(raised["alert"]) - {"context"}
    assert repeated["alert"]["count"] == 3 and repeated["alert"]["last_at"] == acked["alert"]["last_at"]
    # the flag that let the batch log its own deltas ended with the batch's statement
    assert (
        rows(engine, "SELECT count(*) AS n FROM audit_log WHERE table_name = 'alerts' AND action = 'update'")[
            0
        ]["n"]
        == 1
    )


def test_a_batch_keeps_message_order_for_raises_and_drops_duplicates_and_bad_messages(engine: Engine) -> None:
    take(engine, [message(SMOKE, "d-1", 0)])
    batch = [
        message(OTHER, "o-1", 1),  # raises the other detector's alert
        message(SMOKE, "d-1", 0),  # a redelivery of what the last batch stored
        message(SMOKE, "d-2", 2),
        message(SMOKE, "d-2", 2),  # the same id twice in one batch
        (topic(SMOKE), b"{not json"),
        (topic("NO-SUCH-DEVICE"), event_json("x-1", "smoke", "major", at(2))),
        message(OTHER, "o-2", 3),
    ]
    assert take(engine, batch) == [
        "raised",
        "duplicate",
        "repeated",
        "duplicate",
        "malformed",
        "unknown_device",
        "repeated",
    ]
    counts = rows(engine, "SELECT s.device_id, a.count FROM alerts a JOIN sensors s ON s.id = a.sensor_id")
    assert {r["device_id"]: r["count"] for r in counts} == {SMOKE: 2, OTHER: 2}
    kept = rows(engine, "SELECT event_id FROM alert_events ORDER BY event_id")
    assert [r["event_id"] for r in kept] == ["d-1", "d-2", "o-1", "o-2"]


def test_the_retention_purge_finds_old_events_by_index(engine: Engine) -> None:
    """`forget_events` deletes by `at`: with ix_live_events_at the purge walks the index, not the whole log
    (forced here, as the planner prefers a scan on a table this small)."""
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(
            conn.execute(
                text("EXPLAIN DELETE FROM live_events WHERE at < now() - interval '7 days'")
            ).scalars()
        )
    assert "ix_live_events_at" in plan, plan


def test_a_batch_rings_one_bell_for_its_count_ups_naming_each_delta(engine: Engine) -> None:
    """The server hears '<id> <path>;<id> <path>' once per batch, not a notification per delta."""
    take(engine, [message(SMOKE, "r-0", 0), message(OTHER, "o-0", 0)])
    listener = engine.raw_connection()
    try:
        pg = listener.driver_connection
        assert pg is not None
        pg.autocommit = True
        pg.execute("LISTEN twin_live")
        take(engine, [message(SMOKE, "r-1", 1), message(OTHER, "o-1", 1), message(SMOKE, "r-2", 2)])
        bells = [n.payload for n in pg.notifies(timeout=2, stop_after=1)]
        pg.execute("UNLISTEN twin_live")
    finally:
        listener.invalidate()
    deltas = rows(engine, "SELECT id, org_path::text AS path FROM live_events ORDER BY id DESC LIMIT 2")
    assert bells == [";".join(f"{d['id']} {d['path']}" for d in reversed(deltas))]
