"""The live streams: published over real Mosquitto, stored once, pushed to the right school only.

A uvicorn server with its ingest worker runs in a thread; clients are real WebSocket and HTTP clients.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

from tests.live.conftest import (
    SCHOOL,
    SIBLING,
    SIBLING_DEVICE,
    SIBLING_MARK,
    Publisher,
    running_server,
    streaming,
    token,
    wait_for,
)
from twin.config import Settings
from twin.db.engine import sync_engine

SMOKE_B02 = "SN-0001"
GAS_B18 = "SN-0013"


@pytest.fixture
def host(live_db: Settings) -> Iterator[str]:
    with running_server(streaming(live_db)) as host:
        yield host


def ws(host: str, username: str, since: int | None = None) -> ClientConnection:
    query = f"?access_token={token(host, username)}" + (f"&since={since}" if since is not None else "")
    return connect(f"ws://{host}/live/ws{query}", open_timeout=10)


def receive(client: ClientConnection, timeout: float = 10.0) -> dict[str, Any]:
    return dict(json.loads(client.recv(timeout=timeout)))


def nothing_more(client: ClientConnection, wait: float = 0.7) -> bool:
    try:
        client.recv(timeout=wait)
    except TimeoutError:
        return True
    return False


def db_rows(settings: Settings, sql: str) -> list[Any]:
    engine = sync_engine(settings.db)
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(sql)).mappings())
    finally:
        engine.dispose()


def test_alert_over_mqtt_is_stored_once_and_pushed_to_its_school_only(
    host: str, live_db: Settings, publisher: Publisher
) -> None:
    with ws(host, "leader") as ours, ws(host, "sibling") as theirs:
        assert receive(ours)["type"] == receive(theirs)["type"] == "snapshot"
        publisher.event(SCHOOL, SMOKE_B02, "mq-1")
        publisher.event(SIBLING, SIBLING_DEVICE, "mq-2")
        event = receive(ours)
        assert (event["kind"], event["data"]["action"]) == ("alert", "raised")
        alert = event["data"]["alert"]
        assert alert["event_id"] == "mq-1" and alert["context"]["building"]["code"] == "B02"
        assert receive(theirs)["data"]["alert"]["event_id"] == "mq-2"
        assert nothing_more(ours) and nothing_more(theirs)
    assert [r["event_id"] for r in db_rows(live_db, "SELECT event_id FROM alerts ORDER BY id")] == [
        "mq-1",
        "mq-2",
    ]


def test_snapshot_holds_active_alerts_and_buses_of_the_callers_scope(host: str, publisher: Publisher) -> None:
    publisher.event(SCHOOL, SMOKE_B02, "mq-1")
    publisher.event(SIBLING, SIBLING_DEVICE, "mq-2")
    with ws(host, "leader") as first:
        wait_for(lambda: receive(first)["type"] == "snapshot", what="snapshot")  # ensure the server is up
    seen: dict[str, Any] = {}

    def both_stored() -> bool:
        with ws(host, "leader") as client:
            seen.update(receive(client))
        return len(seen["alerts"]) == 1

    wait_for(both_stored, what="the alert in the snapshot")
    assert seen["alerts"][0]["event_id"] == "mq-1" and seen["last_id"] > 0
    assert seen["buses"] and SIBLING_MARK not in json.dumps(seen)


def test_a_client_resumes_after_its_last_event_id(host: str, publisher: Publisher) -> None:
    with ws(host, "leader") as client:
        receive(client)
        publisher.event(SCHOOL, SMOKE_B02, "mq-1")
        first = receive(client)
    publisher.event(SCHOOL, GAS_B18, "mq-2", type_="gas")
    publisher.event(SCHOOL, SMOKE_B02, "mq-3")
    wait_for(lambda: stats(host)["ingest"].get("repeated", 0) >= 1, what="ingest")
    with ws(host, "leader", since=first["id"]) as client:
        missed = [receive(client), receive(client)]  # no snapshot: the deltas after the given id
        assert [m["data"]["action"] for m in missed] == ["raised", "repeated"]
        assert [m["data"]["alert"]["event_id"] for m in missed] == [
            "mq-2",
            "mq-1",
        ]  # the alert keeps its first id
        assert all(m["id"] > first["id"] for m in missed)
        assert nothing_more(client)


def stats(host: str) -> dict[str, Any]:
    response = httpx.get(
        f"http://{host}/live/stats", headers={"Authorization": f"Bearer {token(host, 'leader')}"}
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_sse_sends_a_snapshot_then_events_and_resumes_from_last_event_id(
    host: str, publisher: Publisher
) -> None:
    publisher.event(SCHOOL, SMOKE_B02, "mq-1")
    publisher.event(SCHOOL, GAS_B18, "mq-2", type_="gas")
    wait_for(lambda: stats(host)["ingest"].get("raised", 0) >= 2, what="ingest")
    auth = {"Authorization": f"Bearer {token(host, 'leader')}"}
    with httpx.stream("GET", f"http://{host}/live/sse", headers=auth, timeout=10) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = sse_events(response, 1)
    snapshot = events[0]
    assert snapshot["event"] == "snapshot" and len(snapshot["data"]["alerts"]) == 2
    ids = [a["id"] for a in snapshot["data"]["alerts"]]
    with httpx.stream(
        "GET",
        f"http://{host}/live/sse",
        headers={**auth, "Last-Event-ID": str(snapshot["data"]["last_id"] - 1)},
        timeout=10,
    ) as response:
        [resumed] = sse_events(response, 1)
    assert resumed["event"] == "alert" and resumed["data"]["data"]["alert"]["id"] == ids[1]
    assert int(resumed["id"]) == snapshot["data"]["last_id"]


def sse_events(response: httpx.Response, n: int) -> list[dict[str, Any]]:
    """The first `n` events of an SSE stream (comments and retry lines skipped)."""
    events: list[dict[str, Any]] = []
    current: dict[str, Any] = {}
    for line in response.iter_lines():
        if line.startswith(("id:", "event:", "data:")):
            field, _, value = line.partition(":")
            current[field] = json.loads(value) if field == "data" else value.strip()
        elif line == "" and "data" in current:
            events.append(current)
            current = {}
            if len(events) == n:
                break
    return events


def test_a_browser_may_send_the_token_as_a_websocket_subprotocol(host: str) -> None:
    with connect(
        f"ws://{host}/live/ws", subprotocols=["bearer", token(host, "leader")], open_timeout=10
    ) as client:  # type: ignore[list-item]
        assert client.subprotocol == "bearer"
        assert receive(client)["type"] == "snapshot"


def test_stream_refuses_a_missing_or_bad_token(host: str) -> None:
    for url in (f"ws://{host}/live/ws", f"ws://{host}/live/ws?access_token=forged"):
        with pytest.raises(InvalidStatus) as refused:
            connect(url, open_timeout=5)
        assert refused.value.response.status_code == 403
    response = httpx.get(f"http://{host}/live/sse")
    assert response.status_code == 401 and response.headers["content-type"].startswith(
        "application/problem+json"
    )


def test_acknowledge_and_clear_are_independent_and_pushed(host: str, publisher: Publisher) -> None:
    auth = {"Authorization": f"Bearer {token(host, 'officer')}"}
    with ws(host, "leader") as client:
        receive(client)
        publisher.event(SCHOOL, SMOKE_B02, "mq-1")
        alert_id = receive(client)["data"]["alert"]["id"]
        acked = httpx.post(f"http://{host}/alerts/{alert_id}/ack", headers=auth).json()
        assert acked["acked_by"] == "officer" and acked["cleared_at"] is None
        again = httpx.post(
            f"http://{host}/alerts/{alert_id}/ack",
            headers={"Authorization": f"Bearer {token(host, 'leader')}"},
        )
        assert again.json()["acked_by"] == "officer"  # the first acknowledgement stands
        cleared = httpx.post(f"http://{host}/alerts/{alert_id}/clear", headers=auth).json()
        assert cleared["cleared_at"] is not None and cleared["acked_at"] == acked["acked_at"]
        actions = [receive(client)["data"]["action"] for _ in range(2)]
        assert actions == ["acked", "cleared"] and nothing_more(client)
    analyst = {"Authorization": f"Bearer {token(host, 'analyst')}"}
    assert httpx.post(f"http://{host}/alerts/{alert_id}/ack", headers=analyst).status_code == 403
    sibling = {"Authorization": f"Bearer {token(host, 'sibling')}"}
    assert httpx.post(f"http://{host}/alerts/{alert_id}/ack", headers=sibling).status_code == 404
    missing = httpx.post(f"http://{host}/alerts/999999/clear", headers=auth)
    assert missing.status_code == 404 and "jurisdiction" in missing.json()["detail"]


def test_a_parent_gets_their_childs_bus_positions_and_no_alerts(
    host: str, live_db: Settings, publisher: Publisher
) -> None:
    vehicles = db_rows(
        live_db,
        "SELECT v.id, v.org_path::text AS org, v.route_id IN (SELECT p.route_id FROM users u"
        " JOIN guardians g ON g.parent_id = u.person_id JOIN people p ON p.id = g.student_id"
        " WHERE u.username = 'parent' AND p.route_id IS NOT NULL) AS mine FROM vehicles v ORDER BY v.id",
    )
    mine = [v for v in vehicles if v["mine"]]
    other = [v for v in vehicles if not v["mine"]]
    assert mine and other
    with ws(host, "parent") as client:
        snapshot = receive(client)
        assert snapshot["alerts"] == [] and {b["id"] for b in snapshot["buses"]} == {v["id"] for v in mine}
        publisher.event(SCHOOL, SMOKE_B02, "mq-1")
        engine = sync_engine(live_db.db)
        with engine.begin() as conn:
            for v in (other[0], mine[0]):
                conn.execute(
                    text("SELECT twin_live_publish(CAST(:org AS ltree), 'position', CAST(:p AS jsonb))"),
                    {"org": v["org"], "p": json.dumps({"vehicle_id": v["id"], "lon": 112.4, "lat": 34.6})},
                )
        engine.dispose()
        event = receive(client)
        assert event["kind"] == "position" and event["data"]["vehicle_id"] == mine[0]["id"]
        assert nothing_more(client)


def test_notifications_of_other_domains_reach_their_school_once(host: str, publisher: Publisher) -> None:
    notice = json.dumps({"id": "hz-7", "title": "隐患整改逾期", "hazard_id": 7}, ensure_ascii=False).encode()
    with ws(host, "leader") as ours, ws(host, "sibling") as theirs:
        receive(ours), receive(theirs)
        publisher.send(f"campus/{SCHOOL}/notifications", notice).wait_for_publish(10)
        publisher.send(f"campus/{SCHOOL}/notifications", notice).wait_for_publish(10)  # a QoS 1 redelivery
        publisher.send("campus/0000000000/notifications", notice).wait_for_publish(10)  # no such school
        publisher.send(f"campus/{SCHOOL}/notifications", b"[]").wait_for_publish(10)
        event = receive(ours)
        assert event["kind"] == "notification" and event["data"]["title"] == "隐患整改逾期"
        assert nothing_more(ours) and nothing_more(theirs, 0.1)
    wait_for(lambda: stats(host)["ingest"].get("unknown_school", 0) >= 1, what="the unknown school counted")
