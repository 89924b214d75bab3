"""Taking sensor events in: one alert per active (sensor, type), exactly once, with its context at raise time.

Events go through `handle`, what the MQTT worker calls for each message, against a real PostGIS with the
sample campus; MQTT itself is in test_mqtt.py.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import Any

import pytest
from pyproj import Geod
from sqlalchemy import Engine, text

from tests.live.conftest import SCHOOL, SIBLING, at
from twin.config import Settings
from twin.db.engine import sync_engine
from twin.live.alerts import escalate_due
from twin.live.events import event_json
from twin.live.ingest import IngestStats, IngestWorker, handle

SMOKE_B02 = "SN-0001"  # the sample's smoke detector in 第一教学楼 (B02), floor 3
TOPIC = f"campus/{SCHOOL}/sensors/{SMOKE_B02}/events"
GEOD = Geod(ellps="WGS84")


@pytest.fixture
def engine(live_db: Settings) -> Iterator[Engine]:
    engine = sync_engine(live_db.db)
    yield engine
    engine.dispose()


def send(engine: Engine, event_id: str, minute: float = 0, topic: str = TOPIC, **kw: Any) -> str:
    kw.setdefault("type", "smoke")
    kw.setdefault("severity", "major")
    return handle(
        engine, topic, event_json(event_id, kw.pop("type"), kw.pop("severity"), at(minute), **kw), at(minute)
    )


def rows(engine: Engine, sql: str, **params: Any) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(text(sql), params).mappings())


def alerts(engine: Engine) -> list[Any]:
    return rows(engine, "SELECT * FROM alerts ORDER BY id")


def test_first_event_raises_an_alert_pinned_to_its_building_floor_and_point(engine: Engine) -> None:
    assert send(engine, "e-1", value=0.31, unit="dB/m") == "raised"
    [alert] = alerts(engine)
    assert (alert["type"], alert["severity"], alert["count"], alert["event_id"]) == (
        "smoke",
        "major",
        1,
        "e-1",
    )
    context = alert["context"]
    assert context["building"]["code"] == "B02" and context["floor"] == 3
    sensor = rows(
        engine, "SELECT ST_X(geom) x, ST_Y(geom) y, height_m FROM sensors WHERE device_id = :d", d=SMOKE_B02
    )[0]
    assert context["point"]["lon"] == pytest.approx(sensor["x"]) and context["point"]["lat"] == pytest.approx(
        sensor["y"]
    )
    assert context["point"]["height_m"] == pytest.approx(sensor["height_m"])
    assert sensor["height_m"] > 0


def test_nearest_camera_is_the_geodesically_closest_one(engine: Engine) -> None:
    send(engine, "e-1")
    camera = alerts(engine)[0]["context"]["camera"]
    cams = rows(engine, "SELECT device_id, ST_X(geom) x, ST_Y(geom) y FROM sensors WHERE type = 'camera'")
    point = alerts(engine)[0]["context"]["point"]
    by_distance = sorted(cams, key=lambda c: GEOD.inv(point["lon"], point["lat"], c["x"], c["y"])[2])
    assert camera["device_id"] == by_distance[0]["device_id"]
    assert camera["distance_m"] == pytest.approx(
        GEOD.inv(point["lon"], point["lat"], by_distance[0]["x"], by_distance[0]["y"])[2], abs=0.5
    )


def test_people_to_notify_come_from_the_policy_and_the_responsible_person(engine: Engine) -> None:
    send(engine, "e-1")
    context = alerts(engine)[0]["context"]
    titles = {p["title"] for p in context["notify"]}
    assert {"安全办主任", "保安队长"} <= titles  # policy.yaml: fire, smoke, heat
    if context["responsible"]:
        assert context["responsible"]["id"] in {p["id"] for p in context["notify"]}


def test_fire_context_has_evacuation_routes_to_assembly_points(engine: Engine) -> None:
    send(engine, "e-1")
    evacuation = alerts(engine)[0]["context"]["evacuation"]
    routes = evacuation["routes"]
    assert routes and evacuation["people_in_building"] > 0
    points = {
        r["code"]: r
        for r in rows(
            engine, "SELECT code, ST_X(geom) x, ST_Y(geom) y FROM grounds WHERE kind = 'assembly_point'"
        )
    }
    building = rows(
        engine,
        "SELECT ST_X(ST_Centroid(geom)) x, ST_Y(ST_Centroid(geom)) y FROM buildings WHERE code = 'B02'",
    )[0]
    for route in routes:
        end = route["geometry"]["coordinates"][-1]
        ap = points[route["assembly_point"]]
        assert end == pytest.approx([ap["x"], ap["y"]], abs=1e-6)
        line = route["geometry"]["coordinates"]
        walked = sum(GEOD.inv(*a, *b)[2] for a, b in itertools.pairwise(line))
        assert walked == pytest.approx(route["length_m"], rel=0.01)  # the stated length is the drawn line's
        straight = GEOD.inv(building["x"], building["y"], ap["x"], ap["y"])[2]
        assert route["length_m"] >= straight - 30  # a walk is never much shorter than the crow flies
    assert [r["length_m"] for r in routes] == sorted(r["length_m"] for r in routes)


def test_repeats_while_active_count_up_and_keep_the_first_time(engine: Engine) -> None:
    assert send(engine, "e-1", minute=0) == "raised"
    assert send(engine, "e-2", minute=1) == "repeated"
    assert send(engine, "e-3", minute=3) == "repeated"
    [alert] = alerts(engine)
    assert alert["count"] == 3
    assert (alert["first_at"], alert["last_at"]) == (at(0), at(3))
    assert {r["event_id"] for r in rows(engine, "SELECT event_id FROM alert_events")} == {"e-1", "e-2", "e-3"}


def test_a_redelivered_event_is_stored_once_and_counted_once(engine: Engine) -> None:
    send(engine, "e-1")
    send(engine, "e-2", minute=1)
    assert send(engine, "e-2", minute=1) == "duplicate"
    assert send(engine, "e-1") == "duplicate"
    assert alerts(engine)[0]["count"] == 2
    assert len(rows(engine, "SELECT 1 FROM alert_events")) == 2


def test_after_a_clear_the_next_event_raises_a_new_alert(engine: Engine) -> None:
    send(engine, "e-1")
    with engine.begin() as conn:
        conn.execute(text("UPDATE alerts SET cleared_at = now()"))
    assert send(engine, "e-2", minute=5) == "raised"
    assert [a["count"] for a in alerts(engine)] == [1, 1]


BAD = [
    (TOPIC, b"not json"),
    (TOPIC, b"[1, 2]"),
    (TOPIC, json.dumps({"type": "smoke", "severity": "major", "time": "2026-11-24T08:00:00Z"}).encode()),
    (
        TOPIC,
        json.dumps(
            {"event_id": "x", "type": "volcano", "severity": "major", "time": "2026-11-24T08:00:00Z"}
        ).encode(),
    ),
    (
        TOPIC,
        json.dumps(
            {"event_id": "x", "type": "smoke", "severity": "apocalyptic", "time": "2026-11-24T08:00:00Z"}
        ).encode(),
    ),
    (
        TOPIC,
        json.dumps({"event_id": "x", "type": "smoke", "severity": "major", "time": "yesterday"}).encode(),
    ),
    (
        TOPIC,
        json.dumps(
            {"event_id": "x", "type": "smoke", "severity": "major", "time": "2026-11-24T08:00:00"}
        ).encode(),
    ),
    (
        TOPIC,
        json.dumps(
            {"event_id": "x" * 200, "type": "smoke", "severity": "major", "time": "2026-11-24T08:00:00Z"}
        ).encode(),
    ),
    # Valid JSON the database cannot store (a NUL character in a string): rejected, not retried forever.
    (
        TOPIC,
        json.dumps(
            {"event_id": "nul\u0000", "type": "smoke", "severity": "major", "time": "2026-11-24T08:00:00Z"}
        ).encode(),
    ),
]


def test_malformed_payloads_are_rejected_counted_and_store_nothing(engine: Engine) -> None:
    stats = IngestStats()
    for topic, payload in BAD:
        assert handle(engine, topic, payload, at(0), stats) == "malformed", payload
    assert handle(engine, "campus/x/sensors/events", b"{}", at(0), stats) == "bad_topic"
    good = event_json("e-9", "smoke", "major", at(0))
    assert handle(engine, f"campus/{SCHOOL}/sensors/NO-SUCH/events", good, at(0), stats) == "unknown_device"
    # A registered device under another school's topic is not taken for that school.
    assert (
        handle(engine, f"campus/{SIBLING}/sensors/{SMOKE_B02}/events", good, at(0), stats) == "unknown_device"
    )
    assert stats.snapshot() == {"malformed": len(BAD), "bad_topic": 1, "unknown_device": 2}
    assert alerts(engine) == [] and rows(engine, "SELECT 1 FROM alert_events") == []


def test_unacknowledged_alert_escalates_each_step_once_on_the_fake_clock(engine: Engine) -> None:
    send(engine, "e-1", severity="critical")  # policy.yaml: critical escalates at 2 and 5 minutes
    with engine.begin() as conn:
        assert escalate_due(conn, at(1.9)) == []
    with engine.begin() as conn:
        [fired] = escalate_due(conn, at(2))
    assert (fired.step, fired.escalated) == (1, True)
    with engine.begin() as conn:
        assert escalate_due(conn, at(4)) == []  # step 1 never twice
    assert alerts(engine)[0]["escalation_step"] == 1
    with engine.begin() as conn:
        [fired] = escalate_due(conn, at(5))
    assert (fired.step, fired.escalated) == (2, True)
    alert = alerts(engine)[0]
    assert alert["escalation_step"] == 2
    escalations = alert["context"]["escalations"]
    assert [e["step"] for e in escalations] == [1, 2]
    # policy.yaml: critical goes to the vice-principal for safety, then the principal
    assert [[p["title"] for p in e["notify"]] for e in escalations] == [["分管安全副校长"], ["校长"]]


def test_an_acknowledged_alert_skips_its_remaining_escalations(engine: Engine) -> None:
    send(engine, "e-1", severity="critical")
    with engine.begin() as conn:
        escalate_due(conn, at(2))
        conn.execute(text("UPDATE alerts SET acked_at = now(), acked_by = 'leader'"))
    with engine.begin() as conn:
        [skipped] = escalate_due(conn, at(10))
    assert (skipped.step, skipped.escalated) == (2, False)
    assert alerts(engine)[0]["escalation_step"] == 1
    outcomes = rows(engine, "SELECT step, outcome FROM alert_timers ORDER BY step")
    assert [(r["step"], r["outcome"]) for r in outcomes] == [(1, "fired"), (2, "skipped")]


def add_fire_alarm(engine: Engine) -> str:
    """A fire alarm panel input for building B02 (the sample's only fire sensor is in B01)."""
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO sensors (org_path, campus_id, device_id, type, name, building_id, floor, height_m, geom)"
                " SELECT s.org_path, s.campus_id, 'FIRE-B02', 'fire', 'B02 fire alarm', s.building_id, 1, 0.5, s.geom"
                " FROM sensors s WHERE s.device_id = :d"
            ),
            {"d": SMOKE_B02},
        )
    return f"campus/{SCHOOL}/sensors/FIRE-B02/events"


def pushed_alert_ids(engine: Engine) -> set[int]:
    return {r["id"] for r in rows(engine, "SELECT (payload -> 'alert' ->> 'id')::int AS id FROM live_events")}


def test_a_detector_under_an_active_building_fire_alarm_is_inhibited(engine: Engine) -> None:
    fire_topic = add_fire_alarm(engine)
    assert send(engine, "f-1", topic=fire_topic, type="fire", severity="critical") == "raised"
    assert send(engine, "s-1", minute=1) == "inhibited"
    fire, smoke = alerts(engine)
    assert smoke["parent_id"] == fire["id"] and fire["parent_id"] is None
    assert pushed_alert_ids(engine) == {fire["id"]}  # the detector is not a separate alarm on the screens
    assert rows(engine, "SELECT 1 FROM alert_timers WHERE alert_id = :a", a=smoke["id"]) == []


def test_a_later_fire_alarm_adopts_the_buildings_active_detectors(engine: Engine) -> None:
    fire_topic = add_fire_alarm(engine)
    send(engine, "s-1")
    send(engine, "f-1", minute=1, topic=fire_topic, type="fire", severity="critical")
    smoke, fire = alerts(engine)
    assert smoke["parent_id"] == fire["id"]


def test_the_workers_escalation_tick_reads_its_clock(live_db: Settings, engine: Engine) -> None:
    send(engine, "e-1", severity="critical")
    worker = IngestWorker(live_db, clock=lambda: at(2.5))  # not started: only its database side
    try:
        assert worker.escalate() == 1
        assert worker.escalate() == 0
    finally:
        worker.engine.dispose()
    assert alerts(engine)[0]["escalation_step"] == 1


def test_two_workers_never_fire_the_same_step(engine: Engine) -> None:
    send(engine, "e-1", severity="critical")
    with engine.connect() as first, first.begin():
        [claimed] = escalate_due(first, at(2))  # holds the timer's row lock until it commits
        with engine.begin() as second:
            assert escalate_due(second, at(2)) == []  # SKIP LOCKED: the other worker's step is not ours
    assert claimed.step == 1
    with engine.begin() as third:
        assert escalate_due(third, at(3)) == []  # and once committed it is done
    assert alerts(engine)[0]["escalation_step"] == 1
