"""The editing tests' world: schools A and B (siblings) and C, users of every role (tests/access/world.py),
a client on a database of its own, and helpers to send features and count rows as the owner."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import psycopg
from fastapi.testclient import TestClient
from httpx import Response

from tests.access import world as w
from tests.conftest import TEMPLATE_DB, clone_database, drop_database
from twin.api import create_app
from twin.config import Settings
from twin.db.engine import sync_engine
from twin.db.provision import libpq_dsn

GEOJSON = "application/geo+json"
PROBLEM = "application/problem+json"
X = 112.40  # school A's campus spans lon 112.40–112.41, lat 34.60–34.61 (world.py)


def square(x: float = X + 0.002, y: float = 34.602, size: float = 0.0005) -> dict[str, Any]:
    ring = [[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]
    return {"type": "Polygon", "coordinates": [ring]}


def zone(**properties: Any) -> dict[str, Any]:
    """A risk zone of campus CA (school A)."""
    props = {"campus": "CA", "code": "Z1", "name": "chemistry lab", "category": "laboratory", "level": 2}
    return {"type": "Feature", "geometry": square(), "properties": {**props, **properties}}


@dataclass
class Editing:
    client: TestClient
    world: w.World
    settings: Settings
    tokens: dict[str, dict[str, str]] = field(default_factory=dict)

    def auth(self, user: str) -> dict[str, str]:
        """Authorization header of e.g. 'safety_officer_A' (tokens cached: argon2 is slow on purpose)."""
        if user not in self.tokens:
            response = self.client.post("/auth/token", data={"username": user, "password": w.PASSWORD})
            assert response.status_code == 200, response.text
            self.tokens[user] = {"Authorization": f"Bearer {response.json()['access_token']}"}
        return self.tokens[user]

    def send(
        self,
        method: str,
        path: str,
        user: str,
        body: Any = None,
        *,
        content_type: str = GEOJSON,
        raw: bytes | None = None,
        **headers: str,
    ) -> Response:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        sent = {**self.auth(user), **({"Content-Type": content_type} if data is not None else {}), **headers}
        return self.client.request(method, path, content=data, headers=sent)

    def create(
        self,
        user: str = "safety_officer_A",
        feature: dict[str, Any] | None = None,
        collection: str = "risk_zones",
    ) -> Response:
        return self.send(
            "POST", f"/collections/{collection}/items", user, zone() if feature is None else feature
        )

    def sql(self, query: str, *params: Any) -> Any:
        """One value, read as the owner (no row-level security)."""
        with psycopg.connect(libpq_dsn(self.settings.db.sync_url())) as conn:
            row = conn.execute(query, params).fetchone()
        return row[0] if row else None

    def count(self, table: str) -> int:
        return int(self.sql(f"SELECT count(*) FROM {table}"))


@contextmanager
def editing(services: Settings) -> Iterator[Editing]:
    settings = clone_database(services, TEMPLATE_DB)
    engine = sync_engine(settings.db)
    with engine.begin() as conn:
        world = w.build(conn)
    engine.dispose()
    try:
        with TestClient(create_app(settings)) as client:
            yield Editing(client, world, settings)
    finally:
        drop_database(settings)


def assert_problem(response: Response, status: int, *words: str) -> dict[str, Any]:
    """A problem+json of `status` whose detail mentions each of `words`."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    for word in words:
        assert word in body["detail"], body
    return body
