"""Two server processes on one database: a hazard reported through one is in the other's statistics at
once (no per-process cache of counts), a token signed by one is taken by the other, and each answers
within the caller's jurisdiction only."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.hazards.conftest import CAMPUS
from tests.layers.conftest import PASSWORD, SCHOOL, SIBLING
from twin.config import Settings

STARTUP_S = 180.0  # generous: the machine is shared by several test runs


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(settings: Settings, tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWIN_", "DATABASE_URL", "MQTT_URL"))}
    env.update(
        DATABASE_URL=settings.db.sync_url(),
        MQTT_URL=settings.broker.effective_url(),
        TWIN_AUTH_SECRET="two-workers-share-this-secret-0123456789",  # what a deployment shares
        TWIN_BUS_JT808="false",  # one listener per host: neither worker needs it here
        TWIN_DATA_DIR=str(tmp),
    )
    return env


@pytest.fixture(scope="module")
def workers(stats_db: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[str]]:
    tmp = tmp_path_factory.mktemp("workers")
    env = _env(stats_db, tmp)
    procs, urls = [], []
    for i in range(2):
        port = _free_port()
        log = (tmp / f"worker{i}.log").open("w")
        command = [sys.executable, "-m", "uvicorn", "twin.api.app:create_app", "--factory"]
        command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
        procs.append(subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT))
        urls.append(f"http://127.0.0.1:{port}")
    try:
        for url, proc in zip(urls, procs, strict=True):
            _wait_healthy(url, proc, tmp)
        yield urls
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], tmp: Path) -> None:
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        assert proc.poll() is None, (tmp / "worker0.log").read_text() + (tmp / "worker1.log").read_text()
        try:
            if httpx.get(f"{url}/healthz", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{url} did not start within {STARTUP_S} s")


def _token(url: str, username: str) -> dict[str, str]:
    response = httpx.post(f"{url}/auth/token", data={"username": username, "password": PASSWORD}, timeout=30)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _found(url: str, headers: dict[str, str], group_by: str = "school") -> dict[str, int]:
    response = httpx.get(f"{url}/stats/hazards?group_by={group_by}", headers=headers, timeout=60)
    assert response.status_code == 200, response.text
    return {r["code"]: r["found"] for r in response.json()["rows"]}


def test_a_write_through_one_worker_is_in_the_other_workers_statistics(workers: list[str]) -> None:
    a, b = workers
    officer = _token(a, "officer")  # signed by worker a …
    county_on_b = _token(a, "county")  # … and used on worker b: the secret is shared, not per process
    before = _found(b, county_on_b)
    assert set(before) == {SCHOOL, SIBLING}
    school_before = _found(b, _token(b, "leader"))
    assert set(school_before) == {SCHOOL}  # the sibling is not even named for a school's leader
    body = {"name": "灭火器过期", "category": "fire", "campus": CAMPUS, "building": "B01", "floor": 1}
    response = httpx.post(f"{a}/hazards", json=body, headers=officer, timeout=60)
    assert response.status_code == 201, response.text
    after = _found(b, county_on_b)
    assert after[SCHOOL] == before[SCHOOL] + 1 and after[SIBLING] == before[SIBLING]
    county_total = _found(b, county_on_b, group_by="county")
    assert sum(county_total.values()) == after[SCHOOL] + after[SIBLING]
    sibling = _found(a, _token(b, "sibling"))
    assert sibling == {SIBLING: before[SIBLING]}  # the other school's hazard is nowhere in its answer
