"""Faults: the server or an import SIGKILLed mid-write, PostgreSQL restarted under load.

Afterwards every change is either fully there or not there at all, and nothing acknowledged is lost.
(Mosquitto restarted during alert bursts: tests/live/test_durability.py.)
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, text

from tests.access import world as w
from tests.live.conftest import wait_for
from tests.live.test_durability import environment, process
from tests.reliability.conftest import quiet
from tests.reliability.fingerprint import changes, fingerprint
from twin.config import Settings
from twin.db import migrate
from twin.db.cluster import Cluster
from twin.db.engine import sync_engine
from twin.db.provision import services_down, services_up
from twin.services import free_port, port_open

X = 112.40  # school A's campus CA spans lon 112.40–112.41, lat 34.60–34.61 (world.py)


@pytest.fixture
def owner(world_db: tuple[Settings, w.World]) -> Iterator[Engine]:
    engine = sync_engine(world_db[0].db)
    yield engine
    engine.dispose()


def big_delivery(path: Path, n: int) -> Path:
    """n small buildings on campus CA, as one GeoJSON layer: an import that takes a few seconds."""
    features = []
    for i in range(n):
        x, y = X + 0.001 + (i % 100) * 0.00008, 34.601 + (i // 100) * 0.00004
        ring = [[x, y], [x + 0.00005, y], [x + 0.00005, y + 0.00003], [x, y + 0.00003], [x, y]]
        props = {
            "code": f"K{i}",
            "name": f"kiosk {i}",
            "use": "utility",
            "floors": 1,
            "height_m": 3,
            "base_elev_m": 150,
        }
        features.append(
            {"type": "Feature", "properties": props, "geometry": {"type": "Polygon", "coordinates": [ring]}}
        )
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def import_backend(owner: Engine) -> bool:
    """An import's session is inside its transaction, writing (another backend than ours)."""
    with owner.connect() as conn:
        return bool(
            conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND pid <> pg_backend_pid() AND xact_start IS NOT NULL"
                    " AND query ILIKE '%buildings%' AND query NOT ILIKE '%pg_stat_activity%'"
                )
            ).scalar_one()
        )


def test_an_import_killed_mid_transaction_leaves_nothing_and_a_rerun_stores_all(
    world_db: tuple[Settings, w.World], owner: Engine, tmp_path: Path
) -> None:
    settings = world_db[0]
    delivery = big_delivery(tmp_path / "buildings.geojson", 6000)
    env = environment(settings, tmp_path / "data")
    before = fingerprint(owner)
    with process(["load", str(delivery), "--campus", "CA"], env, tmp_path / "load.log") as proc:
        wait_for(lambda: import_backend(owner) or proc.poll() is not None, 120, "the import to write")
        assert proc.poll() is None, "the import finished before it could be killed; make it bigger"
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    # PostgreSQL rolls the orphaned transaction back once it sees the client gone.
    wait_for(lambda: not import_backend(owner), 30, "the killed import's transaction to end")
    assert changes(before, fingerprint(owner)) == {}
    with process(["load", str(delivery), "--campus", "CA"], env, tmp_path / "load.log") as proc:
        assert proc.wait(timeout=300) == 0, (tmp_path / "load.log").read_text()[-2000:]
    with owner.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM buildings WHERE code LIKE 'K%'")).scalar_one() == 6000


# --- the server SIGKILLed during edits -----------------------------------------------------------------


def point(i: int) -> dict[str, Any]:
    props = {"campus": "CA", "code": f"P{i}", "name": f"edit {i}", "category": "fire", "level": 1 + i % 4}
    coords = [X + 0.001 + (i % 90) * 0.0001, 34.601 + (i // 90) * 0.0001]
    return {"type": "Feature", "properties": props, "geometry": {"type": "Point", "coordinates": coords}}


class Writer(threading.Thread):
    """Creates risk points one after another (several threads at once), recording what was acknowledged."""

    def __init__(self, host: str, token: str, numbers: range) -> None:
        super().__init__(daemon=True)
        self.host, self.token, self.numbers = host, token, numbers
        self.acknowledged: list[int] = []
        self.statuses: list[int] = []
        self.stop = threading.Event()

    def run(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/geo+json"}
        with httpx.Client(base_url=f"http://{self.host}", timeout=10) as client:
            for i in self.numbers:
                if self.stop.is_set():
                    return
                try:
                    r = client.post(
                        "/collections/risk_points/items", content=json.dumps(point(i)), headers=headers
                    )
                except httpx.HTTPError:
                    self.statuses.append(0)
                    time.sleep(0.05)
                    continue
                self.statuses.append(r.status_code)
                if r.status_code == 201:
                    self.acknowledged.append(i)


def stored_points(owner: Engine) -> dict[int, dict[str, Any]]:
    with owner.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT p.code, p.name, p.level, ST_X(p.geom) AS x, ST_Y(p.geom) AS y,"
                " (SELECT count(*) FROM feature_versions v WHERE v.collection = 'risk_points' AND v.feature_id = p.id) AS versions"
                " FROM risk_points p WHERE p.code LIKE 'P%'"
            )
        ).mappings()
        return {int(r["code"][1:]): dict(r) for r in rows}


def assert_whole(found: dict[int, dict[str, Any]]) -> None:
    """Every stored point is exactly what was sent, with its first version recorded."""
    for i, row in found.items():
        sent = point(i)
        assert (row["name"], row["level"]) == (sent["properties"]["name"], sent["properties"]["level"])
        assert (round(row["x"], 7), round(row["y"], 7)) == tuple(
            round(c, 7) for c in sent["geometry"]["coordinates"]
        )
        assert row["versions"] == 1, (i, row)


def signed_in(host: str, user: str) -> str:
    r = httpx.post(f"http://{host}/auth/token", data={"username": user, "password": w.PASSWORD}, timeout=30)
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


def serve(settings: Settings, tmp_path: Path) -> tuple[list[str], dict[str, str], str, int]:
    port = free_port()
    env = {
        **environment(settings, tmp_path / "data"),
        "TWIN_BUS_JT808": "false",
        "TWIN_LIVE_INGEST": "false",
        "TWIN_HAZARD_SCHEDULER_INTERVAL_S": "0",
    }
    return ["serve", "--port", str(port)], env, f"127.0.0.1:{port}", port


def test_the_server_killed_during_edits_loses_no_acknowledged_feature_and_halves_none(
    world_db: tuple[Settings, w.World], owner: Engine, tmp_path: Path
) -> None:
    args, env, host, port = serve(world_db[0], tmp_path)
    writers = [Writer(host, "", range(k * 10_000, k * 10_000 + 10_000)) for k in range(4)]
    with process(args, env, tmp_path / "serve.log") as proc:
        wait_for(lambda: port_open(port), 60, "twin serve")
        token = signed_in(host, "safety_officer_A")
        for writer in writers:
            writer.token = token
            writer.start()
        wait_for(lambda: sum(len(wr.acknowledged) for wr in writers) >= 40, 60, "edits to be acknowledged")
        os.killpg(proc.pid, signal.SIGKILL)  # mid-stream: several requests are in flight
        proc.wait()
    for writer in writers:
        writer.stop.set()
        writer.join(timeout=20)
    acknowledged = {i for wr in writers for i in wr.acknowledged}
    found = stored_points(owner)
    assert acknowledged <= set(found), f"acknowledged but lost: {sorted(acknowledged - set(found))[:10]}"
    assert_whole(found)  # in flight at the kill: there entirely (only the reply was lost) or not at all
    assert not any(s >= 500 for wr in writers for s in wr.statuses)
    with process(args, env, tmp_path / "serve.log"):  # and the server comes back to the same state
        wait_for(lambda: port_open(port), 60, "twin serve again")
        r = httpx.get(
            f"http://{host}/collections/risk_points/items?limit=1000&filter=code%20LIKE%20%27P%25%27",
            headers={"Authorization": f"Bearer {signed_in(host, 'leader_A')}"},
            timeout=30,
        )
        assert r.status_code == 200 and len(r.json()["features"]) == len(found)


# --- PostgreSQL restarted under load --------------------------------------------------------------------


@pytest.fixture
def own_cluster(services: Settings, tmp_path: Path) -> Iterator[Settings]:
    """A PostgreSQL (and broker) of this test's own, migrated, with the world in it: restarting the
    session's cluster would cut every other fixture's open connections."""
    settings = quiet(
        services.model_copy(
            update={
                "paths": services.paths.model_copy(update={"data_dir": tmp_path / "own"}),
                "db": services.db.model_copy(update={"private_port": free_port()}),
                "broker": services.broker.model_copy(update={"private_port": free_port()}),
            }
        )
    )
    services_up(settings)
    try:
        migrate.upgrade(settings.db)
        engine = sync_engine(settings.db)
        with engine.begin() as conn:
            w.build(conn)
        engine.dispose()
        yield settings
    finally:
        services_down(settings)


def test_postgres_restarted_under_load_recovers_and_keeps_every_acknowledged_write(
    own_cluster: Settings, tmp_path: Path
) -> None:
    args, env, host, port = serve(own_cluster, tmp_path)
    cluster = Cluster(own_cluster.paths.pg_dir / "data", own_cluster.db.private_port)
    owner = sync_engine(own_cluster.db)
    writers = [Writer(host, "", range(100_000 + k * 10_000, 100_000 + k * 10_000 + 10_000)) for k in range(3)]
    with process(args, env, tmp_path / "serve.log"):
        wait_for(lambda: port_open(port), 60, "twin serve")
        token = signed_in(host, "safety_officer_A")
        for writer in writers:
            writer.token = token
            writer.start()
        wait_for(lambda: sum(len(wr.acknowledged) for wr in writers) >= 30, 60, "writes before the restart")
        owner.dispose()
        cluster.stop()
        down_at = len([s for wr in writers for s in wr.statuses])
        time.sleep(2)
        cluster.start()
        up = time.monotonic()
        acked_at_restart = sum(len(wr.acknowledged) for wr in writers)
        wait_for(
            lambda: sum(len(wr.acknowledged) for wr in writers) > acked_at_restart + 10,
            60,
            "writes to resume",
        )
        recovered_s = time.monotonic() - up
        for writer in writers:
            writer.stop.set()
            writer.join(timeout=20)
    statuses = [s for wr in writers for s in wr.statuses]
    during = statuses[down_at:]
    print(
        f"recovered {recovered_s:.1f} s after PostgreSQL was back; answers around the restart: "
        f"{ {s: during.count(s) for s in sorted(set(during))} }"
    )
    assert recovered_s < 30
    acknowledged = {i for wr in writers for i in wr.acknowledged}
    found = stored_points(owner)
    owner.dispose()
    assert acknowledged <= set(found), f"acknowledged but lost: {sorted(acknowledged - set(found))[:10]}"
    assert_whole(found)
    # While the database is away the answer is 503 problem+json (retry later), never a 500.
    assert not any(s >= 500 and s != 503 for s in statuses), {s: statuses.count(s) for s in set(statuses)}
