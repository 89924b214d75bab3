"""No loss, no double count: separate processes, SIGKILL mid-burst, a broker restart, two uvicorn workers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from websockets.sync.client import connect

from tests.live.conftest import SCHOOL, Publisher, at, token, wait_for
from twin.broker import PrivateBroker
from twin.config import Settings
from twin.db.engine import sync_engine
from twin.live.events import event_json
from twin.services import free_port, port_open

SMOKE = [f"SN-{i:04d}" for i in range(1, 11)]  # the sample's first ten detectors (smoke in ten buildings)


def environment(settings: Settings, data_dir: Path) -> dict[str, str]:
    tag = uuid.uuid4().hex[:8]
    return {
        **os.environ,
        "DATABASE_URL": settings.db.sync_url(),
        "MQTT_URL": settings.broker.effective_url(),
        "TWIN_DATA_DIR": str(data_dir),
        "TWIN_AUTH_SECRET": f"secret-{tag}",
        "TWIN_LIVE_SHARE_GROUP": f"g{tag}",
        "TWIN_LIVE_CLIENT_ID_PREFIX": f"t{tag}",
        "TWIN_LIVE_SESSION_EXPIRY_S": "600",
        "TWIN_LIVE_ESCALATE_EVERY_S": "3600",
    }


@contextmanager
def process(args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "twin.cli", *args], env=env, stdout=out, stderr=out, start_new_session=True
        )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def scalar(settings: Settings, sql: str) -> Any:
    engine = sync_engine(settings.db)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql)).scalar_one()
    finally:
        engine.dispose()


def burst_topic(i: int) -> str:
    return f"campus/{SCHOOL}/sensors/{SMOKE[i % 10]}/events"


def probe(publisher: Publisher, settings: Settings) -> bool:
    """Publish a probe event; True once the worker has stored one (it drops none after subscribing)."""
    publisher.event(SCHOOL, SMOKE[0], f"probe-{uuid.uuid4().hex[:8]}")
    time.sleep(0.3)
    return bool(scalar(settings, "SELECT count(*) FROM alert_events"))


def restart_broker(settings: Settings) -> None:
    broker = PrivateBroker(settings.paths.mqtt_dir, settings.broker.private_port)
    broker.stop()  # SIGTERM: Mosquitto writes its persistence file on the way out
    wait_for(lambda: not port_open(settings.broker.private_port), what="Mosquitto to stop")
    broker.start()


def test_sigkill_during_a_burst_and_a_broker_restart_store_every_alert_exactly_once(
    live_db: Settings, tmp_path: Path
) -> None:
    # Small batches (and as few unacknowledged messages): one commit could otherwise take the whole burst
    # in before the kill, and the kill would test nothing.
    env = environment(live_db, tmp_path) | {"TWIN_LIVE_BATCH_MAX": "20"}
    log = tmp_path / "ingest.log"
    publisher = Publisher(live_db)
    with process(["live", "ingest"], env, log) as ingest:
        wait_for(lambda: probe(publisher, live_db), 30, "the worker to subscribe")
        probes = scalar(live_db, "SELECT count(*) FROM alert_events")
        sent = [
            publisher.send(burst_topic(i), event_json(f"burst-{i}", "smoke", "major", at(i / 60)))
            for i in range(1000)
        ]
        wait_for(lambda: scalar(live_db, "SELECT count(*) FROM alert_events") > 150, 30, "some of the burst")
        os.killpg(ingest.pid, signal.SIGKILL)
        ingest.wait()
    for info in sent:
        info.wait_for_publish(30)  # the broker holds all of them now
    publisher.close()
    stored_at_kill = scalar(live_db, "SELECT count(*) FROM alert_events")
    assert stored_at_kill < probes + 1000, "the burst finished before the kill; nothing was tested"
    restart_broker(live_db)
    with process(["live", "ingest"], env, log):
        stored = lambda: scalar(live_db, "SELECT count(*) FROM alert_events")  # noqa: E731
        wait_for(lambda: stored() >= probes + 1000, 60, "the burst")
        # A second burst, and the broker restarted under the live worker: it reconnects to its session.
        publisher = Publisher(live_db)
        second = [
            publisher.send(burst_topic(i), event_json(f"again-{i}", "smoke", "major", at(i / 60)))
            for i in range(500)
        ]
        for info in second:
            info.wait_for_publish(30)
        publisher.close()
        restart_broker(live_db)
        wait_for(lambda: stored() >= probes + 1500, 60, "the second burst")
        time.sleep(1.0)  # anything redelivered twice would land now
    assert scalar(live_db, "SELECT count(*) FROM alert_events") == probes + 1500
    assert scalar(live_db, "SELECT sum(count) FROM alerts") == probes + 1500  # every event counted once
    assert scalar(live_db, "SELECT count(*) FROM alerts") == 10  # one active alert per detector
    assert (
        scalar(live_db, "SELECT count(DISTINCT event_id) FROM alert_events WHERE event_id LIKE 'burst-%'")
        == 1000
    )


def test_two_uvicorn_workers_share_the_ingest_and_push_to_every_client(
    live_db: Settings, tmp_path: Path
) -> None:
    env = environment(live_db, tmp_path)
    port = free_port()
    host = f"127.0.0.1:{port}"
    with process(["serve", "--port", str(port), "--workers", "2"], env, tmp_path / "serve.log"):
        wait_for(lambda: port_open(port), 60, "twin serve")
        auth = {"Authorization": f"Bearer {token(host, 'leader')}"}
        workers: dict[str, dict[str, int]] = {}

        def poll_stats() -> int:
            body = httpx.get(f"http://{host}/live/stats", headers=auth).json()
            workers[body["ingest_worker"]] = body["ingest"]
            return len(workers)

        wait_for(lambda: poll_stats() == 2, 30, "both workers' ingest")
        time.sleep(1.0)  # both subscribed
        with ExitStack() as stack:
            url = f"ws://{host}/live/ws?access_token={token(host, 'leader')}"
            clients = [stack.enter_context(connect(url)) for _ in range(6)]
            for client in clients:
                assert json.loads(client.recv(timeout=10))["type"] == "snapshot"
            publisher = Publisher(live_db)
            for i in range(10):
                publisher.event(SCHOOL, SMOKE[0], f"w-{i}")
            publisher.close()
            for client in clients:
                # Repeats taken in one batch count up in one update: a delta per batch, counts rising to 10.
                counts = [json.loads(client.recv(timeout=15))["data"]["alert"]["count"]]
                while counts[-1] < 10:
                    counts.append(json.loads(client.recv(timeout=15))["data"]["alert"]["count"])
                assert counts[0] >= 1 and counts == sorted(set(counts)) and counts[-1] == 10, counts
        workers.clear()
        wait_for(lambda: poll_stats() == 2 and all(workers.values()), 30, "stats of both workers")
        taken = {w: c.get("raised", 0) + c.get("repeated", 0) for w, c in workers.items()}
        assert sum(taken.values()) == 10 and all(taken.values()), taken  # the broker shared the work
