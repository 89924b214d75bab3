"""Gate passes over MQTT become "entered / left campus" notifications to the child's own parents; bad
passes (unknown terminal, unknown card or face, no direction) are refused with nothing stored."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import text
from websockets.sync.client import connect

from tests.family.conftest import SCHOOL, SIBLING, World, minutes, running_server, token
from tests.live.conftest import Publisher, streaming, wait_for
from twin.live.ingest import IngestStats, handle

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def _pass(event_id: str, credential: str, minute: float, **extra: str) -> bytes:
    body = {"event_id": event_id, "credential": credential, "time": minutes(minute).isoformat(), **extra}
    return json.dumps(body).encode()


def _count(world: World, table: str) -> int:
    with world.engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def test_a_childs_gate_pass_reaches_their_parents_stream_and_page_only(world: World) -> None:
    settings = streaming(world.settings)
    publisher = Publisher(settings)
    try:
        with running_server(settings) as host:
            parent = token(host, "parent")
            with connect(f"ws://{host}/live/ws?access_token={parent}", open_timeout=10) as client:
                json.loads(client.recv(timeout=10))  # the snapshot
                topic = f"campus/{SCHOOL}/gates/GN-in-card/events"
                # Another child passes first: the parent must not hear of it.
                publisher.send(topic, _pass("e-other", "C-OTHER", -20)).wait_for_publish(10)
                publisher.send(topic, _pass("e-child", "C-CHILD", -18)).wait_for_publish(10)
                event = json.loads(client.recv(timeout=15))
                assert event["kind"] == "notification"
                data = event["data"]
                assert data["student_id"] == world.child_id and data["direction"] == "in"
                # 07:42 UTC is 15:42 in Luoyang: the title speaks the school's time.
                assert data["title"] == f"{world.child_name} entered campus at 15:42 through North Gate"
                with pytest.raises(TimeoutError):
                    client.recv(timeout=1.0)
            mine = httpx.get(
                f"http://{host}/notifications",
                params={"mine": "true"},
                headers={"Authorization": f"Bearer {parent}"},
            ).json()
            assert [n["kind"] for n in mine] == ["gate_in"]
            assert mine[0]["title"].endswith("through North Gate")
            # The parent marks it read (their own notification: row security lets this one write through).
            auth = {"Authorization": f"Bearer {parent}"}
            read = httpx.post(f"http://{host}/notifications/{mine[0]['id']}/read", headers=auth)
            assert read.status_code == 204
            unread = httpx.get(
                f"http://{host}/notifications", params={"mine": "true", "unread": "true"}, headers=auth
            )
            assert unread.json() == []
            # The school's staff see both passes; the sibling school sees none.
            leader = httpx.get(
                f"http://{host}/notifications", headers={"Authorization": f"Bearer {token(host, 'leader')}"}
            ).json()
            assert {n["kind"] for n in leader} == {"gate_in"} and len(leader) >= 2
            sibling = httpx.get(
                f"http://{host}/notifications", headers={"Authorization": f"Bearer {token(host, 'sibling')}"}
            ).json()
            assert sibling == []
    finally:
        publisher.close()


def test_a_redelivered_pass_is_stored_and_told_once(world: World) -> None:
    topic = f"campus/{SCHOOL}/gates/GS-both-face/events"
    payload = _pass("e-1", "F-CHILD", 0, direction="out")
    assert handle(world.engine, topic, payload, NOW, IngestStats()) == "gate"
    assert handle(world.engine, topic, payload, NOW, IngestStats()) == "duplicate"
    with world.engine.connect() as conn:
        rows = conn.execute(text("SELECT direction, person_id FROM gate_events")).all()
        told = conn.execute(text("SELECT title FROM notifications WHERE kind = 'gate_out'")).scalars().all()
        guardians = conn.execute(
            text("SELECT count(*) FROM guardians WHERE student_id = :s"), {"s": world.child_id}
        ).scalar_one()
    assert rows == [("out", world.child_id)]
    assert len(told) == guardians >= 1
    assert all(t == f"{world.child_name} left campus at 16:00 through South Gate" for t in told)


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        (f"campus/{SCHOOL}/gates/NO-SUCH-TERMINAL/events", _pass("x1", "C-CHILD", 0), "unknown_gate"),
        # A terminal of the sample school named under another school's code is unknown there.
        (f"campus/{SIBLING}/gates/GN-in-card/events", _pass("x2", "C-CHILD", 0), "unknown_gate"),
        (f"campus/{SCHOOL}/gates/GN-in-card/events", _pass("x3", "C-NOBODY", 0), "unknown_card"),
        (
            f"campus/{SCHOOL}/gates/GN-both-face/events",
            _pass("x4", "F-NOBODY", 0, direction="in"),
            "unknown_face",
        ),
        # A face terminal serving both ways needs the direction; a card reader of 'in' cannot say 'out'.
        (f"campus/{SCHOOL}/gates/GN-both-face/events", _pass("x5", "F-CHILD", 0), "malformed"),
        (f"campus/{SCHOOL}/gates/GN-in-card/events", _pass("x6", "C-CHILD", 0, direction="out"), "malformed"),
        (
            f"campus/{SCHOOL}/gates/GN-in-card/events",
            b'{"event_id": "x7", "credential": "C-CHILD"}',
            "malformed",
        ),
        (f"campus/{SCHOOL}/gates/GN-in-card/events", b"not json", "malformed"),
    ],
)
def test_bad_passes_are_refused_with_a_reason_and_nothing_stored(
    world: World, topic: str, payload: bytes, reason: str
) -> None:
    stats = IngestStats()
    assert handle(world.engine, topic, payload, NOW, stats) == reason
    assert stats.snapshot() == {reason: 1}
    assert _count(world, "gate_events") == 0
    assert _count(world, "notifications") == 0
    assert _count(world, "live_events WHERE kind = 'notification'") == 0


def test_a_staff_card_is_stored_without_telling_any_parent(world: World) -> None:
    with world.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO access_credentials (org_path, person_id, method, credential)"
                " SELECT org_path, id, 'card', 'C-STAFF' FROM people WHERE role = 'staff' ORDER BY id LIMIT 1"
            )
        )
    topic = f"campus/{SCHOOL}/gates/GN-in-card/events"
    assert handle(world.engine, topic, _pass("s1", "C-STAFF", 0), NOW, IngestStats()) == "gate"
    assert _count(world, "gate_events") == 1
    assert _count(world, "notifications") == 0


def test_the_ingest_worker_takes_gate_passes_from_the_broker(world: World) -> None:
    settings = streaming(world.settings)
    publisher = Publisher(settings)
    try:
        with running_server(settings):
            topic = f"campus/{SCHOOL}/gates/GN-in-card/events"
            publisher.send(topic, _pass("b1", "C-CHILD", 0)).wait_for_publish(10)
            publisher.send(topic, _pass("b1", "C-CHILD", 0)).wait_for_publish(10)  # a device's repeat
            publisher.send(topic, _pass("b2", "C-NOBODY", 0)).wait_for_publish(10)
            wait_for(lambda: _count(world, "gate_events") == 1, what="the pass stored")
    finally:
        publisher.close()
    assert _count(world, "gate_events") == 1
