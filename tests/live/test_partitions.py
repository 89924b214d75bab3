"""`alert_events` is partitioned by month of the event's time (migration 0021): each event lands in its
month, one with a time no month holds lands in the default partition, and a redelivery is stored and
counted once wherever it landed, one by one and in a batch."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, text

from tests.live.conftest import SCHOOL, at
from twin.config import Settings
from twin.db.engine import sync_engine
from twin.live.events import event_json
from twin.live.ingest import IngestStats, SensorCache, handle, handle_batch

TOPIC = f"campus/{SCHOOL}/sensors/SN-0001/events"
ODD = datetime(1999, 12, 31, 23, 59, tzinfo=UTC)  # a device whose clock was never set


@pytest.fixture
def engine(live_db: Settings) -> Iterator[Engine]:
    engine = sync_engine(live_db.db)
    yield engine
    engine.dispose()


def rows(engine: Engine, sql: str) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(text(sql)).mappings())


def send(engine: Engine, event_id: str, time: datetime) -> str:
    return handle(engine, TOPIC, event_json(event_id, "smoke", "major", time), at(0))


def stored(engine: Engine) -> dict[str, str]:
    """Event id -> the partition holding it."""
    found = rows(engine, "SELECT event_id, tableoid::regclass::text AS part FROM alert_events")
    return {r["event_id"]: r["part"] for r in found}


def test_events_land_in_their_month_and_odd_times_in_the_default(engine: Engine) -> None:
    with engine.begin() as conn:  # the migration made the months around its own date; make these
        conn.execute(text("SELECT twin_ensure_month_partition('alert_events', :t)"), {"t": at(0)})
    assert send(engine, "p-1", at(0)) == "raised"
    assert send(engine, "p-2", ODD) == "repeated"
    assert stored(engine) == {
        "p-1": f"alert_events_{at(0):%Y_%m}",
        "p-2": "alert_events_default",
    }


def test_a_redelivery_is_stored_and_counted_once_in_its_month_or_the_default(engine: Engine) -> None:
    assert send(engine, "r-1", at(0)) == "raised"
    assert send(engine, "r-2", ODD) == "repeated"
    assert send(engine, "r-1", at(0)) == "duplicate"
    assert send(engine, "r-2", ODD) == "duplicate"
    assert rows(engine, "SELECT count FROM alerts") == [{"count": 2}]
    assert sorted(stored(engine)) == ["r-1", "r-2"]


def test_a_batch_with_redeliveries_across_months_counts_each_event_once(engine: Engine) -> None:
    def message(event_id: str, time: datetime) -> tuple[str, bytes]:
        return TOPIC, event_json(event_id, "smoke", "major", time)

    def take(messages: list[tuple[str, bytes]]) -> list[str]:
        return handle_batch(engine, messages, at(0), IngestStats(), SensorCache())

    assert take([message("b-0", at(0))]) == ["raised"]
    first = take([message("b-1", at(1)), message("b-2", ODD), message("b-1", at(1))])
    assert first == ["repeated", "repeated", "duplicate"]
    assert take([message("b-2", ODD), message("b-0", at(0)), message("b-3", at(2))]) == [
        "duplicate",
        "duplicate",
        "repeated",
    ]
    assert rows(engine, "SELECT count FROM alerts") == [{"count": 4}]
    assert sorted(stored(engine)) == ["b-0", "b-1", "b-2", "b-3"]


def test_making_a_month_moves_its_rows_out_of_the_default_partition(engine: Engine) -> None:
    month = datetime(2001, 3, 1, tzinfo=UTC)
    assert send(engine, "m-1", at(0)) == "raised"
    assert send(engine, "m-2", month.replace(day=15)) == "repeated"
    assert stored(engine)["m-2"] == "alert_events_default"
    with engine.begin() as conn:
        made = conn.execute(text("SELECT twin_ensure_month_partition('alert_events', :t)"), {"t": month})
        assert made.scalar_one() == "alert_events_2001_03"
    assert stored(engine)["m-2"] == "alert_events_2001_03"
    assert send(engine, "m-2", month.replace(day=15)) == "duplicate"  # the dedupe finds it in its new home
    assert rows(engine, "SELECT count FROM alerts") == [{"count": 2}]
