"""The server keeps built networks between break queries, and forgets one as soon as its rows change."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, create_engine, text

from tests.conftest import sample_database
from tests.layers.conftest import PASSWORD, _add_sibling_and_users
from twin.api import create_app
from twin.config import Settings


@pytest.fixture(scope="module")
def writable(services: Settings, sample_files: object) -> Iterator[Settings]:
    def users(conn: Connection) -> None:
        _add_sibling_and_users(conn)

    with sample_database(services, sample_files, users) as settings:
        yield settings


def test_valve_seized_after_a_query_changes_the_next_answer(writable: Settings) -> None:
    engine = create_engine(writable.db.sync_url())
    with TestClient(create_app(writable)) as client, engine.begin() as db:
        token = client.post("/auth/token", data={"username": "crew", "password": PASSWORD}).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        pipe = db.execute(
            text("SELECT segment_id FROM valves WHERE utility = 'water' AND operable ORDER BY code LIMIT 1")
        ).scalar_one()
        body: dict[str, Any] = {"campus": "LY01", "utility": "water", "pipe_id": pipe}
        before = client.post("/pipes/isolation", json=body, headers=headers).json()
        seized = before["valves_to_close"][0]["id"]
        db.execute(text("UPDATE valves SET operable = false WHERE id = :id"), {"id": seized})
        db.commit()
        after = client.post("/pipes/isolation", json=body, headers=headers).json()
    engine.dispose()
    assert seized not in {v["id"] for v in after["valves_to_close"]}

    def cut_off(answer: dict[str, Any]) -> set[tuple[str, int]]:
        seg = answer["segment"]
        return {("pipe", p) for p in seg["pipes"]} | {("node", n) for n in seg["nodes"]}

    assert cut_off(before) < cut_off(after)
