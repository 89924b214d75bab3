"""The pipes test world (sample campus LY01, sibling campus SB01 with a pipe of its own, users) reused
for 3D scenes: `client`, `login` and `db` come from tests/pipes/conftest.py; `plan` is a stored
excavation plan of the sample sewer, `glbs` every GLB the scenes serve for it and for the campus."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection

from tests.pipes.conftest import client, db, login, pipes_db
from tests.pipes.test_excavation_api import sewer

__all__ = ["client", "db", "login", "pipes_db"]
TOOLS = Path(__file__).resolve().parents[2] / "tools"
Login = Callable[[str], dict[str, str]]


@pytest.fixture(scope="module")
def plan(client: TestClient, login: Login, db: Connection) -> dict[str, Any]:
    body = {"campus": "LY01", "utility": "drainage", "pipe_id": sewer(db), "soil": "clay"}
    response = client.post("/pipes/excavation", json=body, headers=login("crew"))
    assert response.status_code == 201, response.text
    return dict(response.json())


def gltf_validator(paths: list[Path]) -> list[dict[str, Any]]:
    """Reports of the Khronos glTF-Validator (npm, tools/) on the files."""
    out = subprocess.run(
        ["node", str(TOOLS / "validate-gltf.mjs"), *map(str, paths)],
        cwd=TOOLS, capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    reports: list[dict[str, Any]] = json.loads(out.stdout)
    return reports


@pytest.fixture(scope="module")
def server(pipes_db: Any) -> Iterator[str]:
    """The app under uvicorn on a free port (a thread of this process), for the browser tests."""
    import threading
    import time

    import uvicorn

    from twin.api import create_app
    from twin.services import free_port

    port = free_port()
    config = uvicorn.Config(create_app(pipes_db), host="127.0.0.1", port=port, log_level="warning")
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not uv.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    uv.should_exit = True
    thread.join(timeout=10)
